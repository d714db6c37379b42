import { minimumDetectableLift, planningAlpha, PLANNING_POWER, sampleSizeTwoProportions, wilson } from "../../stats/index.js";

/**
 * Results during fieldwork, as pure functions over counts (no SQL, no Express):
 * - baselineLevels: with only a pre wave, each metric × segment's share with its Wilson interval;
 * - detectability: while the post wave runs, per metric × exposed segment whether the lift the
 *   study aims at (studies.targetLift) is detectable yet with the responses so far.
 *
 * Detectability plans at the verdict's own per-row level, alpha / k with k the study's exposed
 * segments (planningAlpha, the family of stats/lift-table.ts), and power PLANNING_POWER, with the
 * harmonic mean of the waves' n as liftTable's minimum detectable lift: so "yes" here means the
 * verdict at the end will detect the target with 80% power, not some laxer test.
 */

export interface FieldworkCount {
  metric: string;
  segment: string;
  /** Aware respondents and the metric's base (see countMetricBases). */
  x: number;
  n: number;
}

export interface BaselineCell {
  metric: string;
  segment: string;
  x: number;
  n: number;
  share: number;
  /** Wilson interval at the results' confidence level (R: prop.test(x, n, correct = FALSE)). */
  lower: number;
  upper: number;
}

/** Shares of one wave per metric × segment, in the order given; cells without respondents are left out. */
export function baselineLevels(
  metrics: readonly string[],
  segments: readonly string[],
  counts: readonly FieldworkCount[],
  confidenceLevel: number,
): BaselineCell[] {
  const byKey = new Map(counts.map((c) => [`${c.metric}|${c.segment}`, c]));
  const cells: BaselineCell[] = [];
  for (const metric of metrics) {
    for (const segment of segments) {
      const c = byKey.get(`${metric}|${segment}`);
      if (!c || c.n === 0) continue;
      const { lower, upper } = wilson(c.x, c.n, confidenceLevel);
      cells.push({ metric, segment, x: c.x, n: c.n, share: c.x / c.n, lower, upper });
    }
  }
  return cells;
}

/**
 * - yes: the minimum detectable lift is at or below the target;
 * - not_yet: it is above the target (or none up to 100% yet): see neededPerWave and morePerWave;
 * - no_target: the study has no target lift; only the current detectable lift is known;
 * - out_of_range: baseline + target passes 100%, so no sample can detect that target;
 * - no_baseline: the pre wave has no respondents in this cell, so there is no share to plan from.
 */
export type DetectabilityStatus = "yes" | "not_yet" | "no_target" | "out_of_range" | "no_baseline";

export interface SegmentDetectability {
  metric: string;
  segment: string;
  preN: number;
  postN: number;
  /** The pre wave's share: the baseline the lift is measured from. */
  baseline: number | null;
  /** Harmonic mean of the waves' n (0 when a wave has none), as liftTable. */
  harmonicN: number;
  /** Smallest lift detectable now; null when none up to 100% (or no respondents in a wave). */
  minimumDetectableLift: number | null;
  status: DetectabilityStatus;
  /** Respondents per wave (equal waves) that detect the target: ceil(power.prop.test n). */
  neededPerWave: number | null;
  /**
   * How many more per wave to reach neededPerWave from the smaller wave: an "about" figure for
   * equal waves (a larger pre wave lets the post wave need somewhat fewer).
   */
  morePerWave: number | null;
}

export interface DetectabilityInput {
  /** Family-wise alpha of the verdict (1 - confidence level). */
  alpha: number;
  /** k: the study's exposed segments, the family a metric's verdicts are adjusted in. */
  familySize: number;
  /** Absolute lift to detect as a fraction (0.05 = 5 pp), or null when the study has none. */
  targetLift: number | null;
  /** Exposed segments in order, with their counts in each wave (a missing wave count is 0 of 0). */
  metrics: readonly string[];
  segments: readonly string[];
  pre: readonly FieldworkCount[];
  post: readonly FieldworkCount[];
}

export interface Detectability {
  alpha: number;
  familySize: number;
  /** alpha / familySize: the level every number here uses. */
  planningAlpha: number;
  power: number;
  targetLift: number | null;
  rows: SegmentDetectability[];
}

// A target equal to the detectable lift up to rounding counts as reached.
const SLACK = 1e-9;

export function detectability(input: DetectabilityInput): Detectability {
  const level = planningAlpha(input.alpha, input.familySize);
  const power = PLANNING_POWER;
  const target = input.targetLift;
  const key = (c: { metric: string; segment: string }) => `${c.metric}|${c.segment}`;
  const pre = new Map(input.pre.map((c) => [key(c), c]));
  const post = new Map(input.post.map((c) => [key(c), c]));
  const rows: SegmentDetectability[] = [];
  for (const metric of input.metrics) {
    for (const segment of input.segments) {
      const a = pre.get(key({ metric, segment })) ?? { x: 0, n: 0 };
      const b = post.get(key({ metric, segment })) ?? { x: 0, n: 0 };
      const row: SegmentDetectability = {
        metric,
        segment,
        preN: a.n,
        postN: b.n,
        baseline: a.n > 0 ? a.x / a.n : null,
        harmonicN: a.n > 0 && b.n > 0 ? 2 / (1 / a.n + 1 / b.n) : 0,
        minimumDetectableLift: null,
        status: "no_baseline",
        neededPerWave: null,
        morePerWave: null,
      };
      rows.push(row);
      if (row.baseline === null) continue;
      const p1 = row.baseline;
      if (row.harmonicN > 0) row.minimumDetectableLift = minimumDetectableLift({ p1, n: row.harmonicN, alpha: level, power });
      if (target === null) {
        row.status = "no_target";
        continue;
      }
      if (p1 + target > 1 + SLACK) {
        row.status = "out_of_range";
        continue;
      }
      row.neededPerWave = Math.ceil(sampleSizeTwoProportions({ p1, p2: Math.min(1, p1 + target), alpha: level, power }));
      if (row.minimumDetectableLift !== null && row.minimumDetectableLift <= target + SLACK) {
        row.status = "yes";
      } else {
        row.status = "not_yet";
        row.morePerWave = Math.max(1, row.neededPerWave - Math.min(a.n, b.n));
      }
    }
  }
  return { alpha: input.alpha, familySize: Math.max(1, input.familySize), planningAlpha: level, power, targetLift: target, rows };
}
