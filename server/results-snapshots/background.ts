import type { Db } from "../../db/client.js";
import { logger } from "../logger.js";

/**
 * The bookkeeping of precomputations (results snapshots, the coding page's review queue) in this
 * process: one computation per key and database at a time (a second caller joins the running
 * one), every one awaitable (tests, a graceful shutdown), and one that failed in the background
 * not started again on every page view but after RETRY_MS.
 */

const running = new WeakMap<Db, Map<string, Promise<unknown>>>();
const failed = new WeakMap<Db, Map<string, number>>();
const RETRY_MS = 30_000;

function on<V>(map: WeakMap<Db, Map<string, V>>, db: Db): Map<string, V> {
  let byKey = map.get(db);
  if (!byKey) map.set(db, (byKey = new Map()));
  return byKey;
}

/** Runs `work` unless the computation of `key` is running already, in which case its promise is returned. */
export function runOnce<T>(db: Db, key: string, work: () => Promise<T>): Promise<T> {
  const map = on(running, db);
  const current = map.get(key);
  if (current) return current as Promise<T>;
  const done = work().finally(() => map.delete(key));
  map.set(key, done);
  return done;
}

/**
 * Starts `work` in the background (as runOnce) and returns at once. A failure is logged with
 * `fields` and the key is left alone for RETRY_MS.
 */
export function runInBackground(db: Db, key: string, work: () => Promise<unknown>, fields: Record<string, unknown>): void {
  const failures = on(failed, db);
  const lastFailure = failures.get(key);
  if (lastFailure !== undefined && Date.now() - lastFailure < RETRY_MS) return;
  runOnce(db, key, work).then(
    () => failures.delete(key),
    (error: unknown) => {
      failures.set(key, Date.now());
      logger.error("background computation failed", error, { key, ...fields });
    },
  );
}

/** Resolves when every computation running on this database has ended, those started meanwhile too. */
export async function backgroundSettled(db: Db): Promise<void> {
  const map = on(running, db);
  for (let pending = [...map.values()]; pending.length > 0; pending = [...map.values()]) await Promise.allSettled(pending);
}
