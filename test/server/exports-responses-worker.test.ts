import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import ExcelJS from "exceljs";
import { afterEach, describe, expect, it } from "vitest";
import { closeDatabase, openDatabase, type Db } from "../../db/client.js";
import { runMigrations } from "../../db/migrate.js";
import { findStudy } from "../../db/queries/studies.js";
import { rowReaderFor, writeResponsesXlsx, type RowReader } from "../../server/exports/responses-output.js";
import { CHUNK_SIZE, responseLayout } from "../../server/exports/responses.js";
import { stopXlsxWorker } from "../../server/exports/xlsx-pool.js";
import { translator } from "../../server/i18n/index.js";
import { bulkResponses, seedExportStudy } from "../fixtures/exports/study.js";
import { freshDb } from "../helpers.js";
import { TEST_ENGINE } from "../support/postgres.js";

/**
 * On a SQLite file the raw-responses workbook's rows are read in the XLSX worker thread, on a
 * read-only connection of its own: the app's one connection (which serves respondents) runs no
 * chunk of the export. The workbook is the same whichever side reads.
 */

const dirs: string[] = [];
afterEach(async () => {
  await stopXlsxWorker();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function fileDb(): Db {
  const dir = mkdtempSync(join(tmpdir(), "bl-xlsx-reader-"));
  dirs.push(dir);
  const db = openDatabase(join(dir, "app.db"));
  runMigrations(db);
  return db;
}

/** The statements `db`'s connection prepares from now on. */
function preparedOn(db: Db): string[] {
  const seen: string[] = [];
  const prepare = db.$client.prepare.bind(db.$client);
  db.$client.prepare = ((source: string) => {
    seen.push(source);
    return prepare(source);
  }) as typeof db.$client.prepare;
  return seen;
}

async function workbook(db: Db, studyId: number, reader: RowReader) {
  const t = translator("en");
  const layout = await responseLayout(db, (await findStudy(db, studyId))!, "en", t);
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on("data", (c: Buffer) => chunks.push(c));
  const ended = new Promise<void>((resolve) => out.on("end", resolve));
  const count = await writeResponsesXlsx(db, layout, t, out, reader);
  await ended;
  const book = new ExcelJS.Workbook();
  await book.xlsx.load(Buffer.concat(chunks) as unknown as Parameters<typeof book.xlsx.load>[0]);
  const sheets = book.worksheets.map((sheet) => {
    const rows: unknown[][] = [];
    sheet.eachRow({ includeEmpty: true }, (row) => rows.push((row.values as unknown[]).slice(1)));
    return { name: sheet.name, rows };
  });
  return { count, sheets };
}

const CHUNK_QUERY = /json_group_array\(a\.response_id\)/;

describe.skipIf(TEST_ENGINE === "postgres")("raw responses XLSX on a SQLite file", () => {
  it("reads its rows on the worker's connection, none on the app's, and writes the same workbook as when read here", async () => {
    const db = fileDb();
    await seedExportStudy(db);
    const fixture = await seedExportStudy(db);
    await bulkResponses(db, fixture, 2 * CHUNK_SIZE + 200);
    expect(rowReaderFor(db)).toBe("worker");

    const seen = preparedOn(db);
    const inWorker = await workbook(db, fixture.study.id, "worker");
    expect(seen.filter((s) => CHUNK_QUERY.test(s))).toEqual([]);
    const here = await workbook(db, fixture.study.id, "here");
    // The same spy sees the chunks when they are read on the app's connection.
    expect(seen.filter((s) => CHUNK_QUERY.test(s)).length).toBeGreaterThan(0);

    expect(inWorker.count).toBe(fixture.completed + 2 * CHUNK_SIZE + 200);
    expect(here.count).toBe(inWorker.count);
    expect(inWorker.sheets.map((s) => s.name)).toEqual(["Responses", "Codebook"]);
    expect(inWorker.sheets[0]!.rows).toHaveLength(inWorker.count + 1);
    expect(inWorker.sheets).toEqual(here.sheets);
    await closeDatabase(db);
  }, 60_000);

  it("stops when the client has gone, and the next export is whole", async () => {
    const db = fileDb();
    const fixture = await seedExportStudy(db);
    await bulkResponses(db, fixture, 4 * CHUNK_SIZE);
    const layout = await responseLayout(db, (await findStudy(db, fixture.study.id))!, "en", translator("en"));
    const gone = new PassThrough();
    gone.once("data", () => gone.destroy());
    await writeResponsesXlsx(db, layout, translator("en"), gone, "worker");
    expect(gone.destroyed).toBe(true);
    const { count } = await workbook(db, fixture.study.id, "worker");
    expect(count).toBe(fixture.completed + 4 * CHUNK_SIZE);
    await closeDatabase(db);
  }, 60_000);

  it("reads here when no other connection can open the database (in memory)", () => {
    expect(rowReaderFor(freshDb())).toBe("here");
  });
});
