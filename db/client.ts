import { chmodSync, existsSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { drizzle } from "drizzle-orm/better-sqlite3";
import { drizzle as drizzlePostgres, type NodePgDatabase } from "drizzle-orm/node-postgres";
import { PgDialect } from "drizzle-orm/pg-core";
import pg from "pg";
import { fillPlaceholders, sql, type Column, type SQL } from "drizzle-orm";
import type { BaseSQLiteDatabase } from "drizzle-orm/sqlite-core";
import * as schema from "./schema.js";
import { sharedFlushes, walFile } from "./wal-flush.js";

/**
 * The one data API of the app: drizzle's query builders, always awaited (`await db.select()…`,
 * never `.all()`, `.get()` or `.run()`, which only SQLite has), with inserts and updates that need
 * a row back using `.returning()`. Typed as drizzle's asynchronous SQLite database because the
 * schema (db/schema.ts) is written once, in sqlite-core; units of work go through `unitOfWork`.
 */
export type Executor = BaseSQLiteDatabase<"async", unknown, typeof schema>;
/** The database itself (an Executor) with its SQLite connection for what only SQLite has (backup, pragmas). */
export type Db = Executor & { $client: Database.Database };

export const DEFAULT_DATABASE_PATH = "./data/brandlift.db";
/** How long a single statement outside a unit of work waits for another process's write lock. */
const BUSY_TIMEOUT_MS = 5000;

/** How openDatabase opens a file. */
export interface OpenOptions {
  /** Open only an existing file and create nothing (backups). */
  mustExist?: boolean;
  /** Tests: wraps every flush of the WAL file after units of work (to watch, delay or fail it); `fsync` does the real one. */
  walSync?: (fsync: () => Promise<void>) => Promise<void>;
}

/**
 * Opens the SQLite file (creating its folder) with the pragmas the app relies on:
 * - WAL, so readers never wait for the writer;
 * - durable commits, so a response acknowledged with a 303 survives a power cut, not only a crash:
 *   synchronous=FULL for statements outside units of work (SQLite fsyncs the WAL in each commit);
 *   units of work commit at synchronous=NORMAL and are answered only after an fsync of the WAL
 *   file that began after their commit, done on libuv's threadpool so the event loop never waits
 *   for the disk, and shared by the commits made meanwhile (db/wal-flush.ts). The connection is
 *   back at FULL before anything else can use it. A database in memory has nothing to flush;
 * - foreign_keys=ON, which SQLite leaves off unless asked, per connection;
 * - busy_timeout, so a second process (the CLI, a second instance) waits instead of failing at once.
 * A new file is owner-only (0600, in a 0700 folder) whatever the umask. Committed data is visible
 * to other readers before its flush ends; only the committing callers wait for it.
 */
export function openDatabase(path: string = DEFAULT_DATABASE_PATH, options: OpenOptions = {}): Db {
  const onDisk = path !== ":memory:" && path !== "" && !path.startsWith("file:");
  const created = onDisk && !options.mustExist && !existsSync(path);
  if (onDisk && !options.mustExist) mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const sqlite = new Database(path, { fileMustExist: options.mustExist ?? false });
  // Before WAL mode: SQLite gives the WAL and SHM files the database file's mode.
  if (created) chmodSync(path, 0o600);
  const wal = path !== ":memory:" && sqlite.pragma("journal_mode = WAL", { simple: true }) === "wal";
  sqlite.pragma("synchronous = FULL");
  sqlite.pragma("foreign_keys = ON");
  sqlite.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  cacheStatements(sqlite);
  const db = drizzle(sqlite, { schema });
  engines.set(db, sqliteEngine(sqlite, wal ? flushAfterCommits(sqlite, options.walSync) : undefined));
  return db as unknown as Db;
}

/** The flush of a WAL database's commits (undefined for a temporary file, which has no WAL to sync). */
function flushAfterCommits(sqlite: Database.Database, wrap: OpenOptions["walSync"]): (() => Promise<void>) | undefined {
  const main = (sqlite.pragma("database_list") as Array<{ name: string; file: string }>).find((d) => d.name === "main")?.file;
  if (!main) return undefined;
  const file = walFile(`${main}-wal`, () => sqlite.open);
  const close = sqlite.close.bind(sqlite);
  sqlite.close = () => {
    close();
    file.close();
    return sqlite;
  };
  const sync = async () => {
    const walBytes = await file.sync();
    walFlushed.get(sqlite)?.(walBytes);
  };
  return sharedFlushes(wrap ? () => wrap(sync) : sync);
}

/** Per connection: who hears the WAL file's size after each flush (checkpointElsewhere). */
const walFlushed = new WeakMap<Database.Database, (walBytes: number) => void>();

/** SQLite's own default: a commit that leaves more than 1,000 pages in the WAL checkpoints it. */
const AUTOCHECKPOINT_PAGES = 1000;

/**
 * Takes checkpoints out of this connection's commits. SQLite checkpoints inside the COMMIT that
 * leaves more than 1,000 pages in the WAL, on the thread that commits: it syncs the WAL, copies its
 * pages into the database file and syncs that (5–20 ms of the event loop here, once 72 ms, in the
 * heavy benchmark). From now on the connection never checkpoints by itself (wal_autocheckpoint=0):
 * `walFlushed` hears the WAL file's size after each unit of work's flush, and checkpoints on a
 * connection of its own, off this thread (server/sqlite-checkpoints.ts). Returns the function that
 * gives checkpoints back to the connection's commits; undefined when the database has no WAL file
 * to flush (in memory, a temporary file) or is not SQLite.
 */
export function checkpointElsewhere(db: Executor, walFlushedListener: (walBytes: number) => void): (() => void) | undefined {
  const engine = engines.get(db);
  if (!engine?.flush) return undefined;
  const client = engine.client;
  client.pragma("wal_autocheckpoint = 0");
  walFlushed.set(client, walFlushedListener);
  const giveBack = () => {
    if (!client.open) return;
    // Not inside a unit of work's transaction (its connection refuses other statements): after it.
    if (engine.open) setImmediate(giveBack);
    else client.pragma(`wal_autocheckpoint = ${AUTOCHECKPOINT_PAGES}`);
  };
  return () => {
    if (walFlushed.get(client) !== walFlushedListener) return;
    walFlushed.delete(client);
    giveBack();
  };
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

/** The first row of a result, or undefined (what SQLite's `.get()` gave, on any engine). */
export function first<T>(rows: readonly T[]): T | undefined {
  return rows[0];
}

/** Thrown when the database stayed busy through every retry: the caller answers 503, nothing was written. */
export class DatabaseBusy extends Error {
  constructor(attempts: number) {
    super(`the database stayed busy through ${attempts} attempts`);
    this.name = "DatabaseBusy";
  }
}

interface SqliteEngine {
  client: Database.Database;
  /** The drizzle instance a unit of work runs its queries on (same connection, marked). */
  tx: Executor;
  /** A unit of work holds the connection's transaction. */
  open: boolean;
  /** The query being prepared comes from the open unit of work. */
  viaTx: boolean;
  /** Units of work queue here, one at a time per connection. */
  queue: Promise<void>;
  /** Units asking to commit together, gathered until the event loop's next check phase. */
  forming?: GroupedUnit[];
  /**
   * Makes every commit made before the call durable (an fsync of the WAL file off the event loop);
   * when set, units of work commit at synchronous=NORMAL. Undefined: commits at FULL (in memory).
   */
  flush?: () => Promise<void>;
}

const engines = new WeakMap<object, SqliteEngine>();
const transactions = new WeakSet<object>();

/**
 * One connection, one transaction at a time: a unit of work's queries go through `tx`, and a query
 * from anywhere else while it is open is refused loudly (it would silently join, or be rolled back
 * with, someone else's transaction). A unit of work may only await its own queries, which on
 * SQLite settle within the same turn of the event loop, so nothing else runs in between.
 */
function sqliteEngine(client: Database.Database, flush: (() => Promise<void>) | undefined): SqliteEngine {
  const prepare = client.prepare.bind(client);
  const engine: SqliteEngine = { client, tx: undefined as unknown as Executor, open: false, viaTx: false, queue: Promise.resolve(), ...(flush ? { flush } : {}) };
  client.prepare = ((source: string) => {
    if (engine.open && !engine.viaTx) throw new Error("a query ran outside the unit of work holding the connection's transaction");
    return prepare(source);
  }) as typeof client.prepare;
  const txClient = Object.create(client) as Database.Database;
  txClient.prepare = ((source: string) => {
    engine.viaTx = true;
    try {
      return prepare(source);
    } finally {
      engine.viaTx = false;
    }
  }) as typeof client.prepare;
  engine.tx = drizzle(txClient, { schema }) as unknown as Executor;
  transactions.add(engine.tx);
  return engine;
}

/** What an observer of units of work hears: how long one held its transaction, and how it ended. */
export interface UnitOfWorkEvent {
  /** From the transaction's start (on SQLite: the write lock taken) to its commit or rollback. */
  ms: number;
  committed: boolean;
}

const observers = new Set<(event: UnitOfWorkEvent) => void>();

/**
 * Listens to every unit of work of this process as it ends (benchmarks measure lock holds, tests
 * count chunks); returns the function that stops listening. Without a listener nothing is timed.
 */
export function observeUnitsOfWork(listener: (event: UnitOfWorkEvent) => void): () => void {
  observers.add(listener);
  return () => observers.delete(listener);
}

function notify(started: number, committed: boolean): void {
  const event = { ms: performance.now() - started, committed };
  for (const listener of observers) listener(event);
}

/** About five seconds of retries in all, like the busy timeout of a single statement. */
const BUSY_ATTEMPTS = 30;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const isBusy = (error: unknown) => error instanceof Error && "code" in error && (error.code === "SQLITE_BUSY" || error.code === "SQLITE_LOCKED");

/** What a unit of work may ask for besides its work. */
export interface UnitOfWorkOptions {
  /**
   * Group commit (SQLite): commit together with the other units asking for it in the same turn of
   * the event loop, in one transaction where each unit has a savepoint of its own (one that throws
   * is rolled back alone) and one commit, one flush to disk, for all; each caller is answered once
   * that commit is durable. For short writes that many requests make at once (a survey page). On
   * PostgreSQL the server already lets concurrent commits share a flush.
   */
  groupCommit?: boolean;
  /**
   * PostgreSQL: run at READ COMMITTED rather than SERIALIZABLE. Each statement sees what was
   * committed before it began, concurrent writers of a row queue on its lock instead of failing,
   * and nothing is retried but a deadlock: for a short, hot unit of work (a survey page) that
   * takes the row locks its correctness needs itself (SELECT … FOR UPDATE, an atomic
   * UPDATE … WHERE). No effect on SQLite, whose units of work hold its only write lock.
   */
  readCommitted?: boolean;
}

/**
 * Runs `work` as one transaction: committed when it resolves, rolled back when it throws. Inside
 * another unit of work it simply joins it. On SQLite the write lock is taken up front (BEGIN
 * IMMEDIATE); when another process holds it, the attempt is retried with growing pauses that do not
 * block the event loop, and after BUSY_ATTEMPTS a DatabaseBusy is thrown (a 503, never a 500).
 */
export async function unitOfWork<T>(db: Executor, work: (tx: Executor) => Promise<T>, options: UnitOfWorkOptions = {}): Promise<T> {
  if (transactions.has(db)) return work(db);
  if (postgresPools.has(db)) return postgresUnitOfWork(db, work, options.readCommitted ? "read committed" : "serializable");
  const engine = engines.get(db);
  if (!engine) throw new Error("unitOfWork: not a database opened by openDatabase");
  if (options.groupCommit) return groupedUnitOfWork(engine, work);
  const release = await takeTurn(engine);
  let result: T;
  try {
    await beginImmediate(engine);
    const started = observers.size ? performance.now() : 0;
    try {
      result = await work(engine.tx);
      engine.open = false;
      end(engine, "COMMIT");
      if (observers.size) notify(started, true);
    } catch (error) {
      engine.open = false;
      end(engine, "ROLLBACK");
      if (observers.size) notify(started, false);
      throw error;
    }
  } finally {
    release();
  }
  // The connection is free for the next unit while the disk catches up.
  if (engine.flush) await engine.flush();
  return result;
}

/**
 * Ends the transaction (a ROLLBACK only if SQLite has not ended it already) and puts the
 * connection back at synchronous=FULL, in the same turn: nothing outside a unit of work ever runs
 * at NORMAL.
 */
function end(engine: SqliteEngine, statement: "COMMIT" | "ROLLBACK"): void {
  try {
    if (statement === "COMMIT" || engine.client.inTransaction) engine.client.exec(statement);
  } finally {
    if (engine.flush) engine.client.pragma("synchronous = FULL");
  }
}

/**
 * Runs `work` in one read-only transaction: every query of it sees the same committed state of the
 * database, whatever is written meanwhile (WAL on SQLite, REPEATABLE READ on PostgreSQL), and takes
 * no write lock. For long reads on a connection of their own (the results worker): on SQLite it
 * holds the connection like a unit of work, so nothing else may use that connection meanwhile.
 */
export async function readConsistently<T>(db: Executor, work: (tx: Executor) => Promise<T>): Promise<T> {
  if (postgresPools.has(db)) {
    return (db as unknown as NodePgDatabase).transaction(
      async (tx) => {
        postgresTransactions.add(tx);
        return work(tx as unknown as Executor);
      },
      { isolationLevel: "repeatable read", accessMode: "read only" },
    );
  }
  const engine = engines.get(db);
  if (!engine) throw new Error("readConsistently: not a database opened by openDatabase");
  const release = await takeTurn(engine);
  try {
    engine.client.exec("BEGIN DEFERRED");
    engine.open = true;
    try {
      const result = await work(engine.tx);
      engine.open = false;
      engine.client.exec("COMMIT");
      return result;
    } catch (error) {
      engine.open = false;
      if (engine.client.inTransaction) engine.client.exec("ROLLBACK");
      throw error;
    }
  } finally {
    release();
  }
}

/** Where another thread or process finds this database: the SQLite file's path or the PostgreSQL URL; undefined for a database in memory. */
export function databaseLocation(db: Db): string | undefined {
  const pool = postgresPools.get(db);
  if (pool) return pool.options.connectionString;
  return db.$client.memory ? undefined : db.$client.name;
}

/** Waits for the connection's earlier units of work; the function returned lets the next one go. */
async function takeTurn(engine: SqliteEngine): Promise<() => void> {
  const previous = engine.queue;
  let release!: () => void;
  engine.queue = new Promise<void>((resolve) => (release = resolve));
  await previous;
  return release;
}

/**
 * Takes the write lock. With a flush, the transaction runs at synchronous=NORMAL (set outside it,
 * in the same turn as BEGIN, and undone if BEGIN fails): its COMMIT writes the WAL without an fsync.
 */
async function beginImmediate(engine: SqliteEngine): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    // The lock is asked for without SQLite's blocking wait, so waiting never freezes the event loop.
    engine.client.pragma("busy_timeout = 0");
    if (engine.flush) engine.client.pragma("synchronous = NORMAL");
    let begun = false;
    try {
      engine.client.exec("BEGIN IMMEDIATE");
      begun = true;
      return;
    } catch (error) {
      if (!isBusy(error)) throw error;
      if (attempt >= BUSY_ATTEMPTS) throw new DatabaseBusy(attempt);
    } finally {
      engine.client.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
      if (engine.flush && !begun) engine.client.pragma("synchronous = FULL");
      // At once: a statement from elsewhere in the microtasks before the caller resumes is refused.
      if (begun) engine.open = true;
    }
    await sleep(Math.min(200, 5 * 2 ** attempt) * (0.5 + Math.random()));
  }
}

