import { databaseLocation, isPostgres, unitOfWork, type Db, type Executor } from "../../db/client.js";
import { recordAudit } from "../../db/queries/audit.js";
import { listWaves } from "../../db/queries/fieldwork.js";
import {
  deleteMentionsOfAnswers,
  deleteTextAlias,
  insertMentionRows,
  insertTextAlias,
  listTextAliases,
  listTextAnswersAfter,
  countTextAnswers,
} from "../../db/queries/quality.js";
import { loadQuestionnaire } from "../../db/queries/questionnaire.js";
import type { Locale, Study } from "../../db/schema.js";
import type { SurveyQuestion } from "../domain/questionnaire.js";
import { codeText } from "../domain/text-coding.js";
import { nextChunkSize, runChunks, type ChunkOptions, type Chunking } from "../services/chunks.js";
import { cursorOf, type JobStep } from "../jobs/contract.js";
import { enqueueJob, nudgeJobs } from "../jobs/queue.js";
import { aliasForm, codedQuestions, codeDefinitions, studyCodebooks, studyCodebooksOf, type CodeDefinition } from "./coding.js";
import { markResultsStale } from "../results-snapshots/version.js";
import { planRecodeInWorker } from "../results-snapshots/worker-pool.js";
import { loadReviewQueue, type ReviewQueueRead } from "./review-queue.js";

/**
 * Coding of text answers against the study's codes: answers as they are stored (the background
 * checks after a submission, the demo), the whole study again (a recode job), and the review queue.
 */

export const MAX_ALIAS_LENGTH = 100;

/** Codes answers just stored (in the caller's transaction): brand and competitors. */
export async function codeStoredAnswers(
  tx: Executor,
  studyId: number,
  questions: readonly SurveyQuestion[],
  stored: ReadonlyArray<{ id: number; questionId: number; valueText: string | null }>,
): Promise<void> {
  const coded = new Set(codedQuestions(questions).map((q) => q.id));
  const toCode = stored.filter((a) => a.valueText !== null && coded.has(a.questionId));
  if (toCode.length === 0) return;
  const codebooks = studyCodebooks(questions, await listTextAliases(tx, studyId));
  const rows = toCode.flatMap((a) => codeText(a.valueText!, codebooks.get(a.questionId)!).map((m) => ({ answerId: a.id, ...m })));
  await insertMentionRows(tx, rows);
}

/** Text answers recoded per unit of work: one chunk holds the write lock for well under 50 ms (bench/write-locks.ts). */
export const RECODE_CHUNK_SIZE = 250;

/** Where a recode goes on: the coded question, and the last (response, answer) done in it. */
export interface RecodeCursor {
  questionId: number;
  afterResponseId: number;
  afterAnswerId: number;
}
export const RECODE_START: RecodeCursor = { questionId: 0, afterResponseId: 0, afterAnswerId: 0 };

export interface RecodeStep {
  answers: number;
  mentions: number;
  next: RecodeCursor | null;
}

/** What one chunk codes, read from the database: the codebook's sources and the chunk's answers. */
async function readRecodeChunk(db: Executor, studyId: number, cursor: RecodeCursor, limit: number) {
  const questions = await loadQuestionnaire(db, studyId);
  const aliases = await listTextAliases(db, studyId);
  const questionIds = codedQuestions(questions).map((q) => q.id).sort((a, b) => a - b);
  const questionId = questionIds.find((id) => id >= cursor.questionId);
  const after = questionId === cursor.questionId ? { responseId: cursor.afterResponseId, answerId: cursor.afterAnswerId } : { responseId: 0, answerId: 0 };
  const batch = questionId === undefined ? [] : await listTextAnswersAfter(db, questionId, after, limit);
  return { signature: JSON.stringify([questions, aliases]), questions, aliases, questionIds, questionId, batch };
}

type RecodeChunkInput = Awaited<ReturnType<typeof readRecodeChunk>>;

const sameInput = (a: RecodeChunkInput, b: RecodeChunkInput) =>
  a.signature === b.signature && a.batch.length === b.batch.length && a.batch.every((x, i) => x.id === b.batch[i]!.id && x.valueText === b.batch[i]!.valueText);

type MentionRow = { answerId: number; code: string; rank: number };

