import { describeRow, type LiftRow, type LiftTable } from "../../stats/index.js";
import type { Locale } from "../../db/schema.js";
import { localize } from "../domain/questionnaire.js";
import type { Translate } from "../i18n/index.js";
import type { StudyResults } from "../services/results.js";
import { awarenessBars, liftDots, type ChartText } from "./charts.js";

/**
 * The results as the page and the report show them: numbers formatted for the reader's locale,
 * a plain-words sentence per row, and the charts. Relative lift is never shown without the
 * absolute lift (pp) and the baseline beside it.
 */

const MINUS = "\u2212";

export function numberFormats(locale: Locale) {
  const tag = locale === "ru" ? "ru-RU" : "en-GB";
  const pct = new Intl.NumberFormat(tag, { style: "percent", minimumFractionDigits: 1, maximumFractionDigits: 1 });
  const pct0 = new Intl.NumberFormat(tag, { style: "percent", maximumFractionDigits: 0 });
  const one = new Intl.NumberFormat(tag, { minimumFractionDigits: 1, maximumFractionDigits: 1 });
  const p3 = new Intl.NumberFormat(tag, { minimumFractionDigits: 3, maximumFractionDigits: 3 });
  const int = new Intl.NumberFormat(tag, { maximumFractionDigits: 0 });
  const signed = (s: string, negative: boolean, zero: boolean) => (zero ? s : negative ? `${MINUS}${s}` : `+${s}`);
  const ppUnit = locale === "ru" ? "\u00a0п.\u00a0п." : "\u00a0pp";
  return {
    percent: (share: number) => pct.format(share),
    percentWhole: (share: number) => pct0.format(share),
    /** A lift in percentage points, signed: +7.0 pp. */
    pp: (share: number) => signed(one.format(Math.abs(share * 100)), share < 0, Math.round(share * 1000) === 0) + ppUnit,
    /** A relative change, signed: +22.6%. */
    relative: (ratio: number | null) => (ratio === null ? "—" : signed(pct.format(Math.abs(ratio)), ratio < 0, Math.round(ratio * 1000) === 0)),
    pValue: (p: number) => (p < 0.001 ? `<\u00a0${p3.format(0.001)}` : p3.format(p)),
    integer: (n: number) => int.format(n),
  };
}

export interface RowView {
  row: LiftRow;
  sentence: string;
  pre: string;
  post: string;
  lift: string;
  relative: string;
  headroom: string;
  p: string;
  adjustedP: string;
  certainty: string;
  probability: string;
  n: string;
  mdl: string;
  warnings: string[];
  liftedUsers: string;
  costPerLiftedUser: string;
  did: string;
  smallN: boolean;
}

export interface MetricView {
  key: string;
  label: string;
  rows: RowView[];
  chart: string;
}

const lowerFirst = (s: string) => (s ? s[0]!.toLocaleLowerCase() + s.slice(1) : s);

