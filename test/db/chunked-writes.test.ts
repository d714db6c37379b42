import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import request from "supertest";
import { afterAll, describe, expect, it, vi } from "vitest";
import { inArray, eq } from "drizzle-orm";
import { closeDatabase, closePostgres, observeUnitsOfWork, openDatabase, openPostgres, type Db } from "../../db/client.js";
import { runMigrations, runPostgresMigrations } from "../../db/migrate.js";
import { countTextAnswers, listTextAliases, insertTextAlias } from "../../db/queries/quality.js";
import { codedQuestions } from "../../server/quality/coding.js";
import { loadQuestionnaire } from "../../db/queries/questionnaire.js";
import { insertSession } from "../../db/queries/sessions.js";
import { answers, auditLog, jobs, links, responses, sessions, textMentions, type Study, type Wave } from "../../db/schema.js";
import { createApp } from "../../server/app.js";
import { testConfig } from "../../server/config.js";
import { translator } from "../../server/i18n/index.js";
import { codeText } from "../../server/domain/text-coding.js";
import { addAlias, recodeAll, recodeChunk, recodeJobStep, recodeStudy, RECODE_START, type RecodeCursor } from "../../server/quality/coding-service.js";
import { studyCodebooks } from "../../server/quality/coding.js";
import { JOB_HANDLERS } from "../../server/jobs/kinds.js";
import { runJobsUntilIdle } from "../../server/jobs/runner.js";
import { recomputeStudyFlags } from "../../server/quality/flag-service.js";
import { addPersonalLinks, personalLinksJobStep, queuePersonalLinks } from "../../server/services/fieldwork.js";
import { fixedChunks } from "../../server/services/chunks.js";
import { resultsWorkerRunning, stopResultsWorker } from "../../server/results-snapshots/worker-pool.js";
import { purgeExpired } from "../../server/services/retention.js";
import { openWave, PERSONAL_LINKS_CHUNK, PersonalLinksIncompleteError } from "../../server/services/study-setup.js";
import { goodAnswers, insertQualityResponse, templateStudy } from "../fixtures/quality/responses.js";
import { addUser, answerAllPages } from "../helpers.js";
import { createThrowawayDatabase, postgresTestsRun } from "../support/postgres.js";

/**
 * Issue 15, item 4: long writes commit in chunks, each its own unit of work, so a survey posted
 * through another connection to the same SQLite file goes through between two chunks, and the end
 * state is the one the whole-study computation gives. No timing here: bench/write-locks.ts
 * measures the holds.
 */

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A migrated database file, and a second connection to it (what a second instance holds). */
function twoConnections(): { db: Db; other: Db; close: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "bl-chunks-"));
  dirs.push(dir);
  const file = join(dir, "brandlift.db");
  const db = openDatabase(file);
  runMigrations(db);
  const other = openDatabase(file);
  return { db, other, close: () => [db, other].forEach(closeDatabase) };
}

/** Committed units of work while `job` runs, not counting those of `aside` calls made inside it. */
async function countUnits<T>(job: (aside: <A>(work: () => Promise<A>) => Promise<A>) => Promise<T>): Promise<{ result: T; units: number }> {
  let units = 0;
  let outside = false;
  const stop = observeUnitsOfWork((e) => {
    if (e.committed && !outside) units++;
  });
  const aside = async <A>(work: () => Promise<A>): Promise<A> => {
    outside = true;
    try {
      return await work();
    } finally {
      outside = false;
    }
  };
  try {
    return { result: await job(aside), units };
  } finally {
    stop();
  }
}

type Mention = { answerId: number; code: string; rank: number };
const byAnswer = (a: Mention, b: Mention) => a.answerId - b.answerId || a.code.localeCompare(b.code);

async function storedMentions(db: Db): Promise<Mention[]> {
  return (await db.select().from(textMentions)).sort(byAnswer);
}

/** The coding of every text answer with the study's codebook now: what one whole-study pass gives. */
async function wholeStudyCoding(db: Db, studyId: number): Promise<Mention[]> {
  const codebooks = studyCodebooks(await loadQuestionnaire(db, studyId), await listTextAliases(db, studyId));
  const rows = await db.select().from(answers).where(inArray(answers.questionId, [...codebooks.keys()]));
  return rows
    .filter((a) => a.valueText !== null && a.optionId === null)
    .flatMap((a) => codeText(a.valueText!, codebooks.get(a.questionId)!).map((m) => ({ answerId: a.id, ...m })))
    .sort(byAnswer);
}

