import { closeSync, existsSync, openSync, rmSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { closeDatabase, openDatabase, type Db } from "../db/client.js";
import { loadDatabasePathOrExit } from "./config.js";
import { restrictNewFiles } from "./data-files.js";

/**
 * A consistent copy of the live database through SQLite's online backup API: pages are copied
 * in steps while the server keeps writing, and the copy is a snapshot that passes
 * integrity_check. Usage: `npm run backup -- FILE`.
 */
export async function backupDatabase(db: Db, destination: string): Promise<{ pages: number }> {
  let pages = 0;
  await db.$client.backup(destination, {
    // Copy in small steps so writers (survey submissions) are not held up for long.
    progress: ({ totalPages }) => {
      pages = totalPages;
      return 256;
    },
  });
  return { pages };
}

/** Every table's row count, by name. */
export function tableCounts(sqlite: Database.Database): Record<string, number> {
  const names = sqlite.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all() as string[];
  return Object.fromEntries(
    names.map((name) => [name, sqlite.prepare(`SELECT count(*) FROM "${name.replaceAll('"', '""')}"`).pluck().get() as number]),
  );
}

/**
 * What is wrong with the copy at `file` compared with the source's `expected` row counts: empty
 * when it passes integrity_check and has the same tables with the same numbers of rows.
 */
export function checkBackup(file: string, expected: Record<string, number>): string[] {
  let copy: Database.Database | undefined;
  try {
    copy = new Database(file, { readonly: true, fileMustExist: true });
    const integrity = copy.pragma("integrity_check") as Array<{ integrity_check: string }>;
    const messages = integrity.map((row) => row.integrity_check);
    if (messages.length !== 1 || messages[0] !== "ok") return [`integrity_check: ${messages.slice(0, 3).join("; ")}`];
    const actual = tableCounts(copy);
    const problems: string[] = [];
    for (const [table, rows] of Object.entries(expected)) {
      if (!(table in actual)) problems.push(`table ${table} is missing`);
      else if (actual[table] !== rows) problems.push(`table ${table} has ${actual[table]} rows, the source had ${rows}`);
    }
    for (const table of Object.keys(actual)) if (!(table in expected)) problems.push(`table ${table} is not in the source`);
    return problems;
  } catch (error) {
    return [`cannot read the copy: ${(error as Error).message}`];
  } finally {
    copy?.close();
  }
}

export class BackupCheckError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join("; "));
    this.name = "BackupCheckError";
  }
}

/**
 * Backs up `db` to the new file `destination` (created 0600; an existing file is never
 * overwritten) and checks the copy before reporting success. The row counts are read in the same
 * read transaction the copy is made from, so they describe exactly the snapshot copied even while
 * other processes write; this connection must not write meanwhile (the backup tool's own one).
 */
export async function backupAndCheck(db: Db, destination: string): Promise<{ pages: number; tables: Record<string, number> }> {
  const sqlite = db.$client;
  if (sqlite.inTransaction) throw new Error("backupAndCheck needs a connection outside any transaction");
  closeSync(openSync(destination, "wx", 0o600));
  try {
    let pages: number;
    let tables: Record<string, number>;
    sqlite.exec("BEGIN");
    try {
      tables = tableCounts(sqlite);
      ({ pages } = await backupDatabase(db, destination));
    } finally {
      sqlite.exec("COMMIT");
    }
    const problems = checkBackup(destination, tables);
    if (problems.length > 0) throw new BackupCheckError(problems);
    return { pages, tables };
  } catch (error) {
    // A copy that failed (or failed its check) must not be mistaken for a backup later.
    rmSync(destination, { force: true });
    rmSync(`${destination}-journal`, { force: true });
    throw error;
  }
}

async function main(): Promise<void> {
  restrictNewFiles();
  if (process.env["DATABASE_URL"]?.trim()) {
    process.stderr.write(
      "DATABASE_URL is set: this install keeps its data in PostgreSQL, which npm run backup does not copy (it copies a SQLite file). Back it up with PostgreSQL's own tools: pg_dump --format=custom --file=FILE \"$DATABASE_URL\" (restore with pg_restore), or the server's continuous archiving. Nothing was backed up.\n",
    );
    process.exitCode = 2;
    return;
  }
  const target = process.argv[2];
  if (!target) {
    process.stderr.write("Usage: npm run backup -- FILE\n");
    process.exitCode = 2;
    return;
  }
  const destination = resolve(target);
  if (existsSync(destination)) {
    process.stderr.write(`${destination} already exists; choose a new file name.\n`);
    process.exitCode = 1;
    return;
  }
  // Only DATABASE_PATH: a backup must never create a database, its folder or a session secret.
  const databasePath = loadDatabasePathOrExit();
  const source = resolve(databasePath);
  if (databasePath === ":memory:" || !existsSync(source) || !statSync(source).isFile()) {
    process.stderr.write(`No database at ${source}: check DATABASE_PATH. Nothing was backed up.\n`);
    process.exitCode = 2;
    return;
  }
  let db: Db;
  try {
    db = openDatabase(source, { mustExist: true });
  } catch (error) {
    process.stderr.write(`Cannot open the database ${source}: ${(error as Error).message}. Nothing was backed up.\n`);
    process.exitCode = 1;
    return;
  }
  try {
    const { pages, tables } = await backupAndCheck(db, destination);
    const rows = Object.values(tables).reduce((a, b) => a + b, 0);
    process.stdout.write(
      `Backed up ${databasePath} to ${destination} (${pages} pages; checked: integrity ok, ${Object.keys(tables).length} tables and ${rows} rows as in the source).\n`,
    );
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") {
      process.stderr.write(`${destination} already exists; choose a new file name.\n`);
      process.exitCode = 1;
      return;
    }
    const reason = error instanceof BackupCheckError ? `the copy failed its check (${error.message})` : (error as Error).message;
    process.stderr.write(`Backup failed: ${reason}. No copy was kept at ${destination}.\n`);
    process.exitCode = 1;
  } finally {
    await closeDatabase(db);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await main();
}
