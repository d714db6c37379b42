import { and, asc, count, desc, eq, gt, inArray, isNotNull, isNull, like, sql, type SQL } from "drizzle-orm";
import { one, first, isPostgres, rawRows, type Executor } from "../client.js";
import { jsonElements, jsonField, unindexed } from "../portable.js";
import { countedTextAnswers } from "./feedback.js";
import {
  answers,
  auditLog,
  links,
  qualitySettings,
  responses,
  textAliases,
  textMentions,
  users,
  type QualityFlag,
  type QualitySettingsRow,
  type SurveyResponse,
  type TextAlias,
} from "../schema.js";

/**
 * Queries of the data-quality area: thresholds, flags, the exclusion ledger, researcher aliases
 * and coded mentions, open answers for themes. Large reads go by id in bounded batches
 * (`afterId`, `limit`), so a study of any size is walked with constant memory.
 * SQLite's JSON functions (json_each) stay in this file.
 */

// ---------------------------------------------------------------- settings

export async function findQualitySettings(db: Executor, studyId: number): Promise<QualitySettingsRow | undefined> {
  return first(await db.select().from(qualitySettings).where(eq(qualitySettings.studyId, studyId)));
}

export async function saveQualitySettings(db: Executor, studyId: number, settings: Record<string, unknown>, userId: number | null, now: Date): Promise<void> {
  await db.insert(qualitySettings)
    .values({ studyId, settings, updatedBy: userId, updatedAt: now })
    .onConflictDoUpdate({ target: qualitySettings.studyId, set: { settings, updatedBy: userId, updatedAt: now } });
}

export async function markFlagsComputed(db: Executor, studyId: number, at: Date): Promise<void> {
  await db.insert(qualitySettings)
    .values({ studyId, settings: {}, flagsComputedAt: at, updatedAt: at })
    .onConflictDoUpdate({ target: qualitySettings.studyId, set: { flagsComputedAt: at } });
}

// ---------------------------------------------------------------- aliases

export async function listTextAliases(db: Executor, studyId: number): Promise<TextAlias[]> {
  return db.select().from(textAliases).where(eq(textAliases.studyId, studyId)).orderBy(asc(textAliases.code), asc(textAliases.normalized));
}

export async function insertTextAlias(db: Executor, alias: { studyId: number; code: string; alias: string; normalized: string; createdBy: number | null }): Promise<TextAlias> {
  return one(await db.insert(textAliases).values(alias).returning());
}

export async function deleteTextAlias(db: Executor, studyId: number, id: number): Promise<TextAlias | undefined> {
  return first(await db
    .delete(textAliases)
    .where(and(eq(textAliases.studyId, studyId), eq(textAliases.id, id)))
    .returning());
}

// ---------------------------------------------------------------- flags

export interface TimingRow {
  id: number;
  waveId: number;
  segmentId: number;
  completedAt: Date | null;
  durationMs: number | null;
  browserHash: string | null;
  networkHash: string | null;
  /** The respondent id (`rid`) of a response on a personal link, else null. */
  person: string | null;
  qualityFlags: QualityFlag[] | null;
  excluded: boolean;
}

const timingColumns = (db: Executor) => ({
  id: responses.id,
  waveId: responses.waveId,
  segmentId: responses.segmentId,
  completedAt: responses.completedAt,
  durationMs: responses.durationMs,
  browserHash: responses.browserHash,
  networkHash: responses.networkHash,
  person: sql<string | null>`CASE WHEN ${links.kind} = 'personal' THEN ${jsonField(db, sql`${responses.params}`, "rid")} END`,
  qualityFlags: responses.qualityFlags,
  excluded: responses.excluded,
});

/**
 * Completed responses of the waves, by id after `afterId`, at most `limit`. Walked in primary-key
 * order (`+wave_id`, see unindexed, keeps SQLite off the wave indexes, which would read and sort every completed
 * response of the waves for each batch): a batch reads about `limit` rows, plus those of other
 * studies stored in between.
 */
