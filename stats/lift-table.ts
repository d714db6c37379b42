import { adjustPValues } from "./adjust.js";
import type { AdjustmentMethod } from "./adjust.js";
import { probabilityOfLiftUnchecked } from "./bayes.js";
import { normalCdf, normalQuantile } from "./distributions.js";
import { newcombeDiffUnchecked } from "./newcombe.js";
import { newcombeTestUnchecked } from "./newcombe-test.js";
import { minimumDetectableLiftUnchecked } from "./power.js";
import { headroomLiftOf, relativeLiftOf, wilsonShare, type RatioEstimate, type ShareWithLimits } from "./ratio-lift.js";
import type { Counts, Interval } from "./types.js";
import { requireCounts } from "./validate.js";
import {
  adjustedTestLevel,
  criticalValue,
  planningAlpha,
  posteriorProbabilityPositive,
  probabilityDisagrees,
  SMALL_N,
  verdictOf,
  type PosteriorTerm,
  type Verdict,
} from "./verdict.js";
import { waldTest } from "./wald.js";
import { wilsonUnchecked } from "./wilson.js";

// ------------------------------------------------------------------------------------------------
// Input
// ------------------------------------------------------------------------------------------------

/** Confidence levels a results table may be computed at; alpha = 1 - level. */
export type ConfidenceLevel = 0.8 | 0.9 | 0.95 | 0.99;
export const CONFIDENCE_LEVELS: readonly ConfidenceLevel[] = [0.8, 0.9, 0.95, 0.99];

export type SegmentRole = "exposed" | "control";

export interface LiftTableMetric {
  key: string;
  /** Shown in tables and sentences (in the reader's language); defaults to the key. */
  label?: string;
}

export interface LiftTableSegment {
  /** Any non-empty key except "total", which names the total rows. */
  key: string;
  /** Shown in tables and sentences; defaults to the key. */
  label?: string;
  /** "control" marks a segment the campaign does not reach; default "exposed". */
  role?: SegmentRole;
  /**
   * People in the segment's audience (pass the post wave's size: the population the result
   * describes). Used as fixed weights for both waves in the total, and for lifted users. Optional.
   */
  audienceSize?: number;
}

/** One aggregate from SQL: x of n respondents of a segment in a wave were "aware" on a metric. */
export interface LiftTableCount {
  metric: string;
  segment: string;
  wave: string;
  x: number;
  n: number;
  /**
   * The wave's share weighted to the segment's population margins (rakedProportion): p, its
   * raking-aware standard error and Kish's effective n. Given for every record or for none; a
   * weighted row then uses p and se in place of x/n and the binomial variance (see liftTable).
   */
  weighted?: WeightedShare;
}

export interface LiftTableInput {
  metrics: readonly LiftTableMetric[];
  segments: readonly LiftTableSegment[];
  /**
   * Counts for any waves; only the two compared are read. At most one record per
   * metric/segment/wave; a missing record or 0 of 0 means no responses (the row is omitted).
   */
  counts: readonly LiftTableCount[];
  /** Wave keys to compare: lift = post - pre. */
  waves: { pre: string; post: string };
  /**
   * Default 0.95. Verdicts hold the family-wise error at alpha = 1 - level; unadjusted intervals
   * are at this level, verdict intervals at the adjusted level of their row.
   */
  confidenceLevel?: ConfidenceLevel;
  /** Multiple-comparison adjustment within each family (see LiftFamily); default "holm". */
  adjustment?: AdjustmentMethod;
  /** Campaign cost, for the cost per lifted user (total row, or a metric's only exposed segment). */
  campaign?: { cost: number; currency: string };
  /** Label of the total rows; default "Total". */
  totalLabel?: string;
}

// ------------------------------------------------------------------------------------------------
// Output
// ------------------------------------------------------------------------------------------------

/** A point estimate with a two-sided interval. */
export interface Estimate {
  estimate: number;
  lower: number;
  upper: number;
}

/** A relative or headroom lift with its interval and the interval's confidence level. */
export interface LevelEstimate extends RatioEstimate {
  level: number;
}

/** A weighted share: p, its linearization standard error, and Kish's effective sample size. */
export interface WeightedShare {
  p: number;
  se: number;
  nEff: number;
}

/** One wave of one row. */
export interface WaveEstimate {
  /** Aware respondents and respondents (for a total, summed over its segments). */
  x: number;
  n: number;
  /** Share aware: x/n, or for a total the fixed-weight share (see LiftRow.totalMethod). */
  p: number;
  /** Unadjusted, at the table's level: Wilson, or for a total the Wald interval clipped to [0, 1]. */
  lower: number;
  upper: number;
  /** Weighted rows only: Kish's effective n and the design effect n / nEff. */
  nEff?: number;
  designEffect?: number;
}

/**
 * Warning codes, each a reason to read a row with care:
 * - small_n: fewer than SMALL_N (30) respondents in a wave;
 * - unbalanced_waves: one wave has more than UNBALANCED_RATIO (2) times the respondents of the other;
 * - audience_size_missing: (total) some segments have an audience size and some do not, so the total
 *   is weighted by sample shares instead;
 * - incomplete_total: (total) an exposed segment had no responses in a wave and is not in the total.
 */
export type LiftWarningCode = "small_n" | "unbalanced_waves" | "audience_size_missing" | "incomplete_total";

export { SMALL_N };
export const UNBALANCED_RATIO = 2;

/** Power used for the minimum detectable lift. */
export const PLANNING_POWER = 0.8;

/** What a row's verdict is about. */
export type VerdictMeasure = "lift" | "did";

