import type { Locale, Wave } from "../../db/schema.js";
import { SMALL_N } from "../../stats/verdict.js";
import { localize } from "../domain/questionnaire.js";
import { formatters, type Translate } from "../i18n/index.js";
import { DEFAULT_MIN_COUNT } from "../quality/themes.js";
import { feedbackThemes, type QuestionThemes } from "../quality/themes-service.js";
import { THEME_SHIFT, type MonthAnswer, type MonthlyReport, type ThemeShift } from "../services/monthly.js";
import type { StudyResults } from "../services/results.js";
import { audienceFormats, audienceLabel, audienceView, type AudienceLabels, type AudienceView } from "./audience.js";
import { numberFormats } from "./results.js";
import { changeView, costView, kpiStatusText, trackingView, type ChangeView, type CostView, type TrackingView } from "./tracking.js";
import { noteView, type NoteView } from "./wave-notes.js";

/**
 * The monthly report for people: each answer as yes / no / not yet with its sentence (segments and
 * metrics named, never keys), the details under it, the trends up to the month (the results page's
 * tables and charts, from the same numbers), the themes of the month and the methods footnote.
 */

export interface AnswerView {
  key: "audience" | "awareness" | "feedback";
  question: string;
  answer: MonthAnswer;
  answerText: string;
  sentence: string;
  /** Further sentences: since the baseline, KPIs, themes that moved. */
  more: string[];
}

export interface ShiftView {
  label: string;
  segment: string;
  before: string;
  now: string;
  examples: string[];
}

export interface AwarenessRowView {
  metric: string;
  segment: string;
  control: boolean;
  vsPrevious: ChangeView | null;
  vsBaseline: ChangeView | null;
}

export interface MonthlyView {
  title: string;
  heading: string;
  period: string;
  answers: AnswerView[];
  audience: { month: AudienceView; sinceBaseline: AudienceView };
  awareness: AwarenessRowView[];
  shifts: { rose: ShiftView[]; fell: ShiftView[] };
  tracking: TrackingView;
  /** The month's themes per open question and segment (the results page's partial). */
  themes: QuestionThemes[];
  methods: { lines: string[]; rules: string[]; bases: { segments: string[]; rows: Array<{ wave: string; cells: string[] }> } | null };
  /** The work of the month's period (the notes of its waves) and, where spend is recorded, its cost per lifted user. */
  monthNotes: { notes: NoteView[]; costs: Array<{ metric: string; segment: string; cost: CostView }> };
}

export interface MonthListItem {
  id: number;
  label: string;
  dates: string;
}

/** A wave's dates in the study's zone: "1 Mar 2027 – 31 Mar 2027", "since …" while open, or "not opened yet". */
export function waveDates(w: Pick<Wave, "openedAt" | "closedAt">, locale: Locale, timeZone: string | null, t: Translate): string {
  const fmt = formatters(locale, timeZone);
  if (!w.openedAt) return t("monthly.list.notOpened");
  if (!w.closedAt) return t("monthly.list.open", { from: fmt.date(w.openedAt) });
  return t("monthly.list.dates", { from: fmt.date(w.openedAt), to: fmt.date(w.closedAt) });
}

/** The reports by month as the study page and the results page list them. */
export function monthList(months: readonly Wave[], locale: Locale, timeZone: string | null, t: Translate): MonthListItem[] {
  return months.map((w) => ({ id: w.id, label: w.label, dates: waveDates(w, locale, timeZone, t) }));
}

