import type { Locale } from "../../db/schema.js";
import type { TrendChange, TrendSeries } from "../../stats/index.js";
import { localize } from "../domain/questionnaire.js";
import type { Translate } from "../i18n/index.js";
import type { StudyResults } from "../services/results.js";
import { noteWaves, periodCostOf, recordsSpend, type KpiResult, type PeriodCost } from "../services/tracking.js";
import { trendLine } from "./charts.js";
import { numberFormats, verdictText } from "./results.js";
import { formatMoney, noteView, type NoteView } from "./wave-notes.js";

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
  /** The period's cost per lifted user (costView); null for the baseline or when the study records no spend. */
  cost: CostView | null;
}

/** A period's cost per lifted user in words: the cost with its interval, or why it is not measurable. */
export interface CostView {
  /** The cost per lifted user (PeriodCost.costPerLiftedUser.amount); null when not measurable. */
  amount: number | null;
  text: string;
  interval: string;
  /** "98.3% interval": the level of the change's interval the range comes from; empty when not measurable. */
  level: string;
  /** The period's spend and lifted users, in a sentence ("150 000 RUB over 1 200 lifted users [400; 2 000]"). */
  detail: string;
}

/** A wave with notes on the work of its period, as a chart's marker and its legend. */
export interface MarkerView {
  number: number;
  /** Index of the wave among the chart's points. */
  index: number;
  wave: string;
  notes: NoteView[];
  /** The labels of the waves whose notes the marker stands for (a wave without responses joins the next one's). */
  waveLabels: string[];
}

export interface TrendSeriesView {
  metric: string;
  segment: string;
  /** For links and ids: the position of the series, never shown. */
  anchor: string;
  rows: TrendRowView[];
  chart: string;
  /** Each KPI target line of the chart in words. */
  targets: string[];
}

export interface TrendsView {
  /** Sentences stating each family's size: "verdicts account for N comparisons". */
  family: string[];
  /** Whether the shares are weighted, when the results are: null when nothing is weighted. */
  weighting: string | null;
  metrics: Array<{ label: string; series: TrendSeriesView[] }>;
  /**
   * Notes on the work by wave, in the study's order (waves without responses yet too); labels not
   * of any wave last. `marker`: the number the charts mark the wave's period with (the one legend
   * of every chart's markers, which are the same on each).
   */
  notes: Array<{ wave: string; notes: NoteView[]; spend: string; marker: number | null }>;
  /** Whether the trend tables have a cost column (some note records an amount), and how it is computed. */
  costs: string | null;
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
  /**
   * Respondents per segment in a wave that would decide it (the planner's proposal): not_yet, from
   * the target wave's share; a wave not run yet, planned from the baseline's share; else null.
   */
  needed: number | null;
  /** Whether `needed` is planned from the baseline's share (the target wave has not run yet). */
  planned: boolean;
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
  const noteWave = noteWaves(results.waves);
  const markers = trends ? markerViews(results, trends.waves, locale, t) : [];
  const showCosts = recordsSpend(results.costs);
  const costOf = periodCostOf(results.costs);
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
      cost: showCosts && i > 0 ? costView(costOf(s.metric, s.segment, Number(p.wave)), locale, t) : null,
    }));
    const title = t("tracking.trends.caption", { metric, segment });
    const targets = kpiTargets(results.kpis, s, locale, t);
    return {
      metric,
      segment,
      anchor: `trend-${index + 1}`,
      rows,
      chart: trendLine(
        s.points.map((p) => ({ label: waveLabel.get(p.wave) ?? p.wave, share: p.share })),
        { title, description: chartDescription(t("tracking.trends.chartDescription", { metric, segment, level: f.percentWhole(trends!.confidenceLevel) }), markers.length, targets.length, t), percent: f.percentWhole },
        { markers: markers.map((m) => ({ index: m.index, number: m.number })), targets: targets.map((g) => ({ share: g.share, label: g.label })) },
      ),
      targets: targets.map((g) => g.words),
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
      notes: notesByWave(results, noteWave, markers, locale, t),
      costs: showCosts ? t("tracking.costs.explained") : null,
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
      target: kpiTargetText({ kind: k.kind, target: k.target, byWave: k.wave }, locale, t),
      observed: k.estimate === null ? "—" : lift ? f.pp(k.estimate) : f.percent(k.estimate),
      observedInterval: k.interval ? `[${format(k.interval.lower)}; ${format(k.interval.upper)}]` : "",
      observedLevel: k.interval ? t("verdict.interval", { level: f.level(k.intervalLevel) }) : "",
      status: kpiStatusText(k, locale, t),
      statusKey: k.status,
      needed: k.status === "not_yet" ? k.respondentsNeeded : k.plannedRespondents,
      planned: k.status !== "not_yet" && k.plannedRespondents !== null,
      respondents: k.respondents,
    };
  });
}

