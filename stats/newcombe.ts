import { normalQuantile } from "./distributions.js";
import type { Interval } from "./types.js";
import { requireCounts, requireOpenUnit } from "./validate.js";
import { wilsonUnchecked } from "./wilson.js";

/**
 * Newcombe's hybrid score interval for the difference of two independent proportions
 * p2 - p1 (wave 2 minus wave 1), method 10 of Newcombe (1998): Wilson score limits (l_i, u_i) for
 * each proportion, combined as
 *   lower = d - sqrt((p2 - l2)^2 + (u1 - p1)^2),  upper = d + sqrt((u2 - p2)^2 + (p1 - l1)^2).
 * Unlike the Wald interval it stays inside [-1, 1] and behaves at p = 0 or 1 and small n.
 *
 * Reference: R. G. Newcombe (1998), "Interval estimation for the difference between independent
 * proportions: comparison of eleven methods", Statistics in Medicine 17, 873-890, method 10.
 *
 * @example newcombeDiff(48, 80, 56, 70) // { lower: 0.0524314724023649, upper: 0.333872654036906 }
 *   (Newcombe 1998, Table II example (a), 56/70 - 48/80: 0.0524 to 0.3339)
 */
export function newcombeDiff(x1: number, n1: number, x2: number, n2: number, conf = 0.95): Interval {
  requireCounts("newcombeDiff", "x1", x1, "n1", n1);
  requireCounts("newcombeDiff", "x2", x2, "n2", n2);
  requireOpenUnit("newcombeDiff", "conf", conf);
  return newcombeDiffUnchecked(x1, n1, x2, n2, normalQuantile((1 + conf) / 2));
}

/** newcombeDiff for validated counts and a precomputed critical value z. */
export function newcombeDiffUnchecked(x1: number, n1: number, x2: number, n2: number, z: number): Interval {
  const p1 = x1 / n1;
  const p2 = x2 / n2;
  const w1 = wilsonUnchecked(x1, n1, z);
  const w2 = wilsonUnchecked(x2, n2, z);
  const d = p2 - p1;
  return {
    lower: d - Math.sqrt((p2 - w2.lower) ** 2 + (w1.upper - p1) ** 2),
    upper: d + Math.sqrt((w2.upper - p2) ** 2 + (p1 - w1.lower) ** 2),
  };
}
