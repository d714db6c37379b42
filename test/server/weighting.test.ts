import request from "supertest";
import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import type { Express } from "express";
import { first, type Db } from "../../db/client.js";
import { listMargins } from "../../db/queries/margins.js";
import { loadQuestionnaire } from "../../db/queries/questionnaire.js";
import { findStudy, listSegments } from "../../db/queries/studies.js";
import { auditLog, profileMargins, questions } from "../../db/schema.js";
import { toDefinition } from "../../server/domain/definition-export.js";
import { brandLiftTemplate } from "../../server/domain/template.js";
import { createApiToken } from "../../server/services/accounts.js";
import { createStudyFromDefinition, createWave, openWave } from "../../server/services/study-setup.js";
import { brandLiftDefinition } from "../fixtures/surveys.js";
import { addUser, csrfFrom, freshApp, loggedInAgent } from "../helpers.js";
import { unescapeHtml } from "../support/page-text.js";

/**
 * Issue 14, items 1 and 2: profile questions in the builder (the checkbox, its freeze, the
 * warning), and weighting targets per segment on the Weighting page and through the API: CSV and
 * JSON imports checked row by row (nothing written on any error), replacing, deleting, the audit.
 */

type Form = Record<string, string | string[]>;
type Lang = "en" | "ru";


/** A signed-in user of `role` with get/post that send the CSRF token and a language. */
async function signIn(app: Express, db: Db, role: "researcher" | "viewer", email?: string) {
  const user = await addUser(db, role, email);
  const agent = await loggedInAgent(app, user.email);
  const csrf = csrfFrom((await agent.get("/studies").expect(200)).text);
  const get = (url: string, lang: Lang = "en") => agent.get(url).set("Accept-Language", lang);
  const post = (url: string, form: Form = {}, lang: Lang = "en") => agent.post(url).type("form").set("Accept-Language", lang).send({ ...form, _csrf: csrf });
  return { user, agent, get, post };
}

/** The template study (gender and age group last) with a post wave, and a signed-in researcher. */
async function setUp() {
  const { app, db } = freshApp();
  const researcher = await signIn(app, db, "researcher");
  const def = brandLiftTemplate({ studyName: "Весна", brand: "Акме", category: "кофейни", locale: "en", competitors: ["Ромашка"], advantages: ["Быстро"] });
  const study = await createStudyFromDefinition(db, def, researcher.user.id);
  await createWave(db, study.id, "pre", "Pre");
  const post = await createWave(db, study.id, "post", "Post");
  const ids = {
    segments: Object.fromEntries((await listSegments(db, study.id)).map((s) => [s.key, s.id])) as Record<string, number>,
    questions: Object.fromEntries((await loadQuestionnaire(db, study.id)).map((q) => [q.key, q.id])) as Record<string, number>,
  };
  return { app, db, researcher, study, post, ids, url: `/studies/${study.id}/weighting` };
}

/** Stored margins as readable tuples: segment key, wave label (null: all waves), question key, level, share. */
async function stored(db: Db, studyId: number) {
  const segments = new Map((await listSegments(db, studyId)).map((s) => [s.id, s.key]));
  const qs = new Map((await loadQuestionnaire(db, studyId)).map((q) => [q.id, q.key]));
  return (await listMargins(db, studyId))
    .map((m) => [segments.get(m.segmentId), m.waveId === null ? null : m.waveId, qs.get(m.questionId), m.optionKey, m.share] as const)
    .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}

const everything = async (db: Db) => ({ margins: await db.select().from(profileMargins), audit: await db.select().from(auditLog) });
const errorsOf = (html: string) => [...html.matchAll(/<ul class="errors">([\s\S]*?)<\/ul>/g)].flatMap((m) => [...m[1]!.matchAll(/<li>([\s\S]*?)<\/li>/g)].map((l) => unescapeHtml(l[1]!)));

const HEADER = "segment,wave,variable,level,share";
const SUBSCRIBERS = [
  "subscribers,,gender,female,62%",
  "subscribers,,gender,male,38%",
  "subscribers,,age_group,age_18_24,0.18",
  "subscribers,,age_group,age_25_34,0.34",
  "subscribers,,age_group,age_35_44,0.26",
  "subscribers,,age_group,age_45_54,0.14",
  "subscribers,,age_group,age_55_plus,0.08",
];
const csv = (...rows: string[]) => [HEADER, ...rows].join("\n");

