import { describe, expect, it } from "vitest";
import { eq } from "drizzle-orm";
import type { Db } from "../../db/client.js";
import { setWaveStatus } from "../../db/queries/fieldwork.js";
import { findStudy, listSegments } from "../../db/queries/studies.js";
import { auditLog, studies } from "../../db/schema.js";
import { minimumDetectableLift, sampleSizeTwoProportions, wilson } from "../../stats/index.js";
import { toDefinition } from "../../server/domain/definition-export.js";
import { createWave } from "../../server/services/study-setup.js";
import { brandLiftDefinition, openSurvey, type OpenSurvey } from "../fixtures/surveys.js";
import { insertResponseWithAnswers } from "../fixtures/responses.js";
import { addUser, csrfFrom, freshApp, loggedInAgent } from "../helpers.js";
import { loadQuestionnaire } from "../../db/queries/questionnaire.js";

/**
 * Results during fieldwork (issue 11, item 11) and the study's target lift: baseline levels while
 * only the pre wave has responses, "lift detectable yet?" while the post wave runs, at the
 * verdict's per-row level alpha / k (k = 3 exposed segments of the default study).
 */

const A3 = 0.05 / 3;

async function signedIn(db: Db, app: ReturnType<typeof freshApp>["app"], role: "viewer" | "researcher" = "researcher") {
  const user = await addUser(db, role);
  const agent = await loggedInAgent(app, user.email);
  const csrf = csrfFrom((await agent.get("/studies").expect(200)).text);
  const get = (url: string, lang: "en" | "ru" = "en") => agent.get(url).set("Accept-Language", lang);
  const post = (url: string, form: Record<string, unknown>, lang: "en" | "ru" = "en") =>
    agent.post(url).type("form").set("Accept-Language", lang).send({ ...form, _csrf: csrf });
  return { get, post };
}

/** n respondents of a segment in a wave, the first `aware` of them picking the brand. */
async function add(db: Db, survey: OpenSurvey, waveId: number, segment: string, n: number, aware: number) {
  const segmentId = survey.segments.find((s) => s.key === segment)!.id;
  for (let i = 0; i < n; i++) {
    await insertResponseWithAnswers(db, survey.study.id, { waveId, segmentId, answers: { aided: i < aware ? ["acme"] : ["none"], fav: 2, recall: "yes" } });
  }
}

/** The cell of a table (by data attribute) for a segment's row. */
function rowOf(html: string, attribute: "data-baseline" | "data-detectable", metric: string, segment: string): string {
  const table = new RegExp(`<table class="results" ${attribute}="${metric}">([\\s\\S]*?)</table>`).exec(html)?.[1];
  if (!table) throw new Error(`no ${attribute} table for ${metric}`);
  const row = new RegExp(`<tr data-segment="${segment}"[\\s\\S]*?</tr>`).exec(table)?.[0];
  if (!row) throw new Error(`no row for ${segment}`);
  return row;
}

describe("results with only a pre wave: baseline levels", () => {
  it("shows each segment's share with its Wilson interval and n, under the results' base rule, in English and Russian", async () => {
    const { app, db } = freshApp();
    const survey = await openSurvey(db);
    await add(db, survey, survey.wave.id, "subscribers", 40, 12);
    await add(db, survey, survey.wave.id, "active_unsubscribed", 10, 1);
    // Skipped the aided question: out of aided awareness's base, in favourability's.
    await insertResponseWithAnswers(db, survey.study.id, { waveId: survey.wave.id, segmentId: survey.segments[0]!.id, answers: { fav: 5, recall: "yes" } });
    // Excluded: out of every base.
    await insertResponseWithAnswers(db, survey.study.id, { waveId: survey.wave.id, segmentId: survey.segments[0]!.id, answers: { aided: ["acme"], fav: 5, recall: "yes" }, excluded: true });
    const { get } = await signedIn(db, app, "viewer");

    const page = (await get(`/studies/${survey.study.id}/results`).expect(200)).text;
    expect(page).toContain("Results need two waves");
    expect(page).toContain("Baseline levels");
    const subs = rowOf(page, "data-baseline", "aided_awareness", "subscribers");
    expect(subs).toContain('value="12/40"');
    expect(subs).toContain(">30.0%<");
    // R: prop.test(12, 40, correct = FALSE)$conf.int = 0.1807485 0.4543002
    const ci = wilson(12, 40);
    expect(ci.lower).toBeCloseTo(0.1807485, 7);
    expect(subs).toContain("18.1% – 45.4%");
    expect(subs).toContain("<td>40</td>");
    expect(rowOf(page, "data-baseline", "aided_awareness", "active_unsubscribed")).toContain('value="1/10"');
    expect(rowOf(page, "data-baseline", "favorability", "subscribers")).toContain('value="1/41"');
    expect(() => rowOf(page, "data-baseline", "aided_awareness", "inactive")).toThrow("no row for inactive");
    expect(page).not.toContain("Lift detectable yet?");

    const ru = (await get(`/studies/${survey.study.id}/results`, "ru").expect(200)).text;
    expect(ru).toContain("Исходный уровень");
    expect(rowOf(ru, "data-baseline", "aided_awareness", "subscribers")).toContain("30,0\u00a0%");
    expect(ru).not.toMatch(/fieldwork\.\w+/);
  });

  it("still says only that two waves are needed when the pre wave has no responses", async () => {
    const { app, db } = freshApp();
    const survey = await openSurvey(db);
    const { get } = await signedIn(db, app, "viewer");
    const page = (await get(`/studies/${survey.study.id}/results`).expect(200)).text;
    expect(page).toContain("Results need two waves");
    expect(page).not.toContain("Baseline levels");
  });
});

