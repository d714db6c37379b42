import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import type { ComputedSnapshot } from "./store.js";
import type { SnapshotRequest } from "./compute.js";
import type { WorkerTask } from "./worker.js";

/**
 * One worker thread per process for computing snapshots, started on first use and kept (it keeps
 * the process alive only while it has tasks). Tasks queue in it one at a time: on two cores, one thread of
 * heavy results work beside the event loop is what the machine has room for.
 */

type Reply = { id: number; snapshot: ComputedSnapshot | null } | { id: number; error: string };

let worker: Worker | undefined;
let nextId = 1;
const waiting = new Map<number, { resolve: (s: ComputedSnapshot | null) => void; reject: (e: Error) => void }>();

/**
 * How to start the worker from this module's own location: compiled, worker.js beside this file;
 * run from TypeScript (tsx, the tests), worker.ts, loaded through tsx's module hooks registered in
 * the thread first (a worker does not inherit a test runner's loader).
 */
export function workerScript(moduleUrl: string): { script: string | URL; eval: boolean } {
  if (!moduleUrl.endsWith(".ts")) return { script: new URL("./worker.js", moduleUrl), eval: false };
  const tsx = pathToFileURL(createRequire(moduleUrl).resolve("tsx/esm/api").replace(/\.cjs$/, ".mjs")).href;
  const entry = new URL("./worker.ts", moduleUrl).href;
  return { script: `import(${JSON.stringify(tsx)}).then((api) => api.register()).then(() => import(${JSON.stringify(entry)}))`, eval: true };
}

function failAll(error: Error): void {
  for (const w of waiting.values()) w.reject(error);
  waiting.clear();
}

function started(): Worker {
  if (worker) return worker;
  const { script, eval: isEval } = workerScript(import.meta.url);
  const w = new Worker(script, { eval: isEval });
  w.unref();
  w.on("message", (reply: Reply) => {
    const task = waiting.get(reply.id);
    if (!task) return;
    waiting.delete(reply.id);
    if (waiting.size === 0) w.unref();
    if ("error" in reply) task.reject(new Error(`results worker: ${reply.error}`));
    else task.resolve(reply.snapshot);
  });
  // A crashed thread fails what it had; the next task starts a new one.
  w.on("error", (error) => {
    if (worker === w) worker = undefined;
    failAll(error);
  });
  w.on("exit", (code) => {
    if (worker === w) worker = undefined;
    failAll(new Error(`results worker exited (${code})`));
  });
  worker = w;
  return w;
}

/** Computes a snapshot in the worker thread, on the database at `location` (a SQLite path or a PostgreSQL URL). */
export function computeInWorker(location: string, studyId: number, request: SnapshotRequest): Promise<ComputedSnapshot | null> {
  const w = started();
  const id = nextId++;
  return new Promise((resolve, reject) => {
    waiting.set(id, { resolve, reject });
    // Kept alive while it works for someone (a script awaiting a job), never when idle.
    w.ref();
    w.postMessage({ id, location, studyId, request } satisfies WorkerTask);
  });
}

/** Stops the worker thread (shutdown, tests); the next task starts a new one. */
export async function stopResultsWorker(): Promise<void> {
  const w = worker;
  worker = undefined;
  if (w) await w.terminate();
}
