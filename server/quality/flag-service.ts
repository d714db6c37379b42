import { databaseLocation, unitOfWork, type Db, type Executor } from "../../db/client.js";
import { recordAudit } from "../../db/queries/audit.js";
import { listWaves } from "../../db/queries/fieldwork.js";
import {
  completedWithHashes,
  completedWithPersons,
  countCompletedIn,
  decidedResponseIds,
  excludeBySystem,
  findQualitySettings,
  listAnswersOf,
  listCompletedTimings,
  markFlagsComputed,
  setQualityFlags,
  waveDurationMedian,
  type HashRow,
  type TimingRow,
} from "../../db/queries/quality.js";
import { loadQuestionnaire } from "../../db/queries/questionnaire.js";
import type { QualityFlag, SurveyResponse, Wave } from "../../db/schema.js";
import type { SurveyQuestion } from "../domain/questionnaire.js";
import { cursorOf, type JobStep, type StepResult } from "../jobs/contract.js";
import type { ChunkOptions } from "../services/chunks.js";
import {
  CROSS_WAVE_REASON,
  crossWaveReason,
  findEarlier,
  responseFlags,
  sameFlags,
  type CrossWaveDuplicate,
  type DuplicateOf,
  type FlagAnswer,
  type FlagQuestion,
  type ResponseTiming,
} from "./flags.js";
import { readQualitySettings, type QualitySettings } from "./settings.js";
import { markResultsStale } from "../results-snapshots/version.js";
import { planRecomputeInWorker } from "../results-snapshots/worker-pool.js";

/**
 * Loading and storing quality flags: the whole study in resumable steps (a recompute, run as a
 * background job), a batch of responses after they are stored (their background checks,
 * checks-service.ts), and the flags a response's own answers give as it completes. The rules are
 * in flags.ts; here the study-wide facts they need (wave medians, the earlier response with the
 * same hash) are read from the database for one batch at a time.
 */

/** Completed responses flagged per step: one step's reads, and its unit of work, stay short (bench/write-locks.ts). */
export const FLAG_STEP_SIZE = 50;

export async function loadQualitySettings(db: Executor, studyId: number): Promise<QualitySettings> {
  return readQualitySettings((await findQualitySettings(db, studyId))?.settings);
}

/** The questionnaire as the flag rules see it. */
export function flagQuestions(questions: readonly SurveyQuestion[]): FlagQuestion[] {
  return questions.map((q) => ({
    id: q.id,
    key: q.key,
    type: q.type,
    required: q.required,
    correctOptionIds: q.options.filter((o) => o.attentionCheck).map((o) => o.id),
  }));
}

/** Questions whose answers some rule reads: scale, attention checks, required text. */
export function readQuestionIds(questions: readonly FlagQuestion[]): number[] {
  return questions.filter((q) => q.type === "scale" || q.correctOptionIds.length > 0 || (q.type === "text" && q.required)).map((q) => q.id);
}

/**
 * The flags a completed response's own answers give (straight-lining, attention checks, empty or
 * gibberish text; the honeypot kept): no other response is read, so they are set in the
 * respondent's transaction as it completes. Speeders (the wave's median) and duplicates (other
 * responses' hashes) are added by the background checks that follow (checks-service.ts).
 */
export async function ownFlags(
  tx: Executor,
  studyId: number,
  response: Pick<SurveyResponse, "id" | "waveId" | "completedAt" | "durationMs" | "browserHash" | "networkHash" | "qualityFlags">,
  questionnaire: readonly SurveyQuestion[],
  answers: readonly FlagAnswer[],
  /** The stored settings when the caller has read them already (undefined: read them here; null: none stored). */
  stored?: Record<string, unknown> | null,
): Promise<QualityFlag[]> {
  const record = { ...response, completedAt: response.completedAt?.getTime() ?? 0, flags: response.qualityFlags, answers };
  const settings = stored === undefined ? await loadQualitySettings(tx, studyId) : readQualitySettings(stored ?? undefined);
  return responseFlags(record, flagQuestions(questionnaire), { waves: new Map(), duplicates: new Map() }, settings);
}

