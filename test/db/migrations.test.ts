import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync } from "node:fs";
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

  it("apply again to a migrated database without any change", () => {
    const dir = mkdtempSync(join(tmpdir(), "bl-migrate-"));
    const path = join(dir, "again.db");
    const first = openDatabase(path);
    runMigrations(first);
    const before = schemaDump(first);
    const applied = first.$client.prepare("SELECT count(*) AS n FROM __drizzle_migrations").get() as { n: number };
    closeDatabase(first);

    const second = openDatabase(path);
    runMigrations(second);
    expect(schemaDump(second)).toEqual(before);
    expect(second.$client.prepare("SELECT count(*) AS n FROM __drizzle_migrations").get()).toEqual(applied);
    expect(applied.n).toBe(readdirSync(MIGRATIONS_FOLDER).filter((f) => f.endsWith(".sql")).length);
    closeDatabase(second);
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

describe("database client", () => {
  it("sets WAL, foreign keys, synchronous=FULL and a busy timeout on a file database", () => {
    const dir = mkdtempSync(join(tmpdir(), "bl-pragmas-"));
    const db = openDatabase(join(dir, "nested", "folder", "p.db"));
    const pragma = (name: string) => db.$client.pragma(name, { simple: true });
    expect(pragma("journal_mode")).toBe("wal");
    expect(pragma("foreign_keys")).toBe(1);
    expect(pragma("synchronous")).toBe(2); // FULL
    expect(pragma("busy_timeout")).toBe(5000);
    closeDatabase(db);
  });

  it("enforces foreign keys and CHECK constraints", () => {
    const db = openDatabase(":memory:");
    runMigrations(db);
    expect(() =>
      db.$client.prepare("INSERT INTO sessions (id_hash, user_id, created_at, last_seen_at, expires_at) VALUES ('x', 999, 0, 0, 1)").run(),
    ).toThrow(/FOREIGN KEY/);
    expect(() =>
      db.$client
        .prepare("INSERT INTO users (email, name, password_hash, role, created_at) VALUES ('a@b.c', 'a', 'h', 'owner', 0)")
        .run(),
    ).toThrow(/CHECK/);
  });

  it("reuses prepared statements, never one busy in an iterator, and hands them back in default mode", () => {
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
    closeDatabase(db);
  });
});
