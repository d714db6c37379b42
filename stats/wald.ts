import { normalUpperTail } from "./distributions.js";

export interface WaldTestResult {
  z: number;
  /** Two-sided, from the normal distribution. */
  pValue: number;
}

/**
 * The two-sided Wald z-test of an estimate with standard error `se`: z = estimate / se,
 * p = 2 (1 - Phi(|z|)). With se = 0 (every sample all 0 or all 1) there is no noise: z = 0 and
 * p = 1 when the estimate is 0, else z = +-Infinity and p = 0. Shared by the difference-in-
 * differences, the fixed-weight totals and the net lift over competitors.
 */
export function waldTest(estimate: number, se: number): WaldTestResult {
  let z: number;
  if (se > 0) z = estimate / se;
  else z = estimate === 0 ? 0 : estimate > 0 ? Infinity : -Infinity;
  return { z, pValue: Math.min(1, 2 * normalUpperTail(Math.abs(z))) };
}
