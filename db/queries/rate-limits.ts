import { eq, inArray, lt, sql } from "drizzle-orm";
import { one, affectedRows, first, preparedQuery, type Executor } from "../client.js";
import { rateLimits } from "../schema.js";

/**
 * Counts one hit in a fixed window, in one statement: a new or expired window starts at 1,
 * otherwise the count grows. Atomic, so concurrent requests and several instances agree.
 */
export async function incrementRateLimit(db: Executor, key: string, now: Date, windowMs: number): Promise<{ hits: number; resetAt: Date }> {
  const resetAt = new Date(now.getTime() + windowMs);
  const row = one(await db
    .insert(rateLimits)
    .values({ key, hits: 1, resetAt })
    .onConflictDoUpdate({
      target: rateLimits.key,
      set: {
        hits: sql`CASE WHEN ${rateLimits.resetAt} <= ${now.getTime()} THEN 1 ELSE ${rateLimits.hits} + 1 END`,
        resetAt: sql`CASE WHEN ${rateLimits.resetAt} <= ${now.getTime()} THEN ${resetAt.getTime()} ELSE ${rateLimits.resetAt} END`,
      },
    })
    .returning({ hits: rateLimits.hits, resetAt: rateLimits.resetAt }));
  return row;
}

const windowEnded = sql`${rateLimits.resetAt} <= ${sql.placeholder("now")}`;
const takeQuery = preparedQuery("rate_limit_take", (db) =>
  db
    .insert(rateLimits)
    .values({ key: sql.placeholder("key"), hits: 1, resetAt: sql.placeholder("resetAt") })
    .onConflictDoUpdate({
      target: rateLimits.key,
      set: {
        hits: sql`CASE WHEN ${windowEnded} THEN 1 ELSE ${rateLimits.hits} + 1 END`,
        resetAt: sql`CASE WHEN ${windowEnded} THEN ${sql.placeholder("resetAtMs")} ELSE ${rateLimits.resetAt} END`,
      },
      setWhere: sql`${windowEnded} OR ${rateLimits.hits} < ${sql.placeholder("limit")}`,
    })
    .returning({ hits: rateLimits.hits, resetAt: rateLimits.resetAt }),
);

/**
 * Takes one hit in a fixed window only while fewer than `limit` have been taken, in one statement
 * (built once): a new or expired window starts at 1; a spent one is left as it is (the count never
 * passes `limit`, and knocking again does not move the window's end). Undefined means refused.
 */
export async function takeRateLimit(db: Executor, key: string, now: Date, windowMs: number, limit: number): Promise<{ hits: number; resetAt: Date } | undefined> {
  const resetAt = new Date(now.getTime() + windowMs);
  return first(await takeQuery(db).execute({ key, resetAt, resetAtMs: resetAt.getTime(), now: now.getTime(), limit }));
}

export async function getRateLimit(db: Executor, key: string): Promise<{ hits: number; resetAt: Date } | undefined> {
  return first(await db
    .select({ hits: rateLimits.hits, resetAt: rateLimits.resetAt })
    .from(rateLimits)
    .where(eq(rateLimits.key, key)));
}

export async function decrementRateLimit(db: Executor, key: string): Promise<void> {
  await db.update(rateLimits)
    .set({ hits: sql`CASE WHEN ${rateLimits.hits} > 0 THEN ${rateLimits.hits} - 1 ELSE 0 END` })
    .where(eq(rateLimits.key, key));
}

export async function deleteRateLimit(db: Executor, key: string): Promise<void> {
  await db.delete(rateLimits).where(eq(rateLimits.key, key));
}

/** Deletes at most `limit` ended windows (a purge goes in chunks); returns how many. */
export async function deleteExpiredRateLimits(db: Executor, now: Date, limit: number): Promise<number> {
  const expired = db.select({ key: rateLimits.key }).from(rateLimits).where(lt(rateLimits.resetAt, now)).limit(limit);
  return affectedRows(await db.delete(rateLimits).where(inArray(rateLimits.key, expired)));
}
