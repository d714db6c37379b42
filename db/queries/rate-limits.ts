import { eq, like, lt, sql } from "drizzle-orm";
import type { Executor } from "../client.js";
import { rateLimits } from "../schema.js";

/**
 * Counts one hit in a fixed window, in one statement: a new or expired window starts at 1,
 * otherwise the count grows. Atomic, so concurrent requests and several instances agree.
 */
export function incrementRateLimit(db: Executor, key: string, now: Date, windowMs: number): { hits: number; resetAt: Date } {
  const resetAt = new Date(now.getTime() + windowMs);
  const row = db
    .insert(rateLimits)
    .values({ key, hits: 1, resetAt })
    .onConflictDoUpdate({
      target: rateLimits.key,
      set: {
        hits: sql`CASE WHEN ${rateLimits.resetAt} <= ${now.getTime()} THEN 1 ELSE ${rateLimits.hits} + 1 END`,
        resetAt: sql`CASE WHEN ${rateLimits.resetAt} <= ${now.getTime()} THEN ${resetAt.getTime()} ELSE ${rateLimits.resetAt} END`,
      },
    })
    .returning({ hits: rateLimits.hits, resetAt: rateLimits.resetAt })
    .get();
  return row;
}

/**
 * Takes one hit in a fixed window only while fewer than `limit` have been taken, in one statement:
 * a new or expired window starts at 1; a spent one is left as it is (the count never passes
 * `limit`, and knocking again does not move the window's end). Undefined means refused.
 */
export function takeRateLimit(db: Executor, key: string, now: Date, windowMs: number, limit: number): { hits: number; resetAt: Date } | undefined {
  const resetAt = new Date(now.getTime() + windowMs);
  const expired = sql`${rateLimits.resetAt} <= ${now.getTime()}`;
  return db
    .insert(rateLimits)
    .values({ key, hits: 1, resetAt })
    .onConflictDoUpdate({
      target: rateLimits.key,
      set: {
        hits: sql`CASE WHEN ${expired} THEN 1 ELSE ${rateLimits.hits} + 1 END`,
        resetAt: sql`CASE WHEN ${expired} THEN ${resetAt.getTime()} ELSE ${rateLimits.resetAt} END`,
      },
      setWhere: sql`${expired} OR ${rateLimits.hits} < ${limit}`,
    })
    .returning({ hits: rateLimits.hits, resetAt: rateLimits.resetAt })
    .get();
}

export function getRateLimit(db: Executor, key: string): { hits: number; resetAt: Date } | undefined {
  return db
    .select({ hits: rateLimits.hits, resetAt: rateLimits.resetAt })
    .from(rateLimits)
    .where(eq(rateLimits.key, key))
    .get();
}

export function decrementRateLimit(db: Executor, key: string): void {
  db.update(rateLimits)
    .set({ hits: sql`MAX(${rateLimits.hits} - 1, 0)` })
    .where(eq(rateLimits.key, key))
    .run();
}

export function deleteRateLimit(db: Executor, key: string): void {
  db.delete(rateLimits).where(eq(rateLimits.key, key)).run();
}

export function deleteRateLimitsWithPrefix(db: Executor, prefix: string): void {
  db.delete(rateLimits).where(like(rateLimits.key, `${prefix.replace(/[%_]/g, "")}%`)).run();
}

export function deleteExpiredRateLimits(db: Executor, now: Date): number {
  return db.delete(rateLimits).where(lt(rateLimits.resetAt, now)).run().changes;
}