describe("results while the post wave runs: lift detectable yet?", () => {
  async function study(targetLift: number | null) {
    const { app, db } = freshApp();
    const survey = await openSurvey(db);
    await db.update(studies).set({ targetLift }).where(eq(studies.id, survey.study.id));
    await setWaveStatus(db, survey.wave.id, "closed", new Date());
    const post = await createWave(db, survey.study.id, "post", "Post <b>");
    await setWaveStatus(db, post.id, "open", new Date());
    return { app, db, survey, post };
  }

  it("with few responses: not yet, needing the n per wave sampleSizeTwoProportions gives at alpha / k", async () => {
    const { app, db, survey, post } = await study(0.05);
    await add(db, survey, survey.wave.id, "subscribers", 40, 12);
    await add(db, survey, post.id, "subscribers", 10, 5);
    const { get } = await signedIn(db, app);
    const page = (await get(`/studies/${survey.study.id}/results`).expect(200)).text;

    expect(page).toContain("Lift detectable yet?");
    expect(page).toContain("α = 0.05 / 3 segments = 0.0167, as the verdict uses.");
    expect(page).toContain(`data-planning-alpha="${A3}" data-family-size="3"`);
    const row = rowOf(page, "data-detectable", "aided_awareness", "subscribers");
    const needed = Math.ceil(sampleSizeTwoProportions({ p1: 0.3, p2: 0.35, alpha: A3, power: 0.8 }));
    // R: power.prop.test(p1 = 0.3, p2 = 0.35, power = 0.8, sig.level = 0.05/3, tol = 1e-12)$n = 1835.967
    expect(needed).toBe(1836);
    expect(row).toContain('data-status="not_yet"');
    expect(row).toContain(`data-needed="${needed}"`);
    expect(row).toContain(`not yet: about ${(needed - 10).toLocaleString("en-GB")} more respondents per wave needed for the target (1,836 per wave in all`);
    expect(row).toContain("40 → 10");
    // Segments without pre responses say so; the wave label is escaped.
    expect(rowOf(page, "data-detectable", "aided_awareness", "inactive")).toContain("no responses in the pre wave yet");
    expect(page).toContain("Post &lt;b&gt;");
    expect(page).not.toContain("Post <b>");

    const ru = (await get(`/studies/${survey.study.id}/results`, "ru").expect(200)).text;
    expect(ru).toContain("α = 0,05 / 3 сегмента = 0,0167 — тот же уровень, что у вердикта.");
    expect(rowOf(ru, "data-detectable", "aided_awareness", "subscribers")).toContain(`пока нет: для цели нужно ещё около 1\u00a0826 респондентов на волну`);
    expect(ru).not.toMatch(/fieldwork\.\w+/);
  });

  it("with enough: yes, and the detectable lift equals minimumDetectableLift at alpha / k", async () => {
    const { app, db, survey, post } = await study(0.25);
    await add(db, survey, survey.wave.id, "subscribers", 100, 30);
    await add(db, survey, post.id, "subscribers", 100, 45);
    const { get } = await signedIn(db, app);
    const page = (await get(`/studies/${survey.study.id}/results`).expect(200)).text;
    const row = rowOf(page, "data-detectable", "aided_awareness", "subscribers");
    expect(row).toContain('data-status="yes"');
    const mdl = minimumDetectableLift({ p1: 0.3, n: 100, alpha: A3 })!;
    // R: power.prop.test(n = 100, p1 = 0.3, power = 0.8, sig.level = 0.05/3, tol = 1e-14)$p2 - 0.3 = 0.2236744
    expect(mdl).toBeCloseTo(0.2236744, 7);
    expect(Number(/data-mdl="([^"]+)"/.exec(row)![1])).toBe(mdl);
    expect(row).toContain("yes: lifts of 22.4\u00a0pp or more are detectable (target 25.0\u00a0pp)");
    expect(page).not.toContain("Baseline levels");
  });

  it("without a target: the lift detectable now and, for researchers, a link to set the target", async () => {
    const { app, db, survey, post } = await study(null);
    await add(db, survey, survey.wave.id, "subscribers", 100, 30);
    const { get } = await signedIn(db, app);
    const page = (await get(`/studies/${survey.study.id}/results`).expect(200)).text;
    // The post wave has no responses: the pre wave's levels, and nothing detectable yet.
    expect(page).toContain("The post wave has no responses yet");
    expect(rowOf(page, "data-baseline", "aided_awareness", "subscribers")).toContain('value="30/100"');
    expect(rowOf(page, "data-detectable", "aided_awareness", "subscribers")).toContain("no lift up to 100% is detectable yet");
    expect(page).toContain(`<a href="/studies/${survey.study.id}/settings#targetLift">Set the target lift</a>`);

    await add(db, survey, post.id, "subscribers", 100, 40);
    const later = (await get(`/studies/${survey.study.id}/results`).expect(200)).text;
    expect(rowOf(later, "data-detectable", "aided_awareness", "subscribers")).toContain("detectable now: lifts of 22.4\u00a0pp or more");
    expect(later).not.toContain("The post wave has no responses yet");

    const viewer = await signedIn(db, app, "viewer");
    const seen = (await viewer.get(`/studies/${survey.study.id}/results`).expect(200)).text;
    expect(seen).toContain("The study has no target lift");
    expect(seen).not.toContain("Set the target lift");
  });

  it("is gone once the post wave is closed: the comparison is final", async () => {
    const { app, db, survey, post } = await study(0.05);
    await add(db, survey, survey.wave.id, "subscribers", 40, 12);
    await add(db, survey, post.id, "subscribers", 40, 20);
    await setWaveStatus(db, post.id, "closed", new Date());
    const { get } = await signedIn(db, app);
    const page = (await get(`/studies/${survey.study.id}/results`).expect(200)).text;
    expect(page).not.toContain("Lift detectable yet?");
  });
});

