import type { Writable } from "node:stream";
import ExcelJS from "exceljs";
import type { Cell } from "./responses.js";

/**
 * Workbooks from plain data, written with exceljs: what the XLSX worker thread (xlsx-worker.ts)
 * runs, so that no XML is built and nothing is compressed on the event loop that serves
 * respondents. Every value arrives already made safe for a cell (xlsxCell, on the main thread);
 * every text already in the reader's language.
 */

/** One sheet: its first row is the header (bold). */
export interface SheetSpec {
  name: string;
  /** Rows above and columns left of the split stay in view. */
  frozen: { rows: number; columns: number } | null;
  columns: Array<{ width: number; numFmt?: string }>;
  rows: Cell[][];
  /** The rows after the header wrap their text, aligned to the top. */
  wrap?: boolean;
}

/** A small workbook built in memory (the results: a row per segment). */
export interface WorkbookSpec {
  /** ISO time, the workbook's creation date. */
  created: string;
  sheets: SheetSpec[];
}

const views = (frozen: SheetSpec["frozen"]): Array<Partial<ExcelJS.WorksheetView>> =>
  frozen ? [{ state: "frozen", ySplit: frozen.rows, ...(frozen.columns ? { xSplit: frozen.columns } : {}) }] : [];

/** A small workbook's bytes. */
export async function workbookBytes(spec: WorkbookSpec): Promise<Uint8Array> {
  const workbook = new ExcelJS.Workbook();
  workbook.creator = "Brand Lift";
  workbook.created = new Date(spec.created);
  for (const s of spec.sheets) {
    const sheet = workbook.addWorksheet(s.name, { views: views(s.frozen) });
    sheet.columns = s.columns.map((c) => ({ width: c.width, style: c.numFmt ? { numFmt: c.numFmt } : {} }));
    s.rows.forEach((cells, i) => {
      const row = sheet.addRow(cells);
      if (i === 0) row.font = { bold: true };
      else if (s.wrap) row.alignment = { wrapText: true, vertical: "top" };
    });
  }
  return new Uint8Array(await workbook.xlsx.writeBuffer());
}

/** The raw-responses workbook: its Responses sheet streamed row by row, then the Codebook sheet. */
export interface ResponsesWorkbookSpec {
  sheet: string;
  columns: Cell[];
  codebook: { name: string; rows: Cell[][] };
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
const CODEBOOK_WIDTHS = [28, 16, 50, 14, 30, 18, 50, 20];

/**
 * exceljs's streaming writer without shared strings (nothing grows with the row count): rows are
 * added chunk by chunk; `add` resolves once the archiver has compressed all but about 1 MB of the
 * XML it was given, so memory stays bounded however fast rows come.
 */
export class ResponsesWorkbook {
  private readonly workbook: ExcelJS.stream.xlsx.WorkbookWriter;
  private readonly sheet: ExcelJS.Worksheet;

  constructor(
    out: Writable,
    private readonly spec: ResponsesWorkbookSpec,
  ) {
    this.workbook = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: out, useSharedStrings: false, useStyles: true });
    this.workbook.creator = "Brand Lift";
    this.sheet = this.workbook.addWorksheet(spec.sheet, { views: views({ rows: 1, columns: 0 }) });
    const header = this.sheet.addRow(spec.columns);
    header.font = { bold: true };
    header.commit();
  }

  async add(rows: readonly Cell[][]): Promise<void> {
    for (const cells of rows) this.sheet.addRow(cells).commit();
    await new Promise((resolve) => setImmediate(resolve));
    while (pendingInArchiver(this.sheet) > ARCHIVER_BACKLOG) await new Promise((resolve) => setTimeout(resolve, 2));
  }

  /** Adds the codebook and writes the end of the file. */
  async finish(): Promise<void> {
    this.sheet.commit();
    const codebook = this.workbook.addWorksheet(this.spec.codebook.name, { views: views({ rows: 1, columns: 0 }) });
    codebook.columns = CODEBOOK_WIDTHS.map((width) => ({ width }));
    this.spec.codebook.rows.forEach((cells, i) => {
      const row = codebook.addRow(cells);
      if (i === 0) row.font = { bold: true };
      row.commit();
    });
    codebook.commit();
    await this.workbook.commit();
  }
}
