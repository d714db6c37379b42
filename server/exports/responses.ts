import { eq, inArray, min, sql, type SQL } from "drizzle-orm";
import { first, isPostgres, rawValues, type Executor } from "../../db/client.js";
import { listWaves } from "../../db/queries/fieldwork.js";
import { loadQuestionnaire } from "../../db/queries/questionnaire.js";
import { listSegments } from "../../db/queries/studies.js";
import { responses, waves, type Locale, type QualityFlag, type Study } from "../../db/schema.js";
import { localize, scaleValues, type SurveyQuestion } from "../domain/questionnaire.js";
import type { Translate } from "../i18n/index.js";
import { nextChunkSize, type Chunking } from "../services/chunks.js";

/**
 * Raw responses of a study, one row per completed response (excluded ones too, marked), one
 * column per question (one 0/1 column per option of a multi question), read in chunks of at
 * most CHUNK_SIZE responses (one query each, on SQLite or PostgreSQL; sized to a time budget, see
 * CHUNKING) and pivoted while streaming: memory holds one chunk, never the study.
 *
 * Why chunks and not one long cursor: no statement, cursor or transaction stays open while the
 * export waits for a slow client. On SQLite a statement being iterated would make the process's
 * one connection refuse writes (every survey submission); on PostgreSQL it would hold a pooled
 * connection and an old snapshot for as long as the download lasts. So each chunk is one
 * query (keyset pagination on the response id: `id > last ORDER BY id LIMIT n`), its rows are
 * handed to the writer, and only then does the export wait for the client to drain. Responses
 * completed while an export runs may appear in it if their id is still ahead; none is repeated.
 */

export type Cell = string | number | null;

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

/**
 * One chunk: completed responses after `after` in id order, each as one JSON array of its fields
 * and its answers ([question, option, number, text] in question and answer order). Turning
 * column values into JavaScript values one by one is most of an export's cost (a join repeats
 * each response's twelve fields on every one of its ~8 answer rows, and even apart, 810,000
 * answer rows of 5 values took twice the time); the database writes one JSON text per response
 * instead, which JSON.parse reads at native speed. JSON columns go in as their stored text, so the
 * cells are byte for byte what was stored; `excluded` is 0/1 on SQLite and a boolean on PostgreSQL.
 *
 * Each chunk must walk the primary key from `after` and stop at its last row, so the whole export
 * reads each response once (its answers by the (response_id, question_id) index); any other plan
 * makes every chunk sort the rest of the study (quadratic in its size). On SQLite the unary +
 * keeps the planner off the (wave_id, status, …) indexes, which are not in id order. On
 * PostgreSQL the study's waves are an array computed once (= ANY(ARRAY(…))), a filter on that walk:
 * as a subquery (IN (SELECT …)) they made a hash join that read and sorted every remaining
 * response for each chunk (200 ms a chunk at 100,000 responses, 35 ms so).
 */
function chunkQuery(db: Executor, studyId: number, after: number, limit: number): SQL {
  if (isPostgres(db)) {
    return sql`
SELECT json_build_array(r.id, r.wave_id, r.segment_id, r.status, r.excluded, r.excluded_reason, r.started_at, r.completed_at,
       r.duration_ms, r.locale, r.params::text, r.quality_flags::text,
       (SELECT coalesce(json_agg(json_build_array(a.question_id, a.option_id, a.value_number, a.value_text) ORDER BY a.question_id, a.id), '[]'::json)
        FROM answers AS a WHERE a.response_id = r.id))::text
FROM responses AS r
WHERE r.wave_id = ANY(ARRAY(SELECT id FROM waves WHERE study_id = ${studyId})) AND r.status = 'completed' AND r.id > ${after}
ORDER BY r.id
LIMIT ${limit}`;
  }
  return sql`
SELECT json_array(r.id, r.wave_id, r.segment_id, r.status, r.excluded, r.excluded_reason, r.started_at, r.completed_at,
       r.duration_ms, r.locale, r.params, r.quality_flags,
       (SELECT json_group_array(json_array(a.question_id, a.option_id, a.value_number, a.value_text) ORDER BY a.question_id, a.id)
        FROM answers AS a WHERE a.response_id = r.id))
FROM responses AS r
WHERE +r.wave_id IN (SELECT id FROM waves WHERE study_id = ${studyId}) AND +r.status = 'completed' AND r.id > ${after}
ORDER BY r.id
LIMIT ${limit}`;
}

type AnswerCells = [questionId: number, optionId: number | null, valueNumber: number | null, valueText: string | null];

type ChunkRow = [
  id: number,
  waveId: number,
  segmentId: number,
  status: string,
  excluded: number | boolean,
  excludedReason: string | null,
  startedAt: number,
  completedAt: number | null,
  durationMs: number | null,
  locale: string,
  params: string | null,
  qualityFlags: string | null,
  answers: AnswerCells[],
];

/** The study's first response id (by the wave index), where the chunks start; null without responses. */
async function firstResponseId(db: Executor, studyId: number): Promise<number | null> {
  const studyWaves = db.select({ id: waves.id }).from(waves).where(eq(waves.studyId, studyId));
  return first(await db.select({ id: min(responses.id) }).from(responses).where(inArray(responses.waveId, studyWaves)))?.id ?? null;
}

const DAY_MS = 86_400_000;
/** The last millisecond toISOString writes with a four-digit year (9999-12-31T23:59:59.999Z). */
const LAST_PLAIN_MS = 253_402_300_799_999;
const pad2 = (n: number) => (n < 10 ? `0${n}` : String(n));
const pad3 = (n: number) => (n < 10 ? `00${n}` : n < 100 ? `0${n}` : String(n));

