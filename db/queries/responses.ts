import { and, desc, eq, inArray, sql } from "drizzle-orm";
import { columnPlaceholder, isPostgres, isUniqueViolation, one, first, postgresStatement, preparedQuery, type Executor } from "../client.js";
import { forUpdate, jsonRowsAgg } from "../portable.js";
import { answers, responses, textMentions, waveSegments, type NewResponse, type SurveyResponse } from "../schema.js";

export interface AnswerInsert {
  questionId: number;
  optionId: number | null;
  valueNumber: number | null;
  valueText: string | null;
}

export class DuplicateNonceError extends Error {
  constructor() {
    super("duplicate_nonce");
  }
}

/** Inserts a response; a nonce seen before (a retry, a double click) raises DuplicateNonceError. */
export async function insertResponse(db: Executor, response: NewResponse): Promise<SurveyResponse> {
  try {
    return one(await db.insert(responses).values(response).returning());
  } catch (error) {
    if (isUniqueViolation(error)) throw new DuplicateNonceError();
    throw error;
  }
}

/** What a respondent's first stored page writes into their response. */
export type StartedResponse = Pick<
  SurveyResponse,
  "waveId" | "segmentId" | "linkId" | "nonce" | "status" | "locale" | "startedAt" | "currentPage" | "params" | "optionOrder" | "browserHash" | "networkHash" | "qualityFlags"
>;

const STARTED_COLUMNS = [
  "waveId",
  "segmentId",
  "linkId",
  "nonce",
  "status",
  "locale",
  "startedAt",
  "currentPage",
  "params",
  "optionOrder",
  "browserHash",
  "networkHash",
  "qualityFlags",
] as const satisfies ReadonlyArray<keyof StartedResponse>;

const startQuery = preparedQuery("respond_start_response", (db) =>
  db
    .insert(responses)
    .values(Object.fromEntries(STARTED_COLUMNS.map((c) => [c, columnPlaceholder(responses[c], c)])) as unknown as NewResponse)
    .returning(),
);

/** insertResponse for the survey's own writes, with the columns a first page sets (a query built once). */
export async function startResponse(db: Executor, response: StartedResponse): Promise<SurveyResponse> {
  try {
    return one(await startQuery(db).execute(response));
  } catch (error) {
    if (isUniqueViolation(error)) throw new DuplicateNonceError();
    throw error;
  }
}

const byNonceQuery = preparedQuery("respond_response_by_nonce", (db) =>
  db.select().from(responses).where(eq(responses.nonce, sql.placeholder("nonce"))),
);

export async function findResponseByNonce(db: Executor, nonce: string): Promise<SurveyResponse | undefined> {
  return first(await byNonceQuery(db).execute({ nonce }));
}

/** A response's answer as its own quality flags and the completeness check read it. */
export interface AnswerValue {
  questionId: number;
  optionId: number | null;
  valueNumber: number | null;
  valueText: string | null;
}

/**
 * The response a post names and its answers so far, in one statement: on PostgreSQL the row locked
 * (`locked`), with the segment's quota row too (`quota`). The answers come as one JSON array.
 */
function postedResponse(db: Executor, options: { locked: boolean; quota: boolean }) {
  const given = sql<string>`(SELECT ${jsonRowsAgg(db, [answers.questionId, answers.optionId, answers.valueNumber, answers.valueText])} FROM ${answers} WHERE ${eq(answers.responseId, responses.id)})`;
  const query = db
    .select({
      response: responses,
      given,
      ...(options.quota
        ? {
            // Evaluated as the response row is read: locks the segment's quota row (when it has a target) in the same statement.
            quota: sql<number | null>`(SELECT ${waveSegments.target} FROM ${waveSegments} WHERE ${and(
              eq(waveSegments.waveId, sql.placeholder("wave")),
              eq(waveSegments.segmentId, sql.placeholder("segment")),
            )} AND ${waveSegments.target} IS NOT NULL FOR UPDATE)`,
          }
        : {}),
    })
    .from(responses)
    .where(eq(responses.nonce, sql.placeholder("nonce")));
  return options.locked ? forUpdate(db, query) : query;
}

const postedQuery = preparedQuery("respond_posted_response", (db) => postedResponse(db, { locked: false, quota: false }));
const lockedPostedQuery = preparedQuery("respond_posted_response_locked", (db) => postedResponse(db, { locked: true, quota: false }));
const lockedPostedWithQuotaQuery = preparedQuery("respond_posted_response_locked_quota", (db) => postedResponse(db, { locked: true, quota: true }));