describe("profile questions in the builder", () => {
  const genderForm = (extra: Form = {}): Form => ({
    key: "sex",
    type: "single",
    text_ru: "Ваш пол",
    text_en: "Your sex",
    option_rows: "3",
    o0_key: "female",
    o0_ru: "Женский",
    o0_en: "Female",
    o1_key: "male",
    o1_ru: "Мужской",
    o1_en: "Male",
    o2_key: "prefer_not",
    o2_ru: "Не скажу",
    o2_en: "Prefer not to say",
    ...extra,
  });

  it("saves the checkbox, shows it ticked in the editor and the question marked in the list; unticked, it is no longer one", async () => {
    const { app, db } = freshApp();
    const ws = await signIn(app, db, "researcher");
    const study = await createStudyFromDefinition(db, brandLiftDefinition(), ws.user.id);
    const editor = await ws.get(`/studies/${study.id}/questions/new`).expect(200);
    expect(editor.text).toContain('<label for="profile">Profile question (used for weighting and breakdowns)</label>');
    expect(editor.text).toContain('<p class="hint" id="profile-hint">Single-choice questions about the respondent');

    await ws.post(`/studies/${study.id}/questions`, genderForm({ profile: "1" })).expect(303);
    const saved = (await loadQuestionnaire(db, study.id)).find((q) => q.key === "sex")!;
    expect(saved).toMatchObject({ profile: true, required: false, metricName: null });
    const edit = await ws.get(`/studies/${study.id}/questions/sex/edit`).expect(200);
    expect(edit.text).toMatch(/<input type="checkbox" id="profile" name="profile" value="1"[^>]* checked>/);
    const list = await ws.get(`/studies/${study.id}/questions`).expect(200);
    expect(list.text).toMatch(/<code>sex<\/code> · [^<]* · 3 options · profile question<\/p>/);
    expect(list.text.match(/profile question<\/p>/g)).toHaveLength(1);
    expect((await ws.get(`/studies/${study.id}/questions`, "ru").expect(200)).text).toContain("вопрос профиля");

    await ws.post(`/studies/${study.id}/questions/sex`, genderForm()).expect(303);
    expect((await loadQuestionnaire(db, study.id)).find((q) => q.key === "sex")!.profile).toBe(false);
    const audit = await db.select().from(auditLog).where(eq(auditLog.action, "question.edit"));
    expect(audit.at(-1)).toMatchObject({ userId: ws.user.id, details: { key: "sex", newKey: "sex" } });
  });

  it("refuses a profile mark on a multiple-choice question with the message beside the box, in English and Russian, adding nothing", async () => {
    const { app, db } = freshApp();
    const ws = await signIn(app, db, "researcher");
    const study = await createStudyFromDefinition(db, brandLiftDefinition(), ws.user.id);
    const before = (await loadQuestionnaire(db, study.id)).length;
    const en = await ws.post(`/studies/${study.id}/questions`, genderForm({ type: "multi", profile: "1" })).expect(422);
    expect(en.text).toContain('<p class="error" id="profile-error">Only a single-choice question can be a profile question.</p>');
    expect(en.text).toMatch(/id="profile" name="profile" value="1"[^>]* checked aria-invalid="true">/);
    const ru = await ws.post(`/studies/${study.id}/questions`, genderForm({ type: "multi", profile: "1" }), "ru").expect(422);
    expect(ru.text).toContain("Вопросом профиля может быть только вопрос с одним ответом.");
    const metric = await ws.post(`/studies/${study.id}/questions`, genderForm({ profile: "1", metric_name: "women", o0_positive: "1" })).expect(422);
    expect(metric.text).toContain("A profile question describes the respondent and cannot be a metric");
    expect(await loadQuestionnaire(db, study.id)).toHaveLength(before);
  });

  it("warns when a profile question comes before a metric question, and not when profile questions come last", async () => {
    const { app, db } = freshApp();
    const ws = await signIn(app, db, "researcher");
    const template = await createStudyFromDefinition(db, brandLiftTemplate({ studyName: "T", brand: "Акме", locale: "en" }), ws.user.id);
    const clean = await ws.get(`/studies/${template.id}/questions`).expect(200);
    expect(clean.text).not.toContain('id="profile-warnings"');

    // Right after the last metric question (consideration) it is fine; moved up past it, the age question draws the warning.
    for (let i = 0; i < 3; i++) await ws.post(`/studies/${template.id}/questions/age_group/move`, { direction: "up" }).expect(303);
    expect((await loadQuestionnaire(db, template.id)).map((q) => q.key).slice(4, 7)).toEqual(["consideration", "age_group", "attention"]);
    expect((await ws.get(`/studies/${template.id}/questions`).expect(200)).text).not.toContain('id="profile-warnings"');
    await ws.post(`/studies/${template.id}/questions/age_group/move`, { direction: "up" }).expect(303);
    const warned = await ws.get(`/studies/${template.id}/questions`).expect(200);
    expect(warned.text).toContain('<h2 id="profile-warnings">Profile questions</h2>');
    expect(unescapeHtml(warned.text)).toContain(
      "The profile question (question 5 “How old are you?”) comes before a metric question (question 6 “How likely are you to use Акме in the next three months?”).",
    );
    const ru = await ws.get(`/studies/${template.id}/questions`, "ru").expect(200);
    expect(ru.text).toContain("Вопрос профиля (вопрос 5 «Сколько вам лет?») стоит перед вопросом с метрикой");
  });

  it("freezes the mark with the rest of the structure once a wave has opened (409); wording stays editable", async () => {
    const { app, db } = freshApp();
    const ws = await signIn(app, db, "researcher");
    const study = await createStudyFromDefinition(db, brandLiftTemplate({ studyName: "T", brand: "Акме", locale: "en" }), ws.user.id);
    await openWave(db, await createWave(db, study.id, "pre", "Pre"), ws.user.id);
    const page = await ws.get(`/studies/${study.id}/questions/gender/edit`).expect(200);
    const form = formFields(page.text, `/studies/${study.id}/questions/gender`);
    expect(form["profile"]).toBe("1");
    const { profile: _, ...unticked } = form;
    const refused = await ws.post(`/studies/${study.id}/questions/gender`, unticked).expect(409);
    expect(refused.text).toContain("The questionnaire is frozen");
    expect((await loadQuestionnaire(db, study.id)).find((q) => q.key === "gender")!.profile).toBe(true);
    await ws.post(`/studies/${study.id}/questions/gender`, { ...form, text_en: "What is your gender?" }).expect(303).expect("Location", `/studies/${study.id}/questions?done=wording`);
  });

  it("drops a question's targets when it stops being a profile question or its answers change, and says so in the audit", async () => {
    const { db, researcher: ws, study, url } = await setUp();
    await ws.post(url, { margins: csv(...SUBSCRIBERS, "inactive,,gender,female,0.5", "inactive,,gender,male,0.5") }).expect(303);
    const page = await ws.get(`/studies/${study.id}/questions/gender/edit`).expect(200);
    const form = formFields(page.text, `/studies/${study.id}/questions/gender`);
    // Wording only: the targets stay.
    await ws.post(`/studies/${study.id}/questions/gender`, { ...form, o0_en: "Woman" }).expect(303);
    expect((await stored(db, study.id)).filter((m) => m[2] === "gender")).toHaveLength(4);
    // Another answer: the targets no longer add up over the answers; they go.
    await ws.post(`/studies/${study.id}/questions/gender`, { ...form, o3_key: "other", o3_en: "Other", option_rows: "4" }).expect(303);
    expect((await stored(db, study.id)).filter((m) => m[2] === "gender")).toEqual([]);
    expect((await stored(db, study.id)).filter((m) => m[2] === "age_group")).toHaveLength(5);
    expect((await db.select().from(auditLog).where(eq(auditLog.action, "question.edit"))).at(-1)!.details).toEqual({ key: "gender", newKey: "gender", marginsRemoved: 4 });
    // No longer a profile question: its targets go too; deleting a question takes its targets with it.
    const age = formFields((await ws.get(`/studies/${study.id}/questions/age_group/edit`).expect(200)).text, `/studies/${study.id}/questions/age_group`);
    const { profile: _, ...plain } = age;
    await ws.post(`/studies/${study.id}/questions/age_group`, plain).expect(303);
    expect(await stored(db, study.id)).toEqual([]);
  });
});