/**
 * Date.prototype.toISOString for the export's two times per row, byte for byte: a Date and its
 * formatting per value was a sixth of the export's time. The calendar day is formatted once per
 * day seen (by Date itself), the time of day by arithmetic; anything unusual goes through Date.
 */
function isoFormatter(): (ms: number | null) => string | null {
  const days = new Map<number, string>();
  return (ms) => {
    if (ms === null) return null;
    if (!Number.isInteger(ms) || ms < 0 || ms > LAST_PLAIN_MS) return new Date(ms).toISOString();
    const day = Math.floor(ms / DAY_MS);
    let date = days.get(day);
    if (date === undefined) days.set(day, (date = new Date(day * DAY_MS).toISOString().slice(0, 11)));
    let rest = ms - day * DAY_MS;
    const hours = Math.floor(rest / 3_600_000);
    rest -= hours * 3_600_000;
    const minutes = Math.floor(rest / 60_000);
    rest -= minutes * 60_000;
    const seconds = Math.floor(rest / 1000);
    return `${date}${pad2(hours)}:${pad2(minutes)}:${pad2(seconds)}.${pad3(rest - seconds * 1000)}Z`;
  };
}

function flagCodes(json: string | null): string | null {
  if (json === null) return null;
  try {
    const flags = JSON.parse(json) as QualityFlag[];
    return Array.isArray(flags) ? flags.map((f) => f.code).join(";") : json;
  } catch {
    return json;
  }
}

/**
 * Builds one response's row from its fixed fields and its answers, in the layout's columns. The
 * row array is reused from one response to the next (a million rows allocate nothing per row but
 * their values): a sink that keeps a row copies it.
 */
class Pivot {
  private readonly cells: Cell[];
  private readonly multis: Array<{ questionId: number; first: number; count: number }>;
  private readonly answered = new Set<number>();
  private readonly iso = isoFormatter();
  constructor(private readonly layout: ResponseLayout) {
    this.cells = new Array<Cell>(layout.columns.length).fill(null);
    this.multis = [...layout.placements].flatMap(([questionId, p]) => (p.kind === "multi" ? [{ questionId, first: p.first, count: p.count }] : []));
  }

  start(r: ChunkRow): void {
    const cells = this.cells;
    cells.fill(null);
    this.answered.clear();
    const wave = this.layout.waves.get(r[1]);
    cells[0] = r[0];
    cells[1] = r[1];
    cells[2] = wave?.label ?? null;
    cells[3] = wave?.kind ?? null;
    cells[4] = this.layout.segments.get(r[2]) ?? null;
    cells[5] = r[3];
    cells[6] = r[4] ? 1 : 0;
    cells[7] = r[5];
    cells[8] = this.iso(r[6]);
    cells[9] = this.iso(r[7]);
    cells[10] = r[8] === null ? null : r[8] / 1000;
    cells[11] = r[9];
    cells[12] = r[10];
    cells[13] = flagCodes(r[11]);
  }

  add(questionId: number, optionId: number | null, valueNumber: number | null, valueText: string | null): void {
    const place = this.layout.placements.get(questionId);
    if (!place) return;
    if (place.kind === "multi") {
      this.answered.add(questionId);
      const index = optionId === null ? undefined : place.optionIndex.get(optionId);
      if (index !== undefined) this.cells[index] = 1;
      return;
    }
    const value: Cell =
      place.type === "single"
        ? optionId === null
          ? null
          : (this.layout.optionKeys.get(optionId) ?? null)
        : place.type === "scale"
          ? valueNumber
          : valueText;
    const previous = this.cells[place.index];
    // A single question has one answer row; should there be more, none is lost.
    this.cells[place.index] = previous === null || previous === undefined ? value : `${String(previous)};${String(value)}`;
  }

  finish(): Cell[] {
    for (const m of this.multis) {
      if (!this.answered.has(m.questionId)) continue;
      for (let i = m.first; i < m.first + m.count; i++) this.cells[i] ??= 0;
    }
    return this.cells;
  }
}

export interface ResponseSink {
  /** Receives each response's row, in response id order (the array is reused: copy it to keep it). Synchronous: no awaiting inside a chunk. */
  row(cells: Cell[]): void;
  /** Called between chunks, with no query open: wait here for the client to drain. */
  pause(): Promise<void>;
  /** True when the client went away: the export stops. */
  closed(): boolean;
}

/**
 * Streams every completed response of the layout's study to `sink`, chunk by chunk (see the top
 * of this file). Returns the number of responses written.
 */
export async function streamResponses(db: Executor, layout: ResponseLayout, sink: ResponseSink, chunking: Chunking = CHUNKING): Promise<number> {
  const pivot = new Pivot(layout);
  const start = await firstResponseId(db, layout.studyId);
  if (start === null) return 0;
  let after = start - 1;
  let written = 0;
  let chunkSize = chunking.first;
  for (;;) {
    const began = performance.now();
    const chunk = await rawValues<[string]>(db, chunkQuery(db, layout.studyId, after, chunkSize), { name: "responses_export_chunk" });
    // On PostgreSQL the event loop served others while the query ran: only the pivot holds it.
    const heldFrom = isPostgres(db) ? performance.now() : began;
    if (chunk.length === 0) break;
    for (const [json] of chunk) {
      const r = JSON.parse(json) as ChunkRow;
      pivot.start(r);
      for (const answer of r[12]) pivot.add(answer[0], answer[1], answer[2], answer[3]);
      sink.row(pivot.finish());
      after = r[0];
    }
    written += chunk.length;
    if (chunk.length < chunkSize) break;
    chunkSize = nextChunkSize(chunkSize, performance.now() - heldFrom, chunking);
    await sink.pause();
    if (sink.closed()) break;
  }
  return written;
}
