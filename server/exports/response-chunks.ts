import { and, asc, eq, gt, inArray, lte, min, sql, type SQL } from "drizzle-orm";
import { first, isPostgres, rawValues, type Executor } from "../../db/client.js";
import { answers, responses, waves } from "../../db/schema.js";
import { nextChunkSize, type Chunking } from "../services/chunks.js";

/**
 * The raw-responses exports' reading: every completed response of a study (excluded ones too), in
 * id order, in chunks, each chunk a ResponseChunk of columns.
 *
 * Why chunks and not one long cursor: no statement, cursor or transaction stays open while the
 * export waits for a slow client. On SQLite a statement being iterated would make the process's
 * one connection refuse writes (every survey submission); on PostgreSQL it would hold a pooled
 * connection and an old snapshot for as long as the download lasts. So each chunk is one
 * query (keyset pagination on the response id: `id > last ORDER BY id LIMIT n`), its rows are
 * handed over, and only then does the export wait for the client to drain. Responses completed
 * while an export runs may appear in it if their id is still ahead; none is repeated.
 *
 * Each chunk is one query answering two JSON texts: the page's responses as one array per field,
 * and their answers as three arrays: response id, question id and value (AnswerValues). Turning column values
 * into JavaScript values one by one is most of an export's cost (a join repeats each response's
 * fields on every one of its ~8 answer rows, and 810,000 answer rows of 5 values took twice the
 * time of JSON); a JSON text per response cost a JSON.parse call and six small arrays each; eleven
 * plus three arrays a chunk are parsed at native speed, ~35 % faster, and SQLite builds them in
 * ~10 % less time (PostgreSQL alike). JSON columns go in as their stored text, so the cells are
 * byte for byte what was stored; `excluded` is 0/1 on SQLite and a boolean on PostgreSQL. The
 * status is not read: every row is a completed response.
 *
 * The page must walk the primary key from `after` and stop at its last row, so the whole export
 * reads each response once, and its answers by the (response_id, question_id) index, one probe a
 * response; any other plan makes every chunk sort the rest of the study (quadratic in its size).
 * On SQLite the unary + keeps the planner off the (wave_id, status, …) indexes, which are not in
 * id order, and CROSS JOIN keeps the page on the outside of the answers' join (SQLite chose to
 * scan every answer of the database for each chunk). On PostgreSQL the study's waves are an array
 * computed once (= ANY(ARRAY(…))), a filter on that walk: as a subquery (IN (SELECT …)) they made
 * a hash join that read and sorted every remaining response for each chunk (200 ms a chunk at
 * 100,000 responses, 35 ms so).
 *
 * The aggregates have no ORDER BY (it made SQLite sort each in a temporary B-tree): the arrays
 * come in the order the rows were read, which is the page's, and parseChunk checks that (and
 * sorts when it is not so). Within a response the order shows only where a single, scale or text
 * question has several answers (the pivot joins them in answer id order): those responses'
 * answers are read again in that order (orderRepeated), which costs nothing when there are none,
 * as the app stores one answer per such question; answer ids for every answer were a quarter of
 * the values the database wrote.
 */
