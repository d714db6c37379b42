import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import request from "supertest";
import { afterAll, describe, expect, it } from "vitest";
import { eq } from "drizzle-orm";
import { closeDatabase, databaseLocation, first, openDatabase, unitOfWork, type Db } from "../../db/client.js";
import { runMigrations } from "../../db/migrate.js";
import { replaceMargins } from "../../db/queries/margins.js";
import { loadQuestionnaire } from "../../db/queries/questionnaire.js";
import { updateResponse } from "../../db/queries/responses.js";
import { jobs } from "../../db/schema.js";
import { translator } from "../../server/i18n/index.js";
import { startJob } from "../../server/jobs/queue.js";
import { runJobsUntilIdle } from "../../server/jobs/runner.js";
import { changeExclusion } from "../../server/quality/ledger-service.js";
import { computeSnapshot, variantOf, type SnapshotRequest } from "../../server/results-snapshots/compute.js";
import { loadStudyResults } from "../../server/results-snapshots/load.js";
import { configureResultsSnapshots, refreshesSettled } from "../../server/results-snapshots/refresh.js";
import { findSnapshot } from "../../server/results-snapshots/store.js";
import { markResultsStale, resultsDataVersion } from "../../server/results-snapshots/version.js";
import { computeInWorker, stopResultsWorker, workerScript } from "../../server/results-snapshots/worker-pool.js";
import { createApiToken } from "../../server/services/accounts.js";
import { computeResults, resultsQuery, type StudyResults } from "../../server/services/results.js";
import { closeWave, createWave } from "../../server/services/study-setup.js";
import { openSurvey } from "../fixtures/surveys.js";
import { insertResponseWithAnswers } from "../fixtures/responses.js";
import { addUser, freshApp, freshDb, loggedInAgent } from "../helpers.js";
import { TEST_ENGINE } from "../support/postgres.js";

/**
 * Results from snapshots per data version (server/results-snapshots): the version sees every
 * change results depend on; a small study is always current; a large one shows its last snapshot
 * marked as updating while the worker recomputes, and page, export and API show the same numbers.
 */

const t = translator("en");
const options = resultsQuery.parse({});

async function seed(db: Db) {
  const survey = await openSurvey(db);
  const post = await createWave(db, survey.study.id, "post", "Post");
  const [subs] = survey.segments;
  const add = (waveId: number, aware: boolean, status: "completed" | "partial" = "completed") =>
    insertResponseWithAnswers(db, survey.study.id, { waveId, segmentId: subs!.id, status, answers: { aided: aware ? ["acme"] : ["none"], fav: 4, recall: "yes", feedback: "хороший кофе" } });
  for (let i = 0; i < 6; i++) await add(survey.wave.id, i < 2);
  const awarePost: number[] = [];
  for (let i = 0; i < 6; i++) {
    const r = await add(post.id, i < 4);
    if (i < 4) awarePost.push(r.id);
  }
  return { survey, post, add, awarePost };
}

const aidedTotal = (r: StudyResults, wave: "pre" | "post") =>
  r.counts.filter((c) => c.metric === "aided_awareness" && c.wave === String(wave === "pre" ? r.pre.id : r.post.id)).reduce((s, c) => s + c.x, 0);

describe("the data version", () => {
  it("changes with every write results depend on, and not with another study's", async () => {
    const db = freshDb();
    const { survey, post, add } = await seed(db);
    const other = await openSurvey(db);
    const version = () => resultsDataVersion(db, survey.study.id);
    const seen = new Set<string>([await version()]);
    const changed = async (what: string) => {
      const v = await version();
      expect(seen.has(v), what).toBe(false);
      seen.add(v);
    };

    const partial = await add(post.id, true, "partial");
    await changed("a new response");
    // As the survey stores its last page: completed and waiting for its background checks.
    await updateResponse(db, partial.id, { status: "completed", completedAt: new Date(), checkedAt: null });
    await changed("a partial response completed");
    await changeExclusion(db, survey.study, (await addUser(db, "researcher")).id, { excluded: true, ids: [partial.id], reason: "test" });
    await changed("an exclusion");
    await unitOfWork(db, (tx) => markResultsStale(tx, survey.study.id));
    await changed("results marked stale (flags, coding, checks)");
    const gender = { segmentId: survey.segments[0]!.id, waveId: null, questionId: (await loadQuestionnaire(db, survey.study.id)).find((q) => q.type === "single")!.id };
    await unitOfWork(db, (tx) => replaceMargins(tx, survey.study.id, [gender], [{ ...gender, optionKey: "a", share: 1 }]));
    await changed("weighting margins entered");
    await unitOfWork(db, (tx) => replaceMargins(tx, survey.study.id, [gender], [{ ...gender, optionKey: "a", share: 1 }]));
    await changed("weighting margins replaced");
    await closeWave(db, post, null);
    await changed("a wave closed");

    const before = await version();
    await insertResponseWithAnswers(db, other.study.id, { waveId: other.wave.id, segmentId: other.segments[0]!.id, answers: { aided: ["acme"] } });
    expect(await version()).toBe(before);
  });
  it("does not come back to a value it had once the background checks of a new response ran", async () => {
    const db = freshDb();
    const { survey, post, add } = await seed(db);
    const arrived = await add(post.id, true);
    const before = await resultsDataVersion(db, survey.study.id);
    // Its last page posted again, as the survey stores it: unchecked until the response checks job has run.
    await updateResponse(db, arrived.id, { checkedAt: null, durationMs: 61_000 });
    const unchecked = await resultsDataVersion(db, survey.study.id);
    await runJobsUntilIdle(db);
    const checked = await resultsDataVersion(db, survey.study.id);
    expect(new Set([before, unchecked, checked]).size).toBe(3);
  });
});