/** A KPI's status in words; not yet decided says how many respondents per wave would decide it. */
/** A wave this many times the current one is not a plan but a sign the estimate sits at the target. */
export const IMPRACTICAL_FACTOR = 10;

export function kpiStatusText(k: Pick<KpiResult, "status" | "respondentsNeeded" | "respondents" | "plannedRespondents">, locale: Locale, t: Translate): string {
  const f = numberFormats(locale);
  if (k.status !== "not_yet" && k.plannedRespondents !== null) return t("tracking.kpi.planned", { status: t(`tracking.kpi.status.${k.status}`), needed: f.integer(k.plannedRespondents) });
  if (k.status !== "not_yet") return t(`tracking.kpi.status.${k.status}`);
  if (k.respondentsNeeded === null) return t("tracking.kpi.notYetOnTarget");
  // An estimate a hair from the target needs a sample no wave will have: say so rather than plan it.
  if (k.respondents && k.respondentsNeeded > IMPRACTICAL_FACTOR * k.respondents) return t("tracking.kpi.notYetImpractical", { needed: f.integer(k.respondentsNeeded), now: f.integer(k.respondents) });
  const more = k.respondentsNeeded - (k.respondents ?? 0);
  return more > 0
    ? t("tracking.kpi.notYetMore", { count: more, more: f.integer(more), needed: f.integer(k.respondentsNeeded), now: f.integer(k.respondents ?? 0) })
    : t("tracking.kpi.notYetSize", { needed: f.integer(k.respondentsNeeded) });
}

/** The chart's description, saying what markers and dashed lines stand for when it has them. */
function chartDescription(base: string, markers: number, targets: number, t: Translate): string {
  return [base, ...(markers ? [t("tracking.chart.markersDescription")] : []), ...(targets ? [t("tracking.chart.targetsDescription")] : [])].join(" ");
}

/**
 * The waves of the trends whose period has notes, numbered in order: a note counts for the wave of
 * its label (the first, as for KPIs), and that wave's period ends at the next wave of the trends
 * (a wave without responses adds its period to the next one; the baseline's takes everything before it).
 */
export function markerViews(results: Pick<StudyResults, "waves" | "notes">, trendWaves: readonly string[], locale: Locale, t: Translate): MarkerView[] {
  const byLabel = noteWaves(results.waves);
  const position = new Map(results.waves.map((w) => [w.id, w.position]));
  const ends = trendWaves.map((key) => results.waves.find((w) => String(w.id) === key)!);
  const markers: MarkerView[] = [];
  ends.forEach((end, index) => {
    const from = index === 0 ? Number.NEGATIVE_INFINITY : ends[index - 1]!.position;
    const notes = results.notes.filter((n) => {
      const wave = byLabel.get(n.waveLabel);
      const at = wave ? position.get(wave.id)! : undefined;
      return at !== undefined && at > from && at <= end.position;
    });
    if (notes.length) markers.push({ number: markers.length + 1, index, wave: end.label, notes: notes.map((n) => noteView(n, locale, t)), waveLabels: [...new Set(notes.map((n) => n.waveLabel))] });
  });
  return markers;
}

