import { neutralizeFormula } from "../domain/csv.js";

/**
 * A value for an exceljs cell: text neutralised against formula injection like the CSV (a leading
 * apostrophe before = + - @ tab CR), numbers as numbers, non-finite numbers and null as empty.
 * exceljs stores strings as strings, never as formulas, but a user who edits the cell in Excel
 * would turn "=…" into a live formula; the apostrophe keeps it text there too.
 */
export function xlsxCell(value: string | number | null | undefined): string | number | null {
  if (value === null || value === undefined) return null;
  if (typeof value === "number") return Number.isFinite(value) ? value : null;
  return neutralizeFormula(value);
}
