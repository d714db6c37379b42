/**
 * Every SQL statement a database runs while a test watches, on either engine: SQLite's statements
 * as better-sqlite3 runs them (prepared or not), PostgreSQL's as node-postgres sends them. For
 * tests that hold the respondent's path to a number of statements and commits.
 */
import { Socket } from "node:net";
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
  /**
   * Every query sent, BEGIN and COMMIT included, less those sent while an earlier query of the same
   * connection was still unanswered (PostgreSQL's pipelined queries share its round trip). SQLite
   * has no round trips: there it is every statement run, BEGIN and COMMIT included.
   */
  roundTrips: number;
  /**
   * Writes to the database's sockets (PostgreSQL; a write is a system call, and one query's messages
   * go in one): what queries sent together save. SQLite has none.
   */
  socketWrites: number;
}

export interface StatementWatch {
  /** What ran since the watch started or since the last call. */
  take(): StatementTally;
  stop(): void;
}

/** A statement as sent; `pipelined`: sent while another query of its connection was in flight. A socket write has no text. */
interface Sent {
  text: string;
  pipelined: boolean;
  socketWrite?: true;
}

export function watchStatements(db: Db): StatementWatch {
  const log: Sent[] = [];
  const stop = isPostgres(db) ? watchPostgres(log) : watchSqlite(db.$client, log);
  return {
    take: () => tally(log.splice(0)),
    stop,
  };
}

function watchSqlite(client: Database.Database, log: Sent[]): () => void {
  const statement = Object.getPrototypeOf(client.prepare("SELECT 1")) as Record<string, unknown>;
  const methods = ["run", "get", "all", "iterate"] as const;
  const originals = methods.map((m) => statement[m] as (...args: unknown[]) => unknown);
  methods.forEach((m, i) => {
    statement[m] = function (this: Database.Statement, ...args: unknown[]) {
      if (this.database === client) log.push({ text: this.source, pipelined: false });
      return originals[i]!.apply(this, args);
    };
  });
  const exec = client.exec;
  client.exec = (source: string) => {
    log.push({ text: source, pipelined: false });
    return exec.call(client, source);
  };
  return () => {
    methods.forEach((m, i) => (statement[m] = originals[i]));
    client.exec = exec;
  };
}

function watchPostgres(log: Sent[]): () => void {
  const prototype = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = prototype.query;
  const inFlight = new WeakMap<object, number>();
  prototype.query = function (this: object, ...args: unknown[]) {
    const config = args[0];
    const pending = inFlight.get(this) ?? 0;
    log.push({ text: typeof config === "string" ? config : String((config as { text?: unknown }).text), pipelined: pending > 0 && (this as { pipeline?: boolean }).pipeline === true });
    const result = original.apply(this, args);
    if (result instanceof Promise) {
      inFlight.set(this, pending + 1);
      const settled = () => inFlight.set(this, (inFlight.get(this) ?? 1) - 1);
      result.then(settled, settled);
    }
    return result;
  };
  // The sockets of the connections queries were sent on: their writes are counted as they reach the socket.
  const sockets = new WeakSet<object>();
  const socket = Socket.prototype as unknown as Record<"_write" | "_writev", (...args: unknown[]) => unknown>;
  const writes = { _write: socket._write, _writev: socket._writev };
  for (const method of ["_write", "_writev"] as const) {
    socket[method] = function (this: object, ...args: unknown[]) {
      if (sockets.has(this)) log.push({ text: "", pipelined: false, socketWrite: true });
      return writes[method].apply(this, args);
    };
  }
  const watched = prototype.query;
  prototype.query = function (this: object, ...args: unknown[]) {
    const stream = (this as { connection?: { stream?: object } }).connection?.stream;
    if (stream) sockets.add(stream);
    return watched.apply(this, args);
  };
  return () => {
    prototype.query = original;
    socket._write = writes._write;
    socket._writev = writes._writev;
  };
}

function tally(log: readonly Sent[]): StatementTally {
  const result: StatementTally = { statements: [], durableCommits: 0, lightCommits: 0, roundTrips: 0, socketWrites: 0 };
  let inTransaction = false;
  let light = false;
  let wrote = false;
  for (const { text, pipelined, socketWrite } of log) {
    if (socketWrite) {
      result.socketWrites++;
      continue;
    }
    const t = text.trim().toLowerCase();
    if (t.startsWith("pragma")) continue;
    if (!pipelined) result.roundTrips++;
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
