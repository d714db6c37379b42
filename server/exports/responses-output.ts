import { isPostgres, type Db } from "../../db/client.js";
import { toCsvRow } from "../domain/csv.js";
import type { Translate } from "../i18n/index.js";
import type { CsvDialect } from "./csv-dialect.js";
import { BOM } from "./results-csv.js";
import { answerValues, CHUNKING, codebookRows, streamResponses, type Cell, type ResponseLayout } from "./responses.js";
import { readResponseChunks, type ResponseChunk } from "./response-chunks.js";
import { responseCsvLines } from "./responses-csv.js";
import type { Chunking } from "../services/chunks.js";
import { drained } from "./drained.js";
import { WorkbookTask, type Out } from "./xlsx-pool.js";

export { drained };
import { xlsxCell } from "./xlsx.js";

/**
 * The CSV's chunks: sized to the same ~15 ms of the event loop as the other exports' (its rows
 * cost a few µs each, so up to 2,000 a chunk; a chunk's query, a turn of the event loop and a
 * write each cost the same whatever its size).
 */
export const CSV_CHUNKING: Chunking = { ...CHUNKING, max: 2000, budgetMs: 10 };

/**
 * Raw responses as CSV (BOM, RFC 4180, text neutralised as toCsvRow does), written chunk by
 * chunk: each chunk's lines (responseCsvLines) go out in one write. The next chunk is read and
 * encoded while the client takes the last one; before it is written, the export waits until the
 * client has taken the one before (the return value of write and the "drain" event, which
 * compression forwards), so at most two chunks wait in memory and the server never idles while
 * the client reads. A chunk whose predecessor is taken already is written at once, in the same
 * task as its reading (and counted in its time). The dialect sets the delimiter and decimal mark;
 * nothing is rounded (the numbers are ids, answers and durations in milliseconds, exact as they are).
 */
export async function writeResponsesCsv(db: Db, layout: ResponseLayout, out: Out, dialect: CsvDialect, chunking: Chunking = CSV_CHUNKING): Promise<number> {
  const line = responseCsvLines(layout, dialect);
  const bytes = new LineBytes();
  bytes.add(BOM + toCsvRow(layout.columns, dialect.delimiter, dialect.decimal));
  // The client's taking of the last chunk written; null once it has.
  const last: { taken: Promise<void> | null } = { taken: null };
  const write = () => {
    const chunk = bytes.take();
    if (out.destroyed || out.write(chunk)) return;
    const taken = drained(out);
    last.taken = taken;
    void taken.then(() => {
      if (last.taken === taken) last.taken = null;
    });
  };
  const each = (chunk: ResponseChunk) => {
    for (let k = 0; k < chunk.length; k++) bytes.add(line(chunk, k));
  };
  const count = await readResponseChunks(db, layout.studyId, answerValues(layout), each, {
    chunkEnd: () => {
      if (last.taken === null) write();
    },
    pause: async () => {
      if (!bytes.empty()) {
        if (last.taken) await last.taken;
        write();
      }
      // A turn of the event loop after every chunk, whatever the client: one that takes each chunk at
      // once (the kernel's socket buffer had room) never makes the export wait, or emits "drain" in
      // the same task (process.nextTick), and on SQLite reading a chunk awaits nothing either:
      // without this turn the whole export ran as one task, holding every respondent for seconds.
      await new Promise((resolve) => setImmediate(resolve));
    },
    closed: () => out.destroyed,
  }, chunking);
  if (last.taken) await last.taken;
  if (!out.destroyed) out.end(bytes.take());
  return count;
}

/** Room for a chunk's lines in one buffer, mostly. */
const LINE_BYTES = 512 * 1024;

/**
 * Lines as UTF-8 bytes, each encoded as it comes: a chunk's lines joined into one string (most of
 * them ASCII) became a two-byte string whenever a single line was not, then was copied again to
 * be measured and encoded; line by line, a third less time.
 */
class LineBytes {
  private full: Buffer[] = [];
  private buffer = Buffer.allocUnsafe(0);
  private used = 0;

  add(line: string): void {
    // A UTF-16 unit is at most three bytes of UTF-8: past that, a new buffer (write would cut the line short).
    if (this.buffer.length - this.used < line.length * 3) {
      if (this.used > 0) this.full.push(this.buffer.subarray(0, this.used));
      this.buffer = Buffer.allocUnsafe(Math.max(LINE_BYTES, line.length * 3));
      this.used = 0;
    }
    this.used += this.buffer.write(line, this.used);
  }

  empty(): boolean {
    return this.used === 0 && this.full.length === 0;
  }

  /** The bytes added since the last take, and a fresh buffer for the next ones (the stream keeps what it was given until written). */
  take(): Buffer {
    const last = this.buffer.subarray(0, this.used);
    const bytes = this.full.length === 0 ? last : Buffer.concat([...this.full, last]);
    this.full = [];
    this.buffer = Buffer.allocUnsafe(0);
    this.used = 0;
    return bytes;
  }
}

/** The codebook alone as CSV (the CSV export's companion; XLSX carries it as a sheet). */
export function codebookCsv(layout: ResponseLayout, t: Translate, dialect: CsvDialect): string {
  return BOM + codebookRows(layout, t).map((r) => toCsvRow(r, dialect.delimiter, dialect.decimal)).join("");
}

/**
 * Where a raw-responses workbook's rows are read: "worker" on a read-only connection of the XLSX
 * worker thread (a SQLite file), "here" on `db` (PostgreSQL, whose reads do not hold the event
 * loop; a database in memory, which no other connection can open).
 */
export type RowReader = "worker" | "here";

export function rowReaderFor(db: Db): RowReader {
  return !isPostgres(db) && !db.$client.memory ? "worker" : "here";
}

/**
 * Raw responses as XLSX, built in the XLSX worker thread (xlsx-pool.ts, workbooks.ts): exceljs's
 * streaming writer (no shared strings, so nothing grows with the row count) writes a Responses
 * sheet chunk by chunk, then the Codebook sheet; the XML and its compression, most of an XLSX
 * export's time, never run on the event loop that serves respondents. On a SQLite file the worker
 * also reads and pivots the rows, on its own read-only connection (10 MB of rows read through
 * the one connection were tasks of 40-60 ms on the respondents' thread), at the client's pace.
 * Otherwise the chunks are read and pivoted here (as for the CSV) and their cells made safe; each
 * goes to the worker once it has taken the one before, and the next is read only once the client
 * has drained.
 */
export async function writeResponsesXlsx(db: Db, layout: ResponseLayout, t: Translate, out: Out, reader: RowReader = rowReaderFor(db)): Promise<number> {
  const spec = {
    sheet: t("exports.responses.sheet"),
    columns: layout.columns.map(xlsxCell),
    codebook: { name: t("exports.codebook.sheet"), rows: codebookRows(layout, t).map((cells) => cells.map(xlsxCell)) },
  };
  if (reader === "worker") {
    const book = new WorkbookTask(out, { kind: "responses-db", spec, database: db.$client.name, layout });
    await book.done;
    if (!out.destroyed) out.end();
    return book.count;
  }
  const book = new WorkbookTask(out, { kind: "responses", spec });
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
