import request from "supertest";
import { describe, expect, it } from "vitest";
import { eq } from "drizzle-orm";
import { liftTable } from "../../stats/index.js";
import { options, questions, segments, studies } from "../../db/schema.js";
import { createWave } from "../../server/services/study-setup.js";
import { computeResults, liftTableWithoutExclusions, resultsQuery } from "../../server/services/results.js";
import { translator } from "../../server/i18n/index.js";
import { brandLiftDefinition, openSurvey } from "../fixtures/surveys.js";
import { insertResponseWithAnswers } from "../fixtures/responses.js";
import { addUser, csrfFrom, freshApp, loggedInAgent } from "../helpers.js";
import { first } from "../../db/client.js";

const XSS = `<script>alert(1)</script>"'&`;

async function seed(db: ReturnType<typeof freshApp>["db"]) {
  const survey = await openSurvey(db);
  const post = await createWave(db, survey.study.id, "post", "Post");
  const [subs, active] = survey.segments;
  const add = async (waveId: number, segmentId: number, n: number, aware: number, fav: number) => {
    for (let i = 0; i < n; i++) {
      await insertResponseWithAnswers(db, survey.study.id, {
        waveId,
        segmentId,
        answers: { aided: i < aware ? ["acme"] : ["none"], fav: i < fav ? 5 : 2, recall: "yes", feedback: `отзыв ${waveId}-${segmentId}-${i}` },
      });
    }
  };
  await add(survey.wave.id, subs!.id, 40, 12, 20);
  await add(post.id, subs!.id, 40, 24, 22);
  await add(survey.wave.id, active!.id, 10, 1, 5);
  await add(post.id, active!.id, 12, 6, 6);
  return { survey, post };
}

describe("results page", () => {
  it("shows every row of liftTable for the SQL counts, with plain-words verdicts", async () => {
    const { app, db } = freshApp();
    const { survey, post } = await seed(db);
    await addUser(db, "viewer");
    const agent = await loggedInAgent(app, "viewer@example.test");
    const res = await agent.get(`/studies/${survey.study.id}/results?lang=en`).expect(200);

    const direct = liftTable({
      metrics: [
        { key: "aided_awareness", label: "Aided awareness" },
        { key: "favorability", label: "Favorability (rated 4–5 out of 5)" },
      ],
      segments: survey.segments.map((s) => ({ key: s.key, label: s.label.en!, role: s.role })),
      counts: [
        { metric: "aided_awareness", segment: "subscribers", wave: "pre", x: 12, n: 40 },
        { metric: "aided_awareness", segment: "subscribers", wave: "post", x: 24, n: 40 },
        { metric: "aided_awareness", segment: "active_unsubscribed", wave: "pre", x: 1, n: 10 },
        { metric: "aided_awareness", segment: "active_unsubscribed", wave: "post", x: 6, n: 12 },
        { metric: "favorability", segment: "subscribers", wave: "pre", x: 20, n: 40 },
        { metric: "favorability", segment: "subscribers", wave: "post", x: 22, n: 40 },
        { metric: "favorability", segment: "active_unsubscribed", wave: "pre", x: 5, n: 10 },
        { metric: "favorability", segment: "active_unsubscribed", wave: "post", x: 6, n: 12 },
      ],
      waves: { pre: "pre", post: "post" },
      totalLabel: "Total",
    });
    const computed = await computeResults(db, first(await db.select().from(studies))!, resultsQuery.parse({}), "en", translator("en"));
    if (computed === "no_waves") throw new Error("expected results");
    expect(computed.pre.id).toBe(survey.wave.id);
    expect(computed.post.id).toBe(post.id);
    const strip = (rows: typeof direct.rows) =>
      rows.map(({ pValue, adjustedPValue, absoluteLift, pre, post: p2, verdict, verdictInterval }) => ({ pValue, adjustedPValue, absoluteLift, pre, p2, verdict, verdictInterval }));
    expect(strip(computed.table.rows)).toEqual(strip(direct.rows));

    // Subscribers' aided awareness: 30.0% → 60.0%, +30.0 pp.
    expect(res.text).toContain("Among subscribers, aided awareness rose from 30% to 60%");
    expect(res.text).toMatch(/>30\.0%<\/td>\s*<td[^>]*>60\.0%</);
    expect(res.text).toContain("+30.0\u00a0pp");
    // The small segment is marked, not hidden.
    expect(res.text).toContain("fewer than 30 respondents in a wave");
    expect(direct.rows.find((r) => r.id === "aided_awareness:active_unsubscribed")!.warnings).toContain("small_n");
    expect(res.text).toMatch(/<svg[^>]+role="img"/);
    // Open feedback, most recent first.
    expect(res.text).toContain(`отзыв ${post.id}-`);
  });

  it("is in Russian with Russian number formats", async () => {
    const { app, db } = freshApp();
    const { survey } = await seed(db);
    await addUser(db, "viewer");
    const agent = await loggedInAgent(app, "viewer@example.test");
    const res = await agent.get(`/studies/${survey.study.id}/results?lang=ru`).expect(200);
    expect(res.text).toContain("Сегмент «Подписчики», подсказанное знание: рост с 30\u00a0% до 60\u00a0%");
    expect(res.text).toContain("+30,0\u00a0п.\u00a0п.");
  });

  it("refuses bad options with 422 and explains when there are not two waves", async () => {
    const { app, db } = freshApp();
    const survey = await openSurvey(db);
    await addUser(db, "viewer");
    const agent = await loggedInAgent(app, "viewer@example.test");
    await agent.get(`/studies/${survey.study.id}/results?confidence=0.5`).expect(422);
    await agent.get(`/studies/${survey.study.id}/results?adjustment=none`).expect(422);
    const empty = await agent.get(`/studies/${survey.study.id}/results?lang=en`).expect(200);
    expect(empty.text).toContain("Results need two waves");
  });

  it("leaves flagged responses out when asked", async () => {
    const { db } = freshApp();
    const { survey } = await seed(db);
    await insertResponseWithAnswers(db, survey.study.id, {
      waveId: survey.wave.id,
      segmentId: survey.segments[0]!.id,
      answers: { aided: ["acme"], fav: 5, recall: "yes" },
      flags: [{ code: "speeder" }],
    });
    const study = first(await db.select().from(studies))!;
    const t = translator("en");
    const all = await computeResults(db, study, resultsQuery.parse({ flagged: "1" }), "en", t);
    const clean = await computeResults(db, study, resultsQuery.parse({ flagged: ["0", "1"].slice(0, 1) }), "en", t);
    if (all === "no_waves" || clean === "no_waves") throw new Error("expected results");
    const row = (r: typeof all) => r.table.rows.find((x) => x.id === "aided_awareness:subscribers")!;
    expect(row(all).pre).toMatchObject({ x: 13, n: 41 });
    expect(row(clean).pre).toMatchObject({ x: 12, n: 40 });
  });
});

