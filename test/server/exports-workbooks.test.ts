import { get } from "node:http";
import type { AddressInfo } from "node:net";
import { PassThrough, Writable } from "node:stream";
import { eq } from "drizzle-orm";
import ExcelJS from "exceljs";
import request from "supertest";
import { afterAll, describe, expect, it } from "vitest";
import { responses, users } from "../../db/schema.js";
import { csvDialect } from "../../server/exports/csv-dialect.js";
import { writeResponsesCsv, writeResponsesXlsx } from "../../server/exports/responses-output.js";
import { CHUNK_SIZE, responseLayout, type Cell } from "../../server/exports/responses.js";
import { resultsWorkbook } from "../../server/exports/results-xlsx.js";
import { stopXlsxWorker, WorkbookTask } from "../../server/exports/xlsx-pool.js";
import { translator } from "../../server/i18n/index.js";
import { changeExclusion } from "../../server/quality/ledger-service.js";
import { loadStudyResults } from "../../server/results-snapshots/load.js";
import { resultsDataVersion } from "../../server/results-snapshots/version.js";
import { resultsQuery } from "../../server/services/results.js";
import { configureResultsSnapshots, refreshesSettled } from "../../server/results-snapshots/refresh.js";
import { parseCsv, withoutBom } from "../fixtures/exports/csv.js";
import { binary, exportsApp } from "../fixtures/exports/harness.js";
import { bulkResponses, seedExportStudy } from "../fixtures/exports/study.js";
import { closeServer, listen } from "../helpers.js";

/**
 * The workbook exports are built in the XLSX worker thread (server/exports/xlsx-pool.ts,
 * xlsx-worker.ts): the files are what the CSV says, nothing of exceljs runs on the event loop that
 * serves respondents, the loop turns between chunks however fast the client reads, and a worker
 * that fails ends its download as a failure without taking the server or the next export along.
 */

afterAll(() => stopXlsxWorker());

async function study(extra = 0) {
  const { app, db, viewerToken } = await exportsApp();
  const fixture = await seedExportStudy(db);
  if (extra > 0) await bulkResponses(db, fixture, extra);
  const api = (path: string) => request(app).get(`/api/studies/${fixture.study.id}/${path}`).set("Authorization", `Bearer ${viewerToken}`);
  return { app, db, fixture, viewerToken, api };
}

async function workbookOf(body: unknown): Promise<ExcelJS.Workbook> {
  const workbook = new ExcelJS.Workbook();
  await workbook.xlsx.load(body as Parameters<typeof workbook.xlsx.load>[0]);
  return workbook;
}

/** A sheet's rows as the raw CSV writes its cells: numbers plainly, empty cells empty. */
function sheetAsText(sheet: ExcelJS.Worksheet, width: number): string[][] {
  const rows: string[][] = [];
  sheet.eachRow((row) => {
    const values = (row.values as unknown[]).slice(1);
    rows.push(Array.from({ length: width }, (_, i) => (values[i] === undefined || values[i] === null ? "" : String(values[i]))));
  });
  return rows;
}

/** Replaces a constructor of exceljs in this thread by one that counts its uses, for the length of `run`. */
async function counting<T>(holder: object, name: string, run: () => Promise<T>): Promise<{ result: T; uses: number }> {
  const place = holder as Record<string, new (...args: unknown[]) => object>;
  const original = place[name]!;
  let uses = 0;
  place[name] = class extends original {
    constructor(...args: unknown[]) {
      super(...args);
      uses++;
    }
  };
  try {
    return { result: await run(), uses };
  } finally {
    place[name] = original;
  }
}

