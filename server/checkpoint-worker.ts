import { parentPort } from "node:worker_threads";
import Database from "better-sqlite3";

/**
 * The checkpoint thread (server/sqlite-checkpoints.ts): copies a SQLite database's WAL into its
 * file on a connection of its own, so the thread serving requests never does.
 */

export interface CheckpointMessage {
  id: number;
  path: string;
}

export type CheckpointReply =
  | { id: number; kind: "done"; busy: boolean; walFrames: number; checkpointedFrames: number }
  | { id: number; kind: "failed"; message: string };

const connections = new Map<string, Database.Database>();

function connect(path: string): Database.Database {
  let connection = connections.get(path);
  if (!connection) {
    connection = new Database(path, { fileMustExist: true });
    // A checkpoint syncs the WAL before it copies and the database file after, at this level.
    connection.pragma("synchronous = FULL");
    connection.pragma("wal_autocheckpoint = 0");
    connections.set(path, connection);
  }
  return connection;
}

parentPort!.on("message", ({ id, path }: CheckpointMessage) => {
  let reply: CheckpointReply;
  try {
    // PASSIVE: copies what no reader still needs, never waits for readers or blocks the writer.
    const [row] = connect(path).pragma("wal_checkpoint(PASSIVE)") as Array<{ busy: number; log: number; checkpointed: number }>;
    reply = { id, kind: "done", busy: row!.busy !== 0, walFrames: row!.log, checkpointedFrames: row!.checkpointed };
  } catch (error) {
    reply = { id, kind: "failed", message: error instanceof Error ? error.message : String(error) };
  }
  parentPort!.postMessage(reply);
});