interface GroupedUnit {
  work: (tx: Executor) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

function groupedUnitOfWork<T>(engine: SqliteEngine, work: (tx: Executor) => Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let group = engine.forming;
    if (!group) {
      const formed: GroupedUnit[] = [];
      engine.forming = group = formed;
      // Requests whose data is in by now reach here in this same poll phase: they join.
      setImmediate(() => {
        engine.forming = undefined;
        void commitGroup(engine, formed);
      });
    }
    group.push({ work, resolve: resolve as (value: unknown) => void, reject });
  });
}

/**
 * One transaction for a group: each unit in a savepoint, then one commit. Nobody hears back before
 * the commit is durable (a caller acting on its answer would otherwise query mid-transaction, or
 * report a write that a power cut could take back): with a flush, the next group may take the
 * connection while this one waits for it. If the transaction or its flush fails, every unit of
 * the group fails.
 */
async function commitGroup(engine: SqliteEngine, group: readonly GroupedUnit[]): Promise<void> {
  const release = await takeTurn(engine);
  let started: number | undefined;
  const answers: Array<{ committed: boolean; answer: () => void }> = [];
  try {
    await beginImmediate(engine);
    started = observers.size ? performance.now() : 0;
    for (const unit of group) {
      engine.client.exec("SAVEPOINT grouped_unit");
      try {
        const value = await unit.work(engine.tx);
        engine.client.exec("RELEASE grouped_unit");
        answers.push({ committed: true, answer: () => unit.resolve(value) });
      } catch (error) {
        // An error that ended SQLite's transaction takes the whole group with it (below).
        if (!engine.client.inTransaction) throw error;
        engine.client.exec("ROLLBACK TO grouped_unit");
        engine.client.exec("RELEASE grouped_unit");
        answers.push({ committed: false, answer: () => unit.reject(error) });
      }
    }
    engine.open = false;
    end(engine, "COMMIT");
    if (observers.size) for (const { committed } of answers) notify(started, committed);
  } catch (error) {
    engine.open = false;
    end(engine, "ROLLBACK");
    for (const unit of group) {
      if (observers.size && started !== undefined) notify(started, false);
      unit.reject(error);
    }
    return;
  } finally {
    release();
  }
  try {
    if (engine.flush) await engine.flush();
  } catch (error) {
    for (const unit of group) unit.reject(error);
    return;
  }
  for (const { answer } of answers) answer();
}

