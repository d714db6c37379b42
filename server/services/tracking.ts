import type { Kpi, Wave } from "../../db/schema.js";
import { evaluateKpis, trends, type ConfidenceLevel, type KpiEvaluation, type LiftTableCount, type Trends, type WeightedShare } from "../../stats/index.js";
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