/** The notes by wave, in the study's order, with the wave's spend; notes of labels no wave has yet come last, under their label. */
function notesByWave(results: Pick<StudyResults, "waves" | "notes">, noteWave: ReadonlyMap<string, { id: number }>, markers: readonly MarkerView[], locale: Locale, t: Translate): TrendsView["notes"] {
  const markerOf = new Map(markers.flatMap((m) => m.waveLabels.map((label) => [label, m.number] as const)));
  const labels = [...results.waves.filter((w) => noteWave.get(w.label)?.id === w.id).map((w) => w.label), ...new Set(results.notes.filter((n) => !noteWave.has(n.waveLabel)).map((n) => n.waveLabel))];
  return labels.flatMap((label) => {
    const notes = results.notes.filter((n) => n.waveLabel === label);
    if (!notes.length) return [];
    const totals = new Map<string, number>();
    for (const n of notes) if (n.amount !== null && n.currency) totals.set(n.currency, (totals.get(n.currency) ?? 0) + n.amount);
    const spend = [...totals].map(([currency, amount]) => formatMoney(amount, currency, locale)).join(", ");
    return [{ wave: noteWave.has(label) ? label : t("tracking.notes.notYetWave", { wave: label }), notes: notes.map((n) => noteView(n, locale, t)), spend: spend ? t("tracking.notes.spend", { spend }) : "", marker: markerOf.get(label) ?? null }];
  });
}

/**
 * The KPI target lines of a series: each KPI on its metric × segment at its target share (the
 * level, or the baseline's share + the lift: the share KPI statuses use, else the series'
 * baseline share when the status has none yet), labelled in words.
 */
export function kpiTargets(kpis: readonly KpiResult[], s: Pick<TrendSeries, "metric" | "segment" | "points">, locale: Locale, t: Translate): Array<{ share: number; label: string; words: string }> {
  const f = numberFormats(locale);
  const baseline = s.points[0]?.share?.p;
  return kpis.flatMap((k) => {
    if (k.metric !== s.metric || k.segment !== s.segment) return [];
    const share = k.targetShare ?? (k.kind === "level" ? k.target : baseline === undefined ? null : Math.min(1, baseline + k.target));
    if (share === null) return [];
    const values = { share: f.percent(share), lift: f.pp(k.target), wave: k.wave };
    return [{ share, label: t(`tracking.chart.target.${k.kind}`, values), words: t(`tracking.chart.targetWords.${k.kind}`, values) }];
  });
}

/** A period's cost per lifted user as the trend table shows it. */
export function costView(c: PeriodCost | undefined, locale: Locale, t: Translate): CostView {
  const f = numberFormats(locale);
  if (!c) return { amount: null, text: t("tracking.costs.notes.no_data"), interval: "", level: "", detail: "" };
  const cost = c.costPerLiftedUser;
  const lifted = c.liftedUsers;
  const spend = c.spend ? formatMoney(c.spend.amount, c.spend.currency, locale) : "";
  const detail =
    spend && lifted
      ? t("tracking.costs.detail", { spend, lifted: f.integer(lifted.estimate), lower: f.integer(lifted.lower), upper: f.integer(lifted.upper) })
      : spend
        ? t("tracking.costs.spendOnly", { spend })
        : "";
  if (!cost) return { amount: null, text: t(`tracking.costs.notes.${c.note ?? "not_detected"}`), interval: "", level: "", detail };
  const money = (x: number) => formatMoney(x, cost.currency, locale).replace(`\u00a0${cost.currency}`, "");
  return { amount: cost.amount, text: formatMoney(cost.amount, cost.currency, locale), interval: `[${money(cost.lower)}; ${money(cost.upper)}]`, level: c.change ? t("verdict.interval", { level: f.level(c.change.level) }) : "", detail };
}

/** A KPI's target in words: "lift +5.0 pp against the baseline by “Month 3”", "level 40.0% by …". */
export function kpiTargetText(k: { kind: KpiResult["kind"]; target: number; byWave: string }, locale: Locale, t: Translate): string {
  const f = numberFormats(locale);
  return t(`tracking.kpi.target.${k.kind}`, { value: k.kind === "lift" ? f.pp(k.target) : f.percent(k.target), wave: k.byWave });
}