export async function closePostgres(db: Executor): Promise<void> {
  const pool = postgresPools.get(db);
  if (pool && !pool.ended) await pool.end();
}

/**
 * Closes either engine's database: the SQLite file at once (before this returns), the PostgreSQL
 * pool once its connections have ended. Closing twice does nothing.
 */
export async function closeDatabase(db: Db): Promise<void> {
  if (postgresPools.has(db)) return closePostgres(db);
  if (db.$client.open) db.$client.close();
}

/** A unique constraint refused the row, on either engine (drizzle may wrap the driver's error as `cause`). */
export function isUniqueViolation(error: unknown): boolean {
  const codes = [(error as { code?: unknown }).code, (error as { cause?: { code?: unknown } }).cause?.code];
  return codes.includes("SQLITE_CONSTRAINT_UNIQUE") || codes.includes("23505");
}

/** The one row a statement must produce (an insert's `.returning()`); throws when there is none. */
export function one<T>(rows: readonly T[]): T {
  if (rows.length === 0) throw new Error("expected a row, the statement returned none");
  return rows[0]!;
}

/** How many rows an awaited insert, update or delete changed, on either engine. */
export function affectedRows(result: unknown): number {
  const r = result as { changes?: number; rowCount?: number | null };
  return r.changes ?? r.rowCount ?? 0;
}