export interface RowDifferenceInDifferences extends Estimate {
  /** The control segments whose counts (pooled) are the comparison. */
  controlSegments: string[];
  se: number;
  z: number;
  /** Two-sided, unadjusted; the interval (estimate, lower, upper) is unadjusted at the table's level. */
  pValue: number;
  /** The control segments' own change over the same waves: the market trend, unadjusted interval. */
  marketTrend: Estimate;
}

/** Why a row shows no lifted users or no cost per lifted user. */
export type LiftedUsersNote = "not_detected" | "no_audience_size" | "control_segment" | "no_cost" | "not_whole_campaign";

/**
 * A multiplicity family: the rows whose verdicts are adjusted together.
 * - segments: the exposed segments of one metric (their lift, or with a control their
 *   difference-in-differences);
 * - total: the total of one metric, tested on its own (a summary of the same respondents, not
 *   another discovery);
 * - control: the control segments of one metric (the market trend).
 */
export interface LiftFamily {
  key: string;
  metric: string;
  kind: "segments" | "total" | "control";
  measure: VerdictMeasure;
  /** Rows of the family with responses in both waves. */
  rowIds: string[];
  /**
   * Members the design states (every exposed, resp. control, segment of the study; 1 for a
   * total), whether or not they have responses yet; those without count as p = 1.
   */
  size: number;
  adjustment: AdjustmentMethod;
  /** Family-wise significance level. */
  alpha: number;
  /** alpha / size: the per-row level the planner and the minimum detectable lift use. */
  planningAlpha: number;
}

export interface LiftRow {
  /** `${metric}:${segment}`, unique within the table ("total" for the total row). */
  id: string;
  kind: "segment" | "total";
  metric: string;
  metricLabel: string;
  segment: string;
  segmentLabel: string;
  role: SegmentRole;
  /**
   * Total rows only: the fixed weights used for both waves, audience sizes ("audience") or each
   * segment's share of the two waves' respondents together ("sample"). Never raw pooled counts, so a
   * change in the segment mix between waves cannot move the total.
   */
  totalMethod: "audience" | "sample" | null;
  /** Segments summarised by a total row (or the row's own segment). */
  segments: string[];

  pre: WaveEstimate;
  post: WaveEstimate;
  /** Shares weighted to the population margins (LiftTableCount.weighted), with Wald intervals and tests. */
  weighted: boolean;
  /** p2 - p1 with its unadjusted interval at the table's level (Newcombe, or Wald for a total). */
  absoluteLift: Estimate;
  liftInterval: "newcombe" | "wald";
  /** Unadjusted two-sided p of the lift: the test Newcombe's interval implies, or the Wald z-test. */
  pValue: number;
  /** Relative and headroom lift with MOVER-R intervals at verdictLevel (lift rows) or the table's level (did rows). */
  relativeLift: LevelEstimate | null;
  headroomLift: LevelEstimate | null;

  /** The headline: the lift, or with a control segment the difference-in-differences. */
  measure: VerdictMeasure;
  /** LiftFamily.key of the row's family, and the number of rows in it. */
  family: string;
  familySize: number;
  verdict: Verdict;
  /** The measure's point estimate. */
  verdictEstimate: number;
  /** The interval printed with the verdict: excludes 0 exactly when the verdict is rise or fall. */
  verdictInterval: Interval;
  /** Confidence level of verdictInterval: 1 - alpha * p / adjusted p (between 1 - alpha and 1 - alpha/k). */
  verdictLevel: number;
  /** Unadjusted p of the measure. */
  verdictPValue: number;
  /** verdictPValue adjusted within the family; < alpha exactly when the verdict is rise or fall. */
  adjustedPValue: number;
  /**
   * Posterior probability that the measure is above 0, uniform Beta(1, 1) priors on every share:
   * exact for a single pair of samples, by the normal approximation to the posterior otherwise.
   */
  probabilityOfRise: number;
  /** The probability points where the verdict does not (see probabilityDisagrees): explain it. */
  probabilityDisagrees: boolean;
  /**
   * Smallest lift detectable with power PLANNING_POWER at the family's planning alpha with these
   * sample sizes (harmonic mean of the waves' n; for a total of their effective sizes); null when
   * no rise up to 100% would be detected.
   */
  minimumDetectableLift: number | null;
  planningAlpha: number;
  warnings: LiftWarningCode[];

  /** Only for a detected rise: the measure x audience size, range from the verdict interval. */
  liftedUsers: Estimate | null;
  liftedUsersNote: LiftedUsersNote | null;
  /** Campaign cost / lifted users, range cost/upper .. cost/lower; only for a detected rise. */
  costPerLiftedUser: { amount: number; lower: number; upper: number; currency: string } | null;
  costNote: LiftedUsersNote | null;
  /** Lift beyond the control segments' lift; null without a control or for control rows. */
  differenceInDifferences: RowDifferenceInDifferences | null;

  confidenceLevel: ConfidenceLevel;
  alpha: number;
  adjustment: AdjustmentMethod;
}

export interface OmittedRow {
  metric: string;
  segment: string;
  reason: "no_pre_responses" | "no_post_responses";
}

export interface LiftTable {
  rows: LiftRow[];
  /** Metric x segment combinations with no responses in a compared wave: not computable. */
  omitted: OmittedRow[];
  families: LiftFamily[];
  waves: { pre: string; post: string };
  confidenceLevel: ConfidenceLevel;
  alpha: number;
  adjustment: AdjustmentMethod;
}

// ------------------------------------------------------------------------------------------------
// Computation
// ------------------------------------------------------------------------------------------------

const FN = "liftTable";
const TOTAL_KEY = "total";

interface Settings {
  z: number;
  alpha: number;
  confidenceLevel: ConfidenceLevel;
  adjustment: AdjustmentMethod;
}

/** One wave of one segment: its counts, and its weighted share when the table is weighted. */
export type Sample = Counts & { weighted?: WeightedShare };