/** What a browser would submit from the form with this action (inputs, ticked boxes, textareas, selections). */
function formFields(html: string, action: string): Form {
  const start = html.indexOf(`action="${action}"`);
  const form = html.slice(start, html.indexOf("</form>", start));
  const out: Form = {};
  for (const [, attrs] of form.matchAll(/<input\b([^>]*)>/g)) {
    const name = / name="([^"]*)"/.exec(attrs!)?.[1];
    if (!name || name === "_csrf") continue;
    const type = / type="([^"]*)"/.exec(attrs!)?.[1] ?? "text";
    if ((type === "checkbox" || type === "radio") && !/ checked\b/.test(attrs!)) continue;
    out[name] = unescapeHtml(/ value="([^"]*)"/.exec(attrs!)?.[1] ?? "");
  }
  for (const [, name, text] of form.matchAll(/<textarea\b[^>]* name="([^"]*)"[^>]*>([\s\S]*?)<\/textarea>/g)) out[name!] = unescapeHtml(text!);
  for (const [, name, body] of form.matchAll(/<select\b[^>]* name="([^"]*)"[^>]*>([\s\S]*?)<\/select>/g)) {
    const chosen = /<option value="([^"]*)"[^>]* selected/.exec(body!) ?? /<option value="([^"]*)"/.exec(body!);
    if (chosen) out[name!] = unescapeHtml(chosen[1]!);
  }
  return out;
}

