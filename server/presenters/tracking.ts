import type { Locale } from "../../db/schema.js";
import type { TrendChange, TrendSeries } from "../../stats/index.js";
import { localize } from "../domain/questionnaire.js";
import type { Translate } from "../i18n/index.js";
import type { StudyResults } from "../services/results.js";
import type { KpiResult } from "../services/tracking.js";
import { trendLine } from "./charts.js";
import { numberFormats, verdictText } from "./results.js";

/**
 * Trends and KPI statuses as the results page and the report show them: every number from the
 * assembled results (StudyResults.trends / .kpis, the JSON's numbers), formatted for the reader;
 * verdicts worded by verdictText, as the lift table words them.
 */

/** Trends are shown from this many waves with responses (with two, the lift table says it all), or with KPIs. */
export const TRENDS_FROM_WAVES = 3;

export interface ChangeView {
  verdict: string;
  /** The verdict's key, for the row's class. */
  verdictKey: TrendChange["verdict"];
  lift: string;
  interval: string;
  level: string;
}

export interface TrendRowView {
  waveId: number;
  wave: string;
  baseline: boolean;
  /** "34.5 %" and "[28.1 %; 41.0 %]"; null without responses. */
  share: { p: string; interval: string } | null;
  vsPrevious: ChangeView | null;
  vsBaseline: ChangeView | null;
}

export interface TrendSeriesView {
  metric: string;
  segment: string;
  /** For links and ids: the position of the series, never shown. */
  anchor: string;
  rows: TrendRowView[];
  chart: string;
}

export interface TrendsView {
  /** Sentences stating each family's size: "verdicts account for N comparisons". */
  family: string[];
  /** Whether the shares are weighted, when the results are: null when nothing is weighted. */
  weighting: string | null;
  metrics: Array<{ label: string; series: TrendSeriesView[] }>;
}

export interface KpiView {
  metric: string;
  segment: string;
  target: string;
  /** The lift or level now, with the interval the status was read off; "—" without one. */
  observed: string;
  observedInterval: string;
  observedLevel: string;
  status: string;
  statusKey: KpiResult["status"];
  /** not_yet: respondents per segment in a wave that would decide it (the planner's proposal); else null. */
  needed: number | null;
  /** Respondents in the target wave so far. */
  respondents: number | null;
}

export interface TrackingView {
  trends: TrendsView | null;
  kpis: KpiView[];
  /** How KPI statuses are read, in a sentence; null without KPIs. */
  kpiNote: string | null;
}

/** `always`: show the trends whatever the number of waves (a monthly report's first month has two). */
export function trackingView(results: StudyResults, locale: Locale, t: Translate, options: { always?: boolean } = {}): TrackingView {
  const f = numberFormats(locale);
  const segmentLabel = new Map(results.segments.map((s) => [s.key, localize(s.label, locale, results.study.defaultLocale) || s.key]));
  const metricLabel = (key: string) => results.metricLabels[key] ?? key;
  const waveLabel = new Map(results.waves.map((w) => [String(w.id), w.label]));
  const trends = results.trends;
  const showTrends = trends !== null && (options.always === true || trends.waves.length >= TRENDS_FROM_WAVES || results.kpis.length > 0);
  const change = (c: TrendChange | null) => changeView(c, locale, t);
  const seriesView = (s: TrendSeries, index: number): TrendSeriesView => {
    const metric = metricLabel(s.metric);
    const segment = segmentLabel.get(s.segment) ?? s.segment;
    const rows = s.points.map((p, i): TrendRowView => ({
      waveId: Number(p.wave),
      wave: waveLabel.get(p.wave) ?? p.wave,
      baseline: i === 0,
      share: p.share && { p: f.percent(p.share.p), interval: `[${f.percent(p.share.lower)}; ${f.percent(p.share.upper)}]` },
      vsPrevious: change(p.vsPrevious),
      vsBaseline: change(p.vsBaseline),
    }));
    const title = t("tracking.trends.caption", { metric, segment });
    return {
      metric,
      segment,
      anchor: `trend-${index + 1}`,
      rows,
      chart: trendLine(
        s.points.map((p) => ({ label: waveLabel.get(p.wave) ?? p.wave, share: p.share })),
        { title, description: t("tracking.trends.chartDescription", { metric, segment, level: f.percentWhole(trends!.confidenceLevel) }), percent: f.percentWhole },
      ),
    };
  };

  let trendsView: TrendsView | null = null;
  if (showTrends) {
    const metrics = [...new Set(trends.series.map((s) => s.metric))];
    // Families of one kind have one size whatever the metric: one sentence per kind.
    const kinds = new Map(trends.families.map((fam) => [fam.kind, fam]));
    trendsView = {
      family: [...kinds.values()].map((fam) =>
        t(`tracking.trends.family.${fam.kind}`, { count: fam.size, segments: f.integer(fam.segments), comparisons: f.integer(fam.comparisons), method: t(`resultsPage.adjustments.${fam.adjustment}`) }),
      ),
      weighting: trends.series.some((s) => s.weighted) ? t("tracking.trends.weighted") : results.weighting?.applied ? t("tracking.trends.unweighted") : null,
      metrics: metrics.map((metric) => ({
        label: metricLabel(metric),
        series: trends.series.flatMap((s, i) => (s.metric === metric ? [seriesView(s, i)] : [])),
      })),
    };
  }

  const kpis = kpiViews(results, locale, t);
  const kpiNote = kpis.length ? t("tracking.kpi.note", { count: results.kpis.length, level: f.level(results.kpis[0]!.intervalLevel) }) : null;
  return { trends: trendsView, kpis, kpiNote };
}

