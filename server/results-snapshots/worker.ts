import { parentPort } from "node:worker_threads";
import { isPostgresUrl, openDatabase, openPostgres, readConsistently, type Db, type Executor } from "../../db/client.js";
import { planRecodeChunk, type RecodeCursor } from "../quality/coding-service.js";
import { planRecomputeBatch } from "../quality/flag-service.js";
import { computeStudyReviewQueue } from "../quality/review-queue.js";
import { computeSnapshot, type SnapshotRequest } from "./compute.js";

/**
 * The results worker thread (started by worker-pool.ts): computes snapshots (and the coding page's
 * review queue, and plans the batches of a flags recompute and the chunks of a recode) on connections of its own, one task at
 * a time, and posts them back; the main thread stores them. On SQLite its
 * connection is read-only (query_only) and reads inside one transaction, which WAL lets run beside
 * the app's writes; on PostgreSQL a one-connection pool reads at REPEATABLE READ. Either way the
 * seconds of SQL and JavaScript a large study takes never hold the event loop that serves respondents.
 */

/** A batch of a flags recompute to plan (planRecomputeBatch). */
export interface RecomputeRequest {
  kind: "flags-batch";
  after: number;
  medians: Array<[number, number, number]>;
  batchSize: number;
}

/** A chunk of a recode to read and code (planRecodeChunk). */
export interface RecodeRequest {
  kind: "recode-chunk";
  cursor: RecodeCursor;
  limit: number;
}

/** What a task computes: a results snapshot, the study's review queue, a recompute's batch or a recode's chunk. */
export type WorkerRequest = SnapshotRequest | { kind: "review-queue" } | RecomputeRequest | RecodeRequest;

function compute(tx: Executor, studyId: number, request: WorkerRequest): Promise<unknown> {
  switch (request.kind) {
    case "review-queue":
      return computeStudyReviewQueue(tx, studyId);
    case "flags-batch":
      return planRecomputeBatch(tx, studyId, request.after, request.medians, request.batchSize);
    case "recode-chunk":
      return planRecodeChunk(tx, studyId, request.cursor, request.limit);
    default:
      return computeSnapshot(tx, studyId, request);
  }
}

export interface WorkerTask {
  id: number;
  location: string;
  studyId: number;
  request: WorkerRequest;
}

const connections = new Map<string, Db>();

function connect(location: string): Db {
  let db = connections.get(location);
  if (!db) {
    if (isPostgresUrl(location)) {
      db = openPostgres(location, { max: 1 });
    } else {
      db = openDatabase(location, { mustExist: true });
      db.$client.pragma("query_only = ON");
    }
    connections.set(location, db);
  }
  return db;
}

parentPort!.on("message", (task: WorkerTask) => {
  readConsistently(connect(task.location), (tx) => compute(tx, task.studyId, task.request)).then(
    (result) => parentPort!.postMessage({ id: task.id, result }),
    (error: unknown) => parentPort!.postMessage({ id: task.id, error: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
  );
});
