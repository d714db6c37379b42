import { join } from "node:path";
import ejs from "ejs";
import { afterAll, describe, expect, it } from "vitest";
import { eq, and } from "drizzle-orm";
import { closeDatabase, databaseLocation, type Db } from "../../db/client.js";
import { projectPath } from "../../db/project-root.js";
import { listWaves } from "../../db/queries/fieldwork.js";
import { listTextAliases } from "../../db/queries/quality.js";
import { loadQuestionnaire } from "../../db/queries/questionnaire.js";
import { resultSnapshots } from "../../db/schema.js";
import { formatters, translator } from "../../server/i18n/index.js";
import { runJobsUntilIdle } from "../../server/jobs/runner.js";
import { codingOverview, QUEUE_PIECE_SIZE } from "../../server/quality/coding-service.js";
import { computeStudyReviewQueue, loadReviewQueue, REVIEW_QUEUE_VARIANT, reviewQueuesSettled } from "../../server/quality/review-queue.js";
import { configureResultsSnapshots } from "../../server/results-snapshots/refresh.js";
import { computeReviewQueueInWorker, resultsWorkerRunning, stopResultsWorker } from "../../server/results-snapshots/worker-pool.js";
import { goodAnswers, insertQualityResponse, templateStudy } from "../fixtures/quality/responses.js";
import { addUser, csrfFrom, freshApp, freshFileDb, loggedInAgent, removeFileDbs } from "../helpers.js";
import { TEST_ENGINE } from "../support/postgres.js";

/**
 * Issue 16: the coding page's review queue reads every text answer, so it is kept per data version
 * and aliases; a large study's is computed in the background while the page shows the last one.
 */

const QUEUE_ROW = /<th scope="row">вит<\/th><td data-label="[^"]+">(\d+)<\/td>/;

async function studyWithAnswers() {
  const { app, db } = freshApp();
  const { study, pre, segments } = await templateStudy(db);
  for (let i = 0; i < 6; i++) await insertQualityResponse(db, study.id, { waveId: pre.id, segmentId: segments[0]!.id, answers: { ...goodAnswers(), unaided: i < 4 ? "вит" : "Вкусно и точка" } });
  const researcher = await addUser(db, "researcher");
  const agent = await loggedInAgent(app, researcher.email);
  const snapshot = async () => (await db.select().from(resultSnapshots).where(and(eq(resultSnapshots.studyId, study.id), eq(resultSnapshots.variant, REVIEW_QUEUE_VARIANT))))[0];
  return { db, study, pre, segments, agent, snapshot };
}

describe("the review queue of the coding page", () => {
  it("of a small study is computed on the request, stored, and read again while nothing changes", async () => {
    const { db, study, pre, segments, agent, snapshot } = await studyWithAnswers();
    const page = await agent.get(`/studies/${study.id}/quality/coding?lang=en`).expect(200);
    expect(page.text).toMatch(/data-current="true">Queue as of [^<]+\.<\/p>/);
    expect(QUEUE_ROW.exec(page.text)?.[1]).toBe("4");
    const stored = await snapshot();
    expect(JSON.parse(stored!.payload)).toMatchObject({ answers: 6, uncoded: 4 });
    // The same data: the stored queue is read, not computed again.
    await agent.get(`/studies/${study.id}/quality/coding?lang=en`).expect(200);
    expect((await snapshot())!.computedAt.getTime()).toBe(stored!.computedAt.getTime());
    // A new answer makes it out of date: computed again on the next view.
    await insertQualityResponse(db, study.id, { waveId: pre.id, segmentId: segments[0]!.id, answers: { ...goodAnswers(), unaided: "вит" } });
    const again = await agent.get(`/studies/${study.id}/quality/coding?lang=en`).expect(200);
    expect(QUEUE_ROW.exec(again.text)?.[1]).toBe("5");
  });

  it("of a large study is computed in the background: 'being prepared' first, the last queue marked as updating after an alias", async () => {
    const { db, study, agent } = await studyWithAnswers();
    configureResultsSnapshots(db, { syncLimit: 0 });
    const first = await agent.get(`/studies/${study.id}/quality/coding?lang=en`).expect(200);
    expect(first.text).toContain("The queue is being prepared from every answer; reload the page in a minute.");
    expect(first.text).not.toMatch(QUEUE_ROW);
    const other = await studyWithAnswers();
    configureResultsSnapshots(other.db, { syncLimit: 0 });
    const ru = await other.agent.get(`/studies/${other.study.id}/quality/coding?lang=ru`).expect(200);
    expect(ru.text).toContain("Очередь собирается из всех ответов; обновите страницу через минуту.");
    await reviewQueuesSettled(other.db);
    await reviewQueuesSettled(db);
    const ready = await agent.get(`/studies/${study.id}/quality/coding?lang=en`).expect(200);
    expect(ready.text).toMatch(/data-current="true">Queue as of /);
    expect(QUEUE_ROW.exec(ready.text)?.[1]).toBe("4");

    await agent.post(`/studies/${study.id}/quality/coding/aliases`).type("form").send({ _csrf: csrfFrom(ready.text), alias: "вит", code: "brand" }).expect(303);
    const updating = await agent.get(`/studies/${study.id}/quality/coding?lang=en`).expect(200);
    expect(updating.text).toMatch(/data-current="false">Queue as of [^<]+ The answers or aliases have changed since/);
    expect(QUEUE_ROW.exec(updating.text)?.[1]).toBe("4");
    await reviewQueuesSettled(db);
    await runJobsUntilIdle(db);
    await agent.get(`/studies/${study.id}/quality/coding?lang=en`).expect(200);
    await reviewQueuesSettled(db);
    const after = await agent.get(`/studies/${study.id}/quality/coding?lang=en`).expect(200);
    expect(after.text).toMatch(/data-current="true">Queue as of /);
    // "вит" is a code's alias now: nothing left to review under it.
    expect(after.text).not.toMatch(QUEUE_ROW);
  });
});

