import { parentPort } from "node:worker_threads";
import { isPostgresUrl, openDatabase, openPostgres, readConsistently, type Db } from "../../db/client.js";
import { computeSnapshot, type SnapshotRequest } from "./compute.js";

/**
 * The results worker thread (started by worker-pool.ts): computes snapshots on connections of its
 * own, one task at a time, and posts them back; the main thread stores them. On SQLite its
 * connection is read-only (query_only) and reads inside one transaction, which WAL lets run beside
 * the app's writes; on PostgreSQL a one-connection pool reads at REPEATABLE READ. Either way the
 * seconds of SQL and JavaScript a large study takes never hold the event loop that serves respondents.
 */

export interface WorkerTask {
  id: number;
  location: string;
  studyId: number;
  request: SnapshotRequest;
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
  readConsistently(connect(task.location), (tx) => computeSnapshot(tx, task.studyId, task.request)).then(
    (snapshot) => parentPort!.postMessage({ id: task.id, snapshot }),
    (error: unknown) => parentPort!.postMessage({ id: task.id, error: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
  );
});
