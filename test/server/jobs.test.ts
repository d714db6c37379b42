import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import request from "supertest";
import { afterAll, describe, expect, it } from "vitest";
import { eq } from "drizzle-orm";
import { closeDatabase, first, openDatabase, unitOfWork, type Db } from "../../db/client.js";
import { runMigrations } from "../../db/migrate.js";
import { claimNextJob, saveJobStep } from "../../db/queries/jobs.js";
import { listTextAliases } from "../../db/queries/quality.js";
import { loadQuestionnaire } from "../../db/queries/questionnaire.js";
import { answers, auditLog, jobs, links, responses, textMentions, type Job } from "../../db/schema.js";
import { brandLiftTemplate } from "../../server/domain/template.js";
import { codeText } from "../../server/domain/text-coding.js";
import { translator } from "../../server/i18n/index.js";
import type { JobStep } from "../../server/jobs/contract.js";
import { JOB_HANDLERS } from "../../server/jobs/kinds.js";
import { jobItem } from "../../server/jobs/progress.js";
import { enqueueJob, startJob } from "../../server/jobs/queue.js";
import { DEFAULT_LEASE_MS, JobRunner, runJobsUntilIdle, type RunnerOptions } from "../../server/jobs/runner.js";
import { responseChecksStep } from "../../server/quality/checks-service.js";
import { addAlias, recodeJobStep } from "../../server/quality/coding-service.js";
import { studyCodebooks } from "../../server/quality/coding.js";
import { personalLinksJobStep, queuePersonalLinks } from "../../server/services/fieldwork.js";
import { openWave } from "../../server/services/study-setup.js";
import { createApiToken } from "../../server/services/accounts.js";
import { fixedChunks } from "../../server/services/chunks.js";
import { goodAnswers, insertQualityResponse, templateStudy } from "../fixtures/quality/responses.js";
import { openSurvey } from "../fixtures/surveys.js";
import { addUser, answerAllPages, freshApp, freshDb, loggedInAgent } from "../helpers.js";
import { TEST_ENGINE } from "../support/postgres.js";

/**
 * Issue 16: durable background jobs. Queued in the unit of work of the change that needs them,
 * claimed under a lease by one runner at a time, advanced step by step with the cursor saved in
 * the step's own unit of work, resumed after a crash, given up after repeated failures; and the
 * survey's checks that moved out of the respondent's transaction.
 */

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** Runner B's clock: past any lease runner A took (A "crashed" holding it). */
const afterLeases = () => new Date(Date.now() + DEFAULT_LEASE_MS + 60_000);

class SimulatedCrash extends Error {}

async function jobRows(db: Db): Promise<Job[]> {
  return db.select().from(jobs).orderBy(jobs.id);
}

/** A study with a team, for jobs that need one. */
async function aStudy(db: Db) {
  return templateStudy(db);
}

/** A test kind's step: `n` steps, each recorded with the runner that ran it ("results" is a kind this app leaves to others). */
function countingStep(n: number, log: Array<{ job: number; step: number; owner: string | null }>): JobStep {
  return async (db, job) => {
    const step = ((job.cursor?.["step"] as number | undefined) ?? 0) + 1;
    const row = first(await db.select({ owner: jobs.leaseOwner }).from(jobs).where(eq(jobs.id, job.id)));
    log.push({ job: job.id, step, owner: row?.owner ?? null });
    return step >= n ? { cursor: null, done: step, total: n, result: { steps: step } } : { cursor: { step }, done: step, total: n };
  };
}