describe("workbooks from the XLSX worker thread", () => {
  it("responses.xlsx holds exactly the cells of the raw responses.csv, over several chunks", async () => {
    const { fixture, api } = await study(3 * CHUNK_SIZE);
    const csv = parseCsv(withoutBom((await api("responses.csv?format=raw").expect(200)).text), ",");
    expect(csv.length - 1).toBe(fixture.completed + 3 * CHUNK_SIZE);
    const workbook = await workbookOf((await api("responses.xlsx").buffer(true).parse(binary).expect(200)).body);
    // XML normalises line ends: a CRLF typed in an answer reads back as LF.
    expect(sheetAsText(workbook.worksheets[0]!, csv[0]!.length)).toEqual(csv.map((row) => row.map((cell) => cell.replace(/\r\n/g, "\n"))));
  }, 60_000);

  it("runs no exceljs on the event loop: neither workbook is constructed in this thread, and both files open", async () => {
    const { api } = await study(CHUNK_SIZE);
    const streamed = await counting(ExcelJS.stream.xlsx, "WorkbookWriter", () =>
      counting(ExcelJS, "Workbook", async () => ({
        responses: (await api("responses.xlsx").buffer(true).parse(binary).expect(200)).body as Buffer,
        results: (await api("results.xlsx").buffer(true).parse(binary).expect(200)).body as Buffer,
      })),
    );
    expect(streamed.uses).toBe(0);
    expect(streamed.result.uses).toBe(0);
    const { responses, results } = streamed.result.result;
    expect((await workbookOf(responses)).worksheets.map((w) => w.name)).toEqual(["Responses", "Codebook"]);
    expect((await workbookOf(results)).worksheets.at(-1)!.name).toBe("Methods");
  }, 60_000);

  it("lets the event loop turn between chunks however fast the client takes them, CSV and XLSX alike", async () => {
    const { db, fixture } = await study(4 * CHUNK_SIZE);
    const t = translator("en");
    const layout = await responseLayout(db, fixture.study, "en", t);
    const exports = {
      csv: (out: Writable & { destroyed: boolean }) => writeResponsesCsv(db, layout, out, csvDialect({ format: "raw" }, "raw")),
      xlsx: (out: Writable & { destroyed: boolean }) => writeResponsesXlsx(db, layout, t, out),
    };
    // Clients that take everything at once: one with room for every write, one whose "drain" comes
    // in the same task (as a socket's when the kernel takes the bytes at once).
    const clients = { roomy: 1 << 30, draining: 1024 };
    for (const [name, run] of Object.entries(exports).flatMap(([format, write]) => Object.entries(clients).map(([client, hwm]) => [`${format}, ${client}`, () => write(new Writable({ highWaterMark: hwm, write: (_chunk, _encoding, done) => done() }))] as const))) {
      let turns = 0;
      let running = true;
      const turn = () => {
        if (!running) return;
        turns++;
        setImmediate(turn);
      };
      setImmediate(turn);
      const count = await run();
      running = false;
      expect(count, name).toBe(fixture.completed + 4 * CHUNK_SIZE);
      // A turn of the loop between every two of its chunks (at least five, of at most 500): it was never held for the whole export.
      expect(turns, name).toBeGreaterThanOrEqual(Math.ceil(count / CHUNK_SIZE) - 1);
    }
  }, 60_000);
});

describe("a failing XLSX worker", () => {
  const spec = { sheet: "Responses", columns: ["a", "b"], codebook: { name: "Codebook", rows: [["Column"], ["a"], ["b"]] } };

  it("fails the workbook whose rows it could not take, and builds the next one whole", async () => {
    const sink = new PassThrough();
    sink.resume();
    const failing = new WorkbookTask(sink, { kind: "responses", spec });
    await failing.rows(null as unknown as Cell[][]);
    await expect(failing.end()).rejects.toThrow(/xlsx worker: TypeError/);
    expect(failing.finished).toBe(true);

    const chunks: Buffer[] = [];
    const out = new Writable({ write: (chunk: Buffer, _encoding, done) => (chunks.push(chunk), done()) });
    const next = new WorkbookTask(out, { kind: "responses", spec });
    await next.rows([[1, "x"]]);
    await next.end();
    const workbook = await workbookOf(Buffer.concat(chunks));
    expect(sheetAsText(workbook.getWorksheet("Responses")!, 2)).toEqual([["a", "b"], ["1", "x"]]);
  });

  it("cuts a download whose worker died: the client sees it incomplete, the server answers on and the next download is whole", async () => {
    const { app, fixture, viewerToken, api } = await study(6 * CHUNK_SIZE);
    const server = await listen(app);
    try {
      const { port } = server.address() as AddressInfo;
      const cut = await new Promise<{ status: number; complete: boolean; bytes: number }>((resolve, reject) => {
        const req = get(`http://127.0.0.1:${port}/api/studies/${fixture.study.id}/responses.xlsx`, { headers: { authorization: `Bearer ${viewerToken}` } }, (res) => {
          let bytes = 0;
          res.on("data", (chunk: Buffer) => {
            // The first bytes are here: the worker dies while the rest is being built.
            if (bytes === 0) void stopXlsxWorker();
            bytes += chunk.length;
          });
          res.on("error", () => undefined);
          res.on("close", () => resolve({ status: res.statusCode ?? 0, complete: res.complete, bytes }));
        });
        req.on("error", reject);
      });
      expect(cut.status).toBe(200);
      expect(cut.bytes).toBeGreaterThan(0);
      expect(cut.complete).toBe(false);

      await request(server).get("/healthz").expect(200);
      const whole = await workbookOf((await api("responses.xlsx").buffer(true).parse(binary).expect(200)).body);
      expect(whole.getWorksheet("Responses")!.actualRowCount).toBe(fixture.completed + 6 * CHUNK_SIZE + 1);
    } finally {
      await closeServer(server);
    }
  }, 60_000);
});

