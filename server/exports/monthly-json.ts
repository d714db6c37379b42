import type { Locale, Wave } from "../../db/schema.js";
import type { Trends } from "../../stats/index.js";
import { localize } from "../domain/questionnaire.js";
import type { AudienceJson } from "../presenters/audience.js";
import { AWARENESS_METRICS, THEME_SHIFT, type AwarenessChange, type MonthAnswer, type MonthlyReport, type ThemeShift } from "../services/monthly.js";
import type { StudyResults } from "../services/results.js";
import type { KpiResult, PeriodCost } from "../services/tracking.js";
import { waveJson, waveNoteJson, type WaveJson, type WaveNoteJson } from "./results-json.js";

export const MONTHLY_JSON_FORMAT = "brand-lift/monthly@1";

/**
 * The monthly report as JSON: the three answers with what they were decided from, and the
 * results' trends and KPIs cut to the month — the same numbers as the results JSON's `trends` and
 * `kpis` (fractions 0..1, unrounded), only the waves after the month left out.
 */
export interface MonthlyJson {
  format: typeof MONTHLY_JSON_FORMAT;
  generatedAt: string;
  units: string;
  study: { id: number; name: string; brand: string };
  month: WaveJson;
  previous: WaveJson;
  baseline: WaveJson;
  /** The study's waves up to the month, in order. */
  waves: WaveJson[];
  options: { confidence: number; adjustment: string; flagged: boolean; weighted: boolean };
  segments: Array<{ key: string; label: string; role: string }>;
  metrics: Array<{ key: string; label: string }>;
  answers: {
    audience: {
      answer: MonthAnswer;
      /** Segment keys whose audience grew / shrank over the month. */
      grew: string[];
      shrank: string[];
      month: AudienceJson;
      sinceBaseline: AudienceJson;
    };
    awareness: {
      answer: MonthAnswer;
      /** The awareness metrics the answer reads (of AWARENESS_METRICS, those the study measures). */
      metrics: string[];
      /** Per awareness metric and segment: the trends' change of the month against the previous wave and the baseline. */
      changes: AwarenessChange[];
      /** The KPIs due by the month or before (as in `kpis`). */
      kpis: KpiResult[];
    };
    feedback: {
      answer: MonthAnswer;
      questions: number;
      /** Open answers of the month, and themes in them (summed over questions and segments). */
      answers: number;
      themes: number;
      /** Themes that rose or fell since the previous wave; `question` is the question's key, `segment` the segment's. `examples` are answers using the theme. */
      shifts: Array<Omit<ThemeShift, "questionId" | "segmentId"> & { question: string; segment: string }>;
      /** The share a theme must move by to count (a fraction). */
      threshold: number;
    };
  };
  /** The results' trends with the waves after the month left out (see the results JSON). Null without trends. */
  trends: Trends | null;
  /** The results' KPIs due by the month or before. */
  kpis: KpiResult[];
  /** The work of the month's period: its waves' notes, and its costs per lifted user where spend is recorded (as the results JSON's `costs`). */
  work: { notes: WaveNoteJson[]; costs: PeriodCost[] };
  freshness: { computedAt: string; responses: number; current: boolean };
}

export function monthlyJson(report: MonthlyReport, results: StudyResults, locale: Locale, audience: { month: AudienceJson; sinceBaseline: AudienceJson }, generatedAt = new Date()): MonthlyJson {
  const { study } = results;
  const segmentKey = (id: number) => results.segments.find((s) => s.id === id)?.key ?? String(id);
  const questionKey = (id: number) => results.questions.find((q) => q.id === id)?.key ?? String(id);
  const json = (w: Wave) => waveJson(w);
  return {
    format: MONTHLY_JSON_FORMAT,
    generatedAt: generatedAt.toISOString(),
    units: "Shares, interval bounds and changes are fractions 0..1 (0.07 = 7 percentage points); audience percents are fractions (0.096 = +9.6%).",
    study: { id: study.id, name: study.name, brand: study.brand },
    month: json(report.month),
    previous: json(report.previous),
    baseline: json(report.baseline),
    waves: report.waves.map(json),
    options: { confidence: results.options.confidence, adjustment: results.options.adjustment, flagged: results.options.flagged, weighted: results.options.weighted === true },
    segments: results.segments.map((s) => ({ key: s.key, label: localize(s.label, locale, study.defaultLocale) || s.key, role: s.role })),
    metrics: Object.entries(results.metricLabels).map(([key, label]) => ({ key, label })),
    answers: {
      audience: { answer: report.audience.answer, grew: report.audience.grew.map(segmentKey), shrank: report.audience.shrank.map(segmentKey), ...audience },
      awareness: { answer: report.awareness.answer, metrics: report.awareness.metrics.filter((m) => AWARENESS_METRICS.includes(m)), changes: report.awareness.changes, kpis: report.awareness.kpis },
      feedback: {
        answer: report.feedback.answer,
        questions: report.feedback.questions,
        answers: report.feedback.answers,
        themes: report.feedback.themes,
        shifts: report.feedback.shifts.map(({ questionId, segmentId, ...s }) => ({ ...s, question: questionKey(questionId), segment: segmentKey(segmentId) })),
        threshold: THEME_SHIFT,
      },
    },
    trends: report.trends,
    kpis: report.kpis,
    work: { notes: report.work.notes.map((n) => waveNoteJson(n, results.waves)), costs: report.work.costs },
    freshness: { computedAt: results.freshness.computedAt.toISOString(), responses: results.freshness.responses, current: results.freshness.current },
  };
}