describe("the review queue on the coding page", () => {
  it("is drawn in pieces that join into the rows drawn in one piece, byte for byte", async () => {
    const { app, db } = freshApp();
    const { study, pre, segments } = await templateStudy(db);
    const words = ["ромашка", "василек", "подсолнух", "колокольчик", "одуванчик", "незабудка", "лютик"];
    const n = 2 * QUEUE_PIECE_SIZE + 5;
    for (let i = 0; i < n; i++) {
      const unaided = `${words[i % words.length]} ${words[Math.floor(i / words.length) % words.length]}`;
      await insertQualityResponse(db, study.id, { waveId: pre.id, segmentId: segments[0]!.id, answers: { ...goodAnswers(), unaided } });
    }
    const researcher = await addUser(db, "researcher");
    const agent = await loggedInAgent(app, researcher.email);
    const served = await agent.get(`/studies/${study.id}/quality/coding?lang=en`).expect(200);
    const overview = await codingOverview(db, study, "en");
    const groups = overview.queue!.queue.groups;
    expect(groups.length).toBeGreaterThan(2 * QUEUE_PIECE_SIZE);
    const whole = await ejs.renderFile(join(projectPath("views"), "quality", "_coding-queue-rows.ejs"), {
      rows: groups.map((group, index) => ({ group, index })),
      definitions: overview.definitions,
      canDecide: true,
      study,
      csrfToken: csrfFrom(served.text),
      t: translator("en"),
      fmt: formatters("en", study.timeZone),
    });
    expect(served.text).toContain(`<tbody>${whole}</tbody>`);
    // Every row's select has an id of its own, numbered across the pieces.
    expect(served.text).toContain(`id="code-${groups.length - 1}"`);
    expect(new Set([...served.text.matchAll(/<select id="(code-\d+)"/g)].map((m) => m[1])).size).toBe(groups.length);
  });
});

describe("the review queue in the results worker thread", () => {
  afterAll(async () => {
    await stopResultsWorker();
    removeFileDbs();
  });

  async function seeded(db: Db) {
    const { study, pre, segments } = await templateStudy(db);
    const texts = ["вит", "Вкусно и точка", "вит, кофе хауз", "Шоколадница и вит", "не знаю", "кофе хауз"];
    for (const unaided of texts) await insertQualityResponse(db, study.id, { waveId: pre.id, segmentId: segments[0]!.id, answers: { ...goodAnswers(), unaided } });
    return study;
  }

  it("computes on a connection of its own the queue the request computes in process", { timeout: 60_000 }, async () => {
    const db = freshFileDb();
    try {
      const study = await seeded(db);
      const inProcess = (await computeStudyReviewQueue(db, study.id))!;
      expect(JSON.parse(inProcess.payload)).toMatchObject({ answers: 6, uncoded: 4 });
      const inWorker = await computeReviewQueueInWorker(databaseLocation(db)!, study.id);
      expect(inWorker).toMatchObject({ studyId: study.id, variant: REVIEW_QUEUE_VARIANT, dataVersion: inProcess.dataVersion, payload: inProcess.payload });
      expect(await computeReviewQueueInWorker(databaseLocation(db)!, study.id + 1000)).toBeNull();
    } finally {
      if (TEST_ENGINE !== "postgres") await closeDatabase(db);
    }
  });

  it("of a large study is computed there, and the page reads it as current", { timeout: 60_000 }, async () => {
    const db = freshFileDb();
    try {
      const study = await seeded(db);
      configureResultsSnapshots(db, { syncLimit: 0 });
      await stopResultsWorker();
      const questions = await loadQuestionnaire(db, study.id);
      const input = async () => ({ studyId: study.id, questions, aliases: await listTextAliases(db, study.id), waveIds: (await listWaves(db, study.id)).map((w) => w.id) });
      expect(await loadReviewQueue(db, await input())).toBeNull();
      await reviewQueuesSettled(db);
      expect(resultsWorkerRunning()).toBe(true);
      const read = await loadReviewQueue(db, await input());
      expect(read).toMatchObject({ current: true, queue: { answers: 6, uncoded: 4 } });
      const expected = JSON.parse((await computeStudyReviewQueue(db, study.id))!.payload) as { groups: unknown[]; mentions: Array<[string, number, number]> };
      expect(read!.queue.groups).toEqual(expected.groups);
      expect([...read!.mentions].map(([code, c]) => [code, c.n, c.first])).toEqual(expected.mentions);
    } finally {
      if (TEST_ENGINE !== "postgres") await closeDatabase(db);
    }
  });
});
