import { Writable } from "node:stream";
import { parentPort } from "node:worker_threads";
import type { Cell } from "./responses.js";
import { ResponsesWorkbook, workbookBytes, type ResponsesWorkbookSpec, type WorkbookSpec } from "./workbooks.js";

/**
 * The XLSX worker thread (started by xlsx-pool.ts): builds workbooks from what the main thread
 * sends (workbooks.ts) and posts their bytes back as they are zipped, so the XML and the
 * compression of an export never hold the event loop that serves respondents. Several exports may
 * run at once, each a task of its own; a task's messages are handled one after another.
 *
 *   results        a small workbook (WorkbookSpec), written in one go, then "done";
 *   responses      starts the raw-responses workbook, answered "ready" (send rows);
 *   rows           more rows of it, answered "ready" once they are in and the archiver keeps up;
 *   end            the codebook and the end of the file, then "done";
 *   abort          the client went away: the task is dropped, nothing more is posted for it.
 * Any failure answers "error" and drops the task.
 */

export type XlsxMessage =
  | { id: number; kind: "results"; spec: WorkbookSpec }
  | { id: number; kind: "responses"; spec: ResponsesWorkbookSpec }
  | { id: number; kind: "rows"; rows: Cell[][] }
  | { id: number; kind: "end" }
  | { id: number; kind: "abort" };

export type XlsxReply =
  | { id: number; kind: "data"; bytes: Uint8Array }
  | { id: number; kind: "ready" }
  | { id: number; kind: "done" }
  | { id: number; kind: "error"; error: string };

const port = parentPort!;
const post = (reply: XlsxReply, transfer?: ArrayBuffer[]) => port.postMessage(reply, transfer);

class TaskState {
  book: ResponsesWorkbook | null = null;
  /** The task's messages so far, handled in order. */
  queue: Promise<void> = Promise.resolve();
  over = false;
  /** Where the workbook is written: each chunk the archiver writes goes to the main thread at once (its buffer moved, not copied again), nothing once the task is over. */
  readonly out: Writable;

  constructor(id: number) {
    this.out = new Writable({
      write: (chunk: Buffer, _encoding, done) => {
        if (!this.over) {
          const bytes = new Uint8Array(chunk.byteLength);
          bytes.set(chunk);
          post({ id, kind: "data", bytes }, [bytes.buffer]);
        }
        done();
      },
    });
  }
}

const tasks = new Map<number, TaskState>();

async function handle(state: TaskState, message: XlsxMessage): Promise<void> {
  switch (message.kind) {
    case "results":
      state.out.end(await workbookBytes(message.spec));
      finish(message.id, { id: message.id, kind: "done" });
      return;
    case "responses":
      state.book = new ResponsesWorkbook(state.out, message.spec);
      post({ id: message.id, kind: "ready" });
      return;
    case "rows":
      if (!state.book) throw new Error("rows before the workbook was started");
      await state.book.add(message.rows);
      if (!state.over) post({ id: message.id, kind: "ready" });
      return;
    case "end":
      if (!state.book) throw new Error("end before the workbook was started");
      await state.book.finish();
      finish(message.id, { id: message.id, kind: "done" });
      return;
    case "abort":
      return;
  }
}

function finish(id: number, reply: XlsxReply): void {
  const state = tasks.get(id);
  if (!state || state.over) return;
  state.over = true;
  tasks.delete(id);
  post(reply);
}

port.on("message", (message: XlsxMessage) => {
  if (message.kind === "abort") {
    const state = tasks.get(message.id);
    if (state) state.over = true;
    tasks.delete(message.id);
    return;
  }
  let current = tasks.get(message.id);
  if (!current) tasks.set(message.id, (current = new TaskState(message.id)));
  const state = current;
  state.queue = state.queue
    .then(() => (state.over ? undefined : handle(state, message)))
    .catch((error: unknown) => finish(message.id, { id: message.id, kind: "error", error: error instanceof Error ? (error.stack ?? error.message) : String(error) }));
});
