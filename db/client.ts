import { chmodSync, existsSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { drizzle, type BetterSQLite3Database } from "drizzle-orm/better-sqlite3";
import type { BaseSQLiteDatabase } from "drizzle-orm/sqlite-core";
import * as schema from "./schema.js";

export type Db = BetterSQLite3Database<typeof schema> & { $client: Database.Database };
/** The database or a transaction on it: query functions accept either, so callers compose them in one transaction. */
export type Executor = BaseSQLiteDatabase<"sync", Database.RunResult, typeof schema>;

export const DEFAULT_DATABASE_PATH = "./data/brandlift.db";

/**
 * Opens the SQLite file (creating its folder) with the pragmas the app relies on:
 * - WAL, so readers never wait for the writer;
 * - synchronous=FULL, so a response acknowledged with a 303 survives a power cut, not only a crash;
 * - foreign_keys=ON, which SQLite leaves off unless asked, per connection;
 * - busy_timeout, so a second process (the CLI, a second instance) waits instead of failing at once.
 * A new file is owner-only (0600, in a 0700 folder) whatever the umask; `mustExist` opens only an
 * existing file and creates nothing (backups).
 */
export function openDatabase(path: string = DEFAULT_DATABASE_PATH, options: { mustExist?: boolean } = {}): Db {
  const onDisk = path !== ":memory:" && path !== "" && !path.startsWith("file:");
  const created = onDisk && !options.mustExist && !existsSync(path);
  if (onDisk && !options.mustExist) mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const sqlite = new Database(path, { fileMustExist: options.mustExist ?? false });
  // Before WAL mode: SQLite gives the WAL and SHM files the database file's mode.
  if (created) chmodSync(path, 0o600);
  if (path !== ":memory:") sqlite.pragma("journal_mode = WAL");
  sqlite.pragma("synchronous = FULL");
  sqlite.pragma("foreign_keys = ON");
  sqlite.pragma("busy_timeout = 5000");
  cacheStatements(sqlite);
  return drizzle(sqlite, { schema });
}

const STATEMENT_CACHE_SIZE = 500;

/**
 * drizzle prepares every query anew on each call, and SQLite's prepare is a large share of a
 * survey request's CPU. The connection keeps its prepared statements by SQL text instead. A
 * statement busy in an open iterator is never handed out twice (a fresh one is prepared), and a
 * cached statement comes back in its default mode, exactly as a fresh prepare would give it.
 */
function cacheStatements(sqlite: Database.Database): void {
  const prepare = sqlite.prepare.bind(sqlite);
  const cache = new Map<string, Database.Statement>();
  sqlite.prepare = ((source: string) => {
    const cached = cache.get(source);
    if (cached && !cached.busy) {
      if (cached.reader) cached.raw(false).pluck(false).expand(false);
      return cached;
    }
    const statement = prepare(source);
    if (!cached) {
      if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value!);
      cache.set(source, statement);
    }
    return statement;
  }) as typeof sqlite.prepare;
}

export function closeDatabase(db: Db): void {
  if (db.$client.open) db.$client.close();
}
