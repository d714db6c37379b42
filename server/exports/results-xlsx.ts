import type { Writable } from "node:stream";
import type { Locale } from "../../db/schema.js";
import type { Translate } from "../i18n/index.js";
import type { StudyResults } from "../services/results.js";
import { methodsLines } from "./methods.js";
import { resultColumns, type CellValue, type ColumnFormat } from "./results-columns.js";
import type { SheetSpec, WorkbookSpec } from "./workbooks.js";
import { writeWorkbookInWorker } from "./xlsx-pool.js";
import { xlsxCell } from "./xlsx.js";

/** Excel shows fractions as percentages; the stored values stay the fractions of the CSV and JSON. */
const NUMBER_FORMATS: Partial<Record<ColumnFormat, string>> = {
  share: "0.0%",
  lift: "+0.0%;-0.0%;0.0%",
  ratio: "+0%;-0%;0%",
  count: "#,##0",
  money: "#,##0.00",
};

const SHEET_NAME_MAX = 31;

/** A valid, unique worksheet name: no []:*?/\, at most 31 characters, not "History". */
export function sheetName(label: string, taken: Set<string>): string {
  const clean = label.replace(/[[\]:*?/\\\u0000-\u001f]/g, " ").replace(/^'+|'+$/g, "").trim() || "Sheet";
  let name = clean.slice(0, SHEET_NAME_MAX);
  for (let i = 2; taken.has(name.toLowerCase()) || name.toLowerCase() === "history"; i++) {
    const suffix = ` (${i})`;
    name = clean.slice(0, SHEET_NAME_MAX - suffix.length) + suffix;
  }
  taken.add(name.toLowerCase());
  return name;
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * The results as a workbook: one sheet per metric (header row, then its segment rows and total
 * row, numbers as numbers) and a Methods sheet (with how fresh the results are). Each sheet's
 * cells are gathered in a task of their own (`between` runs after each: a turn of the event loop),
 * so a respondent waits for one sheet's texts and summaries at most, never the workbook's.
 */
export async function resultsWorkbook(results: StudyResults, locale: Locale, t: Translate, generatedAt: Date, between: () => Promise<void> = turn): Promise<WorkbookSpec> {
  const columns = resultColumns(results.table, locale, t, { withMetric: false });
  const taken = new Set<string>([t("exports.methods.sheet").toLowerCase()]);
  const widths = columns.map((c) => ({ width: c.format === "text" ? (c.key === "summary" ? 80 : 24) : 12, ...(NUMBER_FORMATS[c.format] ? { numFmt: NUMBER_FORMATS[c.format]! } : {}) }));
  const metricSheets: SheetSpec[] = [];
  // Every metric gets its sheet, even one whose rows could not be computed (see Methods).
  for (const metric of Object.keys(results.metricLabels)) {
    metricSheets.push({
      name: sheetName(results.metricLabels[metric] ?? metric, taken),
      frozen: { rows: 1, columns: 1 },
      columns: widths,
      rows: [columns.map((c) => xlsxCell(c.header)), ...results.table.rows.filter((r) => r.metric === metric).map((row) => columns.map((c) => xlsxCell(c.value(row) as CellValue)))],
    });
    await between();
  }
  const methods = {
    name: sheetName(t("exports.methods.sheet"), new Set()),
    frozen: null,
    columns: [{ width: 40 }, { width: 120 }],
    rows: [[xlsxCell(t("exports.methods.item")), xlsxCell(t("exports.methods.value"))], ...methodsLines(results, locale, t, generatedAt).map(([item, value]) => [xlsxCell(item), xlsxCell(value)])],
    wrap: true,
  };
  return { created: generatedAt.toISOString(), sheets: [...metricSheets, methods] };
}

/**
 * Writes the results workbook to `out`. Small (a row per segment), but exceljs and its zip take
 * a few hundred milliseconds of CPU for it: the cells are gathered here, a sheet per task, the
 * workbook is built in the XLSX worker thread (xlsx-pool.ts).
 */
export async function writeResultsXlsx(results: StudyResults, locale: Locale, t: Translate, out: Writable & { destroyed: boolean }, generatedAt = new Date()): Promise<void> {
  await writeWorkbookInWorker(out, { kind: "results", spec: await resultsWorkbook(results, locale, t, generatedAt) });
}
