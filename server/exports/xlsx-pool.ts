import type { Writable } from "node:stream";
import { WorkerThread, workerScript, type Task } from "../worker-thread.js";
import type { Cell } from "./responses.js";
import type { XlsxMessage, XlsxReply } from "./xlsx-worker.js";
import { drained } from "./drained.js";

/**
 * The main thread's side of the XLSX worker thread (xlsx-worker.ts; one per process, started on
 * first use: server/worker-thread.ts). A workbook is a task there; its bytes come back as they are
 * zipped and go to the response as they arrive. Rows are sent one chunk ahead at most: the next
 * chunk goes once the worker has taken the last ("ready", given when its archiver keeps up), so
 * neither side buffers more than about a chunk and the archiver's bound, however large the file or
 * slow the client (the sender waits for the client's drain as well).
 */

/** A response stream that may go away (the HTTP response, or a plain stream in tests). */
export type Out = Writable & { destroyed: boolean };

type Work = Exclude<XlsxMessage, { kind: "rows" | "end" | "abort" | "ack" }>;
type Body<M> = M extends unknown ? Omit<M, "id"> : never;

const thread = new WorkerThread<XlsxMessage, XlsxReply>("xlsx worker", () => workerScript(import.meta.url, "xlsx-worker"));

/** One workbook being built in the worker thread and written to `out`. */
export class WorkbookTask {
  private readonly task: Task<XlsxMessage>;
  private credits = 0;
  private wake: (() => void) | null = null;
  private error: Error | null = null;
  private ended = false;
  private resolveDone!: () => void;
  private rejectDone!: (error: Error) => void;
  /** Resolves when the worker has written the whole workbook to `out`; rejects when it failed. */
  readonly done: Promise<void>;
  /** Rows the worker wrote, when it read them itself (responses-db). */
  count = 0;

  constructor(out: Out, work: Body<Work>) {
    const acknowledged = work.kind === "responses-db";
    this.done = new Promise<void>((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    // Awaited by whoever finishes the task; a task abandoned (client gone) must not reject unheard.
    this.done.catch(() => undefined);
    this.task = thread.open({
      reply: (reply) => {
        switch (reply.kind) {
          case "data":
            if (!out.destroyed) {
              const taken = out.write(reply.bytes);
              // A worker reading the rows itself waits for each write to be taken: the client's pace.
              if (acknowledged) void (taken ? Promise.resolve() : drained(out)).then(() => this.task.post({ id: this.task.id, kind: "ack" }));
            }
            return false;
          case "ready":
            this.credits++;
            this.poke();
            return false;
          case "done":
            this.count = reply.count ?? 0;
            this.over();
            this.resolveDone();
            return true;
          case "error":
            this.fail(new Error(`xlsx worker: ${reply.error}`));
            return true;
        }
      },
      fail: (error) => this.fail(error),
    });
    // The client went away: the worker drops the workbook.
    out.once("close", () => this.abort());
    this.task.post({ ...work, id: this.task.id } as XlsxMessage);
  }

  /** True once the task is over: done, failed or aborted. */
  get finished(): boolean {
    return this.ended;
  }

  private over(): void {
    this.ended = true;
    this.poke();
  }

  private fail(error: Error): void {
    if (this.ended) return;
    this.error = error;
    this.over();
    this.rejectDone(error);
  }

  private poke(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  /** Sends rows once the worker has taken the ones before; throws when the worker failed. */
  async rows(rows: Cell[][]): Promise<void> {
    while (this.credits === 0 && !this.ended) await new Promise<void>((resolve) => (this.wake = resolve));
    if (this.error) throw this.error;
    if (this.ended) return;
    this.credits--;
    this.task.post({ id: this.task.id, kind: "rows", rows });
  }

  /** Asks for the end of the file; resolves once all of it has been written to `out`. */
  async end(): Promise<void> {
    if (!this.ended) this.task.post({ id: this.task.id, kind: "end" });
    await this.done;
  }

  /** Drops the workbook (the client went away). */
  abort(): void {
    if (this.ended) return;
    this.task.post({ id: this.task.id, kind: "abort" });
    this.task.close();
    this.over();
    this.resolveDone();
  }
}

/** Builds a small workbook in the worker thread and writes it to `out`, ending it. */
export async function writeWorkbookInWorker(out: Out, work: Body<Exclude<Work, { kind: "responses" }>>): Promise<void> {
  const task = new WorkbookTask(out, work);
  await task.done;
  if (!out.destroyed) out.end();
}

/** Stops the XLSX worker thread (tests); the next workbook starts a new one. */
export function stopXlsxWorker(): Promise<void> {
  return thread.stop();
}
