import { unitOfWork, type Db, type Executor } from "../../db/client.js";
import { recordAudit } from "../../db/queries/audit.js";
import { listWaves } from "../../db/queries/fieldwork.js";
import {
  decidedResponseIds,
  excludeBySystem,
  findQualitySettings,
  findResponseById,
  firstWithHash,
  listAnswersOf,
  listCompletedTimings,
  markFlagsComputed,
  setQualityFlags,
  waveDurationMedian,
} from "../../db/queries/quality.js";
import { loadQuestionnaire } from "../../db/queries/questionnaire.js";
import type { QualityFlag, SurveyResponse, Wave } from "../../db/schema.js";
import type { SurveyQuestion } from "../domain/questionnaire.js";
import {
  CROSS_WAVE_REASON,
  crossWaveDuplicates,
  crossWaveReason,
  duplicateOf,
  earlierKeys,
  flagContext,
  responseFlags,
  sameFlags,
  type FlagQuestion,
  type DuplicateOf,
  type FlagResponse,
  type ResponseTiming,
} from "./flags.js";
import { readQualitySettings, type QualitySettings } from "./settings.js";
import type { ChunkOptions } from "../services/chunks.js";
import { markResultsStale } from "../results-snapshots/version.js";

/**
 * Loading and storing quality flags: the whole study in bounded batches (a recompute), or one
 * response as it completes (inside the survey flow's transaction). The rules are in flags.ts.
 */

export const FLAG_BATCH_SIZE = 500;
/** Responses whose flags (or exclusion) are written per unit of work: one holds the write lock well under 50 ms (bench/write-locks.ts). */
export const FLAG_WRITE_CHUNK = 50;

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
function readQuestionIds(questions: readonly FlagQuestion[]): number[] {
  return questions.filter((q) => q.type === "scale" || q.correctOptionIds.length > 0 || (q.type === "text" && q.required)).map((q) => q.id);
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
  ms: number;
}

/**
 * Recomputes the flags of every completed response of the study with its current settings.
 * Two passes in batches of `batchSize` responses: timings and hashes first (for wave medians
 * and duplicates), then answers, read outside any transaction; the changes are written
 * `writeChunk` responses per unit of work, so survey posts go on between them. Each write sets a
 * response's whole flag list, so an interrupted recompute leaves every response flagged by one
 * computation or the other and running it again finishes it. Responses completing meanwhile are
 * flagged as they complete (flagCompletedResponse) and left alone here. The summary is recorded
 * in the audit log when `userId` is given (null for the system).
 */
export async function recomputeStudyFlags(
  db: Db,
  studyId: number,
  options: { userId?: number | null; batchSize?: number; writeChunk?: number; now?: Date } & ChunkOptions<number> = {},
): Promise<RecomputeSummary> {
  const started = performance.now();
  const batchSize = options.batchSize ?? FLAG_BATCH_SIZE;
  const writeChunk = options.writeChunk ?? FLAG_WRITE_CHUNK;
  const settings = await loadQualitySettings(db, studyId);
  const questions = flagQuestions(await loadQuestionnaire(db, studyId));
  const read = readQuestionIds(questions);
  const waves = await listWaves(db, studyId);
  const waveIds = waves.map((w) => w.id);

  const timings: ResponseTiming[] = [];
  const stored = new Map<number, QualityFlag[] | null>();
  const excluded = new Set<number>();
  for (let after = 0; ; ) {
    const batch = await listCompletedTimings(db, waveIds, after, batchSize);
    if (batch.length === 0) break;
    for (const r of batch) {
      timings.push({
        id: r.id,
        waveId: r.waveId,
        completedAt: r.completedAt?.getTime() ?? 0,
        durationMs: r.durationMs,
        browserHash: r.browserHash,
        networkHash: r.networkHash,
        person: r.person,
      });
      stored.set(r.id, r.qualityFlags);
      if (r.excluded) excluded.add(r.id);
    }
    after = batch[batch.length - 1]!.id;
  }
  const ctx = flagContext(timings, settings);

  let changed = 0;
  let flagged = 0;
  for (let i = 0; i < timings.length; i += batchSize) {
    const batch = timings.slice(i, i + batchSize);
    const answersByResponse = new Map<number, FlagResponse["answers"][number][]>();
    for (const a of await listAnswersOf(db, batch.map((t) => t.id), read)) {
      const list = answersByResponse.get(a.responseId);
      if (list) list.push(a);
      else answersByResponse.set(a.responseId, [a]);
    }
    const updates: Array<[number, QualityFlag[]]> = [];
    for (const t of batch) {
      const before = stored.get(t.id) ?? null;
      const flags = responseFlags({ ...t, flags: before, answers: answersByResponse.get(t.id) ?? [] }, questions, ctx, settings);
      if (flags.length) flagged++;
      if (!sameFlags(before, flags)) updates.push([t.id, flags]);
    }
    for (let j = 0; j < updates.length; j += writeChunk) {
      const chunk = updates.slice(j, j + writeChunk);
      await unitOfWork(db, async (tx) => {
        for (const [id, flags] of chunk) await setQualityFlags(tx, id, flags);
        await markResultsStale(tx, studyId);
      });
      changed += chunk.length;
      await options.afterChunk?.(chunk.at(-1)![0]);
    }
  }

  const autoExcluded = settings.duplicateAcrossWaves
    ? await excludeCrossWaveDuplicates(db, studyId, timings, new Map(waves.map((w) => [w.id, w.position])), excluded, options.now ?? new Date(), writeChunk)
    : 0;

  const summary = { responses: timings.length, changed, flagged, autoExcluded, ms: Math.round(performance.now() - started) };
  await unitOfWork(db, async (tx) => {
    await markFlagsComputed(tx, studyId, options.now ?? new Date());
    if (options.userId !== undefined) {
      await recordAudit(tx, {
        userId: options.userId,
        // No user: the app recomputed on its own.
        systemActor: options.userId === null ? "system" : null,
        action: "quality.recompute",
        entityType: "study",
        entityId: studyId,
        details: { responses: summary.responses, changed, flagged },
      });
    }
  });
  return summary;
}