// ---------------------------------------------------------------- flagging a batch

/** What flagging a batch needs to know of its study. */
export interface FlagStudy {
  studyId: number;
  settings: QualitySettings;
  questions: FlagQuestion[];
  waves: readonly Wave[];
  /** Median duration and count of timed completed responses, per wave. */
  medians: ReadonlyMap<number, { median: number; count: number }>;
}

/** A batch's flags as computed (outside any lock), and the cross-wave duplicates to exclude. */
export interface FlagPlan {
  updates: Array<[number, QualityFlag[]]>;
  /** Responses of the batch carrying a flag afterwards. */
  flagged: number;
  exclusions: Array<[number, CrossWaveDuplicate]>;
}

const toTiming = (r: TimingRow): ResponseTiming => ({
  id: r.id,
  waveId: r.waveId,
  completedAt: r.completedAt?.getTime() ?? 0,
  durationMs: r.durationMs,
  browserHash: r.browserHash,
  networkHash: r.networkHash,
  person: r.person,
});

/** The earliest row per key, by `order` (then id). */
function earliestBy(rows: readonly HashRow[], keysOf: (r: HashRow) => string[], order: (r: HashRow) => number[]): Map<string, HashRow> {
  const out = new Map<string, HashRow>();
  const before = (a: HashRow, b: HashRow) => {
    const x = [...order(a), a.id];
    const y = [...order(b), b.id];
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i]! < y[i]!;
    return false;
  };
  for (const r of rows) {
    for (const key of keysOf(r)) {
      const seen = out.get(key);
      if (!seen || before(r, seen)) out.set(key, r);
    }
  }
  return out;
}

/**
 * Flags of a batch of completed responses, and which of them repeat an earlier wave, as the
 * whole-study rules of flags.ts give them (flagContext, crossWaveDuplicates): the earliest
 * completed response with each of the batch's hashes (and personal-link respondent ids) is read
 * from the database, so a batch needs no other state than the wave medians.
 */
