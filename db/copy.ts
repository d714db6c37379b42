/**
 * Copying a SQLite install into an empty PostgreSQL database (`npm run db:copy`, server/db-copy.ts).
 *
 * The tables are those of db/schema.ts, parents before children (ordered by their foreign keys),
 * read in keyset batches from one SQLite read transaction (a consistent snapshot, even if the app
 * still writes) and written in one PostgreSQL transaction: a copy that fails, or whose row counts
 * do not match, leaves the target as empty as it was. Values are moved as SQLite stores them —
 * times as integer milliseconds, JSON as its text, integers exact past 2^53 — except booleans,
 * which become PostgreSQL booleans the way the app reads them (1 is true, anything else false).
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import Database from "better-sqlite3";
import { is } from "drizzle-orm";
import { getTableConfig, SQLiteTable, type SQLiteColumn } from "drizzle-orm/sqlite-core";
import pg from "pg";
import { isPostgresUrl } from "./client.js";
import { MIGRATIONS_FOLDER, migratePostgresConnection } from "./migrate.js";
import * as schema from "./schema.js";

/** A refusal or failure worth one line to the operator (no stack trace). */
export class CopyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CopyError";
  }
}

/** Every table of db/schema.ts. */
export function schemaTables(): SQLiteTable[] {
  return (Object.values(schema) as unknown[]).filter((value): value is SQLiteTable => is(value, SQLiteTable));
}

const tableName = (table: SQLiteTable): string => getTableConfig(table).name;

/**
 * The tables with every table after the tables its foreign keys reference, so each row's parents
 * are already there when it is inserted (PostgreSQL checks each row at once: the constraints are
 * not deferrable). A table referencing itself, or tables referencing each other in a cycle, could
 * need a child before its parent within one table: refused, naming the cycle.
 */
export function copyOrder(tables: readonly SQLiteTable[]): SQLiteTable[] {
  const byName = new Map(tables.map((t) => [tableName(t), t]));
  const parents = new Map<string, string[]>();
  for (const [name, table] of byName) {
    const referenced = getTableConfig(table).foreignKeys.map((fk) => tableName(fk.reference().foreignTable));
    if (referenced.includes(name)) throw new CopyError(`table ${name} references itself: db:copy cannot order its rows`);
    parents.set(name, [...new Set(referenced)].filter((p) => byName.has(p)).sort());
  }
  const ordered: SQLiteTable[] = [];
  const state = new Map<string, "visiting" | "done">();
  const visit = (name: string, path: string[]): void => {
    if (state.get(name) === "done") return;
    if (state.get(name) === "visiting") {
      const cycle = [...path.slice(path.indexOf(name)), name];
      throw new CopyError(`tables reference each other in a cycle (${cycle.join(" → ")}): db:copy cannot order them`);
    }
    state.set(name, "visiting");
    for (const parent of parents.get(name)!) visit(parent, [...path, name]);
    state.set(name, "done");
    ordered.push(byName.get(name)!);
  };
  // Sorted, so the order (and the printed table) is the same on every run.
  for (const name of [...byName.keys()].sort()) visit(name, []);
  return ordered;
}

/** The columns that identify a row, for keyset batches: the primary key. */
function keyColumns(table: SQLiteTable): string[] {
  const config = getTableConfig(table);
  const single = config.columns.filter((c) => c.primary).map((c) => c.name);
  if (single.length > 0) return single;
  const composite = config.primaryKeys[0]?.columns.map((c) => c.name);
  if (!composite || composite.length === 0) throw new CopyError(`table ${config.name} has no primary key: db:copy cannot read it in batches`);
  return composite;
}

const quote = (identifier: string): string => `"${identifier.replaceAll('"', '""')}"`;

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.password = "";
    return parsed.toString();
  } catch {
    return "(an unparsable URL)";
  }
}

interface JournalEntry {
  when: number;
}

