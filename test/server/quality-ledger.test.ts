import { describe, expect, it } from "vitest";
import { eq, inArray } from "drizzle-orm";
import { saveQualitySettings } from "../../db/queries/quality.js";
import { auditLog, responses } from "../../db/schema.js";
import { translator } from "../../server/i18n/index.js";
import { recomputeStudyFlags } from "../../server/quality/flag-service.js";
import { runJobsUntilIdle } from "../../server/jobs/runner.js";
import { exclusionForm } from "../../server/quality/ledger-service.js";
import { exclusionWarnings } from "../../server/quality/warnings.js";
import { sensitivityView } from "../../server/presenters/results.js";
import { computeResults, liftTableWithoutExclusions, resultsQuery } from "../../server/services/results.js";
import { createPersonalLinks, createStudyFromDefinition } from "../../server/services/study-setup.js";
import { goodAnswers, insertQualityResponse, templateStudy } from "../fixtures/quality/responses.js";
import { brandLiftDefinition } from "../fixtures/surveys.js";
import { addUser, csrfFrom, freshApp, loggedInAgent } from "../helpers.js";
import { first } from "../../db/client.js";

/**
 * Subscribers: pre 20 responses, 6 aware (aided); post 20 responses, 12 aware, of which 4 are
 * flagged speeders. Active, not subscribed: 12 and 12 responses, 3 and 6 aware.
 */
async function seed(db: ReturnType<typeof freshApp>["db"]) {
  const t = await templateStudy(db);
  const [subs, active] = t.segments;
  const add = async (waveId: number, segmentId: number, n: number, aware: number, flagged = 0) => {
    const ids: number[] = [];
    for (let i = 0; i < n; i++) {
      const r = await insertQualityResponse(db, t.study.id, {
        waveId,
        segmentId,
        answers: { ...goodAnswers(), aided: i < aware ? ["brand"] : ["none"], feedback: `ответ ${waveId}-${segmentId}-${i}` },
        flags: i < flagged ? [{ code: "speeder", detail: "duration=20000;median=120000" }] : null,
      });
      ids.push(r.id);
    }
    return ids;
  };
  await add(t.pre.id, subs!.id, 20, 6);
  const post = await add(t.post.id, subs!.id, 20, 12, 4);
  await add(t.pre.id, active!.id, 12, 3);
  await add(t.post.id, active!.id, 12, 6);
  return { ...t, flagged: post.slice(0, 4), clean: post.slice(4) };
}

const aided = async (db: ReturnType<typeof freshApp>["db"], study: Parameters<typeof computeResults>[1]) => {
  const r = await computeResults(db, study, resultsQuery.parse({}), "en", translator("en"));
  if (r === "no_waves") throw new Error("no waves");
  return r.table.rows.find((x) => x.id === "aided_awareness:subscribers")!;
};