interface Part {
  segment: LiftTableSegment;
  pre: Sample;
  post: Sample;
}

const shareOf = (s: Sample): number => s.weighted?.p ?? s.x / s.n;
/** Var(p): the squared linearization se when weighted, else the binomial p(1-p)/n. */
const varianceOf = (s: Sample): number => (s.weighted ? s.weighted.se ** 2 : (shareOf(s) * (1 - shareOf(s))) / s.n);
const effectiveNOf = (s: Sample): number => s.weighted?.nEff ?? s.n;
const clip01 = (v: number): number => Math.min(1, Math.max(0, v));

/** The Wald limits of a weighted share at critical value z, clipped to [0, 1]. */
function waldShare(s: Sample, z: number): ShareWithLimits {
  const p = shareOf(s);
  const se = Math.sqrt(varianceOf(s));
  return { p, lower: clip01(p - z * se), upper: clip01(p + z * se) };
}

/** A wave of a weighted row as printed: the weighted share, Wald limits, n_eff and design effect. */
function weightedWave(s: Sample, z: number): WaveEstimate {
  const nEff = effectiveNOf(s);
  return { x: s.x, n: s.n, ...waldShare(s, z), nEff, designEffect: s.n / nEff };
}

/**
 * One wave of one segment as a row prints it at critical value z: Wilson, or when weighted the
 * Wald limits of the raked share. Exported for the trend series, so a wave reads the same there.
 */
export function segmentWave(s: Sample, z: number): WaveEstimate {
  return s.weighted ? weightedWave(s, z) : { x: s.x, n: s.n, p: s.x / s.n, ...wilsonUnchecked(s.x, s.n, z) };
}

/**
 * Pooled control segments: raw counts summed, or when weighted the segments' weighted shares
 * combined by their sample sizes (fixed within the wave), se and effective n accordingly.
 */
function poolSamples(samples: readonly Sample[]): Sample {
  const x = sum(samples, (c) => c.x);
  const n = sum(samples, (c) => c.n);
  if (!samples.every((c) => c.weighted)) return { x, n };
  let p = 0;
  let variance = 0;
  let inverseEffectiveN = 0;
  for (const c of samples) {
    const w = c.n / n;
    p += w * shareOf(c);
    variance += w * w * varianceOf(c);
    inverseEffectiveN += (w * w) / effectiveNOf(c);
  }
  return { x, n, weighted: { p, se: Math.sqrt(variance), nEff: 1 / inverseEffectiveN } };
}

/** P(measure > 0) by the normal approximation, for weighted rows (no Beta posterior for weighted counts). */
function normalProbabilityPositive(estimate: number, variance: number): number {
  if (variance === 0) return estimate > 0 ? 1 : estimate < 0 ? 0 : 0.5;
  return normalCdf(estimate / Math.sqrt(variance));
}

/** A measure before adjustment: estimate, unadjusted p, and its interval at any critical value. */
export interface Measure {
  estimate: number;
  pValue: number;
  intervalAt: (z: number) => Interval;
  /** Shares with their limits at a critical value, for the ratio lifts (null: not a share pair). */
  sharesAt: (z: number) => { pre: ShareWithLimits; post: ShareWithLimits };
  probabilityOfRise: number;
  enoughData: boolean;
}

type RowIdentity = Pick<LiftRow, "kind" | "metric" | "metricLabel" | "segment" | "segmentLabel" | "role" | "totalMethod" | "segments">;

/** Everything a row needs before its family's adjustment. */
interface Draft {
  identity: RowIdentity;
  pre: WaveEstimate;
  post: WaveEstimate;
  lift: Measure;
  liftInterval: "newcombe" | "wald";
  weighted: boolean;
  liftVariance: number;
  /** Posterior terms of the lift (for difference-in-differences). */
  terms: PosteriorTerm[];
  harmonicN: number;
  warnings: LiftWarningCode[];
  audience: number | null;
  did: { measure: Measure; info: RowDifferenceInDifferences } | null;
  familyKey: string;
}

/**
 * The results table of a brand-lift study: for every metric x segment with responses in both
 * compared waves, the shares before and after, the lift with its intervals, and one verdict from
 * one procedure, with everything else on the row derived so that it cannot contradict it.
 *
 * The procedure, per row:
 * 1. The measure is the lift p2 - p1, or for exposed rows of a metric that has control segments
 *    the difference-in-differences against the pooled controls.
 * 2. Its unadjusted p-value is the test its interval implies: Newcombe's interval inverted
 *    (newcombeTest) for a segment's lift, the Wald z-test for a fixed-weight total and for a
 *    difference-in-differences (whose intervals are Wald).
 * 3. p-values are adjusted (Holm by default) within the row's family (LiftFamily).
 * 4. The verdict interval is the measure's interval at the level the row was tested at after the
 *    adjustment (adjustedTestLevel); the verdict is read off it (verdictOf). So the interval
 *    excludes 0 exactly when the verdict says rise or fall, and exactly when adjusted p < alpha.
 * 5. Relative and headroom lifts get MOVER-R intervals from the same limits, which exclude 0
 *    exactly when the verdict interval does.
 * 6. Lifted users and cost per lifted user exist only for a detected rise, ranged by the verdict
 *    interval, net of the controls when the measure is the difference-in-differences.
 *
 * The total row of a metric (two or more exposed segments) uses the same fixed weights in both
 * waves: audience sizes when every included segment has one, else each segment's share of all
 * respondents of the two waves. p = sum w_s p_s, Var = sum w_s^2 p_s (1 - p_s) / n_s per wave,
 * Wald interval and z-test; effective n per wave for planning = 1 / sum(w_s^2 / n_s) (Kish).
 *
 * Weighted tables (every count carries `weighted`: a raked share, its linearization se and n_eff):
 * a segment's lift is p2 - p1 with Var = se1^2 + se2^2, Wald interval and z-test (one method, so
 * steps 3-6 hold unchanged); totals and controls combine the weighted shares and variances with
 * the same fixed weights; P(rise) is the normal approximation; "enough data" and planning use the
 * effective sizes. Waves then also carry nEff and the design effect n / nEff.
 *
 * Pure and synchronous; throws RangeError for malformed input (unknown keys, duplicate records,
 * invalid counts, a confidence level outside 80/90/95/99%).
 */
