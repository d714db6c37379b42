import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { closeDatabase, openDatabase, unitOfWork, type Db } from "../../db/client.js";
import { checkpointOnThread, startBackgroundCheckpoints, type CheckpointResult } from "../../server/sqlite-checkpoints.js";
import { stopWorkerThreads } from "../../server/worker-thread.js";
import { freshDb } from "../helpers.js";

const dirs: string[] = [];
const opened: Db[] = [];

function fileDb(): { db: Db; path: string } {
  const dir = mkdtempSync(join(tmpdir(), "brand-lift-checkpoints-"));
  dirs.push(dir);
  const path = join(dir, "test.db");
  const db = openDatabase(path);
  opened.push(db);
  db.$client.exec("CREATE TABLE filler (id INTEGER PRIMARY KEY, body BLOB NOT NULL)");
  return { db, path };
}

afterEach(async () => {
  await stopWorkerThreads();
  for (const db of opened.splice(0)) await closeDatabase(db);
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const UNIT_BYTES = 64 * 1024;

/** One unit of work writing about UNIT_BYTES (16 pages) of new rows. */
function writeUnit(db: Db): Promise<void> {
  return unitOfWork(db, async (tx) => {
    await tx.run(sql`INSERT INTO filler (body) VALUES (randomblob(${UNIT_BYTES}))`);
  });
}

const walSize = (path: string) => statSync(`${path}-wal`).size;
const autocheckpoint = (db: Db) => db.$client.pragma("wal_autocheckpoint", { simple: true });

describe("SQLite checkpoints in the background", () => {
  it("the connection stops checkpointing in its commits; the thread copies the WAL into the file and the WAL stays bounded", async () => {
    const { db, path } = fileDb();
    const threshold = 256 * 1024;
    const results: CheckpointResult[] = [];
    const checkpoints = startBackgroundCheckpoints(db, { thresholdBytes: threshold, onCheckpoint: (r) => results.push(r) })!;
    expect(checkpoints).toBeDefined();
    expect(autocheckpoint(db)).toBe(0);
    const fileBefore = statSync(path).size;

    let largestWal = 0;
    const units = 40;
    for (let i = 0; i < units; i++) {
      await writeUnit(db);
      largestWal = Math.max(largestWal, walSize(path));
      await checkpoints.settled();
    }

    // 40 units of 64 KiB went through a WAL that never held much more than the threshold.
    expect(results.length).toBeGreaterThanOrEqual(5);
    for (const result of results) {
      expect(result.walFrames).toBeGreaterThan(0);
      expect(result.checkpointedFrames).toBe(result.walFrames);
    }
    expect(largestWal).toBeLessThan(threshold + 3 * UNIT_BYTES);
    expect(statSync(path).size - fileBefore).toBeGreaterThan(units * UNIT_BYTES * 0.6);

    checkpoints.stop();
    expect(autocheckpoint(db)).toBe(1000);
    await closeDatabase(db);
    opened.splice(opened.indexOf(db), 1);
    const reopened = new Database(path, { readonly: true });
    expect(reopened.prepare("SELECT count(*) AS n FROM filler").get()).toEqual({ n: units });
    reopened.close();
  });

  it("without a checkpoint nothing copies the WAL: it grows with every commit (what the thread prevents)", async () => {
    const { db, path } = fileDb();
    const checkpoints = startBackgroundCheckpoints(db, { thresholdBytes: Number.MAX_SAFE_INTEGER })!;
    for (let i = 0; i < 40; i++) await writeUnit(db);
    expect(walSize(path)).toBeGreaterThan(40 * UNIT_BYTES);
    checkpoints.stop();
  });

  it("a failed checkpoint gives checkpoints back to the connection's commits, and says so", async () => {
    const { db, path } = fileDb();
    const failures: Error[] = [];
    startBackgroundCheckpoints(db, {
      thresholdBytes: 128 * 1024,
      checkpoint: () => Promise.reject(new Error("disk gone")),
      onFallback: (error) => failures.push(error),
    });
    expect(autocheckpoint(db)).toBe(0);
    for (let i = 0; i < 4; i++) await writeUnit(db);
    await new Promise((resolve) => setImmediate(resolve));
    expect(failures.map((e) => e.message)).toEqual(["disk gone"]);
    expect(autocheckpoint(db)).toBe(1000);
    // SQLite's own checkpoints are back: past 1,000 pages a commit copies the WAL and the next starts it over.
    for (let i = 0; i < 80; i++) await writeUnit(db);
    expect(walSize(path)).toBeLessThan(80 * UNIT_BYTES);
  });

  it("the thread reports a failure (no such file) as an error, not a crash", async () => {
    await expect(checkpointOnThread(join(tmpdir(), "brand-lift-no-such-dir", "none.db"))).rejects.toThrow(/unable to open|directory does not exist/);
  });

  it("leaves a database without a WAL file alone (in memory, or PostgreSQL)", () => {
    expect(startBackgroundCheckpoints(freshDb())).toBeUndefined();
  });
});