describe("exclusion ledger", () => {
  it("shows viewers the flagged responses with reasons and answers, without the forms", async () => {
    const { app, db } = freshApp();
    const { study, flagged } = await seed(db);
    const viewer = await addUser(db, "viewer");
    const agent = await loggedInAgent(app, viewer.email);
    const page = await agent.get(`/studies/${study.id}/quality?lang=en`).expect(200);
    expect(page.text).toContain("4 responses match.");
    for (const id of flagged) expect(page.text).toContain(`id="response-${id}"`);
    expect(page.text).toContain("<strong>Speeder</strong>: Completed in 20 s; the wave’s median is 120 s");
    expect(page.text).toContain("Вкусно и точка, Шоколадница");
    expect(page.text).toContain("You can read the ledger; researchers decide on exclusions.");
    expect(page.text).not.toContain('name="ids"');
    await agent
      .post(`/studies/${study.id}/quality/exclusions`)
      .type("form")
      .send({ _csrf: csrfFrom(page.text), ids: String(flagged[0]), action: "exclude", reason: "x" })
      .expect(403);
    expect(await db.select().from(responses).where(eq(responses.excluded, true))).toEqual([]);
  });

  it("excludes and restores with a reason; the lift table, the audit log and the warnings follow", async () => {
    const { app, db } = freshApp();
    const { study, flagged } = await seed(db);
    const researcher = await addUser(db, "researcher");
    const agent = await loggedInAgent(app, researcher.email);

    const before = await aided(db, study);
    expect([before.pre.x, before.pre.n, before.post.x, before.post.n]).toEqual([6, 20, 12, 20]);

    const page = await agent.get(`/studies/${study.id}/quality?lang=en`).expect(200);
    const ok = await agent
      .post(`/studies/${study.id}/quality/exclusions?state=flagged`)
      .type("form")
      .send({ _csrf: csrfFrom(page.text), ids: flagged.slice(0, 3).map(String), action: "exclude", reason: "Speeders, checked by hand" })
      .expect(303);
    expect(ok.headers["location"]).toBe(`/studies/${study.id}/quality?state=flagged&done=exclude&n=3`);
    // A row's own button: one response, the shared reason.
    await agent
      .post(`/studies/${study.id}/quality/exclusions`)
      .type("form")
      .send({ _csrf: csrfFrom(page.text), ids: String(flagged[0]), one: `exclude:${flagged[3]}`, reason: "Speeder" })
      .expect(303);

    const excluded = await db.select().from(responses).where(eq(responses.excluded, true)).orderBy(responses.id);
    expect(excluded.map((r) => [r.id, r.excludedReason, r.excludedBy])).toEqual([
      [flagged[0], "Speeders, checked by hand", researcher.id],
      [flagged[1], "Speeders, checked by hand", researcher.id],
      [flagged[2], "Speeders, checked by hand", researcher.id],
      [flagged[3], "Speeder", researcher.id],
    ]);
    expect(excluded.every((r) => r.excludedAt instanceof Date)).toBe(true);

    // The lift table leaves them out: post 8 aware of 16.
    const after = await aided(db, study);
    expect([after.pre.x, after.pre.n, after.post.x, after.post.n]).toEqual([6, 20, 8, 16]);
    expect(after.absoluteLift.estimate).toBeCloseTo(8 / 16 - 6 / 20, 12);

    const audit = await db.select().from(auditLog).where(inArray(auditLog.action, ["quality.exclude", "quality.restore"])).orderBy(auditLog.id);
    expect(audit.map((a) => [a.action, a.userId, a.entityType, a.entityId, a.details])).toEqual([
      ["quality.exclude", researcher.id, "study", String(study.id), { responseIds: flagged.slice(0, 3), requested: 3, reason: "Speeders, checked by hand" }],
      ["quality.exclude", researcher.id, "study", String(study.id), { responseIds: [flagged[3]], requested: 1, reason: "Speeder" }],
    ]);
    expect(audit.every((a) => a.at instanceof Date)).toBe(true);
    // On the study's audit page too, with who.
    const auditPage = await agent.get(`/studies/${study.id}/audit?lang=en`).expect(200);
    expect(auditPage.text).toContain("Excluded responses from the results");
    expect(auditPage.text).toContain(researcher.email);

    // 4 of 20 post subscribers excluded (20%) against none before: more than the 10 pp margin.
    const ledger = await agent.get(`/studies/${study.id}/quality?lang=en&done=exclude&n=4`).expect(200);
    expect(ledger.text).toContain("4 responses excluded.");
    expect(ledger.text).toContain(
      "Among Subscribers, Post lost 20% of its completed responses to exclusions and Pre 0%: 20 pp apart.",
    );
    expect(ledger.text).toContain(`excluded 1 response: Speeder`);
    const excludedList = await agent.get(`/studies/${study.id}/quality?lang=en&state=excluded`).expect(200);
    expect(excludedList.text).toContain(`Excluded by ${researcher.email}`);

    // The results page warns too, and shows the lifts with and without exclusions.
    const results = await agent.get(`/studies/${study.id}/results?lang=en`).expect(200);
    expect(results.text).toContain("Exclusion rates differ");
    expect(results.text).toContain("Lifts with and without exclusions");
    expect(results.text).toContain("20.0%"); // left out among post subscribers
    // Side by side: the total of both segments as reported (4 post subscribers left out) and over every response.
    const computed = await computeResults(db, study, resultsQuery.parse({}), "en", translator("en"));
    if (computed === "no_waves") throw new Error("no waves");
    const sensitivity = sensitivityView(computed, await liftTableWithoutExclusions(db, computed, "en", translator("en")), "en", translator("en"));
    const aidedTotal = sensitivity.find((r) => r.metric === "Aided awareness")!;
    expect(aidedTotal).toMatchObject({ segment: "Total", total: true, reported: { n: "32 / 28" }, all: { n: "32 / 32" } });
    expect(results.text).toContain(aidedTotal.reported.lift);
    expect(results.text).toContain(aidedTotal.all.lift);
    expect(aidedTotal.reported.lift).not.toBe(aidedTotal.all.lift);

    // Restore two, with a reason.
    await agent
      .post(`/studies/${study.id}/quality/exclusions?state=excluded`)
      .type("form")
      .send({ _csrf: csrfFrom(page.text), ids: flagged.slice(0, 2).map(String), action: "restore", reason: "Fast but attentive" })
      .expect(303);
    const restored = await db.select().from(responses).where(inArray(responses.id, flagged.slice(0, 2)));
    expect(restored.map((r) => [r.excluded, r.excludedReason, r.excludedBy, r.excludedAt])).toEqual([
      [false, null, null, null],
      [false, null, null, null],
    ]);
    const last = (await db.select().from(auditLog).orderBy(auditLog.id)).at(-1)!;
    expect([last.action, last.details]).toEqual(["quality.restore", { responseIds: flagged.slice(0, 2), requested: 2, reason: "Fast but attentive" }]);
    const final = await aided(db, study);
    expect([final.post.x, final.post.n]).toEqual([10, 18]);
    // 2 of 20 is 10%: not more than the margin.
    const calm = await agent.get(`/studies/${study.id}/quality?lang=en`).expect(200);
    expect(calm.text).not.toContain("Exclusion rates differ");
  });

  it("refuses bad decisions with 422 and messages in the reader's language", async () => {
    const { app, db } = freshApp();
    const { study, flagged } = await seed(db);
    const other = await seed(db);
    const researcher = await addUser(db, "researcher");
    const agent = await loggedInAgent(app, researcher.email);
    const page = await agent.get(`/studies/${study.id}/quality`).expect(200);
    const csrf = csrfFrom(page.text);
    const post = (body: Record<string, unknown>, lang = "ru") =>
      agent.post(`/studies/${study.id}/quality/exclusions?lang=${lang}`).type("form").send({ _csrf: csrf, ...body });

    const noReason = await post({ ids: [String(flagged[0]), String(flagged[1])], action: "exclude", reason: "  " }).expect(422);
    expect(noReason.text).toContain("Укажите причину решения.");
    // The selection is kept.
    expect(noReason.text).toContain(`id="select-${flagged[0]}" name="ids" value="${flagged[0]}" checked`);
    expect((await post({ action: "exclude", reason: "r" }).expect(422)).text).toContain("Выберите хотя бы одну анкету.");
    expect((await post({ ids: "1", reason: "r" }, "en").expect(422)).text).toContain("Choose to exclude or to restore.");
    expect((await post({ ids: "abc", action: "exclude", reason: "r" }, "en").expect(422)).text).toContain("The selection is malformed");
    expect((await post({ ids: "1", action: "drop", reason: "r" }).expect(422)).text).toContain("Выберите: исключить или вернуть.");
    expect((await post({ one: "exclude:x", reason: "r" }).expect(422)).text).toContain("Выберите: исключить или вернуть.");
    expect((await post({ ids: "1", action: "exclude", reason: "r".repeat(501) }).expect(422)).status).toBe(422);
    // More fields than the form parser takes is a 400 before any handler runs.
    await post({ ids: Array.from({ length: 1001 }, (_, i) => String(i + 1)), action: "exclude", reason: "r" }).expect(400);
    const many = exclusionForm.safeParse({ ids: Array.from({ length: 1001 }, (_, i) => String(i + 1)), action: "exclude", reason: "r" });
    expect(many.success ? [] : many.error.issues.map((i) => i.message)).toEqual(["quality.errors.tooMany"]);
    // Another study's response: nothing changes.
    const foreign = await post({ ids: [String(flagged[0]), String(other.flagged[0])], action: "exclude", reason: "r" }, "en").expect(422);
    expect(foreign.text).toContain(`Not completed responses of this study: ${other.flagged[0]}.`);
    expect(await db.select().from(responses).where(eq(responses.excluded, true))).toEqual([]);
    expect((await db.select().from(auditLog)).filter((a) => a.action.startsWith("quality."))).toEqual([]);

    // Bad filters are a 422 too, never a 500.
    for (const q of ["state=zzz", "flag=nope", "page=0", "page=abc", "wave=-1", "state=all&state=flagged"]) {
      await agent.get(`/studies/${study.id}/quality?${q}`).expect(422);
    }
    await agent.get(`/studies/abc/quality`).expect(404);
  });

  it("filters by flag, state, wave and segment, and pages", async () => {
    const { app, db } = freshApp();
    const { study, post, segments } = await seed(db);
    await insertQualityResponse(db, study.id, { waveId: post.id, segmentId: segments[1]!.id, flags: [{ code: "honeypot" }, { code: "attention", detail: "question=attention" }] });
    const viewer = await addUser(db, "viewer");
    const agent = await loggedInAgent(app, viewer.email);
    const count = async (q: string) => /(\d+) responses? match/.exec((await agent.get(`/studies/${study.id}/quality?lang=en&${q}`).expect(200)).text)?.[1];
    expect(await count("")).toBe("5");
    expect(await count("flag=speeder")).toBe("4");
    expect(await count("flag=attention")).toBe("1");
    expect(await count("flag=attention&segment=" + segments[0]!.id)).toBeUndefined();
    expect(await count("state=all")).toBe("65");
    expect(await count("state=all&wave=" + post.id)).toBe("33");
    expect(await count("state=excluded")).toBeUndefined();
    const page2 = await agent.get(`/studies/${study.id}/quality?lang=en&state=all&page=2`).expect(200);
    expect(page2.text).toContain("Page 2 of 2");
    expect(page2.text).toContain('rel="prev"');
    const summary = await agent.get(`/studies/${study.id}/quality?lang=en`).expect(200);
    expect(summary.text).toMatch(/Speeder<\/a><\/th><td>4<\/td><td>0<\/td>/);
    expect(summary.text).toMatch(/Honeypot<\/a><\/th><td>1<\/td><td>0<\/td>/);
  });
});