export function liftTable(input: LiftTableInput): LiftTable {
  const settings = readSettings(input);
  const metrics = uniqueByKey(input.metrics, "metrics");
  const segments = uniqueByKey(input.segments, "segments");
  segments.forEach((segment, i) => {
    if (segment.key === TOTAL_KEY) {
      throw new RangeError(`${FN}: segments[${i}].key "${TOTAL_KEY}" is reserved for the total rows`);
    }
    const role = segment.role ?? "exposed";
    if (role !== "exposed" && role !== "control") {
      throw new RangeError(`${FN}: segments[${i}].role must be "exposed" or "control", got ${String(role)}`);
    }
    const size = segment.audienceSize;
    if (size !== undefined && (typeof size !== "number" || !(size >= 0) || !Number.isFinite(size))) {
      throw new RangeError(`${FN}: segments[${i}].audienceSize must be a finite number >= 0, got ${String(size)}`);
    }
  });
  const counts = indexCounts(input, metrics, segments);
  if (input.campaign !== undefined) {
    const { cost, currency } = input.campaign;
    if (typeof cost !== "number" || !(cost >= 0) || !Number.isFinite(cost)) {
      throw new RangeError(`${FN}: campaign.cost must be a finite number >= 0, got ${String(cost)}`);
    }
    if (typeof currency !== "string" || currency.length === 0) {
      throw new RangeError(`${FN}: campaign.currency must be a non-empty string, got ${String(currency)}`);
    }
  }

  const drafts: Draft[] = [];
  const omitted: OmittedRow[] = [];
  for (const metric of metrics) {
    const metricLabel = metric.label ?? metric.key;
    const included: Part[] = [];
    for (const segment of segments) {
      const pre = counts.get(countKey(metric.key, segment.key, input.waves.pre));
      const post = counts.get(countKey(metric.key, segment.key, input.waves.post));
      if (pre === undefined || post === undefined) {
        omitted.push({ metric: metric.key, segment: segment.key, reason: pre === undefined ? "no_pre_responses" : "no_post_responses" });
        continue;
      }
      included.push({ segment, pre, post });
    }
    const exposed = included.filter((s) => (s.segment.role ?? "exposed") === "exposed");
    const controls = included.filter((s) => s.segment.role === "control");
    const metricDrafts: Draft[] = included.map((part) => segmentDraft(metric.key, metricLabel, part, settings));
    if (exposed.length >= 2) {
      const exposedTotal = segments.filter((s) => (s.role ?? "exposed") === "exposed").length;
      metricDrafts.push(totalDraft(metric.key, metricLabel, exposed, exposedTotal, settings, input));
    }
    if (controls.length > 0) {
      const control = { pre: poolSamples(controls.map((c) => c.pre)), post: poolSamples(controls.map((c) => c.post)) };
      for (const draft of metricDrafts) {
        if (draft.identity.role === "exposed") draft.did = didMeasure(draft, control, controls.map((c) => c.segment.key), settings);
      }
    }
    drafts.push(...metricDrafts);
  }

  const families = familiesOf(drafts, segments, settings);
  const adjusted = new Map<Draft, number>();
  const familySize = new Map<string, number>();
  for (const family of families) {
    const members = drafts.filter((d) => d.familyKey === family.key);
    familySize.set(family.key, family.size);
    // A member without responses in a wave still belongs to the family the design states: it
    // enters the adjustment as p = 1, so missing data never makes the others' verdicts laxer.
    const missing = new Array<number>(family.size - members.length).fill(1);
    const p = adjustPValues([...members.map((d) => measureOf(d).pValue), ...missing], settings.adjustment);
    members.forEach((d, i) => adjusted.set(d, p[i]!));
  }
  const rows = drafts.map((draft) => finishRow(draft, adjusted.get(draft)!, familySize.get(draft.familyKey)!, settings, input));
  return {
    rows,
    omitted,
    families,
    waves: { pre: input.waves.pre, post: input.waves.post },
    confidenceLevel: settings.confidenceLevel,
    alpha: settings.alpha,
    adjustment: settings.adjustment,
  };
}

function readSettings(input: LiftTableInput): Settings {
  if (typeof input !== "object" || input === null) throw new RangeError(`${FN}: input must be an object`);
  const confidenceLevel = input.confidenceLevel ?? 0.95;
  if (!CONFIDENCE_LEVELS.includes(confidenceLevel)) {
    throw new RangeError(`${FN}: confidenceLevel must be one of 0.8, 0.9, 0.95, 0.99, got ${String(confidenceLevel)}`);
  }
  const adjustment = input.adjustment ?? "holm";
  if (adjustment !== "holm" && adjustment !== "bh" && adjustment !== "bonferroni") {
    throw new RangeError(`${FN}: adjustment must be "holm", "bh" or "bonferroni", got ${String(adjustment)}`);
  }
  const { pre, post } = input.waves ?? {};
  if (typeof pre !== "string" || typeof post !== "string" || pre === post) {
    throw new RangeError(`${FN}: waves must name two different waves {pre, post}, got ${JSON.stringify(input.waves)}`);
  }
  return {
    confidenceLevel,
    adjustment,
    // 1 - level would leave 0.050000000000000044 for 0.95; round to the decimal the user chose.
    alpha: Math.round((1 - confidenceLevel) * 1e12) / 1e12,
    z: normalQuantile((1 + confidenceLevel) / 2),
  };
}

