import { drizzle } from "drizzle-orm/better-sqlite3";
import { migrate } from "drizzle-orm/better-sqlite3/migrator";
import { drizzle as drizzlePostgres } from "drizzle-orm/node-postgres";
import { migrate as migratePostgres } from "drizzle-orm/node-postgres/migrator";
import { postgresPool, type Db, type Executor } from "./client.js";
import { projectPath } from "./project-root.js";
import type pg from "pg";

export const MIGRATIONS_FOLDER = projectPath("db", "migrations");

/**
 * Applies the committed drizzle-kit migrations not yet applied; a no-op on an up-to-date file.
 * Foreign keys are off while they run: drizzle applies them in one transaction, where SQLite
 * ignores `PRAGMA foreign_keys`, and a rebuilt table (drop, copy, rename) would otherwise cascade
 * its drop into every table that references it. The keys are checked before they are turned back on.
 */
export function runMigrations(db: Db): void {
  const sqlite = db.$client;
  const enforced = sqlite.pragma("foreign_keys", { simple: true }) === 1;
  sqlite.pragma("foreign_keys = OFF");
  try {
    migrate(drizzle(sqlite), { migrationsFolder: MIGRATIONS_FOLDER });
    const broken = sqlite.pragma("foreign_key_check") as unknown[];
    if (broken.length > 0) throw new Error(`Migration left ${broken.length} rows with broken references`);
  } finally {
    if (enforced) sqlite.pragma("foreign_keys = ON");
  }
}

export const POSTGRES_MIGRATIONS_FOLDER = projectPath("db", "migrations-pg");

/** Any fixed number: the advisory lock only this app's migrations take. */
const MIGRATION_LOCK = 4_815_162_342;

/**
 * Applies the committed PostgreSQL migrations (db/migrations-pg) not yet applied; DDL is
 * transactional there. Several instances starting at once on a new database would each create
 * drizzle's bookkeeping and apply the same migrations (and all but one fail), so they take turns
 * under a session advisory lock on one connection; the later ones find nothing left to apply.
 */
export async function runPostgresMigrations(db: Executor): Promise<void> {
  const pool = postgresPool(db);
  if (!pool) throw new Error("runPostgresMigrations: not a database opened by openPostgres");
  const client = await pool.connect();
  let failed: Error | undefined;
  try {
    await migratePostgresConnection(client);
  } catch (error) {
    failed = error as Error;
    throw error;
  } finally {
    // A connection that failed (or may still hold the lock) is discarded, not handed out again.
    client.release(failed);
  }
}

/** The same, on one connection the caller holds (db:copy migrates on the connection it copies over). */
export async function migratePostgresConnection(client: pg.Client | pg.PoolClient): Promise<void> {
  await client.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK]);
  try {
    await migratePostgres(drizzlePostgres(client), { migrationsFolder: POSTGRES_MIGRATIONS_FOLDER });
  } finally {
    await client.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK]);
  }
}
