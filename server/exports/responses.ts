import type { Executor } from "../../db/client.js";
import { listWaves } from "../../db/queries/fieldwork.js";
import { loadQuestionnaire } from "../../db/queries/questionnaire.js";
import { listSegments } from "../../db/queries/studies.js";
import type { Locale, QualityFlag, Study } from "../../db/schema.js";
import { localize, scaleValues, type SurveyQuestion } from "../domain/questionnaire.js";
import type { Translate } from "../i18n/index.js";
import type { Chunking } from "../services/chunks.js";
import { readResponseChunks, type AnswerValues, type ChunkPauses, type ResponseChunk } from "./response-chunks.js";

/**
 * Raw responses of a study, one row per completed response (excluded ones too, marked), one
 * column per question (one 0/1 column per option of a multi question), read in chunks of at
 * most CHUNK_SIZE responses (one query each, on SQLite or PostgreSQL; sized to a time budget, see
 * CHUNKING; response-chunks.ts) and pivoted while streaming: memory holds one chunk, never the study.
 */

export type Cell = string | number | null;

/** Every exported response's status: only completed responses are read. */
const COMPLETED = "completed";

/** Columns before the questions, named for analysis tools (described in the codebook). */
export const FIXED_COLUMNS = [
  "response_id",
  "wave_id",
  "wave",
  "wave_kind",
  "segment",
  "status",
  "excluded",
  "excluded_reason",
  "started_at",
  "completed_at",
  "duration_s",
  "locale",
  "params",
  "quality_flags",
] as const;

/** The most responses one chunk reads. */
export const CHUNK_SIZE = 500;

/**
 * A chunk is one task on the event loop that serves respondents (on SQLite its query too: the
 * driver is synchronous), so its size follows the time it took rather than a count: 500
 * responses took up to 117 ms on a loaded machine, ~15 ms leaves room for the chunk's write and
 * for a survey request queued behind it. Never fewer than 100: each chunk waits for a turn of the
 * event loop, and on a busy loop (a loaded machine makes every chunk look slow) chunks of 20 made
 * a 10 MB export take minutes. The output is the same whatever the sizes.
 */
export const CHUNKING: Chunking = { first: 100, min: 100, max: CHUNK_SIZE, budgetMs: 15 };

export interface CodebookRow {
  column: string;
  questionKey: string;
  questionText: string;
  optionKey: string;
  optionText: string;
  type: string;
  values: string;
  metric: string;
}

type Placement =
  | { kind: "value"; type: "single" | "scale" | "text"; index: number }
  | { kind: "multi"; first: number; count: number; optionIndex: Map<number, number> };

export interface ResponseLayout {
  studyId: number;
  columns: string[];
  codebook: CodebookRow[];
  placements: Map<number, Placement>;
  /** Option id → key, for single-choice answers. */
  optionKeys: Map<number, string>;
  waves: Map<number, { label: string; kind: string }>;
  segments: Map<number, string>;
}

/** Column names, the codebook (texts in `locale`) and where each question's answers go. */
export async function responseLayout(db: Executor, study: Study, locale: Locale, t: Translate): Promise<ResponseLayout> {
  const questions = await loadQuestionnaire(db, study.id);
  const text = (value: Parameters<typeof localize>[0]) => localize(value, locale, study.defaultLocale);
  const columns: string[] = [];
  const taken = new Set<string>();
  const add = (wanted: string): string => {
    let name = wanted;
    for (let i = 2; taken.has(name); i++) name = `${wanted}_${i}`;
    taken.add(name);
    columns.push(name);
    return name;
  };
  const codebook: CodebookRow[] = [];
  const blank = { questionKey: "", optionKey: "", optionText: "", type: "", values: "", metric: "" };
  for (const fixed of FIXED_COLUMNS) {
    add(fixed);
    codebook.push({ ...blank, column: fixed, questionText: t(`exports.codebook.fixed.${fixed}`) });
  }
  const placements = new Map<number, Placement>();
  for (const q of questions) {
    const base = {
      questionKey: q.key,
      questionText: text(q.text),
      type: t(`exports.codebook.types.${q.type}`),
      metric: q.metricName ?? "",
    };
    if (q.type === "multi") {
      const optionIndex = new Map<number, number>();
      const first = columns.length;
      for (const o of q.options) {
        optionIndex.set(o.id, columns.length);
        const column = add(`${q.key}_${o.key}`);
        codebook.push({ ...base, column, optionKey: o.key, optionText: text(o.text), values: t("exports.codebook.valuesMulti") });
      }
      placements.set(q.id, { kind: "multi", first, count: q.options.length, optionIndex });
    } else {
      const index = columns.length;
      const column = add(q.key);
      codebook.push({ ...base, column, optionKey: "", optionText: "", values: valuesText(q, t, text) });
      placements.set(q.id, { kind: "value", type: q.type, index });
    }
  }
  return {
    studyId: study.id,
    columns,
    codebook,
    placements,
    optionKeys: new Map(questions.flatMap((q) => q.options.map((o) => [o.id, o.key] as const))),
    waves: new Map((await listWaves(db, study.id)).map((w) => [w.id, { label: w.label, kind: w.kind }])),
    segments: new Map((await listSegments(db, study.id)).map((s) => [s.id, s.key])),
  };
}

