import type { Writable } from "node:stream";
import type { Locale } from "../../db/schema.js";
import type { TrendChange } from "../../stats/index.js";
import { localize } from "../domain/questionnaire.js";
import type { Translate } from "../i18n/index.js";
import type { MonthlyView } from "../presenters/monthly.js";
import type { MonthlyReport } from "../services/monthly.js";
import type { StudyResults } from "../services/results.js";
import { periodCostOf, recordsSpend, type PeriodCost } from "../services/tracking.js";
import { sheetName } from "./results-xlsx.js";
import type { SheetSpec, WorkbookSpec } from "./workbooks.js";
import { writeWorkbookInWorker } from "./xlsx-pool.js";
import { xlsxCell } from "./xlsx.js";

type Cell = string | number | null;

/**
 * The monthly report as a workbook (built as data here, written by the XLSX worker thread): one sheet per metric with its series up to the month (a row per
 * segment and wave: the share with its interval and base, the change against the previous wave and
 * the baseline with the verdict interval and verdict — the trends' numbers as fractions, shown as
 * percentages; where the study records spend, each period's spend, lifted users and cost per lifted
 * user with their ranges, or why it is not measurable: the trend tables' PeriodCost), then a
 * Methods sheet with the three answers and the footnote.
 */
export function monthlyWorkbook(report: MonthlyReport, view: MonthlyView, results: StudyResults, locale: Locale, t: Translate, generatedAt = new Date()): WorkbookSpec {
  const x = (key: string) => t(`monthly.xlsx.${key}`);
  const taken = new Set<string>([x("methods").toLowerCase()]);
  const waveLabel = new Map(results.waves.map((w) => [String(w.id), w.label]));
  const segmentLabel = new Map(results.segments.map((s) => [s.key, localize(s.label, locale, results.study.defaultLocale) || s.key]));
  const share = "0.0%";
  const lift = "+0.0%;-0.0%;0.0%";
  const columns: Array<{ header: string; width: number; numFmt?: string }> = [
    { header: x("segment"), width: 24 },
    { header: x("wave"), width: 20 },
    { header: x("share"), width: 10, numFmt: share },
    { header: x("lower"), width: 10, numFmt: share },
    { header: x("upper"), width: 10, numFmt: share },
    { header: x("n"), width: 10, numFmt: "#,##0" },
    { header: x("vsPrevious"), width: 12, numFmt: lift },
    { header: x("vsPreviousLower"), width: 12, numFmt: lift },
    { header: x("vsPreviousUpper"), width: 12, numFmt: lift },
    { header: x("vsPreviousVerdict"), width: 18 },
    { header: x("vsPreviousLevel"), width: 12, numFmt: "0.0%" },
    { header: x("vsBaseline"), width: 12, numFmt: lift },
    { header: x("vsBaselineLower"), width: 12, numFmt: lift },
    { header: x("vsBaselineUpper"), width: 12, numFmt: lift },
    { header: x("vsBaselineVerdict"), width: 18 },
    { header: x("vsBaselineLevel"), width: 12, numFmt: "0.0%" },
  ];
  // The costs of the periods up to the month, with the column shown when the page shows it.
  const costs = results.costs.filter((c) => report.waves.some((w) => w.id === c.waveId));
  const costOf = periodCostOf(costs);
  const showCosts = recordsSpend(costs);
  if (showCosts) {
    const money = "#,##0.00";
    columns.push(
      { header: x("spend"), width: 14, numFmt: money },
      { header: x("currency"), width: 10 },
      { header: x("liftedUsers"), width: 14, numFmt: "#,##0" },
      { header: x("liftedLower"), width: 12, numFmt: "#,##0" },
      { header: x("liftedUpper"), width: 12, numFmt: "#,##0" },
      { header: x("cost"), width: 14, numFmt: money },
      { header: x("costLower"), width: 12, numFmt: money },
      { header: x("costUpper"), width: 12, numFmt: money },
      { header: x("costNote"), width: 40 },
    );
  }
  const cost = (c: PeriodCost | undefined): Cell[] => {
    if (!showCosts) return [];
    const lifted = c?.liftedUsers ?? null;
    const perUser = c?.costPerLiftedUser ?? null;
    return [
      c?.spend?.amount ?? null,
      c?.spend?.currency ?? perUser?.currency ?? null,
      lifted?.estimate ?? null,
      lifted?.lower ?? null,
      lifted?.upper ?? null,
      perUser?.amount ?? null,
      perUser?.lower ?? null,
      perUser?.upper ?? null,
      perUser ? null : t(`tracking.costs.notes.${c?.note ?? "no_data"}`),
    ];
  };
  const noCost = cost(undefined).map(() => null);
  const change = (c: TrendChange | null): Cell[] => (c ? [c.change.estimate, c.verdictInterval.lower, c.verdictInterval.upper, t(`verdict.labels.${c.verdict}`), c.verdictLevel] : [null, null, null, null, null]);
  const trends = report.trends;
  const sheets: SheetSpec[] = Object.keys(results.metricLabels).map((metric) => {
    const rows: Cell[][] = [columns.map((c) => c.header)];
    for (const series of trends?.series.filter((s) => s.metric === metric) ?? []) {
      series.points.forEach((p, i) => {
        const wave = (waveLabel.get(p.wave) ?? p.wave) + (i === 0 ? ` (${x("baseline")})` : "");
        const periodCost = i === 0 ? noCost : cost(costOf(metric, series.segment, Number(p.wave)));
        rows.push([segmentLabel.get(series.segment) ?? series.segment, wave, p.share?.p ?? null, p.share?.lower ?? null, p.share?.upper ?? null, p.share?.n ?? null, ...change(p.vsPrevious), ...change(p.vsBaseline), ...periodCost]);
      });
    }
    return {
      name: sheetName(results.metricLabels[metric] ?? metric, taken),
      frozen: { rows: 1, columns: 2 },
      columns: columns.map((c) => ({ width: c.width, ...(c.numFmt ? { numFmt: c.numFmt } : {}) })),
      rows: rows.map((r) => r.map(xlsxCell)),
    };
  });
  const lines: Array<[string, string]> = [
    [x("item"), x("value")],
    [x("study"), results.study.name],
    [x("month"), view.period],
    ...view.answers.map((a): [string, string] => [a.question, [`${a.answerText}.`, a.sentence, ...a.more].join(" ")]),
    ...view.methods.lines.map((l): [string, string] => [t("monthly.methods.heading"), l]),
    ...view.methods.rules.map((l): [string, string] => [t("monthly.methods.rules"), l]),
  ];
  sheets.push({ name: sheetName(x("methods"), new Set()), frozen: null, columns: [{ width: 40 }, { width: 120 }], rows: lines.map((r) => r.map(xlsxCell)), wrap: true });
  return { created: generatedAt.toISOString(), sheets };
}

/** Writes the monthly workbook, built in the XLSX worker thread (no XML or zip on the event loop). */
export async function writeMonthlyXlsx(report: MonthlyReport, view: MonthlyView, results: StudyResults, locale: Locale, t: Translate, out: Writable & { destroyed: boolean }, generatedAt = new Date()): Promise<void> {
  await writeWorkbookInWorker(out, { kind: "results", spec: monthlyWorkbook(report, view, results, locale, t, generatedAt) });
}
