import type { Db } from "../../db/client.js";
import { csvRowEncoder, toCsvRow } from "../domain/csv.js";
import type { Translate } from "../i18n/index.js";
import type { CsvDialect } from "./csv-dialect.js";
import { BOM } from "./results-csv.js";
import { CHUNKING, codebookRows, streamResponses, type Cell, type Chunking, type ResponseLayout } from "./responses.js";
import { WorkbookTask, type Out } from "./xlsx-pool.js";
import { xlsxCell } from "./xlsx.js";

/** Who waits for a stream to drain: one "drain" and one "close" listener per stream, for its whole life. */
const drainWaiters = new WeakMap<Out, { waiting: Array<() => void> }>();

/**
 * Resolves once `out` has drained, or when it closes (at once when it is gone). The stream gets
 * one listener of each kind the first time, never one per wait: compression moves "drain"
 * listeners to its gzip stream, where neither `off` nor `once`'s own removal on the response finds
 * them, so a listener per wait leaked one per chunk (and each drain then called them all).
 */
export function drained(out: Out): Promise<void> {
  if (out.destroyed) return Promise.resolve();
  let state = drainWaiters.get(out);
  if (!state) {
    const created = { waiting: [] as Array<() => void> };
    const wake = () => {
      const waiting = created.waiting;
      created.waiting = [];
      for (const resolve of waiting) resolve();
    };
    out.on("drain", wake);
    out.on("close", wake);
    drainWaiters.set(out, created);
    state = created;
  }
  const waiting = state.waiting;
  return new Promise((resolve) => waiting.push(resolve));
}

/**
 * Raw responses as CSV (BOM, RFC 4180, text neutralised as toCsvRow does), written chunk by
 * chunk: each chunk's rows go out in one write. The next chunk is read and encoded while the
 * client takes the last one; before it is written, the export waits until the client has taken
 * the one before (the return value of write and the "drain" event, which compression forwards),
 * so at most two chunks wait in memory and the server never idles while the client reads.
 * The dialect sets the delimiter and decimal mark; nothing is rounded (the numbers are ids,
 * answers and durations in milliseconds, exact as they are).
 */
export async function writeResponsesCsv(db: Db, layout: ResponseLayout, out: Out, dialect: CsvDialect, chunking: Chunking = CHUNKING): Promise<number> {
  const { delimiter, decimal } = dialect;
  const encode = csvRowEncoder(delimiter, decimal);
  let buffer = BOM + toCsvRow(layout.columns, delimiter, decimal);
  // The client's taking of the last chunk written, while the next one is read and encoded.
  const last: { taken: Promise<void> | null } = { taken: null };
  const flush = async () => {
    if (last.taken) await last.taken;
    last.taken = null;
    if (out.destroyed) return;
    if (!out.write(buffer)) last.taken = drained(out);
    buffer = "";
    // A turn of the event loop after every chunk, whatever the client: one that takes each chunk at
    // once (the kernel's socket buffer had room) never makes the export wait, or emits "drain" in
    // the same task (process.nextTick), and on SQLite reading a chunk awaits nothing either:
    // without this turn the whole export ran as one task, holding every respondent for seconds.
    await new Promise((resolve) => setImmediate(resolve));
  };
  const count = await streamResponses(db, layout, {
    row: (cells) => {
      buffer += encode(cells);
    },
    pause: flush,
    closed: () => out.destroyed,
  }, chunking);
  if (last.taken) await last.taken;
  if (!out.destroyed) out.end(buffer);
  return count;
}

/** The codebook alone as CSV (the CSV export's companion; XLSX carries it as a sheet). */
export function codebookCsv(layout: ResponseLayout, t: Translate, dialect: CsvDialect): string {
  return BOM + codebookRows(layout, t).map((r) => toCsvRow(r, dialect.delimiter, dialect.decimal)).join("");
}

/**
 * Raw responses as XLSX, built in the XLSX worker thread (xlsx-pool.ts, workbooks.ts): exceljs's
 * streaming writer (no shared strings, so nothing grows with the row count) writes a Responses
 * sheet chunk by chunk, then the Codebook sheet. Here the chunks are only read and pivoted (as for
 * the CSV) and their cells made safe; each goes to the worker once it has taken the one before,
 * and the next is read only once the client has drained: the XML and its compression, most of an
 * XLSX export's time, never run on the event loop that serves respondents.
 */
export async function writeResponsesXlsx(db: Db, layout: ResponseLayout, t: Translate, out: Out): Promise<number> {
  const book = new WorkbookTask(out, {
    kind: "responses",
    spec: {
      sheet: t("exports.responses.sheet"),
      columns: layout.columns.map(xlsxCell),
      codebook: { name: t("exports.codebook.sheet"), rows: codebookRows(layout, t).map((cells) => cells.map(xlsxCell)) },
    },
  });
  let rows: Cell[][] = [];
  const send = () => {
    const chunk = rows;
    rows = [];
    return book.rows(chunk);
  };
  const count = await streamResponses(db, layout, {
    // A copy of each row (the pivot reuses its array), its cells made safe for the sheet.
    row: (cells) => rows.push(cells.map(xlsxCell)),
    pause: async () => {
      await send();
      if (out.writableNeedDrain) await drained(out);
    },
    closed: () => out.destroyed || book.finished,
  });
  if (out.destroyed) return count;
  if (rows.length > 0) await send();
  await book.end();
  if (!out.destroyed) out.end();
  return count;
}
