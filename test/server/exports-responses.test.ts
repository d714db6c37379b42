import { EventEmitter } from "node:events";
import { PassThrough, Writable } from "node:stream";
import ExcelJS from "exceljs";
import { asc, eq, inArray } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import type { Db } from "../../db/client.js";
import { listWaves } from "../../db/queries/fieldwork.js";
import { loadQuestionnaire } from "../../db/queries/questionnaire.js";
import { answers, responses } from "../../db/schema.js";
import { csvDialect } from "../../server/exports/csv-dialect.js";
import { drained, writeResponsesCsv } from "../../server/exports/responses-output.js";
import { CHUNK_SIZE, CHUNKING, FIXED_COLUMNS, responseLayout, streamResponses, type Cell } from "../../server/exports/responses.js";
import { fixedChunks, nextChunkSize, type Chunking } from "../../server/services/chunks.js";
import { translator } from "../../server/i18n/index.js";
import { parseCsv, withoutBom } from "../fixtures/exports/csv.js";
import { binary, exportsApp } from "../fixtures/exports/harness.js";
import { streamWhileWriting } from "../fixtures/exports/streaming.js";
import { AWKWARD, CYRILLIC, FORMULAS, XSS, bulkResponses, seedExportStudy, type ExportStudy } from "../fixtures/exports/study.js";
import { loggedInAgent } from "../helpers.js";

const QUESTION_COLUMNS = ["aided_acme", "aided_rival", "aided_none", "slogan", "fav", "feedback"];

async function setup() {
  const { app, db } = await exportsApp();
  // Another study's responses must not leak into this one's export.
  await seedExportStudy(db);
  const fixture = await seedExportStudy(db);
  const viewer = await loggedInAgent(app, "viewer@example.test");
  await viewer.get("/?lang=en");
  return { app, db, fixture, viewer, base: `/studies/${fixture.study.id}` };
}

/**
 * What each completed response's row should hold, read naively (everything in memory, which is
 * fine for a test) and pivoted independently of the exporter.
 */
async function expectedRows(db: Db, fixture: ExportStudy): Promise<Cell[][]> {
  const waveIds = (await listWaves(db, fixture.study.id)).map((w) => w.id);
  const questions = await loadQuestionnaire(db, fixture.study.id);
  const rows = (
    await db
      .select()
      .from(responses)
      .where(inArray(responses.waveId, waveIds))
      .orderBy(asc(responses.id))
  ).filter((r) => r.status === "completed");
  const expected: Cell[][] = [];
  for (const r of rows) {
    const list = await db.select().from(answers).where(eq(answers.responseId, r.id));
    const of = (key: string) => list.filter((a) => a.questionId === questions.find((q) => q.key === key)!.id);
    const option = (key: string, id: number | null) => questions.find((q) => q.key === key)!.options.find((o) => o.id === id)?.key ?? null;
    const aided = of("aided").map((a) => option("aided", a.optionId));
    const wave = (await listWaves(db, fixture.study.id)).find((w) => w.id === r.waveId)!;
    expected.push([
      r.id,
      r.waveId,
      wave.label,
      wave.kind,
      fixture.segments.find((s) => s.id === r.segmentId)!.key,
      r.status,
      r.excluded ? 1 : 0,
      r.excludedReason,
      r.startedAt.toISOString(),
      r.completedAt?.toISOString() ?? null,
      r.durationMs === null ? null : r.durationMs / 1000,
      r.locale,
      r.params === null ? null : JSON.stringify(r.params),
      r.qualityFlags?.map((f) => f.code).join(";") ?? null,
      ...(aided.length ? ["acme", "rival", "none"].map((k) => (aided.includes(k) ? 1 : 0)) : [null, null, null]),
      option("slogan", of("slogan")[0]?.optionId ?? null),
      of("fav")[0]?.valueNumber ?? null,
      of("feedback")[0]?.valueText ?? null,
    ]);
  }
  return expected;
}

/** A cell as the CSV writes it: numbers plainly, text neutralised, null empty. */
const asCsv = (v: Cell) => (v === null ? "" : typeof v === "number" ? String(v) : /^[=+\-@\t\r]/.test(v) ? `'${v}` : v);

