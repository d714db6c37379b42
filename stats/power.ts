import { brentRoot } from "./brent.js";
import { normalCdf, normalQuantile } from "./distributions.js";
import { requireOpenUnit, requirePositive, requireProportion } from "./validate.js";

/**
 * Planning for a two-sided comparison of two proportions with n respondents per wave, by the normal
 * approximation that R's `power.prop.test` uses (alternative = "two.sided", strict = FALSE, i.e. the
 * far rejection region ignored):
 *
 *   power = Phi( (sqrt(n) |p1 - p2| - q * sqrt((p1 + p2)(1 - (p1 + p2)/2))) / sqrt(p1(1-p1) + p2(1-p2)) ),
 *   q = qnorm(1 - alpha/2).
 *
 * Reference: R source of stats::power.prop.test; J. L. Fleiss, B. Levin, M. C. Paik (2003),
 * Statistical Methods for Rates and Proportions, 3rd ed., sec. 4.2 (without continuity correction).
 */

export interface PowerOptions {
  p1: number;
  p2: number;
  /** Respondents per wave; need not be whole (power.prop.test allows any n > 0). */
  n: number;
  /** Two-sided significance level, default 0.05. */
  alpha?: number;
}

export interface SampleSizeOptions {
  p1: number;
  p2: number;
  alpha?: number;
  /** Desired power, default 0.8. */
  power?: number;
}

export interface MinimumDetectableLiftOptions {
  /** Proportion in wave 1 (pre). */
  p1: number;
  /** Respondents per wave (for unequal waves pass their harmonic mean, see liftTable). */
  n: number;
  alpha?: number;
  power?: number;
}

function powerUnchecked(p1: number, p2: number, n: number, criticalValue: number): number {
  const numerator = Math.sqrt(n) * Math.abs(p1 - p2) - criticalValue * Math.sqrt((p1 + p2) * (1 - (p1 + p2) / 2));
  const sd = Math.sqrt(p1 * (1 - p1) + p2 * (1 - p2));
  // sd = 0 only when p1, p2 are 0 or 1; then the statistic is +-Infinity (or 0/0 when p1 = p2).
  return normalCdf(sd === 0 ? (numerator > 0 ? Infinity : -Infinity) : numerator / sd);
}

/**
 * Power of the two-sided two-proportion test, equal to R's
 * `power.prop.test(n = n, p1 = p1, p2 = p2, sig.level = alpha)$power`.
 *
 * @example powerTwoProportions({ p1: 0.3, p2: 0.35, n: 500 }) // 0.392636698683428
 *   (R: power.prop.test(n = 500, p1 = 0.3, p2 = 0.35)$power = 0.3926367)
 */
export function powerTwoProportions(options: PowerOptions): number {
  const fn = "powerTwoProportions";
  const { p1, p2, n } = options;
  const alpha = options.alpha ?? 0.05;
  requireProportion(fn, "p1", p1);
  requireProportion(fn, "p2", p2);
  requirePositive(fn, "n", n);
  requireOpenUnit(fn, "alpha", alpha);
  // With p1 = p2 the statistic is -q, power alpha/2; R agrees except at p1 = p2 in {0, 1}, where its
  // formula is 0/0 and it returns NaN.
  if (p1 === p2) return alpha / 2;
  return powerUnchecked(p1, p2, n, normalQuantile(1 - alpha / 2));
}

/**
 * Respondents needed per wave to detect p1 -> p2 with the given power by the two-sided test at
 * level alpha; equal to R's `power.prop.test(p1 = p1, p2 = p2, sig.level = alpha, power = power)$n`
 * and, like R, unrounded (round up for a plan: `Math.ceil`).
 *
 * R finds n with uniroot (tolerance 1.2e-4 by default, so its printed n is correct to about 4
 * decimals). The equation it solves, power(n) = target, has the closed-form root used here,
 *   n = ((q * sqrt(2 pbar (1 - pbar)) + z_power * sqrt(p1(1-p1) + p2(1-p2))) / |p1 - p2|)^2,
 * with pbar = (p1 + p2)/2, which is exact, so the fixtures compare with R's uniroot run at tol = 1e-12.
 *
 * @example sampleSizeTwoProportions({ p1: 0.3, p2: 0.35 }) // 1376.2988682907192
 *   (R: power.prop.test(p1 = 0.3, p2 = 0.35, power = 0.8, tol = 1e-12)$n = 1376.2988682907192;
 *   with R's default tol it prints 1376.299, internally 1376.29886781098)
 */
