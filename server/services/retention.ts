import type { Executor } from "../../db/client.js";
import { deleteExpiredRateLimits } from "../../db/queries/rate-limits.js";
import { deleteExpiredSessions } from "../../db/queries/sessions.js";

/** How often main.ts purges; the login window is 15 minutes, so at most two windows of rows live at once. */
export const PURGE_INTERVAL_MS = 15 * 60 * 1000;

/**
 * Deletes what can no longer be used: expired sessions and rate-limit windows that have ended.
 * Without it both tables only grow (a login flood left every counter forever). Pure in `now`, so
 * tests call it with any time.
 */
export async function purgeExpired(db: Executor, now: Date): Promise<{ sessions: number; rateLimits: number }> {
  return {
    sessions: await deleteExpiredSessions(db, now),
    rateLimits: await deleteExpiredRateLimits(db, now),
  };
}