export async function planFlags(db: Executor, study: FlagStudy, batch: readonly TimingRow[]): Promise<FlagPlan> {
  const { settings } = study;
  const plan: FlagPlan = { updates: [], flagged: 0, exclusions: [] };
  if (batch.length === 0) return plan;
  const timings = batch.map(toTiming);
  const allWaves = study.waves.map((w) => w.id);
  const hashWaves = settings.duplicateAcrossWaves ? allWaves : [...new Set(timings.map((t) => t.waveId))];
  const distinct = (values: Array<string | null | undefined>) => [...new Set(values.filter((v): v is string => !!v))];
  const browsers = await completedWithHashes(db, hashWaves, "browser", distinct(timings.map((t) => t.browserHash)));
  const networks = settings.duplicateByNetwork ? await completedWithHashes(db, hashWaves, "network", distinct(timings.map((t) => t.networkHash))) : [];

  // flagContext's keys: per wave, and per study when duplicates across waves count.
  const byTime = (r: HashRow) => [r.completedAt?.getTime() ?? 0];
  const hashKeys = (kind: string) => (r: HashRow) => [`w${r.waveId}|${kind}|${r.value}`, ...(settings.duplicateAcrossWaves ? [`s|${kind}|${r.value}`] : [])];
  const earliest = new Map([...earliestBy(browsers, hashKeys("b"), byTime), ...earliestBy(networks, hashKeys("n"), byTime)]);
  const answersByResponse = new Map<number, FlagAnswer[]>();
  for (const a of await listAnswersOf(db, batch.map((r) => r.id), readQuestionIds(study.questions))) {
    const list = answersByResponse.get(a.responseId);
    if (list) list.push(a);
    else answersByResponse.set(a.responseId, [a]);
  }
  for (const [i, row] of batch.entries()) {
    const t = timings[i]!;
    // The earliest response with a key is "earlier" than every other one with it, never than itself.
    const duplicate: DuplicateOf | undefined = findEarlier(t, (key) => {
      const e = earliest.get(key);
      return e && e.id !== t.id ? e : undefined;
    }, settings);
    const ctx = { waves: study.medians, duplicates: new Map(duplicate ? [[t.id, duplicate]] : []) };
    const flags = responseFlags({ ...t, flags: row.qualityFlags, answers: answersByResponse.get(t.id) ?? [] }, study.questions, ctx, settings);
    if (flags.length) plan.flagged++;
    if (!sameFlags(row.qualityFlags, flags)) plan.updates.push([t.id, flags]);
  }

  if (settings.duplicateAcrossWaves) {
    const position = new Map(study.waves.map((w) => [w.id, w.position]));
    const byWaveThenTime = (r: HashRow) => [position.get(r.waveId) ?? 0, r.completedAt?.getTime() ?? 0];
    const firstBrowser = earliestBy(browsers, (r) => [`browser|${r.value}`], byWaveThenTime);
    const persons = await completedWithPersons(db, allWaves, distinct(timings.map((t) => t.person)));
    const firstPerson = earliestBy(persons, (r) => [`person|${r.value}`], byWaveThenTime);
    for (const [i, row] of batch.entries()) {
      if (row.excluded) continue;
      const t = timings[i]!;
      const keys: Array<[CrossWaveDuplicate["by"], HashRow | undefined]> = [
        ["browser", t.browserHash ? firstBrowser.get(`browser|${t.browserHash}`) : undefined],
        ["person", t.person ? firstPerson.get(`person|${t.person}`) : undefined],
      ];
      const found = keys.find(([, e]) => e && (position.get(e.waveId) ?? 0) < (position.get(t.waveId) ?? 0));
      if (found) plan.exclusions.push([t.id, { of: found[1]!.id, by: found[0] }]);
    }
  }
  return plan;
}

/**
 * Writes a batch's flags and its cross-wave exclusions (in the caller's unit of work). A response
 * the system excluded before, or that a researcher restored, is never excluded again: restoring
 * sticks (checked here, under the lock). Returns how many the system excluded.
 */
export async function writeFlagPlan(tx: Executor, studyId: number, plan: FlagPlan, now: Date): Promise<number> {
  for (const [id, flags] of plan.updates) await setQualityFlags(tx, id, flags);
  // Flags and exclusions change what results count; the data version cannot see them by itself.
  if (plan.updates.length > 0 || plan.exclusions.length > 0) await markResultsStale(tx, studyId);
  if (plan.exclusions.length === 0) return 0;
  const decided = await decidedResponseIds(tx, studyId);
  const excluded: number[] = [];
  for (const [id, d] of plan.exclusions) {
    if (!decided.has(id) && (await excludeBySystem(tx, id, crossWaveReason(d), now))) excluded.push(id);
  }
  if (excluded.length) await recordAutoExclusion(tx, studyId, excluded);
  return excluded.length;
}

/** The audit entry of the system's exclusions (no user), listed in the ledger's history. */
async function recordAutoExclusion(tx: Executor, studyId: number, responseIds: number[]): Promise<void> {
  await recordAudit(tx, {
    userId: null,
    systemActor: "system",
    action: "quality.auto_exclude",
    entityType: "study",
    entityId: studyId,
    details: { responseIds: [...responseIds].sort((a, b) => a - b), reason: CROSS_WAVE_REASON },
  });
}

/** Median duration and count of each wave's timed completed responses (one index range scan each). */
export async function waveMedians(db: Executor, waveIds: readonly number[]): Promise<Map<number, { median: number; count: number }>> {
  const out = new Map<number, { median: number; count: number }>();
  for (const id of waveIds) {
    const m = await waveDurationMedian(db, id);
    if (m) out.set(id, m);
  }
  return out;
}

