import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import { closeDatabase, databaseLocation, openDatabase } from "../../db/client.js";
import { runMigrations } from "../../db/migrate.js";
import { stopXlsxWorker, writeWorkbookInWorker } from "../../server/exports/xlsx-pool.js";
import { computeReviewQueueInWorker, stopResultsWorker } from "../../server/results-snapshots/worker-pool.js";
import { lowerWorkerPriority, WORKER_NICE } from "../../server/thread-priority.js";
import { WorkerThread, workerScript } from "../../server/worker-thread.js";

/**
 * Issue 16: the worker threads (results, review queue, flags batches, XLSX) run at a lower
 * priority than the event loop that serves respondents, which they may share a core with. Linux
 * only: elsewhere they run at the process's priority.
 */

/** The nice value of each thread of this process, by thread id (the 19th field of its stat line; the command name, 2nd, may hold spaces). */
function niceByThread(): Map<number, number> {
  const out = new Map<number, number>();
  for (const id of readdirSync("/proc/self/task")) {
    try {
      const stat = readFileSync(`/proc/self/task/${id}/stat`, "utf8");
      out.set(Number(id), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16]));
    } catch {
      // The thread ended meanwhile.
    }
  }
  return out;
}

const lowered = () => [...niceByThread()].filter(([, nice]) => nice === WORKER_NICE).map(([id]) => id);

describe.runIf(process.platform === "linux")("worker thread priority", () => {
  const dirs: string[] = [];
  afterAll(async () => {
    await stopResultsWorker();
    await stopXlsxWorker();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it("is left alone on the main thread", () => {
    const before = niceByThread().get(process.pid);
    expect(lowerWorkerPriority()).toBeUndefined();
    expect(niceByThread().get(process.pid)).toBe(before);
    expect(before).not.toBe(WORKER_NICE);
  });

  it("is lowered before the thread loads its module (loading one is CPU work too)", { timeout: 60_000 }, async () => {
    const thread = new WorkerThread<{ id: number }, { id: number; niceAtLoad: number }>("nice test", () =>
      workerScript(new URL("../fixtures/workers/worker-pool.ts", import.meta.url).href, "nice-at-load"),
    );
    try {
      const niceAtLoad = await new Promise<number>((resolve, reject) => {
        const task = thread.open({ reply: (reply) => (resolve(reply.niceAtLoad), true), fail: reject });
        task.post({ id: task.id });
      });
      expect(niceAtLoad).toBe(WORKER_NICE);
    } finally {
      await thread.stop();
    }
  });

  it("is lowered in the results worker and in the XLSX worker", { timeout: 60_000 }, async () => {
    await stopResultsWorker();
    await stopXlsxWorker();
    expect(lowered()).toEqual([]);
    const dir = mkdtempSync(join(tmpdir(), "brand-lift-priority-"));
    dirs.push(dir);
    const db = openDatabase(join(dir, "priority.db"));
    runMigrations(db);
    try {
      expect(await computeReviewQueueInWorker(databaseLocation(db)!, 1)).toBeNull();
    } finally {
      await closeDatabase(db);
    }
    const results = lowered();
    expect(results).toHaveLength(1);
    const out = new PassThrough();
    out.resume();
    await writeWorkbookInWorker(out, { kind: "results", spec: { created: new Date(0).toISOString(), sheets: [] } });
    expect(lowered()).toHaveLength(2);
    expect(lowered()).toEqual(expect.arrayContaining(results));
    expect(niceByThread().get(process.pid)).not.toBe(WORKER_NICE);
  });
});
