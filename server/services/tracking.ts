import type { Kpi, Wave, WaveNote } from "../../db/schema.js";
import {
  costPerLiftedUserOf,
  evaluateKpis,
  liftedUsersOfLift,
  trends,
  type ConfidenceLevel,
  type Estimate,
  type KpiEvaluation,
  type LiftTableCount,
  type Trends,
  type WeightedShare,
} from "../../stats/index.js";
import type { AdjustmentMethod } from "../../stats/index.js";
import type { SeriesCell } from "../results-snapshots/gather.js";
import { cellKey } from "./weighted-results.js";

/**
 * Trends and KPIs of a study from its snapshot's aggregates (ResultsData.series): no reading of
 * the database here, so they are the same numbers as the lift table of any pair of waves.
 */

/** A KPI as stored, with its segment's key. */
export type StoredKpi = Pick<Kpi, "metric" | "kind" | "target" | "byWave"> & { segmentKey: string };

/** A KPI with its status, as the results carry it (see stats/kpi.ts for the rules). */
export interface KpiResult extends KpiEvaluation {
  metric: string;
  segment: string;
  kind: Kpi["kind"];
  target: number;
  /** The `by` wave's label, and its id when the study has a wave of that label. */
  wave: string;
  waveId: number | null;
}

export interface TrackingInput {
  waves: readonly Wave[];
  segments: ReadonlyArray<{ id: number; key: string; role: "exposed" | "control" }>;
  metrics: readonly string[];
  series: readonly SeriesCell[];
  /** Raked shares per cell (cellKey) when the results are weighted and every wave could be weighted; else null. */
  weightedShares: ReadonlyMap<string, WeightedShare> | null;
  kpis: readonly StoredKpi[];
  confidence: ConfidenceLevel;
  adjustment: AdjustmentMethod;
}

export interface Tracking {
  /** Null with fewer than two waves with responses. */
  trends: Trends | null;
  kpis: KpiResult[];
}

/**
 * The series is the study's waves that have responses, in the study's order; the first is the
 * baseline. Waves without any response yet do not count as comparisons (the family grows as waves
 * come in, and every verdict of the series is adjusted for the comparisons made so far).
 */
export function tracking(input: TrackingInput): Tracking {
  const segmentKey = new Map(input.segments.map((s) => [s.id, s.key]));
  const known = new Set(input.metrics);
  const counts: LiftTableCount[] = [];
  for (const c of input.series) {
    if (c.n === 0 || !known.has(c.metric) || !segmentKey.has(c.segmentId)) continue;
    const weighted = input.weightedShares?.get(cellKey(c.metric, c.segmentId, c.waveId));
    counts.push({ metric: c.metric, segment: segmentKey.get(c.segmentId)!, wave: String(c.waveId), x: c.x, n: c.n, ...(weighted ? { weighted } : {}) });
  }
  // Weighted only when every cell is (as the lift table requires); else the plain shares throughout.
  const consistent: LiftTableCount[] = counts.every((c) => c.weighted) ? counts : counts.map(({ weighted: _w, ...c }) => c);
  const withResponses = new Set(consistent.map((c) => c.wave));
  const series = input.waves.filter((w) => withResponses.has(String(w.id)));
  const result =
    series.length >= 2
      ? trends({
          metrics: input.metrics.map((key) => ({ key })),
          segments: input.segments.map((s) => ({ key: s.key, role: s.role })),
          waves: series.map((w) => String(w.id)),
          counts: consistent,
          confidenceLevel: input.confidence,
          adjustment: input.adjustment,
        })
      : null;

  const cells = new Map(consistent.map((c) => [JSON.stringify([c.metric, c.segment, c.wave]), c]));
  const baseline = series[0];
  const byLabel = new Map<string, Wave>();
  for (const w of input.waves) if (!byLabel.has(w.label)) byLabel.set(w.label, w);
  const evaluations = evaluateKpis({
    kpis: input.kpis.map((k) => ({ metric: k.metric, segment: k.segmentKey, target: { kind: k.kind, value: k.target }, by: byLabel.has(k.byWave) ? String(byLabel.get(k.byWave)!.id) : null })),
    baseline: baseline ? String(baseline.id) : "",
    sample: (metric, segment, wave) => {
      const c = cells.get(JSON.stringify([metric, segment, wave]));
      return c && (c.weighted ? { x: c.x, n: c.n, weighted: c.weighted } : { x: c.x, n: c.n });
    },
    confidenceLevel: input.confidence,
  });
  return {
    trends: result,
    kpis: input.kpis.map((k, i) => ({
      metric: k.metric,
      segment: k.segmentKey,
      kind: k.kind,
      target: k.target,
      wave: k.byWave,
      waveId: byLabel.get(k.byWave)?.id ?? null,
      ...evaluations[i]!,
    })),
  };
}

/** Why a period's cost per lifted user cannot be given (see periodCosts). */
export type PeriodCostNote = "control_segment" | "no_spend" | "mixed_currencies" | "no_data" | "not_detected" | "no_audience_size";

/**
 * Cost per lifted user of one period (the waves after the previous wave of the series up to this
 * one) for a metric × segment: the period's spend over the segment's lifted users, where lifted
 * users are the change against the previous wave times the segment's audience size in this wave
 * (stats liftedUsersOfLift: the lift table's computation), ranged by the change's verdict interval.
 * The whole spend of the period is set against each segment's lifted users.
 */
