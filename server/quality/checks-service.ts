import { isPostgres, unitOfWork, type Executor } from "../../db/client.js";
import { listWaves } from "../../db/queries/fieldwork.js";
import { deleteMentionsOfAnswers, insertMentionRows, listAnswersOf, listTextAliases, listUncheckedResponses, markChecked, type UncheckedRow } from "../../db/queries/quality.js";
import { loadQuestionnaire } from "../../db/queries/questionnaire.js";
import { codeText } from "../domain/text-coding.js";
import { cursorOf, type JobStep, type StepResult } from "../jobs/contract.js";
import { studyCodebooksOf } from "./coding.js";
import { flagQuestions, loadQualitySettings, planFlags, waveMedians, writeFlagPlan, type FlagPlan } from "./flag-service.js";
import { markResultsStale } from "../results-snapshots/version.js";
import { nextChunkSize, type Chunking } from "../services/chunks.js";

/**
 * The background checks of stored responses (the "response_checks" job), run after the
 * respondent's transaction has committed, never inside it: the brand and competitor coding of
 * their text answers (text_mentions, with the study's aliases) and the quality flags that compare
 * a response with the rest of its wave and study (speeders against the wave's median, duplicates
 * by hash, cross-wave duplicates the system excludes). A response waits for them while its
 * `checked_at` is null: set so by every page the survey stores, set by the checks when done. So
 * the work to do is found by the data itself (the runner polls for it), and a crash loses none.
 */

/**
 * Responses checked per step (each has a handful of answers), sized by the time the last step held
 * the event loop: coding a text answer costs from microseconds to a millisecond or so, by its length
 * and the codebook, so a fixed 25 held it from 10 to 90 ms.
 */
export const CHECKS_CHUNKING: Chunking = { first: 25, min: 5, max: 200, budgetMs: 15 };

/** How long a checks job judges speeders by the same wave medians before it reads them again. */
export const MEDIANS_MAX_AGE_MS = 60_000;

interface ChecksCursor {
  after: number;
  checked: number;
  /** Responses the next step takes (CHECKS_CHUNKING). */
  size: number;
  /** [wave id, median, count] of the study's waves, read at `mediansAt` (a scan of each wave: not every step). */
  medians: Array<[number, number, number]>;
  mediansAt: number;
}

/** What a step reads: the batch, its answers and what the coding and flags depend on. */
async function readChecks(db: Executor, studyId: number, after: number, limit: number) {
  const waves = await listWaves(db, studyId);
  const batch = await listUncheckedResponses(db, waves.map((w) => w.id), after, limit);
  if (batch.length === 0) return { waves, batch, signature: "" };
  const questions = await loadQuestionnaire(db, studyId);
  const aliases = await listTextAliases(db, studyId);
  const settings = await loadQualitySettings(db, studyId);
  const answers = await listAnswersOf(db, batch.map((r) => r.id));
  return { waves, batch, questions, aliases, settings, answers, signature: JSON.stringify([questions, aliases, settings, batch, answers]) };
}

type ChecksInput = Awaited<ReturnType<typeof readChecks>>;

interface ChecksPlan {
  /** Text answers of coded questions (their mentions are replaced) and the mentions they get. */
  codedAnswerIds: number[];
  mentions: Array<{ answerId: number; code: string; rank: number }>;
  flags: FlagPlan;
}

