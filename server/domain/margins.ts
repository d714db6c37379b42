import { z } from "zod";
import type { Translate } from "../i18n/index.js";
import { splitLine } from "./audience-csv.js";

/**
 * Weighting targets (DESIGN.md "Weighting"): the population margins of a segment, e.g. the age
 * and gender shares a community's statistics publish. Pure: text or JSON in, checked margins or
 * errors that name their row out; the caller writes nothing unless everything is good.
 *
 * The same rules hold for every way margins arrive (the Weighting page's CSV or JSON, the API,
 * a study definition's `margins`):
 * - the segment is one of the study's (by key), the wave one of its waves (by label; none: every wave);
 * - the variable is a profile question (by key), the level one of its options (by key), never
 *   "prefer not to say" (PREFER_NOT_KEY): the population has no such share;
 * - a share is a fraction (0.42) or a percentage (42%) within [0, 1];
 * - one (segment, wave, variable) gives every level exactly once (0 where nobody is), and its
 *   shares sum to 1 within SHARE_TOLERANCE.
 */

/** The option key of "prefer not to say" in profile questions: a respondent's answer, never a target. */
export const PREFER_NOT_KEY = "prefer_not";
/** How far the shares of one variable may sum from 1 (rounded published figures: 33.3 % × 3). */
export const SHARE_TOLERANCE = 0.001;
/** Under the form body limit (100 kB), with room for the other fields. */
export const MARGINS_MAX_CHARS = 90_000;
/** Levels in one import: 20 segments × a few waves × several variables fit many times over. */
export const MARGINS_MAX_CELLS = 2_000;
/** More errors than this are summarised: a wrong file shows its first problems, not thousands. */
const MAX_ERRORS = 20;

/** Where a value came from, so a message can name it: a CSV line, or an entry (and level) of the JSON. */
export type MarginPlace = { kind: "line"; line: number } | { kind: "entry"; entry: number; level?: string };

/** One level's share as written, before it is checked. */
export interface MarginCell {
  at: MarginPlace;
  segment: string;
  /** A wave's label; null: every wave of the study. */
  wave: string | null;
  variable: string;
  level: string;
  share: string | number;
}

export type MarginErrorCode =
  | "empty"
  | "tooLarge"
  | "tooManyRows"
  | "header"
  | "columns"
  | "json"
  | "shape"
  | "unknownSegment"
  | "unknownWave"
  | "ambiguousWave"
  | "waveInDefinition"
  | "unknownVariable"
  | "notProfile"
  | "unknownLevel"
  | "preferNot"
  | "share"
  | "shareRange"
  | "duplicate"
  | "sum"
  | "missingLevel"
  | "moreErrors";

export interface MarginError {
  code: MarginErrorCode;
  /** The row or entry; null for the text as a whole. */
  at: MarginPlace | null;
  /** What the message quotes (keys as written, the sum, the first line of a duplicate…). */
  values: Record<string, string | number>;
}

/** What margins may name: the study's segment keys, its waves, its questions. */
export interface MarginScope {
  segments: readonly string[];
  /** null: a study definition, which has no waves yet (only margins for every wave). */
  waves: ReadonlyArray<{ id: number; label: string }> | null;
  questions: ReadonlyArray<{ key: string; profile: boolean; options: readonly string[] }>;
}

/** A checked margin: the wave resolved to its id (null: every wave), the share a fraction. */
export interface ValidMargin {
  segment: string;
  waveId: number | null;
  variable: string;
  level: string;
  share: number;
}

/** A (segment, wave) whose margins an import replaces. */
export interface MarginGroup {
  segment: string;
  waveId: number | null;
}

export type MarginValidation = { ok: true; margins: ValidMargin[]; groups: MarginGroup[] } | { ok: false; errors: MarginError[] };

/**
 * A share as written: a number, "0.42", "0,42" or "42%" (also "42 %", "42,5%"); null when it is
 * not a number. Whether it lies in [0, 1] is checked apart, so "142%" is reported as out of range.
 */
export function parseShare(raw: string | number): number | null {
  if (typeof raw === "number") return Number.isFinite(raw) ? raw : null;
  let s = raw.replace(/[\s\u00A0\u202F\u2009]/g, "");
  const percent = s.endsWith("%");
  if (percent) s = s.slice(0, -1);
  // A decimal comma (Russian spreadsheets); "1,000" with a thousands comma is no share anyway.
  if (/^[+-]?\d*,\d+$/.test(s)) s = s.replace(",", ".");
  if (!/^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(s)) return null;
  const n = Number(s);
  return percent ? n / 100 : n;
}