export function chunkQuery(db: Executor, studyId: number, values: AnswerValues, after: number, limit: number): SQL {
  const scale = JSON.stringify(values.scale);
  const text = JSON.stringify(values.text);
  if (isPostgres(db)) {
    return sql`
WITH page AS MATERIALIZED (
  SELECT r.id, r.wave_id, r.segment_id, r.excluded, r.excluded_reason, r.started_at, r.completed_at, r.duration_ms, r.locale,
         r.params::text AS params, r.quality_flags::text AS quality_flags
  FROM responses AS r
  WHERE r.wave_id = ANY(ARRAY(SELECT id FROM waves WHERE study_id = ${studyId})) AND r.status = 'completed' AND r.id > ${after}
  ORDER BY r.id
  LIMIT ${limit})
SELECT
  (SELECT json_build_array(array_agg(id), array_agg(wave_id), array_agg(segment_id), array_agg(excluded), array_agg(excluded_reason),
          array_agg(started_at), array_agg(completed_at), array_agg(duration_ms), array_agg(locale), array_agg(params), array_agg(quality_flags))
   FROM page)::text,
  (SELECT json_build_array(array_agg(a.response_id), array_agg(a.question_id),
          json_agg(CASE WHEN a.question_id = ANY(ARRAY(SELECT json_array_elements_text(${scale}::json)::bigint)) THEN to_json(a.value_number)
                        WHEN a.question_id = ANY(ARRAY(SELECT json_array_elements_text(${text}::json)::bigint)) THEN to_json(a.value_text)
                        ELSE to_json(a.option_id) END))
   FROM page AS p JOIN answers AS a ON a.response_id = p.id)::text`;
  }
  return sql`
WITH page AS MATERIALIZED (
  SELECT r.id, r.wave_id, r.segment_id, r.excluded, r.excluded_reason, r.started_at, r.completed_at, r.duration_ms, r.locale, r.params, r.quality_flags
  FROM responses AS r
  WHERE +r.wave_id IN (SELECT id FROM waves WHERE study_id = ${studyId}) AND +r.status = 'completed' AND r.id > ${after}
  ORDER BY r.id
  LIMIT ${limit})
SELECT
  (SELECT json_array(json_group_array(id), json_group_array(wave_id), json_group_array(segment_id), json_group_array(excluded), json_group_array(excluded_reason),
          json_group_array(started_at), json_group_array(completed_at), json_group_array(duration_ms), json_group_array(locale), json_group_array(params),
          json_group_array(quality_flags))
   FROM page),
  (SELECT json_array(json_group_array(a.response_id), json_group_array(a.question_id),
          json_group_array(CASE WHEN a.question_id IN (SELECT value FROM json_each(${scale})) THEN a.value_number
                                WHEN a.question_id IN (SELECT value FROM json_each(${text})) THEN a.value_text
                                ELSE a.option_id END))
   FROM page AS p CROSS JOIN answers AS a ON a.response_id = p.id)`;
}

/**
 * Which questions' answers are a number or a text (scale and text questions); every other
 * answer's value is its option id (single and multi questions, and questions the layout does
 * not have, whose answers are not exported). One value per answer instead of three: the
 * database spends its time writing values, two of every three of them null. `single` completes
 * the questions with one answer each (see orderRepeated).
 */
export interface AnswerValues {
  single: number[];
  scale: number[];
  text: number[];
}

/**
 * A chunk's answers, grouped by response in the chunk's order: response k's are at answerStart[k]
 * … answerStart[k + 1] - 1; a response with several answers to one single, scale or text question
 * has its answers in answer id order (orderRepeated).
 */
export interface ChunkAnswers {
  questionIds: number[];
  /** The option id, the number or the text (see AnswerValues). */
  values: Array<number | string | null>;
}

/** Consecutive completed responses, one array per field, in id order. */
export interface ResponseChunk {
  length: number;
  ids: number[];
  waveIds: number[];
  segmentIds: number[];
  excluded: Array<number | boolean>;
  excludedReasons: Array<string | null>;
  startedAt: number[];
  completedAt: Array<number | null>;
  durationMs: Array<number | null>;
  locales: string[];
  /** The stored JSON text. */
  params: Array<string | null>;
  /** The stored JSON text. */
  qualityFlags: Array<string | null>;
  answerStart: Int32Array;
  answers: ChunkAnswers;
}

type ResponseColumns = [
  ids: number[],
  waveIds: number[],
  segmentIds: number[],
  excluded: Array<number | boolean>,
  excludedReasons: Array<string | null>,
  startedAt: number[],
  completedAt: Array<number | null>,
  durationMs: Array<number | null>,
  locales: string[],
  params: Array<string | null>,
  qualityFlags: Array<string | null>,
];

type AnswerColumns = [responseIds: number[], questionIds: number[], values: Array<number | string | null>];

/** The columns in the order of `order` (indexes into them). */
function reordered<T extends unknown[]>(columns: T, order: readonly number[]): T {
  return columns.map((column) => order.map((i) => (column as unknown[])[i])) as T;
}

/**
 * A chunk from its query's two JSON texts (PostgreSQL's array_agg gives null where SQLite gives
 * an empty array). The database hands the arrays in the page's order, its answers grouped by
 * response in that order; should a plan ever do otherwise, they are sorted here, so the output
 * never depends on it.
 */