describe("queueing", () => {
  it("writes the job in the change's unit of work: rolled back with it, committed with it", async () => {
    const db = freshDb();
    const { study } = await aStudy(db);
    const spec = { teamId: study.teamId, studyId: study.id, kind: "flags" as const, createdBy: null };
    await expect(
      unitOfWork(db, async (tx) => {
        await enqueueJob(tx, spec);
        throw new Error("the change failed");
      }),
    ).rejects.toThrow("the change failed");
    expect(await jobRows(db)).toEqual([]);
    await unitOfWork(db, (tx) => enqueueJob(tx, spec));
    expect((await jobRows(db)).map((j) => [j.kind, j.status, j.teamId, j.studyId, j.attempts])).toEqual([["flags", "queued", study.teamId, study.id, 0]]);
  });

  it("reuses an equal job still waiting, never one already started, and never for personal links", async () => {
    const db = freshDb();
    const { study } = await aStudy(db);
    const queue = (kind: Job["kind"], params: Record<string, unknown> | null = null) => unitOfWork(db, (tx) => enqueueJob(tx, { teamId: study.teamId, studyId: study.id, kind, params }));
    const recode = await queue("recode");
    expect((await queue("recode")).id).toBe(recode.id);
    // Started: its first chunks were coded with the old aliases, so a change now needs a new recode.
    await unitOfWork(db, (tx) => claimNextJob(tx, "someone", new Date(), new Date(Date.now() + 60_000)));
    expect((await queue("recode")).id).not.toBe(recode.id);
    // Different params are different work.
    const close1 = await queue("wave_close", { waveId: 1 });
    expect((await queue("wave_close", { waveId: 1 })).id).toBe(close1.id);
    expect((await queue("wave_close", { waveId: 2 })).id).not.toBe(close1.id);
    const links1 = await queue("personal_links", { count: 5 });
    expect((await queue("personal_links", { count: 5 })).id).not.toBe(links1.id);
    // The checks of new responses: one row per study, queued again once finished.
    const checks = await queue("response_checks");
    await db.update(jobs).set({ status: "done", finishedAt: new Date() }).where(eq(jobs.id, checks.id));
    expect(await queue("response_checks")).toMatchObject({ id: checks.id, status: "queued", cursor: null, attempts: 0 });
    expect((await jobRows(db)).filter((j) => j.kind === "response_checks")).toHaveLength(1);
  });
});

describe("claiming under a lease", () => {
  /** Two runners on two connections to one SQLite file (two instances), or on one PostgreSQL pool. */
  function twoDatabases(): { a: Db; b: Db; close: () => Promise<void> } {
    if (TEST_ENGINE === "postgres") {
      const db = freshDb();
      return { a: db, b: db, close: async () => undefined };
    }
    const dir = mkdtempSync(join(tmpdir(), "bl-jobs-"));
    dirs.push(dir);
    const file = join(dir, "brandlift.db");
    const a = openDatabase(file);
    runMigrations(a);
    const b = openDatabase(file);
    return { a, b, close: async () => Promise.all([closeDatabase(a), closeDatabase(b)]).then(() => undefined) };
  }

  it("lets only one of two racing runners run a job, and each step of every job runs once", async () => {
    const { a, b, close } = twoDatabases();
    const { study } = await aStudy(a);
    const log: Array<{ job: number; step: number; owner: string | null }> = [];
    const handlers = { results: countingStep(4, log) };
    const one = new JobRunner(a, { handlers, owner: "runner-a", checkResponses: false });
    const two = new JobRunner(b, { handlers, owner: "runner-b", checkResponses: false });
    for (let round = 0; round < 5; round++) {
      await startJob(a, { teamId: study.teamId, studyId: study.id, kind: "results" });
      const claimed = await Promise.all([one.runOnce(), two.runOnce()]);
      expect(claimed.filter(Boolean)).toHaveLength(1);
    }
    // Several jobs, both runners draining the queue at once.
    for (let i = 0; i < 6; i++) await startJob(a, { teamId: study.teamId, studyId: study.id, kind: "results" });
    await Promise.all([one.runUntilIdle(), two.runUntilIdle()]);
    const all = await jobRows(a);
    expect(all).toHaveLength(11);
    expect(all.every((j) => j.status === "done" && j.done === 4 && j.leaseOwner === null && j.attempts === 1)).toBe(true);
    for (const job of all) {
      const steps = log.filter((l) => l.job === job.id);
      expect(steps.map((s) => s.step)).toEqual([1, 2, 3, 4]);
      // One runner did all of a job's steps, holding the lease while it did.
      expect(new Set(steps.map((s) => s.owner)).size).toBe(1);
      expect(["runner-a", "runner-b"]).toContain(steps[0]!.owner);
    }
    await close();
  });

  it("refuses the save of a runner whose lease was taken over, and rolls its chunk back", async () => {
    const { db } = freshApp();
    const { pre } = await aStudy(db);
    const researcher = await addUser(db, "researcher");
    await queuePersonalLinks(db, pre, "subscribers", 4, researcher.id);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const made = personalLinksJobStep(fixedChunks(2));
    // Runner A claims the job, then stalls before its first chunk (a long pause, a frozen process).
    const stalled = new JobRunner(db, {
      owner: "runner-a",
      checkResponses: false,
      handlers: {
        personal_links: async (...args) => {
          await gate;
          return made(...args);
        },
      },
    });
    const a = stalled.runOnce();
    await new Promise((resolve) => setTimeout(resolve, 50));
    // Its lease runs out; runner B takes the job over and finishes it.
    await runJobsUntilIdle(db, { owner: "runner-b", now: afterLeases, handlers: { personal_links: made }, checkResponses: false });
    expect(await db.select().from(links).where(eq(links.kind, "personal"))).toHaveLength(4);
    release();
    await a;
    // A's chunk was rolled back with its refused save: still exactly the 4 links, one audit entry.
    expect(await db.select().from(links).where(eq(links.kind, "personal"))).toHaveLength(4);
    expect(await db.select().from(auditLog).where(eq(auditLog.action, "link.personal"))).toHaveLength(1);
    expect(first(await jobRows(db))).toMatchObject({ status: "done", done: 4, total: 4 });
    expect(await saveJobStep(db, first(await jobRows(db))!.id, "runner-a", { cursor: null, done: 0, total: 0, status: "running", leaseUntil: null, finishedAt: null, updatedAt: new Date() })).toBe(false);
  });
});