function uniqueByKey<T extends { key: string }>(items: readonly T[], name: string): readonly T[] {
  if (!Array.isArray(items)) throw new RangeError(`${FN}: ${name} must be an array`);
  const seen = new Set<string>();
  items.forEach((item, i) => {
    if (typeof item?.key !== "string" || item.key.length === 0) {
      throw new RangeError(`${FN}: ${name}[${i}].key must be a non-empty string, got ${String(item?.key)}`);
    }
    if (seen.has(item.key)) throw new RangeError(`${FN}: ${name}[${i}].key "${item.key}" is a duplicate`);
    seen.add(item.key);
  });
  return items;
}

function countKey(metric: string, segment: string, wave: string): string {
  return JSON.stringify([metric, segment, wave]);
}

/** Validates the count records and indexes those of the two compared waves. */
function indexCounts(
  input: LiftTableInput,
  metrics: readonly LiftTableMetric[],
  segments: readonly LiftTableSegment[],
): Map<string, Sample> {
  if (!Array.isArray(input.counts)) throw new RangeError(`${FN}: counts must be an array`);
  const weightedCount = input.counts.filter((r) => r.weighted !== undefined).length;
  if (weightedCount > 0 && weightedCount < input.counts.length) {
    throw new RangeError(`${FN}: counts must all carry weighted shares or none (${weightedCount} of ${input.counts.length} do)`);
  }
  const metricKeys = new Set(metrics.map((m) => m.key));
  const segmentKeys = new Set(segments.map((s) => s.key));
  const index = new Map<string, Sample>();
  input.counts.forEach((record, i) => {
    const where = `counts[${i}]`;
    if (!metricKeys.has(record.metric)) throw new RangeError(`${FN}: ${where}.metric "${String(record.metric)}" is not in metrics`);
    if (!segmentKeys.has(record.segment)) throw new RangeError(`${FN}: ${where}.segment "${String(record.segment)}" is not in segments`);
    if (record.wave !== input.waves.pre && record.wave !== input.waves.post) return;
    // A LEFT JOIN aggregate reports a segment nobody answered as 0 of 0: that is "no responses"
    // (the row is listed in `omitted`), not an error.
    if (record.n === 0 && record.x === 0) return;
    requireCounts(FN, `${where}.x`, record.x, `${where}.n`, record.n);
    const key = countKey(record.metric, record.segment, record.wave);
    if (index.has(key)) {
      throw new RangeError(`${FN}: ${where} repeats metric "${record.metric}", segment "${record.segment}", wave "${record.wave}"`);
    }
    index.set(key, record.weighted === undefined ? { x: record.x, n: record.n } : { x: record.x, n: record.n, weighted: checkedWeighted(record.weighted, record.n, where) });
  });
  return index;
}

function checkedWeighted(w: WeightedShare, n: number, where: string): WeightedShare {
  const { p, se, nEff } = w ?? ({} as WeightedShare);
  if (typeof p !== "number" || !(p >= 0 && p <= 1)) throw new RangeError(`${FN}: ${where}.weighted.p must be in [0, 1], got ${String(p)}`);
  if (typeof se !== "number" || !(se >= 0) || !Number.isFinite(se)) throw new RangeError(`${FN}: ${where}.weighted.se must be a finite number >= 0, got ${String(se)}`);
  if (typeof nEff !== "number" || !(nEff > 0) || nEff > n * (1 + 1e-9)) {
    throw new RangeError(`${FN}: ${where}.weighted.nEff must be in (0, n], got ${String(nEff)}`);
  }
  return { p, se, nEff };
}

function sum<T>(items: readonly T[], value: (item: T) => number): number {
  let total = 0;
  for (const item of items) total += value(item);
  return total;
}

function sampleWarnings(n1: number, n2: number): LiftWarningCode[] {
  const warnings: LiftWarningCode[] = [];
  if (Math.min(n1, n2) < SMALL_N) warnings.push("small_n");
  if (Math.max(n1, n2) > UNBALANCED_RATIO * Math.min(n1, n2)) warnings.push("unbalanced_waves");
  return warnings;
}

/** Wald: estimate +- z se, with its two-sided z-test; se = 0 gives p = 1 (no change) or 0. */
function waldMeasure(estimate: number, variance: number): Pick<Measure, "estimate" | "pValue" | "intervalAt"> {
  const se = Math.sqrt(variance);
  return {
    estimate,
    pValue: waldTest(estimate, se).pValue,
    intervalAt: (c) => ({ lower: estimate - c * se, upper: estimate + c * se }),
  };
}

/**
 * A segment's lift as a measure: Newcombe's interval, the test it implies, Wilson limits for the
 * ratio lifts, the exact probability of a rise. Exported for the property test that walks every
 * small table through the same code as liftTable.
 */
export function segmentMeasure(pre: Counts, post: Counts): Measure {
  return {
    estimate: post.x / post.n - pre.x / pre.n,
    pValue: newcombeTestUnchecked(pre.x, pre.n, post.x, post.n).pValue,
    intervalAt: (z) => newcombeDiffUnchecked(pre.x, pre.n, post.x, post.n, z),
    sharesAt: (z) => ({ pre: wilsonShare(pre.x, pre.n, z), post: wilsonShare(post.x, post.n, z) }),
    probabilityOfRise: probabilityOfLiftUnchecked(pre.x, pre.n, post.x, post.n),
    enoughData: Math.min(pre.n, post.n) >= SMALL_N,
  };
}

