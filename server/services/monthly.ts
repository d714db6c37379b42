import type { Wave, WaveNote } from "../../db/schema.js";
import type { TrendChange, Trends } from "../../stats/index.js";
import { DEFAULT_MIN_COUNT, type ThemeItem } from "../quality/themes.js";
import { feedbackQuestions } from "../quality/themes-service.js";
import { TRENDS_FROM_WAVES } from "../presenters/tracking.js";
import type { AudienceAnswer } from "./audience-growth.js";
import type { StudyResults } from "./results.js";
import { noteWaves, type KpiResult, type PeriodCost } from "./tracking.js";

/**
 * The monthly report of a tracking study: for a wave after the baseline, the three answers of the
 * SMM brief as yes / no / not yet, each derived by a rule stated here (and in the README), from
 * numbers computed elsewhere — the trends and KPIs of StudyResults (the results JSON's, sliced to
 * the waves up to the month, never recomputed), the audience-growth answer over the month and
 * since the baseline, and the themes of open feedback the snapshot holds per wave and segment.
 * Pure: the route reads the snapshot and the audience series and hands them here.
 */

export type MonthAnswer = "yes" | "no" | "not_yet";
export const MONTH_ANSWERS: readonly MonthAnswer[] = ["yes", "no", "not_yet"];

/** Metrics the awareness question is about: awareness of the brand and of its advantages. */
export const AWARENESS_METRICS: readonly string[] = ["unaided_awareness", "aided_awareness", "advantage_awareness"];

/** A theme rose or fell when its share of a segment's open answers moved by at least this much (a fraction: 5 pp). */
export const THEME_SHIFT = 0.05;

/** Why a wave has no monthly report. */
export type MonthProblem = "not_tracking" | "not_in_study" | "baseline";

/** The waves with a monthly report: every wave after the first, in a study of TRENDS_FROM_WAVES waves or more. */
export function monthWaves(waves: readonly Wave[]): Wave[] {
  return waves.length >= TRENDS_FROM_WAVES ? waves.slice(1) : [];
}

/** The month asked for, or why it has no report (the study's waves in their order). */
export function monthOf(waves: readonly Wave[], waveId: number): Wave | MonthProblem {
  const month = waves.find((w) => w.id === waveId);
  if (!month) return "not_in_study";
  if (waves.length < TRENDS_FROM_WAVES) return "not_tracking";
  if (month.id === waves[0]!.id) return "baseline";
  return month;
}

/** Trends cut to the waves up to and including the month (points of later waves dropped; the numbers are the same objects). */
export function trendsUpTo(trends: Trends, waves: readonly Wave[], month: Wave): Trends {
  const shown = new Set(waves.filter((w) => w.position <= month.position).map((w) => String(w.id)));
  const keep = trends.waves.filter((w) => shown.has(w));
  return { ...trends, waves: keep, series: trends.series.map((s) => ({ ...s, points: s.points.filter((p) => shown.has(p.wave)) })) };
}

/** KPIs due by the month or before it (their `by` wave is a wave of the study up to the month). */
export function kpisDueBy(kpis: readonly KpiResult[], waves: readonly Wave[], month: Wave): KpiResult[] {
  const position = new Map(waves.map((w) => [w.id, w.position]));
  return kpis.filter((k) => k.waveId !== null && (position.get(k.waveId) ?? Infinity) <= month.position);
}

// ---------------------------------------------------------------- 1. has the audience grown?

export interface AudienceAnswerOfMonth {
  answer: MonthAnswer;
  /** Since the previous wave (its opening to this wave's closing) and since the baseline. */
  month: AudienceAnswer;
  sinceBaseline: AudienceAnswer;
  /** Segments (ids) whose audience grew / shrank over the month, in any measure. */
  grew: number[];
  shrank: number[];
}

/**
 * Rule: "yes" when at least one segment's audience (a measured series or the sizes typed per wave)
 * grew over the month and none shrank; "no" when some segment's shrank, or none changed; "not
 * yet" when nothing can be compared over the month (fewer than two counts in it).
 */
export function audienceAnswer(month: AudienceAnswer, sinceBaseline: AudienceAnswer): AudienceAnswerOfMonth {
  const grew = [...new Set(month.growth.filter((g) => g.change > 0).map((g) => g.segmentId))];
  const shrank = [...new Set(month.growth.filter((g) => g.change < 0).map((g) => g.segmentId))];
  const answer: MonthAnswer = month.growth.length === 0 ? "not_yet" : shrank.length === 0 && grew.length > 0 ? "yes" : "no";
  return { answer, month, sinceBaseline, grew, shrank };
}

// ---------------------------------------------------------------- 2. is awareness growing?

export interface AwarenessChange {
  metric: string;
  segment: string;
  role: "exposed" | "control";
  vsPrevious: TrendChange | null;
  vsBaseline: TrendChange | null;
}

