import type { Locale } from "../../db/schema.js";
import { toCsvRow } from "../domain/csv.js";
import type { Translate } from "../i18n/index.js";
import type { StudyResults } from "../services/results.js";
import { resultColumns, type CellValue } from "./results-columns.js";

/** UTF-8 byte order mark: Excel reads a CSV as UTF-8 (Cyrillic intact) only when it starts with one. */
export const BOM = "\uFEFF";

/** Numbers stay numbers (written in full, with a decimal point); non-finite ones become empty cells. */
export function csvCell(value: CellValue): string | number | null {
  if (typeof value === "number") return Number.isFinite(value) ? value : null;
  return value;
}

/**
 * The results table as CSV: a BOM, a header row in the reader's language, then one row per
 * metric × segment (and total) in the order of liftTable. RFC 4180 (CRLF, quoting), text cells
 * neutralised against formula injection by toCsvRow. Numbers are plain decimals with a point
 * whatever the delimiter: shares and lifts as fractions 0..1 (see results-columns.ts).
 */
export function resultsCsv(results: StudyResults, locale: Locale, t: Translate, delimiter: "," | ";"): string {
  const columns = resultColumns(results.table, locale, t, { withMetric: true });
  let out = BOM + toCsvRow(columns.map((c) => c.header), delimiter);
  for (const row of results.table.rows) {
    out += toCsvRow(columns.map((c) => csvCell(c.value(row))), delimiter);
  }
  return out;
}