/** Rows of a hand-written query (drizzle's `sql`), for what the query builder cannot say. */
export async function rawRows<T>(db: Executor, query: SQL): Promise<T[]> {
  if (isPostgres(db)) return (await (db as unknown as NodePgDatabase).execute(query)).rows as T[];
  return db.all<T>(query);
}

/**
 * Rows of a hand-written query as arrays of values in select order: for long reads (exports),
 * where building an object per row costs SQLite a third of its time. Outside units of work only.
 * On PostgreSQL `name` prepares it as a named statement (SQLite caches every statement by its text).
 */
export async function rawValues<T extends unknown[]>(db: Executor, query: SQL, options: { name?: string } = {}): Promise<T[]> {
  const pool = postgresPools.get(db);
  if (pool) {
    const { sql: text, params } = postgresDialect.sqlToQuery(query);
    // A name makes PostgreSQL plan the statement once per connection (its text must never change under that name).
    return (await pool.query<T>({ text, values: params, rowMode: "array", ...(options.name ? { name: options.name } : {}) })).rows;
  }
  if (isPostgres(db)) throw new Error("rawValues: not inside a unit of work on PostgreSQL");
  return db.values<T>(query);
}

// ---------------------------------------------------------------- PostgreSQL

const postgresDialect = new PgDialect();

