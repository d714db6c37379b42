import { adjustPValues } from "./adjust.js";
import type { AdjustmentMethod } from "./adjust.js";
import { probabilityOfLiftUnchecked } from "./bayes.js";
import { didUnchecked } from "./did.js";
import { normalCdf, normalQuantile, normalUpperTail } from "./distributions.js";
import { fisherUnchecked } from "./fisher.js";
import { newcombeDiffUnchecked } from "./newcombe.js";
import { minimumDetectableLiftUnchecked } from "./power.js";
import type { Counts } from "./types.js";
import { requireCounts } from "./validate.js";
import { wilsonUnchecked } from "./wilson.js";
import { zTestUnchecked } from "./z-test.js";

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
   * describes). Used as fixed weights for both waves in the stratified total, so the total lift is
   * not confounded by a change in audience composition, and for lifted users. Optional.
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
  /** Default 0.95. Intervals are at this level, verdicts use alpha = 1 - level. */
  confidenceLevel?: ConfidenceLevel;
  /** Multiple-comparison adjustment across all rows of the table; default "holm". */
  adjustment?: AdjustmentMethod;
  /** Campaign cost, for the cost per lifted user on total rows. */
  campaign?: { cost: number; currency: string };
  /** Label of the total rows; default "Total". */
  totalLabel?: string;
}

// ------------------------------------------------------------------------------------------------
// Output
// ------------------------------------------------------------------------------------------------

/** A point estimate with a two-sided interval at the table's confidence level. */
export interface Estimate {
  estimate: number;
  lower: number;
  upper: number;
}

/** One wave of one row. */
export interface WaveEstimate {
  /** Aware respondents and respondents (for a total, summed over its segments). */
  x: number;
  n: number;
  /** Share aware: x/n, or for a stratified total the audience-weighted share. */
  p: number;
  /** Wilson interval, or for a stratified total the Wald interval clipped to [0, 1]. */
  lower: number;
  upper: number;
}

/**
 * Warning codes, each a reason to read a row with care:
 * - small_n: fewer than SMALL_N (30) respondents in either wave;
 * - unbalanced_waves: one wave has more than UNBALANCED_RATIO (2) times the respondents of the other;
 * - audience_size_missing: (total) some segments have an audience size and some do not, so the
 *   total fell back to pooled counts;
 * - incomplete_total: (total) an exposed segment had no responses in a wave and is not in the total.
 */
export type LiftWarningCode = "small_n" | "unbalanced_waves" | "audience_size_missing" | "incomplete_total";

export const SMALL_N = 30;
export const UNBALANCED_RATIO = 2;

/** Power used for the minimum detectable lift. */
export const PLANNING_POWER = 0.8;

export interface RowDifferenceInDifferences extends Estimate {
  /** The control segments whose counts (pooled) are the comparison. */
  controlSegments: string[];
  se: number;
  z: number;
  /** Two-sided. */
  pValue: number;
  /** Adjusted across all difference-in-differences results of the table, same method as the rows. */
  adjustedPValue: number;
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
  /** Total rows only: audience-weighted strata or pooled counts. */
  totalMethod: "stratified" | "pooled" | null;
  /** Segments summarised by a total row (or the row's own segment). */
  segments: string[];

  pre: WaveEstimate;
  post: WaveEstimate;
  /** p2 - p1 with the Newcombe hybrid score interval, or the Wald interval for a stratified total. */
  absoluteLift: Estimate;
  liftInterval: "newcombe" | "wald";
  /** (p2 - p1) / p1; null when p1 = 0. */
  relativeLift: number | null;
  /** (p2 - p1) / (1 - p1): the share of the previously unaware who became aware; null when p1 = 1. */
  headroomLift: number | null;

  /** Fisher's exact test when any expected cell count is below 5, else the pooled z-test. */
  test: "z" | "fisher";
  /** Two-sided, unadjusted. */
  pValue: number;
  /** Adjusted across every row of the table (all metrics, segments and totals). */
  adjustedPValue: number;
  /** By adjustedPValue < alpha. */
  verdict: "rise" | "fall" | "no_change";
  /** P(p2 > p1) with uniform priors; null for a stratified total (no single binomial sample). */
  probabilityOfLift: number | null;
  /** 1 - one-sided p-value of the row's test for a rise (p2 > p1). */
  liftCertainty: number;
  /**
   * Smallest lift detectable with power PLANNING_POWER at this alpha with these sample sizes
   * (harmonic mean of the waves' n; for a stratified total of their effective sizes); null when
   * no rise up to 100% would be detected.
   */
  minimumDetectableLift: number | null;
  warnings: LiftWarningCode[];