export async function listCompletedTimings(db: Executor, waveIds: readonly number[], afterId: number, limit: number): Promise<TimingRow[]> {
  if (waveIds.length === 0) return [];
  return db
    .select(timingColumns(db))
    .from(responses)
    .leftJoin(links, eq(links.id, responses.linkId))
    .where(and(inArray(unindexed(db, responses.waveId), [...waveIds]), eq(responses.status, "completed"), gt(responses.id, afterId)))
    .orderBy(asc(responses.id))
    .limit(limit);
}

export async function countCompletedIn(db: Executor, waveIds: readonly number[]): Promise<number> {
  if (waveIds.length === 0) return 0;
  return first(await db.select({ n: count() }).from(responses).where(and(inArray(responses.waveId, [...waveIds]), eq(responses.status, "completed"))))?.n ?? 0;
}

export type UncheckedRow = TimingRow & { status: SurveyResponse["status"] };

/**
 * Responses of the waves whose background checks have not run, by id after `afterId` (the partial
 * index on unchecked responses), at most `limit`.
 */
export async function listUncheckedResponses(db: Executor, waveIds: readonly number[], afterId: number, limit: number): Promise<UncheckedRow[]> {
  if (waveIds.length === 0) return [];
  return db
    .select({ ...timingColumns(db), status: responses.status })
    .from(responses)
    .leftJoin(links, eq(links.id, responses.linkId))
    .where(and(inArray(responses.waveId, [...waveIds]), isNull(responses.checkedAt), gt(responses.id, afterId)))
    .orderBy(asc(responses.id))
    .limit(limit);
}

/** Marks responses checked (in the unit of work that read and checked them; a page stored later sets it back to null). */
export async function markChecked(db: Executor, ids: readonly number[], at: Date): Promise<void> {
  if (ids.length === 0) return;
  await db.update(responses).set({ checkedAt: at }).where(and(inArray(responses.id, [...ids]), isNull(responses.checkedAt)));
}

export interface HashRow {
  id: number;
  waveId: number;
  completedAt: Date | null;
  value: string | null;
}

/** Completed responses of the waves carrying one of the browser (or network) hashes: the candidates for "the earlier response with this hash". */
export async function completedWithHashes(db: Executor, waveIds: readonly number[], kind: "browser" | "network", hashes: readonly string[]): Promise<HashRow[]> {
  if (waveIds.length === 0 || hashes.length === 0) return [];
  const column = kind === "browser" ? responses.browserHash : responses.networkHash;
  return db
    .select({ id: responses.id, waveId: responses.waveId, completedAt: responses.completedAt, value: column })
    .from(responses)
    .where(and(inArray(responses.waveId, [...waveIds]), inArray(column, [...hashes]), eq(responses.status, "completed")));
}

/** Completed responses on personal links of the waves whose respondent id (`rid`) is one of `persons`. */
export async function completedWithPersons(db: Executor, waveIds: readonly number[], persons: readonly string[]): Promise<HashRow[]> {
  if (waveIds.length === 0 || persons.length === 0) return [];
  const rid = jsonField(db, sql`${responses.params}`, "rid");
  return db
    .select({ id: responses.id, waveId: responses.waveId, completedAt: responses.completedAt, value: rid })
    .from(responses)
    .innerJoin(links, eq(links.id, responses.linkId))
    .where(and(inArray(responses.waveId, [...waveIds]), eq(links.kind, "personal"), eq(responses.status, "completed"), inArray(rid, [...persons])));
}

export interface AnswerRow {
  id: number;
  responseId: number;
  questionId: number;
  optionId: number | null;
  valueNumber: number | null;
  valueText: string | null;
}

/** Answers of the given responses (optionally only to some questions), in id order. */
export async function listAnswersOf(db: Executor, responseIds: readonly number[], questionIds?: readonly number[]): Promise<AnswerRow[]> {
  if (responseIds.length === 0 || (questionIds && questionIds.length === 0)) return [];
  const conditions: SQL[] = [inArray(answers.responseId, [...responseIds])];
  if (questionIds) conditions.push(inArray(answers.questionId, [...questionIds]));
  return db
    .select({
      id: answers.id,
      responseId: answers.responseId,
      questionId: answers.questionId,
      optionId: answers.optionId,
      valueNumber: answers.valueNumber,
      valueText: answers.valueText,
    })
    .from(answers)
    .where(and(...conditions))
    .orderBy(asc(answers.id));
}

