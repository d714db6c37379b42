/**
 * Every SQL statement a database runs while a test watches, on either engine: SQLite's statements
 * as better-sqlite3 runs them (prepared or not), PostgreSQL's as node-postgres sends them. For
 * tests that hold the respondent's path to a number of statements and commits.
 */
import Database from "better-sqlite3";
import pg from "pg";
import { isPostgres, type Db } from "../../db/client.js";

export interface StatementTally {
  /** The statements that read or write data (not BEGIN/COMMIT, savepoints or connection settings). */
  statements: string[];
  /** Commits that wait for the disk: of transactions that wrote, and of writes outside a transaction. */
  durableCommits: number;
  /** Commits of transactions with synchronous_commit off (db/client.ts lightWrite). */
  lightCommits: number;
}

export interface StatementWatch {
  /** What ran since the watch started or since the last call. */
  take(): StatementTally;
  stop(): void;
}

export function watchStatements(db: Db): StatementWatch {
  const log: string[] = [];
  const stop = isPostgres(db) ? watchPostgres(log) : watchSqlite(db.$client, log);
  return {
    take: () => tally(log.splice(0)),
    stop,
  };
}

function watchSqlite(client: Database.Database, log: string[]): () => void {
  const statement = Object.getPrototypeOf(client.prepare("SELECT 1")) as Record<string, unknown>;
  const methods = ["run", "get", "all", "iterate"] as const;
  const originals = methods.map((m) => statement[m] as (...args: unknown[]) => unknown);
  methods.forEach((m, i) => {
    statement[m] = function (this: Database.Statement, ...args: unknown[]) {
      if (this.database === client) log.push(this.source);
      return originals[i]!.apply(this, args);
    };
  });
  const exec = client.exec;
  client.exec = (source: string) => {
    log.push(source);
    return exec.call(client, source);
  };
  return () => {
    methods.forEach((m, i) => (statement[m] = originals[i]));
    client.exec = exec;
  };
}

function watchPostgres(log: string[]): () => void {
  const prototype = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = prototype.query;
  prototype.query = function (this: unknown, ...args: unknown[]) {
    const config = args[0];
    log.push(typeof config === "string" ? config : String((config as { text?: unknown }).text));
    return original.apply(this, args);
  };
  return () => {
    prototype.query = original;
  };
}

function tally(log: readonly string[]): StatementTally {
  const result: StatementTally = { statements: [], durableCommits: 0, lightCommits: 0 };
  let inTransaction = false;
  let light = false;
  let wrote = false;
  for (const text of log) {
    const t = text.trim().toLowerCase();
    if (t.startsWith("pragma")) continue;
    if (t.startsWith("begin")) {
      inTransaction = true;
      light = false;
      wrote = false;
    } else if (t.startsWith("set local synchronous_commit")) {
      light = true;
    } else if (t === "commit") {
      inTransaction = false;
      // A transaction that wrote nothing commits without writing to the log, on both engines.
      if (wrote && light) result.lightCommits++;
      else if (wrote) result.durableCommits++;
    } else if (t === "rollback") {
      inTransaction = false;
    } else if (/^(savepoint|release|rollback to)\b/.test(t)) {
      // A unit of work's own part of a group commit (db/client.ts).
    } else {
      result.statements.push(text);
      // A data-modifying WITH (PostgreSQL) writes too.
      const writes = /^(insert|update|delete)\b/.test(t) || /^with\b[\s\S]*\b(insert|update|delete)\b/.test(t);
      if (writes && !inTransaction) result.durableCommits++;
      wrote ||= writes;
    }
  }
  return result;
}