describe("a crash mid-job", () => {
  /** Runs `kind` jobs with runner A until it has saved `k` steps, then "crashes" (the lease stays A's). */
  async function crashAfter(db: Db, k: number, handlers: RunnerOptions["handlers"]) {
    let steps = 0;
    const crashed = runJobsUntilIdle(db, {
      owner: "runner-a",
      handlers,
      checkResponses: false,
      afterStep: () => {
        if (++steps === k) throw new SimulatedCrash();
      },
    });
    await expect(crashed).rejects.toBeInstanceOf(SimulatedCrash);
  }

  it("resumes a recode from its saved cursor and ends as an uninterrupted recode", async () => {
    const db = freshDb();
    const { study, pre, segments } = await templateStudy(db);
    const texts = ["ВиТ, Кофемания", "вит", "Шоколадница и вит", "Вкусно и точка", "не знаю", "Старбакс"];
    for (let i = 0; i < 17; i++) await insertQualityResponse(db, study.id, { waveId: pre.id, segmentId: segments[i % 3]!.id, answers: { ...goodAnswers(), unaided: texts[i % texts.length]! } });
    const researcher = await addUser(db, "researcher");
    await addAlias(db, study, researcher.id, { alias: "вит", code: "brand" }, "ru");
    const handlers = { ...JOB_HANDLERS, recode: recodeJobStep(fixedChunks(3)) };

    await crashAfter(db, 2, handlers);
    const stopped = first(await jobRows(db))!;
    expect(stopped).toMatchObject({ status: "running", leaseOwner: "runner-a", done: 6, total: 17, attempts: 1 });
    expect(stopped.cursor).toMatchObject({ answers: 6 });
    // Before the lease runs out nobody takes the job over.
    expect(await runJobsUntilIdle(db, { owner: "runner-b", handlers, checkResponses: false })).toBe(0);

    await runJobsUntilIdle(db, { owner: "runner-b", handlers, now: afterLeases, checkResponses: false });
    expect(first(await jobRows(db))).toMatchObject({ status: "done", done: 17, total: 17, attempts: 2, leaseOwner: null, cursor: { answers: 17 } });
    // The end state of one uninterrupted pass with the new codebook, and one audit entry for it.
    const codebooks = studyCodebooks(await loadQuestionnaire(db, study.id), await listTextAliases(db, study.id));
    const expected = (await db.select().from(answers))
      .filter((a) => a.valueText !== null && a.optionId === null && codebooks.has(a.questionId))
      .flatMap((a) => codeText(a.valueText!, codebooks.get(a.questionId)!).map((m) => ({ answerId: a.id, ...m })));
    const order = (x: { answerId: number; code: string }, y: { answerId: number; code: string }) => x.answerId - y.answerId || x.code.localeCompare(y.code);
    expect((await db.select({ answerId: textMentions.answerId, code: textMentions.code, rank: textMentions.rank }).from(textMentions)).sort(order)).toEqual(expected.sort(order));
    expect((await db.select().from(auditLog).where(eq(auditLog.action, "quality.recode"))).map((a) => a.details)).toEqual([{ answers: 17, mentions: expected.length }]);
  });

  it("makes every personal link once, though the chunks before the crash had committed", async () => {
    const { db } = freshApp();
    const { pre } = await aStudy(db);
    const researcher = await addUser(db, "researcher");
    await queuePersonalLinks(db, pre, "subscribers", 11, researcher.id);
    const handlers = { personal_links: personalLinksJobStep(fixedChunks(3)) };
    await crashAfter(db, 2, handlers);
    expect(await db.select().from(links).where(eq(links.kind, "personal"))).toHaveLength(6);
    await runJobsUntilIdle(db, { owner: "runner-b", handlers, now: afterLeases, checkResponses: false });
    const made = await db.select().from(links).where(eq(links.kind, "personal"));
    expect(made).toHaveLength(11);
    expect(new Set(made.map((l) => l.token)).size).toBe(11);
    expect((await db.select().from(auditLog).where(eq(auditLog.action, "link.personal"))).map((a) => [a.userId, a.details])).toEqual([[researcher.id, { segment: "subscribers", count: 11 }]]);
  });

  it("gives a job up as interrupted when its runners keep stopping", async () => {
    const db = freshDb();
    const { study } = await aStudy(db);
    await startJob(db, { teamId: study.teamId, studyId: study.id, kind: "results" });
    const handlers = { results: countingStep(10, []) };
    for (let crash = 1; crash <= 2; crash++) {
      // Each runner's clock is past the lease of the one before: each finds the job abandoned.
      const clock = () => new Date(Date.now() + crash * (DEFAULT_LEASE_MS + 60_000));
      const crashing = runJobsUntilIdle(db, {
        handlers,
        now: clock,
        maxAttempts: 2,
        checkResponses: false,
        afterStep: () => {
          throw new SimulatedCrash();
        },
      });
      await expect(crashing).rejects.toBeInstanceOf(SimulatedCrash);
    }
    await runJobsUntilIdle(db, { handlers, now: () => new Date(Date.now() + 3 * (DEFAULT_LEASE_MS + 60_000)), maxAttempts: 2, checkResponses: false });
    expect(first(await jobRows(db))).toMatchObject({ status: "failed", error: "interrupted", attempts: 3 });
  });
});