/** The mentions of the chunk's answers: CPU work (codebooks, fuzzy matching), no database. */
function codeRecodeChunk(input: RecodeChunkInput): MentionRow[] {
  if (input.questionId === undefined) return [];
  const codebook = studyCodebooksOf(input.signature, input.questions, input.aliases).get(input.questionId)!;
  return input.batch.flatMap((a) => codeText(a.valueText ?? "", codebook).map((m) => ({ answerId: a.id, ...m })));
}

/** A chunk read and coded outside the lock: what recodeChunk writes if its inputs are the same under the lock. */
export interface PlannedRecode {
  input: RecodeChunkInput;
  rows: MentionRow[];
}

/** Reads and codes the chunk of `limit` text answers at `cursor` (reads only: what the results worker thread runs for a recode job). */
export async function planRecodeChunk(db: Executor, studyId: number, cursor: RecodeCursor, limit: number): Promise<PlannedRecode> {
  const input = await readRecodeChunk(db, studyId, cursor, limit);
  return { input, rows: codeRecodeChunk(input) };
}

/**
 * Codes one chunk of the study's text answers again, in its own unit of work (or the caller's):
 * their mentions are deleted and inserted anew, so each answer always carries the coding of one
 * codebook and a chunk run twice gives the same rows. The coding itself (most of the time) is done
 * before the write lock is taken; under the lock the chunk's inputs are read again and the coding
 * is only redone if they changed meanwhile. So the codebook that counts is the one under the
 * lock: when aliases change during a recode, the recode started by the last change codes every
 * chunk with it, and concurrent recodes end in the same state as one. Answers stored between
 * chunks are coded by their background checks (server/quality/checks-service.ts) with the codebook
 * of that moment, read under their own lock, which already holds the alias.
 */
export async function recodeChunk(
  db: Executor,
  studyId: number,
  cursor: RecodeCursor,
  limit = RECODE_CHUNK_SIZE,
  options: {
    /**
     * Runs in the chunk's unit of work after its writes (a job saves its cursor there), told how
     * long the chunk has held the event loop so far: its coding, and on SQLite (a synchronous
     * driver) its statements too; not the wait for the write lock.
     */
    also?: (tx: Executor, step: RecodeStep, heldMs: number) => Promise<void>;
    /** The clock the hold is measured by (tests inject one). */
    now?: () => number;
    /** Reads and codes the chunk outside the lock elsewhere (the results worker thread): the event loop only waits for it. */
    plan?: (cursor: RecodeCursor, limit: number) => Promise<PlannedRecode>;
  } = {},
): Promise<RecodeStep> {
  const now = options.now ?? (() => performance.now());
  const statementsHold = !isPostgres(db);
  let heldMs = 0;
  const coded = (input: RecodeChunkInput) => {
    const from = now();
    const rows = codeRecodeChunk(input);
    if (!statementsHold) heldMs += now() - from;
    return rows;
  };
  let from = now();
  let planned: RecodeChunkInput;
  let plannedRows: MentionRow[];
  if (options.plan) {
    ({ input: planned, rows: plannedRows } = await options.plan(cursor, limit));
  } else {
    planned = await readRecodeChunk(db, studyId, cursor, limit);
    plannedRows = coded(planned);
    if (statementsHold) heldMs += now() - from;
  }
  return unitOfWork(db, async (tx) => {
    from = now();
    const held = () => heldMs + (statementsHold ? now() - from : 0);
    const input = await readRecodeChunk(tx, studyId, cursor, limit);
    if (input.questionId === undefined) {
      const none = { answers: 0, mentions: 0, next: null };
      await options.also?.(tx, none, held());
      return none;
    }
    const rows = sameInput(planned, input) ? plannedRows : coded(input);
    await deleteMentionsOfAnswers(tx, input.batch.map((a) => a.id));
    await insertMentionRows(tx, rows);
    if (input.batch.length) await markResultsStale(tx, studyId);
    const questionId = input.questionId;
    const last = input.batch.at(-1);
    const following = input.questionIds.find((id) => id > questionId);
    const next =
      last && input.batch.length === limit
        ? { questionId, afterResponseId: last.responseId, afterAnswerId: last.id }
        : following === undefined
          ? null
          : { questionId: following, afterResponseId: 0, afterAnswerId: 0 };
    const step = { answers: input.batch.length, mentions: rows.length, next };
    await options.also?.(tx, step, held());
    return step;
  });
}

