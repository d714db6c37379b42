import { and, eq, gt, lt } from "drizzle-orm";
import type { Executor } from "../client.js";
import { sessions, users, type User } from "../schema.js";

export function insertSession(db: Executor, idHash: string, userId: number, now: Date, expiresAt: Date): void {
  db.insert(sessions).values({ idHash, userId, createdAt: now, lastSeenAt: now, expiresAt }).run();
}

/** The live session's user, or undefined when the session is unknown, expired or the user disabled. */
export function findSessionUser(db: Executor, idHash: string, now: Date): { user: User; lastSeenAt: Date } | undefined {
  const row = db
    .select({ user: users, lastSeenAt: sessions.lastSeenAt })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(and(eq(sessions.idHash, idHash), gt(sessions.expiresAt, now)))
    .get();
  if (!row || row.user.disabledAt) return undefined;
  return row;
}

export function touchSession(db: Executor, idHash: string, now: Date, expiresAt: Date): void {
  db.update(sessions).set({ lastSeenAt: now, expiresAt }).where(eq(sessions.idHash, idHash)).run();
}

export function deleteSession(db: Executor, idHash: string): void {
  db.delete(sessions).where(eq(sessions.idHash, idHash)).run();
}

export function deleteExpiredSessions(db: Executor, now: Date): number {
  return db.delete(sessions).where(lt(sessions.expiresAt, now)).run().changes;
}
