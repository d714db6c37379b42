import type { Alternative } from "./types.js";
import { requireCounts } from "./validate.js";

export interface FisherOptions {
  /** "greater" tests p2 > p1 (a rise), "less" tests p2 < p1; default "two-sided". */
  alternative?: Alternative;
}

export interface FisherResult {
  pValue: number;
}

/** R's fisher.test tolerance for "as or less probable than the observed table". */
const RELATIVE_TIE_TOLERANCE = 1 + 1e-7;

/**
 * Fisher's exact test for the 2x2 table of wave 1 (x1 of n1) against wave 2 (x2 of n2), conditional
 * on all margins: x1 then follows the hypergeometric distribution with m = n1, n = n2, k = x1 + x2.
 *
 * Two-sided, it equals R's `fisher.test(matrix(c(x1, n1 - x1, x2, n2 - x2), 2))$p.value`: the sum of
 * the probabilities of all tables no more probable than the observed one, with R's relative
 * tolerance 1 + 1e-7 so that tables equally probable in exact arithmetic count as ties. One-sided,
 * "greater" (p2 > p1, odds ratio of that matrix below 1) is P[X <= x1], R's `alternative = "less"`;
 * "less" is P[X >= x1], R's `alternative = "greater"`.
 *
 * The probabilities are built from the mode outwards with the ratio
 *   f(i + 1) / f(i) = (m - i)(k - i) / ((i + 1)(n - k + i + 1)),
 * relative to f(mode) = 1, so nothing is computed in factorials and n = 10^6 neither overflows nor
 * loses precision (relative error about 1e-14 after 10^5 steps); terms that underflow to 0 end the
 * walk in that direction because the distribution is unimodal.
 *
 * Reference: R. A. Fisher (1935), "The logic of inductive inference", JRSS 98, 39-82; R source of
 * stats::fisher.test (2x2 branch).
 *
 * @example fisherExact(3, 10, 9, 10) // { pValue: 0.0197666110978804 }
 *   (R: fisher.test(matrix(c(3, 7, 9, 1), 2))$p.value = 0.01976661)
 */
export function fisherExact(
  x1: number,
  n1: number,
  x2: number,
  n2: number,
  options: FisherOptions = {},
): FisherResult {
  const fn = "fisherExact";
  requireCounts(fn, "x1", x1, "n1", n1);
  requireCounts(fn, "x2", x2, "n2", n2);
  const alternative = options.alternative ?? "two-sided";
  if (alternative !== "two-sided" && alternative !== "greater" && alternative !== "less") {
    throw new RangeError(`${fn}: alternative must be "two-sided", "greater" or "less", got ${String(alternative)}`);
  }
  return { pValue: fisherUnchecked(x1, n1, x2, n2, alternative) };
}

/** Fisher's exact p-value for validated counts. */
export function fisherUnchecked(x1: number, n1: number, x2: number, n2: number, alternative: Alternative): number {
  const m = n1;
  const n = n2;
  const k = x1 + x2;
  const lo = Math.max(0, k - n);
  const hi = Math.min(k, m);
  if (lo === hi) return 1; // a single possible table
  const mode = Math.min(hi, Math.max(lo, Math.floor(((k + 1) * (m + 1)) / (m + n + 2))));
  const density = new Float64Array(hi - lo + 1);
  density[mode - lo] = 1;
  let total = 1;
  // Towards hi: f(i + 1) = f(i) * (m - i)(k - i) / ((i + 1)(n - k + i + 1)).
  let f = 1;
  for (let i = mode; i < hi; i++) {
    f *= ((m - i) * (k - i)) / ((i + 1) * (n - k + i + 1));
    if (f === 0) break;
    density[i + 1 - lo] = f;
    total += f;
  }
  // Towards lo: f(i - 1) = f(i) * i (n - k + i) / ((m - i + 1)(k - i + 1)).
  f = 1;
  for (let i = mode; i > lo; i--) {
    f *= (i * (n - k + i)) / ((m - i + 1) * (k - i + 1));
    if (f === 0) break;
    density[i - 1 - lo] = f;
    total += f;
  }
  const observed = density[x1 - lo]!;
  let tail = 0;
  if (alternative === "greater") {
    for (let i = lo; i <= x1; i++) tail += density[i - lo]!;
  } else if (alternative === "less") {
    for (let i = x1; i <= hi; i++) tail += density[i - lo]!;
  } else {
    const threshold = observed * RELATIVE_TIE_TOLERANCE;
    for (let j = 0; j < density.length; j++) {
      const d = density[j]!;
      if (d <= threshold) tail += d;
    }
  }
  return Math.min(1, tail / total);
}
