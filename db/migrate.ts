import { fileURLToPath } from "node:url";
import { drizzle } from "drizzle-orm/better-sqlite3";
import { migrate } from "drizzle-orm/better-sqlite3/migrator";
import type { NodePgDatabase } from "drizzle-orm/node-postgres";
import { migrate as migratePostgres } from "drizzle-orm/node-postgres/migrator";
import type { Db, Executor } from "./client.js";

export const MIGRATIONS_FOLDER = fileURLToPath(new URL("./migrations", import.meta.url));

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

export const POSTGRES_MIGRATIONS_FOLDER = fileURLToPath(new URL("./migrations-pg", import.meta.url));

/** Applies the committed PostgreSQL migrations (db/migrations-pg) not yet applied; DDL is transactional there. */
export async function runPostgresMigrations(db: Executor): Promise<void> {
  await migratePostgres(db as unknown as NodePgDatabase, { migrationsFolder: POSTGRES_MIGRATIONS_FOLDER });
}