/** Stores a response's flags; an empty list is stored as NULL (what "not flagged" means to aggregation). */
export async function setQualityFlags(db: Executor, responseId: number, flags: readonly QualityFlag[]): Promise<void> {
  await db.update(responses)
    .set({ qualityFlags: flags.length ? [...flags] : null })
    .where(eq(responses.id, responseId));
}

/** Median duration and number of timed completed responses of a wave (index range scan). */
export async function waveDurationMedian(db: Executor, waveId: number): Promise<{ median: number; count: number } | undefined> {
  const where = and(eq(responses.waveId, waveId), eq(responses.status, "completed"), isNotNull(responses.durationMs));
  const n = first(await db.select({ n: count() }).from(responses).where(where))?.n ?? 0;
  if (n === 0) return undefined;
  const middle = (await db
    .select({ d: responses.durationMs })
    .from(responses)
    .where(where)
    .orderBy(asc(responses.durationMs))
    .limit(n % 2 ? 1 : 2)
    .offset(n % 2 ? (n - 1) / 2 : n / 2 - 1))
    .map((r) => r.d ?? 0);
  const median = middle.reduce((s, d) => s + d, 0) / middle.length;
  return { median, count: n };
}

// ---------------------------------------------------------------- the ledger

export type LedgerState = "flagged" | "excluded" | "all";

export interface LedgerFilter {
  waveIds: readonly number[];
  state: LedgerState;
  /** Only responses carrying this flag code. */
  flag?: string | undefined;
  waveId?: number | undefined;
  segmentId?: number | undefined;
  limit: number;
  offset: number;
}

/**
 * The partial index a ledger query walks on SQLite: the flagged, or excluded, responses of the
 * waves (a few per cent of them). SQLite's planner prefers the (wave, status) indexes, which
 * lead it through every completed response of the waves and a read of each row (a second and
 * more at 50,000 responses); PostgreSQL picks the partial index by its statistics. Undefined:
 * every completed response is listed, and the covering (wave, status) indexes serve.
 */
type LedgerIndex = "responses_flagged_idx" | "responses_excluded_idx";

function ledgerIndex(f: Pick<LedgerFilter, "state" | "flag">): LedgerIndex | undefined {
  if (f.state === "excluded") return "responses_excluded_idx";
  return f.state === "flagged" || f.flag ? "responses_flagged_idx" : undefined;
}

/** `responses`, named with the index to walk on SQLite (written as the partial index's condition follows). */
function responsesVia(db: Executor, index: LedgerIndex | undefined, alias?: string): SQL {
  const table = alias ? sql`${responses} AS ${sql.raw(alias)}` : sql`${responses}`;
  return index && !isPostgres(db) ? sql`${table} INDEXED BY ${sql.raw(index)}` : table;
}

function ledgerWhere(db: Executor, f: LedgerFilter): SQL {
  const conditions: SQL[] = [inArray(responses.waveId, [...f.waveIds]), eq(responses.status, "completed")];
  // A flag filter implies flags: said, so the flagged responses' index holds every candidate.
  if (f.state === "flagged" || f.flag) conditions.push(isNotNull(responses.qualityFlags));
  // The excluded responses' index condition, word for word (a boolean column: excluded = true).
  if (f.state === "excluded") conditions.push(sql`${responses.excluded}`);
  if (f.flag) conditions.push(sql`EXISTS (SELECT 1 FROM ${jsonElements(db, sql`${responses.qualityFlags}`, "flag")} WHERE ${jsonField(db, sql`flag.value`, "code")} = ${f.flag})`);
  if (f.waveId) conditions.push(eq(responses.waveId, f.waveId));
  if (f.segmentId) conditions.push(eq(responses.segmentId, f.segmentId));
  return and(...conditions)!;
}

/**
 * One page of completed responses for the ledger, newest first, and how many match in all. The
 * count and the page's ids are read from an index (the partial ones for flagged and excluded
 * responses), then only the page's rows.
 */