// ---------------------------------------------------------------- the whole study

/** Where a recompute stands: the last response flagged, the medians it judges by, and its counts so far. */
interface RecomputeCursor {
  after: number;
  /** [wave id, median, count]: fixed at the start, so every response is judged against the same medians. */
  medians: Array<[number, number, number]>;
  total: number;
  responses: number;
  changed: number;
  flagged: number;
  autoExcluded: number;
}

export interface RecomputeSummary {
  /** Completed responses looked at. */
  responses: number;
  /** Responses whose flags changed. */
  changed: number;
  /** Responses carrying at least one flag afterwards. */
  flagged: number;
  /** Cross-wave duplicates the system excluded in this run. */
  autoExcluded: number;
}

interface RecomputeOptions {
  /** Who the audit entry names when the recompute is complete: a user, null for the system, undefined for no entry. */
  userId?: number | null;
  batchSize?: number;
  now?: Date;
}

type Save = (tx: Executor, result: StepResult) => Promise<void>;

/** One batch of a recompute, planned: how many responses it looked at, the last one's id, and their flags. */
export interface RecomputeBatch {
  count: number;
  lastId: number;
  plan: FlagPlan;
}

/**
 * Reads and plans the flags of the `batchSize` completed responses after `after`, judged by
 * `medians` ([wave id, median, count], fixed at a recompute's start); null when none is left. Reads
 * only: what the results worker thread runs for a recompute job (its rules and reads were ~15 ms
 * of the event loop a batch of 50, ~970 batches a recompute at 48,000 responses).
 */
export async function planRecomputeBatch(db: Executor, studyId: number, after: number, medians: ReadonlyArray<[number, number, number]>, batchSize: number): Promise<RecomputeBatch | null> {
  const waves = await listWaves(db, studyId);
  const batch = await listCompletedTimings(db, waves.map((w) => w.id), after, batchSize);
  if (batch.length === 0) return null;
  const study: FlagStudy = {
    studyId,
    settings: await loadQualitySettings(db, studyId),
    questions: flagQuestions(await loadQuestionnaire(db, studyId)),
    waves,
    medians: new Map(medians.map(([id, median, count]) => [id, { median, count }])),
  };
  return { count: batch.length, lastId: batch.at(-1)!.id, plan: await planFlags(db, study, batch) };
}

/** Plans a recompute's batch (planRecomputeBatch): on the caller's connection, or in the results worker thread. */
export type RecomputePlanner = (studyId: number, after: number, medians: ReadonlyArray<[number, number, number]>, batchSize: number) => Promise<RecomputeBatch | null>;

const planHere =
  (db: Executor): RecomputePlanner =>
  (studyId, after, medians, batchSize) =>
    planRecomputeBatch(db, studyId, after, medians, batchSize);

/**
 * One step of recomputing the flags of every completed response of the study with its current
 * settings: the first step fixes the wave medians, each next one flags `batchSize` responses in id
 * order (planned by `planner`, outside any lock) and writes what changed and the cross-wave exclusions in
 * one unit of work, with `save` (the job's cursor) inside it; the last marks the study's flags
 * computed and records the recompute in the audit log. Each write sets a response's whole flag
 * list, so a step run twice gives the same rows. Responses completing meanwhile are flagged by
 * their own background checks, and by this recompute too once it reaches their id.
 */
