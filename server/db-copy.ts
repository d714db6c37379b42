import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type Database from "better-sqlite3";
import { copyToPostgres, CopyError, formatReport, openSource, redactUrl } from "../db/copy.js";
import { loadDatabasePathOrExit } from "./config.js";
import { restrictNewFiles } from "./data-files.js";

/**
 * `npm run db:copy -- --to postgres://… [--from FILE]`: copies a SQLite install (DATABASE_PATH, or
 * the default path, unless --from names one) into an empty PostgreSQL database, then prints each
 * table's rows on both sides. Exit 0 when every count matches; 1 when the copy was refused or
 * failed (nothing is kept in PostgreSQL); 2 for a usage error.
 */
const USAGE = "Usage: npm run db:copy -- --to postgres://USER:PASSWORD@HOST:PORT/DATABASE [--from ./data/brandlift.db]";

export async function runCopy(argv: string[], io: { out: (line: string) => void; err: (line: string) => void }): Promise<number> {
  let values: { to?: string; from?: string };
  try {
    values = parseArgs({ args: argv, options: { to: { type: "string" }, from: { type: "string" } }, strict: true, allowPositionals: false }).values;
  } catch (error) {
    io.err(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  if (!values.to) {
    io.err(`--to is required\n${USAGE}`);
    return 2;
  }
  // Only DATABASE_PATH: copying must never create a database, its folder or a session secret.
  const path = values.from ?? loadDatabasePathOrExit();
  const sourcePath = path === ":memory:" ? path : resolve(path);
  let source: Database.Database | undefined;
  try {
    source = openSource(sourcePath);
    io.out(`Copying ${sourcePath} to ${redactUrl(values.to)}…`);
    const started = performance.now();
    const report = await copyToPostgres(source, values.to, { onTable: (table, rows) => io.out(`  ${table}: ${rows} rows`) });
    io.out("");
    io.out(formatReport(report));
    if (!report.ok) {
      io.err("db:copy: the row counts differ (marked above); the copy was rolled back, PostgreSQL is empty again.");
      return 1;
    }
    const rows = report.tables.reduce((sum, t) => sum + t.postgres, 0);
    io.out(`\nCopied ${rows} rows in ${report.tables.length} tables in ${((performance.now() - started) / 1000).toFixed(1)} s; every count matches.`);
    io.out("Start the app with DATABASE_URL set to this database (and the same SESSION_SECRET).");
    return 0;
  } catch (error) {
    io.err(`db:copy: ${error instanceof CopyError ? error.message : `the copy failed, nothing was kept in PostgreSQL: ${(error as Error).message}`}`);
    return 1;
  } finally {
    source?.close();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  restrictNewFiles();
  process.exitCode = await runCopy(process.argv.slice(2), {
    out: (line) => process.stdout.write(line + "\n"),
    err: (line) => process.stderr.write(line + "\n"),
  });
}