export async function listLedger(db: Executor, f: LedgerFilter): Promise<{ rows: SurveyResponse[]; total: number }> {
  if (f.waveIds.length === 0) return { rows: [], total: 0 };
  const where = ledgerWhere(db, f);
  const from = responsesVia(db, ledgerIndex(f));
  const total = first(await rawRows<{ n: number }>(db, sql`SELECT count(*) AS n FROM ${from} WHERE ${where}`))?.n ?? 0;
  const ids = (await rawRows<{ id: number }>(db, sql`SELECT ${responses.id} AS id FROM ${from} WHERE ${where} ORDER BY ${responses.id} DESC LIMIT ${f.limit} OFFSET ${f.offset}`)).map((r) => Number(r.id));
  if (ids.length === 0) return { rows: [], total: Number(total) };
  const rows = await db.select().from(responses).where(inArray(responses.id, ids)).orderBy(desc(responses.id));
  return { rows, total: Number(total) };
}

export interface LedgerCell {
  waveId: number;
  segmentId: number;
  /** Completed responses. */
  completed: number;
  excluded: number;
  /** Flagged and not excluded. */
  flagged: number;
}

/**
 * Completed, excluded and flagged (not excluded) responses per wave × segment of the waves, as
 * countRespondents counts them, each read from an index: the completed ones of one wave and
 * segment per statement over the (wave, segment, status) index, so none of them holds SQLite for
 * long; `between` is awaited between them (the caller gives the event loop a turn). Cells without
 * completed responses are left out.
 */
export async function countLedgerCells(db: Executor, waveIds: readonly number[], segmentIds: readonly number[], between: () => Promise<void>): Promise<LedgerCell[]> {
  if (waveIds.length === 0 || segmentIds.length === 0) return [];
  const waveList = sql.join(waveIds.map((id) => sql`${id}`), sql`, `);
  const key = (w: number, s: number) => `${w}|${s}`;
  const tally = async (index: LedgerIndex, condition: SQL) =>
    new Map(
      (await rawRows<{ w: number; s: number; n: number }>(db, sql`
        SELECT r.wave_id AS w, r.segment_id AS s, count(*) AS n
        FROM ${responsesVia(db, index, "r")}
        WHERE r.wave_id IN (${waveList}) AND r.status = ${"completed"} AND ${condition}
        GROUP BY r.wave_id, r.segment_id`)).map((r) => [key(Number(r.w), Number(r.s)), Number(r.n)]),
    );
  const excluded = await tally("responses_excluded_idx", sql`r.excluded`);
  const flagged = await tally("responses_flagged_idx", sql`r.quality_flags IS NOT NULL AND NOT r.excluded`);
  const cells: LedgerCell[] = [];
  for (const waveId of waveIds) {
    for (const segmentId of segmentIds) {
      await between();
      const completed = Number(
        first(await db.select({ n: count() }).from(responses).where(and(eq(responses.waveId, waveId), eq(responses.segmentId, segmentId), eq(responses.status, "completed"))))?.n ?? 0,
      );
      if (completed === 0) continue;
      const k = key(waveId, segmentId);
      cells.push({ waveId, segmentId, completed, excluded: excluded.get(k) ?? 0, flagged: flagged.get(k) ?? 0 });
    }
  }
  return cells;
}

/** Completed responses carrying each flag code, with how many of them are excluded (over the flagged responses' index). */
export async function countFlags(db: Executor, waveIds: readonly number[]): Promise<Array<{ code: string; n: number; excluded: number }>> {
  if (waveIds.length === 0) return [];
  // json_each has its own "id" column: every column is qualified.
  const code = jsonField(db, sql`f.value`, "code");
  return (await rawRows<{ code: string; n: number; excluded: number }>(db, sql`
    SELECT ${code} AS code,
           count(DISTINCT r.id) AS n,
           count(DISTINCT CASE WHEN r.excluded THEN r.id END) AS excluded
    FROM ${responsesVia(db, "responses_flagged_idx", "r")}, ${jsonElements(db, sql`r.quality_flags`, "f")}
    WHERE r.wave_id IN (${sql.join(
      waveIds.map((id) => sql`${id}`),
      sql`, `,
    )}) AND r.status = 'completed' AND r.quality_flags IS NOT NULL
    GROUP BY ${code}`)).map((r) => ({ code: r.code, n: Number(r.n), excluded: Number(r.excluded) }));
}

