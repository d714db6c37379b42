import { randomBytes } from "node:crypto";
import {
  accessSync,
  closeSync,
  constants,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from "node:fs";
import { userInfo } from "node:os";
import { basename, dirname, resolve } from "node:path";
import { sql } from "drizzle-orm";
import { closeDatabase, openDatabase, openPostgres, rawRows, type Db } from "../db/client.js";
import { runMigrations, runPostgresMigrations } from "../db/migrate.js";
import { ConfigError, DEFAULT_POOL, orExit, redactUrl, type Config, type PoolSettings } from "./config.js";

/**
 * The database, its WAL and SHM, backups and the session secret hold every answer and the key
 * that signs forms: nobody but the owner may read them. Entry points call this first, so every
 * file and folder the process creates (SQLite's included) is 0600/0700.
 */
export function restrictNewFiles(): void {
  process.umask(0o077);
}

/** "user nobody (uid 65534)", to say whose permissions are missing. */
function whoAmI(): string {
  try {
    return `user ${userInfo().username} (uid ${process.getuid?.() ?? "?"})`;
  } catch {
    return "this user";
  }
}

/**
 * Creates the data folder (0700) when missing and checks this process can write in it (SQLite
 * creates the WAL and SHM beside the database): one line and exit 2 at start instead of a stack
 * trace at the first write.
 */
export function ensureDataFolder(folder: string): void {
  const path = resolve(folder);
  try {
    mkdirSync(path, { recursive: true, mode: 0o700 });
    if (!statSync(path).isDirectory()) throw Object.assign(new Error("not a folder"), { code: "ENOTDIR" });
    accessSync(path, constants.W_OK | constants.X_OK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new ConfigError([
      `the data folder ${path} is not writable by ${whoAmI()} (${code}): make it writable (chown/chmod), or set DATABASE_PATH to a file in a writable folder`,
    ]);
  }
}

/**
 * Writes `file` whole or not at all: a temporary file in the same folder, fsync, then into place,
 * then the folder fsynced so the name survives a power cut. With `replace: false` an existing file
 * wins (a hard link, unlike rename, never replaces what another process wrote first).
 */
export function writeFileAtomic(file: string, content: string, { replace }: { replace: boolean }): void {
  const folder = dirname(file);
  const temporary = resolve(folder, `.${basename(file)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    const fd = openSync(temporary, "wx", 0o600);
    try {
      writeSync(fd, content);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    if (replace) renameSync(temporary, file);
    else placeUnlessExists(temporary, file);
    syncFolder(folder);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new ConfigError([`cannot write ${file} (${code}): free some disk space or make ${folder} writable, then start again`]);
  } finally {
    rmSync(temporary, { force: true });
  }
}

function placeUnlessExists(temporary: string, file: string): void {
  try {
    linkSync(temporary, file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EEXIST") return;
    // File systems without hard links: rename, accepting the (tiny) race between two first starts.
    if (code === "EPERM" || code === "ENOTSUP" || code === "ENOSYS" || code === "EOPNOTSUPP") renameSync(temporary, file);
    else throw error;
  }
}

function syncFolder(folder: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(folder, "r");
    fsyncSync(fd);
  } catch {
    // Some platforms cannot open or fsync a folder; the file itself is already on disk.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Opens (and migrates) the database for an entry point; a folder or file this user cannot write,
 * or a file that is not a database, is one line and exit 2 rather than a stack trace.
 */
export function openDatabaseOrExit(path: string, { migrate }: { migrate: boolean }): Db {
  return orExit(() => {
    if (path !== ":memory:" && path !== "" && !path.startsWith("file:")) ensureDataFolder(dirname(path));
    let db: Db | undefined;
    try {
      db = openDatabase(path);
      if (migrate) runMigrations(db);
      return db;
    } catch (error) {
      // A SQLite file closes before closeDatabase returns: nothing to wait for.
      if (db) void closeDatabase(db);
      // drizzle wraps a failing statement's SqliteError in its own error, as `cause`.
      const code = (error as { code?: unknown }).code ?? (error as { cause?: { code?: unknown } }).cause?.code;
      if (typeof code !== "string" || !/^(SQLITE_(CANTOPEN|READONLY|PERM|NOTADB|CORRUPT|FULL|IOERR)|E[A-Z]+$)/.test(code)) throw error;
      throw new ConfigError([
        `cannot open the database ${resolve(path)} (${code}: ${(error as Error).message}): check that the file and its folder are writable by ${whoAmI()}, or set DATABASE_PATH`,
      ]);
    }
  });
}

/**
 * Opens the configured database for an entry point: the PostgreSQL pool when DATABASE_URL is set
 * (migrated, when asked, before anything is served), the SQLite file otherwise. A server that
 * cannot be reached or refuses the login is one line and exit 2, as a bad file is.
 */
export async function openConfiguredDatabaseOrExit(
  config: Pick<Config, "databasePath" | "databaseUrl"> & Partial<Pick<Config, "databasePool">>,
  options: { migrate: boolean; onIdleError?: (error: Error) => void },
): Promise<Db> {
  if (config.databaseUrl === undefined) return openDatabaseOrExit(config.databasePath, options);
  try {
    return await openPostgresDatabase(config.databaseUrl, { ...options, ...(config.databasePool ? { pool: config.databasePool } : {}) });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(2);
  }
}

/**
 * Opens the pool and makes a first round trip, so a bad URL fails here: whatever stops that first
 * `SELECT 1` is the environment's doing (TLS asked of a server without it, a malformed option…)
 * and becomes a configuration line; a failing migration is only when it is a known condition.
 */
export async function openPostgresDatabase(
  url: string,
  options: { migrate: boolean; onIdleError?: (error: Error) => void; pool?: PoolSettings },
): Promise<Db> {
  const pool = options.pool ?? DEFAULT_POOL;
  const db = openPostgres(url, { max: pool.max, connectTimeoutMs: pool.connectTimeoutMs, ...(options.onIdleError ? { onIdleError: options.onIdleError } : {}) });
  let connected = false;
  try {
    await rawRows(db, sql`SELECT 1`);
    connected = true;
    if (options.migrate) await runPostgresMigrations(db);
    return db;
  } catch (error) {
    await closeDatabase(db).catch(() => undefined);
    const problem = postgresConnectionProblem(error, url) ?? (connected ? undefined : unknownConnectionProblem(error, url));
    throw problem === undefined ? error : new ConfigError([problem]);
  }
}

function unknownConnectionProblem(error: unknown, url: string): string {
  // drizzle reports "Failed query: …"; the driver's reason is its cause.
  const cause = (error as { cause?: unknown }).cause ?? error;
  const message = ((cause as Error).message || String(cause)).split("\n")[0];
  return `DATABASE_URL: cannot connect to the PostgreSQL database ${redactUrl(url)} (${message}): check the URL and its options against the server`;
}

/** What an operator can do about each way a connection fails (network errors, then PostgreSQL's SQLSTATEs). */
const CONNECTION_HINTS: Record<string, (u: URL) => string> = {
  ECONNREFUSED: (u) => `nothing accepts connections at ${u.hostname}:${u.port || 5432}: start PostgreSQL there, or fix the host and port`,
  ECONNRESET: (u) => `${u.hostname}:${u.port || 5432} closed the connection: check that it is a PostgreSQL server and that it accepts this client (pg_hba.conf, TLS)`,
  CONNECT_TIMEOUT: (u) =>
    `${u.hostname}:${u.port || 5432} did not complete a connection in time: check the host, the port and the firewall (DATABASE_CONNECT_TIMEOUT sets how long to wait)`,
  ETIMEDOUT: (u) => `${u.hostname}:${u.port || 5432} does not answer: check the host, the port and the firewall`,
  EHOSTUNREACH: (u) => `${u.hostname} cannot be reached from this machine: check the host and the network`,
  ENETUNREACH: (u) => `${u.hostname} cannot be reached from this machine: check the host and the network`,
  ENOTFOUND: (u) => `the host name ${u.hostname} does not resolve: fix the host`,
  EAI_AGAIN: (u) => `the host name ${u.hostname} could not be resolved (DNS did not answer): fix the host or the DNS`,
  "28P01": (u) => `the server refused the password of user ${decodeURIComponent(u.username) || "(none given)"}: fix the user name and password`,
  "28000": (u) => `the server does not let user ${decodeURIComponent(u.username) || "(none given)"} in from here (pg_hba.conf): allow this client, or use another user`,
  "3D000": (u) => `there is no database ${decodeURIComponent(u.pathname.slice(1)) || "(none named)"} on the server: create it (createdb), or fix the database name at the end of the URL`,
  "42501": (u) => `user ${decodeURIComponent(u.username) || "(none given)"} may not create the app's tables: grant it CREATE on the database (or make it the owner)`,
  "53300": () => "the server has no connection left (too many clients): raise max_connections or lower the pools of other instances",
  "57P03": () => "the server is starting up or shutting down: start the app again once it accepts connections",
};

/** The one line saying why the database at `url` could not be used, or undefined for any other error. */
export function postgresConnectionProblem(error: unknown, url: string): string | undefined {
  const cause = (error as { cause?: unknown }).cause ?? error;
  // node-postgres's own timeout (connectionTimeoutMillis) carries no code, only this message.
  const timedOut = /connection timeout/i.test((cause as Error)?.message ?? "");
  const code = timedOut ? "CONNECT_TIMEOUT" : ((error as { code?: unknown }).code ?? (error as { cause?: { code?: unknown } }).cause?.code);
  const hint = typeof code === "string" ? CONNECTION_HINTS[code] : undefined;
  if (!hint) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  return `DATABASE_URL: cannot use the PostgreSQL database ${redactUrl(url)} (${code}): ${hint(parsed)}`;
}
