import type { Writable } from "node:stream";
import ExcelJS from "exceljs";
import type { Locale } from "../../db/schema.js";
import type { Translate } from "../i18n/index.js";
import type { StudyResults } from "../services/results.js";
import { methodsLines } from "./methods.js";
import { resultColumns, type CellValue, type ColumnFormat } from "./results-columns.js";
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

/**
 * The results as an XLSX workbook: one sheet per metric (header row, then its segment rows and
 * total row, numbers as numbers) and a Methods sheet. Small (a row per segment), so it is built
 * in memory and written to `out` in one go.
 */
export async function writeResultsXlsx(results: StudyResults, locale: Locale, t: Translate, out: Writable, generatedAt = new Date()): Promise<void> {
  const workbook = new ExcelJS.Workbook();
  workbook.creator = "Brand Lift";
  workbook.created = generatedAt;
  const columns = resultColumns(results.table, locale, t, { withMetric: false });
  const taken = new Set<string>([t("exports.methods.sheet").toLowerCase()]);
  // Every metric gets its sheet, even one whose rows could not be computed (see Methods).
  for (const metric of Object.keys(results.metricLabels)) {
    const sheet = workbook.addWorksheet(sheetName(results.metricLabels[metric] ?? metric, taken), {
      views: [{ state: "frozen", ySplit: 1, xSplit: 1 }],
    });
    sheet.columns = columns.map((c) => ({
      key: c.key,
      width: c.format === "text" ? (c.key === "summary" ? 80 : 24) : 12,
      style: NUMBER_FORMATS[c.format] ? { numFmt: NUMBER_FORMATS[c.format]! } : {},
    }));
    const header = sheet.getRow(1);
    header.values = columns.map((c) => xlsxCell(c.header));
    header.font = { bold: true };
    for (const row of results.table.rows.filter((r) => r.metric === metric)) {
      sheet.addRow(columns.map((c) => xlsxCell(c.value(row) as CellValue)));
    }
  }
  const methods = workbook.addWorksheet(sheetName(t("exports.methods.sheet"), new Set()));
  methods.columns = [{ width: 40 }, { width: 120 }];
  const head = methods.addRow([xlsxCell(t("exports.methods.item")), xlsxCell(t("exports.methods.value"))]);
  head.font = { bold: true };
  for (const [item, value] of methodsLines(results, locale, t, generatedAt)) {
    methods.addRow([xlsxCell(item), xlsxCell(value)]).alignment = { wrapText: true, vertical: "top" };
  }
  await workbook.xlsx.write(out);
}
