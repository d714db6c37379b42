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
import { closeDatabase, openDatabase, type Db } from "../db/client.js";
import { runMigrations } from "../db/migrate.js";
import { ConfigError, orExit } from "./config.js";

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
      if (db) closeDatabase(db);
      // drizzle wraps a failing statement's SqliteError in its own error, as `cause`.
      const code = (error as { code?: unknown }).code ?? (error as { cause?: { code?: unknown } }).cause?.code;
      if (typeof code !== "string" || !/^(SQLITE_(CANTOPEN|READONLY|PERM|NOTADB|CORRUPT|FULL|IOERR)|E[A-Z]+$)/.test(code)) throw error;
      throw new ConfigError([
        `cannot open the database ${resolve(path)} (${code}: ${(error as Error).message}): check that the file and its folder are writable by ${whoAmI()}, or set DATABASE_PATH`,
      ]);
    }
  });
}
