import type { Locale } from "../../db/schema.js";
import type { CsvDecimal, CsvDelimiter } from "../domain/csv.js";

/**
 * CSV dialects of the results, responses and codebook downloads (`?format=`):
 *
 * - `excel-ru`: ";" between fields, decimal comma — what Excel with Russian regional settings
 *   opens as columns of numbers. The default for a Russian reader of the pages.
 * - `excel-en`: "," and a decimal point. The default for an English reader of the pages.
 * - `raw`: "," and a point, full precision (17 significant digits), fractions 0..1 — for R,
 *   pandas and other tools; the JSON export is full precision too. The default under /api.
 *
 * Both Excel dialects round results for reading: shares, intervals and lifts in percent /
 * percentage points to 0.1, p-values to 4 decimals, counts to integers, money to kopecks/cents;
 * no thousands separators, so every number still parses.
 *
 * The old `delimiter=` parameter still works when `format` is absent: `comma` meant the full
 * precision machine file (→ raw, byte for byte the same as before), `semicolon` meant "for Excel
 * in a ';' locale", which is the Russian Excel dialect.
 */

export const CSV_FORMATS = ["excel-ru", "excel-en", "raw"] as const;
export type CsvFormat = (typeof CSV_FORMATS)[number];

export const LEGACY_DELIMITERS = ["comma", "semicolon"] as const;
export type LegacyDelimiter = (typeof LEGACY_DELIMITERS)[number];

export interface CsvDialect {
  format: CsvFormat;
  delimiter: CsvDelimiter;
  decimal: CsvDecimal;
  /** Rounded for people, with units in the headers; false: full precision, fractions. */
  rounded: boolean;
}

export const CSV_DIALECTS: Readonly<Record<CsvFormat, CsvDialect>> = {
  "excel-ru": { format: "excel-ru", delimiter: ";", decimal: ",", rounded: true },
  "excel-en": { format: "excel-en", delimiter: ",", decimal: ".", rounded: true },
  raw: { format: "raw", delimiter: ",", decimal: ".", rounded: false },
};

export function defaultCsvFormat(locale: Locale): CsvFormat {
  return locale === "ru" ? "excel-ru" : "excel-en";
}

/**
 * `format` when given, else the legacy `delimiter`, else `fallback`: the reader's Excel on the
 * pages (defaultCsvFormat), raw for the JSON API, whose callers are programs that got the full
 * precision comma file before dialects existed and still do.
 */
export function csvDialect(query: { format?: CsvFormat | undefined; delimiter?: LegacyDelimiter | undefined }, fallback: CsvFormat): CsvDialect {
  const format = query.format ?? (query.delimiter === "comma" ? "raw" : query.delimiter === "semicolon" ? "excel-ru" : fallback);
  return CSV_DIALECTS[format];
}

/** `study-7-results-excel-ru.csv`: the dialect is in the name, so two variants never overwrite each other. */
export function csvFileName(studyId: number, name: "results" | "responses" | "codebook", dialect: CsvDialect): string {
  return `study-${studyId}-${name}-${dialect.format}.csv`;
}
