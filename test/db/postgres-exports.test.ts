import { and, asc, eq, isNotNull } from "drizzle-orm";
import type { Express } from "express";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closePostgres, openPostgres, type Db } from "../../db/client.js";
import { runPostgresMigrations } from "../../db/migrate.js";
import { iteratePersonalLinks } from "../../db/queries/fieldwork.js";
import { links, responses, segments } from "../../db/schema.js";
import { createApp } from "../../server/app.js";
import { testConfig } from "../../server/config.js";
import { CHUNK_SIZE, FIXED_COLUMNS } from "../../server/exports/responses.js";
import { addPersonalLinks } from "../../server/services/fieldwork.js";
import { parseCsv, withoutBom } from "../fixtures/exports/csv.js";
import { streamWhileWriting } from "../fixtures/exports/streaming.js";
import { bulkResponses, seedExportStudy, type ExportStudy } from "../fixtures/exports/study.js";
import { addUser, freshApp, loggedInAgent } from "../helpers.js";
import { createThrowawayDatabase, postgresTestsRun, type ThrowawayDatabase } from "../support/postgres.js";

/** Stored as typed by the survey link: Cyrillic, quotes, a backslash, a key order JSON would not sort. */
const PARAMS: Array<Record<string, string>> = [
  { utm_source: "Весна \"24\"", rid: "r-1", z: "a\\b" },
  { rid: "r-2", a: "", note: "tab\there" },
];

/**
 * The export fixture with what differs between engines pinned: times (the fixture dates responses
 * from the clock) and JSON params on two responses, so both databases hold the same values.
 */
async function seedSameData(db: Db): Promise<ExportStudy> {
  await addUser(db, "viewer");
  await addUser(db, "researcher");
  const fixture = await seedExportStudy(db);
  await db.update(responses).set({ startedAt: new Date("2026-03-01T09:00:00.123Z") });
  await db.update(responses).set({ completedAt: new Date("2026-03-01T09:01:00.456Z") }).where(isNotNull(responses.completedAt));
  const some = await db.select({ id: responses.id }).from(responses).where(eq(responses.status, "completed")).orderBy(asc(responses.id)).limit(PARAMS.length);
  for (const [i, r] of some.entries()) await db.update(responses).set({ params: PARAMS[i]! }).where(eq(responses.id, r.id));
  return fixture;
}

/** The raw responses CSV in both dialects (comma and dot; semicolon and decimal comma). */
async function exportsOf(app: Express, fixture: ExportStudy): Promise<{ raw: string; ru: string }> {
  const viewer = await loggedInAgent(app, "viewer@example.test");
  const get = async (query: string) => (await viewer.get(`/studies/${fixture.study.id}/responses.csv?${query}`).expect(200)).text;
  return { raw: await get("format=raw"), ru: await get("lang=ru") };
}

describe.runIf(postgresTestsRun("postgres-exports.test.ts"))("the streaming exports on PostgreSQL", () => {
  let database: ThrowawayDatabase;
  let db: Db;
  let app: Express;

  beforeAll(async () => {
    database = await createThrowawayDatabase();
    db = openPostgres(database.url, { max: 4 });
    await runPostgresMigrations(db);
    app = createApp({ db, config: testConfig() });
  });

  afterAll(async () => {
    if (db) await closePostgres(db);
    await database?.drop();
  });

  it("gives the raw responses CSV byte for byte as SQLite does: JSON params as stored, quality flags, excluded rows, multi-choice answers", async () => {
    const sqlite = freshApp();
    const onSqlite = await exportsOf(sqlite.app, await seedSameData(sqlite.db));
    const fixture = await seedSameData(db);
    const onPostgres = await exportsOf(app, fixture);
    expect(onPostgres.raw).toBe(onSqlite.raw);
    expect(onPostgres.ru).toBe(onSqlite.ru);

    // What was compared is the fixture's, not two empty files.
    const rows = parseCsv(withoutBom(onPostgres.raw), ",");
    const col = (name: string) => rows[0]!.indexOf(name);
    const body = rows.slice(1);
    expect(body).toHaveLength(fixture.completed);
    expect(body.slice(0, PARAMS.length).map((r) => r[col("params")])).toEqual(PARAMS.map((p) => JSON.stringify(p)));
    expect(body.filter((r) => r[col("excluded")] === "1")).toHaveLength(1);
    expect(body.filter((r) => r[col("excluded")] === "0")).toHaveLength(fixture.completed - 1);
    expect(body.filter((r) => r[col("quality_flags")] === "speeder;straightliner")).toHaveLength(1);
    expect(body.some((r) => r[col("aided_acme")] === "1" && r[col("aided_rival")] === "1" && r[col("aided_none")] === "0")).toBe(true);
    expect(body.every((r) => r[col("started_at")] === "2026-03-01T09:00:00.123Z" && r[col("duration_s")] === "60")).toBe(true);
  });

  it("reads in chunks with nothing held open: writes succeed while an export waits, and later chunks see them", async () => {
    const fixture = await seedExportStudy(db);
    await bulkResponses(db, fixture, 1200);
    const seen = await streamWhileWriting(db, fixture);
    expect(seen.pauses).toBeGreaterThanOrEqual(2);
    expect(seen.largestChunk).toBe(CHUNK_SIZE);
    expect(seen.count).toBe(fixture.completed + 1200 + seen.pauses);
    expect([seen.lastRow?.[FIXED_COLUMNS.indexOf("excluded")], seen.lastRow?.[FIXED_COLUMNS.indexOf("excluded_reason")]]).toEqual([1, "late"]);
  });

  it("downloads a wave's personal links as CSV, in segment order then creation order, read in chunks", async () => {
    const fixture = await seedExportStudy(db);
    const researcher = (await addUser(db, "researcher", "links-researcher@example.test")).id;
    // Created out of segment order, so the order of the file is the query's, not the insertion's.
    await addPersonalLinks(db, fixture.post, "inactive", 3, researcher);
    await addPersonalLinks(db, fixture.post, "subscribers", 4, researcher);
    await addPersonalLinks(db, fixture.post, "inactive", 2, researcher);
    await addPersonalLinks(db, fixture.pre, "subscribers", 2, researcher);
    const expected = await db
      .select({ id: links.id, token: links.token, segmentKey: segments.key })
      .from(links)
      .innerJoin(segments, eq(segments.id, links.segmentId))
      .where(and(eq(links.waveId, fixture.post.id), eq(links.kind, "personal")))
      .orderBy(asc(segments.position), asc(links.id));
    expect(expected.map((l) => l.segmentKey)).toEqual([...Array(4).fill("subscribers"), ...Array(5).fill("inactive")]);
    await db.update(links).set({ uses: 1 }).where(eq(links.id, expected[5]!.id));

    const read = [];
    for await (const row of iteratePersonalLinks(db, fixture.post.id, 2)) read.push(row);
    expect(read.map((r) => r.token)).toEqual(expected.map((l) => l.token));

    const agent = await loggedInAgent(app, "links-researcher@example.test");
    const csv = await agent.get(`/waves/${fixture.post.id}/personal-links.csv`).expect(200);
    expect(csv.headers["content-type"]).toBe("text/csv; charset=utf-8");
    expect(csv.text.slice(1).split("\r\n")).toEqual([
      "segment,url,token,used",
      ...expected.map((l, i) => `${l.segmentKey},http://localhost:3000/s/${l.token},${l.token},${i === 5 ? "yes" : "no"}`),
      "",
    ]);
  });
});
