import { adjustPValues, type AdjustmentMethod } from "./adjust.js";
import { normalQuantile } from "./distributions.js";
import {
  CONFIDENCE_LEVELS,
  decideVerdict,
  segmentMeasure,
  segmentWave,
  weightedSegmentMeasure,
  type ConfidenceLevel,
  type Estimate,
  type LiftTableCount,
  type LiftTableMetric,
  type LiftTableSegment,
  type Measure,
  type Sample,
  type SegmentRole,
  type WaveEstimate,
} from "./lift-table.js";
import type { Interval } from "./types.js";
import { requireCounts } from "./validate.js";
import type { Verdict } from "./verdict.js";

/**
 * Trends of a tracking study: for every metric × segment, the share per wave with its interval,
 * and for each wave after the baseline its change against the previous wave and against the
 * baseline, each with a verdict under the rules of the lift table (stats/verdict.ts):
 *
 * - a wave's share and interval are the lift table's (Wilson; Wald of the raked share when weighted);
 * - a change is the lift table's lift of that pair of waves: Newcombe's interval and the test it
 *   implies (weighted: Wald interval and z-test), so a change against the baseline has the same
 *   estimate, unadjusted interval and p-value as the lift table of those two waves;
 * - p-values are adjusted within a family: the segments of one role (exposed, control) of one
 *   metric, as in the lift table, times every comparison the series makes. With K waves that is
 *   K - 1 changes against the baseline and K - 2 against the previous wave (the first wave after
 *   the baseline has one change, counted once): S × (2K - 3) members. With two waves the family is
 *   the lift table's and so is every verdict. A member without responses counts as p = 1;
 * - the verdict interval is the change's interval at the level its adjusted test passed at
 *   (adjustedTestLevel), and the verdict is read off it (verdictOf).
 *
 * Not here: totals over segments and the difference-in-differences (the lift table has them for
 * a chosen pair); a trend is about one segment's own share over time.
 */

export interface TrendInput {
  metrics: readonly LiftTableMetric[];
  segments: readonly Pick<LiftTableSegment, "key" | "label" | "role">[];
  /** Wave keys in order: the first is the baseline. At least two. */
  waves: readonly string[];
  /** Counts as the lift table takes them (all waves; all weighted or none). */
  counts: readonly LiftTableCount[];
  confidenceLevel?: ConfidenceLevel;
  adjustment?: AdjustmentMethod;
}

/** A change between two waves of a series, with its verdict. */
export interface TrendChange {
  /** Wave keys: the change is share(to) - share(from). */
  from: string;
  to: string;
  /** Estimate with its unadjusted interval at the table's level. */
  change: Estimate;
  /** Unadjusted two-sided p-value of the change. */
  pValue: number;
  /** Adjusted within the series' family. */
  adjustedPValue: number;
  verdict: Verdict;
  verdictInterval: Interval;
  verdictLevel: number;
}

export interface TrendPoint {
  wave: string;
  /** The wave's share and interval; null when the segment has no responses on the metric in it. */
  share: WaveEstimate | null;
  /** Null for the baseline, or when either wave has no responses. */
  vsPrevious: TrendChange | null;
  vsBaseline: TrendChange | null;
}

export interface TrendSeries {
  metric: string;
  segment: string;
  role: SegmentRole;
  weighted: boolean;
  interval: "newcombe" | "wald";
  points: TrendPoint[];
  /** TrendFamily.key and its size. */
  family: string;
  familySize: number;
}

export interface TrendFamily {
  key: string;
  metric: string;
  kind: "segments" | "control";
  /** Segments of the role × comparisons (see trends). */
  size: number;
  segments: number;
  comparisons: number;
  adjustment: AdjustmentMethod;
  alpha: number;
}

export interface Trends {
  waves: string[];
  baseline: string;
  series: TrendSeries[];
  families: TrendFamily[];
  confidenceLevel: ConfidenceLevel;
  alpha: number;
  adjustment: AdjustmentMethod;
}

const FN = "trends";

/** Distinct comparisons of a series of k waves: k - 1 against the baseline, k - 2 more against the previous wave. */
export function trendComparisons(waveCount: number): number {
  return waveCount < 2 ? 0 : 2 * waveCount - 3;
}

interface PendingChange {
  from: string;
  to: string;
  measure: Measure;
  family: string;
  adjusted?: number;
}