/**
 * The response a posted form names and its answers so far (which questions it answered, and what
 * its own quality flags read), read in one statement of the submission's unit of work. On
 * PostgreSQL, where that unit runs at READ COMMITTED, the row stays locked until commit, so two
 * posts of one form take turns (the second reads what the first stored); with `quota` (a post of
 * the last page, which may complete the response) the segment's quota row is locked by the same
 * statement, so the completes of a segment take turns in counting them (db/queries/fieldwork.ts
 * lockQuota). On SQLite the unit of work holds the write lock already: a plain read.
 */
export async function findResponseForPost(
  db: Executor,
  nonce: string,
  quota: { waveId: number; segmentId: number } | null,
): Promise<{ response: SurveyResponse; given: AnswerValue[] } | undefined> {
  const row = !isPostgres(db)
    ? first(await postedQuery(db).execute({ nonce }))
    : quota
      ? first(await lockedPostedWithQuotaQuery(db).execute({ nonce, wave: quota.waveId, segment: quota.segmentId }))
      : first(await lockedPostedQuery(db).execute({ nonce }));
  if (!row) return undefined;
  const given = (JSON.parse(row.given) as Array<[number, number | null, number | null, string | null]>).map(([questionId, optionId, valueNumber, valueText]) => ({
    questionId,
    optionId,
    valueNumber,
    valueText,
  }));
  return { response: row.response, given };
}

const lockedByBrowserQuery = preparedQuery("respond_response_by_browser_locked", (db) =>
  forUpdate(
    db,
    db
      .select()
      .from(responses)
      .where(and(eq(responses.waveId, sql.placeholder("wave")), eq(responses.browserHash, sql.placeholder("browser"))))
      .orderBy(desc(responses.id))
      .limit(1),
  ),
);

/**
 * findBrowserResponse in a submission's unit of work: on PostgreSQL the row is locked, so a post
 * from a second tab waits for one completing that response and reads it completed.
 */
export async function findBrowserResponseForPost(db: Executor, waveId: number, browserHash: string): Promise<SurveyResponse | undefined> {
  if (!isPostgres(db)) return findBrowserResponse(db, waveId, browserHash);
  return first(await lockedByBrowserQuery(db).execute({ wave: waveId, browser: browserHash }));
}

const byBrowserQuery = preparedQuery("respond_response_by_browser", (db) =>
  db
    .select()
    .from(responses)
    .where(and(eq(responses.waveId, sql.placeholder("wave")), eq(responses.browserHash, sql.placeholder("browser"))))
    .orderBy(desc(responses.id))
    .limit(1),
);

/** This browser's latest response to a wave, if any (open links). */
export async function findBrowserResponse(db: Executor, waveId: number, browserHash: string): Promise<SurveyResponse | undefined> {
  return first(await byBrowserQuery(db).execute({ wave: waveId, browser: browserHash }));
}

const byLinkQuery = preparedQuery("respond_response_by_link", (db) =>
  db.select().from(responses).where(eq(responses.linkId, sql.placeholder("link"))).orderBy(desc(responses.id)).limit(1),
);

/** The response started on a personal link, if any. */
export async function findLinkResponse(db: Executor, linkId: number): Promise<SurveyResponse | undefined> {
  return first(await byLinkQuery(db).execute({ link: linkId }));
}

/** Longest list of answer rows inserted by a statement built once per length (a page's answers); longer lists are built each time. */
const PREPARED_ANSWER_ROWS = 64;
const answerInserts = Array.from({ length: PREPARED_ANSWER_ROWS + 1 }, (_, n) =>
  n === 0
    ? undefined
    : preparedQuery(`respond_insert_answers_${n}`, (db) =>
        db
          .insert(answers)
          .values(
            Array.from({ length: n }, (_, i) => ({
              responseId: sql.placeholder("response"),
              questionId: sql.placeholder(`q${i}`),
              optionId: sql.placeholder(`o${i}`),
              valueNumber: sql.placeholder(`n${i}`),
              valueText: sql.placeholder(`t${i}`),
            })),
          )
          .returning({ id: answers.id, questionId: answers.questionId, valueText: answers.valueText }),
      ),
);

/**
 * Replaces the answers of the given questions (a page re-submitted replaces, never duplicates):
 * `questionIds` are those that may have answers stored already (none: nothing to delete).
 */