/**
 * A weighted segment's lift as a measure: the raked shares' difference, Var = se1^2 + se2^2, Wald
 * interval and z-test, "enough data" by the effective sizes. Exported for the trend series.
 */
export function weightedSegmentMeasure(pre: Sample, post: Sample): Measure {
  const estimate = shareOf(post) - shareOf(pre);
  const variance = varianceOf(pre) + varianceOf(post);
  return {
    ...waldMeasure(estimate, variance),
    sharesAt: (z) => ({ pre: waldShare(pre, z), post: waldShare(post, z) }),
    probabilityOfRise: normalProbabilityPositive(estimate, variance),
    enoughData: Math.min(effectiveNOf(pre), effectiveNOf(post)) >= SMALL_N,
  };
}

/** The verdict of a measure whose family adjustment gave adjustedPValue (steps 4 of liftTable). */
export interface Decision {
  verdict: Verdict;
  verdictInterval: Interval;
  /** Two-sided test level of the row; the verdict interval's coverage is 1 - testLevel. */
  testLevel: number;
  /** Critical value of the verdict interval. */
  z: number;
}

export function decideVerdict(measure: Measure, adjustedPValue: number, familySize: number, alpha: number): Decision {
  const testLevel = adjustedTestLevel(alpha, measure.pValue, adjustedPValue, familySize);
  const z = criticalValue(testLevel);
  const verdictInterval = measure.intervalAt(z);
  return { verdict: verdictOf(verdictInterval, measure.enoughData), verdictInterval, testLevel, z };
}

function segmentIdentity(metric: string, metricLabel: string, segment: LiftTableSegment, role: SegmentRole): RowIdentity {
  return { kind: "segment", metric, metricLabel, segment: segment.key, segmentLabel: segment.label ?? segment.key, role, totalMethod: null, segments: [segment.key] };
}

/** A segment's row: one binomial sample per wave, Newcombe's interval and the test it implies. */
function segmentDraft(metric: string, metricLabel: string, part: Part, settings: Settings): Draft {
  const { pre, post, segment } = part;
  const role = segment.role ?? "exposed";
  if (pre.weighted && post.weighted) return weightedSegmentDraft(metric, metricLabel, part, settings);
  const p1 = pre.x / pre.n;
  const p2 = post.x / post.n;
  const lift = segmentMeasure(pre, post);
  return {
    identity: segmentIdentity(metric, metricLabel, segment, role),
    pre: { x: pre.x, n: pre.n, p: p1, ...wilsonUnchecked(pre.x, pre.n, settings.z) },
    post: { x: post.x, n: post.n, p: p2, ...wilsonUnchecked(post.x, post.n, settings.z) },
    lift,
    liftInterval: "newcombe",
    weighted: false,
    liftVariance: (p1 * (1 - p1)) / pre.n + (p2 * (1 - p2)) / post.n,
    terms: [
      { weight: 1, ...post },
      { weight: -1, ...pre },
    ],
    // power.prop.test assumes n per wave; Var(p2 - p1) is proportional to 1/n1 + 1/n2 = 2/n_h.
    harmonicN: 2 / (1 / pre.n + 1 / post.n),
    warnings: sampleWarnings(pre.n, post.n),
    audience: role === "exposed" && segment.audienceSize !== undefined ? segment.audienceSize : null,
    did: null,
    familyKey: `${metric}:${role === "control" ? "control" : "segments"}`,
  };
}

/**
 * A weighted segment's row: the waves' raked shares, independent samples, so
 * Var(p2 - p1) = se1^2 + se2^2; Wald interval and z-test (one method, so the verdict rules hold
 * as for totals); planning and "enough data" from the effective sizes.
 */
function weightedSegmentDraft(metric: string, metricLabel: string, part: Part, settings: Settings): Draft {
  const { pre, post, segment } = part;
  const role = segment.role ?? "exposed";
  const liftVariance = varianceOf(pre) + varianceOf(post);
  const n1 = effectiveNOf(pre);
  const n2 = effectiveNOf(post);
  return {
    identity: segmentIdentity(metric, metricLabel, segment, role),
    pre: weightedWave(pre, settings.z),
    post: weightedWave(post, settings.z),
    lift: weightedSegmentMeasure(pre, post),
    liftInterval: "wald",
    weighted: true,
    liftVariance,
    terms: [],
    harmonicN: 2 / (1 / n1 + 1 / n2),
    warnings: sampleWarnings(Math.min(pre.n, n1), Math.min(post.n, n2)),
    audience: role === "exposed" && segment.audienceSize !== undefined ? segment.audienceSize : null,
    did: null,
    familyKey: `${metric}:${role === "control" ? "control" : "segments"}`,
  };
}

