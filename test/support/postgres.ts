/**
 * A real PostgreSQL server for the tests, named by TEST_DATABASE_URL: a URL with the right to
 * create databases on a running server (`scripts/test-postgres.sh` starts a throw-away one).
 * Every test file works in a database of its own, created here and dropped after it.
 *
 * In CI (process.env.CI set) a missing TEST_DATABASE_URL fails the PostgreSQL tests; elsewhere
 * they are skipped with a note naming the command that runs them.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL || undefined;
export const POSTGRES_TEST_COMMAND = "npm run test:pg";
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