describe("failures", () => {
  it("retries a failing step after a pause, then fails the job and says so on its page in both languages", async () => {
    const { app, db } = freshApp();
    const { study } = await aStudy(db);
    const researcher = await addUser(db, "researcher");
    await startJob(db, { teamId: study.teamId, studyId: study.id, kind: "flags", createdBy: researcher.id });
    let calls = 0;
    const handlers = {
      flags: async () => {
        calls++;
        throw new Error("a bug in the step");
      },
    };
    await runJobsUntilIdle(db, { handlers, maxAttempts: 2, checkResponses: false });
    // One attempt, then the job waits out its pause (no busy loop), its error code kept.
    expect(calls).toBe(1);
    expect(first(await jobRows(db))).toMatchObject({ status: "running", attempts: 1, error: "internal", leaseOwner: null });
    // A job whose step failed before and then goes through leaves no error behind (the flags job waits out its pause meanwhile).
    const probe = await startJob(db, { teamId: study.teamId, studyId: study.id, kind: "results" });
    await db.update(jobs).set({ error: "internal" }).where(eq(jobs.id, probe.id));
    await runJobsUntilIdle(db, { checkResponses: false });
    expect(first(await db.select().from(jobs).where(eq(jobs.id, probe.id)))).toMatchObject({ status: "done", error: null });
    await runJobsUntilIdle(db, { handlers, maxAttempts: 2, checkResponses: false, now: () => new Date(Date.now() + 60_000) });
    expect(calls).toBe(2);
    const failed = first(await jobRows(db))!;
    expect(failed).toMatchObject({ status: "failed", attempts: 2, error: "internal", finishedAt: expect.any(Date) });

    const agent = await loggedInAgent(app, researcher.email);
    const en = await agent.get(`/studies/${study.id}/quality?lang=en`).expect(200);
    expect(en.text).toContain("Recomputing quality flags stopped with an error and is not finished. The details are in the server log.");
    expect(en.text).not.toContain('http-equiv="refresh"');
    expect(en.text).not.toContain("a bug in the step");
    const ru = await agent.get(`/studies/${study.id}/quality?lang=ru`).expect(200);
    expect(ru.text).toContain("Пересчёт отметок качества остановился с ошибкой и не закончен. Подробности — в журнале сервера.");
  });

  it("describes each state of a job without its id, in Russian and English", () => {
    const job = (fields: Partial<Job>): Job => ({
      id: 987654, teamId: 1, studyId: 1, kind: "personal_links", params: null, cursor: null, status: "queued", done: 0, total: null, attempts: 0,
      leaseOwner: null, leaseUntil: null, error: null, createdBy: null, createdAt: new Date(), updatedAt: new Date(), finishedAt: null, ...fields,
    });
    const number = (n: number) => n.toLocaleString("en-US");
    const items = (t: ReturnType<typeof translator>) =>
      [job({}), job({ status: "running", done: 3_000, total: 10_000 }), job({ status: "done", done: 10_000, total: 10_000, cursor: { count: 10_000 } }), job({ status: "failed", error: "interrupted" })].map((j) => jobItem(j, t, number));
    expect(items(translator("en"))).toEqual([
      { state: "waiting", text: "Making personal links: waiting to start." },
      { state: "running", text: "Making personal links: 3,000 of 10,000." },
      { state: "done", text: "10,000 personal links created." },
      { state: "failed", text: "Making personal links stopped with an error: only some of them were created. The server stopped several times while working on it. Start it again." },
    ]);
    expect(items(translator("ru")).map((i) => i.text)).toEqual([
      "Создание персональных ссылок: ждёт начала.",
      "Создание персональных ссылок: 3,000 из 10,000.",
      "Создано 10,000 персональных ссылок.",
      "Создание персональных ссылок остановилось с ошибкой: создана только часть. Сервер несколько раз останавливался во время работы. Запустите ещё раз.",
    ]);
    expect(JSON.stringify([...items(translator("en")), ...items(translator("ru"))])).not.toContain("987654");
  });
});