/**
 * Excludes, on the system's behalf, the cross-wave duplicates (crossWaveDuplicates) not yet
 * excluded, `chunk` per transaction, each with the audit entry of its own exclusions. A response
 * the system excluded before, or that a researcher restored, is never excluded again: restoring
 * sticks (checked under each chunk's lock, so a restore made between chunks counts).
 */
async function excludeCrossWaveDuplicates(
  db: Db,
  studyId: number,
  timings: readonly ResponseTiming[],
  wavePosition: ReadonlyMap<number, number>,
  excluded: ReadonlySet<number>,
  now: Date,
  chunk: number,
): Promise<number> {
  const candidates = [...crossWaveDuplicates(timings, wavePosition)].filter(([id]) => !excluded.has(id));
  let total = 0;
  for (let i = 0; i < candidates.length; i += chunk) {
    total += await unitOfWork(db, async (tx) => {
      const decided = await decidedResponseIds(tx, studyId);
      const changed: number[] = [];
      for (const [id, d] of candidates.slice(i, i + chunk)) {
        if (!decided.has(id) && (await excludeBySystem(tx, id, crossWaveReason(d), now))) changed.push(id);
      }
      if (changed.length) {
        await recordAutoExclusion(tx, studyId, changed);
        await markResultsStale(tx, studyId);
      }
      return changed.length;
    });
  }
  return total;
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

/**
 * Flags one response that has just completed, inside the transaction that completes it: the
 * wave's current median (including this response) and the earlier responses with its hashes.
 * A recompute later may differ for speeders, as the median moves while the wave fills.
 */
export async function flagCompletedResponse(tx: Executor, studyId: number, responseId: number, questionnaire: readonly SurveyQuestion[]): Promise<QualityFlag[]> {
  const response = await findResponseById(tx, responseId);
  if (!response || response.status !== "completed") return response?.qualityFlags ?? [];
  const settings = await loadQualitySettings(tx, studyId);
  const questions = flagQuestions(questionnaire);
  const studyWaves = settings.duplicateAcrossWaves ? await listWaves(tx, studyId) : [];
  const studyWaveIds = settings.duplicateAcrossWaves ? studyWaves.map((w) => w.id) : [response.waveId];
  const median = await waveDurationMedian(tx, response.waveId);
  // findEarlier's lookups, one query each, stopping at the first match.
  let duplicate: DuplicateOf | undefined;
  for (const k of earlierKeys(response, settings)) {
    const [scope, kind, hash] = k.key.split("|") as [string, "b" | "n", string];
    const ids = scope === "s" ? studyWaveIds : [response.waveId];
    const earlier = await firstWithHash(tx, ids, kind === "b" ? "browser" : "network", hash, response.id);
    if (earlier) {
      duplicate = duplicateOf(response, k, earlier);
      break;
    }
  }
  const record: FlagResponse = {
    id: response.id,
    waveId: response.waveId,
    completedAt: response.completedAt?.getTime() ?? 0,
    durationMs: response.durationMs,
    browserHash: response.browserHash,
    networkHash: response.networkHash,
    flags: response.qualityFlags,
    answers: await listAnswersOf(tx, [response.id], readQuestionIds(questions)),
  };
  const ctx = {
    waves: new Map(median ? [[response.waveId, median]] : []),
    duplicates: new Map(duplicate ? [[response.id, duplicate]] : []),
  };
  const flags = responseFlags(record, questions, ctx, settings);
  if (!sameFlags(response.qualityFlags, flags)) await setQualityFlags(tx, response.id, flags);
  if (settings.duplicateAcrossWaves) await excludeIfSameBrowserAnsweredBefore(tx, studyId, response, studyWaves);
  return flags;
}

/**
 * The respondent-side half of the cross-wave rule: a response completing in a later wave whose
 * browser id completed an earlier wave is excluded at once (an index lookup per earlier wave, in
 * the completing transaction). Matches by a personal link's respondent id need a scan of the
 * earlier waves, so they wait for the next recompute (wave close, or on demand).
 */
async function excludeIfSameBrowserAnsweredBefore(
  tx: Executor,
  studyId: number,
  response: Pick<SurveyResponse, "id" | "waveId" | "browserHash" | "excluded">,
  waves: readonly Wave[],
): Promise<void> {
  if (!response.browserHash || response.excluded) return;
  const position = waves.find((w) => w.id === response.waveId)?.position;
  if (position === undefined) return;
  const earlier = waves.filter((w) => w.position < position).map((w) => w.id);
  const first = await firstWithHash(tx, earlier, "browser", response.browserHash, response.id);
  if (first && (await excludeBySystem(tx, response.id, crossWaveReason({ of: first.id, by: "browser" }), new Date()))) {
    await recordAutoExclusion(tx, studyId, [response.id]);
  }
}
