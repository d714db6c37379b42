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