export function resultsView(results: StudyResults, locale: Locale, t: Translate) {
  const f = numberFormats(locale);
  const level = f.percentWhole(results.table.confidenceLevel);
  const ci = (lower: number, upper: number, format: (x: number) => string) => `[${format(lower)}; ${format(upper)}]`;
  const chartText = (title: string, description: string): ChartText => ({
    title,
    description,
    pre: results.pre.label,
    post: results.post.label,
    percent: f.percentWhole,
    pp: f.pp,
  });

  const view = (row: LiftRow): RowView => ({
    row,
    // Mid-sentence, labels read better in lower case ("Among subscribers, aided awareness rose…").
    sentence: describeRow({ ...row, metricLabel: lowerFirst(row.metricLabel), segmentLabel: locale === "en" ? lowerFirst(row.segmentLabel) : row.segmentLabel }, locale),
    pre: `${f.percent(row.pre.p)} ${ci(row.pre.lower, row.pre.upper, f.percent)}`,
    post: `${f.percent(row.post.p)} ${ci(row.post.lower, row.post.upper, f.percent)}`,
    lift: `${f.pp(row.absoluteLift.estimate)} ${ci(row.absoluteLift.lower, row.absoluteLift.upper, f.pp)}`,
    relative: f.relative(row.relativeLift),
    headroom: f.relative(row.headroomLift),
    p: `${f.pValue(row.pValue)}${row.test === "fisher" ? " F" : ""}`,
    adjustedP: f.pValue(row.adjustedPValue),
    certainty: f.percent(row.liftCertainty),
    probability: row.probabilityOfLift === null ? "—" : f.percent(row.probabilityOfLift),
    n: `${f.integer(row.pre.n)} / ${f.integer(row.post.n)}`,
    mdl: row.minimumDetectableLift === null ? "—" : f.pp(row.minimumDetectableLift),
    warnings: row.warnings.map((w) => t(`resultsPage.warnings.${w}`)),
    liftedUsers: row.liftedUsers
      ? `${f.integer(row.liftedUsers.estimate)} ${ci(row.liftedUsers.lower, row.liftedUsers.upper, f.integer)}`
      : "",
    costPerLiftedUser: row.costPerLiftedUser ? `${f.integer(row.costPerLiftedUser.amount)} ${row.costPerLiftedUser.currency}` : "",
    did: row.differenceInDifferences
      ? `${f.pp(row.differenceInDifferences.estimate)} ${ci(row.differenceInDifferences.lower, row.differenceInDifferences.upper, f.pp)}, p = ${f.pValue(row.differenceInDifferences.adjustedPValue)}`
      : "",
    smallN: row.warnings.includes("small_n"),
  });

  const metrics: MetricView[] = Object.entries(results.metricLabels).map(([key, label]) => {
    const rows = results.table.rows.filter((r) => r.metric === key);
    return {
      key,
      label,
      rows: rows.map(view),
      chart: rows.length
        ? awarenessBars(rows, chartText(label, t("resultsPage.chartBarsDescription", { metric: label, pre: results.pre.label, post: results.post.label, level })))
        : "",
    };
  });

  const liftRows = results.table.rows;
  const liftChart = liftRows.length
    ? liftDots(liftRows, chartText(t("resultsPage.liftChart"), t("resultsPage.liftChartDescription", { level })))
    : "";

  const segmentLabel = new Map(results.segments.map((s) => [s.id, localize(s.label, locale, results.study.defaultLocale) || s.key]));
  const waveLabel = new Map(results.waves.map((w) => [w.id, w.label]));
  const respondents = results.respondents.map((r) => {
    // Left out of the results: excluded, and flagged ones when flagged responses are not counted.
    const leftOut = r.excluded + (results.options.flagged ? 0 : r.flagged);
    const completed = r.n + leftOut;
    return {
      wave: waveLabel.get(r.waveId) ?? String(r.waveId),
      segment: segmentLabel.get(r.segmentId) ?? String(r.segmentId),
      n: f.integer(r.n),
      excluded: f.integer(r.excluded),
      flagged: f.integer(r.flagged),
      leftOut: completed ? f.percent(leftOut / completed) : "—",
    };
  });

  return { metrics, liftChart, respondents, level, formats: f };
}

export interface SensitivityRow {
  metric: string;
  segment: string;
  total: boolean;
  /** As reported (exclusions applied) and over all completed responses; "—" when a side has no row. */
  reported: { lift: string; p: string; n: string; verdict: string };
  all: { lift: string; p: string; n: string; verdict: string };
  /** Reported lift minus the lift over all responses, in pp. */
  difference: string;
}

/**
 * Headline lifts (total rows, or segment rows when a metric has no total) with and without
 * exclusions, side by side: how much the cleaning moved each result.
 */
export function sensitivityView(results: StudyResults, all: LiftTable, locale: Locale, t: Translate): SensitivityRow[] {
  const f = numberFormats(locale);
  const side = (row: LiftRow | undefined) =>
    row
      ? {
          lift: `${f.pp(row.absoluteLift.estimate)} [${f.pp(row.absoluteLift.lower)}; ${f.pp(row.absoluteLift.upper)}]`,
          p: f.pValue(row.adjustedPValue),
          n: `${f.integer(row.pre.n)} / ${f.integer(row.post.n)}`,
          verdict: t(`quality.verdicts.${row.verdict}`),
        }
      : { lift: "—", p: "—", n: "—", verdict: "" };
  const out: SensitivityRow[] = [];
  for (const metric of Object.keys(results.metricLabels)) {
    const mine = results.table.rows.filter((r) => r.metric === metric);
    const theirs = all.rows.filter((r) => r.metric === metric);
    const hasTotal = mine.some((r) => r.kind === "total") || theirs.some((r) => r.kind === "total");
    const ids = [...new Set([...mine, ...theirs].filter((r) => (hasTotal ? r.kind === "total" : true)).map((r) => r.id))];
    for (const id of ids) {
      const a = mine.find((r) => r.id === id);
      const b = theirs.find((r) => r.id === id);
      const any = (a ?? b)!;
      out.push({
        metric: results.metricLabels[metric] ?? metric,
        segment: any.segmentLabel,
        total: any.kind === "total",
        reported: side(a),
        all: side(b),
        difference: a && b ? f.pp(a.absoluteLift.estimate - b.absoluteLift.estimate) : "—",
      });
    }
  }
  return out;
}
