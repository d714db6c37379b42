/**
 * A real PostgreSQL server for the tests, named by TEST_DATABASE_URL: a URL with the right to
 * create databases on a running server (`scripts/test-postgres.sh` starts a throw-away one).
 * Every test file works in a database of its own, created here and dropped after it.
 *
 * In CI (process.env.CI set) a missing TEST_DATABASE_URL fails the PostgreSQL tests; elsewhere
 * they are skipped with a note naming the command that runs them.
 */
import { createHash, randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { closePostgres, onPostgresPool, openPostgres, type Db } from "../../db/client.js";
import { POSTGRES_MIGRATIONS_FOLDER, runPostgresMigrations } from "../../db/migrate.js";

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL || undefined;
export const POSTGRES_TEST_COMMAND = "npm run test:postgres";
const inCI = Boolean(process.env.CI);

/** Whether a file's PostgreSQL tests run: yes with a server, and in CI always (so they fail without one). */
export function postgresTestsRun(file: string): boolean {
  if (TEST_DATABASE_URL !== undefined || inCI) return true;
  console.warn(`${file}: TEST_DATABASE_URL is not set, the PostgreSQL tests are skipped (run them with \`${POSTGRES_TEST_COMMAND}\`)`);
  return false;
}

export function requireTestDatabaseUrl(): string {
  if (TEST_DATABASE_URL === undefined) {
    throw new Error(`TEST_DATABASE_URL is not set: the PostgreSQL tests need a server (\`${POSTGRES_TEST_COMMAND}\` starts one)`);
  }
  return TEST_DATABASE_URL;
}

export interface ThrowawayDatabase {
  name: string;
  url: string;
  /** Drops the database, ending any connection still open to it. */
  drop(): Promise<void>;
}

async function asAdmin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: requireTestDatabaseUrl() });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Creates an empty database with a name no other test run uses. */
export async function createThrowawayDatabase(): Promise<ThrowawayDatabase> {
  const name = `brandlift_test_${process.pid}_${randomBytes(6).toString("hex")}`;
  // The name is ours (letters, digits, underscores): safe to put into the statement.
  await asAdmin((c) => c.query(`CREATE DATABASE "${name}"`));
  const url = new URL(requireTestDatabaseUrl());
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    drop: () => asAdmin((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).then(() => undefined),
  };
}

// ------------------------------------------------------------ the whole suite on PostgreSQL

/**
 * Which engine the suite's fresh databases (test/helpers.ts freshDb/freshApp) are on: SQLite in
 * memory by default; with TEST_ENGINE=postgres (`npm run test:postgres`), a database of their own on
 * the server TEST_DATABASE_URL names.
 */
export const TEST_ENGINE: "sqlite" | "postgres" = process.env.TEST_ENGINE === "postgres" ? "postgres" : "sqlite";

const MIGRATIONS_DIGEST = createHash("sha256")
  .update(readdirSync(POSTGRES_MIGRATIONS_FOLDER).filter((f) => f.endsWith(".sql")).sort().map((f) => readFileSync(join(POSTGRES_MIGRATIONS_FOLDER, f), "utf8")).join("\n"))
  .digest("hex")
  .slice(0, 12);
/** Named by the migrations it holds, so a server kept between runs never hands out an outdated schema. */
const TEMPLATE = `brandlift_template_${MIGRATIONS_DIGEST}`;
/** Any constant: serializes the template's creation across the test processes. */
const TEMPLATE_LOCK = 715_015;

function databaseUrl(name: string): string {
  const url = new URL(requireTestDatabaseUrl());
  url.pathname = `/${name}`;
  return url.toString();
}

let templateReady: Promise<void> | undefined;

/** The migrated template every fresh database is a copy of: migrating once is ~50× slower than copying. */
function ensureTemplate(): Promise<void> {
  templateReady ??= asAdmin(async (admin) => {
    await admin.query("SELECT pg_advisory_lock($1)", [TEMPLATE_LOCK]);
    try {
      const exists = await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [TEMPLATE]);
      if (exists.rowCount) return;
      const building = `${TEMPLATE}_building_${process.pid}`;
      await admin.query(`DROP DATABASE IF EXISTS "${building}"`);
      await admin.query(`CREATE DATABASE "${building}"`);
      const db = openPostgres(databaseUrl(building), { max: 1 });
      try {
        await runPostgresMigrations(db);
      } finally {
        await closePostgres(db);
      }
      // Renamed when complete: a run stopped half-way never leaves a half-migrated template behind.
      await admin.query(`ALTER DATABASE "${building}" RENAME TO "${TEMPLATE}"`);
    } finally {
      await admin.query("SELECT pg_advisory_unlock($1)", [TEMPLATE_LOCK]);
    }
  });
  return templateReady;
}

/**
 * A pool whose database is still being created: connections wait for it. This keeps freshDb()
 * synchronous (as on SQLite) while the CREATE DATABASE runs on the server.
 */
class ProvisionedPool extends pg.Pool {
  constructor(
    config: pg.PoolConfig,
    private readonly provisioned: Promise<void>,
  ) {
    super(config);
  }

  override connect(): Promise<pg.PoolClient>;
  override connect(callback: (err: Error | undefined, client: pg.PoolClient | undefined, done: (release?: unknown) => void) => void): void;
  override connect(callback?: (err: Error | undefined, client: pg.PoolClient | undefined, done: (release?: unknown) => void) => void): Promise<pg.PoolClient> | void {
    if (!callback) return this.provisioned.then(() => super.connect());
    this.provisioned.then(
      () => super.connect(callback),
      (error: Error) => callback(error, undefined, () => undefined),
    );
  }
}

const freshDatabases: Array<{ name: string; pool: pg.Pool }> = [];

/** A new, migrated, empty database of its own, for one freshDb(); dropped after the test file. */
export function freshPostgresDb(): Db {
  const name = `brandlift_test_${process.pid}_${freshDatabases.length}_${randomBytes(3).toString("hex")}`;
  // FILE_COPY: for a database this small, copying the files beats writing them through the WAL.
  const provisioned = ensureTemplate().then(() => asAdmin((c) => c.query(`CREATE DATABASE "${name}" TEMPLATE "${TEMPLATE}" STRATEGY FILE_COPY`)).then(() => undefined));
  // Seen by whoever connects first; a database nobody queries must not report an unhandled rejection.
  provisioned.catch(() => undefined);
  // Few connections per database: a test file may hold dozens of databases until it ends.
  const pool = new ProvisionedPool({ connectionString: databaseUrl(name), max: 4, idleTimeoutMillis: 1000 }, provisioned);
  freshDatabases.push({ name, pool });
  return onPostgresPool(pool);
}

/** Ends the pools and drops the databases freshPostgresDb made in this test file. */
export async function dropFreshPostgresDbs(): Promise<void> {
  const made = freshDatabases.splice(0);
  for (const { pool } of made) await pool.end().catch(() => undefined);
  if (made.length === 0) return;
  await asAdmin(async (admin) => {
    for (const { name } of made) await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  });
}