describe("quality pages of a study without waves or coded questions", () => {
  it("render empty, never a 500", async () => {
    const { app, db } = freshApp();
    const study = await createStudyFromDefinition(db, brandLiftDefinition(), null);
    const researcher = await addUser(db, "researcher");
    const agent = await loggedInAgent(app, researcher.email);
    const ledger = await agent.get(`/studies/${study.id}/quality?lang=en`).expect(200);
    expect(ledger.text).toContain("No responses match.");
    const coding = await agent.get(`/studies/${study.id}/quality/coding?lang=en`).expect(200);
    expect(coding.text).toContain("This study has no coded text question");
    await agent.post(`/studies/${study.id}/quality/recompute`).type("form").send({ _csrf: csrfFrom(ledger.text) }).expect(303);
    await agent.post(`/studies/${study.id}/quality/coding/recode`).type("form").send({ _csrf: csrfFrom(ledger.text) }).expect(303);
  });
});

describe("exclusion-rate warnings", () => {
  const cell = (waveId: number, segmentId: number, completed: number, leftOut: number) => ({ waveId, segmentId, completed, leftOut });

  it("warn when waves of a segment or segments of a wave differ by more than the margin", () => {
    const cells = [cell(1, 10, 100, 5), cell(2, 10, 100, 20), cell(1, 11, 50, 5), cell(2, 11, 50, 10)];
    expect(exclusionWarnings(cells, 10)).toEqual([
      { kind: "waves", within: 10, low: { id: 1, rate: 0.05 }, high: { id: 2, rate: 0.2 }, differencePp: expect.closeTo(15, 9) },
    ]);
    expect(exclusionWarnings(cells, 15)).toEqual([]); // exactly the margin is not more
    expect(exclusionWarnings(cells, 4).map((w) => [w.kind, w.within])).toEqual([
      ["waves", 10],
      ["waves", 11],
      ["segments", 1],
    ]);
  });

  it("ignore cells with fewer than 10 completed responses", () => {
    expect(exclusionWarnings([cell(1, 10, 9, 9), cell(2, 10, 100, 0)], 10)).toEqual([]);
    expect(exclusionWarnings([cell(1, 10, 10, 9), cell(2, 10, 100, 0)], 10)).toHaveLength(1);
    expect(exclusionWarnings([], 10)).toEqual([]);
  });

  it("follow the margin set for the study", async () => {
    const { app, db } = freshApp();
    const { study, flagged } = await seed(db);
    await db.update(responses).set({ excluded: true, excludedReason: "r" }).where(inArray(responses.id, flagged));
    const researcher = await addUser(db, "researcher");
    const agent = await loggedInAgent(app, researcher.email);
    const page = await agent.get(`/studies/${study.id}/results?lang=ru`).expect(200);
    expect(page.text).toContain("Доли исключённых различаются");
    expect(page.text).toContain("В сегменте «Подписчики» волна Post потеряла на исключениях 20\u00a0% заполненных анкет, а волна Pre — 0\u00a0%: разница 20 п. п.");
    const ledger = await agent.get(`/studies/${study.id}/quality`).expect(200);
    await agent
      .post(`/studies/${study.id}/quality/settings`)
      .type("form")
      .send({ _csrf: csrfFrom(ledger.text), speederPercent: "50", speederMinResponses: "20", straightlineMinQuestions: "3", exclusionMarginPp: "25", duplicateByNetwork: "1", duplicateAcrossWaves: "1" })
      .expect(303);
    const calm = await agent.get(`/studies/${study.id}/results?lang=ru`).expect(200);
    expect(calm.text).not.toContain("Доли исключённых различаются");
    // Leaving flagged responses out counts them as left out as well.
    const report = await agent.get(`/studies/${study.id}/report?lang=en&flagged=0`).expect(200);
    expect(report.text).toContain("Lifts with and without exclusions");
  });
});