/**
 * Opens the SQLite file read-only (it must exist) and checks it is a Brand Lift database with
 * exactly this version's migrations applied, so its tables are the ones db/schema.ts describes.
 */
export function openSource(path: string): Database.Database {
  if (path === ":memory:" || path === "" || path.startsWith("file:")) throw new CopyError(`the source must be a SQLite file, not ${JSON.stringify(path)}`);
  if (!existsSync(path) || !statSync(path).isFile()) throw new CopyError(`no SQLite database at ${path} (check --from or DATABASE_PATH)`);
  let source: Database.Database;
  try {
    source = new Database(path, { readonly: true, fileMustExist: true });
  } catch (error) {
    throw new CopyError(`cannot open the SQLite database ${path}: ${(error as Error).message}`);
  }
  try {
    const journal = JSON.parse(readFileSync(`${MIGRATIONS_FOLDER}/meta/_journal.json`, "utf8")) as { entries: JournalEntry[] };
    const expected = journal.entries.map((e) => e.when);
    let applied: number[];
    try {
      applied = (source.prepare("SELECT created_at FROM __drizzle_migrations ORDER BY created_at").pluck().all() as Array<number | bigint>).map(Number);
    } catch (error) {
      throw new CopyError(`${path} is not a Brand Lift database (${(error as Error).message})`);
    }
    const behind = expected.filter((when) => !applied.includes(when)).length;
    const ahead = applied.filter((when) => !expected.includes(when)).length;
    if (ahead > 0) throw new CopyError(`${path} has ${ahead} migration(s) this version does not know: copy it with the version of the app that wrote it`);
    if (behind > 0) {
      throw new CopyError(`${path} is ${behind} migration(s) behind this version: start the app on it once (it migrates at start), stop it, then copy`);
    }
    return source;
  } catch (error) {
    source.close();
    throw error;
  }
}

export interface TableCount {
  table: string;
  sqlite: number;
  postgres: number;
}

export interface CopyReport {
  tables: TableCount[];
  /** Every table has as many rows in PostgreSQL as in the SQLite snapshot (else nothing was committed). */
  ok: boolean;
}

export interface CopyOptions {
  /** Rows per INSERT (and per SQLite read); bounded further by PostgreSQL's 65,535 parameters. */
  batchRows?: number;
  /** Called after each table is copied. */
  onTable?: (table: string, rows: number) => void;
  /** How long to wait for locks on the target's tables (a running app holds them), ms. */
  lockTimeoutMs?: number;
}

const PG_MAX_PARAMETERS = 65535;
const CONNECT_TIMEOUT_MS = 10_000;

/** Connection failures in one line: which server, and why. */
function connectError(url: string, error: unknown): CopyError {
  const e = error as { code?: string; message?: string };
  const where = redactUrl(url);
  const reasons: Record<string, string> = {
    ECONNREFUSED: "connection refused (is the server running, and on this port?)",
    ENOTFOUND: "no such host",
    EAI_AGAIN: "the host name could not be resolved",
    ETIMEDOUT: "the connection timed out",
    "28P01": "password authentication failed",
    "28000": "the server refused this user",
    "3D000": "the database does not exist (create it first: createdb NAME)",
  };
  const reason = (e.code && reasons[e.code]) ?? e.message ?? String(error);
  return new CopyError(`cannot connect to PostgreSQL at ${where}: ${reason}`);
}

/** A safe integer as a number, a larger one as its decimal text (PostgreSQL parses it exactly). */
const integerValue = (value: bigint): number | string => (value >= Number.MIN_SAFE_INTEGER && value <= Number.MAX_SAFE_INTEGER ? Number(value) : value.toString());

function converter(column: SQLiteColumn): (value: unknown) => unknown {
  if (column.columnType === "SQLiteBoolean") return (value) => (value === null ? null : Number(value) === 1);
  return (value) => (typeof value === "bigint" ? integerValue(value) : value);
}

