import type { Db, Executor } from "../../db/client.js";
import { recordAudit } from "../../db/queries/audit.js";
import { listWaves } from "../../db/queries/fieldwork.js";
import {
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
import type { QualityFlag } from "../../db/schema.js";
import type { SurveyQuestion } from "../domain/questionnaire.js";
import { findEarlier, flagContext, responseFlags, sameFlags, type FlagQuestion, type FlagResponse, type ResponseTiming } from "./flags.js";
import { readQualitySettings, type QualitySettings } from "./settings.js";

/**
 * Loading and storing quality flags: the whole study in bounded batches (a recompute), or one
 * response as it completes (inside the survey flow's transaction). The rules are in flags.ts.
 */

export const FLAG_BATCH_SIZE = 500;

export function loadQualitySettings(db: Executor, studyId: number): QualitySettings {
  return readQualitySettings(findQualitySettings(db, studyId)?.settings);
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
  ms: number;
}

/**
 * Recomputes the flags of every completed response of the study with its current settings.
 * Two passes in batches of `batchSize` responses: timings and hashes first (for wave medians
 * and duplicates), then answers, each batch's changes written in one transaction. The summary
 * is recorded in the audit log when `userId` is given (null for the system).
 */
export function recomputeStudyFlags(db: Db, studyId: number, options: { userId?: number | null; batchSize?: number; now?: Date } = {}): RecomputeSummary {
  const started = performance.now();
  const batchSize = options.batchSize ?? FLAG_BATCH_SIZE;
  const settings = loadQualitySettings(db, studyId);
  const questions = flagQuestions(loadQuestionnaire(db, studyId));
  const read = readQuestionIds(questions);
  const waveIds = listWaves(db, studyId).map((w) => w.id);

  const timings: ResponseTiming[] = [];
  const stored = new Map<number, QualityFlag[] | null>();
  for (let after = 0; ; ) {
    const batch = listCompletedTimings(db, waveIds, after, batchSize);
    if (batch.length === 0) break;
    for (const r of batch) {
      timings.push({
        id: r.id,
        waveId: r.waveId,
        completedAt: r.completedAt?.getTime() ?? 0,
        durationMs: r.durationMs,
        browserHash: r.browserHash,
        networkHash: r.networkHash,
      });
      stored.set(r.id, r.qualityFlags);
    }
    after = batch[batch.length - 1]!.id;
  }
  const ctx = flagContext(timings, settings);

  let changed = 0;
  let flagged = 0;
  for (let i = 0; i < timings.length; i += batchSize) {
    const batch = timings.slice(i, i + batchSize);
    const answersByResponse = new Map<number, FlagResponse["answers"][number][]>();
    for (const a of listAnswersOf(db, batch.map((t) => t.id), read)) {
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
    if (updates.length) {
      db.transaction((tx) => {
        for (const [id, flags] of updates) setQualityFlags(tx, id, flags);
      });
      changed += updates.length;
    }
  }

  const summary = { responses: timings.length, changed, flagged, ms: Math.round(performance.now() - started) };
  db.transaction((tx) => {
    markFlagsComputed(tx, studyId, options.now ?? new Date());
    if (options.userId !== undefined) {
      recordAudit(tx, {
        userId: options.userId,
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
 * Flags one response that has just completed, inside the transaction that completes it: the
 * wave's current median (including this response) and the earlier responses with its hashes.
 * A recompute later may differ for speeders, as the median moves while the wave fills.
 */
export function flagCompletedResponse(tx: Executor, studyId: number, responseId: number, questionnaire: readonly SurveyQuestion[]): QualityFlag[] {
  const response = findResponseById(tx, responseId);
  if (!response || response.status !== "completed") return response?.qualityFlags ?? [];
  const settings = loadQualitySettings(tx, studyId);
  const questions = flagQuestions(questionnaire);
  const studyWaveIds = settings.duplicateAcrossWaves ? listWaves(tx, studyId).map((w) => w.id) : [response.waveId];
  const median = waveDurationMedian(tx, response.waveId);
  const duplicate = findEarlier(
    response,
    (key) => {
      const [scope, kind, hash] = key.split("|") as [string, "b" | "n", string];
      const ids = scope === "s" ? studyWaveIds : [response.waveId];
      return firstWithHash(tx, ids, kind === "b" ? "browser" : "network", hash, response.id);
    },
    settings,
  );
  const record: FlagResponse = {
    id: response.id,
    waveId: response.waveId,
    completedAt: response.completedAt?.getTime() ?? 0,
    durationMs: response.durationMs,
    browserHash: response.browserHash,
    networkHash: response.networkHash,
    flags: response.qualityFlags,
    answers: listAnswersOf(tx, [response.id], readQuestionIds(questions)),
  };
  const ctx = {
    waves: new Map(median ? [[response.waveId, median]] : []),
    duplicates: new Map(duplicate ? [[response.id, duplicate]] : []),
  };
  const flags = responseFlags(record, questions, ctx, settings);
  if (!sameFlags(response.qualityFlags, flags)) setQualityFlags(tx, response.id, flags);
  return flags;
}