const postgresPools = new WeakMap<object, pg.Pool>();
const postgresTransactions = new WeakSet<object>();
/** A PostgreSQL transaction's database and connection: prepared queries run on its connection. */
const postgresConnections = new WeakMap<object, { db: Executor; client: pg.PoolClient }>();

/** Whether this database (or unit of work) is on PostgreSQL: for the few statements that differ. */
export function isPostgres(db: Executor): boolean {
  return postgresPools.has(db) || postgresTransactions.has(db);
}

export const isPostgresUrl = (location: string): boolean => /^postgres(ql)?:\/\//.test(location);

/**
 * node-postgres reads `sslmode=prefer`, `require` and `verify-ca` as `verify-full` (the server's
 * certificate must be trusted and name the host), warns at every start that a coming major version
 * will give them libpq's weaker meaning, and would then stop verifying without a word. The URL says
 * what it does today, explicitly, so an upgrade cannot weaken it; `uselibpqcompat=true` in the URL
 * asks for libpq's meaning instead and is left as written.
 */
export function explicitSslMode(url: string): string {
  if (/[?&]uselibpqcompat=true(&|$)/i.test(url)) return url;
  return url.replace(/([?&]sslmode=)(prefer|require|verify-ca)(?=&|$)/, "$1verify-full");
}

