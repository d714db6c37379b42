import type { AudienceMeasure } from "../../db/schema.js";

/**
 * The CSV a community statistics page exports: a header row, then one row per day with a date and
 * a count (subscribers or reach). Pure: text in, points or per-line errors out; the caller writes
 * nothing unless every line is good, so a half-imported series never reaches the answer.
 */

/** Under the form body limit (100 kB), with room for the other fields; years of daily rows fit. */
export const AUDIENCE_CSV_MAX_CHARS = 90_000;
export const AUDIENCE_CSV_MAX_ROWS = 5_000;
/** More errors than this are summarised: a wrong file shows its first lines, not thousands. */
const MAX_ERRORS = 20;

export interface AudienceCsvPoint {
  /** YYYY-MM-DD */
  day: string;
  count: number;
}

export type AudienceCsvErrorCode =
  | "empty"
  | "tooLarge"
  | "tooManyRows"
  | "noCountColumn"
  | "columns"
  | "date"
  | "count"
  | "duplicate"
  | "moreErrors";

export interface AudienceCsvError {
  code: AudienceCsvErrorCode;
  /** 1-based line of the pasted text; 0 for the file as a whole. */
  line: number;
  /** What was found (the cell, the header, or how many more errors). */
  value?: string;
  /** For "duplicate": the line where the day first appeared. */
  firstLine?: number;
}

export type AudienceCsvResult = { ok: true; points: AudienceCsvPoint[] } | { ok: false; errors: AudienceCsvError[] };

// Header names that mark a column, as VK/Telegram/OK statistics and spreadsheets name them.
const DATE_HEADER = /^(date|day|дата|день|период|period)\b/i;
const MEASURE_HEADERS: Record<AudienceMeasure, RegExp> = {
  subscribers: /subscriber|follower|member|подписчик|участник|аудитори|audience/i,
  reach: /reach|охват/i,
};
const TOTAL_HEADER = /total|всего|итого/i;

export function parseAudienceCsv(text: string, measure: AudienceMeasure): AudienceCsvResult {
  if (text.length > AUDIENCE_CSV_MAX_CHARS) return fail({ code: "tooLarge", line: 0, value: String(AUDIENCE_CSV_MAX_CHARS) });
  const lines = text.replace(/^\uFEFF/, "").split(/\r\n|\n|\r/);
  const numbered = lines.map((raw, i) => ({ raw, line: i + 1 })).filter((l) => l.raw.trim() !== "");
  if (numbered.length === 0) return fail({ code: "empty", line: 0 });
  if (numbered.length > AUDIENCE_CSV_MAX_ROWS + 1) return fail({ code: "tooManyRows", line: 0, value: String(AUDIENCE_CSV_MAX_ROWS) });

  const first = numbered[0]!;
  const separator = detectSeparator(first.raw);
  const firstCells = splitLine(first.raw, separator);
  while (firstCells.length > 2 && firstCells[firstCells.length - 1] === "") firstCells.pop();

  // Columns: two columns are date and count; wider exports are read by their header names.
  let dateColumn = 0;
  let countColumn = 1;
  let hasHeader = !(firstCells.length >= 2 && parseDay(firstCells[0]!) !== null && parseCount(firstCells[1]!) !== null);
  if (firstCells.length > 2) {
    hasHeader = true;
    const found = firstCells.findIndex((c) => DATE_HEADER.test(c));
    dateColumn = found >= 0 ? found : 0;
    const candidates = firstCells.map((c, i) => ({ c, i })).filter(({ c, i }) => i !== dateColumn && MEASURE_HEADERS[measure].test(c));
    const chosen = candidates.find(({ c }) => TOTAL_HEADER.test(c)) ?? candidates[0];
    if (!chosen) return fail({ code: "noCountColumn", line: first.line, value: firstCells.join(separator === "\t" ? " | " : separator) });
    countColumn = chosen.i;
  } else if (firstCells.length < 2) {
    return fail({ code: "columns", line: first.line, value: first.raw.trim().slice(0, 80) });
  }

  const errors: AudienceCsvError[] = [];
  const seen = new Map<string, { line: number; count: number }>();
  const points: AudienceCsvPoint[] = [];
  for (const { raw, line } of hasHeader ? numbered.slice(1) : numbered) {
    const cells = splitLine(raw, separator);
    while (cells.length > firstCells.length && cells[cells.length - 1] === "") cells.pop();
    // More cells than the header has is an unquoted "48,000" split in two: refused, never read as 48.
    if (cells.length <= Math.max(dateColumn, countColumn) || cells.length > firstCells.length) {
      errors.push({ code: "columns", line, value: raw.trim().slice(0, 80) });
      continue;
    }
    const day = parseDay(cells[dateColumn]!);
    const count = parseCount(cells[countColumn]!);
    if (day === null) errors.push({ code: "date", line, value: cells[dateColumn]!.slice(0, 40) });
    if (count === null) errors.push({ code: "count", line, value: cells[countColumn]!.slice(0, 40) });
    if (day === null || count === null) continue;
    const earlier = seen.get(day);
    if (earlier) {
      // The same day twice with the same count is a harmless repeat; with two counts it is ambiguous.
      if (earlier.count !== count) errors.push({ code: "duplicate", line, value: day, firstLine: earlier.line });
      continue;
    }
    seen.set(day, { line, count });
    points.push({ day, count });
  }
  if (errors.length > 0) {
    const shown = errors.slice(0, MAX_ERRORS);
    if (errors.length > MAX_ERRORS) shown.push({ code: "moreErrors", line: 0, value: String(errors.length - MAX_ERRORS) });
    return { ok: false, errors: shown };
  }
  if (points.length === 0) return fail({ code: "empty", line: 0 });
  points.sort((a, b) => (a.day < b.day ? -1 : a.day > b.day ? 1 : 0));
  return { ok: true, points };
}

