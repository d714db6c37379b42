import { normalQuantile } from "./distributions.js";
import type { Interval } from "./types.js";
import { requireOpenUnit } from "./validate.js";
import type { Verdict } from "./verdict.js";
import { waldTest } from "./wald.js";

/**
 * Competitors as a check on a brand's lift: did the brand rise more than the category?
 *
 * For respondent i of a wave, with b_i = 1 when i knows the brand and C_i of the K competitors
 * known, d_i = b_i - C_i / K is the brand's lead over the average competitor. Its mean over a wave
 * is p_brand - mean over competitors of p_k, so mean_post(d) - mean_pre(d) is the brand's lift net
 * of the average competitor lift.
 *
 * Why per respondent: the brand's and the competitors' shares come from the same respondents, and
 * people who know one brand tend to know others, so the two shares of a wave are positively
 * correlated. Var(p_brand - p_comp) = Var(p_brand) + Var(p_comp) - 2 Cov(...) would need that
 * covariance; the sample variance of d_i contains it, so the per-respondent difference gives the
 * right variance (treating the shares as independent would overstate it and hide a real
 * difference). The waves are independent samples, so their variances add (Welch, unpooled).
 */

/** A respondent-level variable summed over one wave: the sufficient statistics of its mean and variance. */
export interface WaveSums {
  /** Respondents (at least 2, for a sample variance). */
  n: number;
  /** Σ y_i. */
  sum: number;
  /** Σ y_i². */
  sumSquares: number;
}

export interface NetLiftOptions {
  /** Confidence level of the interval, default 0.95. */
  conf?: number;
}

export interface NetLiftResult {
  /** mean_post(y) - mean_pre(y). */
  estimate: number;
  /** Welch (unpooled) standard error sqrt(s²_pre / n_pre + s²_post / n_post), s² with n - 1. */
  se: number;
  z: number;
  /** Two-sided, from the normal distribution. */
  pValue: number;
  lower: number;
  upper: number;
  /** Each wave's mean and sample variance (denominator n - 1). */
  pre: { mean: number; variance: number };
  post: { mean: number; variance: number };
}

const FN = "netLift";

function checkSums(name: string, w: WaveSums): void {
  if (typeof w !== "object" || w === null) throw new RangeError(`${FN}: ${name} must be an object {n, sum, sumSquares}, got ${String(w)}`);
  if (typeof w.n !== "number" || !Number.isSafeInteger(w.n) || w.n < 2) {
    throw new RangeError(`${FN}: ${name}.n must be an integer of at least 2, got ${String(w.n)}`);
  }
  if (typeof w.sum !== "number" || !Number.isFinite(w.sum)) throw new RangeError(`${FN}: ${name}.sum must be a finite number, got ${String(w.sum)}`);
  // Σy² >= (Σy)²/n (Cauchy–Schwarz); a little slack for sums rounded in SQL.
  const floor = (w.sum * w.sum) / w.n;
  if (typeof w.sumSquares !== "number" || !Number.isFinite(w.sumSquares) || w.sumSquares < floor - 1e-9 * Math.max(1, floor)) {
    throw new RangeError(`${FN}: ${name}.sumSquares must be a finite number of at least sum²/n (${floor}), got ${String(w.sumSquares)}`);
  }
}

function moments(w: WaveSums): { mean: number; variance: number } {
  const mean = w.sum / w.n;
  // Centred sum of squares; clipped at 0 against rounding for a constant variable.
  const centred = Math.max(0, w.sumSquares - w.sum * mean);
  return { mean, variance: centred / (w.n - 1) };
}

/**
 * Difference of the means of a respondent-level variable between two independent waves, with the
 * unpooled (Welch) standard error and a normal interval: estimate = mean_post - mean_pre,
 * se = sqrt(s²_pre/n_pre + s²_post/n_post), z = estimate/se, p = 2 Φ(-|z|), interval
 * estimate ± qnorm((1 + conf)/2) se. With y = d_i (see the module comment) this is the brand's lift
 * net of the average competitor lift; with y = C_i/K it is the average competitor lift.
 *
 * The estimate and se are those of R's t.test(y_post, y_pre, var.equal = FALSE) (estimate[1] -
 * estimate[2], stderr); the interval and p use the normal distribution instead of Welch's t, as
 * every other interval of a results row does (survey waves have hundreds of respondents, where the
 * two differ in the third digit). When both waves are constant, se = 0: z = 0 and p = 1 for a zero
 * estimate, else z = ±Infinity and p = 0.
 *
 * Reference: B. L. Welch (1947), Biometrika 34, 28–35.
 *
 * @example netLift({ n: 400, sum: -4, sumSquares: 110.5 }, { n: 400, sum: 6.5, sumSquares: 121.25 }, { conf: 0.8 })
 *   // { estimate: 0.02625, se: 0.0380940314462722, lower: -0.0225694656378754, upper: 0.0750694656378754, … }
 *   // (R t.test on the respondents behind these sums: test/stats/category-trend.test.ts)
 */
export function netLift(pre: WaveSums, post: WaveSums, options: NetLiftOptions = {}): NetLiftResult {
  checkSums("pre", pre);
  checkSums("post", post);
  const conf = options.conf ?? 0.95;
  requireOpenUnit(FN, "conf", conf);
  return netLiftUnchecked(pre, post, normalQuantile((1 + conf) / 2));
}

/** netLift for validated sums and a precomputed critical value. */
export function netLiftUnchecked(pre: WaveSums, post: WaveSums, criticalValue: number): NetLiftResult {
  const a = moments(pre);
  const b = moments(post);
  const estimate = b.mean - a.mean;
  const se = Math.sqrt(a.variance / pre.n + b.variance / post.n);
  const { z, pValue } = waldTest(estimate, se);
  return {
    estimate,
    se,
    z,
    pValue,
    lower: estimate - criticalValue * se,
    upper: estimate + criticalValue * se,
    pre: a,
    post: b,
  };
}

/**
 * "Category trend": the brand rose, but so did its competitors, about as much. True exactly when
 * the brand's own verdict is rise, the average competitor lift's interval lies above 0 (the
 * competitors rose), and the interval of the brand's lift net of that average contains 0 (no
 * detectable difference from them). Intervals are {lower, upper}; both at the same level.
 */
export function categoryTrend(brandVerdict: Verdict, competitorLift: Interval, net: Interval): boolean {
  for (const [name, interval] of [
    ["competitorLift", competitorLift],
    ["net", net],
  ] as const) {
    if (typeof interval !== "object" || interval === null || !(interval.lower <= interval.upper)) {
      throw new RangeError(`categoryTrend: ${name} must be an interval {lower, upper} with lower <= upper, got ${JSON.stringify(interval)}`);
    }
  }
  return brandVerdict === "rise" && competitorLift.lower > 0 && net.lower <= 0 && net.upper >= 0;
}
