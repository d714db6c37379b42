import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { getTableColumns, is, sql, type InferInsertModel, type InferSelectModel, type Table } from "drizzle-orm";
import { getTableConfig as pgTableConfig, PgTable } from "drizzle-orm/pg-core";
import { check, getTableConfig as sqliteTableConfig, index, integer, SQLiteTable, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { describe, expect, expectTypeOf, it } from "vitest";
import * as pgSchema from "../../db/pg/schema.js";
import { GENERATE_COMMAND, generatePgSchema, PG_SCHEMA_PATH } from "../../db/pg/generate-schema.js";
import * as sqliteSchema from "../../db/schema.js";

const PG_MIGRATIONS_FOLDER = fileURLToPath(new URL("../../db/migrations-pg", import.meta.url));

type TablesOf<S> = { [K in keyof S as S[K] extends Table ? K : never]: S[K] };
type SelectRows<S> = { [K in keyof TablesOf<S>]: TablesOf<S>[K] extends Table ? InferSelectModel<TablesOf<S>[K]> : never };
type InsertRows<S> = { [K in keyof TablesOf<S>]: TablesOf<S>[K] extends Table ? InferInsertModel<TablesOf<S>[K]> : never };

function tablesOf(schema: Record<string, unknown>, kind: typeof SQLiteTable | typeof PgTable): Map<string, Table> {
  const out = new Map<string, Table>();
  for (const [name, value] of Object.entries(schema)) if (is(value, kind)) out.set(name, value);
  return out;
}

describe("db/pg/schema.ts", () => {
  it("is what db/pg/generate-schema.ts makes of the current db/schema.ts", () => {
    const committed = readFileSync(PG_SCHEMA_PATH, "utf8");
    expect(committed === generatePgSchema(), `db/pg/schema.ts is out of date with db/schema.ts: run \`${GENERATE_COMMAND}\` and commit the result`).toBe(true);
  });

  it("exports the same tables, with the same SQL names and columns, as db/schema.ts", () => {
    const sqlite = tablesOf(sqliteSchema, SQLiteTable);
    const pg = tablesOf(pgSchema, PgTable);
    expect([...pg.keys()].sort()).toEqual([...sqlite.keys()].sort());
    for (const [name, table] of sqlite) {
      const pgTable = pg.get(name)!;
      expect(pgTableConfig(pgTable as PgTable).name, name).toBe(sqliteTableConfig(table as SQLiteTable).name);
      const columns = (t: Table) => Object.entries(getTableColumns(t)).map(([key, c]) => [key, c.name, c.notNull, c.hasDefault]);
      expect(columns(pgTable), name).toEqual(columns(table));
    }
  });

  it("gives every table the same row types as db/schema.ts (checked by tsc)", () => {
    expectTypeOf<SelectRows<typeof pgSchema>>().toEqualTypeOf<SelectRows<typeof sqliteSchema>>();
    expectTypeOf<InsertRows<typeof pgSchema>>().toEqualTypeOf<InsertRows<typeof sqliteSchema>>();
  });

  it("is matched by db/migrations-pg: drizzle-kit finds nothing left to generate", () => {
    const out = mkdtempSync(join(tmpdir(), "bl-pg-drift-"));
    try {
      cpSync(PG_MIGRATIONS_FOLDER, out, { recursive: true });
      const before = readdirSync(out).sort();
      const run = spawnSync(
        "node_modules/.bin/drizzle-kit",
        // drizzle-kit prefixes "./" to --out, so it must be relative.
        ["generate", "--dialect", "postgresql", "--schema", "./db/pg/schema.ts", "--out", relative(process.cwd(), out)],
        { encoding: "utf8" },
      );
      expect(run.status, run.stdout + run.stderr).toBe(0);
      expect(readdirSync(out).sort()).toEqual(before);
      expect(run.stdout + run.stderr, `db/migrations-pg is behind db/pg/schema.ts: run \`${GENERATE_COMMAND}\``).toMatch(/No schema changes/i);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 60_000);
});

describe("db/pg/generate-schema.ts", () => {
  const generate = (tables: Record<string, unknown>) =>
    generatePgSchema(tables, Object.keys(tables).map((name) => `export const ${name} = sqliteTable(\n`).join(""));

  it("writes SQLite's 0/1 for a boolean column as false/true, in an index's WHERE and in a CHECK", () => {
    const flags = sqliteTable(
      "flags",
      {
        id: integer("id").primaryKey({ autoIncrement: true }),
        on: integer("on", { mode: "boolean" }).notNull().default(false),
        at: integer("at", { mode: "timestamp_ms" }).notNull(),
      },
      (t) => [index("flags_on_idx").on(t.at).where(sql`${t.on} = 1`), check("flags_check", sql`0 <> ${t.on} OR ${t.at} > 0`)],
    );
    const out = generate({ flags });
    expect(out).toContain('index("flags_on_idx").on(t.at).where(sql`${t.on} = true`)');
    expect(out).toContain('check("flags_check", sql`false <> ${t.on} OR ${t.at} > 0`)');
    expect(out).toContain('on: boolean("on").notNull().default(false)');
    expect(out).toContain('at: timestampMs("at").notNull()');
  });

  it("stops at SQLite-only SQL and at a runtime default it cannot carry over, naming the column", () => {
    const stamped = sqliteTable("stamped", { day: text("day").notNull().default(sql`(strftime('%Y-%m-%d', 'now'))`) });
    expect(() => generate({ stamped })).toThrow(/stamped\.day default: a SQLite function has no PostgreSQL translation/);
    let next = 0;
    const ticks = sqliteTable("ticks", { n: integer("n").$defaultFn(() => ++next) });
    expect(() => generate({ ticks })).toThrow(/ticks\.n: the runtime default/);
  });
});