describe("a small study", () => {
  it("is computed on the request and always current, the page saying when and from how many responses", async () => {
    const { app, db } = freshApp();
    const { survey, post, add } = await seed(db);
    await addUser(db, "viewer");
    const agent = await loggedInAgent(app, "viewer@example.test");
    const page = await agent.get(`/studies/${survey.study.id}/results?lang=en`).expect(200);
    expect(page.text).toMatch(/class="freshness" id="freshness" role="status" data-current="true">Computed .+ from 12 responses\./);
    const ru = await agent.get(`/studies/${survey.study.id}/results?lang=ru`).expect(200);
    expect(ru.text).toMatch(/data-current="true">Рассчитано .+ по 12 ответам\./);

    await add(post.id, true);
    const again = await agent.get(`/studies/${survey.study.id}/results.json`).expect(200);
    expect(again.body.freshness).toMatchObject({ responses: 13, current: true });
    const stored = await findSnapshot(db, survey.study.id, variantOf({ kind: "results", pre: survey.wave.id, post: post.id, flagged: true }));
    expect(stored?.dataVersion).toBe(await resultsDataVersion(db, survey.study.id));
  });
});

describe("a results page not kept yet", () => {
  it("is read, prepared and drawn in three tasks, a turn of the event loop between them; a kept one is served at once", async () => {
    const { app, db } = freshApp();
    const { survey } = await seed(db);
    let turns = 0;
    configureResultsSnapshots(db, {
      betweenPhases: async () => {
        turns++;
      },
    });
    await addUser(db, "viewer");
    const agent = await loggedInAgent(app, "viewer@example.test");
    const page = () => agent.get(`/studies/${survey.study.id}/results?lang=en`).expect(200);
    const first = await page();
    expect(turns).toBe(2);
    expect(first.text).toMatch(/data-current="true">Computed .+ from 12 responses\./);
    // The first view stored the snapshot (a small study's is computed on the request), so its page
    // was not kept: the second renders again and is kept, the third is served as kept.
    await page();
    expect(turns).toBe(4);
    const kept = await page();
    expect(turns).toBe(4);
    expect(kept.text).toMatch(/data-current="true">Computed .+ from 12 responses\./);
    await agent.get(`/studies/${survey.study.id}/report?lang=en`).expect(200);
    expect(turns).toBe(6);
  });
});

