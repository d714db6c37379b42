import { describe, expect, it } from "vitest";
import { eq, and } from "drizzle-orm";
import { resultSnapshots } from "../../db/schema.js";
import { runJobsUntilIdle } from "../../server/jobs/runner.js";
import { REVIEW_QUEUE_VARIANT, reviewQueuesSettled } from "../../server/quality/review-queue.js";
import { configureResultsSnapshots } from "../../server/results-snapshots/refresh.js";
import { goodAnswers, insertQualityResponse, templateStudy } from "../fixtures/quality/responses.js";
import { addUser, csrfFrom, freshApp, loggedInAgent } from "../helpers.js";

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
