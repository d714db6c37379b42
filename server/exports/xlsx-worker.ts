import { Writable } from "node:stream";
import { parentPort } from "node:worker_threads";
import Database from "better-sqlite3";
import { drizzle } from "drizzle-orm/better-sqlite3";
import type { Executor } from "../../db/client.js";
import * as schema from "../../db/schema.js";
import { CHUNK_SIZE, streamResponses, type Cell, type ResponseLayout } from "./responses.js";
import { fixedChunks } from "../services/chunks.js";
import { ResponsesWorkbook, workbookBytes, type ResponsesWorkbookSpec, type WorkbookSpec } from "./workbooks.js";
import { xlsxCell } from "./xlsx.js";

/**
 * The XLSX worker thread (started by xlsx-pool.ts): builds workbooks from what the main thread
 * sends (workbooks.ts) and posts their bytes back as they are zipped, so the XML and the
 * compression of an export never hold the event loop that serves respondents. Several exports may
 * run at once, each a task of its own; a task's messages are handled one after another.
 *
 *   results        a small workbook (WorkbookSpec), written in one go, then "done";
 *   responses      starts the raw-responses workbook, answered "ready" (send rows);
 *   responses-db   the whole raw-responses workbook, its rows read here on a read-only connection
 *                  of its own to the SQLite file (the main thread's one connection, which serves
 *                  respondents, reads nothing), then "done" with the count; each "data" waits for
 *                  an "ack" (the main thread's client took it) before the next, so the reading
 *                  follows the client's pace;
 *   ack            the main thread wrote a "data" of a responses-db task to its client;
 *   rows           more rows of it, answered "ready" once they are in and the archiver keeps up;
 *   end            the codebook and the end of the file, then "done";
 *   abort          the client went away: the task is dropped, nothing more is posted for it.
 * Any failure answers "error" and drops the task.
 */

export type XlsxMessage =
  | { id: number; kind: "results"; spec: WorkbookSpec }
  | { id: number; kind: "responses"; spec: ResponsesWorkbookSpec }
  | { id: number; kind: "responses-db"; spec: ResponsesWorkbookSpec; database: string; layout: ResponseLayout }
  | { id: number; kind: "ack" }
  | { id: number; kind: "rows"; rows: Cell[][] }
  | { id: number; kind: "end" }
  | { id: number; kind: "abort" };

export type XlsxReply =
  | { id: number; kind: "data"; bytes: Uint8Array }
  | { id: number; kind: "ready" }
  | { id: number; kind: "done"; count?: number }
  | { id: number; kind: "error"; error: string };

const port = parentPort!;
const post = (reply: XlsxReply, transfer?: ArrayBuffer[]) => port.postMessage(reply, transfer);

class TaskState {
  book: ResponsesWorkbook | null = null;
  /** The task's messages so far, handled in order. */
  queue: Promise<void> = Promise.resolve();
  over = false;
  /** Set for a responses-db task: each write completes when the main thread acknowledges it. */
  acknowledged = false;
  /** Writes waiting for their "ack". */
  readonly unacknowledged: Array<() => void> = [];
  /**
   * Where the workbook is written: each chunk the archiver writes goes to the main thread at once
   * (its buffer moved, not copied again), nothing once the task is over.
   */
  readonly out: Writable;

  constructor(id: number) {
    this.out = new Writable({
      write: (chunk: Buffer, _encoding, done) => {
        if (this.over) return done();
        const bytes = new Uint8Array(chunk.byteLength);
        bytes.set(chunk);
        post({ id, kind: "data", bytes }, [bytes.buffer]);
        if (this.acknowledged) this.unacknowledged.push(() => done());
        else done();
      },
    });
  }
}

const tasks = new Map<number, TaskState>();

/** Read-only connections of this thread, per database file (ended with the thread). */
const readers = new Map<string, Executor>();
/** How long a chunk's statement waits for a checkpoint's lock, as the app's own connection does. */
const BUSY_TIMEOUT_MS = 5000;

function reader(path: string): Executor {
  let db = readers.get(path);
  if (!db) {
    const sqlite = new Database(path, { readonly: true, fileMustExist: true });
    sqlite.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    db = drizzle(sqlite, { schema }) as unknown as Executor;
    readers.set(path, db);
  }
  return db;
}

/** The raw-responses workbook with its rows read here (see responses-db above); chunks of a fixed size: this thread serves no one else. */
async function responsesFromDatabase(state: TaskState, message: Extract<XlsxMessage, { kind: "responses-db" }>): Promise<void> {
  state.acknowledged = true;
  const book = (state.book = new ResponsesWorkbook(state.out, message.spec));
  let rows: Cell[][] = [];
  const count = await streamResponses(reader(message.database), message.layout, {
    row: (cells) => rows.push(cells.map(xlsxCell)),
    pause: async () => {
      const chunk = rows;
      rows = [];
      await book.add(chunk);
    },
    closed: () => state.over,
  }, fixedChunks(CHUNK_SIZE));
  if (state.over) return;
  if (rows.length > 0) await book.add(rows);
  await book.finish();
  finish(message.id, { id: message.id, kind: "done", count });
}

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
    case "responses-db":
      return responsesFromDatabase(state, message);
    case "ack":
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
  release(state);
  tasks.delete(id);
  post(reply);
}

/** A task over: writes waiting for an "ack" complete (and its later ones at once), so nothing waits on them. */
function release(state: TaskState): void {
  for (const done of state.unacknowledged.splice(0)) done();
}

port.on("message", (message: XlsxMessage) => {
  // Out of the task's queue: the task is waiting for it.
  if (message.kind === "ack") {
    tasks.get(message.id)?.unacknowledged.shift()?.();
    return;
  }
  if (message.kind === "abort") {
    const state = tasks.get(message.id);
    if (state) {
      state.over = true;
      release(state);
    }
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