const INT8 = 20;
const NUMERIC = 1700;
const JSON_OID = 114;

/**
 * A pool on a PostgreSQL database with the same data API as SQLite. The queries use the one schema
 * (db/schema.ts); its column mappings expect what SQLite hands back, so the pool does too: 64-bit
 * integers (ids, millisecond times, counts) and numerics (sums) as numbers, JSON as its text.
 */
export function openPostgres(url: string, options: { max?: number; connectTimeoutMs?: number; onIdleError?: (error: Error) => void } = {}): Db {
  // Without a connect timeout a host that drops packets holds every query for the OS's TCP timeout (minutes).
  const pool = new pg.Pool({ connectionString: explicitSslMode(url), max: options.max ?? 10, connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000 });
  // An idle connection the server drops (restart, failover) is an 'error' event, fatal to the
  // process unless handled; the pool has discarded it already and the next query opens a new one.
  pool.on("error", options.onIdleError ?? (() => undefined));
  return onPostgresPool(pool);
}

/** The data API over a pool the caller built (its own connection settings, a pool that provisions its database first). */
export function onPostgresPool(pool: pg.Pool): Db {
  // Process-wide: drizzle passes its own per-query type table, which falls back to these.
  pg.types.setTypeParser(INT8, Number);
  pg.types.setTypeParser(NUMERIC, Number);
  pg.types.setTypeParser(JSON_OID, (value: string) => value);
  const db = drizzlePostgres(pool);
  postgresPools.set(db, pool);
  return db as unknown as Db;
}

/** The pool behind a PostgreSQL database (closing it, tests). */
export function postgresPool(db: Executor): pg.Pool | undefined {
  return postgresPools.get(db);
}

const SERIALIZATION_FAILURE = "40001";
const DEADLOCK = "40P01";
const isRetryable = (error: unknown): boolean => {
  const code = (error as { code?: unknown }).code ?? (error as { cause?: { code?: unknown } }).cause?.code;
  return code === SERIALIZATION_FAILURE || code === DEADLOCK;
};

/**
 * SERIALIZABLE stands in for SQLite's single writer: a unit of work sees and writes as if it ran
 * alone, and when PostgreSQL cannot promise that it fails the commit, which is retried here with
 * growing pauses (the work only touches the database, so running it again is safe). READ COMMITTED
 * (see UnitOfWorkOptions) only ever fails that way on a deadlock, retried the same.
 */
async function postgresUnitOfWork<T>(db: Executor, work: (tx: Executor) => Promise<T>, isolationLevel: "serializable" | "read committed"): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const started = observers.size ? performance.now() : 0;
    try {
      const result = await postgresTransaction(db, [`BEGIN ISOLATION LEVEL ${isolationLevel.toUpperCase()}`], work);
      if (observers.size) notify(started, true);
      return result;
    } catch (error) {
      if (observers.size) notify(started, false);
      if (!isRetryable(error)) throw error;
      if (attempt >= BUSY_ATTEMPTS) throw new DatabaseBusy(attempt);
      await sleep(Math.min(200, 5 * 2 ** attempt) * (0.5 + Math.random()));
    }
  }
}

/** The data API on one pool connection, made once per connection: what a transaction on it runs its queries through. */
const connectionExecutors = new WeakMap<pg.PoolClient, Executor>();

function connectionExecutor(db: Executor, client: pg.PoolClient): Executor {
  const known = connectionExecutors.get(client);
  if (known && postgresConnections.get(known)?.db === db) return known;
  const tx = drizzlePostgres(client) as unknown as Executor;
  postgresTransactions.add(tx);
  transactions.add(tx);
  postgresConnections.set(tx, { db, client });
  connectionExecutors.set(client, tx);
  return tx;
}