/** What a message lists as the choices: the keys, or a dash when there are none. */
const list = (keys: readonly string[]) => (keys.length ? keys.join(", ") : "—");

/** Checks margins against the study; all errors at once (up to MAX_ERRORS), in the order of the rows. */
export function validateMargins(cells: readonly MarginCell[], scope: MarginScope): MarginValidation {
  const errors: MarginError[] = [];
  if (cells.length === 0) return { ok: false, errors: [{ code: "empty", at: null, values: {} }] };
  if (cells.length > MARGINS_MAX_CELLS) return { ok: false, errors: [{ code: "tooManyRows", at: null, values: { max: MARGINS_MAX_CELLS } }] };

  const segments = new Set(scope.segments);
  const questions = new Map(scope.questions.map((q) => [q.key, q]));
  const seen = new Map<string, MarginPlace>();
  /** (segment, wave, variable) → its cells; a group with a bad cell is not summed. */
  const groups = new Map<string, { segment: string; waveId: number | null; wave: string | null; variable: string; first: MarginPlace; cells: ValidMargin[]; broken: boolean }>();
  const margins: ValidMargin[] = [];

  for (const cell of cells) {
    const fail = (code: MarginErrorCode, values: Record<string, string | number> = {}) => errors.push({ code, at: cell.at, values });
    const before = errors.length;
    const segment = cell.segment.trim();
    const variable = cell.variable.trim();
    const level = cell.level.trim();
    const waveName = cell.wave?.trim() || null;

    if (!segments.has(segment)) fail("unknownSegment", { segment, known: list(scope.segments) });

    let waveId: number | null = null;
    if (waveName !== null) {
      if (scope.waves === null) fail("waveInDefinition", { wave: waveName });
      else {
        const exact = scope.waves.filter((w) => w.label.trim() === waveName);
        const found = exact.length ? exact : scope.waves.filter((w) => w.label.trim().toLowerCase() === waveName.toLowerCase());
        if (found.length === 0) fail("unknownWave", { wave: waveName, known: list(scope.waves.map((w) => w.label)) });
        else if (found.length > 1) fail("ambiguousWave", { wave: waveName });
        else waveId = found[0]!.id;
      }
    }

    const question = questions.get(variable);
    if (!question) fail("unknownVariable", { variable, known: list(scope.questions.filter((q) => q.profile).map((q) => q.key)) });
    else if (!question.profile) fail("notProfile", { variable });
    else if (level === PREFER_NOT_KEY) fail("preferNot", { variable, level });
    else if (!question.options.includes(level)) {
      fail("unknownLevel", { variable, level, known: list(question.options.filter((o) => o !== PREFER_NOT_KEY)) });
    }

    const share = parseShare(cell.share);
    if (share === null) fail("share", { share: String(cell.share) });
    else if (share < 0 || share > 1) fail("shareRange", { share: String(cell.share) });

    const groupKey = JSON.stringify([segment, waveId ?? waveName, variable]);
    const cellKey = JSON.stringify([segment, waveId ?? waveName, variable, level]);
    const earlier = seen.get(cellKey);
    if (earlier) fail("duplicate", { level, first: earlier.kind === "line" ? earlier.line : earlier.entry });
    else seen.set(cellKey, cell.at);

    let group = groups.get(groupKey);
    if (!group) {
      // A whole distribution is named by its first line, or by its entry (not one answer of it).
      const first: MarginPlace = cell.at.kind === "entry" ? { kind: "entry", entry: cell.at.entry } : cell.at;
      group = { segment, waveId, wave: waveName, variable, first, cells: [], broken: false };
      groups.set(groupKey, group);
    }
    if (errors.length > before) {
      group.broken = true;
      continue;
    }
    const margin = { segment, waveId, variable, level, share: share! };
    group.cells.push(margin);
    margins.push(margin);
  }

  for (const group of groups.values()) {
    if (group.broken) continue;
    const question = questions.get(group.variable)!;
    const values = { segment: group.segment, wave: group.wave ?? "", variable: group.variable };
    const given = new Set(group.cells.map((c) => c.level));
    const missing = question.options.filter((o) => o !== PREFER_NOT_KEY && !given.has(o));
    if (missing.length) errors.push({ code: "missingLevel", at: group.first, values: { ...values, levels: missing.join(", ") } });
    const sum = group.cells.reduce((s, c) => s + c.share, 0);
    // ±0.001 inclusive: 33.3 % + 66.6 % is fine, whatever the last bit of the binary sum.
    if (Math.abs(sum - 1) > SHARE_TOLERANCE + 1e-9) errors.push({ code: "sum", at: group.first, values: { ...values, sum } });
  }

  if (errors.length) {
    const order = (e: MarginError) => (e.at === null ? 0 : e.at.kind === "line" ? e.at.line : e.at.entry);
    const sorted = errors.map((e, i) => ({ e, i })).sort((a, b) => order(a.e) - order(b.e) || a.i - b.i).map(({ e }) => e);
    const shown = sorted.slice(0, MAX_ERRORS);
    if (sorted.length > MAX_ERRORS) shown.push({ code: "moreErrors", at: null, values: { count: sorted.length - MAX_ERRORS } });
    return { ok: false, errors: shown };
  }
  const pairs = new Map<string, MarginGroup>();
  for (const m of margins) pairs.set(JSON.stringify([m.segment, m.waveId]), { segment: m.segment, waveId: m.waveId });
  return { ok: true, margins, groups: [...pairs.values()] };
}

