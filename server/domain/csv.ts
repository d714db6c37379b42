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

/**
 * csvField for long exports, byte for byte the same fields: one test per text field (a single
 * character class for the delimiter, quote and line breaks) instead of a regular expression and
 * an `includes`. Non-finite numbers are empty fields.
 */
export function csvFieldEncoder(delimiter: CsvDelimiter = ",", decimal: CsvDecimal = "."): (value: string | number | null | undefined) => string {
  const needsQuotes = delimiter === "," ? /[",\r\n]/ : /[";\r\n]/;
  return (value) => {
    if (value === null || value === undefined) return "";
    if (typeof value === "number") {
      if (!Number.isFinite(value)) return "";
      if (decimal === ".") return String(value);
      const text = String(value).replace(".", decimal);
      // Only a decimal mark that is also the delimiter needs quotes: a number has no quote or line break.
      return decimal === delimiter && text.includes(delimiter) ? `"${text}"` : text;
    }
    const first = value.charCodeAt(0);
    // = + - @ tab CR: neutralizeFormula's leading apostrophe.
    const text = first === 61 || first === 43 || first === 45 || first === 64 || first === 9 || first === 13 ? `'${value}` : value;
    return needsQuotes.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  };
}

/** toCsvRow for long exports, byte for byte the same rows: one pass per row with csvFieldEncoder's fields instead of a mapped array and a join. */
export function csvRowEncoder(delimiter: CsvDelimiter = ",", decimal: CsvDecimal = "."): (values: ReadonlyArray<string | number | null | undefined>) => string {
  const field = csvFieldEncoder(delimiter, decimal);
  return (values) => {
    let line = field(values[0]);
    for (let i = 1; i < values.length; i++) line += delimiter + field(values[i]);
    return line + "\r\n";
  };
}
