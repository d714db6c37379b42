import { Writable } from "node:stream";
import { asc, eq, inArray, min } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import type { Db } from "../../db/client.js";
import { answers, responses, studies, waves } from "../../db/schema.js";
import { csvFieldEncoder, toCsvRow } from "../../server/domain/csv.js";
import { CSV_DIALECTS, type CsvFormat } from "../../server/exports/csv-dialect.js";
import { firstResponseId, orderRepeated, parseChunk } from "../../server/exports/response-chunks.js";
import { durationSeconds } from "../../server/exports/responses-csv.js";
import { CSV_CHUNKING, writeResponsesCsv } from "../../server/exports/responses-output.js";
import { answerValues, responseLayout, streamResponses, type Cell, type ResponseLayout } from "../../server/exports/responses.js";
import { translator } from "../../server/i18n/index.js";
import { fixedChunks, type Chunking } from "../../server/services/chunks.js";
import { seedAwkwardStudy } from "../fixtures/exports/awkward.js";
import { bulkResponses, seedExportStudy } from "../fixtures/exports/study.js";
import { freshDb } from "../helpers.js";

const FORMATS: CsvFormat[] = ["raw", "excel-ru", "excel-en"];

/**
 * The awkward study's file (test/fixtures/exports/awkward.ts) as the exporter wrote it before it
 * was rewritten for speed (pivoted cells through csvRowEncoder, one JSON text per response), on
 * SQLite and PostgreSQL alike: each row's response and wave by name, then the rest of its bytes.
 */
