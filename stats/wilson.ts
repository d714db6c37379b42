import { normalQuantile } from "./distributions.js";
import type { Interval } from "./types.js";
import { requireCounts, requireOpenUnit } from "./validate.js";

/**
 * Wilson score interval for a binomial proportion x / n, without continuity correction.
 *
 * Computed exactly as R's `prop.test(x, n, correct = FALSE)$conf.int` (R 4.2 source, one-sample
 * branch): the lower bound is 0 when x = 0 and the upper bound is 1 when x = n, rather than the
 * formula's value, and both are clipped to [0, 1].
 *
 * Reference: E. B. Wilson (1927), "Probable inference, the law of succession, and statistical
 * inference", JASA 22, 209-212.
 *
 * @param x successes, an integer from 0 to n
 * @param n trials, a positive integer
 * @param conf confidence level in (0, 1), default 0.95
 * @example wilson(31, 100) // { lower: 0.2277969721237604, upper: 0.40626055719489407 }
 *   (R: prop.test(31, 100, correct = FALSE)$conf.int = 0.2277970 0.4062606)
 */
export function wilson(x: number, n: number, conf = 0.95): Interval {
  requireCounts("wilson", "x", x, "n", n);
  requireOpenUnit("wilson", "conf", conf);
  return wilsonUnchecked(x, n, normalQuantile((1 + conf) / 2));
}

/**
 * The Wilson bounds for already validated counts and a precomputed critical value z; lets callers
 * that compute many intervals at one level (newcombeDiff, liftTable) skip repeated checks and
 * quantiles.
 */
export function wilsonUnchecked(x: number, n: number, z: number): Interval {
  const p = x / n;
  const z22n = (z * z) / (2 * n);
  // prop.test's half-width: z * sqrt(p(1-p)/n + z^2/(4 n^2)).
  const half = z * Math.sqrt((p * (1 - p)) / n + z22n / (2 * n));
  const upper = p >= 1 ? 1 : (p + z22n + half) / (1 + 2 * z22n);
  const lower = p <= 0 ? 0 : (p + z22n - half) / (1 + 2 * z22n);
  return { lower: Math.max(lower, 0), upper: Math.min(upper, 1) };
}
