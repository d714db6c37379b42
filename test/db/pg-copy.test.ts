import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { asc, eq, getTableColumns, sql } from "drizzle-orm";
import { getTableConfig, integer, sqliteTable, type SQLiteColumn, type SQLiteTable } from "drizzle-orm/sqlite-core";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeDatabase, closePostgres, openDatabase, openPostgres, rawRows, type Db } from "../../db/client.js";
import { copyOrder, copyToPostgres, CopyError, openSource, schemaTables } from "../../db/copy.js";
import { runMigrations } from "../../db/migrate.js";
import {
  apiTokens,
  audiencePoints,
  auditLog,
  jobs,
  kpis,
  waveNotes,
  resultSnapshots,
  studies,
  qualitySettings,
  rateLimits,
  responses,
  segments,
  sessions,
  shareLinks,
  teams,
  textAliases,
  users,
} from "../../db/schema.js";
import { createApp } from "../../server/app.js";
import { testConfig } from "../../server/config.js";
import { createDemoStudy } from "../../server/demo/create.js";
import { generateDemoData } from "../../server/demo/generate.js";
import { createThrowawayDatabase, postgresTestsRun, type ThrowawayDatabase } from "../support/postgres.js";
import { addUser, loggedInAgent } from "../helpers.js";

const tableName = (table: SQLiteTable) => getTableConfig(table).name;
/** Rows of a table through its drizzle object, in primary-key order (so both engines list them alike). */
function keyOrder(table: SQLiteTable) {
  const config = getTableConfig(table);
  const single = config.columns.filter((c) => c.primary);
  const key = single.length > 0 ? single : config.primaryKeys[0]!.columns;
  return key.map((c) => asc(c));
}
const selectAll = (db: Db, table: SQLiteTable) =>
  db
    .select()
    .from(table)
    .orderBy(...keyOrder(table));

/** Ids the tests check: each table's integer primary key with its own sequence (not a foreign key). */
function identityColumn(table: SQLiteTable): SQLiteColumn | undefined {
  const config = getTableConfig(table);
  const fkColumns = new Set(config.foreignKeys.flatMap((fk) => fk.reference().columns.map((c) => c.name)));
  return config.columns.find((c) => c.primary && c.columnType === "SQLiteInteger" && !fkColumns.has(c.name));
}

/** The results without the moment they were generated at, the one field that differs between two requests. */
function withoutTime(results: { generatedAt?: unknown }): unknown {
  expect(typeof results.generatedAt).toBe("string");
  const { generatedAt: _generatedAt, ...rest } = results;
  return rest;
}

function runCli(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync("node_modules/.bin/tsx", ["server/db-copy.ts", ...args], { env: { ...process.env, ...env }, encoding: "utf8", timeout: 60_000 });
}

describe("db:copy order", () => {
  it("puts every table after the tables it references, and covers every table of the schema", () => {
    const order = copyOrder(schemaTables()).map(tableName);
    expect(new Set(order).size).toBe(schemaTables().length);
    for (const table of schemaTables()) {
      for (const fk of getTableConfig(table).foreignKeys) {
        expect(order.indexOf(tableName(fk.reference().foreignTable)), `${tableName(table)} after its parent`).toBeLessThan(order.indexOf(tableName(table)));
      }
    }
  });

  it("refuses a table that references itself, and a cycle, naming them", () => {
    const tree = sqliteTable("tree", { id: integer("id").primaryKey(), parentId: integer("parent_id").references((): SQLiteColumn => tree.id) });
    expect(() => copyOrder([tree])).toThrow(new CopyError("table tree references itself: db:copy cannot order its rows"));
    const a = sqliteTable("a", { id: integer("id").primaryKey(), bId: integer("b_id").references((): SQLiteColumn => b.id) });
    const b = sqliteTable("b", { id: integer("id").primaryKey(), aId: integer("a_id").references((): SQLiteColumn => a.id) });
    expect(() => copyOrder([a, b])).toThrow(/cycle \(a → b → a\)/);
  });
});