/** A change of a trend as its table shows it: the verdict in words, the lift, its verdict interval and level. */
export function changeView(c: TrendChange | null, locale: Locale, t: Translate): ChangeView | null {
  if (!c) return null;
  const v = verdictText({ verdict: c.verdict, verdictEstimate: c.change.estimate, verdictInterval: c.verdictInterval, verdictLevel: c.verdictLevel }, locale, t);
  return { verdict: v.verdict, verdictKey: c.verdict, lift: v.lift, interval: v.interval, level: v.level };
}

/** The study's KPIs as the page and the planner show them: labels, never keys. */
export function kpiViews(results: Pick<StudyResults, "kpis" | "segments" | "metricLabels" | "study">, locale: Locale, t: Translate): KpiView[] {
  const f = numberFormats(locale);
  const segmentLabel = new Map(results.segments.map((s) => [s.key, localize(s.label, locale, results.study.defaultLocale) || s.key]));
  return results.kpis.map((k): KpiView => {
    const lift = k.kind === "lift";
    const format = lift ? f.ppNumber : f.percent;
    return {
      metric: results.metricLabels[k.metric] ?? k.metric,
      segment: segmentLabel.get(k.segment) ?? k.segment,
      target: t(`tracking.kpi.target.${k.kind}`, { value: lift ? f.pp(k.target) : f.percent(k.target), wave: k.wave }),
      observed: k.estimate === null ? "—" : lift ? f.pp(k.estimate) : f.percent(k.estimate),
      observedInterval: k.interval ? `[${format(k.interval.lower)}; ${format(k.interval.upper)}]` : "",
      observedLevel: k.interval ? t("verdict.interval", { level: f.level(k.intervalLevel) }) : "",
      status: kpiStatusText(k, locale, t),
      statusKey: k.status,
      needed: k.status === "not_yet" ? k.respondentsNeeded : null,
      respondents: k.respondents,
    };
  });
}

/** A KPI's status in words; not yet decided says how many respondents per wave would decide it. */
export function kpiStatusText(k: Pick<KpiResult, "status" | "respondentsNeeded" | "respondents">, locale: Locale, t: Translate): string {
  const f = numberFormats(locale);
  if (k.status !== "not_yet") return t(`tracking.kpi.status.${k.status}`);
  if (k.respondentsNeeded === null) return t("tracking.kpi.notYetOnTarget");
  const more = k.respondentsNeeded - (k.respondents ?? 0);
  return more > 0
    ? t("tracking.kpi.notYetMore", { count: more, more: f.integer(more), needed: f.integer(k.respondentsNeeded), now: f.integer(k.respondents ?? 0) })
    : t("tracking.kpi.notYetSize", { needed: f.integer(k.respondentsNeeded) });
}
