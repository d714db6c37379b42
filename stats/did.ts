import { normalQuantile } from "./distributions.js";
import type { Counts } from "./types.js";
import { requireCounts, requireOpenUnit } from "./validate.js";
import { waldTest } from "./wald.js";

export interface DidInput {
  exposed: { pre: Counts; post: Counts };
  control: { pre: Counts; post: Counts };
}

export interface DidOptions {
  /** Confidence level of the interval, default 0.95. */
  conf?: number;
}

export interface DidResult {
  /** (pE2 - pE1) - (pC2 - pC1): the exposed segment's lift beyond the control's. */
  estimate: number;
  /** Unpooled standard error sqrt(sum over the four samples of p(1 - p)/n). */
  se: number;
  z: number;
  /** Two-sided, from the normal distribution. */
  pValue: number;
  lower: number;
  upper: number;
}

/**
 * Difference-in-differences of proportions for an exposed and a control segment measured in two
 * independent waves: estimate (pE2 - pE1) - (pC2 - pC1), unpooled (Wald) standard error from the
 * four independent binomial samples, z = estimate / se, two-sided normal p-value and the Wald
 * interval estimate +- qnorm((1 + conf)/2) * se.
 *
 * This is the interaction coefficient of the saturated linear probability model
 * y ~ exposed * post with heteroskedasticity-consistent (HC0) standard errors; generate.R asserts
 * that equality against that model fitted in R for every fixture case.
 *
 * When every sample is all 0 or all 1, se = 0: then z = 0 and p = 1 if the estimate is 0, else
 * z = +-Infinity and p = 0.
 *
 * Reference: J. D. Angrist, J.-S. Pischke (2009), Mostly Harmless Econometrics, sec. 5.2.
 *
 * @example differenceInDifferences({ exposed: { pre: { x: 300, n: 1000 }, post: { x: 380, n: 1000 } },
 *                                    control: { pre: { x: 310, n: 1000 }, post: { x: 320, n: 1000 } } })
 *   // { estimate: 0.07, se: 0.0296158741218286, z: 2.36359729623533, pValue: 0.0180984736029768,
 *   //   lower: 0.0119539533505441, upper: 0.128046046649456 }  (R, same formulas: see test/stats/did.test.ts)
 */
export function differenceInDifferences(input: DidInput, options: DidOptions = {}): DidResult {
  const fn = "differenceInDifferences";
  const conf = options.conf ?? 0.95;
  const samples = [
    ["exposed.pre", input?.exposed?.pre],
    ["exposed.post", input?.exposed?.post],
    ["control.pre", input?.control?.pre],
    ["control.post", input?.control?.post],
  ] as const;
  for (const [name, counts] of samples) {
    if (typeof counts !== "object" || counts === null) {
      throw new RangeError(`${fn}: ${name} must be an object {x, n}, got ${String(counts)}`);
    }
    requireCounts(fn, `${name}.x`, counts.x, `${name}.n`, counts.n);
  }
  requireOpenUnit(fn, "conf", conf);
  return didUnchecked(input, normalQuantile((1 + conf) / 2));
}

/** differenceInDifferences for validated counts and a precomputed critical value. */
export function didUnchecked(input: DidInput, criticalValue: number): DidResult {
  const { exposed, control } = input;
  const share = (c: Counts): number => c.x / c.n;
  const variance = (c: Counts): number => (share(c) * (1 - share(c))) / c.n;
  const estimate = share(exposed.post) - share(exposed.pre) - (share(control.post) - share(control.pre));
  const se = Math.sqrt(variance(exposed.pre) + variance(exposed.post) + variance(control.pre) + variance(control.post));
  const { z, pValue } = waldTest(estimate, se);
  return {
    estimate,
    se,
    z,
    pValue,
    lower: estimate - criticalValue * se,
    upper: estimate + criticalValue * se,
  };
}
