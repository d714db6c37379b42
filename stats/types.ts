/** A two-sided confidence interval. `lower <= upper` always holds. */
export interface Interval {
  lower: number;
  upper: number;
}

/** Direction of a one-sided test, always phrased for wave 2 against wave 1 (post against pre). */
export type Alternative = "two-sided" | "greater" | "less";

/** Successes `x` out of `n` trials, for one segment in one wave. */
export interface Counts {
  x: number;
  n: number;
}