async function count(client: pg.Client, name: string): Promise<number> {
  const { rows } = await client.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${quote(name)}`);
  return Number(rows[0]!.n);
}

/**
 * Copies every table of `source` (opened by openSource) into the PostgreSQL database at `url`,
 * which must be empty: its migrations are applied first, then the copy runs in one transaction
 * that is committed only when every table's row count matches the SQLite snapshot. Identity
 * sequences continue where SQLite would: after the highest id ever assigned (AUTOINCREMENT never
 * reuses the id of a deleted last row, so neither does the copy).
 */
export async function copyToPostgres(source: Database.Database, url: string, options: CopyOptions = {}): Promise<CopyReport> {
  if (!isPostgresUrl(url)) throw new CopyError(`--to must be a postgres:// or postgresql:// URL, got ${JSON.stringify(redactUrl(url))}`);
  try {
    new URL(url);
  } catch {
    throw new CopyError("--to is not a valid URL (special characters in the password must be percent-encoded)");
  }
  const tables = copyOrder(schemaTables());
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  // A connection lost mid-copy fails the query in flight; without a listener it would also crash the process.
  client.on("error", () => undefined);
  try {
    await client.connect();
  } catch (error) {
    throw connectError(url, error);
  }
  try {
    try {
      await migratePostgresConnection(client);
    } catch (error) {
      throw new CopyError(`applying the PostgreSQL migrations to ${redactUrl(url)} failed: ${(error as Error).message}`);
    }
    const identities = (
      await client.query<{ table_name: string; column_name: string }>(
        "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema() AND is_identity = 'YES'",
      )
    ).rows;

    await client.query("BEGIN");
    source.exec("BEGIN");
    try {
      await client.query(`SET LOCAL lock_timeout = ${Math.round(options.lockTimeoutMs ?? 10_000)}`);
      const names = tables.map(tableName);
      try {
        // Nothing else may write to the target while it is checked empty and filled.
        await client.query(`LOCK TABLE ${names.map(quote).join(", ")} IN ACCESS EXCLUSIVE MODE`);
      } catch (error) {
        throw new CopyError(`cannot lock the target's tables (${(error as Error).message}): stop every app instance using ${redactUrl(url)}`);
      }
      const occupied: string[] = [];
      for (const name of names) {
        const n = await count(client, name);
        if (n > 0) occupied.push(`table ${name} has ${n} row${n === 1 ? "" : "s"}`);
      }
      if (occupied.length > 0) throw new CopyError(`not empty: ${occupied.join(", ")}; db:copy only fills an empty database, nothing was copied`);

      // The first read pins the snapshot: every count and row below comes from it.
      const sqliteCounts = new Map(names.map((name) => [name, Number(source.prepare(`SELECT count(*) FROM ${quote(name)}`).pluck().get())]));
      const hasSequences = source.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_sequence'").pluck().get() === 1;
      const sqliteSequences = new Map<string, number>(
        hasSequences ? (source.prepare("SELECT name, seq FROM sqlite_sequence").raw().all() as Array<[string, number]>) : [],
      );

      for (const table of tables) {
        const copied = await copyTable(source, client, table, options.batchRows ?? 1000, identities.some((i) => i.table_name === tableName(table)));
        options.onTable?.(tableName(table), copied);
      }

      // Copying questions and options fired the version triggers on the target; the copy keeps the
      // versions it read (a changed value is kept by the trigger as written).
      const versions = source.prepare("SELECT id, version FROM studies").raw().all() as Array<[number, number]>;
      if (versions.length > 0) {
        await client.query(
          `UPDATE "studies" AS s SET "version" = v.version FROM (SELECT unnest($1::bigint[]) AS id, unnest($2::bigint[]) AS version) AS v
           WHERE s."id" = v.id AND s."version" <> v.version`,
          [versions.map((v) => String(v[0])), versions.map((v) => String(v[1]))],
        );
      }

      for (const { table_name: name, column_name: column } of identities) {
        if (!sqliteCounts.has(name)) continue;
        const { rows } = await client.query<{ max: string | null }>(`SELECT max(${quote(column)})::text AS max FROM ${quote(name)}`);
        const next = Math.max(Number(rows[0]!.max ?? 0), sqliteSequences.get(name) ?? 0) + 1;
        await client.query("SELECT setval(pg_get_serial_sequence($1, $2), $3, false)", [quote(name), column, next]);
      }

      const report: TableCount[] = [];
      for (const name of names) report.push({ table: name, sqlite: sqliteCounts.get(name)!, postgres: await count(client, name) });
      const ok = report.every((r) => r.sqlite === r.postgres);
      await client.query(ok ? "COMMIT" : "ROLLBACK");
      return { tables: report, ok };
    } catch (error) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw error;
    } finally {
      if (source.inTransaction) source.exec("COMMIT");
    }
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Copies one table in keyset batches by its primary key; returns the rows copied. */
async function copyTable(source: Database.Database, client: pg.Client, table: SQLiteTable, batchRows: number, hasIdentity: boolean): Promise<number> {
  const config = getTableConfig(table);
  const columns = config.columns;
  const key = keyColumns(table);
  const keyAt = key.map((k) => columns.findIndex((c) => c.name === k));
  const convert = columns.map(converter);
  const perBatch = Math.max(1, Math.min(batchRows, Math.floor(PG_MAX_PARAMETERS / columns.length)));
  const list = columns.map((c) => quote(c.name)).join(", ");
  const order = key.map(quote).join(", ");
  const keyTuple = `(${order})`;
  const first = source.prepare(`SELECT ${list} FROM ${quote(config.name)} ORDER BY ${order} LIMIT ?`).raw(true).safeIntegers(true);
  const next = source
    .prepare(`SELECT ${list} FROM ${quote(config.name)} WHERE ${keyTuple} > (${key.map(() => "?").join(", ")}) ORDER BY ${order} LIMIT ?`)
    .raw(true)
    .safeIntegers(true);
  const overriding = hasIdentity ? " OVERRIDING SYSTEM VALUE" : "";
  let after: unknown[] | undefined;
  let copied = 0;
  for (;;) {
    const rows = (after ? next.all(...after, perBatch) : first.all(perBatch)) as unknown[][];
    if (rows.length === 0) return copied;
    const values: unknown[] = [];
    const tuples = rows.map((row) => {
      const start = values.length;
      row.forEach((value, i) => values.push(convert[i]!(value)));
      return `(${row.map((_, i) => `$${start + i + 1}`).join(", ")})`;
    });
    try {
      await client.query(`INSERT INTO ${quote(config.name)} (${list})${overriding} VALUES ${tuples.join(", ")}`, values);
    } catch (error) {
      const firstKey = keyAt.map((i) => String(rows[0]![i])).join(", ");
      throw new CopyError(
        `copying table ${config.name} failed in the batch starting at ${key.join(", ")} = ${firstKey}: ${(error as Error).message}; nothing was written to PostgreSQL`,
      );
    }
    copied += rows.length;
    const last = rows[rows.length - 1]!;
    after = keyAt.map((i) => last[i]);
  }
}

/** The report as an aligned table, one line per table, mismatches marked. */
export function formatReport(report: CopyReport): string {
  const header = ["table", "SQLite rows", "PostgreSQL rows"];
  const lines = report.tables.map((r) => [r.table, String(r.sqlite), String(r.postgres), r.sqlite === r.postgres ? "" : "MISMATCH"]);
  const width = (i: number) => Math.max(header[i]!.length, ...lines.map((l) => l[i]!.length));
  const row = (cells: string[]) =>
    [cells[0]!.padEnd(width(0)), cells[1]!.padStart(width(1)), cells[2]!.padStart(width(2)), cells[3] ?? ""].join("  ").trimEnd();
  return [row(header), ...lines.map(row)].join("\n");
}