// ------------------------------------------------------------------------------------------- CSV

/** Header names of the five columns; Russian ones too, as a spreadsheet made in Russian names them. */
const CSV_COLUMNS = {
  segment: ["segment", "сегмент"],
  wave: ["wave", "волна"],
  variable: ["variable", "переменная", "question", "вопрос"],
  level: ["level", "уровень", "option", "вариант"],
  share: ["share", "доля"],
} as const;
type CsvColumn = keyof typeof CSV_COLUMNS;

export type ParsedMargins = { ok: true; cells: MarginCell[] } | { ok: false; errors: MarginError[] };

/**
 * `segment,wave,variable,level,share`: a header row naming the columns (any order), then one row
 * per level. An empty wave means every wave. Separated by ",", ";" or tabs; quotes group a cell.
 */
export function parseMarginsCsv(text: string): ParsedMargins {
  const fail = (code: MarginErrorCode, at: MarginPlace | null, values: Record<string, string | number> = {}): ParsedMargins => ({ ok: false, errors: [{ code, at, values }] });
  if (text.length > MARGINS_MAX_CHARS) return fail("tooLarge", null, { max: MARGINS_MAX_CHARS });
  const lines = text
    .replace(/^\uFEFF/, "")
    .split(/\r\n|\n|\r/)
    .map((raw, i) => ({ raw, line: i + 1 }))
    .filter((l) => l.raw.trim() !== "");
  if (lines.length === 0) return fail("empty", null);
  if (lines.length > MARGINS_MAX_CELLS + 1) return fail("tooManyRows", null, { max: MARGINS_MAX_CELLS });

  const header = lines[0]!;
  const separator = header.raw.includes(";") ? ";" : header.raw.includes("\t") ? "\t" : ",";
  const names = splitLine(header.raw, separator).map((c) => c.toLowerCase());
  const index = {} as Record<CsvColumn, number>;
  for (const column of Object.keys(CSV_COLUMNS) as CsvColumn[]) {
    const at = names.findIndex((n) => (CSV_COLUMNS[column] as readonly string[]).includes(n));
    if (at < 0) return fail("header", { kind: "line", line: header.line }, { found: header.raw.trim().slice(0, 120) });
    index[column] = at;
  }

  const errors: MarginError[] = [];
  const cells: MarginCell[] = [];
  for (const { raw, line } of lines.slice(1)) {
    const row = splitLine(raw, separator);
    while (row.length > names.length && row[row.length - 1] === "") row.pop();
    // More cells than the header is an unquoted "0,42" split in two: refused, never read as 0.
    if (row.length !== names.length) {
      errors.push({ code: "columns", at: { kind: "line", line }, values: { found: raw.trim().slice(0, 120), expected: names.length } });
      continue;
    }
    cells.push({
      at: { kind: "line", line },
      segment: row[index.segment]!,
      wave: row[index.wave]! || null,
      variable: row[index.variable]!,
      level: row[index.level]!,
      share: row[index.share]!,
    });
  }
  if (errors.length) return { ok: false, errors: errors.slice(0, MAX_ERRORS) };
  if (cells.length === 0) return fail("empty", null);
  return { ok: true, cells };
}

// ------------------------------------------------------------------------------------------ JSON

const shareValue = z.union([z.number(), z.string().max(20)]);

/**
 * One distribution: a segment's shares of one profile variable, for one wave (its label) or for
 * every wave (`wave` null or absent). `shares` maps each level (option key) to its share.
 */
export const marginEntry = z
  .object({
    segment: z.string().max(64),
    wave: z.string().max(200).nullable().optional(),
    variable: z.string().max(64),
    shares: z.record(z.string().max(64), shareValue).refine((shares) => Object.keys(shares).length > 0, "needs at least one level"),
  })
  .strict();
