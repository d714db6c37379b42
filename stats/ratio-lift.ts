import { normalQuantile } from "./distributions.js";
import type { Interval } from "./types.js";
import { requireCounts, requireOpenUnit } from "./validate.js";
import { wilsonUnchecked } from "./wilson.js";

/** A point estimate with its two-sided interval. */
export interface RatioEstimate {
  estimate: number;
  lower: number;
  upper: number;
}

/** One wave's share with the limits of its interval at the level wanted. */
export interface ShareWithLimits {
  p: number;
  lower: number;
  upper: number;
}

/**
 * Interval for the ratio p2 / p1 by the MOVER-R method (Donner & Zou 2012) from each share's own
 * interval limits: the lower limit L solves p2 - L p1 = sqrt((p2 - l2)^2 + L^2 (u1 - p1)^2), the
 * upper U solves p2 - U p1 = -sqrt((u2 - p2)^2 + U^2 (p1 - l1)^2).
 *
 * With Wilson limits this is the ratio counterpart of Newcombe's difference interval, and with Wald
 * limits of the Wald difference interval: at a ratio of 1 the two equations are exactly the
 * conditions "difference interval's lower limit = 0" and "upper limit = 0", so L > 1 exactly when
 * the difference interval lies above 0 and U < 1 exactly when it lies below. A relative lift can
 * therefore never claim a change that the absolute lift's interval denies.
 *
 * Requires p1 > 0. The lower limit is clipped at 0 (a ratio of shares is never negative; only Wald
 * limits below 0 can reach it). The upper limit is Infinity when l1 = 0.
 *
 * Reference: A. Donner, G. Y. Zou (2012), "Closed-form confidence intervals for functions of the
 * normal mean and standard deviation", Statistical Methods in Medical Research 21, 347-359; G. Y. Zou,
 * A. Donner (2008), "Construction of confidence limits about effect measures: a general approach",
 * Statistics in Medicine 27, 1693-1702.
 */
export function moverRatio(pre: ShareWithLimits, post: ShareWithLimits): Interval {
  const p1 = pre.p;
  const p2 = post.p;
  const B = p1 * p2;
  // Lower: A L^2 - 2 B L + C = 0 with A = p1^2 - (u1 - p1)^2, C = p2^2 - (p2 - l2)^2; the root
  // written as C / (B + sqrt(B^2 - AC)) avoids dividing by A, which is 0 when u1 = 2 p1.
  const A = p1 * p1 - (pre.upper - p1) ** 2;
  const C = p2 * p2 - (p2 - post.lower) ** 2;
  const lowerDen = B + Math.sqrt(Math.max(0, B * B - A * C));
  const lower = post.lower <= 0 || lowerDen === 0 ? 0 : Math.max(0, C / lowerDen);
  // Upper: A' U^2 - 2 B U + C' = 0, the larger root; A' = p1^2 - (p1 - l1)^2 > 0 when l1 > 0.
  const A2 = p1 * p1 - (p1 - pre.lower) ** 2;
  const C2 = p2 * p2 - (post.upper - p2) ** 2;
  const upper = A2 <= 0 ? Infinity : (B + Math.sqrt(Math.max(0, B * B - A2 * C2))) / A2;
  return { lower, upper };
}

/**
 * Relative lift (p2 - p1) / p1 = p2/p1 - 1 with a MOVER-R interval from Wilson limits at `conf`
 * (see moverRatio); null when p1 = 0.
 *
 * @example relativeLift(310, 1000, 380, 1000) // { estimate: 0.2258..., lower: 0.0853..., upper: 0.3849... }
 */
export function relativeLift(x1: number, n1: number, x2: number, n2: number, conf = 0.95): RatioEstimate | null {
  requireCounts("relativeLift", "x1", x1, "n1", n1);
  requireCounts("relativeLift", "x2", x2, "n2", n2);
  requireOpenUnit("relativeLift", "conf", conf);
  const z = normalQuantile((1 + conf) / 2);
  return relativeLiftOf(wilsonShare(x1, n1, z), wilsonShare(x2, n2, z));
}

/**
 * Headroom lift (p2 - p1) / (1 - p1): the share of the previously unaware who became aware. It is
 * 1 - q2/q1 for the unaware shares q = 1 - p, so its interval is 1 - the MOVER-R interval of q2/q1
 * (Wilson limits of q are 1 - the limits of p); null when p1 = 1.
 *
 * @example headroomLift(310, 1000, 380, 1000) // { estimate: 0.1014..., lower: 0.0410..., upper: 0.1593... }
 */
export function headroomLift(x1: number, n1: number, x2: number, n2: number, conf = 0.95): RatioEstimate | null {
  requireCounts("headroomLift", "x1", x1, "n1", n1);
  requireCounts("headroomLift", "x2", x2, "n2", n2);
  requireOpenUnit("headroomLift", "conf", conf);
  const z = normalQuantile((1 + conf) / 2);
  return headroomLiftOf(wilsonShare(x1, n1, z), wilsonShare(x2, n2, z));
}

export function wilsonShare(x: number, n: number, z: number): ShareWithLimits {
  return { p: x / n, ...wilsonUnchecked(x, n, z) };
}

export function relativeLiftOf(pre: ShareWithLimits, post: ShareWithLimits): RatioEstimate | null {
  if (pre.p === 0) return null;
  const ratio = moverRatio(pre, post);
  return { estimate: post.p / pre.p - 1, lower: ratio.lower - 1, upper: ratio.upper - 1 };
}

export function headroomLiftOf(pre: ShareWithLimits, post: ShareWithLimits): RatioEstimate | null {
  if (pre.p === 1) return null;
  const unaware = (s: ShareWithLimits): ShareWithLimits => ({ p: 1 - s.p, lower: 1 - s.upper, upper: 1 - s.lower });
  const ratio = moverRatio(unaware(pre), unaware(post));
  return { estimate: (post.p - pre.p) / (1 - pre.p), lower: 1 - ratio.upper, upper: 1 - ratio.lower };
}