/**
 * Recodes the study through the job, its steps sized by time on a clock that advances by
 * `cost(step)` ms at every reading: slow steps, then fast ones. Answers the size each step left
 * for the next one.
 */
async function recodeByClock(db: Db, cost: (step: number) => number): Promise<number[]> {
  let t = 0;
  let step = 0;
  const timed = recodeJobStep({ first: 4, min: 1, max: 16, budgetMs: 15 }, () => (t += cost(step)));
  const sizes: number[] = [];
  await runJobsUntilIdle(db, {
    handlers: { ...JOB_HANDLERS, recode: async (...args) => (await timed(...args).finally(() => step++)) },
    afterStep: (job) => {
      if (job.kind === "recode") sizes.push((job.cursor as { size: number }).size);
    },
  });
  return sizes;
}

/** Slow (100 ms a reading) for the first and fourth steps, fast (10 µs) otherwise. */
const slowFirstAndFourth = (step: number) => (step === 0 || step === 3 ? 100 : 0.01);

/** What the time-sized steps must give: a chunk shrinks after a slow step, doubles after a fast one. */
const SIZES_BY_CLOCK = [1, 2, 4, 1, 2, 4, 8];

const TEXTS = ["ВиТ, Кофемания", "вит", "Шоколадница и вит", "Вкусно и точка", "не знаю", "Старбакс"];

async function codedStudy(db: Db, n: number): Promise<{ study: Study; pre: Wave }> {
  const { study, pre, segments } = await templateStudy(db);
  for (let i = 0; i < n; i++) {
    await insertQualityResponse(db, study.id, { waveId: pre.id, segmentId: segments[i % 3]!.id, answers: { ...goodAnswers(), unaided: TEXTS[i % TEXTS.length]! } });
  }
  return { study, pre };
}

/** A respondent completing the survey through an app on the other connection. */
async function submitThrough(other: Db, token: string, unaided: string) {
  const app = createApp({ db: other, config: testConfig() });
  return answerAllPages(request.agent(app), `/s/${token}`, {
    q_unaided: unaided,
    q_aided: ["brand"],
    q_ad_recall: "yes",
    q_favorability: "4",
    q_consideration: "3",
    q_attention: "somewhat_disagree",
    q_feedback: "",
  });
}

