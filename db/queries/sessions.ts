import { and, desc, eq, gt, lt, ne } from "drizzle-orm";
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

/** The user's live sessions, most recently seen first. */
export function listUserSessions(db: Executor, userId: number, now: Date) {
  return db
    .select({ idHash: sessions.idHash, createdAt: sessions.createdAt, lastSeenAt: sessions.lastSeenAt })
    .from(sessions)
    .where(and(eq(sessions.userId, userId), gt(sessions.expiresAt, now)))
    .orderBy(desc(sessions.lastSeenAt))
    .all();
}

/** Ends every session of the user, or every one but `keepIdHash`; returns how many ended. */
export function deleteUserSessions(db: Executor, userId: number, keepIdHash?: string): number {
  const where = keepIdHash === undefined ? eq(sessions.userId, userId) : and(eq(sessions.userId, userId), ne(sessions.idHash, keepIdHash));
  return db.delete(sessions).where(where).run().changes;
}

/** Ends one session, only if it is the user's own. */
export function deleteUserSession(db: Executor, userId: number, idHash: string): boolean {
  return db.delete(sessions).where(and(eq(sessions.userId, userId), eq(sessions.idHash, idHash))).run().changes === 1;
}