export function monthlyView(report: MonthlyReport, results: StudyResults, locale: Locale, t: Translate, options: { hideVerbatims: boolean }): MonthlyView {
  const f = numberFormats(locale);
  const { study } = results;
  const segmentById = new Map(results.segments.map((s) => [s.id, s]));
  const segmentByKey = new Map(results.segments.map((s) => [s.key, s]));
  const segmentName = (s: { label: Record<string, string>; key: string } | undefined, fallback: string) => (s ? localize(s.label, locale, study.defaultLocale) || s.key : fallback);
  const labels: AudienceLabels = {
    segmentLabel: (id) => segmentName(segmentById.get(id), String(id)),
    segmentKey: (id) => segmentById.get(id)?.key ?? "",
  };
  const segmentOfKey = (key: string) => segmentName(segmentByKey.get(key), key);
  const metricOf = (key: string) => results.metricLabels[key] ?? key;
  const answerText = (a: MonthAnswer) => t(`monthly.answers.${a}`);
  const list = (items: string[]) => items.join("; ");
  const dates = (w: Wave) => waveDates(w, locale, study.timeZone, t);

  // 1. The audience over the month, and since the baseline.
  const af = audienceFormats(locale);
  const audience = report.audience;
  const growthItems = (sign: 1 | -1) =>
    audience.month.growth
      .filter((g) => Math.sign(g.change) === sign)
      .map((g) => {
        const label = audienceLabel(g.segmentId, g.measure, labels, t);
        return g.percent === null ? t("monthly.audience.itemNoPercent", { label, start: af.integer(g.start.count), end: af.integer(g.end.count) }) : t("monthly.audience.item", { label, percent: af.percent(g.percent) });
      });
  const grew = list(growthItems(1));
  const shrank = list(growthItems(-1));
  const audienceSentence =
    audience.answer === "not_yet"
      ? t("monthly.audience.notYet")
      : audience.answer === "yes"
        ? t("monthly.audience.yes", { grew })
        : shrank
          ? grew
            ? t("monthly.audience.shrankAndGrew", { shrank, grew })
            : t("monthly.audience.shrank", { shrank })
          : t("monthly.audience.flat");
  const monthAudience = audienceView(audience.month, labels, locale, t);
  const baselineAudience = audienceView(audience.sinceBaseline, labels, locale, t);

  // 2. Awareness against the previous wave (the rule), the baseline and the KPIs (beside it).
  const awareness = report.awareness;
  const rows: AwarenessRowView[] = awareness.changes.map((c) => ({
    metric: metricOf(c.metric),
    segment: segmentOfKey(c.segment),
    control: c.role === "control",
    vsPrevious: changeView(c.vsPrevious, locale, t),
    vsBaseline: changeView(c.vsBaseline, locale, t),
  }));
  const exposed = awareness.changes.filter((c) => c.role === "exposed");
  // One sentence per comparison: since the baseline, then over the month (the same comparison in the first month).
  const comparison = (side: "vsBaseline" | "vsPrevious", scope: "sinceBaseline" | "overMonth", wave: string): string => {
    const named = (verdict: "rise" | "fall") =>
      list(exposed.filter((c) => c[side]?.verdict === verdict).map((c) => t("monthly.awareness.item", { metric: metricOf(c.metric), segment: segmentOfKey(c.segment), lift: f.pp(c[side]!.change.estimate) })));
    const rose = named("rise");
    const fell = named("fall");
    if (fell) return t(rose ? `monthly.awareness.${scope}.fellAndRose` : `monthly.awareness.${scope}.fell`, { wave, fell, rose });
    if (rose) return t(`monthly.awareness.${scope}.rose`, { wave, rose });
    if (!exposed.some((c) => c[side])) return t(`monthly.awareness.${scope}.noData`, { wave });
    const unclear = list(exposed.filter((c) => !c[side] || c[side].verdict === "not_enough_data").map((c) => t("monthly.awareness.itemPlain", { metric: metricOf(c.metric), segment: segmentOfKey(c.segment) })));
    return unclear ? t(`monthly.awareness.${scope}.notYet`, { wave, unclear }) : t(`monthly.awareness.${scope}.flat`, { wave });
  };
  const previousLabel = report.previous.label;
  const firstMonth = report.previous.id === report.baseline.id;
  const awarenessSentence =
    awareness.metrics.length === 0
      ? t("monthly.awareness.noMetric")
      : [comparison("vsBaseline", "sinceBaseline", report.baseline.label), ...(firstMonth ? [] : [comparison("vsPrevious", "overMonth", previousLabel)])].join(" ");
  const awarenessMore: string[] = [];
  awarenessMore.push(
    awareness.kpis.length
      ? t("monthly.awareness.kpis", { list: list(awareness.kpis.map((k) => t("monthly.awareness.kpiItem", { metric: metricOf(k.metric), segment: segmentOfKey(k.segment), status: kpiStatusText(k, locale, t) }))) })
      : t("monthly.awareness.noKpis"),
  );

  // 3. What people think: the month's answers and themes, and the themes that moved.
  const feedback = report.feedback;
  const shiftView = (s: ThemeShift): ShiftView => {
    const side = (x: ThemeShift["month"]) => (x.share === null ? t("monthly.feedback.fewer", { share: f.percent((DEFAULT_MIN_COUNT - 1) / x.answers) }) : f.percent(x.share));
    return { label: s.label, segment: labels.segmentLabel(s.segmentId), before: side(s.previous), now: side(s.month), examples: options.hideVerbatims ? [] : s.examples };
  };
  const rose = feedback.shifts.filter((s) => s.direction === "rose").map(shiftView);
  const fell = feedback.shifts.filter((s) => s.direction === "fell").map(shiftView);
  const feedbackSentence =
    feedback.answer === "no"
      ? t("monthly.feedback.noQuestion")
      : feedback.answer === "yes"
        ? t("monthly.feedback.yes", { count: feedback.answers, answers: f.integer(feedback.answers), themes: f.integer(feedback.themes) })
        : feedback.answers === 0
          ? t("monthly.feedback.notYetNone")
          : t("monthly.feedback.notYetFew", { count: feedback.answers, answers: f.integer(feedback.answers), min: DEFAULT_MIN_COUNT });
  const feedbackMore: string[] = [];
  const shiftText = (s: ShiftView) => t("monthly.feedback.shiftItem", { label: s.label, segment: s.segment, before: s.before, now: s.now });
  if (rose.length || fell.length) {
    const parts = [...(rose.length ? [t("monthly.feedback.rose", { list: rose.map(shiftText).join(", ") })] : []), ...(fell.length ? [t("monthly.feedback.fell", { list: fell.map(shiftText).join(", ") })] : [])];
    feedbackMore.push(t("monthly.feedback.shifts", { previous: previousLabel, list: parts.join("; ") }));
  } else if (feedback.answers > 0) {
    feedbackMore.push(t("monthly.feedback.noShifts", { shift: f.percentWhole(THEME_SHIFT), previous: previousLabel }));
  }
  let themes = feedbackThemes(results.data.themes, { questions: results.questions, waves: [report.month], segments: results.segments, locale, fallback: study.defaultLocale });
  if (options.hideVerbatims) themes = themes.map((q) => ({ ...q, groups: q.groups.map((g) => ({ ...g, summary: { ...g.summary, themes: g.summary.themes.map((theme) => ({ ...theme, examples: [] })) } })) }));
  // On paper as in the main report: the first few themes per group, the rest counted.
  themes = themes.map((q) => ({ ...q, top: Math.min(q.top, 5) }));

  // Trends and KPIs: the results page's view of the numbers cut to the month.
  // Nothing after the month: its trends, KPIs, the notes of waves up to it and the costs of its periods.
  const upTo = new Set(report.waves.map((w) => w.label));
  const notes = results.notes.filter((n) => upTo.has(n.waveLabel));
  const costs = results.costs.filter((c) => report.waves.some((w) => w.id === c.waveId));
  const tracking = trackingView({ ...results, trends: report.trends, kpis: report.kpis, notes, costs, waves: report.waves }, locale, t, { always: true });
  const monthNotes = {
    notes: report.work.notes.map((n) => noteView(n, locale, t)),
    costs: report.work.costs.map((c) => ({ metric: metricOf(c.metric), segment: segmentOfKey(c.segment), cost: costView(c, locale, t) })),
  };

  // Methods footnote.
  const trends = report.trends;
  const lines = [t("monthly.methods.compared", { month: report.month.label, previous: previousLabel, baseline: report.baseline.label })];
  if (trends) {
    lines.push(t("monthly.methods.level", { level: f.percentWhole(trends.confidenceLevel), method: t(`resultsPage.adjustments.${trends.adjustment}`) }));
    lines.push(...(tracking.trends?.family ?? []), t("monthly.methods.family"));
    lines.push(trends.series.some((s) => s.weighted) ? t("monthly.methods.weighted") : (tracking.trends?.weighting ?? t("monthly.methods.unweighted")));
  }
  if (tracking.kpiNote) lines.push(tracking.kpiNote);
  const bases = trends
    ? {
        segments: results.segments.map((s) => segmentName(s, s.key)),
        rows: report.waves
          .filter((w) => trends.waves.includes(String(w.id)))
          .map((w) => ({
            wave: w.label,
            cells: results.segments.map((s) => {
              const ns = trends.series.filter((x) => x.segment === s.key).flatMap((x) => x.points.filter((p) => p.wave === String(w.id) && p.share).map((p) => p.share!.n));
              if (ns.length === 0) return "—";
              const lo = Math.min(...ns);
              const hi = Math.max(...ns);
              return lo === hi ? f.integer(lo) : `${f.integer(lo)}–${f.integer(hi)}`;
            }),
          })),
      }
    : null;
  const rules = [
    t("monthly.methods.ruleAudience"),
    t("monthly.methods.ruleAwareness", { small: SMALL_N }),
    t("monthly.methods.ruleFeedback", { min: DEFAULT_MIN_COUNT, shift: f.percentWhole(THEME_SHIFT) }),
  ];

  return {
    title: t("monthly.title", { month: report.month.label }),
    heading: t("monthly.heading", { month: report.month.label }),
    period: t("monthly.period", {
      month: report.month.label,
      monthDates: dates(report.month),
      previous: previousLabel,
      previousDates: dates(report.previous),
      baseline: report.baseline.label,
      baselineDates: dates(report.baseline),
    }),
    answers: [
      { key: "audience", question: t("monthly.q1"), answer: audience.answer, answerText: answerText(audience.answer), sentence: audienceSentence, more: [] },
      { key: "awareness", question: t("monthly.q2"), answer: awareness.answer, answerText: answerText(awareness.answer), sentence: awarenessSentence, more: awarenessMore },
      { key: "feedback", question: t("monthly.q3"), answer: feedback.answer, answerText: answerText(feedback.answer), sentence: feedbackSentence, more: feedbackMore },
    ],
    audience: { month: monthAudience, sinceBaseline: baselineAudience },
    awareness: rows,
    shifts: { rose, fell },
    tracking,
    themes,
    methods: { lines, rules, bases },
    monthNotes,
  };
}