describe("raw responses export", () => {
  it("CSV: one row per completed response (excluded ones marked), one column per question, 0/1 per multi option", async () => {
    const { db, fixture, viewer, base } = await setup();
    const res = await viewer.get(`${base}/responses.csv`).expect(200);
    expect(res.headers["content-type"]).toBe("text/csv; charset=utf-8");
    // An English reader gets the English Excel dialect by default: ',' and '.'.
    expect(res.headers["content-disposition"]).toMatch(/study-\d+-responses-excel-en\.csv/);
    const rows = parseCsv(withoutBom(res.text), ",");
    expect(rows[0]).toEqual([...FIXED_COLUMNS, ...QUESTION_COLUMNS]);
    expect(rows.length - 1).toBe(fixture.completed);
    expect(rows.slice(1)).toEqual((await expectedRows(db, fixture)).map((r) => r.map(asCsv)));

    const col = (name: string) => rows[0]!.indexOf(name);
    const body = rows.slice(1);
    expect(body.filter((r) => r[col("excluded")] === "1")).toHaveLength(1);
    expect(body.filter((r) => r[col("quality_flags")] === "speeder;straightliner")).toHaveLength(1);
    // 0/1 per option of the multi question, for every response (all answered it).
    for (const r of body) {
      const picks = ["aided_acme", "aided_rival", "aided_none"].map((c) => r[col(c)]);
      expect(picks.every((p) => p === "0" || p === "1")).toBe(true);
      expect(picks[2] === "1" ? picks[0] === "0" && picks[1] === "0" : picks[0] === "1").toBe(true);
    }
    expect(body.some((r) => r[col("aided_acme")] === "1" && r[col("aided_rival")] === "1")).toBe(true);
    // Text answers: formulas neutralised, the rest exactly as typed (quotes, delimiters, CRLF, Cyrillic).
    const feedback = body.map((r) => r[col("feedback")]);
    for (const f of FORMULAS) expect(feedback).toContain(`'${f}`);
    expect(feedback).toContain(CYRILLIC);
    expect(feedback).toContain(AWKWARD);
    expect(feedback).toContain(XSS);
    expect(feedback.filter((f) => f !== undefined && /^[=+\-@]/.test(f))).toEqual([]);
    // Wave labels are text from users too: "+1 Post" is neutralised.
    expect(body.some((r) => r[col("wave")] === `'${FORMULAS[2]} Post`)).toBe(true);
    // Numbers stay numbers (a scale value, a duration).
    expect(body.every((r) => /^[1-5]$/.test(r[col("fav")]!))).toBe(true);
    expect(body.every((r) => r[col("duration_s")] === "60")).toBe(true);
  });

  it("CSV dialects: Russian readers get ';' and a decimal comma, English ',' and '.'; every dialect parses back to the same values", async () => {
    const { db, fixture, viewer, base } = await setup();
    // A duration with a fraction of a second, so a decimal mark is written.
    const first = (await expectedRows(db, fixture))[0]![0] as number;
    await db.update(responses).set({ durationMs: 61234 }).where(eq(responses.id, first));
    const get = async (query: string) => {
      const res = await viewer.get(`${base}/responses.csv?${query}`).expect(200);
      return { name: String(res.headers["content-disposition"]), text: res.text };
    };
    const raw = await get("format=raw");
    const ru = await get("lang=ru");
    const en = await get("lang=en");
    expect(raw.name).toMatch(/study-\d+-responses-raw\.csv/);
    expect(ru.name).toMatch(/study-\d+-responses-excel-ru\.csv/);
    expect(en.name).toMatch(/study-\d+-responses-excel-en\.csv/);

    const expected = (await expectedRows(db, fixture)).map((r) => r.map(asCsv));
    const rawRows = parseCsv(withoutBom(raw.text), ",");
    expect(rawRows.slice(1)).toEqual(expected);
    const duration = rawRows[0]!.indexOf("duration_s");
    expect(rawRows[1]![duration]).toBe("61.234");
    expect(parseCsv(withoutBom(en.text), ",")).toEqual(rawRows);

    const ruRows = parseCsv(withoutBom(ru.text), ";");
    expect(ruRows[0]).toEqual(rawRows[0]);
    expect(ruRows[1]![duration]).toBe("61,234");
    // Number cells differ only by the decimal mark; text cells (answers with "." in them) are untouched.
    const numeric = new Set(["response_id", "wave_id", "excluded", "duration_s", "aided_acme", "aided_rival", "aided_none", "fav"].map((c) => rawRows[0]!.indexOf(c)));
    expect(ruRows.slice(1).map((r) => r.map((cell, i) => (numeric.has(i) ? cell.replace(",", ".") : cell)))).toEqual(rawRows.slice(1));
    expect(ruRows.slice(1).map((r) => Number(r[duration]!.replace(",", ".")))).toEqual((await expectedRows(db, fixture)).map((r) => r[10]));

    // The old delimiter parameter still answers: semicolon is the Russian Excel file, comma the raw one.
    expect((await get("delimiter=semicolon&lang=en")).text).toBe(ru.text);
    expect((await get("delimiter=comma")).text).toBe(raw.text);
  });

  it("XLSX: a Responses sheet with numbers as numbers and neutralised text, and a Codebook sheet", async () => {
    const { db, fixture, viewer, base } = await setup();
    const res = await viewer.get(`${base}/responses.xlsx`).buffer(true).parse(binary).expect(200);
    expect(res.headers["content-type"]).toContain("spreadsheetml");
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(res.body as Parameters<typeof workbook.xlsx.load>[0]);
    expect(workbook.worksheets.map((w) => w.name)).toEqual(["Responses", "Codebook"]);
    const sheet = workbook.getWorksheet("Responses")!;
    const read: unknown[][] = [];
    sheet.eachRow({ includeEmpty: false }, (row) => {
      const values = (row.values as unknown[]).slice(1);
      read.push(Array.from({ length: FIXED_COLUMNS.length + QUESTION_COLUMNS.length }, (_, i) => values[i] ?? null));
    });
    expect(read[0]).toEqual([...FIXED_COLUMNS, ...QUESTION_COLUMNS]);
    // XML normalises line ends, so a CRLF typed in an answer reads back from XLSX as LF.
    const expected = (await expectedRows(db, fixture)).map((r) =>
      r.map((v) => (typeof v === "string" ? (/^[=+\-@\t\r]/.test(v) ? `'${v}` : v).replace(/\r\n/g, "\n") : v)),
    );
    expect(read.slice(1)).toEqual(expected);
    sheet.eachRow((row) => row.eachCell((cell) => expect(cell.type).not.toBe(ExcelJS.ValueType.Formula)));

    const codebook = workbook.getWorksheet("Codebook")!;
    const lines: string[][] = [];
    codebook.eachRow((row) => lines.push((row.values as unknown[]).slice(1).map((v) => (v === undefined || v === null ? "" : String(v)))));
    expect(lines[0]).toEqual(["Column", "Question key", "Question", "Option key", "Option", "Type", "Values", "Metric"]);
    expect(lines.slice(1).map((l) => l[0])).toEqual([...FIXED_COLUMNS, ...QUESTION_COLUMNS]);
    const rival = lines.find((l) => l[0] === "aided_rival")!;
    expect(rival.slice(1, 6)).toEqual(["aided", "Which brands do you know?", "rival", `'${FORMULAS[0]} Rival`, "multiple choice"]);
    expect(lines.find((l) => l[0] === "slogan")![2]).toBe(`'${FORMULAS[1]} Whose slogan is it?`);
    expect(lines.find((l) => l[0] === "fav")![6]).toBe("1 to 5");
  });

  it("codebook.csv: the same codebook for the CSV download, in the user's language", async () => {
    const { viewer, base } = await setup();
    const res = await viewer.get(`${base}/codebook.csv?lang=ru`).expect(200);
    expect(res.headers["content-disposition"]).toMatch(/study-\d+-codebook-excel-ru\.csv/);
    const rows = parseCsv(withoutBom(res.text), ";");
    expect(rows[0]![0]).toBe("Столбец");
    expect(rows.slice(1).map((r) => r[0])).toEqual([...FIXED_COLUMNS, ...QUESTION_COLUMNS]);
    expect(rows.find((r) => r[0] === "aided_rival")![4]).toBe(`'${FORMULAS[0]} Соперник`);
  });
});