export function sampleSizeTwoProportions(options: SampleSizeOptions): number {
  const fn = "sampleSizeTwoProportions";
  const { p1, p2 } = options;
  const alpha = options.alpha ?? 0.05;
  const power = options.power ?? 0.8;
  requireProportion(fn, "p1", p1);
  requireProportion(fn, "p2", p2);
  requireOpenUnit(fn, "alpha", alpha);
  requireOpenUnit(fn, "power", power);
  if (p1 === p2) throw new RangeError(`${fn}: p1 and p2 must differ, got ${p1} for both`);
  const spread = Math.sqrt((p1 + p2) * (1 - (p1 + p2) / 2));
  const sd = Math.sqrt(p1 * (1 - p1) + p2 * (1 - p2));
  const root = normalQuantile(1 - alpha / 2) * spread + normalQuantile(power) * sd;
  if (!(root > 0)) {
    // Power at n -> 0 already exceeds the target; no sample size solves the equation (R errors too).
    throw new RangeError(`${fn}: power must exceed the test's power at n = 0, got ${power}`);
  }
  return (root / Math.abs(p1 - p2)) ** 2;
}

/**
 * Smallest absolute lift p2 - p1 > 0 that the two-sided test at level alpha detects with the given
 * power when each wave has n respondents: the root in p2 of power(p1, p2, n) = target on (p1, 1], as
 * R's `power.prop.test(n = n, p1 = p1, power = power)$p2 - p1`, found here by Brent's method to
 * machine precision (R's default uniroot tolerance is 1.2e-4; the fixtures use tol = 1e-14).
 *
 * Returns null when no p2 <= 1 reaches the power (n too small; R then warns and extrapolates
 * past 1) and when p1 = 1 (nothing can rise).
 *
 * @example minimumDetectableLift({ p1: 0.3, n: 1000 }) // 0.058852537025756
 *   (R: power.prop.test(n = 1000, p1 = 0.3, power = 0.8, tol = 1e-14)$p2 - 0.3 = 0.05885254)
 */
export function minimumDetectableLift(options: MinimumDetectableLiftOptions): number | null {
  const fn = "minimumDetectableLift";
  const { p1, n } = options;
  const alpha = options.alpha ?? 0.05;
  const power = options.power ?? 0.8;
  requireProportion(fn, "p1", p1);
  requirePositive(fn, "n", n);
  requireOpenUnit(fn, "alpha", alpha);
  requireOpenUnit(fn, "power", power);
  if (!(power > alpha / 2)) {
    // At p2 = p1 the test already has power alpha/2, so any target at or below it is met by no lift.
    throw new RangeError(`${fn}: power must exceed alpha/2 (${alpha / 2}), got ${power}`);
  }
  return minimumDetectableLiftUnchecked(p1, n, normalQuantile(1 - alpha / 2), power);
}

/** minimumDetectableLift for validated arguments and a precomputed q = qnorm(1 - alpha/2). */
export function minimumDetectableLiftUnchecked(
  p1: number,
  n: number,
  criticalValue: number,
  power: number,
): number | null {
  if (p1 >= 1) return null;
  const target = (p2: number): number => powerUnchecked(p1, p2, n, criticalValue) - power;
  const atOne = target(1);
  if (atOne < 0) return null;
  // At p2 = p1 the statistic is exactly -q (power alpha/2); pass that value because at p1 = 0 the
  // formula is 0/0 there.
  const atP1 = normalCdf(-criticalValue) - power;
  const p2 = brentRoot(target, p1, 1, atP1, atOne);
  return p2 - p1;
}
