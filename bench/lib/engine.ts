/**
 * Which database engine a benchmark process measures, and where its data lives.
 *
 *   BENCH_ENGINE=sqlite    (the default) a temp SQLite file, as before
 *   BENCH_ENGINE=postgres  a scratch database on the server DATABASE_URL names
 *
 * `npm run bench` (bench/run.ts) runs the benchmarks that support it once per engine: SQLite always,
 * PostgreSQL too when DATABASE_URL is a postgres:// URL.
 *
 * The database DATABASE_URL names is never written: every benchmark process creates databases of its
 * own on that server (`brandlift_bench_<pid>_<random>`, so the role needs CREATEDB) and drops them
 * when it ends, also on Ctrl-C or a crash. The named database is only where the CREATE and DROP are
 * issued from.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createRequire } from "node:module";
import { join } from "node:path";
import Database from "better-sqlite3";
import pg from "pg";
import { isPostgresUrl, openDatabase, openPostgres, type Db } from "../../db/client.js";

export type EngineName = "sqlite" | "postgres";

export function benchEngine(): EngineName {
  const value = process.env["BENCH_ENGINE"] ?? "sqlite";
  if (value !== "sqlite" && value !== "postgres") throw new Error(`BENCH_ENGINE=${value}: sqlite or postgres`);
  return value;
}

/** DATABASE_URL when it names a PostgreSQL server, else undefined. */
export function postgresServerUrl(): string | undefined {
  const url = process.env["DATABASE_URL"];
  return url && isPostgresUrl(url) ? url : undefined;
}

function requiredServerUrl(): string {
  const url = postgresServerUrl();
  if (!url) throw new Error("BENCH_ENGINE=postgres needs DATABASE_URL=postgres://user:password@host:port/database (a role with CREATEDB)");
  return url;
}

/** A place for one benchmark database: a file path (SQLite) or a database URL (PostgreSQL). */
export interface BenchStore {
  engine: EngineName;
  location: string;
  /** Removes the database (PostgreSQL; SQLite files go with the temp folder). */
  drop(): Promise<void>;
}

const scratch = new Set<string>();
let exitHookInstalled = false;

/**
 * Drops what is left when the process exits without having dropped it (an error, Ctrl-C): an exit
 * handler cannot wait for a promise, so a short child process does the DROP while this one waits.
 */
function installExitHook(serverUrl: string): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  const pgPath = createRequire(import.meta.url).resolve("pg");
  const script = `
    const pg = require(process.env.PG_MODULE);
    const c = new pg.Client({ connectionString: process.env.PG_ADMIN_URL });
    c.connect()
      .then(async () => { for (const n of process.env.PG_DROP.split(",")) await c.query('DROP DATABASE IF EXISTS "' + n + '" WITH (FORCE)'); })
      .catch((e) => { console.error("could not drop the benchmark databases " + process.env.PG_DROP + ": " + e.message); process.exitCode = 1; })
      .finally(() => c.end());`;
  process.on("exit", () => {
    if (scratch.size === 0) return;
    spawnSync(process.execPath, ["-e", script], {
      env: { ...process.env, PG_MODULE: pgPath, PG_ADMIN_URL: serverUrl, PG_DROP: [...scratch].join(",") },
      stdio: "inherit",
      timeout: 30_000,
    });
  });
}

async function onServer<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: requiredServerUrl() });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

const INSUFFICIENT_PRIVILEGE = "42501";

/** A new, empty database on the DATABASE_URL server, for this process only. */
export async function createScratchDatabase(tag: string): Promise<BenchStore> {
  const serverUrl = requiredServerUrl();
  installExitHook(serverUrl);
  const name = `brandlift_bench_${tag}_${process.pid}_${randomBytes(4).toString("hex")}`;
  try {
    // The name is ours (letters, digits, underscores): safe in the statement.
    await onServer((c) => c.query(`CREATE DATABASE "${name}"`));
  } catch (error) {
    if ((error as { code?: unknown }).code === INSUFFICIENT_PRIVILEGE) {
      const url = new URL(serverUrl);
      throw new Error(
        `the role "${decodeURIComponent(url.username)}" may not create databases: the PostgreSQL benchmarks work in scratch databases ` +
          `they create and drop, and never write to "${url.pathname.slice(1)}". Run them as a role with CREATEDB ` +
          `(ALTER ROLE … CREATEDB), or on a throw-away server (scripts/test-postgres.sh start --durable).`,
      );
    }
    throw error;
  }
  scratch.add(name);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    engine: "postgres",
    location: url.toString(),
    drop: async () => {
      if (!scratch.has(name)) return;
      await onServer((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
      scratch.delete(name);
    },
  };
}

/** A fresh database for `tag` on the engine of this process: a file in `dir`, or a scratch database. */
export async function newStore(tag: string, dir: string): Promise<BenchStore> {
  if (benchEngine() === "postgres") return createScratchDatabase(tag);
  return { engine: "sqlite", location: join(dir, `${tag}.db`), drop: () => Promise.resolve() };
}

/** Opens a store as the app does (db/client.ts): the SQLite pragmas, or a node-postgres pool. */
export function openStore(location: string): Db {
  return isPostgresUrl(location) ? openPostgres(location) : openDatabase(location);
}

/**
 * The server's version and the settings that decide what a commit costs, for the printed tables:
 * a run on a cluster with fsync off measures something else than a deployment.
 */
export async function postgresSettings(): Promise<string> {
  const names = ["server_version", "fsync", "synchronous_commit", "full_page_writes", "wal_sync_method", "shared_buffers", "work_mem"];
  return onServer(async (c) => {
    const values: string[] = [];
    for (const n of names) values.push(`${n}=${(await c.query<Record<string, string>>(`SHOW ${n}`)).rows[0]![n]}`);
    return `PostgreSQL ${values.join(", ")}`;
  });
}

/** One line for the printed tables: the engine of this process and its durability settings. */
export async function engineLine(): Promise<string> {
  if (benchEngine() === "postgres") return `engine: ${await postgresSettings()}`;
  const probe = new Database(":memory:");
  const version = (probe.prepare("SELECT sqlite_version() AS v").get() as { v: string }).v;
  probe.close();
  return `engine: SQLite ${version} (better-sqlite3, in process), WAL; units of work commit at synchronous=NORMAL and are answered after an fsync of the WAL off the event loop, other statements at FULL (db/client.ts)`;
}

/** The engine as the output lines name it. */
export const engineLabel = (engine: EngineName) => (engine === "postgres" ? "PostgreSQL" : "SQLite");