describe("cross-wave duplicates", () => {
  /** Subscribers: 10 pre and 10 post responses, 3 and 6 aware; one post respondent answered the pre wave from the same browser. */
  async function seedDuplicates(db: ReturnType<typeof freshApp>["db"]) {
    const t = await templateStudy(db);
    const seg = t.segments[0]!.id;
    const add = async (waveId: number, i: number, aware: boolean, extra: { browserHash?: string; networkHash?: string } = {}) =>
      (await insertQualityResponse(db, t.study.id, { waveId, segmentId: seg, completedAt: new Date(1_000_000 + waveId * 1_000 + i), answers: { ...goodAnswers(), aided: aware ? ["brand"] : ["none"] }, ...extra })).id;
    const pre: number[] = [];
    for (let i = 0; i < 10; i++) pre.push(await add(t.pre.id, i, i < 3, i === 0 ? { browserHash: "same-browser", networkHash: "same-network" } : {}));
    const post: number[] = [];
    for (let i = 0; i < 10; i++) post.push(await add(t.post.id, i, i < 6, i === 0 ? { browserHash: "same-browser" } : i === 1 ? { networkHash: "same-network" } : {}));
    return { ...t, preIds: pre, again: post[0]!, networkOnly: post[1]! };
  }
  const state = async (db: ReturnType<typeof freshApp>["db"], id: number) => first(await db.select().from(responses).where(eq(responses.id, id)))!;

  it("are excluded from the later wave by the system when flags are computed; a network match alone is only flagged", async () => {
    const { app, db } = freshApp();
    const { study, preIds, again, networkOnly } = await seedDuplicates(db);
    expect((await aided(db, study)).post).toMatchObject({ x: 6, n: 10 });

    const summary = await recomputeStudyFlags(db, study.id, { userId: null });
    expect(summary.autoExcluded).toBe(1);
    const duplicate = await state(db, again);
    expect([duplicate.excluded, duplicate.excludedBy, duplicate.excludedReason]).toEqual([true, null, `auto:cross_wave_duplicate;of=${preIds[0]};by=browser`]);
    expect(duplicate.qualityFlags).toEqual([{ code: "duplicate", detail: `of=${preIds[0]};by=browser;scope=study` }]);
    // The earlier wave keeps its response.
    expect((await state(db, preIds[0]!)).excluded).toBe(false);
    // Same network and device only: flagged, still counted.
    const network = await state(db, networkOnly);
    expect(network.excluded).toBe(false);
    expect(network.qualityFlags).toEqual([{ code: "duplicate", detail: `of=${preIds[0]};by=network;scope=study` }]);

    const audit = await db.select().from(auditLog).where(eq(auditLog.action, "quality.auto_exclude"));
    expect(audit.map((a) => [a.userId, a.systemActor, a.entityType, a.entityId, a.details])).toEqual([[null, "system", "study", String(study.id), { responseIds: [again], reason: "auto:cross_wave_duplicate" }]]);
    // The recomputation without a user is the system's too.
    expect((await db.select().from(auditLog).where(eq(auditLog.action, "quality.recompute"))).map((a) => [a.userId, a.systemActor])).toEqual([[null, "system"]]);

    // Out of the post wave's base (the aware duplicate), and counted as excluded beside it.
    expect((await aided(db, study)).post).toMatchObject({ x: 5, n: 9 });
    const results = await computeResults(db, study, resultsQuery.parse({}), "en", translator("en"));
    if (results === "no_waves") throw new Error("no waves");
    const base = results.bases.find((b) => b.metric === "aided_awareness" && b.segment === "subscribers" && b.waveId === duplicate.waveId)!;
    expect(base).toMatchObject({ n: 9, excluded: 1, leftOut: 1 });

    // The ledger lists it with the reason in words, by the system, in both languages.
    const viewer = await addUser(db, "viewer");
    const agent = await loggedInAgent(app, viewer.email);
    const en = await agent.get(`/studies/${study.id}/quality?lang=en&state=excluded`).expect(200);
    expect(en.text).toContain("1 response matches.");
    expect(en.text).toContain(`Excluded by the system`);
    expect(en.text).toContain(`Same browser as response #${preIds[0]} of an earlier wave`);
    expect(en.text).not.toContain("auto:cross_wave_duplicate");
    expect(en.text).toContain("the system excluded 1 response: answered an earlier wave too");
    const ru = await agent.get(`/studies/${study.id}/quality?lang=ru&state=excluded`).expect(200);
    expect(ru.text).toContain(`Тот же браузер, что у ответа №${preIds[0]} более ранней волны`);
  });

  it("come back with one click in the ledger and stay back after the flags are recomputed", async () => {
    const { app, db } = freshApp();
    const { study, again } = await seedDuplicates(db);
    await recomputeStudyFlags(db, study.id);
    expect((await state(db, again)).excluded).toBe(true);

    const researcher = await addUser(db, "researcher");
    const agent = await loggedInAgent(app, researcher.email);
    const page = await agent.get(`/studies/${study.id}/quality?lang=en&state=excluded`).expect(200);
    expect(page.text).toContain(`value="restore:${again}"`);
    await agent
      .post(`/studies/${study.id}/quality/exclusions?state=excluded`)
      .type("form")
      .send({ _csrf: csrfFrom(page.text), one: `restore:${again}`, reason: "Different person on a shared tablet" })
      .expect(303);
    expect(await state(db, again)).toMatchObject({ excluded: false, excludedReason: null, excludedBy: null });
    expect((await aided(db, study)).post).toMatchObject({ x: 6, n: 10 });

    // Neither a recompute on demand nor closing the wave excludes it again.
    await agent.post(`/studies/${study.id}/quality/recompute`).type("form").send({ _csrf: csrfFrom(page.text) }).expect(303);
    await runJobsUntilIdle(db);
    expect((await recomputeStudyFlags(db, study.id)).autoExcluded).toBe(0);
    expect((await state(db, again)).excluded).toBe(false);
    expect((await aided(db, study)).post).toMatchObject({ x: 6, n: 10 });
    expect(await db.select().from(auditLog).where(eq(auditLog.action, "quality.auto_exclude"))).toHaveLength(1);
  });

  it("are excluded by the background checks that follow a submission when the browser id matches", async () => {
    const { db } = freshApp();
    const { study, pre, post, segments, preIds, again } = await seedDuplicates(db);
    // Stored as a submission leaves it: its checks not yet run.
    const submitted = async (waveId: number, segmentId: number) => {
      const r = await insertQualityResponse(db, study.id, { waveId, segmentId, browserHash: "same-browser" });
      await db.update(responses).set({ checkedAt: null }).where(eq(responses.id, r.id));
      return r;
    };
    const later = await submitted(post.id, segments[1]!.id);
    expect((await state(db, later.id)).excluded).toBe(false);
    await runJobsUntilIdle(db);
    // seedDuplicates' own post duplicate was stored as checked: only recomputes see stored responses.
    expect(await state(db, later.id)).toMatchObject({ excluded: true, excludedBy: null, excludedReason: `auto:cross_wave_duplicate;of=${preIds[0]};by=browser`, checkedAt: expect.any(Date) });
    // Flagged as a repeat of the earliest response with its browser in its own wave, excluded for the earlier wave's.
    expect((await state(db, later.id)).qualityFlags).toEqual([{ code: "duplicate", detail: `of=${again};by=browser;scope=wave` }]);
    const audit = await db.select().from(auditLog).where(eq(auditLog.action, "quality.auto_exclude"));
    expect(audit.map((a) => a.details)).toEqual([{ responseIds: [later.id], reason: "auto:cross_wave_duplicate" }]);
    // A response of the earliest wave has nothing earlier to repeat: flagged as a duplicate, never excluded.
    const first = await submitted(pre.id, segments[1]!.id);
    await runJobsUntilIdle(db);
    expect((await state(db, first.id)).excluded).toBe(false);
    expect((await state(db, first.id)).qualityFlags).toEqual([{ code: "duplicate", detail: `of=${preIds[0]};by=browser;scope=wave` }]);
  });

  it("are found by the respondent id of personal links at recompute", async () => {
    const { db } = freshApp();
    const { study, pre, post, segments } = await seedDuplicates(db);
    const seg = segments[2]!.id;
    const [preLink] = await createPersonalLinks(db, pre.id, seg, 1);
    const [postLink, otherLink] = await createPersonalLinks(db, post.id, seg, 2);
    const onLink = async (waveId: number, linkId: number, rid: string) => {
      const r = await insertQualityResponse(db, study.id, { waveId, segmentId: seg });
      await db.update(responses).set({ linkId, params: { rid } }).where(eq(responses.id, r.id));
      return r.id;
    };
    const first = await onLink(pre.id, preLink!.id, "panel-42");
    const second = await onLink(post.id, postLink!.id, "panel-42");
    const someoneElse = await onLink(post.id, otherLink!.id, "panel-43");
    // The same rid on an open link proves nothing: anyone can type it.
    const open = await insertQualityResponse(db, study.id, { waveId: post.id, segmentId: seg });
    await db.update(responses).set({ params: { rid: "panel-42" } }).where(eq(responses.id, open.id));

    expect((await recomputeStudyFlags(db, study.id)).autoExcluded).toBe(2); // the browser duplicate and the person
    expect(await state(db, second)).toMatchObject({ excluded: true, excludedReason: `auto:cross_wave_duplicate;of=${first};by=person` });
    expect((await state(db, someoneElse)).excluded).toBe(false);
    expect((await state(db, open.id)).excluded).toBe(false);
    expect((await state(db, first)).excluded).toBe(false);
  });

  it("stay in when the study does not look for duplicates across waves", async () => {
    const { db } = freshApp();
    const { study, again } = await seedDuplicates(db);
    await saveQualitySettings(db, study.id, { duplicateAcrossWaves: false }, null, new Date());
    expect((await recomputeStudyFlags(db, study.id)).autoExcluded).toBe(0);
    expect((await state(db, again)).excluded).toBe(false);
  });
});