function valuesText(q: SurveyQuestion, t: Translate, text: (v: SurveyQuestion["text"]) => string): string {
  if (q.type === "single") {
    return `${t("exports.codebook.valuesSingle")}: ${q.options.map((o) => `${o.key} = ${text(o.text)}`).join("; ")}`;
  }
  if (q.type === "scale") {
    const values = scaleValues(q);
    return t("exports.codebook.valuesScale", { min: values[0], max: values[values.length - 1] });
  }
  return t("exports.codebook.valuesText");
}

/** The codebook as rows of cells, with a header row of `t` labels. */
export function codebookRows(layout: ResponseLayout, t: Translate): Cell[][] {
  const c = (key: string) => t(`exports.codebook.${key}`);
  return [
    [c("column"), c("question"), c("questionText"), c("option"), c("optionText"), c("type"), c("values"), c("metric")],
    ...layout.codebook.map((r) => [r.column, r.questionKey, r.questionText, r.optionKey, r.optionText, r.type, r.values, r.metric]),
  ];
}

const DAY_MS = 86_400_000;
/** The last millisecond toISOString writes with a four-digit year (9999-12-31T23:59:59.999Z). */
const LAST_PLAIN_MS = 253_402_300_799_999;
const pad2 = (n: number) => (n < 10 ? `0${n}` : String(n));
const pad3 = (n: number) => (n < 10 ? `00${n}` : n < 100 ? `0${n}` : String(n));
/** Whether toISOString writes `ms` plainly (a four-digit year, no sign): such a text never needs quoting or neutralising in a CSV. */
export const isPlainIsoTime = (ms: number): boolean => Number.isInteger(ms) && ms >= 0 && ms <= LAST_PLAIN_MS;
/** "000Z" … "999Z": the end of every ISO time. */
const MILLIS = Array.from({ length: 1000 }, (_, ms) => `${pad3(ms)}Z`);

/**
 * Date.prototype.toISOString for the export's two times per row, byte for byte: a Date and its
 * formatting per value was a sixth of the export's time. The calendar day is formatted once per
 * day seen (by Date itself), the time of day to the second once per second of the day seen, the
 * milliseconds from a table: three pieces per time. Anything unusual goes through Date.
 */
export function isoFormatter(): (ms: number | null) => string | null {
  const days = new Map<number, string>();
  const seconds: Array<string | undefined> = new Array<string | undefined>(86_400);
  return (ms) => {
    if (ms === null) return null;
    if (!isPlainIsoTime(ms)) return new Date(ms).toISOString();
    const day = Math.floor(ms / DAY_MS);
    let date = days.get(day);
    if (date === undefined) days.set(day, (date = new Date(day * DAY_MS).toISOString().slice(0, 11)));
    const rest = ms - day * DAY_MS;
    const second = Math.floor(rest / 1000);
    let time = seconds[second];
    if (time === undefined) {
      const hours = Math.floor(second / 3600);
      const minutes = Math.floor((second - hours * 3600) / 60);
      seconds[second] = time = `${pad2(hours)}:${pad2(minutes)}:${pad2(second - hours * 3600 - minutes * 60)}.`;
    }
    return date + time + MILLIS[rest - second * 1000]!;
  };
}

/** The quality flags' codes, ";"-separated, from their stored JSON (the text itself when it is not a list of flags). */
export function flagCodes(json: string | null): string | null {
  if (json === null) return null;
  try {
    const flags = JSON.parse(json) as QualityFlag[];
    return Array.isArray(flags) ? flags.map((f) => f.code).join(";") : json;
  } catch {
    return json;
  }
}

/** A value question's cell after one more answer to it: the values joined by ";" (a value question has one answer; should there be more, none is lost). */
export function foldAnswer(cell: Cell, value: Cell): Cell {
  return cell === null ? value : `${String(cell)};${String(value)}`;
}

/** A single question's cell: its option's key. */
export function singleValue(layout: ResponseLayout, optionId: number | null): string | null {
  return optionId === null ? null : (layout.optionKeys.get(optionId) ?? null);
}

/** Where a question's answers go: a value question's column, or a multi question's 0/1 columns (its slot numbers the multi questions, for per-row marks). */
export type AnswerSlot =
  | { multi: false; type: "single" | "scale" | "text"; index: number }
  | { multi: true; slot: number; first: number; count: number; optionIndex: Map<number, number> };