describe("XSS in results, report and charts", () => {
  it("escapes study, brand, question, option, segment and answer text everywhere", async () => {
    const { app, db } = freshApp();
    const { survey } = await seed(db);
    await db.update(studies).set({ name: XSS, brand: XSS });
    await db.update(questions).set({ text: { en: XSS, ru: XSS } }).where(eq(questions.key, "aided"));
    await db.update(options).set({ text: { en: XSS, ru: XSS } });
    await db.update(segments).set({ label: { en: XSS, ru: XSS } }).where(eq(segments.key, "subscribers"));
    await insertResponseWithAnswers(db, survey.study.id, {
      waveId: survey.wave.id,
      segmentId: survey.segments[0]!.id,
      answers: { aided: ["acme"], fav: 5, recall: "yes", feedback: XSS },
    });
    await addUser(db, "researcher");
    const agent = await loggedInAgent(app, "researcher@example.test");
    for (const path of ["results", "report"]) {
      const res = await agent.get(`/studies/${survey.study.id}/${path}?lang=en`).expect(200);
      expect(res.text).not.toContain("<script>alert(1)</script>");
      expect(res.text).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
      expect(res.text).not.toMatch(/<svg[^]*<script/);
    }
  });
});

describe("share links", () => {
  it("show the report without login and stop after revocation", async () => {
    const { app, db } = freshApp();
    const { survey } = await seed(db);
    await addUser(db, "researcher");
    const agent = await loggedInAgent(app, "researcher@example.test");
    const page = await agent.get(`/studies/${survey.study.id}/results?lang=en`);
    await agent.post(`/studies/${survey.study.id}/share`).type("form").send({ _csrf: csrfFrom(page.text), days: "7" }).expect(303);
    const withLink = await agent.get(`/studies/${survey.study.id}/results?lang=en`).expect(200);
    const url = /href="http:\/\/localhost:3000(\/r\/[\w-]+)"/.exec(withLink.text)![1]!;
    const shared = await request(app).get(`${url}?lang=en`).expect(200);
    expect(shared.text).toContain("Among subscribers, aided awareness rose");
    expect(shared.headers["cache-control"]).toBe("no-store");

    const id = /action="\/studies\/\d+\/share\/(\d+)\/revoke"/.exec(withLink.text)![1]!;
    await agent.post(`/studies/${survey.study.id}/share/${id}/revoke`).type("form").send({ _csrf: csrfFrom(withLink.text) }).expect(303);
    await request(app).get(url).expect(404);
    await request(app).get("/r/not-a-real-token-at-all-xyz").expect(404);
  });

  it("can only be created by researchers", async () => {
    const { app, db } = freshApp();
    const { survey } = await seed(db);
    await addUser(db, "viewer");
    const agent = await loggedInAgent(app, "viewer@example.test");
    const page = await agent.get(`/studies/${survey.study.id}/results`);
    expect(page.text).not.toContain("/share\"");
    await agent.post(`/studies/${survey.study.id}/share`).type("form").send({ _csrf: csrfFrom(page.text) }).expect(403);
  });
});

