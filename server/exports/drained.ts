import type { Writable } from "node:stream";

type Out = Writable & { destroyed: boolean };

/** Who waits for a stream to drain: one "drain" and one "close" listener per stream, for its whole life. */
const drainWaiters = new WeakMap<Out, { waiting: Array<() => void> }>();

/**
 * Resolves once `out` has drained, or when it closes (at once when it is gone). The stream gets
 * one listener of each kind the first time, never one per wait: compression moves "drain"
 * listeners to its gzip stream, where neither `off` nor `once`'s own removal on the response finds
 * them, so a listener per wait leaked one per chunk (and each drain then called them all).
 */
export function drained(out: Out): Promise<void> {
  if (out.destroyed) return Promise.resolve();
  let state = drainWaiters.get(out);
  if (!state) {
    const created = { waiting: [] as Array<() => void> };
    const wake = () => {
      const waiting = created.waiting;
      created.waiting = [];
      for (const resolve of waiting) resolve();
    };
    out.on("drain", wake);
    out.on("close", wake);
    drainWaiters.set(out, created);
    state = created;
  }
  const waiting = state.waiting;
  return new Promise((resolve) => waiting.push(resolve));
}
