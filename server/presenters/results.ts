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

/** Intl formatters are costly to build (a page asked for them hundreds of times): one set per locale. */
const formatsByLocale = new Map<Locale, ReturnType<typeof buildNumberFormats>>();

export function numberFormats(locale: Locale): ReturnType<typeof buildNumberFormats> {
  let formats = formatsByLocale.get(locale);
  if (!formats) formatsByLocale.set(locale, (formats = buildNumberFormats(locale)));
  return formats;
}

function buildNumberFormats(locale: Locale) {
  const tag = locale === "ru" ? "ru-RU" : "en-GB";
  const pct = new Intl.NumberFormat(tag, { style: "percent", minimumFractionDigits: 1, maximumFractionDigits: 1 });
  const pct0 = new Intl.NumberFormat(tag, { style: "percent", maximumFractionDigits: 0 });
  const one = new Intl.NumberFormat(tag, { minimumFractionDigits: 1, maximumFractionDigits: 1 });
  const p3 = new Intl.NumberFormat(tag, { minimumFractionDigits: 3, maximumFractionDigits: 3 });
  const int = new Intl.NumberFormat(tag, { maximumFractionDigits: 0 });
  const level = new Intl.NumberFormat(tag, { style: "percent", maximumFractionDigits: 1 });
  const alpha = new Intl.NumberFormat(tag, { maximumSignificantDigits: 3 });
  const signed = (s: string, negative: boolean, zero: boolean) => (zero ? s : negative ? `${MINUS}${s}` : `+${s}`);
  const ppUnit = locale === "ru" ? "\u00a0п.\u00a0п." : "\u00a0pp";
  return {
    percent: (share: number) => pct.format(share),
    percentWhole: (share: number) => pct0.format(share),
    /** A lift in percentage points, signed: +7.0 pp. */
    pp: (share: number) => signed(one.format(Math.abs(share * 100)), share < 0, Math.round(share * 1000) === 0) + ppUnit,
    /** The same number without its unit, for interval bounds printed after a lift. */
    ppNumber: (share: number) => signed(one.format(Math.abs(share * 100)), share < 0, Math.round(share * 1000) === 0),
    /** A relative change, signed: +22.6%. */
    relative: (ratio: number | null) => (ratio === null ? "—" : signed(pct.format(Math.abs(ratio)), ratio < 0, Math.round(ratio * 1000) === 0)),
    pValue: (p: number) => (p < 0.001 ? `<\u00a0${p3.format(0.001)}` : p3.format(p)),
    integer: (n: number) => int.format(n),
    /** One decimal: a design effect such as 1.9. */
    decimal: (x: number) => one.format(x),
    /** A confidence level: 95 %, or 98,3 % for an adjusted one. */
    level: (share: number) => level.format(share),
    /** A significance level such as 0.05 or 0.0167. */
    alpha: (a: number) => alpha.format(a),
  };
}

export interface DetailView {
  label: string;
  value: string;
}

export interface RowView {
  row: LiftRow;
  sentence: string;
  /** The verdict in words ("rose", "no detectable change"). */
  verdict: string;
  pre: string;
  post: string;
  /** The verdict's measure and its interval: the one lift shown in the compact table. */
  lift: string;
  interval: string;
  /** Confidence level of that interval (varies with the row's place in its family). */
  level: string;
  n: string;
  /** Left out of the base before / after (skipped, partial, excluded, decoy, flagged), and why. */
  leftOut: string;
  leftOutWhy: string;
  /** Everything else, behind a <details> per row. */
  details: DetailView[];
  /** Set when the probability of a rise points elsewhere than the verdict: the sentence that explains it. */
  probabilityNote: string | null;
  warnings: string[];
  smallN: boolean;
}

export interface MetricView {
  key: string;
  label: string;
  rows: RowView[];
  chart: string;
  /** How the metric's rows were adjusted, in words. */
  family: string;
  /** The metric's answer in one sentence: which segments moved, which did not, and the total. */
  headline: string;
  /** The same sentence without the metric's label (which the page shows as a link). */
  headlineText: string;
}

/**
 * One sentence per metric for "Is awareness growing?": the exposed segments grouped by verdict
 * (with their lift when it moved), the total, and the control group's change as the market trend.
 * It names the segments that moved, so a total dominated by a large segment cannot hide them.
 */
