import { mkdtempSync, readdirSync, readlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { sql } from "drizzle-orm";
import request from "supertest";
import { describe, expect, it, vi } from "vitest";
import { closeDatabase, openDatabase, unitOfWork, type Db, type Executor, type OpenOptions } from "../../db/client.js";
import { runMigrations } from "../../db/migrate.js";
import { sharedFlushes, walFile } from "../../db/wal-flush.js";
import { createApp } from "../../server/app.js";
import { testConfig } from "../../server/config.js";
import { hiddenFields } from "../durability/survey-client.js";
import { openSurvey } from "../fixtures/surveys.js";

/**
 * Issue 16: units of work on a SQLite file commit at synchronous=NORMAL and are answered only after
 * an fsync of the WAL file that began after their commit, off the event loop, shared by the commits
 * made meanwhile (db/client.ts, db/wal-flush.ts). SQLite only: PostgreSQL flushes in its server.
 */

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

function tempPath(name: string): string {
  return join(mkdtempSync(join(tmpdir(), "bl-walflush-")), name);
}

function fileDb(walSync?: OpenOptions["walSync"]): Db {
  const db = openDatabase(tempPath("w.db"), walSync ? { walSync } : {});
  db.$client.exec("CREATE TABLE t (v TEXT NOT NULL)");
  return db;
}

const insert = (v: string) => async (tx: Executor) => {
  await tx.run(sql`INSERT INTO t (v) VALUES (${v})`);
  return v;
};
const rows = (db: Db) => (db.$client.prepare("SELECT count(*) AS n FROM t").get() as { n: number }).n;
const synchronous = (db: Db) => db.$client.pragma("synchronous", { simple: true });

/** Flushes that wait to be let through one by one; the log says when each began and ended. */
function gatedFlushes() {
  const log: string[] = [];
  const gates: Array<() => void> = [];
  let open = false;
  const walSync = async (fsync: () => Promise<void>) => {
    const n = gates.length + 1;
    log.push(`flush ${n} begins`);
    await new Promise<void>((resolve) => gates.push(resolve));
    await fsync();
    log.push(`flush ${n} ends`);
  };
  return {
    log,
    walSync,
    started: () => gates.length,
    release: (n: number) => gates[n - 1]!(),
    /** Lets every flush through, now and from now on. */
    openAll() {
      open = true;
      gates.forEach((g) => g());
      const push = gates.push.bind(gates);
      gates.push = (...g) => {
        if (open) g.forEach((x) => x());
        return push(...g);
      };
    },
  };
}

describe("sharedFlushes", () => {
  it("starts a flush at once when none runs; commits made during it wait for the next one, which they share", async () => {
    const syncs: Array<{ resolve: () => void; reject: (e: unknown) => void }> = [];
    const flush = sharedFlushes(() => new Promise<void>((resolve, reject) => syncs.push({ resolve, reject })));
    const settled: string[] = [];
    const a = flush().then(() => settled.push("a"));
    expect(syncs).toHaveLength(1);
    const b = flush().then(() => settled.push("b"));
    const c = flush().then(() => settled.push("c"));
    expect(syncs).toHaveLength(1);
    syncs[0]!.resolve();
    await a;
    await turn();
    // b and c arrived during flush 1: it may have begun before their frames were written.
    expect(settled).toEqual(["a"]);
    expect(syncs).toHaveLength(2);
    const d = flush().then(() => settled.push("d"));
    syncs[1]!.resolve();
    await Promise.all([b, c]);
    await turn();
    expect(settled).toEqual(["a", "b", "c"]);
    expect(syncs).toHaveLength(3);
    syncs[2]!.resolve();
    await d;
    expect(syncs).toHaveLength(3);
  });

  it("rejects the commits waiting for a flush that fails; the next commit gets a new flush", async () => {
    let calls = 0;
    const flush = sharedFlushes(async () => {
      calls++;
      await turn();
      if (calls <= 2) throw new Error(`flush ${calls} failed`);
    });
    const first = flush();
    const waiting = [flush(), flush()];
    await expect(first).rejects.toThrow("flush 1 failed");
    for (const w of waiting) await expect(w).rejects.toThrow("flush 2 failed");
    await expect(flush()).resolves.toBeUndefined();
    expect(calls).toBe(3);
  });
});

describe("units of work on a SQLite file", () => {
  it.each([
    ["a grouped unit", { groupCommit: true }],
    ["a unit", {}],
  ])("answer %s only after a flush that began after its commit; commits during a flush wait for the next", async (_name, options) => {
    const gated = gatedFlushes();
    const db = fileDb(gated.walSync);
    const answered = (v: string) => unitOfWork(db, insert(v), options).then(() => gated.log.push(`${v} answered`));
    const a = answered("a");
    await vi.waitFor(() => expect(gated.started()).toBe(1));
    // Committed (visible) but not answered while its flush runs.
    expect(rows(db)).toBe(1);
    const b = answered("b");
    await vi.waitFor(() => expect(rows(db)).toBe(2));
    gated.release(1);
    await a;
    await vi.waitFor(() => expect(gated.started()).toBe(2));
    expect(gated.log).not.toContain("b answered");
    gated.release(2);
    await b;
    const at = (entry: string) => gated.log.indexOf(entry);
    expect(at("a answered")).toBeGreaterThan(at("flush 1 ends"));
    expect(at("flush 2 begins")).toBeGreaterThan(at("flush 1 ends"));
    expect(at("b answered")).toBeGreaterThan(at("flush 2 ends"));
    await closeDatabase(db);
  });

  it("lets concurrent commits share flushes: 40 units, 2 flushes", async () => {
    const gated = gatedFlushes();
    const db = fileDb(gated.walSync);
    const units = Array.from({ length: 40 }, (_, i) => unitOfWork(db, insert(`u${i}`), i % 2 ? { groupCommit: true } : {}));
    await vi.waitFor(() => expect(gated.started()).toBe(1));
    // Every unit commits while the first flush runs: the connection is not held for it.
    await vi.waitFor(() => expect(rows(db)).toBe(40));
    gated.openAll();
    expect(await Promise.all(units)).toHaveLength(40);
    expect(gated.started()).toBe(2);
    await closeDatabase(db);
  });

  it("rejects the callers whose flush failed, grouped or not, and leaves the connection at FULL", async () => {
    let failing = true;
    const db = fileDb(async (fsync) => {
      if (failing) throw new Error("the disk refused the flush");
      await fsync();
    });
    const outcomes = await Promise.allSettled([unitOfWork(db, insert("a"), { groupCommit: true }), unitOfWork(db, insert("b"), { groupCommit: true }), unitOfWork(db, insert("c"))]);
    expect(outcomes.map((o) => (o.status === "rejected" ? (o.reason as Error).message : o.status))).toEqual([
      "the disk refused the flush",
      "the disk refused the flush",
      "the disk refused the flush",
    ]);
    expect(synchronous(db)).toBe(2);
    failing = false;
    await expect(unitOfWork(db, insert("d"))).resolves.toBe("d");
    await closeDatabase(db);
  });

  it("commits at NORMAL inside a unit of work and is back at FULL after it, committed, rolled back or grouped", async () => {
    const db = fileDb();
    const seen: unknown[] = [];
    const look = async (tx: Executor) => seen.push((await tx.all<{ synchronous: number }>(sql`PRAGMA synchronous`))[0]!.synchronous);
    await unitOfWork(db, look);
    expect(synchronous(db)).toBe(2);
    await expect(
      unitOfWork(db, async (tx) => {
        await look(tx);
        throw new Error("changed its mind");
      }),
    ).rejects.toThrow("changed its mind");
    expect(synchronous(db)).toBe(2);
    await unitOfWork(db, look, { groupCommit: true });
    expect(synchronous(db)).toBe(2);
    expect(seen).toEqual([1, 1, 1]);
    await closeDatabase(db);
  });

  it("stays at FULL while a unit of work waits for another connection's write lock", async () => {
    const db = fileDb();
    const other = new Database(db.$client.name);
    other.exec("BEGIN IMMEDIATE");
    const unit = unitOfWork(db, insert("a"));
    await new Promise((resolve) => setTimeout(resolve, 50));
    // Between attempts the connection is free for statements outside units of work.
    expect(synchronous(db)).toBe(2);
    other.exec("COMMIT");
    other.close();
    await expect(unit).resolves.toBe("a");
    expect(synchronous(db)).toBe(2);
    await closeDatabase(db);
  });

  it("does not flush a database in memory", async () => {
    const db = openDatabase(":memory:", { walSync: () => Promise.reject(new Error("no flush expected")) });
    db.$client.exec("CREATE TABLE t (v TEXT NOT NULL)");
    await expect(unitOfWork(db, insert("a"))).resolves.toBe("a");
    expect(synchronous(db)).toBe(2);
    await closeDatabase(db);
  });
});

describe("walFile", () => {
  const held = () =>
    readdirSync("/proc/self/fd").map((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`);
      } catch {
        return "";
      }
    });

  it("tells the size it flushed, reopens a WAL file created anew, fails on a missing one while the connection is open, and lets go once it is closed", async () => {
    const path = tempPath("x.db-wal");
    writeFileSync(path, "frames");
    let connectionOpen = true;
    const file = walFile(path, () => connectionOpen);
    // Resolves to the size it flushed (checkpoints are planned on it: server/sqlite-checkpoints.ts).
    await expect(file.sync()).resolves.toBe("frames".length);
    expect(held()).toContain(path);
    unlinkSync(path);
    writeFileSync(path, "new frames");
    await expect(file.sync()).resolves.toBe("new frames".length);
    await vi.waitFor(() => expect(held()).not.toContain(`${path} (deleted)`));
    expect(held()).toContain(path);
    unlinkSync(path);
    await expect(file.sync()).rejects.toHaveProperty("code", "ENOENT");
    // Closed: SQLite checkpointed the WAL into the database file and deleted it.
    connectionOpen = false;
    file.close();
    await expect(file.sync()).resolves.toBe(0);
    await vi.waitFor(() => expect(held().filter((f) => f.startsWith(path))).toEqual([]));
  });
});

describe("the survey on a SQLite file", () => {
  it("answers a submission whose flush failed with an error, not a 303", async () => {
    let failing = false;
    const db = openDatabase(tempPath("app.db"), {
      walSync: async (fsync) => {
        if (failing) throw new Error("the disk refused the flush");
        await fsync();
      },
    });
    runMigrations(db);
    const survey = await openSurvey(db);
    const token = Object.values(survey.links)[0]!.token;
    const agent = request.agent(createApp({ db, config: testConfig() }));
    const page = await agent.get(`/s/${token}`).expect(200);
    const form = new URLSearchParams(hiddenFields(page.text)).toString() + "&q_aided=acme&q_aided=rival&q_recall=yes&q_fav=4&q_feedback=ok";
    failing = true;
    const posted = await agent.post(`/s/${token}`).type("form").send(form);
    expect(posted.status).toBe(500);
    // The browser sends the same form again once the disk is back: the stored response answers it.
    failing = false;
    const retried = await agent.post(`/s/${token}`).type("form").send(form);
    expect(retried.status).toBe(303);
    await closeDatabase(db);
  });
});