/**
 * Codes every text answer of the study's coded questions again, chunk by chunk (recodeChunk), each
 * committed on its own so survey posts go on meanwhile; readers may see the old coding of some
 * answers and the new of others until the last chunk. Interrupted (a crash, a busy database), the
 * data stays coded answer by answer and running the recode again finishes it. The app recodes
 * through the "recode" job (recodeJobStep, same chunks); this runs one in the caller's process
 * (scripts, tests). Given a unit of work, it all runs inside that one.
 */
export async function recodeStudy(db: Executor, studyId: number, options: ChunkOptions<RecodeCursor> & { limit?: number; from?: RecodeCursor } = {}): Promise<{ answers: number; mentions: number }> {
  const total = { answers: 0, mentions: 0 };
  await runChunks(
    options.from ?? RECODE_START,
    (cursor) => recodeChunk(db, studyId, cursor, options.limit),
    (step) => {
      total.answers += step.answers;
      total.mentions += step.mentions;
    },
    options,
  );
  return total;
}

/** A recode job's cursor: where the next chunk starts, its size, and what the chunks before it did. */
interface RecodeJobCursor extends RecodeCursor {
  answers: number;
  mentions: number;
  total: number;
  size: number;
}

/**
 * Text answers recoded per step of a recode job. A step is one task on the event loop that serves
 * respondents (its coding, and on SQLite its statements), so its size follows the time the last
 * step took rather than a count: 100 answers of varied texts held the loop for up to 125 ms in the
 * heavy benchmark (bench/heavy-pages.ts). The job's cursor carries the size to the next step; the
 * coding is the same whatever the sizes (each answer is coded on its own).
 */
export const RECODE_CHUNKING: Chunking = { first: 25, min: 10, max: 500, budgetMs: 15 };

/**
 * The "recode" job (server/jobs/): one chunk of recodeChunk per step (sized by time, RECODE_CHUNKING), its cursor saved in the
 * chunk's own unit of work, so a chunk and the cursor past it commit together. The last chunk
 * records the recode (what it did) in the audit log, on behalf of whoever asked for it. Where the
 * database can be opened from the results worker thread (a file or a PostgreSQL URL) a chunk is
 * read and coded there: the event loop only reads it again under the lock and writes it, and the
 * chunk's size follows that hold alone. `now`: the clock a step's hold is measured by (tests inject one).
 */
export const recodeJobStep = (chunking: Chunking = RECODE_CHUNKING, now?: () => number): JobStep => async (db, job, run) => {
  const location = databaseLocation(db);
  const studyId = job.studyId!;
  const c = cursorOf<RecodeJobCursor>(job);
  const from: RecodeCursor = c.questionId === undefined ? RECODE_START : { questionId: c.questionId, afterResponseId: c.afterResponseId ?? 0, afterAnswerId: c.afterAnswerId ?? 0 };
  const total = c.total ?? (await countTextAnswers(db, codedQuestions(await loadQuestionnaire(db, studyId)).map((q) => q.id)));
  const size = c.size ?? chunking.first;
  let result!: Awaited<ReturnType<JobStep>>;
  const also = async (tx: Executor, step: RecodeStep, heldMs: number) => {
    const answers = (c.answers ?? 0) + step.answers;
    const mentions = (c.mentions ?? 0) + step.mentions;
    if (step.next) {
      const next = nextChunkSize(size, heldMs, chunking);
      result = { cursor: { ...step.next, answers, mentions, total, size: next }, done: answers, total: Math.max(total, answers) };
    } else {
      await recordAudit(tx, { userId: job.createdBy, ...(job.createdBy === null ? { systemActor: "system" as const } : {}), action: "quality.recode", entityType: "study", entityId: studyId, details: { answers, mentions } });
      result = { cursor: null, done: answers, total: answers, result: { answers, mentions } };
    }
    await run.save(tx, result);
  };
  const plan = location ? (cursor: RecodeCursor, limit: number) => planRecodeInWorker(location, studyId, cursor, limit) : undefined;
  await recodeChunk(db, studyId, from, size, { also, ...(now ? { now } : {}), ...(plan ? { plan } : {}) });
  return result;
};