export function metricHeadline(label: string, rows: readonly LiftRow[], locale: Locale, t: Translate): string {
  return `${label}: ${headlineText(rows, locale, t)}`;
}

function headlineText(rows: readonly LiftRow[], locale: Locale, t: Translate): string {
  const f = numberFormats(locale);
  const exposed = rows.filter((r) => r.kind === "segment" && r.role === "exposed");
  const parts: string[] = [];
  for (const verdict of ["rise", "fall", "no_change", "not_enough_data"] as const) {
    const group = exposed.filter((r) => r.verdict === verdict);
    if (group.length === 0) continue;
    const moved = verdict === "rise" || verdict === "fall";
    const list = group.map((r) => (moved ? `${r.segmentLabel} (${f.pp(r.verdictEstimate)})` : r.segmentLabel)).join(", ");
    parts.push(t(`verdict.headline.${verdict}`, { list }));
  }
  const total = rows.find((r) => r.kind === "total");
  if (total) parts.push(t("verdict.headline.total", { verdict: t(`verdict.labels.${total.verdict}`), lift: f.pp(total.verdictEstimate) }));
  const control = rows.find((r) => r.role === "control" && r.kind === "segment");
  if (control) parts.push(t("verdict.headline.control", { lift: f.pp(control.verdictEstimate) }));
  const text = parts.join("; ");
  // "+2,6 п. п." already ends with a full stop.
  return text.endsWith(".") ? text : `${text}.`;
}

const lowerFirst = (s: string) => (s ? s[0]!.toLocaleLowerCase() + s.slice(1) : s);

/** What a verdict is printed from: a lift table row, or a trend's change (stats/trend.ts) in the same terms. */
export type VerdictFields = Pick<LiftRow, "verdict" | "verdictEstimate" | "verdictInterval" | "verdictLevel">;

