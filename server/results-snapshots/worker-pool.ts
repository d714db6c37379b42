import { WorkerThread, workerScript } from "../worker-thread.js";
import type { ComputedSnapshot } from "./store.js";
import type { SnapshotRequest } from "./compute.js";
import type { WorkerTask } from "./worker.js";

/**
 * One worker thread per process for computing snapshots (server/worker-thread.ts: started on first
 * use, kept alive only while it has tasks). Tasks queue in it one at a time: on two cores, one
 * thread of heavy results work beside the event loop is what the machine has room for.
 */

export { workerScript };

type Reply = { id: number; snapshot: ComputedSnapshot | null } | { id: number; error: string };

const thread = new WorkerThread<WorkerTask, Reply>("results worker", () => workerScript(import.meta.url));

/** Computes a snapshot in the worker thread, on the database at `location` (a SQLite path or a PostgreSQL URL). */
export function computeInWorker(location: string, studyId: number, request: SnapshotRequest): Promise<ComputedSnapshot | null> {
  return new Promise((resolve, reject) => {
    const task = thread.open({
      reply: (reply) => {
        if ("error" in reply) reject(new Error(`results worker: ${reply.error}`));
        else resolve(reply.snapshot);
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