export async function replaceAnswers(
  db: Executor,
  responseId: number,
  questionIds: number[],
  rows: readonly AnswerInsert[],
): Promise<Array<{ id: number; questionId: number; valueText: string | null }>> {
  if (questionIds.length) {
    await db.delete(answers).where(and(eq(answers.responseId, responseId), inArray(answers.questionId, questionIds)));
  }
  if (!rows.length) return [];
  const prepared = answerInserts[rows.length];
  if (!prepared) {
    return db
      .insert(answers)
      .values(rows.map((r) => ({ ...r, responseId })))
      .returning({ id: answers.id, questionId: answers.questionId, valueText: answers.valueText });
  }
  const values: Record<string, unknown> = { response: responseId };
  rows.forEach((r, i) => {
    values[`q${i}`] = r.questionId;
    values[`o${i}`] = r.optionId;
    values[`n${i}`] = r.valueNumber;
    values[`t${i}`] = r.valueText;
  });
  return prepared(db).execute(values);
}

export async function insertMentions(db: Executor, answerId: number, mentions: ReadonlyArray<{ code: string; rank: number }>): Promise<void> {
  if (mentions.length) (await db.insert(textMentions).values(mentions.map((m) => ({ answerId, ...m }))));
}

export async function updateResponse(db: Executor, id: number, fields: Partial<NewResponse>): Promise<void> {
  await db.update(responses).set(fields).where(eq(responses.id, id));
}

/** Where a respondent's response stands after a page: status, page reached, language, its end when it has one, and its own flags. */
export type ResponseProgress = Pick<SurveyResponse, "status" | "currentPage" | "locale" | "completedAt" | "durationMs" | "qualityFlags">;

const progressQuery = preparedQuery("respond_response_progress", (db) =>
  db
    .update(responses)
    .set({
      status: columnPlaceholder(responses.status, "status"),
      currentPage: columnPlaceholder(responses.currentPage, "currentPage"),
      locale: columnPlaceholder(responses.locale, "locale"),
      completedAt: columnPlaceholder(responses.completedAt, "completedAt"),
      durationMs: columnPlaceholder(responses.durationMs, "durationMs"),
      qualityFlags: columnPlaceholder(responses.qualityFlags, "qualityFlags"),
      // New answers: the background checks (coding, wave-comparing flags) run on it again.
      checkedAt: sql`NULL`,
    })
    .where(eq(responses.id, sql.placeholder("id"))),
);

/** updateResponse for the survey's own writes after each page (a query built once). */
export async function setResponseProgress(db: Executor, id: number, progress: ResponseProgress): Promise<void> {
  await progressQuery(db).execute({ id, ...progress });
}

export async function listAnswers(db: Executor, responseId: number) {
  return db.select().from(answers).where(eq(answers.responseId, responseId));
}

/**
 * PostgreSQL: a page's answers and the response's progress in one statement (one round trip),
 * the answers as arrays unnested into rows, so that one statement text serves any page.
 */
const storePageStatement = postgresStatement(
  "respond_store_page",
  () => sql`WITH stored AS (
    INSERT INTO ${answers} (response_id, question_id, option_id, value_number, value_text)
    SELECT CAST(${sql.placeholder("id")} AS bigint), page.q, page.o, page.n, page.t
    FROM unnest(
      CAST(${sql.placeholder("questions")} AS bigint[]),
      CAST(${sql.placeholder("options")} AS bigint[]),
      CAST(${sql.placeholder("numbers")} AS double precision[]),
      CAST(${sql.placeholder("texts")} AS text[])
    ) AS page(q, o, n, t)
  )
  UPDATE ${responses} SET
    status = ${columnPlaceholder(responses.status, "status")},
    current_page = ${columnPlaceholder(responses.currentPage, "currentPage")},
    locale = ${columnPlaceholder(responses.locale, "locale")},
    completed_at = ${columnPlaceholder(responses.completedAt, "completedAt")},
    duration_ms = ${columnPlaceholder(responses.durationMs, "durationMs")},
    quality_flags = ${columnPlaceholder(responses.qualityFlags, "qualityFlags")},
    checked_at = NULL
  WHERE id = ${sql.placeholder("id")}`,
);

/**
 * Stores a page of a response already started: its answers (replacing those of `replacing`, the
 * page's questions that may have answers stored already) and where the response stands after it
 * (setResponseProgress). SQLite: the two statements; PostgreSQL: one (storePageStatement).
 */
export async function storePage(db: Executor, responseId: number, replacing: number[], rows: readonly AnswerInsert[], progress: ResponseProgress): Promise<void> {
  if (!isPostgres(db)) {
    await replaceAnswers(db, responseId, replacing, rows);
    return setResponseProgress(db, responseId, progress);
  }
  if (replacing.length) await replaceAnswers(db, responseId, replacing, []);
  await storePageStatement(db, {
    id: responseId,
    questions: rows.map((r) => r.questionId),
    options: rows.map((r) => r.optionId),
    numbers: rows.map((r) => r.valueNumber),
    texts: rows.map((r) => r.valueText),
    ...progress,
  });
}
