import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { isPostgres, lightWrite, rawRows, unitOfWork, type Executor } from "../../db/client.js";
import { findResponseByNonce, setResponseProgress, startResponse, type StartedResponse } from "../../db/queries/responses.js";
import { takeRateLimit } from "../../db/queries/rate-limits.js";
import { openSurvey } from "../fixtures/surveys.js";
import { freshDb } from "../helpers.js";
import { TEST_ENGINE } from "../support/postgres.js";
import { sqlRows, sqlValue } from "../support/sql.js";

/**
 * Issue 16, item 2: the respondent's queries are built once per database (db/client.ts
 * preparedQuery) and must behave as the queries they replace: inside a unit of work they are part
 * of it, outside it they cannot slip into it, and nulls are stored as NULL.
 */

async function started(overrides: Partial<StartedResponse> = {}) {
  const db = freshDb();
  const survey = await openSurvey(db);
  const response: StartedResponse = {
    waveId: survey.wave.id,
    segmentId: survey.segments[0]!.id,
    linkId: survey.links["subscribers"]!.id,
    nonce: "n".repeat(22),
    status: "partial",
    locale: "ru",
    startedAt: new Date(1_700_000_000_000),
    currentPage: 0,
    params: null,
    optionOrder: null,
    browserHash: null,
    networkHash: "h",
    qualityFlags: null,
    ...overrides,
  };
  return { db, response };
}

describe("prepared queries", () => {
  it("run inside a unit of work as part of it: they see its writes, and are rolled back with it", async () => {
    const { db, response } = await started();
    const seen = await unitOfWork(db, async (tx) => {
      await startResponse(tx, response);
      return findResponseByNonce(tx, response.nonce);
    });
    expect(seen?.nonce).toBe(response.nonce);

    const other = { ...response, nonce: "m".repeat(22) };
    await expect(
      unitOfWork(db, async (tx) => {
        const row = await startResponse(tx, other);
        await setResponseProgress(tx, row.id, { status: "completed", currentPage: 0, locale: "en", completedAt: new Date(), durationMs: 5, qualityFlags: null });
        expect((await findResponseByNonce(tx, other.nonce))?.status).toBe("completed");
        throw new Error("changed my mind");
      }),
    ).rejects.toThrow("changed my mind");
    expect(await findResponseByNonce(db, other.nonce)).toBeUndefined();
  });

  it("store nulls as NULL and values as their columns encode them", async () => {
    const { db, response } = await started({ params: { rid: "7" }, optionOrder: null, qualityFlags: [{ code: "honeypot" }] });
    const row = await startResponse(db, response);
    expect(row).toMatchObject({ params: { rid: "7" }, optionOrder: null, qualityFlags: [{ code: "honeypot" }], startedAt: response.startedAt });
    expect(await sqlValue<number>(db, "SELECT count(*) FROM responses WHERE option_order IS NULL AND completed_at IS NULL AND params IS NOT NULL")).toBe(1);
    await setResponseProgress(db, row.id, { status: "partial", currentPage: 1, locale: "en", completedAt: null, durationMs: null, qualityFlags: row.qualityFlags });
    expect(await sqlRows(db, "SELECT current_page, locale, completed_at, duration_ms, checked_at FROM responses")).toEqual([{ current_page: 1, locale: "en", completed_at: null, duration_ms: null, checked_at: null }]);
    expect((await findResponseByNonce(db, response.nonce))?.qualityFlags).toEqual([{ code: "honeypot" }]);
    await setResponseProgress(db, row.id, { status: "partial", currentPage: 1, locale: "en", completedAt: null, durationMs: null, qualityFlags: null });
    expect(await sqlValue<number>(db, "SELECT count(*) FROM responses WHERE quality_flags IS NULL")).toBe(1);
  });

  it.runIf(TEST_ENGINE === "sqlite")("on SQLite, refuse to run on the database while a unit of work holds its connection", async () => {
    const { db, response } = await started();
    await expect(unitOfWork(db, async () => findResponseByNonce(db, response.nonce))).rejects.toThrow("outside the unit of work");
  });
});

describe("a light write", () => {
  it("commits without waiting for the disk on PostgreSQL, for itself only, and its count is there for everyone", async () => {
    const db = freshDb();
    const setting = async (tx: Executor) => (await rawRows<{ synchronous_commit: string }>(tx, sql`SHOW synchronous_commit`))[0]?.synchronous_commit;
    const now = new Date();
    const before = isPostgres(db) ? await setting(db) : undefined;
    const inside = await lightWrite(db, async (tx) => {
      await takeRateLimit(tx, "survey-post:198.51.100.1", now, 60_000, 10);
      return isPostgres(db) ? setting(tx) : undefined;
    });
    if (isPostgres(db)) {
      expect(inside).toBe("off");
      // The server's own setting again afterwards (a throw-away test server may run with it off anyway).
      expect(await setting(db)).toBe(before);
    }
    expect(await sqlRows(db, "SELECT hits FROM rate_limits")).toEqual([{ hits: 1 }]);
  });
});