export function parseChunk(responsesJson: string | null, answersJson: string | null): ResponseChunk {
  const empty = () => [] as never[];
  let r = (responsesJson === null ? null : (JSON.parse(responsesJson) as ResponseColumns | null[])) ?? [];
  if (r[0] === null || r[0] === undefined) r = Array.from({ length: 11 }, empty) as unknown as ResponseColumns;
  let columns = r as ResponseColumns;
  let a = (answersJson === null ? null : (JSON.parse(answersJson) as AnswerColumns | null[])) ?? [];
  if (a[0] === null || a[0] === undefined) a = Array.from({ length: 3 }, empty) as unknown as AnswerColumns;
  let answers = a as AnswerColumns;

  const ids = columns[0];
  const length = ids.length;
  for (let k = 1; k < length; k++) {
    if (ids[k]! > ids[k - 1]!) continue;
    const order = Array.from({ length }, (_, i) => i).sort((x, y) => ids[x]! - ids[y]!);
    columns = reordered(columns, order);
    break;
  }
  const answerStart = new Int32Array(length + 1);
  if (!groupInOrder(columns[0], answers[0], answerStart)) {
    const position = new Map(columns[0].map((id, k) => [id, k]));
    const order = answers[0].map((_, i) => i).sort((x, y) => position.get(answers[0][x]!)! - position.get(answers[0][y]!)!);
    answers = reordered(answers, order);
    groupInOrder(columns[0], answers[0], answerStart);
  }
  const [sortedIds, waveIds, segmentIds, excluded, excludedReasons, startedAt, completedAt, durationMs, locales, params, qualityFlags] = columns;
  const [, questionIds, values] = answers;
  return {
    length,
    ids: sortedIds,
    waveIds,
    segmentIds,
    excluded,
    excludedReasons,
    startedAt,
    completedAt,
    durationMs,
    locales,
    params,
    qualityFlags,
    answerStart,
    answers: { questionIds, values },
  };
}

/** Fills `start` when the answers' response ids follow the responses' order, grouped; false otherwise. */
function groupInOrder(ids: readonly number[], responseIds: readonly number[], start: Int32Array): boolean {
  let k = 0;
  for (let i = 0; i < responseIds.length; i++) {
    const id = responseIds[i]!;
    while (k < ids.length && ids[k] !== id) start[++k] = i;
    if (k === ids.length) return false;
  }
  while (k < ids.length) start[++k] = responseIds.length;
  return true;
}

/**
 * The chunk with the answers of every response that has several answers to one single, scale or
 * text question read again, in (question, answer id) order: the order in which the pivot joins
 * them. Such responses are found by one look-up per answer; none, and the chunk is returned as is.
 */
export async function orderRepeated(db: Executor, chunk: ResponseChunk, values: AnswerValues): Promise<ResponseChunk> {
  const slots = new Map<number, number>([...values.single, ...values.scale, ...values.text].map((id, slot) => [id, slot]));
  const answeredBy = new Int32Array(slots.size).fill(-1);
  const { questionIds } = chunk.answers;
  const repeated: number[] = [];
  for (let k = 0; k < chunk.length; k++) {
    for (let i = chunk.answerStart[k]!, end = chunk.answerStart[k + 1]!; i < end; i++) {
      const slot = slots.get(questionIds[i]!);
      if (slot === undefined) continue;
      if (answeredBy[slot] !== k) answeredBy[slot] = k;
      else if (repeated[repeated.length - 1] !== k) repeated.push(k);
    }
  }
  if (repeated.length === 0) return chunk;
  const rows = await db
    .select({ responseId: answers.responseId, questionId: answers.questionId, optionId: answers.optionId, valueNumber: answers.valueNumber, valueText: answers.valueText })
    .from(answers)
    .where(inArray(answers.responseId, repeated.map((k) => chunk.ids[k]!)))
    .orderBy(asc(answers.responseId), asc(answers.questionId), asc(answers.id));
  const [scale, text] = [new Set(values.scale), new Set(values.text)];
  const again = new Map<number, typeof rows>();
  for (const row of rows) {
    const list = again.get(row.responseId);
    if (list) list.push(row);
    else again.set(row.responseId, [row]);
  }
  const ordered: ChunkAnswers = { questionIds: [], values: [] };
  const answerStart = new Int32Array(chunk.length + 1);
  for (let k = 0; k < chunk.length; k++) {
    answerStart[k] = ordered.questionIds.length;
    const read = repeated.includes(k) ? again.get(chunk.ids[k]!) : undefined;
    if (read) {
      for (const row of read) {
        ordered.questionIds.push(row.questionId);
        ordered.values.push(scale.has(row.questionId) ? row.valueNumber : text.has(row.questionId) ? row.valueText : row.optionId);
      }
      continue;
    }
    for (let i = chunk.answerStart[k]!, end = chunk.answerStart[k + 1]!; i < end; i++) {
      ordered.questionIds.push(questionIds[i]!);
      ordered.values.push(chunk.answers.values[i]!);
    }
  }
  answerStart[chunk.length] = ordered.questionIds.length;
  return { ...chunk, answerStart, answers: ordered };
}

