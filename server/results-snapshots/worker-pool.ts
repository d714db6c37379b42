import { WorkerThread, workerScript } from "../worker-thread.js";
import type { ComputedSnapshot } from "./store.js";
import type { SnapshotRequest } from "./compute.js";
import type { PlannedRecode, RecodeCursor } from "../quality/coding-service.js";
import type { RecomputeBatch } from "../quality/flag-service.js";
import type { RecodeRequest, RecomputeRequest, WorkerRequest, WorkerTask } from "./worker.js";

/**
 * One worker thread per process for computing snapshots, the coding page's review queue, the
 * batches of a flags recompute and the chunks of a recode (server/worker-thread.ts: started on first use, kept alive only while it has tasks). Tasks queue
 * in it one at a time: on two cores, one thread of heavy results work beside the event loop is
 * what the machine has room for.
 */

export { workerScript };

type Reply = { id: number; result: unknown } | { id: number; error: string };

const thread = new WorkerThread<WorkerTask, Reply>("results worker", () => workerScript(import.meta.url));

/** Computes a snapshot in the worker thread, on the database at `location` (a SQLite path or a PostgreSQL URL). */
export function computeInWorker(location: string, studyId: number, request: SnapshotRequest): Promise<ComputedSnapshot | null> {
  return run(location, studyId, request);
}

/** Computes a study's review queue (server/quality/review-queue.ts) in the worker thread; null when the study is gone. */
export function computeReviewQueueInWorker(location: string, studyId: number): Promise<ComputedSnapshot | null> {
  return run(location, studyId, { kind: "review-queue" });
}

/** Plans a batch of a flags recompute (server/quality/flag-service.ts, planRecomputeBatch) in the worker thread. */
export function planRecomputeInWorker(location: string, studyId: number, batch: Omit<RecomputeRequest, "kind">): Promise<RecomputeBatch | null> {
  return run(location, studyId, { kind: "flags-batch", ...batch });
}

/** Reads and codes a chunk of a recode (server/quality/coding-service.ts, planRecodeChunk) in the worker thread. */
export function planRecodeInWorker(location: string, studyId: number, cursor: RecodeCursor, limit: number): Promise<PlannedRecode> {
  return run(location, studyId, { kind: "recode-chunk", cursor, limit });
}

/** What the worker answers a request of each kind. */
type ResultOf<R extends WorkerRequest> = R extends RecomputeRequest ? RecomputeBatch | null : R extends RecodeRequest ? PlannedRecode : ComputedSnapshot | null;

function run<R extends WorkerRequest>(location: string, studyId: number, request: R): Promise<ResultOf<R>> {
  return new Promise((resolve, reject) => {
    const task = thread.open({
      reply: (reply) => {
        if ("error" in reply) reject(new Error(`results worker: ${reply.error}`));
        else resolve(reply.result as ResultOf<R>);
        return true;
      },
      fail: reject,
    });
    task.post({ id: task.id, location, studyId, request });
  });
}

/** Stops the worker thread (shutdown, tests); the next task starts a new one. */
export function stopResultsWorker(): Promise<void> {
  return thread.stop();
}

/** Whether the worker thread is running now (tests: it ends after its idle time). */
export function resultsWorkerRunning(): boolean {
  return thread.running;
}
