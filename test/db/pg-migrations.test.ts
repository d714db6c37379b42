import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/node-postgres";
import { migrate } from "drizzle-orm/node-postgres/migrator";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeDatabase, first, one, openDatabase, type Db } from "../../db/client.js";
import { runMigrations } from "../../db/migrate.js";
import * as pgSchema from "../../db/pg/schema.js";
import * as sqliteSchema from "../../db/schema.js";
import { createThrowawayDatabase, postgresTestsRun, type ThrowawayDatabase } from "../support/postgres.js";

const PG_MIGRATIONS_FOLDER = fileURLToPath(new URL("../../db/migrations-pg", import.meta.url));

/**
 * The database both migration sets build, described the same way for both: tables; columns
 * (name, nullability) by name, since SQLite appends a column added later; primary keys; indexes made with CREATE INDEX (not the ones behind
 * a primary key or constraint) with uniqueness, partiality and columns; foreign keys with their
 * actions; CHECK constraint names.
 */
interface Shape {
  tables: string[];
  columns: Record<string, Array<{ name: string; nullable: boolean }>>;
  primaryKeys: Record<string, string[]>;
  indexes: Array<{ table: string; name: string; unique: boolean; partial: boolean; columns: string[] }>;
  foreignKeys: Array<{ table: string; columns: string[]; references: string; to: string[]; onDelete: string; onUpdate: string }>;
  checks: Array<{ table: string; name: string }>;
}

const byName = <T extends { table: string; name?: string; columns?: string[] }>(a: T, b: T) =>
  `${a.table} ${a.name ?? ""} ${a.columns?.join(",") ?? ""}`.localeCompare(`${b.table} ${b.name ?? ""} ${b.columns?.join(",") ?? ""}`);

/** Columns a SQLite index carries after its key, for the raw-responses export, that PostgreSQL's does not (migration 0018). */
const SQLITE_COVERED: Record<string, string[]> = { answers_response_idx: ["option_id", "value_number", "value_text"] };

function sqliteShape(db: Db): Shape {
  const sqlite = db.$client;
  const rows = <T>(sql: string, ...params: unknown[]) => sqlite.prepare(sql).all(...params) as T[];
  const tables = rows<{ name: string; sql: string }>(
    // link_context_generation is SQLite's stand-in for PostgreSQL's row versions (xmin): see db/queries/fieldwork.ts.
    "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT IN ('__drizzle_migrations', 'link_context_generation') ORDER BY name",
  );
  const shape: Shape = { tables: tables.map((t) => t.name), columns: {}, primaryKeys: {}, indexes: [], foreignKeys: [], checks: [] };
  for (const { name: table, sql } of tables) {
    const info = rows<{ name: string; notnull: number; pk: number }>("SELECT name, \"notnull\", pk FROM pragma_table_info(?) ORDER BY cid", table);
    shape.columns[table] = info.map((c) => ({ name: c.name, nullable: c.notnull === 0 })).sort((a, b) => a.name.localeCompare(b.name));
    shape.primaryKeys[table] = info.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk).map((c) => c.name);
    for (const index of rows<{ name: string; unique: number; origin: string; partial: number }>("SELECT * FROM pragma_index_list(?)", table)) {
      if (index.origin !== "c") continue;
      const columns = rows<{ name: string }>("SELECT name FROM pragma_index_info(?) ORDER BY seqno", index.name).map((c) => c.name);
      // SQLite's index of a response's answers also covers their values (migration 0018), which
      // PostgreSQL cannot hold in an index entry: the key is compared, and the covered tail checked.
      const covered = SQLITE_COVERED[index.name];
      if (covered) expect(columns.splice(columns.length - covered.length)).toEqual(covered);
      shape.indexes.push({ table, name: index.name, unique: index.unique === 1, partial: index.partial === 1, columns });
    }
    const keys = new Map<number, Shape["foreignKeys"][number]>();
    for (const fk of rows<{ id: number; table: string; from: string; to: string; on_update: string; on_delete: string }>(
      "SELECT * FROM pragma_foreign_key_list(?) ORDER BY id, seq",
      table,
    )) {
      const key = keys.get(fk.id) ?? { table, columns: [], references: fk.table, to: [], onDelete: fk.on_delete.toLowerCase(), onUpdate: fk.on_update.toLowerCase() };
      key.columns.push(fk.from);
      key.to.push(fk.to);
      keys.set(fk.id, key);
    }
    shape.foreignKeys.push(...keys.values());
    for (const m of sql.matchAll(/CONSTRAINT "([^"]+)" CHECK/g)) shape.checks.push({ table, name: m[1]! });
  }
  shape.indexes.sort(byName);
  shape.foreignKeys.sort(byName);
  shape.checks.sort(byName);
  return shape;
}

