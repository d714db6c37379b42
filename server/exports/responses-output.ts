import type { Writable } from "node:stream";
import ExcelJS from "exceljs";
import type { Db } from "../../db/client.js";
import { csvRowEncoder, toCsvRow } from "../domain/csv.js";
import type { Translate } from "../i18n/index.js";
import type { CsvDialect } from "./csv-dialect.js";
import { BOM } from "./results-csv.js";
import { codebookRows, streamResponses, type ResponseLayout } from "./responses.js";
import { xlsxCell } from "./xlsx.js";

/** A response stream that may go away (the HTTP response, or a plain stream in tests). */
type Out = Writable & { destroyed: boolean };

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
export async function writeResponsesCsv(db: Db, layout: ResponseLayout, out: Out, dialect: CsvDialect): Promise<number> {
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
  };
  const count = await streamResponses(db, layout, {
    row: (cells) => {
      buffer += encode(cells);
    },
    pause: flush,
    closed: () => out.destroyed,
  });
  if (last.taken) await last.taken;
  if (!out.destroyed) out.end(buffer);
  return count;
}

/** The codebook alone as CSV (the CSV export's companion; XLSX carries it as a sheet). */
export function codebookCsv(layout: ResponseLayout, t: Translate, dialect: CsvDialect): string {
  return BOM + codebookRows(layout, t).map((r) => toCsvRow(r, dialect.delimiter, dialect.decimal)).join("");
}

/** Bytes exceljs has handed to the zip archiver for the entry being written but the archiver has not compressed yet. */
function pendingInArchiver(sheet: ExcelJS.Worksheet): number {
  // exceljs's worksheet stream (StreamBuf) ignores backpressure; the archiver reads it through a
  // readable-stream PassThrough whose buffered length is the only measure of what is waiting.
  // Internal fields: if a later version lacks them, this reports 0 and the export still works
  // (yielding once per chunk), only without the memory bound.
  const stream = (sheet as unknown as { stream?: { pipes?: Array<{ _writableState?: { length?: number }; _readableState?: { length?: number } }> } }).stream;
  const pipe = stream?.pipes?.[0];
  return (pipe?._writableState?.length ?? 0) + (pipe?._readableState?.length ?? 0);
}

const ARCHIVER_BACKLOG = 1 << 20;

/**
 * Raw responses as XLSX with exceljs's streaming writer (no shared strings, so nothing grows with
 * the row count): a Responses sheet written chunk by chunk, then the Codebook sheet. Between
 * chunks the export waits until the archiver has compressed what it was given (at most about
 * 1 MB of XML waits) and the client has drained.
 */
export async function writeResponsesXlsx(db: Db, layout: ResponseLayout, t: Translate, out: Out): Promise<number> {
  const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: out, useSharedStrings: false, useStyles: true });
  workbook.creator = "Brand Lift";
  const sheet = workbook.addWorksheet(t("exports.responses.sheet"), { views: [{ state: "frozen", ySplit: 1 }] });
  const header = sheet.addRow(layout.columns.map(xlsxCell));
  header.font = { bold: true };
  header.commit();
  const count = await streamResponses(db, layout, {
    row: (cells) => sheet.addRow(cells.map(xlsxCell)).commit(),
    pause: async () => {
      await new Promise((resolve) => setImmediate(resolve));
      while (!out.destroyed && pendingInArchiver(sheet) > ARCHIVER_BACKLOG) {
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
      if (out.writableNeedDrain) await drained(out);
    },
    closed: () => out.destroyed,
  });
  if (out.destroyed) return count;
  sheet.commit();
  const codebook = workbook.addWorksheet(t("exports.codebook.sheet"), { views: [{ state: "frozen", ySplit: 1 }] });
  codebook.columns = [{ width: 28 }, { width: 16 }, { width: 50 }, { width: 14 }, { width: 30 }, { width: 18 }, { width: 50 }, { width: 20 }];
  codebookRows(layout, t).forEach((cells, i) => {
    const row = codebook.addRow(cells.map(xlsxCell));
    if (i === 0) row.font = { bold: true };
    row.commit();
  });
  codebook.commit();
  await workbook.commit();
  return count;
}