export interface AwarenessAnswer {
  answer: MonthAnswer;
  /** The awareness metrics of the study (AWARENESS_METRICS it measures). */
  metrics: string[];
  /** Every awareness metric × segment at the month, control segments too (the rule reads the exposed ones). */
  changes: AwarenessChange[];
  /** KPIs due by this month or before, with their statuses. */
  kpis: KpiResult[];
}

/**
 * Rule, over the awareness metrics × exposed segments, each one's changes against the baseline and
 * against the previous wave with their verdicts (the trends' verdicts, adjusted for the series'
 * family). "Growing" is read over the whole series, not the month alone: a monthly step is small
 * beside the interval a month's sample gives, so a month without a detectable change says little
 * when awareness stands well above the baseline.
 * - "yes": at least one rose (against the baseline or the previous wave), none fell against either;
 * - "no": at least one fell against either, or every one has a verdict of no change against both
 *   (enough respondents, no detectable change);
 * - "not yet": otherwise — nothing rose or fell and some change has too few respondents or no data
 *   (or the study measures no awareness metric).
 * The KPI statuses are stated beside it, not part of the rule.
 */
export function awarenessAnswer(trends: Trends | null, month: Wave, metrics: readonly string[], kpis: KpiResult[]): AwarenessAnswer {
  const measured = AWARENESS_METRICS.filter((m) => metrics.includes(m));
  const key = String(month.id);
  const changes: AwarenessChange[] = [];
  for (const s of trends?.series ?? []) {
    if (!measured.includes(s.metric)) continue;
    const point = s.points.find((p) => p.wave === key);
    changes.push({ metric: s.metric, segment: s.segment, role: s.role, vsPrevious: point?.vsPrevious ?? null, vsBaseline: point?.vsBaseline ?? null });
  }
  const exposed = changes.filter((c) => c.role === "exposed");
  const verdicts = exposed.flatMap((c) => [c.vsPrevious?.verdict ?? null, c.vsBaseline?.verdict ?? null]);
  let answer: MonthAnswer = "not_yet";
  if (verdicts.includes("fall")) answer = "no";
  else if (verdicts.includes("rise")) answer = "yes";
  else if (verdicts.length > 0 && verdicts.every((v) => v === "no_change")) answer = "no";
  return { answer, metrics: measured, changes, kpis };
}

// ---------------------------------------------------------------- 3. do we know what people think?

export interface ThemeSide {
  /** Answers of the segment to the question in the wave. */
  answers: number;
  /** The theme's answers and share; null when it is not among the wave's themes (fewer than minCount answers used it). */
  count: number | null;
  share: number | null;
}

export interface ThemeShift {
  questionId: number;
  segmentId: number;
  /** The theme's stems (what is counted, the same in every wave) and its label in this month (else in the previous wave). */
  key: string;
  label: string;
  direction: "rose" | "fell";
  previous: ThemeSide;
  month: ThemeSide;
  /** The change of share counted against the bound of a side the theme is missing from: at least this much. */
  change: number;
  /** Up to three answers using it, from the wave where it is more common. */
  examples: string[];
}

export interface FeedbackAnswer {
  answer: MonthAnswer;
  /** Open feedback questions of the questionnaire. */
  questions: number;
  /** Open answers in the month, and themes found in them (over questions and segments). */
  answers: number;
  themes: number;
  shifts: ThemeShift[];
}

type ThemeGroupLike = { questionId: number; waveId: number; segmentId: number; summary: { answers: number; themes: ThemeItem[] } };

/**
 * Themes that rose or fell between the previous wave and the month, per open question and
 * segment, with both waves answered. A theme missing from a wave's list was used by fewer than
 * minCount answers there: its share is taken at that bound ((minCount − 1) / answers), the side
 * that makes the change smallest, so a theme is never called risen or fallen by what the list
 * leaves out. Rose: the share grew by THEME_SHIFT or more and it is a theme of the month; fell:
 * it dropped by THEME_SHIFT or more and it was a theme of the previous wave. Descriptive, not a
 * test. Largest changes first.
 */