/** Which of `ids` are completed responses of these waves. */
export async function existingResponseIds(db: Executor, waveIds: readonly number[], ids: readonly number[]): Promise<number[]> {
  if (waveIds.length === 0 || ids.length === 0) return [];
  return (await db
    .select({ id: responses.id })
    .from(responses)
    .where(and(inArray(responses.waveId, [...waveIds]), inArray(responses.id, [...ids]), eq(responses.status, "completed")))
    .orderBy(asc(responses.id)))
    .map((r) => r.id);
}

/** Excludes (with reason, who, when) or restores responses; returns the ids whose state changed. */
export async function setExclusion(
  db: Executor,
  ids: readonly number[],
  change: { excluded: true; reason: string; by: number; at: Date } | { excluded: false },
): Promise<number[]> {
  if (ids.length === 0) return [];
  const fields = change.excluded
    ? { excluded: true, excludedReason: change.reason, excludedBy: change.by, excludedAt: change.at }
    : { excluded: false, excludedReason: null, excludedBy: null, excludedAt: null };
  return (await db
    .update(responses)
    .set(fields)
    .where(and(inArray(responses.id, [...ids]), eq(responses.excluded, !change.excluded)))
    .returning({ id: responses.id }))
    .map((r) => r.id)
    .sort((a, b) => a - b);
}

/** Excludes a response on the system's behalf (no user); false when it was already excluded. */
export async function excludeBySystem(db: Executor, id: number, reason: string, at: Date): Promise<boolean> {
  return (
    await db
      .update(responses)
      .set({ excluded: true, excludedReason: reason, excludedBy: null, excludedAt: at })
      .where(and(eq(responses.id, id), eq(responses.excluded, false)))
      .returning({ id: responses.id })).length > 0
  ;
}

/**
 * Responses of the study that the system has excluded before, or that someone has restored:
 * their state is decided, and automatic exclusion never touches them again.
 */
export async function decidedResponseIds(db: Executor, studyId: number): Promise<Set<number>> {
  const rows = await rawRows<{ id: number }>(db, sql`
    SELECT DISTINCT CAST(j.value AS INTEGER) AS id
    FROM ${auditLog} AS a, ${jsonElements(db, sql`a.details`, "j", { key: "responseIds", asText: true })}
    WHERE a.entity_type = 'study' AND a.entity_id = ${String(studyId)} AND a.action IN ('quality.auto_exclude', 'quality.restore')`);
  return new Set(rows.map((r) => r.id));
}

/** Names of users by id (who excluded a response). */
export async function userEmails(db: Executor, ids: readonly number[]): Promise<Map<number, string>> {
  if (ids.length === 0) return new Map();
  return new Map(
    (await db
      .select({ id: users.id, email: users.email })
      .from(users)
      .where(inArray(users.id, [...ids])))
      .map((u) => [u.id, u.email]),
  );
}

/** The study's quality actions from the audit log (exclusions, restores, settings, aliases), newest first. */
export async function qualityAudit(db: Executor, studyId: number, limit: number) {
  return db
    .select({ entry: auditLog, email: users.email })
    .from(auditLog)
    .leftJoin(users, eq(users.id, auditLog.userId))
    .where(and(eq(auditLog.entityType, "study"), eq(auditLog.entityId, String(studyId)), like(auditLog.action, "quality.%")))
    .orderBy(desc(auditLog.id))
    .limit(limit);
}

// ---------------------------------------------------------------- coding

/**
 * Text answers to one question after the (response id, answer id) pair, at most `limit`, in that
 * order: a range of the (question, option, response) index, so each chunk of a recode reads only
 * its own rows (an `id > afterId` walk over several questions made SQLite sort them all each time).
 */
export async function listTextAnswersAfter(db: Executor, questionId: number, after: { responseId: number; answerId: number }, limit: number) {
  return db
    .select({ id: answers.id, responseId: answers.responseId, questionId: answers.questionId, valueText: answers.valueText })
    .from(answers)
    .where(
      and(
        eq(answers.questionId, questionId),
        isNull(answers.optionId),
        sql`(${answers.responseId}, ${answers.id}) > (${after.responseId}, ${after.answerId})`,
        isNotNull(answers.valueText),
      ),
    )
    .orderBy(asc(answers.responseId), asc(answers.id))
    .limit(limit);
}