describe("recoding after an alias change, in chunks", () => {
  it("commits chunk by chunk in the background, lets a survey post through between two, and ends as the whole-study coding", async () => {
    const { db, other, close } = twoConnections();
    const { study, pre } = await codedStudy(db, 24);
    const researcher = await addUser(db, "researcher");
    const [link] = await openWave(db, pre, null);

    const added = await countUnits(() => addAlias(db, study, researcher.id, { alias: "вит", code: "brand" }, "ru"));
    // The alias, its audit entry and the queued recode: one unit of work, nothing recoded yet.
    expect(added).toEqual({ result: { queued: true }, units: 1 });
    const recoding = await db.select().from(jobs);
    expect(recoding.map((j) => [j.kind, j.status, j.createdBy])).toEqual([["recode", "queued", researcher.id]]);

    let steps = 0;
    const { units } = await countUnits((aside) =>
      runJobsUntilIdle(db, {
        handlers: { ...JOB_HANDLERS, recode: recodeJobStep(fixedChunks(5)) },
        afterStep: async (job) => {
          if (job.kind === "recode" && ++steps === 2) {
            const done = await aside(() => submitThrough(other, link!.token, "вит, конечно"));
            expect(done.status).toBe(303);
          }
        },
      }),
    );
    // Claims, five full chunks and an empty last one (with the audit entry), and the checks of the late response.
    expect(units).toBeGreaterThan(6);
    expect((await db.select().from(auditLog).where(eq(auditLog.action, "quality.recode"))).map((a) => [a.userId, a.details])).toEqual([
      [researcher.id, { answers: 25, mentions: (await db.select().from(textMentions)).length }],
    ]);

    const late = (await db.select().from(responses).orderBy(responses.id)).at(-1)!;
    expect(late.status).toBe("completed");
    expect(late.checkedAt).toBeInstanceOf(Date);
    const lateUnaided = (await db.select().from(answers).where(eq(answers.responseId, late.id))).find((a) => a.valueText === "вит, конечно")!;
    // Coded by its background checks, with the new alias already in the codebook.
    expect((await storedMentions(db)).filter((m) => m.answerId === lateUnaided.id)).toEqual([{ answerId: lateUnaided.id, code: "brand", rank: 0 }]);
    expect(await storedMentions(db)).toEqual(await wholeStudyCoding(db, study.id));
    close();
  });

  it("interrupted between chunks, leaves each answer coded by one codebook; resumed, gives the full result", async () => {
    const { db, close } = twoConnections();
    const { study } = await codedStudy(db, 18);
    const before = await storedMentions(db);
    await insertTextAlias(db, { studyId: study.id, code: "brand", alias: "вит", normalized: "вит", createdBy: null });
    const expected = await wholeStudyCoding(db, study.id);
    expect(expected).not.toEqual(before);

    // Two chunks by hand, then the "crash".
    let cursor: RecodeCursor | null = RECODE_START;
    for (let i = 0; i < 2 && cursor; i++) cursor = (await recodeChunk(db, study.id, cursor, 4)).next;
    expect(cursor).not.toBeNull();
    const halfway = await storedMentions(db);
    expect(halfway).not.toEqual(expected);
    const ids = new Set([...before, ...expected].map((m) => m.answerId));
    for (const id of ids) {
      const now = halfway.filter((m) => m.answerId === id);
      expect([before.filter((m) => m.answerId === id), expected.filter((m) => m.answerId === id)]).toContainEqual(now);
    }

    const resumed = await countUnits(() => recodeStudy(db, study.id, { from: cursor!, limit: 4 }));
    expect(resumed.units).toBeGreaterThan(1);
    expect(await storedMentions(db)).toEqual(expected);
    // Running it all again changes nothing.
    await recodeStudy(db, study.id, { limit: 4 });
    expect(await storedMentions(db)).toEqual(expected);
    close();
  });

  it("counts a recode's total, every coded text answer, from an index alone", async () => {
    const { db, close } = twoConnections();
    const { study } = await codedStudy(db, 12);
    const coded = codedQuestions(await loadQuestionnaire(db, study.id)).map((q) => q.id);
    const prepare = vi.spyOn(db.$client, "prepare");
    expect(await countTextAnswers(db, coded)).toBe(12);
    const [statement] = prepare.mock.calls.map((c) => String(c[0])).filter((s) => /from "answers"/.test(s));
    prepare.mockRestore();
    const plan = db.$client.prepare(`EXPLAIN QUERY PLAN ${statement}`).all(...coded) as Array<{ detail: string }>;
    expect(plan.map((p) => p.detail).join("\n")).toMatch(/USING COVERING INDEX answers_question_option_idx/);
    close();
  });

  it("sizes a job's chunks by the time the last one took, and ends as the whole-study coding", async () => {
    const { db, close } = twoConnections();
    const { study } = await codedStudy(db, 36);
    const researcher = await addUser(db, "researcher");
    await addAlias(db, study, researcher.id, { alias: "вит", code: "brand" }, "ru");
    const expected = await wholeStudyCoding(db, study.id);
    const sizes = await recodeByClock(db, slowFirstAndFourth);
    expect(sizes.slice(0, SIZES_BY_CLOCK.length)).toEqual(SIZES_BY_CLOCK);
    expect(await storedMentions(db)).toEqual(expected);
    // Every coded answer once (one unaided answer a response), whatever the sizes.
    expect((await db.select().from(auditLog).where(eq(auditLog.action, "quality.recode"))).map((a) => (a.details as { answers: number }).answers)).toEqual([36]);
    close();
  });

  it("reads and codes a job's chunks in the results worker thread, and ends as the whole-study coding", { timeout: 60_000 }, async () => {
    const { db, close } = twoConnections();
    try {
      const { study } = await codedStudy(db, 30);
      const researcher = await addUser(db, "researcher");
      await stopResultsWorker();
      await addAlias(db, study, researcher.id, { alias: "вит", code: "brand" }, "ru");
      const expected = await wholeStudyCoding(db, study.id);
      expect(expected.filter((m) => m.code === "brand").length).toBeGreaterThan(0);
      await runJobsUntilIdle(db);
      expect(resultsWorkerRunning()).toBe(true);
      expect(await storedMentions(db)).toEqual(expected);
      expect((await db.select().from(auditLog).where(eq(auditLog.action, "quality.recode"))).map((a) => (a.details as { answers: number }).answers)).toEqual([30]);
    } finally {
      close();
      await stopResultsWorker();
    }
  });
});