describe("db:copy on the command line: one clear line and a non-zero exit", () => {
  let dir: string;
  let sqlitePath: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "brandlift-copy-cli-"));
    sqlitePath = join(dir, "source.db");
    const db = openDatabase(sqlitePath);
    runMigrations(db);
    await closeDatabase(db);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const oneLine = (stderr: string) => {
    const lines = stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(stderr).not.toMatch(/\n\s+at /);
    return lines[0]!;
  };

  it("refuses a URL that is not PostgreSQL's", () => {
    const run = runCli(["--from", sqlitePath, "--to", "mysql://u:secret@localhost/x"]);
    expect(run.status).toBe(1);
    expect(oneLine(run.stderr)).toMatch(/^db:copy: --to must be a postgres:\/\/ or postgresql:\/\/ URL/);
    expect(run.stderr).not.toContain("secret");
  });

  it("says which server it cannot reach, without the password", () => {
    const run = runCli(["--from", sqlitePath, "--to", "postgres://u:secret@127.0.0.1:1/nothing"]);
    expect(run.status).toBe(1);
    expect(oneLine(run.stderr)).toBe("db:copy: cannot connect to PostgreSQL at postgres://u@127.0.0.1:1/nothing: connection refused (is the server running, and on this port?)");
  });

  it("refuses a source file that does not exist, creating nothing", () => {
    const missing = join(dir, "missing", "brandlift.db");
    const run = runCli(["--to", "postgres://u@127.0.0.1:1/x"], { DATABASE_PATH: missing });
    expect(run.status).toBe(1);
    expect(oneLine(run.stderr)).toBe(`db:copy: no SQLite database at ${missing} (check --from or DATABASE_PATH)`);
    expect(spawnSync("ls", [join(dir, "missing")]).status).not.toBe(0);
  });

  it("refuses a database at another version's migrations, and a file that is not Brand Lift's", async () => {
    const behind = join(dir, "behind.db");
    const db = openDatabase(behind);
    runMigrations(db);
    db.$client.exec("DELETE FROM __drizzle_migrations WHERE created_at = (SELECT max(created_at) FROM __drizzle_migrations)");
    await closeDatabase(db);
    expect(() => openSource(behind)).toThrow(new CopyError(`${behind} is 1 migration(s) behind this version: start the app on it once (it migrates at start), stop it, then copy`));
    const other = join(dir, "other.db");
    await closeDatabase(openDatabase(other));
    expect(() => openSource(other)).toThrow(/is not a Brand Lift database \(no such table: __drizzle_migrations\)$/);
  });

  it("asks for --to", () => {
    const run = runCli(["--from", sqlitePath]);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/^--to is required\nUsage: npm run db:copy/);
  });
});