export function themeShifts(groups: readonly ThemeGroupLike[], questionIds: readonly number[], previous: Wave, month: Wave, minCount = DEFAULT_MIN_COUNT): ThemeShift[] {
  const shifts: ThemeShift[] = [];
  const find = (questionId: number, waveId: number, segmentId: number) => groups.find((g) => g.questionId === questionId && g.waveId === waveId && g.segmentId === segmentId);
  for (const questionId of questionIds) {
    const segments = [...new Set(groups.filter((g) => g.questionId === questionId && g.waveId === month.id).map((g) => g.segmentId))];
    for (const segmentId of segments) {
      const now = find(questionId, month.id, segmentId);
      const before = find(questionId, previous.id, segmentId);
      if (!now || !before || now.summary.answers === 0 || before.summary.answers === 0) continue;
      const bound = (answers: number) => (minCount - 1) / answers;
      const keys = new Set([...now.summary.themes, ...before.summary.themes].map((t) => t.key));
      for (const key of keys) {
        const a = before.summary.themes.find((t) => t.key === key);
        const b = now.summary.themes.find((t) => t.key === key);
        const side = (answers: number, t: ThemeItem | undefined): ThemeSide => ({ answers, count: t?.count ?? null, share: t?.share ?? null });
        const rise = b ? b.share - (a ? a.share : bound(before.summary.answers)) : -Infinity;
        const fall = a ? a.share - (b ? b.share : bound(now.summary.answers)) : -Infinity;
        const direction = rise >= THEME_SHIFT - 1e-12 ? "rose" : fall >= THEME_SHIFT - 1e-12 ? "fell" : null;
        if (!direction) continue;
        const shown = direction === "rose" ? b! : a!;
        shifts.push({
          questionId,
          segmentId,
          key,
          label: (b ?? a)!.label,
          direction,
          previous: side(before.summary.answers, a),
          month: side(now.summary.answers, b),
          change: direction === "rose" ? rise : -fall,
          examples: shown.examples,
        });
      }
    }
  }
  return shifts.sort((x, y) => Math.abs(y.change) - Math.abs(x.change) || (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
}

/**
 * Rule: "yes" when the month's open answers have at least one theme (a phrase at least minCount
 * answers share) in some segment; "not yet" when the questionnaire asks an open question but the
 * month has no answers to it, or none that share a theme yet; "no" when the questionnaire asks no
 * open question (nothing can tell what people think). Themes that rose or fell are stated beside it.
 */
export function feedbackAnswer(results: Pick<StudyResults, "questions" | "data">, previous: Wave, month: Wave): FeedbackAnswer {
  const questionIds = feedbackQuestions(results.questions).map((q) => q.id);
  const groups = results.data.themes.filter((g) => questionIds.includes(g.questionId));
  const monthGroups = groups.filter((g) => g.waveId === month.id);
  const answers = monthGroups.reduce((n, g) => n + g.summary.answers, 0);
  const themes = monthGroups.reduce((n, g) => n + g.summary.total, 0);
  const answer: MonthAnswer = questionIds.length === 0 ? "no" : themes > 0 ? "yes" : "not_yet";
  return { answer, questions: questionIds.length, answers, themes, shifts: themeShifts(groups, questionIds, previous, month) };
}

// ---------------------------------------------------------------- the report

export interface MonthlyReport {
  month: Wave;
  previous: Wave;
  baseline: Wave;
  /** The study's waves from the first to the month: nothing later. */
  waves: Wave[];
  /** The results' trends up to the month; null when the results have none (fewer than two waves with responses). */
  trends: Trends | null;
  /** The results' KPIs due by the month or before. */
  kpis: KpiResult[];
  audience: AudienceAnswerOfMonth;
  awareness: AwarenessAnswer;
  feedback: FeedbackAnswer;
  work: MonthWork;
}

export interface MonthWork {
  notes: WaveNote[];
  costs: PeriodCost[];
}

/** The previous wave of the month in the study's order (the baseline for the first month). */
export function previousWave(waves: readonly Wave[], month: Wave): Wave {
  const before = waves.filter((w) => w.position < month.position);
  return before[before.length - 1] ?? waves[0]!;
}

/**
 * The work of the month's period: the notes of its waves (those after the previous wave, up to the
 * month; a note belongs to the first wave of its label) and the results' costs per lifted user of
 * the period ending at the month, where spend is recorded (the same PeriodCost the results JSON has).
 */
export function workOfMonth(results: Pick<StudyResults, "waves" | "notes" | "costs">, previous: Wave, month: Wave): MonthWork {
  const owner = noteWaves(results.waves);
  const notes = results.notes.filter((n) => {
    const wave = owner.get(n.waveLabel);
    return wave !== undefined && wave.position > previous.position && wave.position <= month.position;
  });
  return { notes, costs: results.costs.filter((c) => c.waveId === month.id && c.spend !== null) };
}

export function monthlyReport(results: StudyResults, month: Wave, audience: { month: AudienceAnswer; sinceBaseline: AudienceAnswer }): MonthlyReport {
  const waves = results.waves.filter((w) => w.position <= month.position);
  const previous = previousWave(results.waves, month);
  const trends = results.trends && trendsUpTo(results.trends, results.waves, month);
  const kpis = kpisDueBy(results.kpis, results.waves, month);
  return {
    work: workOfMonth(results, previous, month),
    month,
    previous,
    baseline: waves[0]!,
    waves,
    trends,
    kpis,
    audience: audienceAnswer(audience.month, audience.sinceBaseline),
    awareness: awarenessAnswer(trends, month, Object.keys(results.metricLabels), kpis),
    feedback: feedbackAnswer(results, previous, month),
  };
}
