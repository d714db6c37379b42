import { and, desc, eq, gt, inArray, lt, ne } from "drizzle-orm";
import { affectedRows, first, type Executor } from "../client.js";
import { sessions, users, type User } from "../schema.js";

export async function insertSession(db: Executor, idHash: string, userId: number, now: Date, expiresAt: Date): Promise<void> {
  await db.insert(sessions).values({ idHash, userId, createdAt: now, lastSeenAt: now, expiresAt });
}

/** The live session's user, or undefined when the session is unknown, expired or the user disabled. */
export async function findSessionUser(db: Executor, idHash: string, now: Date): Promise<{ user: User; lastSeenAt: Date } | undefined> {
  const row = first(await db
    .select({ user: users, lastSeenAt: sessions.lastSeenAt })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(and(eq(sessions.idHash, idHash), gt(sessions.expiresAt, now)))
    );
  if (!row || row.user.disabledAt) return undefined;
  return row;
}

export async function touchSession(db: Executor, idHash: string, now: Date, expiresAt: Date): Promise<void> {
  await db.update(sessions).set({ lastSeenAt: now, expiresAt }).where(eq(sessions.idHash, idHash));
}

export async function deleteSession(db: Executor, idHash: string): Promise<void> {
  await db.delete(sessions).where(eq(sessions.idHash, idHash));
}

/** Deletes at most `limit` expired sessions (a purge goes in chunks); returns how many. */
export async function deleteExpiredSessions(db: Executor, now: Date, limit: number): Promise<number> {
  const expired = db.select({ idHash: sessions.idHash }).from(sessions).where(lt(sessions.expiresAt, now)).limit(limit);
  return affectedRows(await db.delete(sessions).where(inArray(sessions.idHash, expired)));
}

/** The user's live sessions, most recently seen first. */
export async function listUserSessions(db: Executor, userId: number, now: Date) {
  return db
    .select({ idHash: sessions.idHash, createdAt: sessions.createdAt, lastSeenAt: sessions.lastSeenAt })
    .from(sessions)
    .where(and(eq(sessions.userId, userId), gt(sessions.expiresAt, now)))
    .orderBy(desc(sessions.lastSeenAt));
}

/** Ends every session of the user, or every one but `keepIdHash`; returns how many ended. */
export async function deleteUserSessions(db: Executor, userId: number, keepIdHash?: string): Promise<number> {
  const where = keepIdHash === undefined ? eq(sessions.userId, userId) : and(eq(sessions.userId, userId), ne(sessions.idHash, keepIdHash));
  return affectedRows(await db.delete(sessions).where(where));
}

/** Ends one session, only if it is the user's own. */
export async function deleteUserSession(db: Executor, userId: number, idHash: string): Promise<boolean> {
  return affectedRows(await db.delete(sessions).where(and(eq(sessions.userId, userId), eq(sessions.idHash, idHash)))) === 1;
}