/** The coding (CPU: codebooks, fuzzy matching) and the flags of a batch, as read. */
async function planChecks(db: Executor, studyId: number, input: ChecksInput, medians: ReadonlyMap<number, { median: number; count: number }>): Promise<ChecksPlan> {
  const { questions = [], aliases = [], settings, answers = [], batch, waves } = input;
  const codebooks = studyCodebooksOf(JSON.stringify([questions, aliases]), questions, aliases);
  const coded = answers.filter((a) => a.optionId === null && a.valueText !== null && codebooks.has(a.questionId));
  const mentions = coded.flatMap((a) => codeText(a.valueText!, codebooks.get(a.questionId)!).map((m) => ({ answerId: a.id, ...m })));
  const completed = batch.filter((r): r is UncheckedRow => r.status === "completed");
  const flags = settings
    ? await planFlags(db, { studyId, settings, questions: flagQuestions(questions), waves, medians }, completed)
    : { updates: [], flagged: 0, exclusions: [] };
  return { codedAnswerIds: coded.map((a) => a.id), mentions, flags };
}

/**
 * One step: a batch of the study's unchecked responses (sized by time, CHECKS_CHUNKING) after the
 * cursor, coded and flagged outside any lock, then written in one unit of work with the job's
 * cursor: mentions replaced, flags and exclusions written, `checked_at` set. Under the lock the
 * batch is read again and, if a page was stored or an alias or setting changed meanwhile, planned
 * again there, so what is written always matches what is stored. The step is idempotent: mentions
 * are replaced, not added. The time a step held the event loop sizes the next: on SQLite all of it
 * (every read runs on the event loop); on PostgreSQL its planning (the coding's CPU, with the flag
 * reads' round trips: an overestimate).
 */
export const responseChecksStep = (chunking: Chunking = CHECKS_CHUNKING, now: () => number = () => performance.now()): JobStep => async (db, job, run) => {
  const studyId = job.studyId!;
  const c = cursorOf<ChecksCursor>(job);
  const checked = c.checked ?? 0;
  const limit = c.size ?? chunking.first;
  if (c.mediansAt === undefined || Date.now() - c.mediansAt > MEDIANS_MAX_AGE_MS) {
    // A step of its own: speeders are judged against the wave medians of the last minute.
    const waves = await listWaves(db, studyId);
    const medians = [...(await waveMedians(db, waves.map((w) => w.id)))].map(([id, m]): [number, number, number] => [id, m.median, m.count]);
    return { cursor: { after: c.after ?? 0, checked, size: limit, medians, mediansAt: Date.now() }, done: checked, total: null };
  }
  const onPostgres = isPostgres(db);
  // Two readings of the clock a step, on either engine (see above for what they bracket).
  const from = onPostgres ? 0 : now();
  const medians = new Map((c.medians ?? []).map(([id, median, count]) => [id, { median, count }]));
  const planned = await readChecks(db, studyId, c.after ?? 0, limit);
  if (planned.batch.length === 0) return { cursor: null, done: checked, total: checked, result: { checked } };
  const planFrom = onPostgres ? now() : 0;
  const plan = await planChecks(db, studyId, planned, medians);
  const planMs = onPostgres ? now() - planFrom : 0;
  return unitOfWork(db, async (tx): Promise<StepResult> => {
    const input = await readChecks(tx, studyId, c.after ?? 0, limit);
    const final = input.signature === planned.signature ? plan : await planChecks(tx, studyId, input, medians);
    const stamp = new Date();
    await deleteMentionsOfAnswers(tx, final.codedAnswerIds);
    await insertMentionRows(tx, final.mentions);
    await writeFlagPlan(tx, studyId, final.flags, stamp);
    await markChecked(tx, input.batch.map((r) => r.id), stamp);
    // Checked responses leave the unchecked index, which can bring the data version back to a value
    // it had before they arrived: a new epoch keeps a snapshot of that earlier state from passing as current.
    if (input.batch.length) await markResultsStale(tx, studyId);
    const done = checked + input.batch.length;
    const heldMs = onPostgres ? planMs : now() - from;
    const result: StepResult = input.batch.length
      ? { cursor: { ...c, after: input.batch.at(-1)!.id, checked: done, size: nextChunkSize(limit, heldMs, chunking) }, done, total: null }
      : { cursor: null, done, total: done, result: { checked: done } };
    await run.save(tx, result);
    return result;
  });
};
