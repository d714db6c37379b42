import { databaseLocation, unitOfWork, type Db } from "../../db/client.js";
import type { JobStep } from "../jobs/contract.js";
import { backgroundSettled, runInBackground, runOnce } from "./background.js";
import { computeSnapshot, snapshotRequestOf, variantOf, type SnapshotRequest } from "./compute.js";
import { saveSnapshot, type ComputedSnapshot } from "./store.js";
import { computeInWorker } from "./worker-pool.js";

/**
 * Recomputing snapshots. One computation per study and variant at a time in this process (a
 * second request joins the running one); "worker" computes in the results worker thread when the
 * database can be opened from there (a file or a PostgreSQL URL; a database in memory is computed
 * here), "inline" here, for a small study a request waits for.
 */

export type Where = "worker" | "inline";

/**
 * Responses (all waves of a study) up to which results are computed on the request, in process:
 * computing the results of 5,000 responses takes ~0.1 s (~20 µs a response, SQLite): about what a
 * researcher's page may wait, and the longest the event loop may be held for it. The demo (~3,000)
 * and every study of the test suite are below, so they always show current numbers; a larger
 * study is computed in the worker thread.
 */
export const SYNC_LIMIT = 5_000;

export interface SnapshotSettings {
  syncLimit: number;
  /** Awaited before a background recomputation starts (tests hold one to see what is shown meanwhile). */
  beforeRefresh?: () => Promise<void>;
  /**
   * Awaited between the phases of rendering a results page or report (its snapshot read and
   * tables, its view data, its template), each a task of its own on the event loop that serves
   * respondents: a turn of the event loop unless a test counts them.
   */
  betweenPhases?: () => Promise<void>;
}

const settings = new WeakMap<Db, SnapshotSettings>();

/** Overrides the settings for one database (tests take the large-study path with syncLimit 0). */
export function configureResultsSnapshots(db: Db, overrides: Partial<SnapshotSettings>): void {
  settings.set(db, { ...snapshotSettings(db), ...overrides });
}

export const snapshotSettings = (db: Db): SnapshotSettings => settings.get(db) ?? { syncLimit: SYNC_LIMIT };

const keyOf = (studyId: number, request: SnapshotRequest) => `${studyId}|${variantOf(request)}`;

/** The computation and storing of a snapshot, to run once per study and variant at a time. */
function computeAndStore(db: Db, studyId: number, request: SnapshotRequest, where: Where): () => Promise<ComputedSnapshot | null> {
  const location = where === "worker" ? databaseLocation(db) : undefined;
  const hold = where === "worker" ? snapshotSettings(db).beforeRefresh : undefined;
  return async () => {
    if (hold) await hold();
    const snapshot = location ? await computeInWorker(location, studyId, request) : await computeSnapshot(db, studyId, request);
    if (snapshot) await unitOfWork(db, (tx) => saveSnapshot(tx, snapshot));
    return snapshot;
  };
}

/** Computes and stores the snapshot of `request` (or joins its running computation); the stored snapshot, or null when its study or waves are gone. */
export function refreshSnapshot(db: Db, studyId: number, request: SnapshotRequest, where: Where): Promise<ComputedSnapshot | null> {
  return runOnce(db, keyOf(studyId, request), computeAndStore(db, studyId, request, where));
}

/** Resolves when every refresh running on this database has ended (tests, a graceful shutdown). */
export const refreshesSettled = backgroundSettled;

/**
 * Starts recomputing a snapshot in the background and returns at once (the page shows the last
 * one meanwhile). A failure is logged and not retried for a while. In this process for now: a
 * durable "results" job (resultsJobStep) can take its place without changing its callers.
 */
export function triggerResultsRefresh(db: Db, studyId: number, request: SnapshotRequest): void {
  runInBackground(db, keyOf(studyId, request), computeAndStore(db, studyId, request, "worker"), { studyId, variant: variantOf(request) });
}

/**
 * The job step of kind "results" (server/jobs/contract.ts): params are a SnapshotRequest. One step
 * does the whole computation in the worker thread, so the event loop is free throughout (the step
 * only awaits) and no write lock is held but for the final upsert; it is idempotent (recomputing
 * gives the snapshot of the data as it is then).
 */
export const resultsJobStep: JobStep = async (db, job) => {
  const request = snapshotRequestOf(job.params);
  if (request && job.studyId !== null) await refreshSnapshot(db, job.studyId, request, "worker");
  return { cursor: null, done: 1, total: 1 };
};