/** The fixed-weight total of a metric's exposed segments (see liftTable). */
function totalDraft(
  metric: string,
  metricLabel: string,
  parts: readonly Part[],
  exposedSegmentCount: number,
  settings: Settings,
  input: LiftTableInput,
): Draft {
  const withSize = parts.filter((s) => s.segment.audienceSize !== undefined);
  const audience = sum(withSize, (s) => s.segment.audienceSize ?? 0);
  const byAudience = withSize.length === parts.length && audience > 0;
  const respondents = sum(parts, (s) => s.pre.n + s.post.n);
  const weights = parts.map((s) => (byAudience ? (s.segment.audienceSize ?? 0) / audience : (s.pre.n + s.post.n) / respondents));

  const weighted = parts.every((s) => s.pre.weighted && s.post.weighted);
  const wave = (pick: (s: Part) => Sample) => {
    let p = 0;
    let variance = 0;
    let inverseEffectiveN = 0;
    parts.forEach((part, i) => {
      const w = weights[i]!;
      const c = pick(part);
      p += w * shareOf(c);
      variance += w * w * varianceOf(c);
      inverseEffectiveN += (w * w) / effectiveNOf(c);
    });
    return { p, variance, effectiveN: 1 / inverseEffectiveN };
  };
  const pre = wave((s) => s.pre);
  const post = wave((s) => s.post);
  const pooledPre = { x: sum(parts, (s) => s.pre.x), n: sum(parts, (s) => s.pre.n) };
  const pooledPost = { x: sum(parts, (s) => s.post.x), n: sum(parts, (s) => s.post.n) };
  const liftVariance = pre.variance + post.variance;
  const terms: PosteriorTerm[] = parts.flatMap((part, i) => [
    { weight: weights[i]!, ...part.post },
    { weight: -weights[i]!, ...part.pre },
  ]);
  const limits = (w: { p: number; variance: number }, z: number): ShareWithLimits => ({
    p: w.p,
    lower: w.p - z * Math.sqrt(w.variance),
    upper: w.p + z * Math.sqrt(w.variance),
  });
  const clip = (v: number): number => Math.min(1, Math.max(0, v));
  const waveEstimate = (counts: Counts, w: { p: number; variance: number; effectiveN: number }): WaveEstimate => {
    const l = limits(w, settings.z);
    const base = { x: counts.x, n: counts.n, p: w.p, lower: clip(l.lower), upper: clip(l.upper) };
    return weighted ? { ...base, nEff: w.effectiveN, designEffect: counts.n / w.effectiveN } : base;
  };
  const warnings = sampleWarnings(pooledPre.n, pooledPost.n);
  if (!byAudience && withSize.length > 0) warnings.push("audience_size_missing");
  if (parts.length < exposedSegmentCount) warnings.push("incomplete_total");
  return {
    identity: {
      kind: "total",
      metric,
      metricLabel,
      segment: TOTAL_KEY,
      segmentLabel: input.totalLabel ?? "Total",
      role: "exposed",
      totalMethod: byAudience ? "audience" : "sample",
      segments: parts.map((s) => s.segment.key),
    },
    pre: waveEstimate(pooledPre, pre),
    post: waveEstimate(pooledPost, post),
    lift: {
      ...waldMeasure(post.p - pre.p, liftVariance),
      sharesAt: (z) => ({ pre: limits(pre, z), post: limits(post, z) }),
      probabilityOfRise: weighted ? normalProbabilityPositive(post.p - pre.p, liftVariance) : posteriorProbabilityPositive(terms),
      enoughData: Math.min(weighted ? Math.min(pre.effectiveN, post.effectiveN) : Infinity, pooledPre.n, pooledPost.n) >= SMALL_N,
    },
    liftInterval: "wald",
    weighted,
    liftVariance,
    terms,
    harmonicN: 2 / (1 / pre.effectiveN + 1 / post.effectiveN),
    warnings,
    audience: byAudience ? audience : null,
    did: null,
    familyKey: `${metric}:total`,
  };
}

/**
 * Difference-in-differences of an exposed row against the pooled control segments: the row's lift
 * minus the controls' lift, se = sqrt(Var row lift + Var control lift) (unpooled; for a segment
 * this is differenceInDifferences), Wald interval and z-test.
 */
function didMeasure(
  draft: Draft,
  control: { pre: Sample; post: Sample },
  controlSegments: string[],
  settings: Settings,
): NonNullable<Draft["did"]> {
  const c1 = shareOf(control.pre);
  const c2 = shareOf(control.post);
  const controlVariance = varianceOf(control.pre) + varianceOf(control.post);
  const wald = waldMeasure(draft.lift.estimate - (c2 - c1), draft.liftVariance + controlVariance);
  const unadjusted = wald.intervalAt(settings.z);
  const weighted = draft.weighted && control.pre.weighted !== undefined && control.post.weighted !== undefined;
  const trend = weighted
    ? waldMeasure(c2 - c1, controlVariance).intervalAt(settings.z)
    : newcombeDiffUnchecked(control.pre.x, control.pre.n, control.post.x, control.post.n, settings.z);
  const se = Math.sqrt(draft.liftVariance + controlVariance);
  const probabilityOfRise = weighted
    ? normalProbabilityPositive(wald.estimate, draft.liftVariance + controlVariance)
    : posteriorProbabilityPositive([...draft.terms, { weight: -1, ...control.post }, { weight: 1, ...control.pre }]);
  return {
    measure: {
      ...wald,
      sharesAt: draft.lift.sharesAt,
      probabilityOfRise,
      enoughData: draft.lift.enoughData && Math.min(effectiveNOf(control.pre), effectiveNOf(control.post)) >= SMALL_N,
    },
    info: {
      controlSegments,
      estimate: wald.estimate,
      lower: unadjusted.lower,
      upper: unadjusted.upper,
      se,
      z: waldTest(wald.estimate, se).z,
      pValue: wald.pValue,
      marketTrend: { estimate: c2 - c1, lower: trend.lower, upper: trend.upper },
    },
  };
}

function measureOf(draft: Draft): Measure {
  return draft.did?.measure ?? draft.lift;
}

function familiesOf(drafts: readonly Draft[], segments: readonly LiftTableSegment[], settings: Settings): LiftFamily[] {
  const declared = {
    segments: segments.filter((s) => (s.role ?? "exposed") === "exposed").length,
    control: segments.filter((s) => s.role === "control").length,
    total: 1,
  };
  const families = new Map<string, LiftFamily>();
  for (const draft of drafts) {
    const { metric, kind, role } = draft.identity;
    let family = families.get(draft.familyKey);
    if (family === undefined) {
      const familyKind = role === "control" ? "control" : kind === "total" ? "total" : "segments";
      family = {
        key: draft.familyKey,
        metric,
        kind: familyKind,
        measure: draft.did ? "did" : "lift",
        rowIds: [],
        size: declared[familyKind],
        adjustment: settings.adjustment,
        alpha: settings.alpha,
        planningAlpha: planningAlpha(settings.alpha, declared[familyKind]),
      };
      families.set(draft.familyKey, family);
    }
    family.rowIds.push(rowId(draft));
  }
  return [...families.values()];
}

