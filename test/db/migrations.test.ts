import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { drizzle } from "drizzle-orm/better-sqlite3";
import { migrate } from "drizzle-orm/better-sqlite3/migrator";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { closeDatabase, openDatabase, type Db } from "../../db/client.js";
import { MIGRATIONS_FOLDER, runMigrations } from "../../db/migrate.js";

function schemaDump(db: Db): Array<{ type: string; name: string; sql: string | null }> {
  return db.$client
    .prepare("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name")
    .all() as Array<{ type: string; name: string; sql: string | null }>;
}

describe("migrations", () => {
  it("create every table of the data model on an empty database", () => {
    const db = openDatabase(":memory:");
    runMigrations(db);
    const tables = schemaDump(db)
      .filter((r) => r.type === "table")
      .map((r) => r.name);
    expect(tables).toEqual(
      expect.arrayContaining([
        "users",
        "sessions",
        "api_tokens",
        "studies",
        "segments",
        "questions",
        "options",
        "waves",
        "wave_segments",
        "links",
        "responses",
        "answers",
        "text_mentions",
        "audit_log",
        "rate_limits",
      ]),
    );
  });

  it("apply again to a migrated database without any change", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bl-migrate-"));
    const path = join(dir, "again.db");
    const first = openDatabase(path);
    runMigrations(first);
    const before = schemaDump(first);
    const applied = first.$client.prepare("SELECT count(*) AS n FROM __drizzle_migrations").get() as { n: number };
    await closeDatabase(first);

    const second = openDatabase(path);
    runMigrations(second);
    expect(schemaDump(second)).toEqual(before);
    expect(second.$client.prepare("SELECT count(*) AS n FROM __drizzle_migrations").get()).toEqual(applied);
    expect(applied.n).toBe(readdirSync(MIGRATIONS_FOLDER).filter((f) => f.endsWith(".sql")).length);
    await closeDatabase(second);
  });

  it("match db/schema.ts: drizzle-kit finds nothing left to generate", () => {
    const out = mkdtempSync(join(tmpdir(), "bl-drift-"));
    cpSync(MIGRATIONS_FOLDER, out, { recursive: true });
    const before = readdirSync(out).sort();
    const run = spawnSync(
      "node_modules/.bin/drizzle-kit",
      // drizzle-kit prefixes "./" to --out, so it must be relative.
      ["generate", "--dialect", "sqlite", "--schema", "./db/schema.ts", "--out", relative(process.cwd(), out)],
      { encoding: "utf8" },
    );
    expect(run.status).toBe(0);
    expect(readdirSync(out).sort()).toEqual(before);
    expect(run.stdout + run.stderr).toMatch(/No schema changes/i);
  }, 60_000);
});