/**
 * One transaction on a pool connection: `opening` (BEGIN and settings) then `work`, committed
 * when it resolves and rolled back when it throws. The connection pipelines its queries for the
 * transaction's length (node-postgres `pipeline`): the opening statements go out with the work's
 * first statement instead of a round trip each before it (a survey page's unit of work is a
 * handful of statements, each a round trip, so this is one in four or five). Each query keeps its
 * own Sync, so an error still belongs to its own statement, and one in the transaction aborts it as
 * usual. The opening's answer is awaited before COMMIT: a BEGIN refused (in practice only a lost
 * connection, which fails every query behind it too) fails the unit of work. No cursor may run in
 * a unit of work (node-postgres refuses portals on a pipelined connection, loudly).
 */
async function postgresTransaction<T>(db: Executor, opening: readonly string[], work: (tx: Executor) => Promise<T>): Promise<T> {
  const client = await postgresPools.get(db)!.connect();
  const pipelined = client as unknown as { pipeline: boolean };
  let broken: Error | undefined;
  pipelined.pipeline = true;
  const separateWrites = coalescedWrites(client);
  try {
    const opened = Promise.all(opening.map((text) => client.query(text)));
    // Awaited below; until then a rejection must not count as unhandled.
    opened.catch(() => undefined);
    try {
      const result = await work(connectionExecutor(db, client));
      await opened;
      await client.query("COMMIT");
      return result;
    } catch (error) {
      await client.query("ROLLBACK").catch((rollbackError: unknown) => {
        // A connection that cannot roll back is not given back to the pool.
        broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
      });
      throw error;
    }
  } finally {
    // Every query of the transaction has been answered by now: the connection goes back as it came.
    separateWrites();
    pipelined.pipeline = false;
    client.release(broken);
  }
}

/**
 * Queries sent on a pipelined connection in one turn of the event loop (until its pending promise
 * callbacks have run: process.nextTick) go out in one socket write instead of one each: BEGIN with
 * the work's first statements, or statements sent together. A write to the database's socket was
 * the largest single cost of a page post on PostgreSQL (a quarter of the server's CPU, in
 * writev). node-postgres corks its socket around each query's messages; this holds the cork over
 * the turn. Returns what undoes it (the connection then writes as before).
 */
function coalescedWrites(client: pg.PoolClient): () => void {
  const stream = (client as unknown as { connection?: { stream?: { cork?: () => void; uncork?: () => void } } }).connection?.stream;
  if (typeof stream?.cork !== "function" || typeof stream.uncork !== "function") return () => undefined;
  const { cork, uncork } = { cork: stream.cork.bind(stream), uncork: stream.uncork.bind(stream) };
  const query = client.query;
  let corked = false;
  const release = () => {
    corked = false;
    uncork();
  };
  const coalescing = function (this: pg.PoolClient, ...args: Parameters<pg.PoolClient["query"]>) {
    if (!corked) {
      corked = true;
      cork();
      process.nextTick(release);
    }
    return (query as (...a: unknown[]) => unknown).apply(this, args);
  };
  Object.defineProperty(client, "query", { value: coalescing, configurable: true, writable: true });
  return () => {
    // The prototype's query again (a corked turn still pending is released by its own tick).
    delete (client as { query?: unknown }).query;
    if (client.query !== query) Object.defineProperty(client, "query", { value: query, configurable: true, writable: true });
  };
}

/**
 * A write whose loss in a crash is harmless (a rate-limit counter), as a short transaction of its
 * own that does not cost a durable commit. PostgreSQL: READ COMMITTED (concurrent writers of one
 * row queue on its lock instead of failing as SERIALIZABLE units of work would) with
 * synchronous_commit off for this transaction only: the commit is visible to every instance at
 * once and only waits for the WAL writer, not for a flush. SQLite: `work` runs on the database as
 * it is (autocommit); SQLite's counters belong in the unit of work they go with (see the callers).
 */
export async function lightWrite<T>(db: Executor, work: (tx: Executor) => Promise<T>): Promise<T> {
  if (transactions.has(db) || !postgresPools.has(db)) return work(db);
  return postgresTransaction(db, ["BEGIN", "SET LOCAL synchronous_commit = off"], work);
}