function rowId(draft: Draft): string {
  return `${draft.identity.metric}:${draft.identity.segment}`;
}

function scale(interval: Interval, estimate: number, factor: number): Estimate {
  return { estimate: estimate * factor, lower: interval.lower * factor, upper: interval.upper * factor };
}

function withLevel(estimate: RatioEstimate | null, level: number): LevelEstimate | null {
  return estimate === null ? null : { ...estimate, level };
}

function finishRow(draft: Draft, adjustedPValue: number, familySize: number, settings: Settings, input: LiftTableInput): LiftRow {
  const measure = measureOf(draft);
  const { verdict, verdictInterval, testLevel, z: zVerdict } = decideVerdict(measure, adjustedPValue, familySize, settings.alpha);

  // Ratio lifts describe the row's own change: at the verdict's level when the verdict is about
  // that change, else (difference-in-differences) unadjusted at the table's level.
  const ratioZ = draft.did ? settings.z : zVerdict;
  const ratioLevel = draft.did ? settings.confidenceLevel : 1 - testLevel;
  const shares = draft.lift.sharesAt(ratioZ);

  const rowPlanningAlpha = planningAlpha(settings.alpha, familySize);
  const { liftedUsers, liftedUsersNote, costPerLiftedUser, costNote } = liftedUsersOf(draft, verdict, measure.estimate, verdictInterval, input);
  const liftEstimate = draft.lift.intervalAt(settings.z);
  return {
    id: rowId(draft),
    ...draft.identity,
    pre: draft.pre,
    post: draft.post,
    weighted: draft.weighted,
    absoluteLift: { estimate: draft.lift.estimate, lower: liftEstimate.lower, upper: liftEstimate.upper },
    liftInterval: draft.liftInterval,
    pValue: draft.lift.pValue,
    relativeLift: withLevel(relativeLiftOf(shares.pre, shares.post), ratioLevel),
    headroomLift: withLevel(headroomLiftOf(shares.pre, shares.post), ratioLevel),
    measure: draft.did ? "did" : "lift",
    family: draft.familyKey,
    familySize,
    verdict,
    verdictEstimate: measure.estimate,
    verdictInterval,
    verdictLevel: 1 - testLevel,
    verdictPValue: measure.pValue,
    adjustedPValue,
    probabilityOfRise: measure.probabilityOfRise,
    probabilityDisagrees: probabilityDisagrees(verdict, measure.probabilityOfRise, settings.alpha),
    minimumDetectableLift: minimumDetectableLiftUnchecked(draft.pre.p, draft.harmonicN, normalQuantile(1 - rowPlanningAlpha / 2), PLANNING_POWER),
    planningAlpha: rowPlanningAlpha,
    warnings: draft.warnings,
    liftedUsers,
    liftedUsersNote,
    costPerLiftedUser,
    costNote,
    differenceInDifferences: draft.did?.info ?? null,
    confidenceLevel: settings.confidenceLevel,
    alpha: settings.alpha,
    adjustment: settings.adjustment,
  };
}

/**
 * Lifted users (measure x audience) and cost per lifted user, only for a detected rise; their
 * range comes from the verdict interval, which then lies above 0, so the cost range is finite.
 * The campaign's cost is divided by the lifted users of the rows that stand for the whole campaign:
 * the total, or a metric's only exposed segment.
 */
function liftedUsersOf(
  draft: Draft,
  verdict: Verdict,
  estimate: number,
  interval: Interval,
  input: LiftTableInput,
): Pick<LiftRow, "liftedUsers" | "liftedUsersNote" | "costPerLiftedUser" | "costNote"> {
  const none = (note: LiftedUsersNote) => ({ liftedUsers: null, liftedUsersNote: note, costPerLiftedUser: null, costNote: note });
  if (draft.identity.role === "control") return none("control_segment");
  if (draft.audience === null) return none("no_audience_size");
  if (verdict !== "rise") return none("not_detected");
  const liftedUsers = liftedUsersOfLift(estimate, interval, draft.audience);
  const wholeCampaign =
    draft.identity.kind === "total" ||
    input.segments.filter((s) => (s.role ?? "exposed") === "exposed").length === 1;
  if (!wholeCampaign) return { liftedUsers, liftedUsersNote: null, costPerLiftedUser: null, costNote: "not_whole_campaign" };
  if (input.campaign === undefined) return { liftedUsers, liftedUsersNote: null, costPerLiftedUser: null, costNote: "no_cost" };
  return { liftedUsers, liftedUsersNote: null, costPerLiftedUser: costPerLiftedUserOf(input.campaign.cost, input.campaign.currency, liftedUsers), costNote: null };
}

/**
 * Lifted users: a detected rise (its verdict interval above 0) times the audience it speaks for,
 * ranged by that interval. The one computation behind the lift table's and the trends' figures.
 */
export function liftedUsersOfLift(estimate: number, verdictInterval: Interval, audience: number): Estimate {
  return scale(verdictInterval, estimate, audience);
}

/** Cost per lifted user: the cost over lifted users, ranged cost/upper .. cost/lower (finite: lifted users lie above 0). */
export function costPerLiftedUserOf(cost: number, currency: string, liftedUsers: Estimate): { amount: number; lower: number; upper: number; currency: string } {
  return { amount: cost / liftedUsers.estimate, lower: cost / liftedUsers.upper, upper: cost / liftedUsers.lower, currency };
}
