/**
 * CSV as RFC 4180 (CRLF line ends, fields quoted when they hold the delimiter, a quote or a
 * line break), with spreadsheet formula injection neutralised: a cell that begins with
 * = + - @ tab or CR gets a leading apostrophe, so Excel shows it as text instead of running it.
 */

const FORMULA_START = /^[=+\-@\t\r]/;

export function neutralizeFormula(value: string): string {
  return FORMULA_START.test(value) ? `'${value}` : value;
}

export function csvField(value: string | number | null | undefined, delimiter = ","): string {
  if (value === null || value === undefined) return "";
  // Numbers are data, not formulas: -0.05 must stay a number.
  const text = typeof value === "number" ? String(value) : neutralizeFormula(value);
  return text.includes(delimiter) || /["\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function toCsvRow(values: ReadonlyArray<string | number | null | undefined>, delimiter = ","): string {
  return values.map((v) => csvField(v, delimiter)).join(delimiter) + "\r\n";
}
