import { normalCdf, normalQuantile } from "./distributions.js";
import type { Interval } from "./types.js";

/**
 * One verdict per results row. Every view, sentence, chart, export and report reads it; nothing
 * else on a row decides whether a share changed.
 * - rise / fall: the verdict interval lies wholly above / below 0;
 * - no_change: it contains 0 and both waves have at least SMALL_N respondents (no detectable change);
 * - not_enough_data: it contains 0 and a wave has fewer than SMALL_N: too few to say either way.
 */
export type Verdict = "rise" | "fall" | "no_change" | "not_enough_data";
export const VERDICTS: readonly Verdict[] = ["rise", "fall", "no_change", "not_enough_data"];

/** Fewer respondents than this in a wave: a row that shows no change says "not enough data". */
export const SMALL_N = 30;

/** The verdict read off its interval: changed exactly when the interval excludes 0. */
export function verdictOf(interval: Interval, enoughData: boolean): Verdict {
  if (interval.lower > 0) return "rise";
  if (interval.upper < 0) return "fall";
  return enoughData ? "no_change" : "not_enough_data";
}

export function isChange(verdict: Verdict): verdict is "rise" | "fall" {
  return verdict === "rise" || verdict === "fall";
}

/**
 * Two-sided level at which a member of a family of k is tested after a multiplicity adjustment,
 * so that an interval with coverage 1 - level agrees with the adjusted p-value:
 * - a row that passes (adjusted p < alpha) gets alpha * p / adjusted p, the level its own test
 *   passed at; for Holm, Bonferroni and Benjamini-Hochberg alike p <= adjusted p <= k p, so this
 *   lies between alpha / k and alpha, and the interval excludes 0 because p < that level;
 * - a row that does not pass gets alpha / k (Bonferroni's level): p >= adjusted p / k >= alpha / k,
 *   so the interval contains 0, and it is the widest interval any member could need.
 * With p = 0 (underflow) the level is alpha / k, which such a row passes.
 */
export function adjustedTestLevel(alpha: number, pValue: number, adjustedPValue: number, familySize: number): number {
  const bonferroni = alpha / familySize;
  if (!(adjustedPValue < alpha) || !(pValue > 0) || !(adjustedPValue > 0)) return bonferroni;
  return alpha * Math.min(1, Math.max(1 / familySize, pValue / adjustedPValue));
}

/** Critical value of a two-sided interval at test level `level`. */
export function criticalValue(level: number): number {
  return normalQuantile(1 - level / 2);
}

/**
 * Per-test level used for planning a family of k tests: alpha / k, Bonferroni's level and Holm's
 * first step. The minimum detectable lift, the planner and "enough responses yet?" use it, so a
 * study planned for a lift can detect it at the level its verdict will use.
 */
export function planningAlpha(alpha: number, familySize: number): number {
  return alpha / Math.max(1, familySize);
}

/** One binomial sample in a posterior: weight (sign included) and counts. */
export interface PosteriorTerm {
  weight: number;
  x: number;
  n: number;
}

/**
 * P(sum of weight * share > 0) when each share has the posterior Beta(1 + x, 1 + n - x) (uniform
 * prior), by the normal approximation to the posterior of the weighted sum (its exact mean and
 * variance). Used for rows that are not a single pair of samples: fixed-weight totals and
 * difference-in-differences; a single pair uses the exact probabilityOfLift.
 */
export function posteriorProbabilityPositive(terms: readonly PosteriorTerm[]): number {
  let mean = 0;
  let variance = 0;
  for (const { weight, x, n } of terms) {
    const a = 1 + x;
    const b = 1 + n - x;
    const s = a + b;
    mean += (weight * a) / s;
    variance += (weight * weight * a * b) / (s * s * (s + 1));
  }
  if (variance === 0) return mean > 0 ? 1 : mean < 0 ? 0 : 0.5;
  return normalCdf(mean / Math.sqrt(variance));
}

/**
 * True when the probability of a rise points where the verdict does not: a confident direction
 * (beyond alpha / 2 on either side) beside "no change" or "not enough data", or a probability on
 * the wrong side of one half beside a rise or a fall. Such a row carries a sentence explaining
 * that the probability is not adjusted for the family and the verdict is.
 */
export function probabilityDisagrees(verdict: Verdict, probability: number, alpha: number): boolean {
  if (verdict === "rise") return probability < 0.5;
  if (verdict === "fall") return probability > 0.5;
  return probability >= 1 - alpha / 2 || probability <= alpha / 2;
}