  /** absoluteLift x audience size; null without audience sizes, and for control segments. */
  liftedUsers: Estimate | null;
  /**
   * Total rows only: campaign cost / lifted users, with the range cost/upper .. cost/lower
   * (upper null when the lifted-users interval reaches 0); null when lifted users <= 0 or unknown.
   */
  costPerLiftedUser: { amount: number; lower: number; upper: number | null; currency: string } | null;
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

/** Everything a row needs before the table-wide adjustment. */
type DraftRow = Omit<LiftRow, "adjustedPValue" | "verdict" | "differenceInDifferences"> & {
  /** Variance of the lift estimate (unpooled), for difference-in-differences of totals. */
  liftVariance: number;
  /** Counts per wave when the row is a single binomial sample (segments, pooled totals). */
  sample: { pre: Counts; post: Counts } | null;
};

interface Settings {
  z: number;
  alpha: number;
  confidenceLevel: ConfidenceLevel;
  adjustment: AdjustmentMethod;
}

/**
 * The results table of a brand-lift study: for every metric x segment with responses in both
 * compared waves, the shares aware before and after, the lift with its interval, the test and
 * the multiplicity-adjusted verdict, Bayesian probability of a rise, the minimum detectable lift,
 * and (when audience sizes, a cost or a control segment are given) lifted users, cost per lifted
 * user and difference-in-differences; plus a total row per metric over the exposed segments.
 *
 * Methods: see wilson, newcombeDiff, twoProportionZTest, fisherExact, adjustPValues,
 * probabilityOfLift, minimumDetectableLift and differenceInDifferences. The total row is
 * - stratified when every included segment has an audience size: p = sum N_s p_s / sum N_s with
 *   the same weights in both waves, Var = sum (N_s/N)^2 p_s(1 - p_s)/n_s per wave, Wald interval
 *   and z-test on the difference (unpooled); effective n per wave for planning = 1/sum(w_s^2/n_s)
 *   (Kish), the n that gives this variance if all p_s were equal;
 * - pooled otherwise: counts summed over segments and analysed like a segment.
 * A total row is produced only when at least two exposed segments contribute (with one it would
 * repeat that segment's row and count twice in the adjustment).
 *
 * Pure and synchronous; throws RangeError for malformed input (unknown keys, duplicate records,
 * invalid counts, a confidence level outside 80/90/95/99%).
 *
 * @example liftTable({ metrics: [{ key: "aided", label: "aided awareness" }],
 *   segments: [{ key: "subscribers" }], waves: { pre: "pre", post: "post" },
 *   counts: [{ metric: "aided", segment: "subscribers", wave: "pre", x: 310, n: 1000 },
 *            { metric: "aided", segment: "subscribers", wave: "post", x: 380, n: 1000 }] }).rows[0]
 *   // { absoluteLift: { estimate: 0.07, lower: 0.028338934914503705, upper: 0.11132274965099083 },
 *   //   test: "z", pValue: 0.000992284716453784, verdict: "rise", ... }
 *   // (R: prop.test(c(380, 310), c(1000, 1000), correct = FALSE)$p.value = 0.0009922847)
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

  const drafts: DraftRow[] = [];
  const omitted: OmittedRow[] = [];
  for (const metric of metrics) {
    const metricLabel = metric.label ?? metric.key;
    const included: Array<{ segment: LiftTableSegment; pre: Counts; post: Counts }> = [];
    for (const segment of segments) {
      const pre = counts.get(countKey(metric.key, segment.key, input.waves.pre));
      const post = counts.get(countKey(metric.key, segment.key, input.waves.post));
      if (pre === undefined || post === undefined) {
        omitted.push({ metric: metric.key, segment: segment.key, reason: pre === undefined ? "no_pre_responses" : "no_post_responses" });
        continue;
      }
      included.push({ segment, pre, post });
      const role = segment.role ?? "exposed";
      const row = sampleRow(pre, post, settings, {
        kind: "segment",
        metric: metric.key,
        metricLabel,
        segment: segment.key,
        segmentLabel: segment.label ?? segment.key,
        role,
        totalMethod: null,
        segments: [segment.key],
      });
      if (role === "exposed" && segment.audienceSize !== undefined) {
        row.liftedUsers = scale(row.absoluteLift, segment.audienceSize);
      }
      drafts.push(row);
    }
    const exposedIncluded = included.filter((s) => (s.segment.role ?? "exposed") === "exposed");
    const exposedTotal = segments.filter((s) => (s.role ?? "exposed") === "exposed").length;
    if (exposedIncluded.length >= 2) {
      drafts.push(totalRow(metric.key, metricLabel, exposedIncluded, exposedTotal, settings, input));
    }
  }

  // One family for the whole table: every segment and total row of every metric.
  const adjusted = adjustPValues(drafts.map((d) => d.pValue), settings.adjustment);
  const rows: LiftRow[] = drafts.map((draft, i) => {
    const adjustedPValue = adjusted[i]!;
    const { liftVariance: _variance, sample: _sample, ...rest } = draft;
    return {
      ...rest,
      adjustedPValue,
      verdict: adjustedPValue < settings.alpha ? (draft.absoluteLift.estimate > 0 ? "rise" : "fall") : "no_change",
      differenceInDifferences: null,
    };
  });
  attachDifferenceInDifferences(rows, drafts, settings);
  return {
    rows,
    omitted,
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
): Map<string, Counts> {
  if (!Array.isArray(input.counts)) throw new RangeError(`${FN}: counts must be an array`);
  const metricKeys = new Set(metrics.map((m) => m.key));
  const segmentKeys = new Set(segments.map((s) => s.key));
  const index = new Map<string, Counts>();
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
    index.set(key, { x: record.x, n: record.n });
  });
  return index;
}

type RowIdentity = Pick<LiftRow, "kind" | "metric" | "metricLabel" | "segment" | "segmentLabel" | "role" | "totalMethod" | "segments">;

/** A row for one binomial sample per wave: a segment, or a pooled total. */
function sampleRow(pre: Counts, post: Counts, settings: Settings, identity: RowIdentity): DraftRow {
  const p1 = pre.x / pre.n;
  const p2 = post.x / post.n;
  const lift = p2 - p1;
  const interval = newcombeDiffUnchecked(pre.x, pre.n, post.x, post.n, settings.z);
  const fisher = needsExactTest(pre, post);
  let pValue: number;
  let liftCertainty: number;
  if (fisher) {
    pValue = fisherUnchecked(pre.x, pre.n, post.x, post.n, "two-sided");
    liftCertainty = 1 - fisherUnchecked(pre.x, pre.n, post.x, post.n, "greater");
  } else {
    pValue = zTestUnchecked(pre.x, pre.n, post.x, post.n, "two-sided", false).pValue;
    // 1 - P[Z > z] is P[Z <= z]: the "less" p-value, computed without the subtraction.
    liftCertainty = zTestUnchecked(pre.x, pre.n, post.x, post.n, "less", false).pValue;
  }
  // power.prop.test assumes n per wave; Var(p2 - p1) is proportional to 1/n1 + 1/n2 = 2/n_h, so the
  // harmonic mean n_h is the equal-n design with the same variance.
  const harmonicN = 2 / (1 / pre.n + 1 / post.n);
  return {
    id: `${identity.metric}:${identity.segment}`,
    ...identity,
    pre: { x: pre.x, n: pre.n, p: p1, ...wilsonUnchecked(pre.x, pre.n, settings.z) },
    post: { x: post.x, n: post.n, p: p2, ...wilsonUnchecked(post.x, post.n, settings.z) },
    absoluteLift: { estimate: lift, lower: interval.lower, upper: interval.upper },
    liftInterval: "newcombe",
    relativeLift: p1 === 0 ? null : lift / p1,
    headroomLift: p1 === 1 ? null : lift / (1 - p1),
    test: fisher ? "fisher" : "z",
    pValue,
    probabilityOfLift: probabilityOfLiftUnchecked(pre.x, pre.n, post.x, post.n),
    liftCertainty,
    // qnorm(1 - alpha/2) is the interval's critical value settings.z.
    minimumDetectableLift: minimumDetectableLiftUnchecked(p1, harmonicN, settings.z, PLANNING_POWER),
    warnings: sampleWarnings(pre.n, post.n),
    liftedUsers: null,
    costPerLiftedUser: null,
    confidenceLevel: settings.confidenceLevel,
    alpha: settings.alpha,
    adjustment: settings.adjustment,
    liftVariance: (p1 * (1 - p1)) / pre.n + (p2 * (1 - p2)) / post.n,
    sample: { pre, post },
  };
}

/** The usual rule for the chi-squared approximation: every expected count at least 5. */
function needsExactTest(pre: Counts, post: Counts): boolean {
  const pooled = (pre.x + post.x) / (pre.n + post.n);
  const smallest = Math.min(pre.n, post.n) * Math.min(pooled, 1 - pooled);
  return smallest < 5;
}

function sampleWarnings(n1: number, n2: number): LiftWarningCode[] {
  const warnings: LiftWarningCode[] = [];
  if (Math.min(n1, n2) < SMALL_N) warnings.push("small_n");
  if (Math.max(n1, n2) > UNBALANCED_RATIO * Math.min(n1, n2)) warnings.push("unbalanced_waves");
  return warnings;
}

function scale(estimate: Estimate, factor: number): Estimate {
  return { estimate: estimate.estimate * factor, lower: estimate.lower * factor, upper: estimate.upper * factor };
}

function totalRow(
  metric: string,
  metricLabel: string,
  parts: ReadonlyArray<{ segment: LiftTableSegment; pre: Counts; post: Counts }>,
  exposedSegmentCount: number,
  settings: Settings,
  input: LiftTableInput,
): DraftRow {
  const withSize = parts.filter((s) => s.segment.audienceSize !== undefined);
  const audience = withSize.reduce((sum, s) => sum + (s.segment.audienceSize ?? 0), 0);
  const stratified = withSize.length === parts.length && audience > 0;
  const identity: RowIdentity = {
    kind: "total",
    metric,
    metricLabel,
    segment: TOTAL_KEY,
    segmentLabel: input.totalLabel ?? "Total",
    role: "exposed",
    totalMethod: stratified ? "stratified" : "pooled",
    segments: parts.map((s) => s.segment.key),
  };
  const pooledPre = { x: sum(parts, (s) => s.pre.x), n: sum(parts, (s) => s.pre.n) };
  const pooledPost = { x: sum(parts, (s) => s.post.x), n: sum(parts, (s) => s.post.n) };
  const row = stratified
    ? stratifiedRow(parts, audience, pooledPre, pooledPost, settings, identity)
    : sampleRow(pooledPre, pooledPost, settings, identity);
  if (!stratified && withSize.length > 0) row.warnings.push("audience_size_missing");
  if (parts.length < exposedSegmentCount) row.warnings.push("incomplete_total");
  if (stratified) {
    row.liftedUsers = scale(row.absoluteLift, audience);
    if (input.campaign !== undefined && row.liftedUsers.estimate > 0) {
      const { cost, currency } = input.campaign;
      row.costPerLiftedUser = {
        amount: cost / row.liftedUsers.estimate,
        lower: cost / row.liftedUsers.upper,
        upper: row.liftedUsers.lower > 0 ? cost / row.liftedUsers.lower : null,
        currency,
      };
    }
  }
  return row;
}

function sum<T>(items: readonly T[], value: (item: T) => number): number {
  let total = 0;
  for (const item of items) total += value(item);
  return total;
}

/** Audience-weighted total (see liftTable): Wald interval and z-test from the stratified variance. */
function stratifiedRow(
  parts: ReadonlyArray<{ segment: LiftTableSegment; pre: Counts; post: Counts }>,
  audience: number,
  pooledPre: Counts,
  pooledPost: Counts,
  settings: Settings,
  identity: RowIdentity,
): DraftRow {
  const wave = (pick: (s: (typeof parts)[number]) => Counts) => {
    let p = 0;
    let variance = 0;
    let inverseEffectiveN = 0;
    for (const part of parts) {
      const w = (part.segment.audienceSize ?? 0) / audience;
      const c = pick(part);
      const ps = c.x / c.n;
      p += w * ps;
      variance += (w * w * ps * (1 - ps)) / c.n;
      inverseEffectiveN += (w * w) / c.n;
    }
    return { p, variance, effectiveN: 1 / inverseEffectiveN };
  };
  const pre = wave((s) => s.pre);
  const post = wave((s) => s.post);
  const lift = post.p - pre.p;
  const liftVariance = pre.variance + post.variance;
  const se = Math.sqrt(liftVariance);
  let z: number;
  if (se > 0) z = lift / se;
  else z = lift === 0 ? 0 : lift > 0 ? Infinity : -Infinity;
  const clip = (v: number): number => Math.min(1, Math.max(0, v));
  const waveEstimate = (counts: Counts, w: { p: number; variance: number }): WaveEstimate => ({
    x: counts.x,
    n: counts.n,
    p: w.p,
    lower: clip(w.p - settings.z * Math.sqrt(w.variance)),
    upper: clip(w.p + settings.z * Math.sqrt(w.variance)),
  });
  const harmonicN = 2 / (1 / pre.effectiveN + 1 / post.effectiveN);
  return {
    id: `${identity.metric}:${identity.segment}`,
    ...identity,
    pre: waveEstimate(pooledPre, pre),
    post: waveEstimate(pooledPost, post),
    absoluteLift: { estimate: lift, lower: lift - settings.z * se, upper: lift + settings.z * se },
    liftInterval: "wald",
    relativeLift: pre.p === 0 ? null : lift / pre.p,
    headroomLift: pre.p === 1 ? null : lift / (1 - pre.p),
    test: "z",
    pValue: Math.min(1, 2 * normalUpperTail(Math.abs(z))),
    probabilityOfLift: null,
    liftCertainty: normalCdf(z),
    minimumDetectableLift: minimumDetectableLiftUnchecked(pre.p, harmonicN, settings.z, PLANNING_POWER),
    warnings: sampleWarnings(pooledPre.n, pooledPost.n),
    liftedUsers: null,
    costPerLiftedUser: null,
    confidenceLevel: settings.confidenceLevel,
    alpha: settings.alpha,
    adjustment: settings.adjustment,
    liftVariance,
    sample: null,
  };
}

/**
 * Difference-in-differences of every exposed row (segments and totals) against the control
 * segments of the same metric, their counts pooled per wave. Segment rows and pooled totals use
 * differenceInDifferences on counts; a stratified total uses its own lift and variance in the same
 * formula (estimate - control lift, se = sqrt(Var total lift + Var control lift)).
 */
function attachDifferenceInDifferences(rows: LiftRow[], drafts: readonly DraftRow[], settings: Settings): void {
  const controlsByMetric = new Map<string, DraftRow[]>();
  for (const draft of drafts) {
    if (draft.kind === "segment" && draft.role === "control") {
      const list = controlsByMetric.get(draft.metric) ?? [];
      list.push(draft);
      controlsByMetric.set(draft.metric, list);
    }
  }
  const targets: number[] = [];
  const results: Array<Omit<RowDifferenceInDifferences, "adjustedPValue">> = [];
  drafts.forEach((draft, i) => {
    const controls = controlsByMetric.get(draft.metric);
    if (draft.role !== "exposed" || controls === undefined) return;
    const control = {
      pre: { x: sum(controls, (c) => c.sample!.pre.x), n: sum(controls, (c) => c.sample!.pre.n) },
      post: { x: sum(controls, (c) => c.sample!.post.x), n: sum(controls, (c) => c.sample!.post.n) },
    };
    const controlSegments = controls.map((c) => c.segment);
    if (draft.sample !== null) {
      const r = didUnchecked({ exposed: draft.sample, control }, settings.z);
      results.push({ controlSegments, ...r });
    } else {
      const controlP1 = control.pre.x / control.pre.n;
      const controlP2 = control.post.x / control.post.n;
      const controlVariance = (controlP1 * (1 - controlP1)) / control.pre.n + (controlP2 * (1 - controlP2)) / control.post.n;
      const estimate = draft.absoluteLift.estimate - (controlP2 - controlP1);
      const se = Math.sqrt(draft.liftVariance + controlVariance);
      let z: number;
      if (se > 0) z = estimate / se;
      else z = estimate === 0 ? 0 : estimate > 0 ? Infinity : -Infinity;
      results.push({
        controlSegments,
        estimate,
        se,
        z,
        pValue: Math.min(1, 2 * normalUpperTail(Math.abs(z))),
        lower: estimate - settings.z * se,
        upper: estimate + settings.z * se,
      });
    }
    targets.push(i);
  });
  const adjusted = adjustPValues(results.map((r) => r.pValue), settings.adjustment);
  targets.forEach((rowIndex, k) => {
    rows[rowIndex]!.differenceInDifferences = { ...results[k]!, adjustedPValue: adjusted[k]! };
  });
}
