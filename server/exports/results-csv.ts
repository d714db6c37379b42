import type { Locale } from "../../db/schema.js";
import { toCsvRow } from "../domain/csv.js";
import type { Translate } from "../i18n/index.js";
import type { StudyResults } from "../services/results.js";
import type { CsvDialect } from "./csv-dialect.js";
import { resultColumns, type CellValue, type ColumnFormat, type ResultColumn } from "./results-columns.js";

/** UTF-8 byte order mark: Excel reads a CSV as UTF-8 (Cyrillic intact) only when it starts with one. */
export const BOM = "\uFEFF";

/** Numbers stay numbers (written in full); non-finite ones become empty cells. */
export function csvCell(value: CellValue): string | number | null {
  if (typeof value === "number") return Number.isFinite(value) ? value : null;
  return value;
}

/**
 * `value` rounded to `digits` decimals the way the results page's Intl formatting rounds (the
 * decimal expansion of the double, ties away from zero), so the CSV shows the page's figures.
 * `|| 0` turns -0 into 0.
 */
export function roundTo(value: number, digits: number): number {
  return Number(value.toFixed(digits)) || 0;
}

/** What a column's number becomes for people: percent / pp to 0.1, p to 4 decimals, whole counts, cents. */
export function roundedCell(value: number, format: ColumnFormat): number {
  switch (format) {
    case "share":
    case "lift":
    case "ratio":
      return roundTo(value * 100, 1);
    case "p":
      return roundTo(value, 4);
    case "count":
      return roundTo(value, 0);
    case "money":
      return roundTo(value, 2);
    case "text":
      return value;
  }
}

/** The unit a rounded column is in: shares and ratios in %, lifts in percentage points. */
const UNIT: Partial<Record<ColumnFormat, "percent" | "points">> = { share: "percent", ratio: "percent", lift: "points" };

/**
 * A column's header in a dialect: the raw file keeps the fraction headers of XLSX; the Excel
 * files name the unit the rounded number is in ("Прирост, п. п."), from exports.excelColumns,
 * or the plain header with the unit appended for a column without its own wording.
 */
export function csvHeader(column: ResultColumn, t: Translate, dialect: CsvDialect): string {
  const unit = UNIT[column.format];
  if (!dialect.rounded || unit === undefined) return column.header;
  const fallback = t("exports.units.withUnit", { name: column.header, unit: t(`exports.units.${unit}`) });
  return t(`exports.excelColumns.${column.key}`, { defaultValue: fallback });
}

/**
 * The results table as CSV: a BOM, a header row in the reader's language, then one row per
 * metric × segment (and total) in the order of liftTable. RFC 4180 (CRLF, quoting), text cells
 * neutralised against formula injection by toCsvRow. The raw dialect writes fractions 0..1 in
 * full (see results-columns.ts); the Excel dialects round (see csv-dialect.ts).
 */
export function resultsCsv(results: StudyResults, locale: Locale, t: Translate, dialect: CsvDialect): string {
  const columns = resultColumns(results.table, locale, t, { withMetric: true });
  const { delimiter, decimal } = dialect;
  let out = BOM + toCsvRow(columns.map((c) => csvHeader(c, t, dialect)), delimiter, decimal);
  for (const row of results.table.rows) {
    const cells = columns.map((c) => {
      const value = csvCell(c.value(row));
      return dialect.rounded && typeof value === "number" ? roundedCell(value, c.format) : value;
    });
    out += toCsvRow(cells, delimiter, decimal);
  }
  return out;
}
