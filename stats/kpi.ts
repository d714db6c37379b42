import { CONFIDENCE_LEVELS, PLANNING_POWER, segmentMeasure, segmentWave, weightedSegmentMeasure, type ConfidenceLevel, type Sample } from "./lift-table.js";
import { sampleSizeTwoProportions } from "./power.js";
import type { Interval } from "./types.js";
import { criticalValue, planningAlpha } from "./verdict.js";

/**
 * KPIs agreed up front: per metric and segment, a target lift against the baseline or a target
 * level of the share, and the wave by which it should be reached. A KPI's status is read off an
 * interval of that wave, as a verdict is read off its interval:
 * - met: the interval lies at or above the target (its lower bound >= target);
 * - not_met: it lies wholly below the target (upper bound < target);
 * - not_yet: it contains the target with room on both sides, or touches it from below (upper
 *   bound = target: the target itself is still plausible, and reaching it counts as met);
 * - wave_missing: no wave of the study has the KPI's `by` label (yet);
 * - no_data: the wave exists but the segment has no responses on the metric in it (or, for a
 *   lift, in the baseline; or the `by` wave is the baseline itself, which has no change).
 *
 * The interval is at the study's confidence level, Bonferroni-adjusted over the study's KPIs
 * (each at alpha / k, the planning alpha of a family of k): a lift's is the change against the
 * baseline (Newcombe's, or Wald of raked shares when weighted: the trend's measure), a level's the
 * share's (Wilson, or Wald when weighted).
 */
export type KpiStatus = "met" | "not_met" | "not_yet" | "wave_missing" | "no_data";
export const KPI_STATUSES: readonly KpiStatus[] = ["met", "not_met", "not_yet", "wave_missing", "no_data"];

export type KpiTarget = { kind: "lift"; value: number } | { kind: "level"; value: number };

/** The status read off an interval: see above. Exact at the bounds. */
export function kpiStatusOf(interval: Interval, target: number): "met" | "not_met" | "not_yet" {
  if (interval.lower >= target) return "met";
  if (interval.upper < target) return "not_met";
  return "not_yet";
}

export interface KpiInput {
  metric: string;
  segment: string;
  target: KpiTarget;
  /** Key of the `by` wave, or null when the study has no wave with its label. */
  by: string | null;
}

export interface KpiEvaluation {
  status: KpiStatus;
  /** The lift against the baseline or the level, with the interval the status was read off. */
  estimate: number | null;
  interval: Interval | null;
  /** Coverage of the interval: 1 - alpha / k for k KPIs. */
  intervalLevel: number;
  /** The share the target stands for in the `by` wave: the level, or the baseline share + lift. */
  targetShare: number | null;
  /** Respondents in the `by` wave (its base on the metric and segment). */
  respondents: number | null;
  /**
   * not_yet only: respondents per wave the planner asks for to tell the observed share from the
   * target share (power.prop.test at alpha / k, power 0.8: the planner's two-sample formula, on
   * the safe side for a level, which is one sample against a fixed target); null when the
   * estimate sits on the target, where no sample size can decide.
   */
  respondentsNeeded: number | null;
  /**
   * wave_missing, or no_data while the `by` wave has no responses yet: respondents per segment the
   * `by` wave needs to tell the target share from the baseline's share, were the share to stay
   * where it is (the same formula and level as respondentsNeeded); null without a baseline sample,
   * or when the baseline's share is the target share. Null for every other status.
   */
  plannedRespondents: number | null;
}

export interface KpiEvaluationInput {
  kpis: readonly KpiInput[];
  /** Key of the baseline wave. */
  baseline: string;
  /** A sample of metric × segment × wave, undefined without responses. */
  sample: (metric: string, segment: string, wave: string) => Sample | undefined;
  confidenceLevel?: ConfidenceLevel;
}

/** Each KPI's status (see above), in input order. Pure. */
export function evaluateKpis(input: KpiEvaluationInput): KpiEvaluation[] {
  const confidenceLevel = input.confidenceLevel ?? 0.95;
  if (!CONFIDENCE_LEVELS.includes(confidenceLevel)) throw new RangeError(`evaluateKpis: confidenceLevel must be one of 0.8, 0.9, 0.95, 0.99, got ${String(confidenceLevel)}`);
  const alpha = Math.round((1 - confidenceLevel) * 1e12) / 1e12;
  const level = planningAlpha(alpha, input.kpis.length);
  const z = criticalValue(level);
  return input.kpis.map((kpi) => {
    const none = (status: KpiStatus, respondents: number | null = null): KpiEvaluation => ({
      status,
      estimate: null,
      interval: null,
      intervalLevel: 1 - level,
      targetShare: null,
      respondents,
      respondentsNeeded: null,
      plannedRespondents: null,
    });
    // A wave still to run: planned from the baseline's share, as if it stayed there.
    const planned = (status: KpiStatus): KpiEvaluation => {
      const pre = kpi.by === input.baseline ? undefined : input.sample(kpi.metric, kpi.segment, input.baseline);
      if (!pre) return none(status);
      const baseline = segmentWave(pre, z).p;
      const targetShare = kpi.target.kind === "level" ? kpi.target.value : Math.min(1, baseline + kpi.target.value);
      const plannedRespondents = baseline !== targetShare ? Math.ceil(sampleSizeTwoProportions({ p1: targetShare, p2: baseline, alpha: level, power: PLANNING_POWER })) : null;
      return { ...none(status), targetShare, plannedRespondents };
    };
    if (kpi.by === null) return planned("wave_missing");
    const post = input.sample(kpi.metric, kpi.segment, kpi.by);
    if (!post) return planned("no_data");
    let estimate: number;
    let interval: Interval;
    let targetShare: number;
    let observed: number;
    if (kpi.target.kind === "level") {
      const wave = segmentWave(post, z);
      estimate = wave.p;
      interval = { lower: wave.lower, upper: wave.upper };
      targetShare = kpi.target.value;
      observed = wave.p;
    } else {
      const pre = input.sample(kpi.metric, kpi.segment, input.baseline);
      if (!pre || kpi.by === input.baseline) return none("no_data", post.n);
      const measure = pre.weighted && post.weighted ? weightedSegmentMeasure(pre, post) : segmentMeasure(pre, post);
      estimate = measure.estimate;
      interval = measure.intervalAt(z);
      const shares = measure.sharesAt(z);
      targetShare = Math.min(1, shares.pre.p + kpi.target.value);
      observed = shares.post.p;
    }
    const status = kpiStatusOf(interval, kpi.target.value);
    const respondentsNeeded =
      status === "not_yet" && observed !== targetShare
        ? Math.ceil(sampleSizeTwoProportions({ p1: targetShare, p2: observed, alpha: level, power: PLANNING_POWER }))
        : null;
    return { status, estimate, interval, intervalLevel: 1 - level, targetShare, respondents: post.n, respondentsNeeded, plannedRespondents: null };
  });
}
