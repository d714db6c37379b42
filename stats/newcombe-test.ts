import { brentRoot } from "./brent.js";
import { normalUpperTail } from "./distributions.js";
import { newcombeDiffUnchecked } from "./newcombe.js";
import { requireCounts } from "./validate.js";

export interface NewcombeTestResult {
  /** The critical value at which the interval's nearer limit touches 0 (0 when p2 = p1). */
  z: number;
  /** Two-sided: 2 * (1 - Phi(z)). */
  pValue: number;
}

/**
 * The two-sided test of p2 = p1 that Newcombe's hybrid score interval implies: the p-value is the
 * smallest 1 - conf at which newcombeDiff(x1, n1, x2, n2, conf) excludes 0. Found by solving
 * lower(z) = 0 (p2 > p1) or upper(z) = 0 (p2 < p1) for the critical value z; both limits move
 * monotonically away from the estimate as z grows, so the root is unique.
 *
 * Why not the z-test or Fisher's test: an interval and a test computed by different methods can
 * disagree on the same row (Fisher "not significant" beside an interval that misses 0). With this
 * test, "p < alpha" and "the interval at 1 - alpha excludes 0" are the same statement, for any
 * counts, so a verdict and the interval printed with it cannot contradict each other.
 *
 * Reference: R. G. Newcombe (1998), Statistics in Medicine 17, 873-890, method 10; the inversion is
 * checked against uniroot() over R's prop.test Wilson limits (test/fixtures/stats/generate.R).
 *
 * @example newcombeTest(310, 1000, 380, 1000) // { z: 3.2878..., pValue: 0.0010097... }
 */
export function newcombeTest(x1: number, n1: number, x2: number, n2: number): NewcombeTestResult {
  requireCounts("newcombeTest", "x1", x1, "n1", n1);
  requireCounts("newcombeTest", "x2", x2, "n2", n2);
  return newcombeTestUnchecked(x1, n1, x2, n2);
}

/** Where the Wilson limits are nearly [0, 1], far beyond any p-value a double can hold. */
const Z_MAX = 64;

export function newcombeTestUnchecked(x1: number, n1: number, x2: number, n2: number): NewcombeTestResult {
  const d = x2 / n2 - x1 / n1;
  if (d === 0) return { z: 0, pValue: 1 };
  // For a fall, the upper limit of (p2 - p1) is minus the lower limit of (p1 - p2).
  const [a, an, b, bn] = d > 0 ? [x1, n1, x2, n2] : [x2, n2, x1, n1];
  const lower = (z: number): number => newcombeDiffUnchecked(a, an, b, bn, z).lower;
  let hi = 2;
  let fhi = lower(hi);
  while (fhi > 0 && hi < Z_MAX) {
    hi *= 2;
    fhi = lower(hi);
  }
  if (fhi > 0) return { z: Infinity, pValue: 0 };
  const z = brentRoot(lower, 0, hi, Math.abs(d), fhi);
  return { z, pValue: Math.min(1, 2 * normalUpperTail(z)) };
}