describe("a large study", () => {
  it("shows its last snapshot marked as updating while it is recomputed, the same numbers on the page, in exports and the API", async () => {
    const { app, db } = freshApp();
    configureResultsSnapshots(db, { syncLimit: 0 });
    const { survey, post, awarePost } = await seed(db);
    const researcher = await addUser(db, "researcher");
    const token = (await createApiToken(db, researcher.id, "snapshots")).token;
    const agent = await loggedInAgent(app, "researcher@example.test");
    const api = (path: string) => request(app).get(`/api/studies/${survey.study.id}/${path}`).set("Authorization", `Bearer ${token}`);

    // No snapshot of a variant yet: its first request says the results are being computed (the page reloads, the API asks to retry).
    const busy = await api("results").expect(503);
    expect(busy.headers["retry-after"]).toBe("5");
    expect(busy.body.error.code).toBe("results_computing");
    const first = await agent.get(`/studies/${survey.study.id}/results?lang=en&flagged=0`).expect(200);
    expect(first.headers["refresh"]).toBe("5");
    expect(first.text).toContain("The results are being computed");
    await refreshesSettled(db);

    const current = await api("results").expect(200);
    expect(current.body.freshness).toMatchObject({ responses: 12, current: true });
    const awareInPost = (body: { counts: Array<{ metric: string; wave: string; x: number }> }) =>
      body.counts.filter((c) => c.metric === "aided_awareness" && c.wave === String(post.id)).reduce((s, c) => s + c.x, 0);
    expect(awareInPost(current.body)).toBe(4);

    // A change: until the recomputation ends, every place shows the last numbers, marked as not current.
    let resume!: () => void;
    const held = new Promise<void>((resolve) => (resume = resolve));
    configureResultsSnapshots(db, { beforeRefresh: () => held });
    const aware = (await computeResults(db, survey.study, options, "en", t)) as StudyResults;
    expect(aidedTotal(aware, "post")).toBe(4);
    await changeExclusion(db, survey.study, researcher.id, { excluded: true, ids: [awarePost[0]!], reason: "test" });
    const stale = await api("results").expect(200);
    expect(stale.body.freshness).toMatchObject({ responses: 12, current: false });
    expect(awareInPost(stale.body)).toBe(4);
    const page = await agent.get(`/studies/${survey.study.id}/results?lang=en`).expect(200);
    expect(page.text).toMatch(/class="freshness stale" id="freshness" role="status" data-current="false">Computed .+ from 12 responses\. The data has changed since/);
    const exported = await agent.get(`/studies/${survey.study.id}/results.json`).expect(200);
    expect(exported.body.table).toEqual(stale.body.table);

    resume();
    await refreshesSettled(db);
    const fresh = await api("results").expect(200);
    expect(fresh.body.freshness).toMatchObject({ responses: 12, current: true });
    expect(awareInPost(fresh.body)).toBe(3);
    const loaded = await loadStudyResults(db, survey.study, await resultsDataVersion(db, survey.study.id), options, "en", t);
    expect(loaded !== "computing" && loaded !== "no_waves" && aidedTotal(loaded, "post")).toBe(3);
  });

  it("is computed by a background job of kind results", async () => {
    const db = freshDb();
    const { survey, post } = await seed(db);
    const request: SnapshotRequest = { kind: "results", pre: survey.wave.id, post: post.id, flagged: false };
    const job = await startJob(db, { teamId: survey.study.teamId, studyId: survey.study.id, kind: "results", params: { ...request } });
    await runJobsUntilIdle(db, { checkResponses: false });
    expect(first(await db.select().from(jobs).where(eq(jobs.id, job.id)))).toMatchObject({ status: "done", done: 1, total: 1, error: null });
    const stored = await findSnapshot(db, survey.study.id, variantOf(request));
    expect(stored?.dataVersion).toBe(await resultsDataVersion(db, survey.study.id));
    expect(JSON.parse(stored!.payload)).toMatchObject({ responses: 12 });
  });
});

describe("the results worker thread", () => {
  const dirs: string[] = [];
  afterAll(async () => {
    await stopResultsWorker();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it("starts from worker.js beside the compiled module, and through tsx from TypeScript", () => {
    const compiled = workerScript("file:///app/dist/server/results-snapshots/worker-pool.js");
    expect(compiled.eval).toBe(true);
    expect(compiled.script).toContain('import("file:///app/dist/server/results-snapshots/worker.js")');
    expect(compiled.script).not.toContain("tsx");
    const fromSource = workerScript(new URL("../../server/results-snapshots/worker-pool.ts", import.meta.url).href);
    expect(fromSource.eval).toBe(true);
    expect(String(fromSource.script)).toContain("/server/results-snapshots/worker.ts");
  });

  it("computes on a connection of its own what the request would compute in process", { timeout: 60_000 }, async () => {
    let db: Db;
    if (TEST_ENGINE === "postgres") {
      db = freshDb();
    } else {
      const dir = mkdtempSync(join(tmpdir(), "brand-lift-snapshots-"));
      dirs.push(dir);
      db = openDatabase(join(dir, "worker.db"));
      runMigrations(db);
    }
    try {
      const { survey, post } = await seed(db);
      const request: SnapshotRequest = { kind: "results", pre: survey.wave.id, post: post.id, flagged: true };
      const inProcess = await computeSnapshot(db, survey.study.id, request);
      const inWorker = await computeInWorker(databaseLocation(db)!, survey.study.id, request);
      expect(inWorker).toMatchObject({ studyId: survey.study.id, variant: inProcess!.variant, dataVersion: inProcess!.dataVersion, payload: inProcess!.payload });
    } finally {
      if (TEST_ENGINE !== "postgres") await closeDatabase(db);
    }
  });
});