/**
 * Text answers to the (text) questions, what a recode goes through, for its progress. Counted in
 * answers_question_option_idx alone: a text question's answer without an option always has its
 * text (server/domain/answers.ts stores no empty one), so the table need not be read for
 * value_text (that read was 20-35 ms, the whole study at 60,000 text answers, against ~3 ms).
 */
export async function countTextAnswers(db: Executor, questionIds: readonly number[]): Promise<number> {
  if (questionIds.length === 0) return 0;
  return first(await db.select({ n: count() }).from(answers).where(and(inArray(answers.questionId, [...questionIds]), isNull(answers.optionId))))?.n ?? 0;
}

export async function deleteMentionsOfAnswers(db: Executor, answerIds: readonly number[]): Promise<void> {
  if (answerIds.length === 0) return;
  await db.delete(textMentions).where(inArray(textMentions.answerId, [...answerIds]));
}

export async function insertMentionRows(db: Executor, rows: ReadonlyArray<{ answerId: number; code: string; rank: number }>): Promise<void> {
  // 3 parameters a row: stay well under SQLite's limit of bound parameters per statement.
  for (let i = 0; i < rows.length; i += 300) (await db.insert(textMentions).values(rows.slice(i, i + 300)));
}

/**
 * Text answers of completed, not excluded responses to the questions, by answer id after
 * `afterId` (for the review queue). Walked in primary-key order, each answer's response by its
 * key (on SQLite `+question_id` and `+wave_id` keep the planner off the question and wave indexes,
 * which made it read and sort every answer of the questions for each batch: 75 ms a batch of 50
 * at 60,000 answers, against 0.1 ms; PostgreSQL walks so by itself): a batch reads the answers
 * stored in between, other questions' too.
 */
export async function listAnswersForReview(db: Executor, questionIds: readonly number[], waveIds: readonly number[], afterId: number, limit: number) {
  if (questionIds.length === 0 || waveIds.length === 0) return [];
  return db
    .select({ id: answers.id, questionId: answers.questionId, text: sql<string>`${answers.valueText}` })
    .from(answers)
    .innerJoin(responses, eq(responses.id, answers.responseId))
    .where(
      and(
        inArray(unindexed(db, answers.questionId), [...questionIds]),
        isNotNull(answers.valueText),
        gt(answers.id, afterId),
        inArray(unindexed(db, responses.waveId), [...waveIds]),
        eq(responses.status, "completed"),
        eq(responses.excluded, false),
      ),
    )
    .orderBy(asc(answers.id))
    .limit(limit);
}

/** The coded mentions of these answers (the review queue's walk counts them batch by batch). */
export async function listMentionsOf(db: Executor, answerIds: readonly number[]): Promise<Array<{ code: string; rank: number }>> {
  if (answerIds.length === 0) return [];
  return db.select({ code: textMentions.code, rank: textMentions.rank }).from(textMentions).where(inArray(textMentions.answerId, [...answerIds]));
}

// ---------------------------------------------------------------- themes

/** Open answers for themes: completed, not excluded (and not flagged unless included) responses (of one segment when given), in answer id order. */
export async function listThemeAnswers(db: Executor, f: { questionIds: readonly number[]; waveIds: readonly number[]; segmentId?: number; includeFlagged: boolean; limit: number }) {
  if (f.questionIds.length === 0 || f.waveIds.length === 0) return [];
  const conditions = countedTextAnswers(f);
  if (f.segmentId !== undefined) conditions.push(eq(responses.segmentId, f.segmentId));
  return db
    .select({
      answerId: answers.id,
      questionId: answers.questionId,
      waveId: responses.waveId,
      segmentId: responses.segmentId,
      text: sql<string>`${answers.valueText}`,
    })
    .from(answers)
    .innerJoin(responses, eq(responses.id, answers.responseId))
    .where(and(...conditions))
    .orderBy(asc(answers.id))
    .limit(f.limit);
}
