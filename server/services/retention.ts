import { unitOfWork, type Executor } from "../../db/client.js";
import { deleteExpiredRateLimits } from "../../db/queries/rate-limits.js";
import { deleteExpiredSessions } from "../../db/queries/sessions.js";
import { runChunks, type ChunkOptions } from "./chunks.js";

/** How often main.ts purges; the login window is 15 minutes, so at most two windows of rows live at once. */
export const PURGE_INTERVAL_MS = 15 * 60 * 1000;

/** Rows deleted per unit of work: a login flood can leave many, and one chunk holds the write lock well under 50 ms. */
export const PURGE_CHUNK = 500;

type PurgeCursor = "sessions" | "rateLimits";

/**
 * Deletes what can no longer be used: expired sessions and rate-limit windows that have ended.
 * Without it both tables only grow (a login flood left every counter forever). Pure in `now`, so
 * tests call it with any time. Chunked, each chunk its own unit of work; stopped part-way, the
 * next run deletes the rest (every row it deletes is expired whenever it runs).
 */
export async function purgeExpired(db: Executor, now: Date, options: ChunkOptions<PurgeCursor> & { limit?: number } = {}): Promise<{ sessions: number; rateLimits: number }> {
  const limit = options.limit ?? PURGE_CHUNK;
  const purged = { sessions: 0, rateLimits: 0 };
  await runChunks<PurgeCursor, { table: PurgeCursor; n: number; next: PurgeCursor | null }>(
    "sessions",
    (table) =>
      unitOfWork(db, async (tx) => {
        const n = table === "sessions" ? await deleteExpiredSessions(tx, now, limit) : await deleteExpiredRateLimits(tx, now, limit);
        return { table, n, next: n === limit ? table : table === "sessions" ? "rateLimits" : null };
      }),
    (step) => (purged[step.table] += step.n),
    options,
  );
  return purged;
}
