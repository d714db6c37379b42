import { afterAll, describe, expect, it } from "vitest";
import { and, count, eq, sql } from "drizzle-orm";
import { isPostgres, observeUnitsOfWork, rawRows, type Db } from "../../db/client.js";
import { findLinkContext } from "../../db/queries/fieldwork.js";
import { loadQuestionnaire } from "../../db/queries/questionnaire.js";
import { answers, responses } from "../../db/schema.js";
import { newFormToken, respondentHashes, submitPage, type FormToken, type SubmitOutcome } from "../../server/services/respond.js";
import { brandLiftDefinition, openSurvey, personalLink } from "../fixtures/surveys.js";
import { freshDb } from "../helpers.js";
import { dropFreshPostgresDbs, TEST_ENGINE } from "../support/postgres.js";

/**
 * Issue 16: a survey page's unit of work on PostgreSQL runs at READ COMMITTED with the row locks
 * its correctness needs (server/services/respond.ts submitPage) instead of SERIALIZABLE, whose
 * concurrent respondents failed and were retried. Many submissions at once, straight into the
 * service (as many as the pool has connections run together): quotas are never exceeded, a form
 * posted twice at once is stored once, and nothing is retried. On PostgreSQL these fail when the
 * quota row or the response row is not locked; on SQLite the write lock gives the same answers.
 */

const SECRET = "s".repeat(32);
const PAGE_1 = { q_aided: ["acme", "rival"], q_recall: "yes" };
const PAGE_2 = { q_fav: "4", q_feedback: "ok" };

afterAll(async () => {
  if (TEST_ENGINE === "postgres") await dropFreshPostgresDbs();
});

async function survey(db: Db, pageSize: number, target: number | undefined, personal = false) {
  const opened = await openSurvey(db, brandLiftDefinition({ pageSize }), target === undefined ? {} : { subscribers: target });
  const link = personal ? await personalLink(db, opened) : opened.links["subscribers"]!;
  const ctx = (await findLinkContext(db, link.token))!;
  const questions = await loadQuestionnaire(db, opened.study.id);
  /** One respondent's post of page `page` with `form` (its browser and address its own). */
  const post = (who: number, form: FormToken, page: number, body: Record<string, unknown>): Promise<SubmitOutcome> =>
    submitPage(db, questions, {
      ctx,
      who: respondentHashes(SECRET, `browser-${who}`, `10.0.${who >> 8}.${who & 255}`, "test"),
      form,
      body: { _p: String(page), ...body },
      params: {},
      locale: "ru",
      honeypotFilled: false,
      now: new Date(),
    });
  const form = () => newFormToken(SECRET, link.token);
  const statuses = async () => (await db.select({ status: responses.status, n: count() }).from(responses).where(eq(responses.waveId, opened.wave.id)).groupBy(responses.status).orderBy(responses.status)).map((r) => [r.status, r.n]);
  return { opened, post, form, statuses };
}

/** Opens every connection of the pool (PostgreSQL), so that posts sent at once run at once rather than one while the others connect. */
async function warm(db: Db): Promise<void> {
  if (isPostgres(db)) await Promise.all(Array.from({ length: 4 }, () => rawRows(db, sql`SELECT pg_sleep(0.05)`)));
}

/** Counts the units of work that rolled back (on PostgreSQL: retried serialization failures) while `work` runs. */
async function rollbacks<T>(work: () => Promise<T>): Promise<{ result: T; rolledBack: number; units: number }> {
  let rolledBack = 0;
  let units = 0;
  const stop = observeUnitsOfWork((e) => {
    units++;
    if (!e.committed) rolledBack++;
  });
  try {
    return { result: await work(), rolledBack, units };
  } finally {
    stop();
  }
}

const RESPONDENTS = 16;
const TARGET = 5;

describe("concurrent submissions on the respondent path", () => {
  it(`${RESPONDENTS} respondents posting the last page at once against a quota of ${TARGET}: exactly ${TARGET} complete, nothing retried`, async () => {
    const db = freshDb();
    const s = await survey(db, 2, TARGET);
    const forms = Array.from({ length: RESPONDENTS }, () => s.form());
    const firsts = await Promise.all(forms.map((f, i) => s.post(i, f, 0, PAGE_1)));
    expect(firsts.map((o) => o.kind)).toEqual(Array(RESPONDENTS).fill("next_page"));
    const { result: lasts, rolledBack, units } = await rollbacks(() => Promise.all(forms.map((f, i) => s.post(i, f, 1, PAGE_2))));
    const kinds = lasts.map((o) => o.kind);
    expect(kinds.filter((k) => k === "completed")).toHaveLength(TARGET);
    expect(kinds.filter((k) => k === "quota_full")).toHaveLength(RESPONDENTS - TARGET);
    expect(await s.statuses()).toEqual([
      ["completed", TARGET],
      ["quota_full", RESPONDENTS - TARGET],
    ]);
    expect([units, rolledBack]).toEqual([RESPONDENTS, 0]);
  });

  it(`a one-page survey: ${RESPONDENTS} first posts at once against a quota of ${TARGET} start and complete exactly ${TARGET}`, async () => {
    const db = freshDb();
    const s = await survey(db, 10, TARGET);
    const { result, rolledBack } = await rollbacks(() => Promise.all(Array.from({ length: RESPONDENTS }, (_, i) => s.post(i, s.form(), 0, { ...PAGE_1, ...PAGE_2 }))));
    const kinds = result.map((o) => o.kind);
    expect(kinds.filter((k) => k === "completed")).toHaveLength(TARGET);
    expect(kinds.filter((k) => k === "quota_full")).toHaveLength(RESPONDENTS - TARGET);
    // Stopped at the start: nothing stored for them.
    expect(await s.statuses()).toEqual([["completed", TARGET]]);
    expect(rolledBack).toBe(0);
  });

  it("one form's page posted several times at once (a double click) stores its answers once", async () => {
    const db = freshDb();
    const s = await survey(db, 2, undefined);
    const form = s.form();
    expect((await s.post(1, form, 0, PAGE_1)).kind).toBe("next_page");
    await warm(db);
    const { result: again, rolledBack } = await rollbacks(() => Promise.all([1, 2, 3, 4].map(() => s.post(1, form, 1, PAGE_2))));
    expect(again.map((o) => o.kind)).toEqual(["completed", "completed", "completed", "completed"]);
    expect(await s.statuses()).toEqual([["completed", 1]]);
    const rows = await db.select({ questionId: answers.questionId, n: count() }).from(answers).innerJoin(responses, eq(responses.id, answers.responseId)).where(and(eq(responses.waveId, s.opened.wave.id))).groupBy(answers.questionId);
    // aided (two options), recall, fav, feedback: five rows, none twice.
    expect(rows.reduce((n, r) => n + r.n, 0)).toBe(5);
    expect(rolledBack).toBe(0);
  });

  it("a personal link's first page posted twice at once is one response: the second post is its retry, not 'already answered'", async () => {
    const db = freshDb();
    const s = await survey(db, 2, undefined, true);
    const form = s.form();
    await warm(db);
    const both = await Promise.all([s.post(1, form, 0, PAGE_1), s.post(1, form, 0, PAGE_1)]);
    expect(both.map((o) => o.kind)).toEqual(["next_page", "next_page"]);
    expect(await s.statuses()).toEqual([["partial", 1]]);
    // Another form on the same link: the link is used.
    expect((await s.post(2, s.form(), 0, PAGE_1)).kind).toBe("already_answered");
  });
});
