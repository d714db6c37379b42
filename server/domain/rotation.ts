import { createHash } from "node:crypto";

/**
 * Option rotation. The order is a pure function of (seed, question key), so a respondent who
 * reloads sees the same order, and the order shown can be stored and audited.
 */

/** A 32-bit PRNG (mulberry32): small, fast and good enough to shuffle a list of options. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function seedOf(seed: string, questionKey: string): number {
  return createHash("sha256").update(`${seed}\u0000${questionKey}`).digest().readUInt32BE(0);
}

export interface Rotatable {
  key: string;
  pinned: boolean;
}

/**
 * The option keys in display order: unpinned options shuffled (Fisher–Yates), pinned ones
 * ("none of these", "other") kept at their own positions.
 */
export function rotatedOrder(options: readonly Rotatable[], seed: string, questionKey: string): string[] {
  const free = options.filter((o) => !o.pinned).map((o) => o.key);
  const random = mulberry32(seedOf(seed, questionKey));
  for (let i = free.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [free[i], free[j]] = [free[j]!, free[i]!];
  }
  let next = 0;
  return options.map((o) => (o.pinned ? o.key : free[next++]!));
}

/** Applies a stored order (keys) to options; options missing from it keep their relative place at the end. */
export function applyOrder<T extends { key: string }>(options: readonly T[], order: readonly string[] | undefined): T[] {
  if (!order) return options.slice();
  const rank = new Map(order.map((k, i) => [k, i]));
  return options
    .map((o, i) => ({ o, r: rank.get(o.key) ?? order.length + i }))
    .sort((a, b) => a.r - b.r)
    .map((x) => x.o);
}