describe("bases of the results", () => {
  it("count who answered each metric's question; skips, partials, exclusions and decoy choosers are left out and counted beside", async () => {
    const { db } = freshApp();
    const def = brandLiftDefinition();
    const aidedQ = def.questions.find((q) => q.key === "aided")!;
    aidedQ.options!.splice(3, 0, { key: "fake", text: { ru: "Выдуманный", en: "Made up" }, exclusive: false, pinned: false, attentionCheck: false });
    aidedQ.metric = { name: "aided_awareness", positive: ["acme"], exclude: ["fake"] };
    const survey = await openSurvey(db, def);
    const post = await createWave(db, survey.study.id, "post", "Post");
    const subs = survey.segments[0]!.id;
    const add = (waveId: number, answers: Record<string, string | string[] | number>, extra = {}) =>
      insertResponseWithAnswers(db, survey.study.id, { waveId, segmentId: subs, answers: { recall: "yes", ...answers }, ...extra });
    const pre = survey.wave.id;
    await add(pre, { aided: ["acme"], fav: 5 });
    await add(pre, { aided: ["acme"], fav: 5 });
    await add(pre, { aided: ["rival"], fav: 2 });
    await add(pre, { aided: ["rival"], fav: 2 });
    await add(pre, { aided: ["acme"] }); // skipped the favorability question
    await add(pre, { aided: ["acme", "fake"], fav: 5 }); // "knows" the made-up brand
    await add(pre, { aided: ["acme"] }, { status: "partial" });
    await add(pre, { aided: ["acme"], fav: 5 }, { excluded: true });
    for (let i = 0; i < 5; i++) await add(post.id, { aided: i < 4 ? ["acme"] : ["none"], fav: i < 3 ? 5 : 2 });

    const study = first(await db.select().from(studies))!;
    const results = await computeResults(db, study, resultsQuery.parse({}), "en", translator("en"));
    if (results === "no_waves") throw new Error("expected results");
    const count = (metric: string, wave: number) => results.counts.find((c) => c.metric === metric && c.segment === "subscribers" && c.wave === String(wave));
    // Aided: the skipper answered it and counts; the decoy chooser does not (aware or not).
    expect(count("aided_awareness", pre)).toMatchObject({ x: 3, n: 5 });
    // Favorability: the skipper is not "unfavourable", just not in the base; the decoy chooser is.
    expect(count("favorability", pre)).toMatchObject({ x: 3, n: 5 });
    expect(count("aided_awareness", post.id)).toMatchObject({ x: 4, n: 5 });

    const base = (metric: string, waveId: number) => results.bases.find((b) => b.metric === metric && b.segment === "subscribers" && b.waveId === waveId);
    expect(base("aided_awareness", pre)).toEqual({ metric: "aided_awareness", segment: "subscribers", waveId: pre, n: 5, skipped: 0, partial: 1, excluded: 1, decoy: 1, flagged: 0, leftOut: 3 });
    expect(base("favorability", pre)).toEqual({ metric: "favorability", segment: "subscribers", waveId: pre, n: 5, skipped: 1, partial: 1, excluded: 1, decoy: 0, flagged: 0, leftOut: 3 });
    expect(base("aided_awareness", post.id)).toMatchObject({ n: 5, leftOut: 0 });
    // Segments without responses have no base rows.
    expect(results.bases.filter((b) => b.segment !== "subscribers")).toEqual([]);

    // The sensitivity view brings the excluded response back, under the same base rule.
    const everyone = await liftTableWithoutExclusions(db, results, "en", translator("en"));
    expect(everyone.rows.find((r) => r.id === "aided_awareness:subscribers")!.pre).toMatchObject({ x: 4, n: 6 });
    expect(everyone.rows.find((r) => r.id === "favorability:subscribers")!.pre).toMatchObject({ x: 4, n: 6 });
  });
});