describe("personal links in chunks", () => {
  /** Two full chunks and part of a third. */
  const N = 3 * PERSONAL_LINKS_CHUNK - 50;

  it("sizes a job's chunks by the time the last one took, and makes every link once (SQLite)", async () => {
    const { db, close } = twoConnections();
    const { pre } = await templateStudy(db);
    const researcher = await addUser(db, "researcher");
    await openWave(db, pre, null);
    await queuePersonalLinks(db, pre, "subscribers", 600, researcher.id);
    let t = 0;
    let step = 0;
    const timed = personalLinksJobStep({ first: 100, min: 20, max: 500, budgetMs: 15 }, () => (t += slowFirstAndFourth(step)));
    const sizes: number[] = [];
    await runJobsUntilIdle(db, {
      handlers: { ...JOB_HANDLERS, personal_links: async (...args) => await timed(...args).finally(() => step++) },
      afterStep: (job) => {
        if (job.kind === "personal_links") sizes.push((job.cursor as { size: number }).size);
      },
    });
    // 100, then shrunk after a slow step (to the minimum), doubled after fast ones.
    expect(sizes).toEqual([20, 40, 80, 20, 40, 80, 160, 320]);
    const made = await db.select().from(links).where(eq(links.kind, "personal"));
    expect(made).toHaveLength(600);
    expect(new Set(made.map((l) => l.token)).size).toBe(600);
    expect((await db.select().from(auditLog).where(eq(auditLog.action, "link.personal"))).map((a) => a.details)).toEqual([{ segment: "subscribers", count: 600 }]);
    close();
  });

  it("makes N links in several units of work, with one audit entry, and lets a survey post through between two", async () => {
    const { db, other, close } = twoConnections();
    const { study, pre } = await templateStudy(db);
    const researcher = await addUser(db, "researcher");
    const [open] = await openWave(db, pre, null);
    let paused = false;
    const { result, units } = await countUnits((aside) =>
      addPersonalLinks(db, pre, "subscribers", N, researcher.id, {
        afterChunk: async () => {
          if (paused) return;
          paused = true;
          expect((await aside(() => submitThrough(other, open!.token, "Вкусно и точка"))).status).toBe(303);
        },
      }),
    );
    expect(units).toBe(3);
    expect(result).toHaveLength(N);
    expect(new Set(result.map((l) => l.token)).size).toBe(N);
    expect(await db.select().from(links).where(eq(links.kind, "personal"))).toHaveLength(N);
    const audit = await db.select().from(auditLog).where(eq(auditLog.action, "link.personal"));
    expect(audit.map((a) => a.details)).toEqual([{ segment: "subscribers", count: N }]);
    expect(await db.select().from(responses).where(eq(responses.status, "completed"))).toHaveLength(1);
    expect(study.id).toBe(pre.studyId);
    close();
  });

  it("stopped part-way, tells the user with a 503 and audits the links that exist", async () => {
    const { db, close } = twoConnections();
    const { pre } = await templateStudy(db);
    const researcher = await addUser(db, "researcher");
    const failure = await addPersonalLinks(db, pre, "subscribers", N, researcher.id, {
      afterChunk: (next) => {
        if (next === N - 2 * PERSONAL_LINKS_CHUNK) throw new Error("the process stopped");
      },
    }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(PersonalLinksIncompleteError);
    expect(failure).toMatchObject({ status: 503, created: 2 * PERSONAL_LINKS_CHUNK, requested: N, messageKey: "personalLinksIncomplete" });
    expect(await db.select().from(links).where(eq(links.kind, "personal"))).toHaveLength(2 * PERSONAL_LINKS_CHUNK);
    const audit = await db.select().from(auditLog).where(eq(auditLog.action, "link.personal"));
    expect(audit.map((a) => a.details)).toEqual([{ segment: "subscribers", count: 2 * PERSONAL_LINKS_CHUNK, requested: N }]);
    for (const locale of ["en", "ru"] as const) {
      const t = translator(locale);
      expect(t("errors.personalLinksIncomplete.title")).not.toBe("errors.personalLinksIncomplete.title");
      expect(t("errors.personalLinksIncomplete.message")).not.toBe("errors.personalLinksIncomplete.message");
    }
    close();
  });
});

describe("flag recompute in chunks", () => {
  it("writes the flags in several units of work with the same result as one, while a survey posts between two", async () => {
    const { db, other, close } = twoConnections();
    const { study, pre, segments } = await templateStudy(db);
    const [open] = await openWave(db, pre, null);
    for (let i = 0; i < 30; i++) {
      // Every third a speeder, every fifth straight-lining, a few sharing a browser.
      await insertQualityResponse(db, study.id, {
        waveId: pre.id,
        segmentId: segments[i % 3]!.id,
        durationMs: i % 3 ? 300_000 + i * 1000 : 20_000,
        browserHash: i % 7 ? `b${i}` : "shared",
        answers: { ...goodAnswers(), ...(i % 5 ? {} : { favorability: 1, consideration: 1 }) },
      });
    }
    const flagsNow = async () => (await db.select({ id: responses.id, flags: responses.qualityFlags }).from(responses).orderBy(responses.id)).map((r) => [r.id, r.flags]);

    await recomputeStudyFlags(db, study.id, { batchSize: 10_000 });
    const whole = await flagsNow();
    expect(whole.filter(([, flags]) => flags !== null).length).toBeGreaterThan(3);
    await db.update(responses).set({ qualityFlags: null });

    let paused = false;
    const { units } = await countUnits((aside) =>
      recomputeStudyFlags(db, study.id, {
        batchSize: 3,
        afterChunk: async () => {
          if (paused) return;
          paused = true;
          expect((await aside(() => submitThrough(other, open!.token, "Вкусно и точка"))).status).toBe(303);
        },
      }),
    );
    expect(units).toBeGreaterThan(2);
    const chunked = await flagsNow();
    // The late response, stored after the recompute started, is one it reaches too (ids in order).
    const late = chunked.at(-1)!;
    expect(chunked.slice(0, -1)).toEqual(whole);
    expect(late[0]).toBeGreaterThan(whole.at(-1)![0] as number);
    close();
  });
});

describe("purging in chunks", () => {
  it("deletes every expired row, a chunk per unit of work, and keeps the live ones", async () => {
    const { db, close } = twoConnections();
    const user = await addUser(db, "researcher");
    const now = new Date("2030-01-01T12:00:00Z");
    const past = new Date(now.getTime() - 60_000);
    for (let i = 0; i < 25; i++) await insertSession(db, `expired-${i}`, user.id, past, past);
    await insertSession(db, "live", user.id, now, new Date(now.getTime() + 60_000));
    const { result, units } = await countUnits(() => purgeExpired(db, now, { limit: 10 }));
    expect(result).toEqual({ sessions: 25, rateLimits: 0 });
    expect(units).toBe(4);
    expect((await db.select().from(sessions)).map((s) => s.idHash)).toEqual(["live"]);
    close();
  });
});

describe.runIf(postgresTestsRun("chunked-writes.test.ts"))("the chunked jobs on PostgreSQL", () => {
  it("recode, personal links and purge give the same end state, chunk by chunk", async () => {
    const database = await createThrowawayDatabase();
    const db = openPostgres(database.url, { max: 4 });
    try {
      await runPostgresMigrations(db);
      const { study, pre } = await codedStudy(db, 11);
      const researcher = await addUser(db, "researcher");
      await addAlias(db, study, researcher.id, { alias: "вит", code: "brand" }, "ru");
      let steps = 0;
      const chunkOfThree = recodeJobStep(fixedChunks(3));
      await runJobsUntilIdle(db, { handlers: { ...JOB_HANDLERS, recode: (...args) => (steps++, chunkOfThree(...args)) } });
      // Four chunks of at most three answers, the last one finishing the job.
      expect(steps).toBe(4);
      expect(await storedMentions(db)).toEqual(await wholeStudyCoding(db, study.id));
      // Sized by the event loop's hold: here each chunk is read and coded in the results worker
      // thread and PostgreSQL's statements do not hold the loop, so nothing does, whatever the
      // clock says: the next chunk doubles (4, then 8 for the last seven answers). Same end state.
      await recodeAll(db, study, researcher.id);
      const sizes = await recodeByClock(db, slowFirstAndFourth);
      expect(sizes).toEqual([8]);
      expect(await storedMentions(db)).toEqual(await wholeStudyCoding(db, study.id));

      const made = await countUnits(() => addPersonalLinks(db, pre, "subscribers", PERSONAL_LINKS_CHUNK + 1, researcher.id));
      expect(made.units).toBe(2);
      expect(new Set(made.result.map((l) => l.token)).size).toBe(PERSONAL_LINKS_CHUNK + 1);

      const now = new Date("2030-01-01T12:00:00Z");
      const past = new Date(now.getTime() - 60_000);
      for (let i = 0; i < 5; i++) await insertSession(db, `expired-${i}`, researcher.id, past, past);
      const purged = await countUnits(() => purgeExpired(db, now, { limit: 2 }));
      expect(purged.result).toEqual({ sessions: 5, rateLimits: 0 });
      expect(await db.select().from(sessions)).toEqual([]);
    } finally {
      await closePostgres(db);
      await database.drop();
    }
  });
});