export type MarginEntry = z.output<typeof marginEntry>;

/** `{"margins": [entry, …]}`: what the Weighting page imports and the API reads and writes. */
export const marginsDocument = z.object({ margins: z.array(marginEntry).max(MARGINS_MAX_CELLS) }).strict();

/** The cells of JSON entries, each named by its entry (1-based) and level. */
export function cellsFromEntries(entries: readonly MarginEntry[]): MarginCell[] {
  return entries.flatMap((e, i) =>
    Object.entries(e.shares).map(([level, share]) => ({
      at: { kind: "entry" as const, entry: i + 1, level },
      segment: e.segment,
      wave: e.wave ?? null,
      variable: e.variable,
      level,
      share,
    })),
  );
}

/** A JSON text into cells; a syntax or shape error names where it is. */
export function parseMarginsJson(text: string): ParsedMargins {
  if (text.length > MARGINS_MAX_CHARS) return { ok: false, errors: [{ code: "tooLarge", at: null, values: { max: MARGINS_MAX_CHARS } }] };
  let json: unknown;
  try {
    json = JSON.parse(text.replace(/^\uFEFF/, ""));
  } catch (error) {
    return { ok: false, errors: [{ code: "json", at: null, values: { detail: (error as Error).message } }] };
  }
  return cellsFromDocument(json);
}

/** An already parsed JSON value (the API's body) into cells. */
export function cellsFromDocument(json: unknown): ParsedMargins {
  const parsed = marginsDocument.safeParse(json);
  if (!parsed.success) {
    return {
      ok: false,
      errors: parsed.error.issues
        .flatMap((i) => {
          const [head, entry] = i.path;
          const at: MarginPlace | null = head === "margins" && typeof entry === "number" ? { kind: "entry", entry: entry + 1 } : null;
          // An unknown field is named itself, one error each, so the path says what to remove.
          const paths = i.code === "unrecognized_keys" ? i.keys.map((k) => [...i.path, k]) : [i.path];
          return paths.map((p) => ({ code: "shape" as const, at, values: { path: p.join(".") || "(root)" } }));
        })
        .slice(0, MAX_ERRORS),
    };
  }
  return { ok: true, cells: cellsFromEntries(parsed.data.margins) };
}

/** CSV or JSON, by the first character: a JSON document starts with "{". */
export function parseMarginsText(text: string): ParsedMargins & { format: "csv" | "json" } {
  const json = text.trimStart().replace(/^\uFEFF/, "").startsWith("{");
  return { ...(json ? parseMarginsJson(text) : parseMarginsCsv(text)), format: json ? "json" : "csv" };
}

/** Stored margins as JSON entries, one per (segment, wave, variable), in the order given. */
export function toMarginEntries(rows: ReadonlyArray<{ segment: string; wave: string | null; variable: string; level: string; share: number }>): MarginEntry[] {
  const entries = new Map<string, MarginEntry>();
  for (const r of rows) {
    const key = JSON.stringify([r.segment, r.wave, r.variable]);
    let entry = entries.get(key);
    if (!entry) {
      entry = { segment: r.segment, wave: r.wave, variable: r.variable, shares: {} };
      entries.set(key, entry);
    }
    entry.shares[r.level] = r.share;
  }
  return [...entries.values()];
}

// -------------------------------------------------------------------------------------- messages

/** Where an error is, as a reader says it: "Line 3", "Entry 2, level “female”". */
export function marginPlaceText(at: MarginPlace, t: Translate): string {
  if (at.kind === "line") return t("weighting.where.line", { line: at.line });
  return at.level !== undefined ? t("weighting.where.entryLevel", { entry: at.entry, level: at.level }) : t("weighting.where.entry", { entry: at.entry });
}

/**
 * An error as a sentence in the reader's language, led by its row ("Line 3: …") unless `withPlace`
 * is false (a study definition names the place by its JSON path instead).
 */
export function marginErrorMessage(e: MarginError, t: Translate, withPlace = true): string {
  const v = e.values;
  const group =
    typeof v["variable"] === "string" && typeof v["segment"] === "string"
      ? t(v["wave"] ? "weighting.group.wave" : "weighting.group.allWaves", { segment: v["segment"], wave: v["wave"], variable: v["variable"] })
      : "";
  const key = e.code === "duplicate" && e.at?.kind === "entry" ? "duplicateEntry" : e.code;
  const body = t(`weighting.errors.${key}`, { ...v, group });
  return withPlace && e.at ? `${marginPlaceText(e.at, t)}: ${body}` : body;
}