describe.runIf(postgresTestsRun("pg-copy.test.ts"))("db:copy into a real PostgreSQL", () => {
  let dir: string;
  let source: Db;
  let target: ThrowawayDatabase;
  let copy: Db;
  let studyId: number;
  let sourceResults: unknown;
  let handWrittenAuditId: number;
  const HUGE = "9007199254740993"; // 2^53 + 1: not a JS number, must arrive exactly
  const JSON_AS_WRITTEN = '{"b": 1,  "a": [1.0, "ü🚀"], "2": null}';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "brandlift-copy-"));
    source = openDatabase(join(dir, "brandlift.db"));
    runMigrations(source);
    const admin = await addUser(source, "admin", "admin@example.test");
    const researcher = await addUser(source, "researcher", "researcher@example.test");
    await addUser(source, "viewer", "zoë.ünïcode@example.test");
    // A smaller demo (the whole one takes seconds): the same study, 150 respondents per wave.
    const data = generateDemoData(7, "en");
    const demo = await createDemoStudy(source, { seed: 7, locale: "en", actorId: admin.id }, { pre: data.pre.slice(0, 150), post: data.post.slice(0, 150) });
    studyId = demo.studyId;

    const now = Date.now();
    const [team] = await source.insert(teams).values({ name: "Команда 团队 🚀" }).returning();
    // The last team is deleted: SQLite's AUTOINCREMENT never gives its id again, nor may the copy.
    const [gone] = await source.insert(teams).values({ name: "Deleted later" }).returning();
    await source.delete(teams).where(eq(teams.id, gone!.id));
    await source.insert(sessions).values({ idHash: "h1", userId: researcher.id, lastSeenAt: new Date(now), expiresAt: new Date(now + 86_400_000) });
    await source.insert(apiTokens).values({ userId: researcher.id, name: "ci", tokenHash: "t1", prefix: "bl_1", lastUsedAt: new Date(now - 1) });
    await source.insert(shareLinks).values({ studyId, token: "share-1", createdBy: admin.id, showVerbatims: true, expiresAt: new Date(now + 1) });
    await source.insert(textAliases).values({ studyId, code: "brand", alias: "Зёрнышко", normalized: "зернышко", createdBy: admin.id });
    const [segment] = await source.select().from(segments).where(eq(segments.studyId, studyId)).limit(1);
    await source.insert(audiencePoints).values({ studyId, segmentId: segment!.id, measure: "subscribers", day: "2026-11-01", count: 1 });
    await source.insert(qualitySettings).values({ studyId, settings: { speederFraction: 0.4 }, updatedBy: admin.id });
    await source.insert(rateLimits).values({ key: "login:ip:x", hits: 3, resetAt: new Date(now + 900_000) });
    await source.insert(jobs).values({ teamId: team!.id, studyId, kind: "recode", params: { alias: "Зёрнышко" }, cursor: { after: 12 }, status: "running", done: 3, total: 9, leaseOwner: "i-1", leaseUntil: new Date(now) });
    await source.insert(kpis).values({ studyId, position: 0, metric: "aided_awareness", segmentId: segment!.id, kind: "lift", target: 0.05, byWave: "Месяц 3" });
    await source.insert(waveNotes).values({ studyId, waveLabel: "Месяц 1", kind: "spend", text: "Посевы", date: "2026-11-03", amount: 150000.5, currency: "RUB", createdAt: new Date(now) });
    await source.insert(resultSnapshots).values({ studyId, variant: "default", dataVersion: "v1", payload: '{ "a" : 1 }', computedAt: new Date(now), durationMs: 5 });
    // A version the triggers did not produce: the copy keeps it although copying questions fires them there.
    await source.update(studies).set({ version: 1234 }).where(eq(studies.id, studyId));
    const [audit] = await source
      .insert(auditLog)
      .values({ userId: null, systemActor: "cli", action: "team.create", entityType: "team", entityId: String(team!.id), details: null })
      .returning();
    handWrittenAuditId = audit!.id;
    const [flagged] = await source.select({ id: responses.id }).from(responses).orderBy(asc(responses.id)).limit(2);
    await source
      .update(responses)
      .set({ qualityFlags: [{ code: "speeder", detail: "12 s" }], excluded: true, excludedReason: "too fast", excludedBy: admin.id, excludedAt: new Date(now) })
      .where(eq(responses.id, flagged!.id));
    // Written by hand, as no app path writes them: JSON text with its own spacing and key order, an integer past 2^53.
    source.$client.exec(`UPDATE audit_log SET details = '${JSON_AS_WRITTEN}' WHERE id = ${handWrittenAuditId}`);
    source.$client.exec(`UPDATE audience_points SET count = ${HUGE}`);

    const app = createApp({ db: source, config: testConfig() });
    const agent = await loggedInAgent(app, "admin@example.test");
    sourceResults = withoutTime(JSON.parse((await agent.get(`/studies/${studyId}/results.json`).expect(200)).text));

    target = await createThrowawayDatabase();
    copy = openPostgres(target.url, { max: 2 });
  }, 120_000);

  afterAll(async () => {
    if (copy) await closePostgres(copy);
    await target?.drop();
    if (source) await closeDatabase(source);
    rmSync(dir, { recursive: true, force: true });
  });

  it("copies every table (none of them empty here) and reports equal counts", async () => {
    for (const table of schemaTables()) expect((await selectAll(source, table)).length, tableName(table)).toBeGreaterThan(0);
    const reader = openSource(join(dir, "brandlift.db"));
    const copied: string[] = [];
    try {
      // Small batches: many keyset steps, several inside one composite key's first column.
      const report = await copyToPostgres(reader, target.url, { batchRows: 37, onTable: (table) => copied.push(table) });
      expect(report.ok).toBe(true);
      expect(report.tables.map((t) => t.table).sort()).toEqual(schemaTables().map(tableName).sort());
      for (const row of report.tables) expect(row.postgres).toBe(row.sqlite);
      expect(copied).toEqual(report.tables.map((t) => t.table));
    } finally {
      reader.close();
    }
  }, 120_000);

  it("has every row of every table, equal through the same drizzle table objects", async () => {
    for (const table of schemaTables()) {
      const expected = await selectAll(source, table);
      expect(await selectAll(copy, table), tableName(table)).toEqual(expected);
    }
  });

  it("keeps JSON text as written and integers past 2^53 exactly", async () => {
    const [details] = await rawRows<{ details: string }>(copy, sql`SELECT details::text AS details FROM ${auditLog} WHERE id = ${handWrittenAuditId}`);
    expect(details!.details).toBe(JSON_AS_WRITTEN);
    expect(await rawRows(copy, sql`SELECT DISTINCT count::text AS count FROM ${audiencePoints}`)).toEqual([{ count: HUGE }]);
    // Every stored JSON value, byte for byte: the copy never parses and re-serializes it.
    const sourceParams = source.$client.prepare("SELECT id, params, quality_flags, option_order FROM responses ORDER BY id").raw().all();
    const copyParams = await rawRows<{ id: number; params: string | null; quality_flags: string | null; option_order: string | null }>(
      copy,
      sql`SELECT id, params::text AS params, quality_flags::text AS quality_flags, option_order::text AS option_order FROM ${responses} ORDER BY id`,
    );
    expect(copyParams.map((r) => [r.id, r.params, r.quality_flags, r.option_order])).toEqual(sourceParams);
  });

  it("serves the demo study's results JSON on the copy exactly as on the source", async () => {
    const app = createApp({ db: copy, config: testConfig() });
    const agent = await loggedInAgent(app, "admin@example.test");
    const results = withoutTime(JSON.parse((await agent.get(`/studies/${studyId}/results.json`).expect(200)).text));
    expect(results).toMatchObject({ study: { id: studyId } });
    expect(results).toEqual(sourceResults);
  });

  it("gives a new row the id SQLite would have given it next, in every table with its own id", async () => {
    const sequences = new Map(source.$client.prepare("SELECT name, seq FROM sqlite_sequence").raw().all() as Array<[string, number]>);
    const withIds = schemaTables().filter((t) => identityColumn(t));
    expect(withIds.length).toBeGreaterThan(10);
    expect(sequences.get("teams")).toBeGreaterThan((await rawRows<{ m: number }>(copy, sql`SELECT max(id) AS m FROM ${teams}`))[0]!.m);
    for (const table of withIds) {
      const id = identityColumn(table)!;
      const config = getTableConfig(table);
      const columns = getTableColumns(table) as Record<string, SQLiteColumn>;
      const property = (column: SQLiteColumn) => Object.keys(columns).find((k) => columns[k] === column)!;
      const [last] = (await copy.select().from(table).orderBy(sql`${id} DESC`).limit(1)) as Array<Record<string, unknown>>;
      const expected = Math.max(Number(last![property(id)]), sequences.get(config.name) ?? 0) + 1;
      // The newest row again, with its id left to the sequence and each unique value changed.
      const values: Record<string, unknown> = { ...last };
      delete values[property(id)];
      const fkColumns = new Set(config.foreignKeys.flatMap((fk) => fk.reference().columns.map((c) => c.name)));
      for (const index of config.indexes.filter((i) => i.config.unique)) {
        const indexColumns = index.config.columns as SQLiteColumn[];
        const text = indexColumns.find((c) => c.columnType === "SQLiteText" && !c.enumValues?.length);
        const number = indexColumns.find((c) => c.columnType === "SQLiteInteger" && !fkColumns.has(c.name));
        const changed = text ?? number;
        if (!changed) throw new Error(`no column of ${index.config.name} to change for a second row`);
        const key = property(changed);
        values[key] = text ? `${String(values[key])} (next)` : Number(values[key]) + 1_000_000;
      }
      const [inserted] = await copy.insert(table).values(values).returning();
      expect((inserted as Record<string, unknown>)[property(id)], config.name).toBe(expected);
    }
    // And through the app: a user created on the copy comes after the users row added above.
    const maxUser = Math.max(...(await source.select({ id: users.id }).from(users)).map((u) => u.id));
    expect((await addUser(copy, "viewer", "after-the-copy@example.test")).id).toBe(maxUser + 2);
  });

  it("refuses a second copy into the now non-empty database and changes nothing there", async () => {
    const before = await Promise.all(schemaTables().map(async (t) => [tableName(t), (await selectAll(copy, t)).length] as const));
    const reader = openSource(join(dir, "brandlift.db"));
    try {
      await expect(copyToPostgres(reader, target.url)).rejects.toThrow(/^not empty: table \w+ has \d+ rows?/);
    } finally {
      reader.close();
    }
    const after = await Promise.all(schemaTables().map(async (t) => [tableName(t), (await selectAll(copy, t)).length] as const));
    expect(after).toEqual(before);
  });

  it("leaves the target empty when a row cannot be copied, and says which table", async () => {
    const other = await createThrowawayDatabase();
    const broken = join(dir, "broken.db");
    source.$client.exec(`VACUUM INTO '${broken}'`);
    const writer = openDatabase(broken);
    // PostgreSQL's json refuses what SQLite kept as text: the copy must fail as a whole.
    writer.$client.exec(`UPDATE audit_log SET details = '{not json' WHERE id = ${handWrittenAuditId}`);
    await closeDatabase(writer);
    const reader = openSource(broken);
    try {
      await expect(copyToPostgres(reader, other.url)).rejects.toThrow(/^copying table audit_log failed in the batch starting at id = \d+: invalid input syntax for type json.*; nothing was written to PostgreSQL$/);
      const client = new pg.Client({ connectionString: other.url });
      await client.connect();
      try {
        for (const table of schemaTables()) {
          expect((await client.query(`SELECT count(*)::int AS n FROM "${tableName(table)}"`)).rows[0].n, tableName(table)).toBe(0);
        }
      } finally {
        await client.end();
      }
    } finally {
      reader.close();
      await other.drop();
    }
  }, 60_000);

  it("runs as npm run db:copy: prints the table of counts and exits 0", async () => {
    const other = await createThrowawayDatabase();
    try {
      const run = runCli(["--to", other.url], { DATABASE_PATH: join(dir, "brandlift.db") });
      expect(run.stderr).toBe("");
      expect(run.status).toBe(0);
      expect(run.stdout).toMatch(/^table\s+SQLite rows\s+PostgreSQL rows$/m);
      const answersLine = run.stdout.split("\n").find((l) => l.startsWith("answers "))!;
      const [, sqliteRows, postgresRows] = answersLine.split(/\s+/);
      expect(Number(sqliteRows)).toBeGreaterThan(0);
      expect(postgresRows).toBe(sqliteRows);
      expect(run.stdout).toContain("every count matches");
      expect(run.stdout).not.toContain(new URL(other.url).password);
    } finally {
      await other.drop();
    }
  }, 90_000);
});
