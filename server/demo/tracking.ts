import type { Db } from "../../db/client.js";
import type { Locale } from "../../db/schema.js";
import { monthLabel } from "../domain/periods.js";
import { translator } from "../i18n/index.js";
import { createStudyFromDefinition } from "../services/study-setup.js";
import { auditDemo, DEMO, demoDefinition, setUpBefore, writeDemoWaves, type DemoWave } from "./create.js";
import { generateWaves, RESPONDENT_MIX, type DemoMetric, type DemoResponse, type DemoSegment, type WaveDraw } from "./generate.js";
import { DEMO_BRAND, TRACKING_WORK } from "./texts.js";

/**
 * The demo tracking study: the same brand and questionnaire as the campaign demo, a baseline wave
 * and then one wave a month for three months, with KPIs agreed up front. The data are built so
 * that, at the default seed, one KPI is met, one is not met and one cannot be decided yet:
 *
 * - aided awareness among subscribers grows month after month (45 % → 70 %): its KPI, +10 pp by
 *   the third month, is met;
 * - awareness of the advantages among active non-subscribers creeps up (12 % → 15 % by the second
 *   month): its KPI, a level of 30 %, is not met;
 * - aided awareness among the inactive audience moves by about 4 pp: its KPI, +5 pp, straddles
 *   the interval (not yet decided; the planner says how many more respondents would decide it).
 */

/** Baseline, then three months. */
export const TRACKING_WAVES = 4;

/** Generating probabilities per metric, segment and wave (baseline first). */
export const TRACKING_RATES: Record<DemoMetric, Record<DemoSegment, readonly number[]>> = {
  aided_awareness: {
    subscribers: [0.45, 0.55, 0.63, 0.7],
    active_unsubscribed: [0.2, 0.23, 0.25, 0.28],
    inactive: [0.15, 0.16, 0.18, 0.19],
  },
  unaided_awareness: {
    subscribers: [0.25, 0.28, 0.32, 0.36],
    active_unsubscribed: [0.08, 0.09, 0.11, 0.12],
    inactive: [0.05, 0.05, 0.06, 0.06],
  },
  ad_recall: {
    subscribers: [0.3, 0.45, 0.5, 0.55],
    active_unsubscribed: [0.12, 0.2, 0.22, 0.25],
    inactive: [0.08, 0.09, 0.09, 0.1],
  },
  advantage_awareness: {
    subscribers: [0.3, 0.34, 0.38, 0.42],
    active_unsubscribed: [0.12, 0.14, 0.15, 0.17],
    inactive: [0.08, 0.08, 0.09, 0.09],
  },
  favorability: {
    subscribers: [0.55, 0.57, 0.6, 0.62],
    active_unsubscribed: [0.3, 0.31, 0.33, 0.34],
    inactive: [0.24, 0.24, 0.24, 0.25],
  },
  consideration: {
    subscribers: [0.4, 0.42, 0.45, 0.47],
    active_unsubscribed: [0.18, 0.19, 0.21, 0.22],
    inactive: [0.12, 0.12, 0.12, 0.13],
  },
};

/** Of those who recall the ads, the share whose feedback is about the campaign: it grows with the posts. */
const CAMPAIGN_FEEDBACK = [0, 0.25, 0.35, 0.45];

/** Audience sizes per wave: the community grows through the months. */
export const TRACKING_AUDIENCE: ReadonlyArray<Record<DemoSegment, number>> = [
  { subscribers: 48_200, active_unsubscribed: 210_000, inactive: 400_000 },
  { subscribers: 49_900, active_unsubscribed: 211_000, inactive: 400_000 },
  { subscribers: 51_800, active_unsubscribed: 213_000, inactive: 400_000 },
  { subscribers: 53_500, active_unsubscribed: 214_000, inactive: 400_000 },
];

/**
 * Fieldwork periods: the 22nd to the 28th of each of the four months before `now`'s month (UTC),
 * the last of them the month just ended.
 */
export function trackingPeriods(now: Date): Array<{ start: number; end: number }> {
  return Array.from({ length: TRACKING_WAVES }, (_, i) => {
    const month = now.getUTCMonth() - TRACKING_WAVES + i;
    return { start: Date.UTC(now.getUTCFullYear(), month, 22, 9), end: Date.UTC(now.getUTCFullYear(), month, 28, 21) };
  });
}

/** The KPIs agreed before the baseline; `by` is the index of the wave they are due by. */
export const TRACKING_KPIS = [
  { metric: "aided_awareness", segment: "subscribers", lift: 0.1, by: 3, expected: "met" },
  { metric: "advantage_awareness", segment: "active_unsubscribed", level: 0.3, by: 2, expected: "not_met" },
  { metric: "aided_awareness", segment: "inactive", lift: 0.05, by: 3, expected: "not_yet" },
] as const;

const draws: WaveDraw[] = CAMPAIGN_FEEDBACK.map((campaignFeedback, i) => ({
  rate: (m, s) => TRACKING_RATES[m][s][i]!,
  // The aided list's competitor renamed itself after the baseline, as in the campaign demo.
  names: i === 0 ? "pre" : "post",
  campaignFeedback,
  // The same population every month: nothing for weighting to correct between waves.
  mix: RESPONDENT_MIX.pre,
}));

/** Respondents of the four waves, baseline first. Pure: the same seed gives the same data. */
export function generateTrackingData(seed: number, locale: Locale): DemoResponse[][] {
  return generateWaves(seed, locale, draws);
}

export interface TrackingDemoOptions {
  seed: number;
  locale: Locale;
  actorId: number | null;
  now?: Date;
}

export interface TrackingDemoStudy {
  studyId: number;
  /** Baseline first. */
  waveIds: number[];
  labels: string[];
  responses: number;
}

/** Creates the demo tracking study with its four waves, respondents and KPIs. */
export async function createTrackingDemoStudy(db: Db, options: TrackingDemoOptions): Promise<TrackingDemoStudy> {
  const { locale, actorId, seed } = options;
  const t = translator(locale);
  const base = demoDefinition(locale);
  const data = generateTrackingData(seed, locale);
  const periods = trackingPeriods(options.now ?? new Date());
  const months = periods.map((p) => monthLabel(new Date(p.end), locale, "UTC"));
  const labels = months.map((month, i) => (i === 0 ? t("demo.tracking.baseline", { month }) : month));
  const kpis = TRACKING_KPIS.map(({ by, expected: _expected, ...kpi }) => ({ ...kpi, by: labels[by]! }));
  // The work of each month after the baseline, with its spend in the campaign demo's currency.
  const waveNotes = TRACKING_WORK[locale].flatMap((notes, i) =>
    notes.map((n) => ({ wave: labels[i + 1]!, kind: n.kind, text: n.text, ...(n.amount === undefined ? {} : { amount: n.amount, currency: base.currency }) })),
  );
  const definition = { ...base, name: t("demo.tracking.studyName", { brand: DEMO_BRAND }), kpis, waveNotes };
  const waves: DemoWave[] = data.map((responses, i) => ({
    kind: i === 0 ? "pre" : "tracking",
    label: labels[i]!,
    period: periods[i]!,
    audience: TRACKING_AUDIENCE[i]!,
    responses,
  }));
  const setUpAt = setUpBefore(periods[0]!.start);
  const study = await createStudyFromDefinition(db, definition, actorId, { ...DEMO, at: setUpAt });
  const written = await writeDemoWaves(db, study.id, waves, setUpAt);
  await auditDemo(db, study.id, seed, written.responses);
  return { studyId: study.id, waveIds: written.waveIds, labels, responses: written.responses };
}

