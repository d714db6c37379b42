/**
 * CSV as RFC 4180 (CRLF line ends, fields quoted when they hold the delimiter, a quote or a
 * line break), with spreadsheet formula injection neutralised: a cell that begins with
 * = + - @ tab or CR gets a leading apostrophe, so Excel shows it as text instead of running it.
 *
 * Numbers are written with the chosen decimal mark: Excel in a Russian locale reads "0,25" as a
 * number but "0.25" as text, so a CSV meant for it needs the comma (and ";" between fields).
 */

const FORMULA_START = /^[=+\-@\t\r]/;

export type CsvDelimiter = "," | ";";
export type CsvDecimal = "." | ",";

export function neutralizeFormula(value: string): string {
  return FORMULA_START.test(value) ? `'${value}` : value;
}

/** A number as CSV text: the shortest form that reads back as the same double, with `decimal` as its mark. */
export function csvNumber(value: number, decimal: CsvDecimal = "."): string {
  const text = String(value);
  return decimal === "." ? text : text.replace(".", decimal);
}

export function csvField(value: string | number | null | undefined, delimiter: CsvDelimiter = ",", decimal: CsvDecimal = "."): string {
  if (value === null || value === undefined) return "";
  // Numbers are data, not formulas: -0.05 must stay a number.
  const text = typeof value === "number" ? csvNumber(value, decimal) : neutralizeFormula(value);
  return text.includes(delimiter) || /["\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function toCsvRow(values: ReadonlyArray<string | number | null | undefined>, delimiter: CsvDelimiter = ",", decimal: CsvDecimal = "."): string {
  return values.map((v) => csvField(v, delimiter, decimal)).join(delimiter) + "\r\n";
}