const PG_ACTIONS: Record<string, string> = { a: "no action", r: "restrict", c: "cascade", n: "set null", d: "set default" };

async function pgShape(client: pg.Pool): Promise<Shape> {
  const rows = async <T>(sql: string) => (await client.query(sql)).rows as T[];
  const tables = (
    await rows<{ name: string }>(
      "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name",
    )
  ).map((t) => t.name);
  const shape: Shape = { tables, columns: {}, primaryKeys: {}, indexes: [], foreignKeys: [], checks: [] };
  for (const c of await rows<{ table: string; name: string; nullable: string }>(
    "SELECT table_name AS table, column_name AS name, is_nullable AS nullable FROM information_schema.columns WHERE table_schema = 'public' ORDER BY table_name",
  )) {
    (shape.columns[c.table] ??= []).push({ name: c.name, nullable: c.nullable === "YES" });
  }
  for (const columns of Object.values(shape.columns)) columns.sort((a, b) => a.name.localeCompare(b.name));
  // Column names of a constraint or index, in its order.
  const names = (rel: string, keys: string) =>
    `ARRAY(SELECT a.attname::text FROM unnest(${keys}) WITH ORDINALITY AS k(attnum, n) JOIN pg_attribute a ON a.attrelid = ${rel} AND a.attnum = k.attnum ORDER BY k.n)`;
  const constraints = await rows<{ type: string; name: string; table: string; columns: string[]; references: string | null; to: string[]; del: string; upd: string }>(`
    SELECT c.contype AS type, c.conname AS name, t.relname AS table, ${names("c.conrelid", "c.conkey")} AS columns,
           f.relname AS references, ${names("c.confrelid", "c.confkey")} AS to, c.confdeltype AS del, c.confupdtype AS upd
    FROM pg_constraint c
    JOIN pg_class t ON t.oid = c.conrelid
    JOIN pg_namespace s ON s.oid = t.relnamespace AND s.nspname = 'public'
    LEFT JOIN pg_class f ON f.oid = c.confrelid`);
  for (const c of constraints) {
    if (c.type === "p") shape.primaryKeys[c.table] = c.columns;
    if (c.type === "c") shape.checks.push({ table: c.table, name: c.name });
    if (c.type === "f") {
      shape.foreignKeys.push({ table: c.table, columns: c.columns, references: c.references!, to: c.to, onDelete: PG_ACTIONS[c.del]!, onUpdate: PG_ACTIONS[c.upd]! });
    }
  }
  for (const table of tables) shape.primaryKeys[table] ??= [];
  shape.indexes = await rows<Shape["indexes"][number]>(`
    SELECT t.relname AS table, ix.relname AS name, i.indisunique AS unique, i.indpred IS NOT NULL AS partial,
           ${names("i.indrelid", "i.indkey::int2[]")} AS columns
    FROM pg_index i
    JOIN pg_class ix ON ix.oid = i.indexrelid
    JOIN pg_class t ON t.oid = i.indrelid
    JOIN pg_namespace s ON s.oid = t.relnamespace AND s.nspname = 'public'
    WHERE NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)`);
  shape.indexes.sort(byName);
  shape.foreignKeys.sort(byName);
  shape.checks.sort(byName);
  return shape;
}

/** The error a statement fails with (node-postgres rejects with the server's code and constraint). */
async function failure(work: Promise<unknown>): Promise<{ code?: string; constraint?: string }> {
  try {
    await work;
  } catch (error) {
    const cause = (error as { cause?: unknown }).cause ?? error;
    return cause as { code?: string; constraint?: string };
  }
  throw new Error("the statement succeeded");
}