describe("the study's target lift", () => {
  const form = { name: "Spring", brand: "Acme", category: "", publicTitle: "", defaultLocale: "en", locales: ["en", "ru"], pageSize: "", campaignCost: "", costCurrency: "" };

  it("is entered in pp, stored as a fraction, shown back in pp, cleared when emptied, and audited", async () => {
    const { app, db } = freshApp();
    const survey = await openSurvey(db);
    const { get, post } = await signedIn(db, app);
    const url = `/studies/${survey.study.id}/settings`;
    expect((await get(url).expect(200)).text).toContain("Target lift, percentage points");
    await post(url, { ...form, targetLift: " 2,5 " }).expect(303);
    expect((await findStudy(db, survey.study.id))!.targetLift).toBe(0.025);
    await post(url, { ...form, targetLift: "7" }).expect(303);
    expect((await findStudy(db, survey.study.id))!.targetLift).toBe(0.07);
    expect((await get(url).expect(200)).text).toMatch(/id="targetLift" name="targetLift" type="text" value="7"/);
    expect((await db.select().from(auditLog).where(eq(auditLog.action, "study.settings"))).at(-1)!.details).toMatchObject({ targetLift: 0.07 });
    await post(url, { ...form, targetLift: "" }).expect(303);
    expect((await findStudy(db, survey.study.id))!.targetLift).toBeNull();
  });

  it.each([
    ["0", "en"],
    ["100", "en"],
    ["-5", "en"],
    ["abc", "en"],
    ["5%", "en"],
    ["1e1", "ru"],
    ["150", "ru"],
  ] as const)("refuses %s with a localized 422 and writes nothing (%s)", async (value, lang) => {
    const { app, db } = freshApp();
    const survey = await openSurvey(db);
    await db.update(studies).set({ targetLift: 0.05 }).where(eq(studies.id, survey.study.id));
    const before = (await findStudy(db, survey.study.id))!;
    const { post } = await signedIn(db, app);
    const res = await post(`/studies/${survey.study.id}/settings`, { ...form, name: "Changed", targetLift: value }, lang).expect(422);
    const error = /<p class="error" id="targetLift-error">([^<]*)<\/p>/.exec(res.text)?.[1];
    expect(error).toBe(
      lang === "en"
        ? "Enter a lift in percentage points above 0 and below 100, for example 5 or 2.5."
        : "Введите прирост в процентных пунктах больше 0 и меньше 100, например 5 или 2,5.",
    );
    expect(res.text).toContain(`value="${value}"`);
    expect(await findStudy(db, survey.study.id)).toEqual(before);
    expect(await db.select().from(auditLog).where(eq(auditLog.action, "study.settings"))).toEqual([]);
  });

  it("travels in the study definition as a fraction: imported, exported, refused outside (0, 1)", async () => {
    const { app, db } = freshApp();
    const { post } = await signedIn(db, app);
    const ok = await post("/studies/import", { definition: JSON.stringify(brandLiftDefinition({ targetLift: 0.04 })) }).expect(303);
    const id = Number(/^\/studies\/(\d+)/.exec(ok.headers["location"]!)![1]);
    const stored = (await findStudy(db, id))!;
    expect(stored.targetLift).toBe(0.04);
    expect(toDefinition(stored, await listSegments(db, id), await loadQuestionnaire(db, id)).targetLift).toBe(0.04);
    for (const bad of [5, 0, 1, -0.1, "0.05"]) {
      const res = await post("/studies/import", { definition: JSON.stringify({ ...brandLiftDefinition(), targetLift: bad }) }).expect(422);
      expect(res.text).toContain("targetLift");
    }
    expect(await db.select().from(studies)).toHaveLength(1);
  });
});