export interface PeriodCost {
  metric: string;
  segment: string;
  /** The wave ending the period: its label and id. */
  wave: string;
  waveId: number;
  /** The waves whose notes make up the period's spend (a wave without responses adds its period to the next). */
  periodWaveIds: number[];
  /** The sum of the period's notes' amounts; null without any (or in several currencies: see note). */
  spend: { amount: number; currency: string } | null;
  audienceSize: number | null;
  /** The change against the previous wave of the series, with its verdict interval; null without one. */
  change: { estimate: number; lower: number; upper: number; level: number; verdict: string } | null;
  liftedUsers: Estimate | null;
  costPerLiftedUser: { amount: number; lower: number; upper: number; currency: string } | null;
  /** Null exactly when costPerLiftedUser is given; else the first reason it cannot be. */
  note: PeriodCostNote | null;
}

export interface PeriodCostInput {
  trends: Trends | null;
  waves: readonly Wave[];
  segments: ReadonlyArray<{ id: number; key: string; role: "exposed" | "control" }>;
  notes: ReadonlyArray<Pick<WaveNote, "waveLabel" | "amount" | "currency">>;
  /** Audience size per wave id, then segment id (wave_segments.audienceSize). */
  audience: ReadonlyMap<number, ReadonlyMap<number, number | null>>;
}

/** The wave a note belongs to: the first of its label, as for KPIs; undefined when the study has none. */
export function noteWaves(waves: readonly Wave[]): Map<string, Wave> {
  const byLabel = new Map<string, Wave>();
  for (const w of waves) if (!byLabel.has(w.label)) byLabel.set(w.label, w);
  return byLabel;
}

/** Whether a study's costs are worth a column: some period records spend (or spend in several currencies). */
export function recordsSpend(costs: readonly PeriodCost[]): boolean {
  return costs.some((c) => c.spend !== null || c.note === "mixed_currencies");
}

/** The period cost of a series' point, by metric, segment and the wave ending the period. */
export function periodCostOf(costs: readonly PeriodCost[]): (metric: string, segment: string, waveId: number) => PeriodCost | undefined {
  const byPoint = new Map(costs.map((c) => [JSON.stringify([c.metric, c.segment, c.waveId]), c]));
  return (metric, segment, waveId) => byPoint.get(JSON.stringify([metric, segment, waveId]));
}

/** Every period's cost per lifted user, for each series after the baseline (see PeriodCost). Pure. */
export function periodCosts(input: PeriodCostInput): PeriodCost[] {
  if (!input.trends) return [];
  const byLabel = noteWaves(input.waves);
  const amounts = new Map<number, Array<{ amount: number; currency: string }>>();
  for (const n of input.notes) {
    const wave = byLabel.get(n.waveLabel);
    if (!wave || n.amount === null || n.currency === null) continue;
    amounts.set(wave.id, [...(amounts.get(wave.id) ?? []), { amount: n.amount, currency: n.currency }]);
  }
  const waveById = new Map(input.waves.map((w) => [String(w.id), w]));
  const series = input.trends.waves.map((key) => waveById.get(key)!);
  const periods = series.slice(1).map((wave, i) => {
    const previous = series[i]!;
    const waveIds = input.waves.filter((w) => w.position > previous.position && w.position <= wave.position).map((w) => w.id);
    const spent = waveIds.flatMap((id) => amounts.get(id) ?? []);
    const currencies = new Set(spent.map((s) => s.currency));
    const spend = spent.length && currencies.size === 1 ? { amount: spent.reduce((sum, s) => sum + s.amount, 0), currency: spent[0]!.currency } : null;
    return { wave, waveIds, spend, mixed: currencies.size > 1 };
  });
  const segmentOf = new Map(input.segments.map((s) => [s.key, s]));
  const rows: PeriodCost[] = [];
  for (const s of input.trends.series) {
    const segment = segmentOf.get(s.segment);
    if (!segment) continue;
    periods.forEach((period, i) => {
      const point = s.points[i + 1];
      const c = point?.vsPrevious ?? null;
      // An audience of 0 is no audience entered, as in the lift table.
      const size = input.audience.get(period.wave.id)?.get(segment.id) || null;
      const rise = c !== null && c.verdict === "rise";
      const liftedUsers = rise && size !== null && segment.role === "exposed" ? liftedUsersOfLift(c.change.estimate, c.verdictInterval, size) : null;
      const note: PeriodCostNote | null =
        segment.role === "control"
          ? "control_segment"
          : period.mixed
            ? "mixed_currencies"
            : !period.spend
              ? "no_spend"
              : !c
                ? "no_data"
                : !rise
                  ? "not_detected"
                  : size === null
                    ? "no_audience_size"
                    : null;
      rows.push({
        metric: s.metric,
        segment: s.segment,
        wave: period.wave.label,
        waveId: period.wave.id,
        periodWaveIds: period.waveIds,
        spend: period.spend,
        audienceSize: size,
        change: c && { estimate: c.change.estimate, lower: c.verdictInterval.lower, upper: c.verdictInterval.upper, level: c.verdictLevel, verdict: c.verdict },
        liftedUsers,
        costPerLiftedUser: note === null && liftedUsers && period.spend ? costPerLiftedUserOf(period.spend.amount, period.spend.currency, liftedUsers) : null,
        note,
      });
    });
  }
  return rows;
}