describe.skipIf(!postgresTestsRun("pg-migrations.test.ts"))("PostgreSQL migrations (db/migrations-pg)", () => {
  let database: ThrowawayDatabase | undefined;
  let pool: pg.Pool | undefined;
  let sqliteDir: string | undefined;
  let sqliteDb: Db | undefined;

  beforeAll(async () => {
    sqliteDir = mkdtempSync(join(tmpdir(), "bl-pg-compare-"));
    sqliteDb = openDatabase(join(sqliteDir, "compare.db"));
    runMigrations(sqliteDb);
    database = await createThrowawayDatabase();
    pool = new pg.Pool({ connectionString: database.url, max: 2 });
    await migrate(drizzle(pool), { migrationsFolder: PG_MIGRATIONS_FOLDER });
  }, 60_000);

  afterAll(async () => {
    await pool?.end();
    await database?.drop();
    if (sqliteDb) await closeDatabase(sqliteDb);
    if (sqliteDir) rmSync(sqliteDir, { recursive: true, force: true });
  });

  it("build the same tables, columns, keys, indexes, foreign keys and CHECK constraints as the SQLite migrations", async () => {
    const sqlite = sqliteShape(sqliteDb!);
    const postgres = await pgShape(pool!);
    expect(postgres.tables).toEqual(sqlite.tables);
    expect(sqlite.tables.length).toBeGreaterThanOrEqual(20);
    expect(postgres.columns).toEqual(sqlite.columns);
    expect(postgres.primaryKeys).toEqual(sqlite.primaryKeys);
    expect(postgres.indexes).toEqual(sqlite.indexes);
    expect(postgres.foreignKeys).toEqual(sqlite.foreignKeys);
    expect(postgres.checks).toEqual(sqlite.checks);
    // Not a comparison of two empty lists:
    expect(sqlite.indexes.length).toBeGreaterThan(30);
    expect(sqlite.indexes.some((i) => i.partial)).toBe(true);
    expect(sqlite.foreignKeys.length).toBeGreaterThan(30);
    expect(sqlite.checks.length).toBeGreaterThan(10);
  });

  it("apply again without any change", async () => {
    const applied = async () => (await pool!.query("SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations")).rows[0] as { n: number };
    const before = await applied();
    await migrate(drizzle(pool!), { migrationsFolder: PG_MIGRATIONS_FOLDER });
    expect(await applied()).toEqual(before);
    expect(before.n).toBe(readdirSync(PG_MIGRATIONS_FOLDER).filter((f) => f.endsWith(".sql")).length);
    expect(before.n).toBeGreaterThan(1);
  });

  it("refuse a value outside an enum's CHECK, and a second study-wide margin (the partial unique index)", async () => {
    const db = drizzle(pool!, { schema: pgSchema });
    const [team] = await db.insert(pgSchema.teams).values({ name: "Check team" }).returning();
    const [user] = await db.insert(pgSchema.users).values({ email: "check@example.test", name: "C", passwordHash: "h" }).returning();
    const bad = await failure(pool!.query("INSERT INTO memberships (team_id, user_id, role, created_at) VALUES ($1, $2, 'admin', 0)", [team!.id, user!.id]));
    expect(bad).toMatchObject({ code: "23514", constraint: "memberships_role_check" });

    const [study] = await db
      .insert(pgSchema.studies)
      .values({ teamId: team!.id, name: "S", brand: "B", defaultLocale: "en", locales: ["en"], signingSecret: "k" })
      .returning();
    const [segment] = await db.insert(pgSchema.segments).values({ studyId: study!.id, key: "subscribers", label: { en: "Subscribers" }, position: 0 }).returning();
    const [question] = await db
      .insert(pgSchema.questions)
      .values({ studyId: study!.id, key: "gender", position: 0, type: "single", text: { en: "Gender" }, profile: true })
      .returning();
    const margin = { studyId: study!.id, segmentId: segment!.id, questionId: question!.id, optionKey: "f", share: 0.58 };
    await db.insert(pgSchema.profileMargins).values(margin);
    const twice = await failure(db.insert(pgSchema.profileMargins).values({ ...margin, share: 0.6 }));
    expect(twice).toMatchObject({ code: "23505", constraint: "profile_margins_study_wide_unique" });
    const [wave] = await db.insert(pgSchema.waves).values({ studyId: study!.id, kind: "pre", label: "Pre", position: 0 }).returning();
    await db.insert(pgSchema.profileMargins).values({ ...margin, waveId: wave!.id });
  });

  it("round-trip a user and a study through drizzle with the same values and types as on SQLite", async () => {
    const db = drizzle(pool!, { schema: pgSchema });
    const lite = openDatabase(":memory:");
    runMigrations(lite);
    try {
      const createdAt = new Date("2026-03-01T12:34:56.789Z");
      const disabledAt = new Date("2026-04-02T01:02:03.004Z");
      const user = { email: "trip@example.test", name: "Trip", passwordHash: "h", isAdmin: true, locale: "en" as const, createdAt, disabledAt };
      // Key order is kept: the JSON column stores the text drizzle writes, on both databases.
      const details = { zeta: 1, alpha: { list: [1, "two", null], nested: true } };

      const [pgTeam] = await db.insert(pgSchema.teams).values({ name: "Trip team", createdAt }).returning();
      const [pgUser] = await db.insert(pgSchema.users).values(user).returning();
      const study = {
        name: "Coffee",
        brand: "Acme",
        defaultLocale: "ru" as const,
        locales: ["ru", "en"] as Array<"ru" | "en">,
        signingSecret: "secret",
        targetLift: 0.05,
        campaignCost: 1234.5,
        createdAt,
        updatedAt: disabledAt,
      };
      const [pgStudy] = await db.insert(pgSchema.studies).values({ ...study, teamId: pgTeam!.id, createdBy: pgUser!.id }).returning();
      await db.insert(pgSchema.auditLog).values({ at: createdAt, userId: pgUser!.id, action: "trip", entityType: "study", entityId: String(pgStudy!.id), details });

      const liteTeam = one(await lite.insert(sqliteSchema.teams).values({ name: "Trip team", createdAt }).returning());
      const liteUser = one(await lite.insert(sqliteSchema.users).values(user).returning());
      const liteStudy = one(await lite.insert(sqliteSchema.studies).values({ ...study, teamId: liteTeam.id, createdBy: liteUser.id }).returning());
      await lite.insert(sqliteSchema.auditLog).values({ at: createdAt, userId: liteUser.id, action: "trip", entityType: "study", entityId: String(liteStudy.id), details });

      const pgRead = {
        user: (await db.select().from(pgSchema.users).where(eq(pgSchema.users.email, user.email)))[0]!,
        study: (await db.select().from(pgSchema.studies).where(eq(pgSchema.studies.id, pgStudy!.id)))[0]!,
        audit: (await db.select().from(pgSchema.auditLog).where(eq(pgSchema.auditLog.action, "trip")))[0]!,
      };
      const liteRead = {
        user: first(await lite.select().from(sqliteSchema.users).where(eq(sqliteSchema.users.email, user.email)))!,
        study: first(await lite.select().from(sqliteSchema.studies).where(eq(sqliteSchema.studies.id, liteStudy.id)))!,
        audit: first(await lite.select().from(sqliteSchema.auditLog).where(eq(sqliteSchema.auditLog.action, "trip")))!,
      };
      const withoutIds = <T extends Record<string, unknown>>(row: T, ...keys: Array<keyof T>) =>
        Object.fromEntries(Object.entries(row).filter(([k]) => !keys.includes(k as keyof T)));
      expect(withoutIds(pgRead.user, "id")).toEqual(withoutIds(liteRead.user, "id"));
      expect(withoutIds(pgRead.study, "id", "teamId", "createdBy")).toEqual(withoutIds(liteRead.study, "id", "teamId", "createdBy"));
      expect(withoutIds(pgRead.audit, "id", "userId", "entityId")).toEqual(withoutIds(liteRead.audit, "id", "userId", "entityId"));

      for (const read of [pgRead, liteRead]) {
        expect(read.user.createdAt).toBeInstanceOf(Date);
        expect(read.user.createdAt.getTime()).toBe(createdAt.getTime());
        expect(read.user.disabledAt?.getTime()).toBe(disabledAt.getTime());
        expect(read.user.isAdmin).toBe(true);
        expect(typeof read.user.id).toBe("number");
        expect(read.study.locales).toEqual(["ru", "en"]);
        expect(read.study.targetLift).toBe(0.05);
        expect(read.study.status).toBe("active");
        expect(read.study.pageSize).toBeNull();
        expect(Object.keys(read.audit.details!)).toEqual(["zeta", "alpha"]);
        expect(read.audit.details).toEqual(details);
      }
      // Stored as on SQLite: milliseconds since the epoch, and the JSON text drizzle wrote.
      const raw = await pool!.query("SELECT created_at::text AS at, details::text AS details FROM audit_log a JOIN users u ON u.id = a.user_id WHERE a.action = 'trip'");
      expect(raw.rows[0]).toEqual({ at: String(createdAt.getTime()), details: JSON.stringify(details) });
      expect(lite.$client.prepare("SELECT u.created_at AS at, a.details FROM audit_log a JOIN users u ON u.id = a.user_id WHERE a.action = 'trip'").get()).toEqual({
        at: createdAt.getTime(),
        details: JSON.stringify(details),
      });
    } finally {
      await closeDatabase(lite);
    }
  });
});