/** Trends of every metric × segment (see above). Pure; RangeError for malformed input. */
export function trends(input: TrendInput): Trends {
  const confidenceLevel = input.confidenceLevel ?? 0.95;
  if (!CONFIDENCE_LEVELS.includes(confidenceLevel)) throw new RangeError(`${FN}: confidenceLevel must be one of 0.8, 0.9, 0.95, 0.99, got ${String(confidenceLevel)}`);
  const adjustment = input.adjustment ?? "holm";
  const alpha = Math.round((1 - confidenceLevel) * 1e12) / 1e12;
  const z = normalQuantile((1 + confidenceLevel) / 2);
  const waves = [...input.waves];
  if (waves.length < 2 || new Set(waves).size !== waves.length) throw new RangeError(`${FN}: waves must name at least two different waves, got ${JSON.stringify(waves)}`);
  const samples = indexCounts(input);
  const weighted = input.counts.length > 0 && input.counts.every((c) => c.weighted !== undefined);
  const comparisons = trendComparisons(waves.length);
  const roleOf = (s: { role?: SegmentRole }): SegmentRole => s.role ?? "exposed";

  const families = new Map<string, TrendFamily>();
  const pending: PendingChange[] = [];
  const drafts: Array<{ series: Omit<TrendSeries, "points">; points: Array<{ wave: string; share: WaveEstimate | null; vsPrevious: PendingChange | null; vsBaseline: PendingChange | null }> }> = [];
  for (const metric of input.metrics) {
    for (const segment of input.segments) {
      const role = roleOf(segment);
      const kind = role === "control" ? "control" : "segments";
      const familyKey = `${metric.key}:${kind}`;
      if (!families.has(familyKey)) {
        const members = input.segments.filter((s) => roleOf(s) === role).length;
        families.set(familyKey, { key: familyKey, metric: metric.key, kind, size: members * comparisons, segments: members, comparisons, adjustment, alpha });
      }
      const at = (wave: string) => samples.get(cellKey(metric.key, segment.key, wave));
      const change = (from: string, to: string): PendingChange | null => {
        const a = at(from);
        const b = at(to);
        if (!a || !b) return null;
        const measure = a.weighted && b.weighted ? weightedSegmentMeasure(a, b) : segmentMeasure(a, b);
        const c = { from, to, measure, family: familyKey };
        pending.push(c);
        return c;
      };
      const points = waves.map((wave, i) => {
        const sample = at(wave);
        const vsBaseline = i === 0 ? null : change(waves[0]!, wave);
        // The first wave after the baseline: its previous wave is the baseline, one comparison.
        const vsPrevious = i === 0 ? null : i === 1 ? vsBaseline : change(waves[i - 1]!, wave);
        return { wave, share: sample ? segmentWave(sample, z) : null, vsPrevious, vsBaseline };
      });
      drafts.push({
        series: { metric: metric.key, segment: segment.key, role, weighted, interval: weighted ? "wald" : "newcombe", family: familyKey, familySize: families.get(familyKey)!.size },
        points,
      });
    }
  }

  for (const family of families.values()) {
    const members = pending.filter((c) => c.family === family.key);
    const missing = new Array<number>(Math.max(0, family.size - members.length)).fill(1);
    const adjusted = adjustPValues([...members.map((c) => c.measure.pValue), ...missing], adjustment);
    members.forEach((c, i) => (c.adjusted = adjusted[i]!));
  }

  const finish = (c: PendingChange | null, familySize: number): TrendChange | null => {
    if (c === null) return null;
    const decision = decideVerdict(c.measure, c.adjusted!, familySize, alpha);
    const interval = c.measure.intervalAt(z);
    return {
      from: c.from,
      to: c.to,
      change: { estimate: c.measure.estimate, lower: interval.lower, upper: interval.upper },
      pValue: c.measure.pValue,
      adjustedPValue: c.adjusted!,
      verdict: decision.verdict,
      verdictInterval: decision.verdictInterval,
      verdictLevel: 1 - decision.testLevel,
    };
  };
  const series: TrendSeries[] = drafts.map(({ series, points }) => ({
    ...series,
    points: points.map((p) => {
      const vsBaseline = finish(p.vsBaseline, series.familySize);
      return { wave: p.wave, share: p.share, vsBaseline, vsPrevious: p.vsPrevious === p.vsBaseline ? vsBaseline : finish(p.vsPrevious, series.familySize) };
    }),
  }));
  return { waves, baseline: waves[0]!, series, families: [...families.values()], confidenceLevel, alpha, adjustment };
}

function cellKey(metric: string, segment: string, wave: string): string {
  return JSON.stringify([metric, segment, wave]);
}

function indexCounts(input: TrendInput): Map<string, Sample> {
  const weightedCount = input.counts.filter((r) => r.weighted !== undefined).length;
  if (weightedCount > 0 && weightedCount < input.counts.length) throw new RangeError(`${FN}: counts must all carry weighted shares or none`);
  const index = new Map<string, Sample>();
  input.counts.forEach((r, i) => {
    if (r.n === 0 && r.x === 0) return;
    requireCounts(FN, `counts[${i}].x`, r.x, `counts[${i}].n`, r.n);
    const key = cellKey(r.metric, r.segment, r.wave);
    if (index.has(key)) throw new RangeError(`${FN}: counts[${i}] repeats metric "${r.metric}", segment "${r.segment}", wave "${r.wave}"`);
    if (r.weighted) {
      const { p, se, nEff } = r.weighted;
      if (!(p >= 0 && p <= 1) || !(se >= 0) || !Number.isFinite(se) || !(nEff > 0)) throw new RangeError(`${FN}: counts[${i}].weighted must have p in [0, 1], se >= 0 and nEff > 0`);
    }
    index.set(key, r.weighted ? { x: r.x, n: r.n, weighted: r.weighted } : { x: r.x, n: r.n });
  });
  return index;
}