/** The layout's value questions by type: the chunks carry scale answers as numbers and text answers as texts (and these with the singles have one answer each: orderRepeated). */
export function answerValues(layout: ResponseLayout): AnswerValues {
  const values: AnswerValues = { single: [], scale: [], text: [] };
  for (const [questionId, p] of layout.placements) if (p.kind === "value") values[p.type].push(questionId);
  return values;
}

/** Each question's slot by question id (one lookup per answer), and how many are multi questions. */
export interface AnswerPlan {
  slots: Map<number, AnswerSlot>;
  multis: number;
}

export function answerPlan(layout: ResponseLayout): AnswerPlan {
  const slots = new Map<number, AnswerSlot>();
  let multis = 0;
  for (const [questionId, p] of layout.placements) {
    slots.set(questionId, p.kind === "multi" ? { multi: true, slot: multis++, first: p.first, count: p.count, optionIndex: p.optionIndex } : { multi: false, type: p.type, index: p.index });
  }
  return { slots, multis };
}

/**
 * Builds one response's row from a chunk, in the layout's columns. The row array is reused from
 * one response to the next (a million rows allocate nothing per row but their values): a sink
 * that keeps a row copies it.
 */
class Pivot {
  private readonly cells: Cell[];
  private readonly plan: AnswerPlan;
  /** The row each value column and each multi question was last answered in (no clearing per row). */
  private readonly valueSeen: Int32Array;
  private readonly multiSeen: Int32Array;
  private serial = 0;
  private readonly iso = isoFormatter();
  constructor(private readonly layout: ResponseLayout) {
    this.cells = new Array<Cell>(layout.columns.length).fill(null);
    this.plan = answerPlan(layout);
    this.valueSeen = new Int32Array(layout.columns.length);
    this.multiSeen = new Int32Array(this.plan.multis);
  }

  row(c: ResponseChunk, k: number): Cell[] {
    const cells = this.cells;
    const serial = ++this.serial;
    cells.fill(null);
    const wave = this.layout.waves.get(c.waveIds[k]!);
    cells[0] = c.ids[k]!;
    cells[1] = c.waveIds[k]!;
    cells[2] = wave?.label ?? null;
    cells[3] = wave?.kind ?? null;
    cells[4] = this.layout.segments.get(c.segmentIds[k]!) ?? null;
    cells[5] = COMPLETED;
    cells[6] = c.excluded[k] ? 1 : 0;
    cells[7] = c.excludedReasons[k]!;
    cells[8] = this.iso(c.startedAt[k]!);
    cells[9] = this.iso(c.completedAt[k]!);
    const durationMs = c.durationMs[k]!;
    cells[10] = durationMs === null ? null : durationMs / 1000;
    cells[11] = c.locales[k]!;
    cells[12] = c.params[k]!;
    cells[13] = flagCodes(c.qualityFlags[k]!);
    const { questionIds, values } = c.answers;
    for (let i = c.answerStart[k]!, end = c.answerStart[k + 1]!; i < end; i++) {
      const place = this.plan.slots.get(questionIds[i]!);
      if (!place) continue;
      if (place.multi) {
        if (this.multiSeen[place.slot] !== serial) {
          this.multiSeen[place.slot] = serial;
          for (let column = place.first; column < place.first + place.count; column++) cells[column] = 0;
        }
        const index = place.optionIndex.get(values[i] as number);
        if (index !== undefined) cells[index] = 1;
        continue;
      }
      const value: Cell = place.type === "single" ? singleValue(this.layout, values[i] as number | null) : values[i]!;
      // Several answers come in answer id order (orderRepeated).
      cells[place.index] = this.valueSeen[place.index] === serial ? foldAnswer(cells[place.index]!, value) : value;
      this.valueSeen[place.index] = serial;
    }
    return cells;
  }
}

export interface ResponseSink extends ChunkPauses {
  /** Receives each response's row, in response id order (the array is reused: copy it to keep it). Synchronous: no awaiting inside a chunk. */
  row(cells: Cell[]): void;
}

/**
 * Streams every completed response of the layout's study to `sink` as rows of cells, chunk by
 * chunk (see the top of this file). Returns the number of responses written.
 */
export async function streamResponses(db: Executor, layout: ResponseLayout, sink: ResponseSink, chunking: Chunking = CHUNKING): Promise<number> {
  const pivot = new Pivot(layout);
  const each = (chunk: ResponseChunk) => {
    for (let k = 0; k < chunk.length; k++) sink.row(pivot.row(chunk, k));
  };
  return readResponseChunks(db, layout.studyId, answerValues(layout), each, sink, chunking);
}