/** A row's verdict and the interval printed with it, formatted: shared by the page, the report, the sensitivity view and the trends. */
export function verdictText(row: VerdictFields, locale: Locale, t: Translate) {
  const f = numberFormats(locale);
  return {
    verdict: t(`verdict.labels.${row.verdict}`),
    lift: f.pp(row.verdictEstimate),
    interval: `[${f.ppNumber(row.verdictInterval.lower)}; ${f.ppNumber(row.verdictInterval.upper)}]`,
    level: f.level(row.verdictLevel),
  };
}

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
  const ratio = (r: LiftRow["relativeLift"]) =>
    r === null ? "—" : `${f.relative(r.estimate)} ${ci(r.lower, r.upper, (v) => (Number.isFinite(v) ? f.relative(v) : "∞"))} (${f.level(r.level)})`;

  const leftOutOf = (row: LiftRow, waveId: number) => {
    const cells = results.bases.filter((b) => b.metric === row.metric && b.waveId === waveId && row.segments.includes(b.segment));
    const total = (pick: (b: (typeof cells)[number]) => number) => cells.reduce((sum, b) => sum + pick(b), 0);
    return {
      all: total((b) => b.leftOut),
      why: t("verdict.leftOutWhy", {
        skipped: f.integer(total((b) => b.skipped)),
        partial: f.integer(total((b) => b.partial)),
        excluded: f.integer(total((b) => b.excluded)),
        decoy: f.integer(total((b) => b.decoy)),
        flagged: f.integer(total((b) => b.flagged)),
      }),
    };
  };

  const view = (row: LiftRow): RowView => {
    const v = verdictText(row, locale, t);
    const leftPre = leftOutOf(row, results.pre.id);
    const leftPost = leftOutOf(row, results.post.id);
    const details: DetailView[] = [];
    const did = row.differenceInDifferences;
    details.push({
      label: t("verdict.unadjusted", { level }),
      value: `${f.pp(row.absoluteLift.estimate)} ${ci(row.absoluteLift.lower, row.absoluteLift.upper, f.pp)}`,
    });
    if (did) details.push({ label: t("verdict.marketTrend"), value: `${f.pp(did.marketTrend.estimate)} ${ci(did.marketTrend.lower, did.marketTrend.upper, f.pp)}` });
    if (row.weighted) {
      details.push(
        { label: t("weightedResults.unweightedShares"), value: `${f.percent(row.pre.x / row.pre.n)} / ${f.percent(row.post.x / row.post.n)}` },
        {
          label: t("weightedResults.effectiveN"),
          value: t("weightedResults.effectiveNValue", {
            pre: f.integer(row.pre.nEff ?? row.pre.n),
            post: f.integer(row.post.nEff ?? row.post.n),
            deffPre: f.decimal(row.pre.designEffect ?? 1),
            deffPost: f.decimal(row.post.designEffect ?? 1),
          }),
        },
      );
    }
    details.push(
      { label: t("verdict.relative"), value: ratio(row.relativeLift) },
      { label: t("verdict.headroom"), value: ratio(row.headroomLift) },
      { label: t("verdict.p"), value: f.pValue(row.verdictPValue) },
      { label: t("verdict.adjustedP"), value: f.pValue(row.adjustedPValue) },
      { label: t("verdict.probability"), value: f.percent(row.probabilityOfRise) },
      { label: t("verdict.mdl", { alpha: f.alpha(row.planningAlpha) }), value: row.minimumDetectableLift === null ? "—" : f.pp(row.minimumDetectableLift) },
      {
        label: t("verdict.liftedUsers"),
        value: row.liftedUsers
          ? `${f.integer(row.liftedUsers.estimate)} ${ci(row.liftedUsers.lower, row.liftedUsers.upper, f.integer)}`
          : t(`verdict.notes.${row.liftedUsersNote ?? "not_detected"}`),
      },
    );
    if (row.kind === "total" || row.costPerLiftedUser || row.costNote === "no_cost") {
      const cost = row.costPerLiftedUser;
      details.push({
        label: t("verdict.costPerLiftedUser"),
        value: cost
          ? `${f.integer(cost.amount)} ${cost.currency} ${ci(cost.lower, cost.upper, f.integer)}`
          : t(`verdict.notes.${row.costNote ?? "not_detected"}`),
      });
    }
    return {
      row,
      // Mid-sentence, labels read better in lower case ("Among subscribers, aided awareness rose…").
      sentence: describeRow({ ...row, metricLabel: lowerFirst(row.metricLabel), segmentLabel: locale === "en" ? lowerFirst(row.segmentLabel) : row.segmentLabel }, locale),
      verdict: v.verdict,
      pre: f.percent(row.pre.p),
      post: f.percent(row.post.p),
      lift: v.lift,
      interval: v.interval,
      level: v.level,
      n: `${f.integer(row.pre.n)} / ${f.integer(row.post.n)}`,
      leftOut: `${f.integer(leftPre.all)} / ${f.integer(leftPost.all)}`,
      leftOutWhy: `${results.pre.label}: ${leftPre.why}; ${results.post.label}: ${leftPost.why}`,
      details,
      probabilityNote: row.probabilityDisagrees
        ? row.familySize > 1
          ? t("verdict.probabilityNote", { count: row.familySize, verdict: v.verdict })
          : t("verdict.probabilityNoteSingle", { level: v.level, verdict: v.verdict })
        : null,
      warnings: row.warnings.map((w) => t(`resultsPage.warnings.${w}`)),
      smallN: row.warnings.includes("small_n"),
    };
  };

  const familyText = (key: string): string => {
    const family = results.table.families.find((fam) => fam.key === `${key}:segments`);
    if (!family) return t("verdict.family.total");
    return t("verdict.family.segments", { count: family.rowIds.length, method: t(`resultsPage.adjustments.${family.adjustment}`) });
  };

  const metrics: MetricView[] = Object.entries(results.metricLabels).map(([key, label]) => {
    const rows = results.table.rows.filter((r) => r.metric === key);
    return {
      key,
      label,
      family: familyText(key),
      headline: metricHeadline(label, rows, locale, t),
      headlineText: headlineText(rows, locale, t),
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

  const counted = {
    pre: results.respondents.filter((r) => r.waveId === results.pre.id).reduce((n, r) => n + r.n, 0),
    post: results.respondents.filter((r) => r.waveId === results.post.id).reduce((n, r) => n + r.n, 0),
  };
  return { metrics, liftChart, respondents, counted, level, formats: f };
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
          lift: `${f.pp(row.verdictEstimate)} [${f.pp(row.verdictInterval.lower)}; ${f.pp(row.verdictInterval.upper)}]`,
          p: f.pValue(row.adjustedPValue),
          n: `${f.integer(row.pre.n)} / ${f.integer(row.post.n)}`,
          verdict: t(`verdict.labels.${row.verdict}`),
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
        difference: a && b ? f.pp(a.verdictEstimate - b.verdictEstimate) : "—",
      });
    }
  }
  return out;
}
