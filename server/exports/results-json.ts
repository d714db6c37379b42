import type { Locale, Wave, WaveNote } from "../../db/schema.js";
import type { LiftTable, LiftTableCount } from "../../stats/index.js";
import { localize } from "../domain/questionnaire.js";
import type { AudienceJson } from "../presenters/audience.js";
import type { CompetitorCheck } from "../services/competitors.js";
import type { MetricBaseCell, StudyResults } from "../services/results.js";

export const RESULTS_JSON_FORMAT = "brand-lift/results@1";

export interface ResultsJson {
  format: typeof RESULTS_JSON_FORMAT;
  generatedAt: string;
  /** How to read the numbers. */
  units: string;
  study: { id: number; name: string; brand: string; category: string | null; defaultLocale: Locale };
  waves: { pre: WaveJson; post: WaveJson; all: WaveJson[] };
  options: { confidence: number; adjustment: string; flagged: boolean; weighted: boolean };
  /** Weighting to the segments' population margins: null when the study has none (see StudyResults.weighting). */
  weighting: StudyResults["weighting"];
  segments: Array<{ id: number; key: string; label: string; role: string }>;
  metrics: Array<{ key: string; label: string; question: string }>;
  respondents: Array<{ wave: number; segment: string; n: number; excluded: number; flagged: number }>;
  /** The counts given to liftTable; `wave` is the wave id as a string, as in table.waves. */
  counts: LiftTableCount[];
  /** Per metric, wave and segment: the base n and who was left out of it, and why. */
  bases: MetricBaseCell[];
  /** stats/liftTable's output as it is. */
  table: LiftTable;
  /**
   * stats/trends' output as it is: per metric × segment, each wave's share with its interval and its
   * change against the previous wave and the baseline with verdicts; `familySize` says how many
   * comparisons each verdict is adjusted for. Wave keys are wave ids as strings, as in `counts`;
   * the waves are those with responses, in the study's order, the first the baseline. Null with
   * fewer than two such waves.
   */
  trends: StudyResults["trends"];
  /**
   * The study's KPIs: `kind` "lift" (against the baseline) or "level", `target` a fraction, `wave`
   * the label of the wave it is due by (`waveId` null while the study has none of that label),
   * `status` "met" | "not_met" | "not_yet" (with `respondentsNeeded` per wave to decide) |
   * "wave_missing" | "no_data", and the estimate and interval it was read off.
   */
  kpis: StudyResults["kpis"];
  /**
   * Notes on the work of each wave's period, by wave label (`waveId`: the first wave of that label,
   * null while the study has none): `kind` "campaign" | "spend" | "post", `date` YYYY-MM-DD or
   * null, `amount` with its ISO `currency` or both null.
   */
  waveNotes: WaveNoteJson[];
  /**
   * Per period (the waves after the previous wave of the trends up to `waveId`) and metric ×
   * segment: the period's `spend` (sum of its notes' amounts), the segment's `audienceSize`, the
   * `change` against the previous wave with its verdict interval, `liftedUsers` (change ×
   * audience, ranged by that interval) and `costPerLiftedUser` (spend ÷ lifted users, ranged);
   * `note` says why there is no cost: "control_segment", "no_spend", "mixed_currencies", "no_data",
   * "not_detected" (no detected rise: lift not positive or its interval includes 0) or
   * "no_audience_size".
   */
  costs: StudyResults["costs"];
  /** Competitors as a check: each brand's share per segment and wave, the brand's lift net of the average competitor. */
  competitors: CompetitorCheck[];
  /** "Is the audience growing?": per segment and measure, start and end counts over the study's period, change, percent, and the growth before the campaign; null when not computed. */
  audience: AudienceJson | null;
  /** When and from how many completed responses of the compared waves these numbers were computed; `current` false: the data changed since and they are being recomputed. */
  freshness: { computedAt: string; responses: number; current: boolean };
}

export interface WaveJson {
  id: number;
  kind: Wave["kind"];
  label: string;
  status: Wave["status"];
  openedAt: string | null;
  closedAt: string | null;
}

export const waveJson = (w: Wave): WaveJson => ({
  id: w.id,
  kind: w.kind,
  label: w.label,
  status: w.status,
  openedAt: w.openedAt?.toISOString() ?? null,
  closedAt: w.closedAt?.toISOString() ?? null,
});

/**
 * The results as JSON: the LiftTable exactly as stats/ computed it (unrounded; shares and lifts
 * as fractions 0..1), with the study, the compared waves, the options and the counts behind it,
 * so a reader can recompute every row. Labels are in the reader's language.
 */
export interface WaveNoteJson {
  id: number;
  wave: string;
  waveId: number | null;
  kind: string;
  text: string;
  date: string | null;
  amount: number | null;
  currency: string | null;
}

/** A wave note as the results and monthly JSON give it: the wave by label, and its id when a wave has that label. */
export function waveNoteJson(n: WaveNote, waves: readonly Pick<Wave, "id" | "label">[]): WaveNoteJson {
  return { id: n.id, wave: n.waveLabel, waveId: waves.find((w) => w.label === n.waveLabel)?.id ?? null, kind: n.kind, text: n.text, date: n.date, amount: n.amount, currency: n.currency };
}

export function resultsJson(results: StudyResults, locale: Locale, generatedAt = new Date(), audience: AudienceJson | null = null): ResultsJson {
  const { study } = results;
  const segmentKey = new Map(results.segments.map((s) => [s.id, s.key]));
  return {
    format: RESULTS_JSON_FORMAT,
    generatedAt: generatedAt.toISOString(),
    units: "Shares, interval bounds, absolute lifts and minimumDetectableLift are fractions 0..1 (0.07 = 7 percentage points); relativeLift and headroomLift are fractions (0.25 = +25%).",
    study: { id: study.id, name: study.name, brand: study.brand, category: study.category, defaultLocale: study.defaultLocale },
    waves: { pre: waveJson(results.pre), post: waveJson(results.post), all: results.waves.map(waveJson) },
    options: { confidence: results.options.confidence, adjustment: results.options.adjustment, flagged: results.options.flagged, weighted: results.options.weighted === true },
    weighting: results.weighting,
    segments: results.segments.map((s) => ({ id: s.id, key: s.key, label: localize(s.label, locale, study.defaultLocale) || s.key, role: s.role })),
    metrics: Object.entries(results.metricLabels).map(([key, label]) => {
      const question = results.questions.find((q) => q.metricName === key);
      return { key, label, question: question?.key ?? "" };
    }),
    respondents: results.respondents.map((r) => ({
      wave: r.waveId,
      segment: segmentKey.get(r.segmentId) ?? String(r.segmentId),
      n: r.n,
      excluded: r.excluded,
      flagged: r.flagged,
    })),
    counts: results.counts,
    bases: results.bases,
    table: results.table,
    trends: results.trends,
    kpis: results.kpis,
    waveNotes: results.notes.map((n) => waveNoteJson(n, results.waves)),
    costs: results.costs,
    competitors: results.competitors,
    audience,
    freshness: { computedAt: results.freshness.computedAt.toISOString(), responses: results.freshness.responses, current: results.freshness.current },
  };
}
