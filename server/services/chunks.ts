/**
 * Long writes in chunks. On SQLite a unit of work holds the one write lock of the file, and every
 * survey post of every instance waits behind it; a job whose size grows with a study (recoding its
 * text answers, flagging its responses, generating personal links, purging) is therefore written
 * as a step that does one bounded chunk in its own unit of work and says where the next one
 * starts. The loop below drives the steps now; a durable job runner can drive the same steps later
 * and store the cursor in between.
 */

export interface ChunkOptions<C> {
  /**
   * Called after each committed chunk but the last, with the cursor the next one starts from: the
   * lock is free at that point (tests pause here to write from another connection).
   */
  afterChunk?: ((next: C) => Promise<void> | void) | undefined;
}

/** Runs `step` from `start` until it answers `next: null`, handing each step's result to `each`. */
export async function runChunks<C, S extends { next: C | null }>(start: C, step: (cursor: C) => Promise<S>, each: (result: S) => void, options: ChunkOptions<C> = {}): Promise<void> {
  for (let cursor: C | null = start; cursor !== null; ) {
    const result = await step(cursor);
    each(result);
    cursor = result.next;
    if (cursor !== null) await options.afterChunk?.(cursor);
  }
}

/** How many rows each chunk takes: `first`, then sized so that one takes about `budgetMs` of the event loop. */
export interface Chunking {
  first: number;
  min: number;
  max: number;
  budgetMs: number;
}

/** Chunks of exactly `size` rows (tests, benchmarks). */
export const fixedChunks = (size: number): Chunking => ({ first: size, min: size, max: size, budgetMs: Number.POSITIVE_INFINITY });

/** The next chunk's size: the last one's scaled to the budget by the time it held the event loop, at most doubled, within min..max. */
export function nextChunkSize(size: number, heldMs: number, chunking: Chunking): number {
  const scaled = heldMs > 0 ? Math.floor((size * chunking.budgetMs) / heldMs) : chunking.max;
  return Math.max(chunking.min, Math.min(chunking.max, size * 2, scaled));
}
