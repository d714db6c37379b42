import { normalCdf, normalUpperTail } from "./distributions.js";
import type { Alternative } from "./types.js";
import { requireCounts } from "./validate.js";

export interface ZTestOptions {
  /** "greater" tests p2 > p1 (a rise), "less" tests p2 < p1; default "two-sided". */
  alternative?: Alternative;
  /** Yates' continuity correction, as R's `correct = TRUE`; default false. */
  continuity?: boolean;
}

export interface ZTestResult {
  /** Signed as p2 - p1; z^2 is R's X-squared statistic. */
  z: number;
  pValue: number;
}

/**
 * Two-proportion z-test with pooled standard error (equivalently the 2x2 chi-squared test with one
 * degree of freedom), comparing wave 2 (x2/n2) with wave 1 (x1/n1).
 *
 * Equal to R's `prop.test(c(x2, x1), c(n2, n1), correct = continuity, alternative = ...)`:
 * X-squared = sum over the four cells of (|O - E| - Y)^2 / E with E from the pooled proportion and
 * Y = min(0.5, |p2 - p1| / (1/n1 + 1/n2)) under continuity correction (0 otherwise);
 * z = sign(p2 - p1) * sqrt(X-squared). The two-sided p-value is P[chi2_1 > X-squared], computed as
 * 2 * P[Z > |z|] (the same number; this form keeps relative precision for tiny p-values); the
 * one-sided ones are P[Z > z] ("greater") and P[Z <= z] ("less").
 *
 * One deliberate difference from R: when both waves have no successes, or both have only
 * successes, the pooled variance is 0 and R returns NaN; here z = 0 (the data carry no evidence of
 * a change) and the p-values follow from it: 1 two-sided, 0.5 one-sided. A results table never
 * shows NaN.
 *
 * Reference: R source of stats::prop.test; A. Agresti (2013), Categorical Data Analysis, 3rd ed., sec. 3.1.
 *
 * @example twoProportionZTest(310, 1000, 380, 1000) // { z: 3.29270516302773, pValue: 0.000992284716453785 }
 *   (R: prop.test(c(380, 310), c(1000, 1000), correct = FALSE): X-squared = 10.842, p-value = 0.0009923)
 */
export function twoProportionZTest(
  x1: number,
  n1: number,
  x2: number,
  n2: number,
  options: ZTestOptions = {},
): ZTestResult {
  const fn = "twoProportionZTest";
  requireCounts(fn, "x1", x1, "n1", n1);
  requireCounts(fn, "x2", x2, "n2", n2);
  const alternative = options.alternative ?? "two-sided";
  if (alternative !== "two-sided" && alternative !== "greater" && alternative !== "less") {
    throw new RangeError(`${fn}: alternative must be "two-sided", "greater" or "less", got ${String(alternative)}`);
  }
  const continuity = options.continuity ?? false;
  if (typeof continuity !== "boolean") {
    throw new RangeError(`${fn}: continuity must be a boolean, got ${String(continuity)}`);
  }
  return zTestUnchecked(x1, n1, x2, n2, alternative, continuity);
}

/** The z-test for validated counts. */
export function zTestUnchecked(
  x1: number,
  n1: number,
  x2: number,
  n2: number,
  alternative: Alternative,
  continuity: boolean,
): ZTestResult {
  const pooled = (x1 + x2) / (n1 + n2);
  const delta = x2 / n2 - x1 / n1;
  const yates = continuity ? Math.min(0.5, Math.abs(delta) / (1 / n1 + 1 / n2)) : 0;
  // Same cell order as R's cbind(x, n - x) with x = c(x2, x1).
  let statistic = 0;
  for (const [observed, total] of [
    [x2, n2],
    [x1, n1],
  ] as const) {
    const expectedYes = total * pooled;
    const expectedNo = total * (1 - pooled);
    statistic += (Math.abs(observed - expectedYes) - yates) ** 2 / expectedYes;
    statistic += (Math.abs(total - observed - expectedNo) - yates) ** 2 / expectedNo;
  }
  // With pooled = 0 or 1 both proportions are equal (delta = 0) and the statistic is 0/0: take z = 0.
  const z = pooled === 0 || pooled === 1 ? 0 : Math.sign(delta) * Math.sqrt(statistic);
  let pValue: number;
  if (alternative === "two-sided") pValue = Math.min(1, 2 * normalUpperTail(Math.abs(z)));
  else if (alternative === "greater") pValue = normalUpperTail(z);
  else pValue = normalCdf(z);
  return { z, pValue };
}
