import { describe, expect, it } from "vitest";
import { isPostgres, observeUnitsOfWork, unitOfWork, type Db, type Executor } from "../../db/client.js";
import { takeRateLimit } from "../../db/queries/rate-limits.js";
import { freshDb } from "../helpers.js";
import { sqlRows } from "../support/sql.js";
import { watchStatements } from "../support/statements.js";

/**
 * Issue 16, item 2: units of work asking for group commit at the same moment share one
 * transaction and one commit on SQLite, each in a savepoint of its own; on PostgreSQL they are
 * ordinary units of work. Either way each caller gets its own outcome, once it is durable.
 */

const take = (key: string) => (tx: Executor) => takeRateLimit(tx, key, new Date(), 60_000, 100);
const findRateLimitHits = (db: Db) => sqlRows(db, "SELECT key, hits FROM rate_limits ORDER BY key");

describe("group commit", () => {
  it("commits units asked for together once, rolls back only the one that throws, and answers each after the commit", async () => {
    const db = freshDb();
    const watch = watchStatements(db);
    const ended: boolean[] = [];
    const stop = observeUnitsOfWork((e) => ended.push(e.committed));
    try {
      const outcomes = await Promise.allSettled([
        unitOfWork(db, take("a"), { groupCommit: true }),
        unitOfWork(
          db,
          async (tx) => {
            await take("b")(tx);
            throw new Error("b changed its mind");
          },
          { groupCommit: true },
        ),
        unitOfWork(db, take("c"), { groupCommit: true }),
      ]);
      expect(outcomes.map((o) => o.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
      expect((outcomes[1] as PromiseRejectedResult).reason).toHaveProperty("message", "b changed its mind");
      expect(await findRateLimitHits(db)).toEqual([
        { key: "a", hits: 1 },
        { key: "c", hits: 1 },
      ]);
      expect([...ended].sort()).toEqual([false, true, true]);
      // One commit for the three on SQLite (PostgreSQL runs them side by side, each with its own).
      if (!isPostgres(db)) expect(watch.take().durableCommits).toBe(1);
    } finally {
      stop();
      watch.stop();
    }
  });

  it("answers every unit of a group with the error when the group's transaction cannot go on", async () => {
    const db = freshDb();
    const outcomes = await Promise.allSettled([
      unitOfWork(db, take("d"), { groupCommit: true }),
      unitOfWork(
        db,
        async (tx) => {
          await take("e")(tx);
          // Ends the transaction itself (an I/O error would): nothing of the group may be kept.
          if (!isPostgres(db)) db.$client.exec("ROLLBACK");
          throw new Error("the transaction is gone");
        },
        { groupCommit: true },
      ),
    ]);
    if (isPostgres(db)) {
      expect(outcomes.map((o) => o.status)).toEqual(["fulfilled", "rejected"]);
      expect(await findRateLimitHits(db)).toEqual([{ key: "d", hits: 1 }]);
    } else {
      expect(outcomes.map((o) => o.status)).toEqual(["rejected", "rejected"]);
      expect(await findRateLimitHits(db)).toEqual([]);
    }
  });
});