describe("the Weighting page", () => {
  it("is in the study's navigation and explains itself, with the keys an import names things by", async () => {
    const { researcher: ws, study, url } = await setUp();
    const overview = await ws.get(`/studies/${study.id}`).expect(200);
    expect(overview.text).toContain(`<a href="${url}">Weighting</a>`);
    const page = await ws.get(url).expect(200);
    expect(page.text).toContain(`<a href="${url}" aria-current="page">Weighting</a>`);
    expect(page.text).toContain("<h2>Weighting targets</h2>");
    expect(page.text).toContain("No targets yet.");
    expect(page.text).toContain("<code>active_unsubscribed</code>");
    expect(page.text).toContain("<strong>Waves:</strong> Pre, Post");
    expect(page.text).toContain("<code>age_55_plus</code> — 55 or older");
    expect(page.text).toContain("<code>prefer_not</code> — Prefer not to say (not a target)");
    const ru = await ws.get(url, "ru").expect(200);
    expect(ru.text).toContain("<h2>Целевая структура для взвешивания</h2>");
  });

  it("imports CSV, shows the targets per segment and question by their labels, and audits the import", async () => {
    const { db, researcher: ws, study, post, url } = await setUp();
    const res = await ws.post(url, { margins: csv(...SUBSCRIBERS, "subscribers,post,gender,female,70%", "subscribers,Post,gender,male,30%") }).expect(303);
    expect(res.headers["location"]).toBe(`${url}?imported=9`);
    expect(await stored(db, study.id)).toEqual(
      [
        ["subscribers", null, "gender", "female", 0.62],
        ["subscribers", null, "gender", "male", 0.38],
        ["subscribers", null, "age_group", "age_18_24", 0.18],
        ["subscribers", null, "age_group", "age_25_34", 0.34],
        ["subscribers", null, "age_group", "age_35_44", 0.26],
        ["subscribers", null, "age_group", "age_45_54", 0.14],
        ["subscribers", null, "age_group", "age_55_plus", 0.08],
        ["subscribers", post.id, "gender", "female", 0.7],
        ["subscribers", post.id, "gender", "male", 0.3],
      ].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
    );
    const page = await ws.get(res.headers["location"]!).expect(200);
    expect(page.text).toContain('<p class="notice" role="status">Targets saved: 9 shares.</p>');
    const text = page.text.replace(/\s+/g, " ");
    expect(text).toContain("<h4>Subscribers</h4>");
    expect(text).toContain("<caption>Your gender · all waves</caption>");
    expect(text).toContain("<caption>How old are you? · all waves</caption>");
    expect(text).toContain("<caption>Your gender · Post</caption>");
    expect(text).toContain('<tr><th scope="row">Female</th><td>62%</td></tr>');
    expect(text).toContain('<tr><th scope="row">55 or older</th><td>8%</td></tr>');
    expect(text).toContain('<tr><th scope="row">Total</th><td>100%</td></tr>');
    expect(text).not.toContain("<h4>Inactive audience</h4>");
    const ru = (await ws.get(url, "ru").expect(200)).text.replace(/\s+/g, " ");
    expect(ru).toContain("<caption>Ваш пол · все волны</caption>");
    expect(ru).toContain('<tr><th scope="row">Женский</th><td>62 %</td></tr>');

    const entry = first(await db.select().from(auditLog).where(eq(auditLog.action, "margins.import")));
    expect(entry).toMatchObject({
      userId: ws.user.id,
      entityType: "study",
      entityId: String(study.id),
      details: {
        format: "csv",
        via: "web",
        rows: 9,
        removed: 0,
        replaced: [
          { segment: "subscribers", wave: null },
          { segment: "subscribers", wave: "Post" },
        ],
      },
    });
    const audit = await ws.get(`/studies/${study.id}/audit`).expect(200);
    expect(audit.text).toContain("Saved weighting targets");
  });

  it("imports the same targets as JSON, shares as fractions or percentages", async () => {
    const a = await setUp();
    const b = await setUp();
    await a.researcher.post(a.url, { margins: csv(...SUBSCRIBERS, "subscribers,Post,gender,female,70%", "subscribers,Post,gender,male,30%") }).expect(303);
    const json = {
      margins: [
        { segment: "subscribers", wave: null, variable: "gender", shares: { female: "62%", male: 0.38 } },
        { segment: "subscribers", wave: null, variable: "age_group", shares: { age_18_24: 0.18, age_25_34: 0.34, age_35_44: 0.26, age_45_54: 0.14, age_55_plus: "8%" } },
        { segment: "subscribers", wave: "Post", variable: "gender", shares: { female: 0.7, male: 0.3 } },
      ],
    };
    await b.researcher.post(b.url, { margins: JSON.stringify(json, null, 2) }).expect(303).expect("Location", `${b.url}?imported=9`);
    const relabel = (rows: Awaited<ReturnType<typeof stored>>, postId: number) => rows.map((r) => [r[0], r[1] === postId ? "Post" : r[1], r[2], r[3], r[4]]);
    expect(relabel(await stored(b.db, b.study.id), b.post.id)).toEqual(relabel(await stored(a.db, a.study.id), a.post.id));
    expect(first(await b.db.select().from(auditLog).where(eq(auditLog.action, "margins.import")))!.details).toMatchObject({ format: "json", via: "web" });
  });

  const refusals: Array<[string, string, string[]]> = [
    [
      "an unknown segment",
      csv("members,,gender,female,0.5", "members,,gender,male,0.5"),
      [
        "Line 2: no segment “members” in this study (its segments: subscribers, active_unsubscribed, inactive).",
        "Line 3: no segment “members” in this study (its segments: subscribers, active_unsubscribed, inactive).",
      ],
    ],
    [
      "an unknown wave label",
      csv("inactive,Later,gender,female,0.5", "inactive,Later,gender,male,0.5"),
      ["Line 2: no wave “Later” in this study (its waves: Pre, Post). Leave the wave empty for all waves.", "Line 3: no wave “Later” in this study (its waves: Pre, Post). Leave the wave empty for all waves."],
    ],
    ["an unknown question", csv("inactive,,sex,female,1"), ["Line 2: no question “sex” in this study (its profile questions: gender, age_group)."]],
    ["an unknown answer", csv("inactive,,gender,female,0.5", "inactive,,gender,man,0.5"), ["Line 3: the question “gender” has no answer “man” (its answers: female, male)."]],
    ["a question that is not a profile question", csv("inactive,,ad_recall,yes,1"), ["Line 2: the question “ad_recall” is not a profile question: mark it as one in the questionnaire (single-choice questions only)."]],
    ["a share above 1", csv("inactive,,gender,female,1.5", "inactive,,gender,male,0"), ["Line 2: the share “1.5” is outside 0–1 (0–100%)."]],
    ["a share below 0", csv("inactive,,gender,female,-5%", "inactive,,gender,male,105%"), ["Line 2: the share “-5%” is outside 0–1 (0–100%).", "Line 3: the share “105%” is outside 0–1 (0–100%)."]],
    ["a share that is no number", csv("inactive,,gender,female,half", "inactive,,gender,male,0.5"), ["Line 2: “half” is not a share: write a fraction such as 0.42 or a percentage such as 42%."]],
    ["shares not summing to 1", csv("inactive,,gender,female,55%", "inactive,,gender,male,40%"), ["Line 2: the shares of inactive, all waves, gender sum to 0.95, not 1: they must add up to 100% (±0.1%)."]],
    ["a duplicate", csv("inactive,,gender,female,0.5", "inactive,,gender,male,0.5", "inactive,,gender,female,0.5"), ["Line 4: the answer “female” of this segment, wave and question is already on line 2."]],
    [
      "“prefer not to say” as a target",
      csv("inactive,,gender,female,0.5", "inactive,,gender,male,0.4", "inactive,,gender,prefer_not,0.1"),
      ["Line 4: “Prefer not to say” (prefer_not) is not a target: the population has no such share. Remove the row."],
    ],
    ["a missing answer", csv("inactive,,gender,female,1"), ["Line 2: inactive, all waves, gender has no share for male: give every answer a share, 0 where nobody is."]],
    ["no header", "inactive,,gender,female,1", ["Line 1: the first row must name the columns segment, wave, variable, level and share; found “inactive,,gender,female,1”."]],
    ["broken JSON", '{"margins": [', ["The text is not valid JSON ("]],
    [
      "JSON with an answer of the wrong question",
      JSON.stringify({ margins: [{ segment: "inactive", variable: "age_group", shares: { female: 1 } }] }),
      [
        "Entry 1, answer “female”: the question “age_group” has no answer “female” (its answers: age_18_24, age_25_34, age_35_44, age_45_54, age_55_plus).",
      ],
    ],
    [
      "one bad segment among good ones",
      csv(...SUBSCRIBERS, "inactive,,gender,female,0.5", "inactive,,gender,male,0.6"),
      ["Line 9: the shares of inactive, all waves, gender sum to 1.1, not 1: they must add up to 100% (±0.1%)."],
    ],
  ];

  it.each(refusals)("refuses %s (422) with the row named, writing nothing", async (_name, text, messages) => {
    const { db, researcher: ws, url } = await setUp();
    await ws.post(url, { margins: csv("active_unsubscribed,,gender,female,0.5", "active_unsubscribed,,gender,male,0.5") }).expect(303);
    const before = await everything(db);
    const res = await ws.post(url, { margins: text }).expect(422);
    expect(res.text).toContain("Nothing was saved: correct these rows and import again.");
    expect(errorsOf(res.text)).toEqual(messages.map((m) => expect.stringContaining(m)));
    // What was pasted stays, to be corrected.
    expect(unescapeHtml(res.text)).toContain(text);
    expect(await everything(db)).toEqual(before);
  });

  it("says what is wrong in Russian, with a decimal comma", async () => {
    const { db, researcher: ws, url } = await setUp();
    const res = await ws.post(url, { margins: "segment;wave;variable;level;share\ninactive;;gender;female;0,55\ninactive;;gender;male;0,4\ninactive;Позже;gender;female;1" }, "ru").expect(422);
    expect(errorsOf(res.text)).toEqual([
      "Строка 2: доли (inactive, все волны, gender) в сумме дают 0,95, а не 1: они должны составлять 100% (±0,1%).",
      "Строка 4: в исследовании нет волны «Позже» (его волны: Pre, Post). Для всех волн оставьте волну пустой.",
    ]);
    expect(res.text).toContain("Ничего не сохранено: исправьте эти строки и загрузите снова.");
    expect(await listMargins(db, 1)).toEqual([]);
  });

  it("replaces the targets of the segments and waves an import names, all their questions, and only those", async () => {
    const { db, researcher: ws, study, post, url } = await setUp();
    await ws
      .post(url, { margins: csv(...SUBSCRIBERS, "subscribers,Post,gender,female,0.7", "subscribers,Post,gender,male,0.3", "inactive,,gender,female,0.5", "inactive,,gender,male,0.5") })
      .expect(303);
    const res = await ws.post(url, { margins: csv("subscribers,,gender,female,60%", "subscribers,,gender,male,40%") }).expect(303);
    expect(res.headers["location"]).toBe(`${url}?imported=2`);
    expect(await stored(db, study.id)).toEqual(
      [
        // Subscribers for all waves: only what the second import gave (the age targets went with the rest).
        ["subscribers", null, "gender", "female", 0.6],
        ["subscribers", null, "gender", "male", 0.4],
        // Another wave and another segment keep theirs.
        ["subscribers", post.id, "gender", "female", 0.7],
        ["subscribers", post.id, "gender", "male", 0.3],
        ["inactive", null, "gender", "female", 0.5],
        ["inactive", null, "gender", "male", 0.5],
      ].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
    );
    const audits = await db.select().from(auditLog).where(eq(auditLog.action, "margins.import"));
    expect(audits.map((a) => a.details)).toMatchObject([{ rows: 11, removed: 0 }, { rows: 2, removed: 7, replaced: [{ segment: "subscribers", wave: null }] }]);
  });

  it("deletes one question's targets of one segment and wave, audited; deleting them again is a 404", async () => {
    const { db, researcher: ws, study, post, ids, url } = await setUp();
    await ws.post(url, { margins: csv(...SUBSCRIBERS, "subscribers,Post,gender,female,0.7", "subscribers,Post,gender,male,0.3") }).expect(303);
    const page = await ws.get(url).expect(200);
    expect(page.text).toContain('aria-label="Delete the targets: Subscribers, Your gender, all waves"');
    const form = { segment: String(ids.segments["subscribers"]), wave: "", question: String(ids.questions["gender"]) };
    await ws.post(`${url}/delete`, form).expect(303).expect("Location", `${url}?deleted=1`);
    expect((await stored(db, study.id)).map((m) => `${m[1] ?? "all"} ${m[2]}`)).toEqual([
      `${post.id} gender`,
      `${post.id} gender`,
      ...Array(5).fill("all age_group"),
    ].sort((a, b) => JSON.stringify(["subscribers", a]).localeCompare(JSON.stringify(["subscribers", b]))));
    expect(first(await db.select().from(auditLog).where(eq(auditLog.action, "margins.delete")))).toMatchObject({
      userId: ws.user.id,
      entityId: String(study.id),
      details: { segment: "subscribers", wave: null, variable: "gender", removed: 2 },
    });
    const before = await everything(db);
    await ws.post(`${url}/delete`, form).expect(404);
    await ws.post(`${url}/delete`, { ...form, wave: "abc" }).expect(404);
    await ws.post(`${url}/delete`, { ...form, question: "" }).expect(404);
    expect(await everything(db)).toEqual(before);
    // The wave's own targets are deleted by naming the wave.
    await ws.post(`${url}/delete`, { ...form, wave: String(post.id) }).expect(303);
    expect((await stored(db, study.id)).every((m) => m[2] === "age_group")).toBe(true);
  });

  it("lets a viewer read the targets without any form, and refuses a viewer's import and delete (403), writing nothing", async () => {
    const { app, db, researcher: ws, ids, url } = await setUp();
    await ws.post(url, { margins: csv(...SUBSCRIBERS) }).expect(303);
    const viewer = await signIn(app, db, "viewer");
    const page = await viewer.get(url).expect(200);
    expect(page.text).toContain("<caption>Your gender · all waves</caption>");
    expect([...page.text.matchAll(/<form method="post" action="([^"]+)"/g)].map((m) => m[1]).filter((a) => a !== "/logout")).toEqual([]);
    expect(page.text).not.toContain("Enter or import targets");
    const before = await everything(db);
    await viewer.post(url, { margins: csv("inactive,,gender,female,0.5", "inactive,,gender,male,0.5") }).expect(403);
    await viewer.post(`${url}/delete`, { segment: String(ids.segments["subscribers"]), wave: "", question: String(ids.questions["gender"]) }).expect(403);
    expect(await everything(db)).toEqual(before);
  });

  it("says so when the questionnaire has no profile question", async () => {
    const { app, db } = freshApp();
    const ws = await signIn(app, db, "researcher");
    const study = await createStudyFromDefinition(db, brandLiftDefinition(), ws.user.id);
    const page = await ws.get(`/studies/${study.id}/weighting`).expect(200);
    expect(page.text).toContain("The questionnaire has no profile question yet.");
    expect(page.text).toContain("No waves yet: give targets for all waves (leave the wave empty).");
  });
});

describe("weighting targets in the study definition", () => {
  it("exports the targets for every wave (not a wave's own), imports them back, and copies them with a duplicate", async () => {
    const { db, researcher: ws, study, url } = await setUp();
    await ws.post(url, { margins: csv(...SUBSCRIBERS, "subscribers,Post,gender,female,0.7", "subscribers,Post,gender,male,0.3", "inactive,,gender,female,0.5", "inactive,,gender,male,0.5") }).expect(303);
    const res = await ws.get(`/studies/${study.id}/export.json`).expect(200);
    const exported = JSON.parse(res.text);
    expect(exported.questions.filter((q: { profile?: boolean }) => q.profile).map((q: { key: string }) => q.key)).toEqual(["gender", "age_group"]);
    expect(exported.margins).toEqual([
      { segment: "subscribers", wave: null, variable: "gender", shares: { female: 0.62, male: 0.38 } },
      { segment: "subscribers", wave: null, variable: "age_group", shares: { age_18_24: 0.18, age_25_34: 0.34, age_35_44: 0.26, age_45_54: 0.14, age_55_plus: 0.08 } },
      { segment: "inactive", wave: null, variable: "gender", shares: { female: 0.5, male: 0.5 } },
    ]);

    const imported = await ws.post("/studies/import", { definition: res.text }).expect(303);
    const importedId = Number(/^\/studies\/(\d+)/.exec(imported.headers["location"]!)![1]);
    const copy = await ws.post(`/studies/${study.id}/duplicate`).expect(303);
    const copyId = Number(/^\/studies\/(\d+)/.exec(copy.headers["location"]!)![1]);
    const allWaves = (await stored(db, study.id)).filter((m) => m[1] === null);
    expect(allWaves).toHaveLength(9);
    expect(await stored(db, importedId)).toEqual(allWaves);
    expect(await stored(db, copyId)).toEqual(allWaves);
    const definition = async (id: number) => toDefinition((await findStudy(db, id))!, await listSegments(db, id), await loadQuestionnaire(db, id), await listMargins(db, id));
    expect({ ...(await definition(importedId)), name: "" }).toEqual({ ...(await definition(study.id)), name: "" });
  });

  it("refuses an import whose targets do not fit, with the path and message, creating nothing", async () => {
    const { db, researcher: ws, study } = await setUp();
    const def = JSON.parse((await ws.get(`/studies/${study.id}/export.json`).expect(200)).text);
    const before = (await db.select().from(questions)).length;
    const res = await ws.post("/studies/import", { definition: JSON.stringify({ ...def, margins: [{ segment: "inactive", variable: "gender", shares: { female: 0.5, male: 0.4 } }] }) }).expect(422);
    expect(unescapeHtml(res.text)).toContain("the shares of inactive, all waves, gender sum to 0.9, not 1");
    expect(res.text).toContain("margins[0]");
    expect(await db.select().from(questions)).toHaveLength(before);
  });
});

describe("weighting targets through the API", () => {
  async function api() {
    const set = await setUp();
    const viewer = await addUser(set.db, "viewer");
    const tokens = { researcher: (await createApiToken(set.db, set.researcher.user.id, "r")).token, viewer: (await createApiToken(set.db, viewer.id, "v")).token };
    const call = (who: keyof typeof tokens, method: "get" | "post", path: string, lang: Lang = "en") =>
      request(set.app)[method](`/api/studies/${set.study.id}${path}`).set("Authorization", `Bearer ${tokens[who]}`).set("Accept-Language", lang);
    return { ...set, call };
  }

  const document = {
    margins: [
      { segment: "subscribers", wave: null, variable: "gender", shares: { female: 0.62, male: "38%" } },
      { segment: "subscribers", wave: "Post", variable: "gender", shares: { female: 0.7, male: 0.3 } },
      { segment: "inactive", wave: null, variable: "age_group", shares: { age_18_24: 0.12, age_25_34: 0.22, age_35_44: 0.24, age_45_54: 0.2, age_55_plus: 0.22 } },
    ],
  };

  it("writes targets from the JSON document and reads them back in the same shape; GET of the study carries those for every wave", async () => {
    const { db, call, study } = await api();
    expect((await call("viewer", "get", "/margins").expect(200)).body).toEqual({ margins: [] });
    const written = await call("researcher", "post", "/margins").send(document).expect(200);
    const expected = [
      { segment: "subscribers", wave: null, variable: "gender", shares: { female: 0.62, male: 0.38 } },
      { segment: "subscribers", wave: "Post", variable: "gender", shares: { female: 0.7, male: 0.3 } },
      { segment: "inactive", wave: null, variable: "age_group", shares: { age_18_24: 0.12, age_25_34: 0.22, age_35_44: 0.24, age_45_54: 0.2, age_55_plus: 0.22 } },
    ];
    expect(written.body).toEqual({ imported: 9, removed: 0, margins: expected });
    const read = await call("viewer", "get", "/margins").expect(200);
    expect(read.headers["cache-control"]).toBe("no-store");
    expect(read.body).toEqual({ margins: expected });
    // What GET gives, POST takes back unchanged.
    expect((await call("researcher", "post", "/margins").send(read.body).expect(200)).body).toEqual({ imported: 9, removed: 9, margins: expected });
    const definition = await call("viewer", "get", "").expect(200);
    expect(definition.body.margins).toEqual([expected[0], expected[2]]);
    const entry = first(await db.select().from(auditLog).where(and(eq(auditLog.action, "margins.import"), eq(auditLog.entityId, String(study.id)))));
    expect(entry!.details).toMatchObject({ format: "json", via: "api", rows: 9 });
  });

  it("refuses what the page refuses (422 invalid_margins, details by JSON path), writing nothing", async () => {
    const { db, call } = await api();
    await call("researcher", "post", "/margins").send(document).expect(200);
    const before = await everything(db);
    const bad = await call("researcher", "post", "/margins")
      .send({ margins: [{ segment: "inactive", wave: "Later", variable: "gender", shares: { female: 0.6, male: 0.6 } }, { segment: "subscribers", variable: "gender", shares: { female: 1, male: 0, prefer_not: 0 } }] })
      .expect(422);
    expect(bad.body.error.code).toBe("invalid_margins");
    expect(bad.body.error.details).toEqual({
      "margins[0].shares.female": "Entry 1, answer “female”: no wave “Later” in this study (its waves: Pre, Post). Leave the wave empty for all waves.",
      "margins[0].shares.male": "Entry 1, answer “male”: no wave “Later” in this study (its waves: Pre, Post). Leave the wave empty for all waves.",
      "margins[1].shares.prefer_not": "Entry 2, answer “prefer_not”: “Prefer not to say” (prefer_not) is not a target: the population has no such share. Remove the row.",
    });
    const sum = await call("researcher", "post", "/margins", "ru").send({ margins: [{ segment: "inactive", variable: "gender", shares: { female: 0.6, male: 0.6 } }] }).expect(422);
    expect(sum.body.error.details).toEqual({ "margins[0]": "Запись 1: доли (inactive, все волны, gender) в сумме дают 1,2, а не 1: они должны составлять 100% (±0,1%)." });
    const shape = await call("researcher", "post", "/margins").send({ targets: [] }).expect(422);
    expect(shape.body.error.details).toEqual({ "(root)": "“margins” does not fit the format {\"margins\": [{\"segment\", \"wave\", \"variable\", \"shares\": {answer: share}}]}.; “targets” does not fit the format {\"margins\": [{\"segment\", \"wave\", \"variable\", \"shares\": {answer: share}}]}." });
    expect(await everything(db)).toEqual(before);
  });

  it("lets a viewer read but not write (403)", async () => {
    const { db, call } = await api();
    const before = await everything(db);
    const res = await call("viewer", "post", "/margins").send(document).expect(403);
    expect(res.body.error.code).toBe("forbidden");
    expect(await everything(db)).toEqual(before);
  });
});
