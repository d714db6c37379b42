import { stat } from "node:fs/promises";
import { checkpointElsewhere, databaseLocation, type Db } from "../db/client.js";
import { WorkerThread, workerScript } from "./worker-thread.js";
import type { CheckpointMessage, CheckpointReply } from "./checkpoint-worker.js";

/**
 * SQLite checkpoints off the event loop. The app's connection stops checkpointing inside its
 * commits (db/client.ts, checkpointElsewhere); once its WAL file has grown past `thresholdBytes`
 * a thread of this process (checkpoint-worker.ts) copies it into the database file on a connection
 * of its own, and the next commit starts the WAL over. SQLite's readers and the writer carry on
 * meanwhile: a PASSIVE checkpoint takes no lock they wait for.
 */

/** SQLite's own threshold: 1,000 pages of 4 KiB. */
export const CHECKPOINT_WAL_BYTES = 1000 * 4096;
/** Statements outside units of work write to the WAL too: its size is also looked at this often. */
const LOOK_EVERY_MS = 5_000;

export interface CheckpointResult {
  /** A reader or writer kept some frames from being copied (they are, the next time). */
  busy: boolean;
  walFrames: number;
  checkpointedFrames: number;
}

export interface BackgroundCheckpointOptions {
  thresholdBytes?: number;
  /** Runs a checkpoint of the file at `path` (tests); the checkpoint thread by default. */
  checkpoint?: (path: string) => Promise<CheckpointResult>;
  onCheckpoint?: (result: CheckpointResult) => void;
  /** A checkpoint failed: the connection checkpoints in its commits again, as SQLite does by default. */
  onFallback?: (error: Error) => void;
}

export interface BackgroundCheckpoints {
  /** Resolves once no checkpoint is running (tests, shutdown). */
  settled(): Promise<void>;
  /** Gives checkpoints back to the connection's commits. */
  stop(): void;
}

const thread = new WorkerThread<CheckpointMessage, CheckpointReply>("checkpoint thread", () => workerScript(import.meta.url, "checkpoint-worker"));

/** One checkpoint of the file at `path`, on the checkpoint thread. */
export function checkpointOnThread(path: string): Promise<CheckpointResult> {
  return new Promise((resolve, reject) => {
    const task = thread.open({
      reply: (reply) => {
        if (reply.kind === "done") resolve({ busy: reply.busy, walFrames: reply.walFrames, checkpointedFrames: reply.checkpointedFrames });
        else reject(new Error(reply.message));
        return true;
      },
      fail: reject,
    });
    task.post({ id: task.id, path });
  });
}

/**
 * Starts background checkpoints for a SQLite file; undefined for a database that has no WAL file
 * to checkpoint (PostgreSQL, in memory), which is left as it is.
 */
export function startBackgroundCheckpoints(db: Db, options: BackgroundCheckpointOptions = {}): BackgroundCheckpoints | undefined {
  const path = databaseLocation(db);
  if (path === undefined || /^postgres(ql)?:/.test(path)) return undefined;
  const threshold = options.thresholdBytes ?? CHECKPOINT_WAL_BYTES;
  const checkpoint = options.checkpoint ?? checkpointOnThread;
  let running: Promise<void> | undefined;
  let stopped = false;

  const walGrew = (walBytes: number) => {
    if (stopped || running || walBytes <= threshold) return;
    running = checkpoint(path).then(
      (result) => options.onCheckpoint?.(result),
      (error: Error) => {
        stop();
        options.onFallback?.(error);
      },
    );
    void running.finally(() => (running = undefined));
  };
  const giveBack = checkpointElsewhere(db, walGrew);
  if (!giveBack) return undefined;

  const look = setInterval(() => {
    stat(`${path}-wal`).then(
      (file) => walGrew(file.size),
      () => undefined,
    );
  }, LOOK_EVERY_MS);
  look.unref();

  const stop = () => {
    if (stopped) return;
    stopped = true;
    clearInterval(look);
    giveBack();
  };
  return {
    settled: async () => {
      while (running) await running;
    },
    stop,
  };
}