describe("raw responses export streams in chunks", () => {
  it("writes 5,000 responses, in id order, each once, as CSV and as XLSX", async () => {
    const { db, fixture, viewer, base } = await setup();
    await bulkResponses(db, fixture, 5000);

    const res = await viewer.get(`${base}/responses.csv`).expect(200);
    const rows = parseCsv(withoutBom(res.text), ",");
    expect(rows.length - 1).toBe(fixture.completed + 5000);
    const ids = rows.slice(1).map((r) => Number(r[0]));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(new Set(ids).size).toBe(ids.length);
    expect(rows.slice(1).filter((r) => r[r.length - 1]!.startsWith("'=cmd"))).toHaveLength(715);

    const xlsx = await viewer.get(`${base}/responses.xlsx`).buffer(true).parse(binary).expect(200);
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(xlsx.body as Parameters<typeof workbook.xlsx.load>[0]);
    expect(workbook.getWorksheet("Responses")!.actualRowCount).toBe(fixture.completed + 5000 + 1);
  }, 60_000);

  it("holds nothing open between chunks: writes succeed while an export waits for its client, and later chunks see them", async () => {
    const { db, fixture } = await setup();
    await bulkResponses(db, fixture, 1200);
    const seen = await streamWhileWriting(db, fixture);
    expect(seen.pauses).toBeGreaterThanOrEqual(2);
    expect(seen.largestChunk).toBe(CHUNK_SIZE);
    // Responses added during the export have higher ids and are picked up by later chunks.
    expect(seen.count).toBe(fixture.completed + 1200 + seen.pauses);
    // Excluded at the first pause, so read after it: the study was not loaded up front.
    const col = (name: (typeof FIXED_COLUMNS)[number]) => FIXED_COLUMNS.indexOf(name);
    expect([seen.lastRow?.[col("excluded")], seen.lastRow?.[col("excluded_reason")]]).toEqual([1, "late"]);
  });

  it("stops reading when the client has gone", async () => {
    const { db, fixture } = await setup();
    await bulkResponses(db, fixture, 2000);
    const layout = await responseLayout(db, fixture.study, "en", translator("en"));
    let gone = false;
    const count = await streamResponses(db, layout, {
      row: () => undefined,
      pause: async () => {
        gone = true;
      },
      closed: () => gone,
    });
    expect(count).toBe(CHUNKING.first);
  });

  it("writes the same bytes whatever the chunk sizes: fixed, sized to the time budget, or changing every chunk", async () => {
    const { db, fixture } = await setup();
    await bulkResponses(db, fixture, 1200);
    const layout = await responseLayout(db, fixture.study, "en", translator("en"));
    const csv = async (chunking: Chunking) => {
      const parts: Buffer[] = [];
      const out = new Writable({ write: (chunk: Buffer, _encoding, done) => (parts.push(chunk), done()) });
      const count = await writeResponsesCsv(db, layout, out, csvDialect({ format: "excel-ru" }, "raw"), chunking);
      await new Promise((resolve) => out.on("finish", resolve));
      return { count, bytes: Buffer.concat(parts).toString("utf8") };
    };
    const whole = await csv(fixedChunks(CHUNK_SIZE));
    expect(whole.count).toBe(fixture.completed + 1200);
    expect(parseCsv(withoutBom(whole.bytes), ";")).toHaveLength(fixture.completed + 1200 + 1);
    // A budget no chunk meets: the sizes fall from 64 to one response a chunk.
    const shrinking: Chunking = { first: 64, min: 1, max: 200, budgetMs: 1e-9 };
    for (const chunking of [fixedChunks(1), fixedChunks(7), fixedChunks(150), CHUNKING, shrinking]) {
      const other = await csv(chunking);
      expect(other.count, JSON.stringify(chunking)).toBe(whole.count);
      expect(other.bytes === whole.bytes, JSON.stringify(chunking)).toBe(true);
    }
  }, 60_000);

  it("sizes the next chunk to the time the last one held the event loop, at most doubling, within its bounds", () => {
    const c: Chunking = { first: 100, min: 20, max: 500, budgetMs: 10 };
    expect(nextChunkSize(100, 20, c)).toBe(50);
    expect(nextChunkSize(100, 5, c)).toBe(200);
    expect(nextChunkSize(100, 1, c)).toBe(200);
    expect(nextChunkSize(400, 1, c)).toBe(500);
    expect(nextChunkSize(100, 1000, c)).toBe(20);
    expect(nextChunkSize(100, 0, c)).toBe(200);
    expect(nextChunkSize(500, 10_000, fixedChunks(500))).toBe(500);
  });
});

describe("waiting for a slow client", () => {
  it("keeps one drain listener however many chunks wait, also where compression moves drain listeners to its gzip stream", async () => {
    // As compression does: "drain" listeners of the response are added to the gzip stream instead.
    const gzip = new EventEmitter();
    const out = Object.assign(new PassThrough(), { destroyed: false }) as unknown as Writable & { destroyed: boolean };
    const on = out.on.bind(out);
    out.on = ((event: string, listener: (...args: unknown[]) => void) => (event === "drain" ? (gzip.on(event, listener), out) : on(event, listener))) as typeof out.on;
    for (let chunk = 0; chunk < 20; chunk++) {
      const waiting = drained(out);
      gzip.emit("drain");
      await waiting;
    }
    expect(gzip.listenerCount("drain")).toBe(1);
    expect(out.listenerCount("close")).toBe(1);
  });
});