describe("the checks after a survey submission", () => {
  it("size each batch by the time the last one held the event loop, and check every response once", async () => {
    const db = freshDb();
    const { study, pre, segments } = await templateStudy(db);
    for (let i = 0; i < 12; i++) await insertQualityResponse(db, study.id, { waveId: pre.id, segmentId: segments[0]!.id });
    // As the survey leaves them: not checked, not coded.
    await db.update(responses).set({ checkedAt: null });
    await db.delete(textMentions);
    // Two readings of the clock per batch: the first batch takes 60 ms, every later one 5 ms.
    let reading = 0;
    let t = 0;
    const clock = () => (reading++ % 2 === 0 ? t : (t += reading === 2 ? 60 : 5));
    const sizes: Array<number | null> = [];
    await runJobsUntilIdle(db, {
      handlers: { ...JOB_HANDLERS, response_checks: responseChecksStep({ first: 4, min: 1, max: 8, budgetMs: 15 }, clock) },
      afterStep: (job) => {
        if (job.kind === "response_checks") sizes.push((job.cursor as { size?: number } | null)?.size ?? null);
      },
    });
    // The wave medians' step keeps 4; 4 in 60 ms shrinks to 1, then fast batches double (1, 2, 4)
    // up to the maximum, which the last response's batch keeps (the empty read after it ends the job).
    expect(sizes).toEqual([4, 1, 2, 4, 8, 8]);
    expect((await db.select().from(responses)).every((r) => r.checkedAt instanceof Date)).toBe(true);
    // Coded once each: the brand and the competitor of every response's unaided answer.
    expect(await db.select().from(textMentions)).toHaveLength(24);
  });

  const template = () => brandLiftTemplate({ studyName: "S", brand: "Вкусно и точка", locale: "ru", competitors: ["Шоколадница"] });
  const answersOf = (unaided: string) => ({
    q_unaided: unaided,
    q_aided: ["brand"],
    q_advantages: ["none"],
    q_ad_recall: "yes",
    q_favorability: "4",
    q_consideration: "4",
    q_attention: "somewhat_disagree",
    q_feedback: "",
  });

  it("codes and flags against the wave only after the respondent's transaction, then marks the response checked", async () => {
    const { app, db } = freshApp();
    const survey = await openSurvey(db, template());
    const url = `/s/${survey.links["subscribers"]!.token}`;
    // Two respondents from one address and device: the second repeats the first by network.
    await answerAllPages(request.agent(app), url, answersOf("шоколадница"));
    await answerAllPages(request.agent(app), url, answersOf("вкусно и точка"));
    const [a, b] = await db.select().from(responses).orderBy(responses.id);
    expect([a!.checkedAt, b!.checkedAt, a!.qualityFlags, b!.qualityFlags]).toEqual([null, null, null, null]);
    expect(await db.select().from(textMentions)).toEqual([]);

    await runJobsUntilIdle(db);
    const [x, y] = await db.select().from(responses).orderBy(responses.id);
    expect(x!.checkedAt).toBeInstanceOf(Date);
    expect(y!.checkedAt).toBeInstanceOf(Date);
    expect(x!.qualityFlags).toBeNull();
    expect(y!.qualityFlags).toEqual([{ code: "duplicate", detail: `of=${x!.id};by=network;scope=wave` }]);
    expect((await db.select({ code: textMentions.code }).from(textMentions)).map((m) => m.code).sort()).toEqual(["brand", "competitor_1"]);
    // The study's one checks job, done; nothing else waits.
    expect((await jobRows(db)).map((j) => [j.kind, j.status, j.done])).toEqual([["response_checks", "done", 2]]);
    expect(await runJobsUntilIdle(db)).toBe(0);
  });

  it("checks a partial response's answers, and again once a later page changes them", async () => {
    const { app, db } = freshApp();
    const survey = await openSurvey(db, template());
    const url = `/s/${survey.links["subscribers"]!.token}`;
    const agent = request.agent(app);
    const page = (await agent.get(url).expect(200)).text;
    const hidden = Object.fromEntries([...page.matchAll(/<input type="hidden" name="(_\w)" value="([^"]*)">/g)].map((m) => [m[1]!, m[2]!]));
    await agent.post(url).type("form").send({ ...hidden, ...answersOf("шоколадница") }).expect(303);
    expect(first(await db.select().from(responses))).toMatchObject({ status: "partial", checkedAt: null });
    await runJobsUntilIdle(db);
    expect(first(await db.select().from(responses))!.checkedAt).toBeInstanceOf(Date);
    expect((await db.select({ code: textMentions.code }).from(textMentions)).map((m) => m.code)).toEqual(["competitor_1"]);

    await answerAllPages(agent, url, answersOf("шоколадница"));
    expect(first(await db.select().from(responses))).toMatchObject({ status: "completed", checkedAt: null });
    await runJobsUntilIdle(db);
    expect(first(await db.select().from(responses))!.checkedAt).toBeInstanceOf(Date);
    // Checked twice, coded once: mentions are replaced, never added again.
    expect((await db.select({ code: textMentions.code }).from(textMentions)).map((m) => m.code)).toEqual(["competitor_1"]);
  });

  it("are found by a runner of another instance: the data says what waits, no job row is needed", async () => {
    const { app, db } = freshApp();
    const survey = await openSurvey(db, template());
    await answerAllPages(request.agent(app), `/s/${survey.links["subscribers"]!.token}`, answersOf("шоколадница"));
    // The submission queued no job (no statement of its own); a runner finds the response by its column.
    expect(await jobRows(db)).toEqual([]);
    expect(await runJobsUntilIdle(db)).toBe(1);
    expect(first(await db.select().from(responses))!.checkedAt).toBeInstanceOf(Date);
  });
});

describe("a started runner", () => {
  it("starts at once when work is queued in its process, and gives the job back when stopped", async () => {
    const db = freshDb();
    const { study } = await aStudy(db);
    const done = new Promise<void>((resolve) => {
      const runner = new JobRunner(db, {
        // Polls rarely: only the nudge can start it in time.
        pollMs: 3_600_000,
        checkResponses: false,
        handlers: { results: countingStep(2, []) },
        afterStep: () => undefined,
      }).start();
      const wait = setInterval(() => {
        void jobRows(db).then(async (rows) => {
          if (rows[0]?.status !== "done") return;
          clearInterval(wait);
          await runner.stop();
          resolve();
        });
      }, 20);
    });
    await new Promise((resolve) => setTimeout(resolve, 30));
    await startJob(db, { teamId: study.teamId, studyId: study.id, kind: "results" });
    await done;
    expect(first(await jobRows(db))).toMatchObject({ status: "done", done: 2 });

    // Stopped mid-job: the job is given back, not counted as an attempt, and resumed by the next runner.
    await startJob(db, { teamId: study.teamId, studyId: study.id, kind: "results" });
    let stopping: Promise<void> | undefined;
    const runner = new JobRunner(db, {
      checkResponses: false,
      handlers: { results: countingStep(3, []) },
      afterStep: () => {
        stopping ??= runner.stop();
      },
    });
    await runner.runOnce();
    await stopping;
    const given = (await jobRows(db))[1]!;
    expect(given).toMatchObject({ status: "running", leaseOwner: null, leaseUntil: null, attempts: 0, done: 1 });
    await runJobsUntilIdle(db, { checkResponses: false, handlers: { results: countingStep(3, []) } });
    expect((await jobRows(db))[1]).toMatchObject({ status: "done", done: 3, attempts: 1 });
  });
});

describe("the study's jobs in the API", () => {
  it("lists the study's background work with its state, progress and outcome, without ids", async () => {
    const { app, db } = freshApp();
    const { study, pre } = await aStudy(db);
    const researcher = await addUser(db, "researcher");
    await openWave(db, pre, researcher.id);
    await queuePersonalLinks(db, pre, "inactive", 3, researcher.id);
    const { token } = await createApiToken(db, researcher.id, "script");
    const auth = `Bearer ${token}`;
    const queued = await request(app).get(`/api/studies/${study.id}/jobs`).set("Authorization", auth).expect(200);
    expect(queued.body.jobs).toMatchObject([{ kind: "personal_links", status: "queued", done: 0, total: null, result: null, error: null }]);
    await runJobsUntilIdle(db);
    const done = await request(app).get(`/api/studies/${study.id}/jobs`).set("Authorization", auth).expect(200);
    expect(done.body.jobs).toMatchObject([{ kind: "personal_links", status: "done", done: 3, total: 3, result: { count: 3 } }]);
    expect(JSON.stringify(done.body)).not.toMatch(/"id"/);
  });
});