const fail = (error: AudienceCsvError): AudienceCsvResult => ({ ok: false, errors: [error] });

/** ';' (Russian Excel), tab (copied from a spreadsheet) or ','. Counts never hold ',' unquoted. */
function detectSeparator(header: string): string {
  if (header.includes(";")) return ";";
  if (header.includes("\t")) return "\t";
  return ",";
}

/** One CSV line into trimmed cells; double quotes group a cell ("48,000") and "" is a quote. */
export function splitLine(line: string, separator: string): string[] {
  const cells: string[] = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === separator) {
      cells.push(cell.trim());
      cell = "";
    } else cell += c;
  }
  cells.push(cell.trim());
  return cells;
}

/** YYYY-MM-DD or DD.MM.YYYY (a time after the date is ignored), a real calendar day; else null. */
export function parseDay(cell: string): string | null {
  const s = cell.trim().replace(/[ T]\d{1,2}:\d{2}(:\d{2})?$/, "");
  let m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  let y: number, mo: number, d: number;
  if (m) [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  else {
    m = /^(\d{1,2})\.(\d{1,2})\.(\d{4})$/.exec(s);
    if (!m) return null;
    [d, mo, y] = [Number(m[1]), Number(m[2]), Number(m[3])];
  }
  const date = new Date(Date.UTC(y, mo - 1, d));
  if (y < 1970 || date.getUTCFullYear() !== y || date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d) return null;
  return date.toISOString().slice(0, 10);
}

/**
 * A whole non-negative count; spaces, no-break and thin spaces and apostrophes are thousands
 * separators (48 000, 48 000, 48'000), as exports and spreadsheets write them. ',' or '.' count
 * only in strict groups of three (48,000): a count has no fractions, and "48,5" is refused rather
 * than guessed at.
 */
export function parseCount(cell: string): number | null {
  let s = cell.replace(/[\s\u00A0\u202F\u2009']/g, "");
  if (/^\d{1,3}(,\d{3})+$/.test(s) || /^\d{1,3}(\.\d{3})+$/.test(s)) s = s.replace(/[,.]/g, "");
  if (!/^\d{1,15}$/.test(s)) return null;
  return Number(s);
}