describe("results.xlsx", () => {
  it("gathers its cells a sheet per task: the event loop turns after each metric's sheet, and the workbook is the same", async () => {
    const { db, fixture } = await study();
    const t = translator("en");
    const results = await loadStudyResults(db, fixture.study, await resultsDataVersion(db, fixture.study.id), resultsQuery.parse({}), "en", t);
    if (typeof results === "string" || !("table" in results)) throw new Error(`no results: ${JSON.stringify(results)}`);
    const at = new Date("2026-12-01T09:00:00Z");
    let pauses = 0;
    const spec = await resultsWorkbook(results, "en", t, at, async () => {
      pauses++;
      await new Promise((resolve) => setImmediate(resolve));
    });
    const metrics = Object.keys(results.metricLabels).length;
    expect(metrics).toBeGreaterThan(1);
    expect(pauses).toBe(metrics);
    expect(spec.sheets).toHaveLength(metrics + 1);
    expect(await resultsWorkbook(results, "en", t, at)).toEqual(spec);
  });
});

describe("results.xlsx of a large study", () => {
  it("is read from the snapshot like the page: 'being computed' before the first, then says in the Methods sheet how fresh it is, in the reader's language", async () => {
    const { app, db, fixture, viewerToken, api } = await study();
    configureResultsSnapshots(db, { syncLimit: 0 });
    const busy = await api("results.xlsx").expect(503);
    expect(busy.body.error.code).toBe("results_computing");
    expect(busy.headers["content-disposition"]).toBeUndefined();
    await refreshesSettled(db);

    const methods = async (lang: string) => {
      const res = await request(app).get(`/api/studies/${fixture.study.id}/results.xlsx?lang=${lang}`).set("Authorization", `Bearer ${viewerToken}`).buffer(true).parse(binary).expect(200);
      return sheetAsText((await workbookOf(res.body)).worksheets.at(-1)!, 2).map((row) => row.join(": "));
    };
    expect(await methods("en")).toContainEqual(expect.stringMatching(/^Results as of: Computed \S+ from \d+ responses: the current data\.$/));

    // A change: until the recomputation ends, the file carries the last numbers and says they are being updated.
    let resume!: () => void;
    configureResultsSnapshots(db, { beforeRefresh: () => new Promise<void>((resolve) => (resume = resolve)) });
    const [someone] = await db.select({ id: responses.id }).from(responses).where(eq(responses.waveId, fixture.post.id)).limit(1);
    const [researcher] = await db.select({ id: users.id }).from(users).where(eq(users.email, "researcher@example.test"));
    await changeExclusion(db, fixture.study, researcher!.id, { excluded: true, ids: [someone!.id], reason: "test" });
    expect(await methods("ru")).toContainEqual(expect.stringMatching(/^Актуальность результатов: Рассчитано \S+ по \d+ ответ\S* С тех пор данные изменились: результаты пересчитываются/));
    resume();
    await refreshesSettled(db);
  }, 60_000);
});