/** The walk to a study's first response on SQLite: ids per step, and steps before the wave index is asked. */
export interface FirstResponseWalk {
  ids: number;
  steps: number;
}

/** ~5 ms a step (a row checked in ~0.25 µs), 200,000 ids at most. */
export const FIRST_RESPONSE_WALK: FirstResponseWalk = { ids: 20_000, steps: 10 };

/**
 * The study's first response id, where the chunks start; null without responses. Its waves'
 * index gives it in one statement that reads an entry for every response of the study (100-200
 * ms of the event loop at 1,000,000 responses, on SQLite's synchronous driver). A study's
 * responses usually start early in the table, so on SQLite the primary key is walked first, a
 * range of ids a turn of the event loop, and the waves' index asked only past the walk (a study
 * begun after a long history of others). PostgreSQL's reading does not hold the event loop.
 */
export async function firstResponseId(db: Executor, studyId: number, walk: FirstResponseWalk = FIRST_RESPONSE_WALK): Promise<number | null> {
  const studyWaves = db.select({ id: waves.id }).from(waves).where(eq(waves.studyId, studyId));
  if (!isPostgres(db)) {
    for (let step = 0; step < walk.steps; step++) {
      const range = and(gt(responses.id, step * walk.ids), lte(responses.id, (step + 1) * walk.ids));
      // The unary + keeps SQLite on the primary key (the waves' index is the slow way this avoids).
      const found = first(await db.select({ id: min(responses.id) }).from(responses).where(and(range, inArray(sql`+${responses.waveId}`, studyWaves))))?.id;
      if (found !== undefined && found !== null) return found;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  return first(await db.select({ id: min(responses.id) }).from(responses).where(inArray(responses.waveId, studyWaves)))?.id ?? null;
}

/** What the reading loop asks between chunks. */
export interface ChunkPauses {
  /** Called once a chunk's rows are handed out, before its time is taken: what is done here counts in the chunk's time (a write that need not wait). */
  chunkEnd?(): void;
  /** Called between chunks, with no query open: wait here for the client to drain. */
  pause(): Promise<void>;
  /** True when the client went away: the export stops. */
  closed(): boolean;
}

/**
 * Reads every completed response of the study, chunk by chunk (sized by `chunking` to the time
 * each held the event loop), handing each chunk to `each`; between chunks, `between.pause`.
 * Returns the number of responses read.
 *
 * On PostgreSQL the next chunk is asked for as soon as one arrives, so the database writes it
 * while this process handles the last one (each waited for the other: the export took their sum,
 * now about the longer of the two). Such a chunk was asked for before the pause that follows the
 * last one: should it end the export (short of its size), one more chunk is asked for after that
 * pause, so whatever was written meanwhile is read as before. SQLite's driver is synchronous:
 * there is nothing to overlap, and each chunk is read when it is handled.
 */
export async function readResponseChunks(db: Executor, studyId: number, values: AnswerValues, each: (chunk: ResponseChunk) => void, between: ChunkPauses, chunking: Chunking): Promise<number> {
  const start = await firstResponseId(db, studyId);
  if (start === null) return 0;
  const ahead = isPostgres(db);
  const fetch = async (after: number, size: number): Promise<ResponseChunk> => {
    const [texts] = await rawValues<[string | null, string | null]>(db, chunkQuery(db, studyId, values, after, size), { name: "responses_export_chunk" });
    return orderRepeated(db, parseChunk(texts?.[0] ?? null, texts?.[1] ?? null), values);
  };
  const ask = (after: number, size: number, early: boolean) => {
    const chunk = fetch(after, size);
    // Handled when awaited; until then a failure must not count as unhandled.
    chunk.catch(() => undefined);
    return { chunk, size, early };
  };
  let after = start - 1;
  let read = 0;
  let size = chunking.first;
  let next: ReturnType<typeof ask> | null = null;
  for (;;) {
    const began = performance.now();
    const asked: ReturnType<typeof ask> = next ?? ask(after, size, false);
    next = null;
    const chunk = await asked.chunk;
    // On PostgreSQL the event loop served others while the query ran: only the handling holds it.
    const heldFrom = ahead ? performance.now() : began;
    const full = chunk.length === asked.size;
    if (chunk.length > 0) {
      after = chunk.ids[chunk.length - 1]!;
      if (ahead && full) next = ask(after, size, true);
      each(chunk);
      between.chunkEnd?.();
      read += chunk.length;
    }
    if (!full && !asked.early) break;
    if (full) size = nextChunkSize(asked.size, performance.now() - heldFrom, chunking);
    await between.pause();
    if (between.closed()) break;
  }
  return read;
}