async function recomputeStep(db: Db, studyId: number, from: Partial<RecomputeCursor>, options: RecomputeOptions, save: Save | undefined, planner: RecomputePlanner): Promise<StepResult> {
  const batchSize = options.batchSize ?? FLAG_STEP_SIZE;
  const now = options.now ?? new Date();
  if (from.medians === undefined) {
    const waveIds = (await listWaves(db, studyId)).map((w) => w.id);
    const medians = [...(await waveMedians(db, waveIds))].map(([id, m]): [number, number, number] => [id, m.median, m.count]);
    const total = await countCompletedIn(db, waveIds);
    return { cursor: { after: 0, medians, total, responses: 0, changed: 0, flagged: 0, autoExcluded: 0 }, done: 0, total };
  }
  const c = from as RecomputeCursor;
  const batch = await planner(studyId, c.after, c.medians, batchSize);
  if (batch === null) {
    const summary: RecomputeSummary = { responses: c.responses, changed: c.changed, flagged: c.flagged, autoExcluded: c.autoExcluded };
    const result = { cursor: null, done: c.responses, total: c.responses, result: { ...summary } };
    await unitOfWork(db, async (tx) => {
      await markFlagsComputed(tx, studyId, now);
      if (options.userId !== undefined) {
        await recordAudit(tx, {
          userId: options.userId,
          // No user: the app recomputed on its own.
          systemActor: options.userId === null ? "system" : null,
          action: "quality.recompute",
          entityType: "study",
          entityId: studyId,
          details: { responses: summary.responses, changed: summary.changed, flagged: summary.flagged },
        });
      }
      await save?.(tx, result);
    });
    return result;
  }
  const { plan } = batch;
  const responses = c.responses + batch.count;
  const next = (excluded: number) => {
    const cursor: RecomputeCursor = { ...c, after: batch.lastId, responses, changed: c.changed + plan.updates.length, flagged: c.flagged + plan.flagged, autoExcluded: c.autoExcluded + excluded };
    return { cursor: { ...cursor }, done: responses, total: Math.max(c.total, responses) };
  };
  // Nothing to write (a recompute that changes little): no unit of work; the runner saves the cursor now and then.
  if (plan.updates.length === 0 && plan.exclusions.length === 0) return next(0);
  return unitOfWork(db, async (tx) => {
    const result = next(await writeFlagPlan(tx, studyId, plan, now));
    await save?.(tx, result);
    return result;
  });
}

/**
 * Responses a step of a recompute job plans in the results worker thread: the event loop only
 * waits for it and writes what changed (on a recompute that changes little, nothing).
 */
export const WORKER_FLAG_STEP_SIZE = 200;

/**
 * The "flags" and "wave_close" jobs: a recompute of the study's flags, recorded in the audit log
 * on behalf of whoever asked for it (the system when nobody did). Each step's batch is planned in
 * the results worker thread (`batchSize` responses, WORKER_FLAG_STEP_SIZE by default) when the
 * database can be opened from there (a file or a PostgreSQL URL), else here (FLAG_STEP_SIZE).
 */
export const recomputeJobStep =
  (batchSize?: number): JobStep =>
  (db, job, run) => {
    const location = databaseLocation(db);
    const planner = location ? planInWorker(location) : planHere(db);
    const size = batchSize ?? (location ? WORKER_FLAG_STEP_SIZE : FLAG_STEP_SIZE);
    return recomputeStep(db, job.studyId!, cursorOf<RecomputeCursor>(job), { userId: job.createdBy, batchSize: size }, run.save, planner);
  };

const planInWorker =
  (location: string): RecomputePlanner =>
  (studyId, after, medians, batchSize) =>
    planRecomputeInWorker(location, studyId, { after, medians: [...medians], batchSize });

/**
 * Recomputes the study's flags in this process, step by step as the job does (scripts, tests);
 * `afterChunk` is called after each step that wrote, with the lock free.
 */
export async function recomputeStudyFlags(db: Db, studyId: number, options: RecomputeOptions & ChunkOptions<number> = {}): Promise<RecomputeSummary> {
  let cursor: Partial<RecomputeCursor> = {};
  for (;;) {
    const step = await recomputeStep(db, studyId, cursor, options, undefined, planHere(db));
    if (step.cursor === null) return step.result as unknown as RecomputeSummary;
    cursor = step.cursor as unknown as RecomputeCursor;
    if (cursor.after) await options.afterChunk?.(cursor.after);
  }
}
