import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { Worker, type Transferable } from "node:worker_threads";

/**
 * A worker thread of this process, started on first use and ended once it has had no task for
 * `idleMs` (an idle process keeps no isolate, heap or database connection of a thread; a new one
 * starts when needed); it keeps the process alive only while it has tasks. Tasks are numbered; each message to the thread and each reply carries its
 * task's id, and a task may get any number of replies until its listener says it is over. A thread
 * that crashes or exits fails every task it had; the next task starts a new one. Used by the
 * results snapshots (results-snapshots/worker-pool.ts) and the workbook exports
 * (exports/xlsx-pool.ts), each with a thread of its own.
 */

/**
 * How to start a worker module beside `moduleUrl` (`file` without extension): compiled, the .js
 * file; run from TypeScript (tsx, the tests), the .ts file, loaded through tsx's module hooks
 * registered in the thread first (a worker does not inherit a test runner's loader). Either way the
 * thread lowers its own priority (thread-priority.ts) before it loads the module: loading one is
 * CPU work too (exceljs alone took ~450 ms of CPU, the results worker's modules ~850 ms here), which
 * at the process's priority took turns with the event loop that serves respondents.
 */
export function workerScript(moduleUrl: string, file = "worker"): { script: string; eval: true } {
  const fromSource = moduleUrl.endsWith(".ts");
  const extension = fromSource ? "ts" : "js";
  const entry = JSON.stringify(new URL(`./${file}.${extension}`, moduleUrl).href);
  const priority = JSON.stringify(new URL(`./thread-priority.${extension}`, import.meta.url).href);
  const lowered = `import(${priority}).then((p) => p.lowerWorkerPriority()).then(() => import(${entry}))`;
  if (!fromSource) return { script: lowered, eval: true };
  const tsx = JSON.stringify(pathToFileURL(createRequire(moduleUrl).resolve("tsx/esm/api").replace(/\.cjs$/, ".mjs")).href);
  return { script: `import(${tsx}).then((api) => api.register()).then(() => ${lowered})`, eval: true };
}

export interface TaskListener<Reply> {
  /** A reply of the task; returns true when it was its last. */
  reply(message: Reply): boolean;
  /** The thread failed (an error, an exit, stopped) before the task's last reply. */
  fail(error: Error): void;
}

export interface Task<Message> {
  id: number;
  /** Posts a message to the task in the thread (nothing once the task is over). */
  post(message: Message, transfer?: readonly Transferable[]): void;
  /** Ends the task on this side: its later replies are ignored. */
  close(): void;
}

const threads = new Set<WorkerThread<{ id: number }, { id: number }>>();

/** How long a thread without tasks is kept for the next one before it is ended. */
export const WORKER_IDLE_MS = 10_000;

export class WorkerThread<Message extends { id: number }, Reply extends { id: number }> {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly tasks = new Map<number, { listener: TaskListener<Reply>; worker: Worker }>();
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly name: string,
    private readonly script: () => { script: string | URL; eval: boolean },
    private readonly idleMs = WORKER_IDLE_MS,
  ) {
    threads.add(this as unknown as WorkerThread<{ id: number }, { id: number }>);
  }

  /** Fails the tasks of thread `w` (those of a thread started after it go on). */
  private failAll(w: Worker, error: Error): void {
    for (const [id, task] of [...this.tasks]) {
      if (task.worker !== w) continue;
      this.tasks.delete(id);
      task.listener.fail(error);
    }
  }

  private started(): Worker {
    if (this.worker) return this.worker;
    const { script, eval: isEval } = this.script();
    const w = new Worker(script, { eval: isEval });
    w.unref();
    w.on("message", (reply: Reply) => {
      const task = this.tasks.get(reply.id);
      if (task?.listener.reply(reply)) this.end(reply.id);
    });
    // A crashed thread fails what it had; the next task starts a new one.
    w.on("error", (error) => {
      if (this.worker === w) this.worker = undefined;
      this.failAll(w, error);
    });
    w.on("exit", (code) => {
      if (this.worker === w) this.worker = undefined;
      this.failAll(w, new Error(`${this.name} exited (${code})`));
    });
    this.worker = w;
    return w;
  }

  private end(id: number): void {
    const task = this.tasks.get(id);
    this.tasks.delete(id);
    if (!task || [...this.tasks.values()].some((t) => t.worker === task.worker)) return;
    task.worker.unref();
    if (task.worker === this.worker) this.endWhenIdle(task.worker);
  }

  /** Ends thread `w` once it has had no task for idleMs (a task opened meanwhile keeps it). */
  private endWhenIdle(w: Worker): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      if (this.worker !== w || this.tasks.size > 0) return;
      this.worker = undefined;
      void w.terminate();
    }, this.idleMs);
    this.idleTimer.unref();
  }

  /** Whether a thread is running now (tests). */
  get running(): boolean {
    return this.worker !== undefined;
  }

  /** Starts a task: `listener` gets its replies until it says the last came, or the thread fails. */
  open(listener: TaskListener<Reply>): Task<Message> {
    clearTimeout(this.idleTimer);
    const w = this.started();
    const id = this.nextId++;
    const task = { listener, worker: w };
    this.tasks.set(id, task);
    // Kept alive while it works for someone (a request, a script awaiting a job), never when idle.
    w.ref();
    return {
      id,
      post: (message, transfer) => {
        if (this.tasks.get(id) === task) w.postMessage(message, transfer);
      },
      close: () => {
        if (this.tasks.get(id) === task) this.end(id);
      },
    };
  }

  /** Stops the thread (shutdown, tests): its tasks fail; the next task starts a new one. */
  async stop(): Promise<void> {
    clearTimeout(this.idleTimer);
    const w = this.worker;
    this.worker = undefined;
    if (!w) return;
    this.failAll(w, new Error(`${this.name} stopped`));
    await w.terminate();
  }
}

/** Stops every worker thread of the process (a graceful shutdown). */
export async function stopWorkerThreads(): Promise<void> {
  await Promise.all([...threads].map((t) => t.stop()));
}