// ---------------------------------------------------------------- prepared queries

/** A query drizzle has turned into SQL once, run with its placeholders' values. */
export interface Prepared<R> {
  execute(placeholderValues?: Record<string, unknown>): Promise<R>;
}

const preparedNames = new Set<string>();

/**
 * A query built once per database rather than on every call (drizzle turning a builder into SQL
 * was most of a survey request's CPU). `build` writes it with drizzle's builder and
 * `sql.placeholder(…)` wherever a value goes; the returned accessor gives it prepared for the
 * executor at hand (the database or a unit of work's), to run with `.execute({ name: value })`:
 * - SQLite: prepared once on the connection; the database's own copy refuses to run while a unit
 *   of work holds the connection, as every other query outside it does;
 * - PostgreSQL: a named statement (`name`, unique per query) the server parses once per pool
 *   connection; a transaction runs the pool's prepared query on its own connection.
 */
export function preparedQuery<Q extends Prepared<unknown>>(name: string, build: (db: Executor) => { prepare(): Q }): (db: Executor) => Q {
  if (preparedNames.has(name)) throw new Error(`preparedQuery: the name ${name} is taken`);
  preparedNames.add(name);
  const byExecutor = new WeakMap<object, Q>();
  const prepared = (db: Executor): Q => {
    const known = byExecutor.get(db);
    if (known) return known;
    const query = prepareFor(db);
    byExecutor.set(db, query);
    return query;
  };
  const prepareFor = (db: Executor): Q => {
    const connection = postgresConnections.get(db);
    if (connection) return onConnection(prepared(connection.db), connection.client);
    if (postgresPools.has(db)) return (build(db) as unknown as { prepare(name: string): Q }).prepare(name);
    const query = build(db).prepare();
    const engine = engines.get(db);
    return engine ? outsideUnitsOfWork(query, engine) : query;
  };
  return prepared;
}

/**
 * A hand-written statement for PostgreSQL alone (what drizzle's builder cannot say, such as a
 * data-modifying WITH), turned into SQL once and run as a named statement (parsed once per
 * connection) on the executor's connection: the unit of work's, or the pool's. `build` writes it
 * with `sql.placeholder(…)` (or columnPlaceholder) wherever a value goes; resolves to the number
 * of rows the statement changed.
 */
export function postgresStatement(name: string, build: () => SQL): (db: Executor, values: Record<string, unknown>) => Promise<number> {
  if (preparedNames.has(name)) throw new Error(`postgresStatement: the name ${name} is taken`);
  preparedNames.add(name);
  let query: { sql: string; params: unknown[] } | undefined;
  return async (db, values) => {
    const client = postgresConnections.get(db)?.client ?? postgresPools.get(db);
    if (!client) throw new Error(`postgresStatement ${name}: not a PostgreSQL database`);
    query ??= postgresDialect.sqlToQuery(build());
    return (await client.query({ name, text: query.sql, values: fillPlaceholders(query.params, values) })).rowCount ?? 0;
  };
}

/** node-postgres' prepared query runs on its `client` (the pool's): the same query on a transaction's connection. */
function onConnection<Q extends object>(query: Q, client: pg.PoolClient): Q {
  if (!("client" in query)) throw new Error("preparedQuery: drizzle's prepared query no longer keeps its client");
  return Object.create(query, { client: { value: client } }) as Q;
}

function outsideUnitsOfWork<Q extends Prepared<unknown>>(query: Q, engine: SqliteEngine): Q {
  const execute = (values?: Record<string, unknown>) => {
    if (engine.open) throw new Error("a query ran outside the unit of work holding the connection's transaction");
    // drizzle's SQLite result runs its statement when `then` is called: now, while the check holds.
    return query.execute(values).then((result) => result);
  };
  return Object.create(query, { execute: { value: execute } }) as Q;
}

/**
 * A placeholder for a value written to `column`, encoded as the column encodes values (JSON,
 * times), with null kept as NULL: a bare placeholder encodes null too (JSON columns would store
 * the text "null", time columns throw).
 */
export function columnPlaceholder(column: Column, name: string): SQL {
  const encoder = { mapToDriverValue: (value: unknown) => (value === null ? null : column.mapToDriverValue(value)) };
  return sql`${sql.param(sql.placeholder(name), encoder)}`;
}