/** Queues a recode of the study in the caller's unit of work (one waiting recode does for any number of changes). */
function queueRecode(tx: Executor, study: Study, userId: number) {
  return enqueueJob(tx, { teamId: study.teamId, studyId: study.id, kind: "recode", createdBy: userId });
}

export interface CodingOverview {
  questions: SurveyQuestion[];
  /** Codes of the first coded question (competitors are the same for every question). */
  definitions: CodeDefinition[];
  /** The review queue and the answers per code (how often it was named first), as last computed (review-queue.ts); null while a large study's first ones are. */
  queue: ReviewQueueRead | null;
}

/**
 * The coding page draws its review queue this many groups at a time, the event loop given a turn
 * between pieces (drawInPieces): a hundred groups, each with its form and a select of every code,
 * were one task of ~20 ms of rendering on the thread that serves respondents.
 */
export const QUEUE_PIECE_SIZE = 20;

/** The coding page: codes with their aliases, and their counts and the review queue from the queue's snapshot. */
export async function codingOverview(db: Db, study: Study, locale: Locale): Promise<CodingOverview> {
  const questions = await loadQuestionnaire(db, study.id);
  const coded = codedQuestions(questions);
  const aliases = await listTextAliases(db, study.id);
  const definitions = codeDefinitions(coded[0], questions, aliases, study.brand, locale, study.defaultLocale);
  const waveIds = (await listWaves(db, study.id)).map((w) => w.id);
  const queue = await loadReviewQueue(db, { studyId: study.id, questions, aliases, waveIds });
  return { questions: coded, definitions, queue };
}

export type AliasProblem = { field: "alias" | "code"; message: "required" | "tooLong" | "unknownCode" | "taken"; takenBy?: string };

/**
 * Adds a researcher alias to a code, with its audit entry and the recode of the study queued in
 * the same transaction (the recode runs in the background, chunk by chunk). Refused when the alias
 * is empty, too long, or already stands for a code (any source).
 */
export async function addAlias(db: Db, study: Study, userId: number, input: { alias: string; code: string }, locale: Locale): Promise<AliasProblem | { queued: true }> {
  const alias = input.alias.trim();
  const form = aliasForm(alias);
  if (!form) return { field: "alias", message: "required" };
  if (alias.length > MAX_ALIAS_LENGTH) return { field: "alias", message: "tooLong" };
  const questions = await loadQuestionnaire(db, study.id);
  const definitions = codeDefinitions(codedQuestions(questions)[0], questions, await listTextAliases(db, study.id), study.brand, locale, study.defaultLocale);
  const target = definitions.find((d) => d.code === input.code);
  if (!target) return { field: "code", message: "unknownCode" };
  const owner = definitions.find((d) => d.aliases.some((a) => aliasForm(a.text) === form));
  if (owner) return { field: "alias", message: "taken", takenBy: owner.label };
  await unitOfWork(db, async (tx) => {
    await insertTextAlias(tx, { studyId: study.id, code: target.code, alias, normalized: form, createdBy: userId });
    await recordAudit(tx, { userId, action: "quality.alias.add", entityType: "study", entityId: study.id, details: { code: target.code, alias } });
    await queueRecode(tx, study, userId);
  });
  nudgeJobs();
  return { queued: true };
}

/** Removes a researcher alias (with its audit entry and a queued recode); false when the study has no such alias. */
export async function removeAlias(db: Db, study: Study, userId: number, aliasId: number): Promise<boolean> {
  const removed = await unitOfWork(db, async (tx) => {
    const alias = await deleteTextAlias(tx, study.id, aliasId);
    if (alias) {
      await recordAudit(tx, { userId, action: "quality.alias.remove", entityType: "study", entityId: study.id, details: { code: alias.code, alias: alias.alias } });
      await queueRecode(tx, study, userId);
    }
    return alias;
  });
  if (removed) nudgeJobs();
  return removed !== undefined;
}

/** The coding page's "code all answers again": a recode queued in the background, audited when complete. */
export async function recodeAll(db: Db, study: Study, userId: number): Promise<void> {
  await unitOfWork(db, (tx) => queueRecode(tx, study, userId));
  nudgeJobs();
}