const GOLDEN: Record<CsvFormat, Array<[response: string, wave: string, rest: string]>> = {
  "raw": [
    ["plain", "pre", "\"Pre «до», 1\",pre,subscribers,completed,0,,2026-03-01T09:00:00.123Z,2026-03-01T09:01:01.357Z,61.234,ru,\"{\"\"utm_source\"\":\"\"vk, \\\"\"весна\\\"\"\"\",\"\"rid\"\":\"\"a;b\"\"}\",speeder;straightliner,1,1,0,acme,4,\"a, b; \"\"c\"\"\r\nd\"\r\n"],
    ["excluded", "post", "\"'+1 \"\"Post\"\"\",post,inactive,completed,1,\"'=cmd, \"\"x\"\"\",2026-03-01T09:00:00.123Z,,,en,,,0,0,1,other,2.5,\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"\r\n"],
    ["unanswered", "pre", "\"Pre «до», 1\",pre,subscribers,completed,0,,1969-12-31T23:59:59.000Z,1970-01-01T00:00:00.000Z,1,ru,,,,,,,,\r\n"],
    ["repeated", "pre", "\"Pre «до», 1\",pre,subscribers,completed,0,,'+010000-01-01T00:00:00.000Z,'+010000-01-01T00:00:00.001Z,1000000000.001,ru,{},\"{\"\"not\"\":\"\"a list\"\"}\",0,0,0,other;acme,'-1;0.1,first;-second; third\r\n"],
    ["decimal", "post", "\"'+1 \"\"Post\"\"\",post,subscribers,completed,0,,2026-03-01T09:00:00.123Z,2026-03-01T09:01:01.357Z,0.999,en,,,1,0,0,,1e+21,\r\n"],
  ],
  "excel-ru": [
    ["plain", "pre", "Pre «до», 1;pre;subscribers;completed;0;;2026-03-01T09:00:00.123Z;2026-03-01T09:01:01.357Z;61,234;ru;\"{\"\"utm_source\"\":\"\"vk, \\\"\"весна\\\"\"\"\",\"\"rid\"\":\"\"a;b\"\"}\";\"speeder;straightliner\";1;1;0;acme;4;\"a, b; \"\"c\"\"\r\nd\"\r\n"],
    ["excluded", "post", "\"'+1 \"\"Post\"\"\";post;inactive;completed;1;\"'=cmd, \"\"x\"\"\";2026-03-01T09:00:00.123Z;;;en;;;0;0;1;other;2,5;\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"\r\n"],
    ["unanswered", "pre", "Pre «до», 1;pre;subscribers;completed;0;;1969-12-31T23:59:59.000Z;1970-01-01T00:00:00.000Z;1;ru;;;;;;;;\r\n"],
    ["repeated", "pre", "Pre «до», 1;pre;subscribers;completed;0;;'+010000-01-01T00:00:00.000Z;'+010000-01-01T00:00:00.001Z;1000000000,001;ru;{};\"{\"\"not\"\":\"\"a list\"\"}\";0;0;0;\"other;acme\";\"'-1;0.1\";\"first;-second; third\"\r\n"],
    ["decimal", "post", "\"'+1 \"\"Post\"\"\";post;subscribers;completed;0;;2026-03-01T09:00:00.123Z;2026-03-01T09:01:01.357Z;0,999;en;;;1;0;0;;1e+21;\r\n"],
  ],
  "excel-en": [
    ["plain", "pre", "\"Pre «до», 1\",pre,subscribers,completed,0,,2026-03-01T09:00:00.123Z,2026-03-01T09:01:01.357Z,61.234,ru,\"{\"\"utm_source\"\":\"\"vk, \\\"\"весна\\\"\"\"\",\"\"rid\"\":\"\"a;b\"\"}\",speeder;straightliner,1,1,0,acme,4,\"a, b; \"\"c\"\"\r\nd\"\r\n"],
    ["excluded", "post", "\"'+1 \"\"Post\"\"\",post,inactive,completed,1,\"'=cmd, \"\"x\"\"\",2026-03-01T09:00:00.123Z,,,en,,,0,0,1,other,2.5,\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"\r\n"],
    ["unanswered", "pre", "\"Pre «до», 1\",pre,subscribers,completed,0,,1969-12-31T23:59:59.000Z,1970-01-01T00:00:00.000Z,1,ru,,,,,,,,\r\n"],
    ["repeated", "pre", "\"Pre «до», 1\",pre,subscribers,completed,0,,'+010000-01-01T00:00:00.000Z,'+010000-01-01T00:00:00.001Z,1000000000.001,ru,{},\"{\"\"not\"\":\"\"a list\"\"}\",0,0,0,other;acme,'-1;0.1,first;-second; third\r\n"],
    ["decimal", "post", "\"'+1 \"\"Post\"\"\",post,subscribers,completed,0,,2026-03-01T09:00:00.123Z,2026-03-01T09:01:01.357Z,0.999,en,,,1,0,0,,1e+21,\r\n"],
  ],
};

const HEADER = "response_id,wave_id,wave,wave_kind,segment,status,excluded,excluded_reason,started_at,completed_at,duration_s,locale,params,quality_flags,aided_acme,aided_rival,aided_none,slogan,fav,feedback";

async function csv(db: Db, layout: ResponseLayout, format: CsvFormat, chunking?: Chunking): Promise<string> {
  const parts: Buffer[] = [];
  const out = new Writable({ write: (chunk: Buffer, _encoding, done) => (parts.push(Buffer.from(chunk)), done()) });
  const finished = new Promise((resolve) => out.on("finish", resolve));
  await writeResponsesCsv(db, layout, out, CSV_DIALECTS[format], chunking);
  await finished;
  return Buffer.concat(parts).toString("utf8");
}

/** The file as the pivot's cells make it through toCsvRow, the reference encoder (field by field, regular expressions). */
async function reference(db: Db, layout: ResponseLayout, format: CsvFormat): Promise<string> {
  const { delimiter, decimal } = CSV_DIALECTS[format];
  let text = "\uFEFF" + toCsvRow(layout.columns, delimiter, decimal);
  await streamResponses(db, layout, { row: (cells: Cell[]) => (text += toCsvRow(cells, delimiter, decimal)), pause: async () => undefined, closed: () => false });
  return text;
}

describe("the raw responses CSV, byte for byte", () => {
  it("writes the awkward study's file exactly as before, in every dialect and whatever the chunk sizes", async () => {
    const db = freshDb();
    const { study, ids } = await seedAwkwardStudy(db);
    const layout = await responseLayout(db, study, "en", translator("en"));
    for (const format of FORMATS) {
      const { delimiter } = CSV_DIALECTS[format];
      const expected = "\uFEFF" + HEADER.replaceAll(",", delimiter) + "\r\n" + GOLDEN[format].map(([response, wave, rest]) => `${ids[response]}${delimiter}${ids[wave]}${delimiter}${rest}`).join("");
      for (const chunking of [undefined, fixedChunks(1), fixedChunks(2)]) expect(await csv(db, layout, format, chunking), `${format} ${JSON.stringify(chunking)}`).toBe(expected);
      expect(await reference(db, layout, format), format).toBe(expected);
    }
  });

  it("writes every line as the pivot's cells through toCsvRow, over a study of 1,200 responses", async () => {
    const db = freshDb();
    const fixture = await seedExportStudy(db);
    await bulkResponses(db, fixture, 1200);
    await seedAwkwardStudy(db);
    const layout = await responseLayout(db, fixture.study, "en", translator("en"));
    for (const format of FORMATS) {
      const expected = await reference(db, layout, format);
      expect(expected.split("\r\n").length).toBeGreaterThan(fixture.completed + 1200);
      for (const chunking of [CSV_CHUNKING, fixedChunks(7)]) expect((await csv(db, layout, format, chunking)) === expected, format).toBe(true);
    }
  }, 60_000);

  it("writes a duration's seconds as the field encoder writes ms / 1000", () => {
    const samples = [0, 1, 9, 10, 99, 100, 999, 1000, 1001, 61_234, 86_400_000, 999_999_999_999, 1e12, 1e12 + 1, 2 ** 53, -1, -1000, 0.5, 1e24];
    for (let ms = 0; ms < 100_000; ms++) samples.push(ms);
    // A fixed sequence of large durations (a linear congruential generator), up to the table's limit and past it.
    for (let i = 0, x = 12345; i < 100_000; i++) samples.push((x = (x * 1103515245 + 12345) % 2 ** 31) * 977);
    const dialects = [...FORMATS.map((f) => CSV_DIALECTS[f]), { delimiter: "," as const, decimal: "," as const }];
    for (const dialect of dialects) {
      const field = csvFieldEncoder(dialect.delimiter, dialect.decimal);
      const seconds = durationSeconds(field, dialect);
      for (const ms of samples) if (seconds(ms) !== field(ms / 1000)) expect(seconds(ms), `${ms} ${JSON.stringify(dialect)}`).toBe(field(ms / 1000));
      expect(seconds(null)).toBe("");
    }
  });
});

describe("a chunk as the database hands it", () => {
  it("puts responses in id order and groups their answers, whatever order they came in", () => {
    const responses = JSON.stringify([[12, 10, 11], [1, 1, 2], [3, 3, 3], [0, 1, 0], [null, "x", null], [5, 6, 7], [8, null, 9], [null, 1, 2], ["ru", "en", "ru"], [null, "{}", null], [null, null, "[]"]]);
    const answers = JSON.stringify([[11, 12, 10, 12, 11], [1, 2, 3, 4, 5], [7, 8, null, "t", 9.5]]);
    const chunk = parseChunk(responses, answers);
    expect(chunk.ids).toEqual([10, 11, 12]);
    expect([chunk.excludedReasons, chunk.startedAt, chunk.locales]).toEqual([["x", null, null], [6, 7, 5], ["en", "ru", "ru"]]);
    const of = (k: number) => chunk.answers.questionIds.slice(chunk.answerStart[k], chunk.answerStart[k + 1]);
    expect([of(0), of(1), of(2)]).toEqual([[3], [1, 5], [2, 4]]);
    expect(chunk.answers.values.slice(chunk.answerStart[2], chunk.answerStart[3])).toEqual([8, "t"]);
  });

  it("takes PostgreSQL's nulls for an empty page, and a page without answers", () => {
    expect(parseChunk(JSON.stringify(Array(11).fill(null)), JSON.stringify(Array(3).fill(null))).length).toBe(0);
    expect(parseChunk(null, null).length).toBe(0);
    const chunk = parseChunk(JSON.stringify([[1, 2], [1, 1], [1, 1], [0, 0], [null, null], [0, 0], [0, 0], [0, 0], ["ru", "ru"], [null, null], [null, null]]), JSON.stringify(Array(3).fill(null)));
    expect([chunk.length, [...chunk.answerStart]]).toEqual([2, [0, 0, 0]]);
  });

  it("reads again, in answer id order, the answers of a response with several answers to a value question, and only those", async () => {
    const db = freshDb();
    const { study, ids } = await seedAwkwardStudy(db);
    const layout = await responseLayout(db, study, "en", translator("en"));
    const values = answerValues(layout);
    const stored = await db.select().from(answers).where(inArray(answers.responseId, [ids["plain"]!, ids["repeated"]!])).orderBy(asc(answers.id));
    const valueOf = (a: (typeof stored)[number]) => (values.scale.includes(a.questionId) ? a.valueNumber : values.text.includes(a.questionId) ? a.valueText : a.optionId);
    // As a plan might hand them: each response's answers last to first.
    const given = [ids["plain"]!, ids["repeated"]!].flatMap((id) => stored.filter((a) => a.responseId === id).reverse());
    const fields = (value: unknown) => Array.from({ length: 11 }, (_, i) => (i === 0 ? [ids["plain"], ids["repeated"]] : [value, value]));
    const chunk = parseChunk(JSON.stringify(fields(0)), JSON.stringify([given.map((a) => a.responseId), given.map((a) => a.questionId), given.map(valueOf)]));
    const ordered = await orderRepeated(db, chunk, values);
    const answersOf = (c: typeof chunk, k: number) => c.answers.questionIds.slice(c.answerStart[k], c.answerStart[k + 1]).map((q, j) => [q, c.answers.values[c.answerStart[k]! + j]]);
    // The plain response (one answer per value question) is left as it came; the other is in (question, id) order.
    expect(answersOf(ordered, 0)).toEqual(answersOf(chunk, 0));
    const repeated = stored.filter((a) => a.responseId === ids["repeated"]).sort((a, b) => a.questionId - b.questionId || a.id - b.id);
    expect(answersOf(ordered, 1)).toEqual(repeated.map((a) => [a.questionId, valueOf(a)]));
    expect(answersOf(chunk, 1)).not.toEqual(answersOf(ordered, 1));
    // Nothing repeated: the very same chunk, nothing read.
    const single = parseChunk(JSON.stringify(fields(0).map((column) => column.slice(0, 1))), JSON.stringify([[ids["plain"]], [stored[0]!.questionId], [valueOf(stored[0]!)]]));
    expect(await orderRepeated(db, single, values)).toBe(single);
  });
});

describe("where the export starts", () => {
  it("finds the study's first response by walking the ids in steps, or past the walk by its waves, and none for a study without responses", async () => {
    const db = freshDb();
    await seedExportStudy(db);
    const fixture = await seedExportStudy(db);
    const [expected] = await db
      .select({ id: min(responses.id) })
      .from(responses)
      .innerJoin(waves, eq(waves.id, responses.waveId))
      .where(eq(waves.studyId, fixture.study.id));
    // Past the first study's responses: a walk of 2 × 5 ids ends before them, one of 100 × 50 ids reaches them.
    expect(expected!.id).toBeGreaterThan(10);
    expect(await firstResponseId(db, fixture.study.id, { ids: 5, steps: 2 })).toBe(expected!.id);
    expect(await firstResponseId(db, fixture.study.id, { ids: 50, steps: 100 })).toBe(expected!.id);
    expect(await firstResponseId(db, fixture.study.id)).toBe(expected!.id);
    const [empty] = await db.insert(studies).values({ ...fixture.study, id: undefined, name: "Empty" }).returning();
    expect(await firstResponseId(db, empty!.id)).toBeNull();
  });
});