describe("migration 0009 (teams)", () => {
  it("moves an existing install into one default team: studies, and every non-admin with their role; sessions and tokens survive", () => {
    // The install as it was before teams: migrations up to 0008 only.
    const before = mkdtempSync(join(tmpdir(), "bl-before-teams-"));
    cpSync(MIGRATIONS_FOLDER, before, { recursive: true });
    const journalPath = join(before, "meta", "_journal.json");
    const journal = JSON.parse(readFileSync(journalPath, "utf8")) as { entries: Array<{ tag: string }> };
    const upTo = journal.entries.findIndex((e) => e.tag === "0009_teams");
    expect(upTo).toBeGreaterThan(0);
    writeFileSync(journalPath, JSON.stringify({ ...journal, entries: journal.entries.slice(0, upTo) }));
    const db = openDatabase(":memory:");
    migrate(drizzle(db.$client), { migrationsFolder: before });
    const sqlite = db.$client;
    const addUser = sqlite.prepare("INSERT INTO users (email, name, password_hash, role, created_at) VALUES (?, ?, 'h', ?, 0)");
    for (const [email, role] of [["ada@x.test", "admin"], ["rita@x.test", "researcher"], ["vic@x.test", "viewer"]] as const) addUser.run(email, email, role);
    sqlite.prepare("INSERT INTO sessions (id_hash, user_id, created_at, last_seen_at, expires_at) VALUES ('s', 2, 0, 0, 1)").run();
    sqlite.prepare("INSERT INTO api_tokens (user_id, name, token_hash, prefix, created_at) VALUES (3, 't', 'h', 'bl_', 0)").run();
    sqlite
      .prepare("INSERT INTO studies (name, brand, default_locale, locales, signing_secret, created_by, created_at, updated_at) VALUES ('S', 'B', 'ru', '[\"ru\"]', 'k', 2, 0, 0)")
      .run();

    runMigrations(db);
    expect(sqlite.prepare("SELECT id, name FROM teams").all()).toEqual([{ id: 1, name: "Default" }]);
    expect(sqlite.prepare("SELECT email, is_admin AS admin FROM users ORDER BY id").all()).toEqual([
      { email: "ada@x.test", admin: 1 },
      { email: "rita@x.test", admin: 0 },
      { email: "vic@x.test", admin: 0 },
    ]);
    expect(sqlite.prepare("SELECT team_id AS team, user_id AS user, role FROM memberships ORDER BY user_id").all()).toEqual([
      { team: 1, user: 2, role: "researcher" },
      { team: 1, user: 3, role: "viewer" },
    ]);
    expect(sqlite.prepare("SELECT team_id AS team FROM studies").all()).toEqual([{ team: 1 }]);
    // Rebuilding users did not cascade into the tables that reference it.
    expect(sqlite.prepare("SELECT count(*) AS n FROM sessions").get()).toEqual({ n: 1 });
    expect(sqlite.prepare("SELECT count(*) AS n FROM api_tokens").get()).toEqual({ n: 1 });
    expect(sqlite.pragma("foreign_keys", { simple: true })).toBe(1);
  });
});

describe("database client", () => {
  it("sets WAL, foreign keys, synchronous=FULL and a busy timeout on a file database", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bl-pragmas-"));
    const db = openDatabase(join(dir, "nested", "folder", "p.db"));
    const pragma = (name: string) => db.$client.pragma(name, { simple: true });
    expect(pragma("journal_mode")).toBe("wal");
    expect(pragma("foreign_keys")).toBe(1);
    expect(pragma("synchronous")).toBe(2); // FULL
    expect(pragma("busy_timeout")).toBe(5000);
    await closeDatabase(db);
  });

  it("enforces foreign keys and CHECK constraints", () => {
    const db = openDatabase(":memory:");
    runMigrations(db);
    expect(() =>
      db.$client.prepare("INSERT INTO sessions (id_hash, user_id, created_at, last_seen_at, expires_at) VALUES ('x', 999, 0, 0, 1)").run(),
    ).toThrow(/FOREIGN KEY/);
    expect(() =>
      db.$client
        .prepare("INSERT INTO memberships (team_id, user_id, role, created_at) VALUES (1, 1, 'admin', 0)")
        .run(),
    ).toThrow(/CHECK/);
  });

  it("reuses prepared statements, never one busy in an iterator, and hands them back in default mode", async () => {
    const db = openDatabase(":memory:");
    const sql = "SELECT 1 AS one UNION ALL SELECT 2";
    const first = db.$client.prepare(sql);
    expect(db.$client.prepare(sql)).toBe(first);
    first.raw(true);
    expect(db.$client.prepare(sql).get()).toEqual({ one: 1 });
    const iterator = first.iterate();
    iterator.next();
    const other = db.$client.prepare(sql);
    expect(other).not.toBe(first);
    expect(other.all()).toEqual([{ one: 1 }, { one: 2 }]);
    iterator.return?.();
    expect(db.$client.prepare("CREATE TABLE t (x)").reader).toBe(false);
    await closeDatabase(db);
  });
});
