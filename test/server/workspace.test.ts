import request from "supertest";
import { describe, expect, it } from "vitest";
import { count, eq, getTableColumns } from "drizzle-orm";
import type { Express } from "express";
import { first, type Db } from "../../db/client.js";
import { loadQuestionnaire } from "../../db/queries/questionnaire.js";
import { findStudy, listSegments } from "../../db/queries/studies.js";
import { auditLog, links, options, questions, responses, studies, waveSegments, waves } from "../../db/schema.js";
import { questionToDefinition, toDefinition } from "../../server/domain/definition-export.js";
import { brandLiftDefinition, validAnswers } from "../fixtures/surveys.js";
import { addUser, csrfFrom, freshApp, loggedInAgent } from "../helpers.js";
import { runJobsUntilIdle } from "../../server/jobs/runner.js";
import { unescapeHtml } from "../support/page-text.js";

/**
 * The researcher workspace (HTML pages, cookie session + CSRF): the brand-lift template, the
 * questionnaire builder and its freeze, import, duplicate, settings, waves, links and monitoring.
 */

type Form = Record<string, string | string[]>;
type Lang = "en" | "ru";

const SEGMENTS = ["subscribers", "active_unsubscribed", "inactive"];
const TOKEN = /^[A-Za-z0-9_-]{21}$/;

/** A user of the app signed in, with `get`/`post` that send the agent's CSRF token and a language. */
async function signIn(app: Express, db: Db, role: "researcher" | "admin", email?: string) {
  const user = await addUser(db, role, email);
  const agent = await loggedInAgent(app, user.email);
  const csrf = csrfFrom((await agent.get("/studies").expect(200)).text);
  const get = (url: string, lang: Lang = "en") => agent.get(url).set("Accept-Language", lang);
  const post = (url: string, form: Form = {}, lang: Lang = "en") =>
    agent.post(url).type("form").set("Accept-Language", lang).send({ ...form, _csrf: csrf });
  return { user, agent, get, post };
}

/** A fresh app and database with a signed-in researcher. */
async function workspace() {
  const { app, db, config } = freshApp();
  return { app, db, config, ...(await signIn(app, db, "researcher")) };
}
type Workspace = Awaited<ReturnType<typeof workspace>>;

/** The trailing id of a redirect such as `/studies/7/questions`. */
function idFrom(location: string | undefined, prefix: "studies" | "waves"): number {
  const match = new RegExp(`^/${prefix}/(\\d+)`).exec(location ?? "");
  if (!match) throw new Error(`no /${prefix}/:id in ${location}`);
  return Number(match[1]);
}

const rows = async (db: Db) => ({
  studies: first(await db.select({ n: count() }).from(studies))!.n,
  questions: first(await db.select({ n: count() }).from(questions))!.n,
  options: first(await db.select({ n: count() }).from(options))!.n,
  waves: first(await db.select({ n: count() }).from(waves))!.n,
  links: first(await db.select({ n: count() }).from(links))!.n,
  audit: first(await db.select({ n: count() }).from(auditLog))!.n,
});

const definitionOf = async (db: Db, studyId: number) => toDefinition((await findStudy(db, studyId))!, await listSegments(db, studyId), await loadQuestionnaire(db, studyId));
const questionKeys = async (db: Db, studyId: number) => (await loadQuestionnaire(db, studyId)).map((q) => q.key);

/** Imports a definition through the HTML import form; returns the new study's id. */
async function importStudy(ws: Workspace, def: object = brandLiftDefinition()): Promise<number> {
  const res = await ws.post("/studies/import", { definition: JSON.stringify(def) }).expect(303);
  return idFrom(res.headers["location"], "studies");
}

/** Adds a wave through the study page's form; returns its id. */
async function addWave(ws: Workspace, studyId: number, form: Form = {}): Promise<number> {
  const res = await ws.post(`/studies/${studyId}/waves`, { kind: "pre", label: "", ...form }).expect(303);
  return idFrom(res.headers["location"], "waves");
}


/** What a browser would submit from the form with this action: inputs, ticked boxes, textareas, selections. */
function formFields(html: string, action: string): Form {
  const start = html.indexOf(`action="${action}"`);
  if (start < 0) throw new Error(`no form with action ${action}`);
  const form = html.slice(start, html.indexOf("</form>", start));
  const out: Form = {};
  const add = (name: string, value: string) => {
    const prev = out[name];
    out[name] = prev === undefined ? value : [...[prev].flat(), value];
  };
  for (const [, attrs] of form.matchAll(/<input\b([^>]*)>/g)) {
    const name = / name="([^"]*)"/.exec(attrs!)?.[1];
    if (!name) continue;
    const type = / type="([^"]*)"/.exec(attrs!)?.[1] ?? "text";
    if ((type === "checkbox" || type === "radio") && !/ checked\b/.test(attrs!)) continue;
    add(name, unescapeHtml(/ value="([^"]*)"/.exec(attrs!)?.[1] ?? ""));
  }
  for (const [, name, text] of form.matchAll(/<textarea\b[^>]* name="([^"]*)"[^>]*>([\s\S]*?)<\/textarea>/g)) add(name!, unescapeHtml(text!));
  for (const [, name, body] of form.matchAll(/<select\b[^>]* name="([^"]*)"[^>]*>([\s\S]*?)<\/select>/g)) {
    const chosen = /<option value="([^"]*)"[^>]* selected/.exec(body!) ?? /<option value="([^"]*)"/.exec(body!);
    if (chosen) add(name!, unescapeHtml(chosen[1]!));
  }
  return out;
}

/** The editor form of a stored question, as a browser would submit it unchanged. */
async function editorForm(ws: Workspace, studyId: number, key: string): Promise<Form> {
  const page = await ws.get(`/studies/${studyId}/questions/${key}/edit`).expect(200);
  const { _csrf: _, ...fields } = formFields(page.text, `/studies/${studyId}/questions/${key}`);
  return fields;
}

/** The hidden fields of a survey form (as in respond.test.ts). */
function hidden(html: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of html.matchAll(/<input type="hidden" name="(_\w)" value="([^"]*)">/g)) out[m[1]!] = m[2]!;
  return out;
}

/** A new respondent (own browser) answers the page shown by a survey link. */
async function respond(app: Express, token: string, answers: Form) {
  const agent = request.agent(app);
  const page = await agent.get(`/s/${token}`).expect(200);
  await agent.post(`/s/${token}`).type("form").send({ ...hidden(page.text), ...answers }).expect(303);
  return agent;
}

// ------------------------------------------------------------------------------------------------

describe("brand-lift template", () => {
  const template: Form = {
    studyName: "Весна 2025",
    brand: "Акме",
    category: "кофейни",
    locale: "ru",
    competitors: "Ромашка\r\n  Лютик  \r\n\r\nКолокольчик\r\n",
    advantages: "Свежая обжарка\nДоставка за 30 минут",
  };

  it("creates a study with the whole questionnaire, its metrics and both languages", async () => {
    const ws = await workspace();
    const res = await ws.post("/studies/template", template).expect(303);
    const studyId = idFrom(res.headers["location"], "studies");
    expect(res.headers["location"]).toBe(`/studies/${studyId}/questions`);

    expect(await findStudy(ws.db, studyId)).toMatchObject({
      name: "Весна 2025",
      brand: "Акме",
      category: "кофейни",
      defaultLocale: "ru",
      locales: ["ru", "en"],
      status: "active",
      createdBy: ws.user.id,
    });
    expect((await listSegments(ws.db, studyId)).map((s) => s.key)).toEqual(SEGMENTS);

    const qs = await loadQuestionnaire(ws.db, studyId);
    const byKey = Object.fromEntries(qs.map((q) => [q.key, q]));
    // Ad recall names the brand: it comes after every awareness question.
    // The profile questions come last, on a page of their own.
    expect(qs.map((q) => q.key)).toEqual(["unaided", "aided", "advantages", "ad_recall", "favorability", "consideration", "attention", "feedback", "gender", "age_group"]);
    expect(qs.map((q) => q.type)).toEqual(["text", "multi", "multi", "single", "scale", "scale", "single", "text", "single", "single"]);
    // The unaided question ends the first page; respondents see a neutral title, never the brand.
    expect(qs.map((q) => q.pageBreakAfter)).toEqual([true, false, false, false, false, false, false, true, false, false]);
    expect(qs.map((q) => q.profile)).toEqual([false, false, false, false, false, false, false, false, true, true]);
    expect((await findStudy(ws.db, studyId))!.publicTitle).toBe("Опрос: кофейни");

    const aided = byKey["aided"]!;
    expect(aided.randomize).toBe(true);
    expect(aided.options.map((o) => [o.key, o.text.ru, o.text.en, o.exclusive, o.pinned])).toEqual([
      ["brand", "Акме", "Акме", false, false],
      ["competitor_1", "Ромашка", "Ромашка", false, false],
      ["competitor_2", "Лютик", "Лютик", false, false],
      ["competitor_3", "Колокольчик", "Колокольчик", false, false],
      ["none", "Ни один из них", "None of these", true, true],
    ]);
    expect(aided).toMatchObject({ metricName: "aided_awareness", metricPositive: ["brand"] });

    const advantages = byKey["advantages"]!;
    expect(advantages.options.map((o) => o.key)).toEqual(["advantage_1", "advantage_2", "decoy", "none"]);
    expect(advantages.options.find((o) => o.key === "decoy")!.text).toEqual({ ru: "Работает только по выходным", en: "Open only at weekends" });
    expect(advantages).toMatchObject({ metricName: "advantage_awareness", metricPositive: ["advantage_1", "advantage_2"] });

    expect(byKey["unaided"]).toMatchObject({ metricName: "unaided_awareness", metricMatch: ["Акме"], metricPositive: null });
    expect(byKey["ad_recall"]).toMatchObject({ metricName: "ad_recall", metricPositive: ["yes"] });
    expect(byKey["favorability"]).toMatchObject({ scaleMin: 1, scaleMax: 5, metricName: "favorability", metricPositive: [4, 5] });
    expect(byKey["consideration"]).toMatchObject({ metricName: "consideration", metricPositive: [4, 5] });
    expect(byKey["feedback"]).toMatchObject({ required: false, metricName: null });
    expect(byKey["attention"]!.options.filter((o) => o.attentionCheck).map((o) => o.key)).toEqual(["somewhat_disagree"]);

    // Every text the respondent can see exists in Russian and in English.
    for (const q of qs) {
      expect(q.text.ru, q.key).toBeTruthy();
      expect(q.text.en, q.key).toBeTruthy();
      for (const o of q.options) expect([o.text.ru, o.text.en], `${q.key}.${o.key}`).toEqual([expect.any(String), expect.any(String)]);
    }
    expect(byKey["unaided"]!.text).toEqual({
      ru: "Какие бренды в категории «кофейни» вы знаете? Назовите все, что вспомните.",
      en: "Which brands in the category “кофейни” do you know? Name all that come to mind.",
    });
  });

  it("shows the questionnaire in the preview in Russian and in English", async () => {
    const ws = await workspace();
    const studyId = idFrom((await ws.post("/studies/template", template).expect(303)).headers["location"], "studies");

    const ru = await ws.get(`/studies/${studyId}/preview?lang=ru`).expect(200);
    expect(ru.text).toContain('<html lang="ru">');
    for (const text of [
      "Какие бренды в категории «кофейни» вы знаете? Назовите все, что вспомните.",
      "Какие из этих брендов вы знаете хотя бы по названию?",
      "Ни один из них",
      // The brand in guillemets after a generic noun: never declined.
      "Что из перечисленного, по-вашему, относится к бренду «Акме»?",
      "Работает только по выходным",
      "За последний месяц вы видели рекламу или публикации бренда «Акме» в социальных сетях?",
      "Как вы в целом относитесь к бренду «Акме»?",
      "Насколько вероятно, что в ближайшие три месяца вы воспользуетесь продуктами или услугами бренда «Акме»?",
      "Очень хорошо",
      "Полностью не согласен",
      "Что бы вы изменили в бренде «Акме»?",
    ]) {
      expect(ru.text, text).toContain(text);
    }

    const en = await ws.get(`/studies/${studyId}/preview?lang=en`).expect(200);
    expect(en.text).toContain('<html lang="en">');
    for (const text of [
      "Which brands in the category “кофейни” do you know? Name all that come to mind.",
      "Which of these brands have you heard of, even if only by name?",
      "None of these",
      "Which of these, in your opinion, apply to Акме?",
      "Open only at weekends",
      "Overall, how do you feel about Акме?",
      "Very favourable",
      "Strongly disagree",
      "What would you change about Акме?",
    ]) {
      expect(en.text, text).toContain(text);
    }
    expect(en.text).not.toContain("Какие из этих брендов");
    // All ten questions on one inert page.
    expect(en.text.match(/<fieldset id="q_/g)).toHaveLength(10);
    expect(en.text).toContain('action="#"');
  });

  it("refuses more than 8 competitors with the message, keeping the values and creating nothing", async () => {
    const ws = await workspace();
    const nine = Array.from({ length: 9 }, (_, i) => `Конкурент ${i + 1}`).join("\n");
    const before = await rows(ws.db);

    const en = await ws.post("/studies/template", { ...template, competitors: nine }).expect(422);
    expect(en.text).toContain("Too many lines: at most 8.");
    expect(en.text).toContain('aria-describedby="competitors-error"');
    expect(en.text).toContain("Конкурент 9</textarea>");
    expect(en.text).toContain('value="Весна 2025"');

    const ru = await ws.post("/studies/template", { ...template, competitors: nine }, "ru").expect(422);
    expect(ru.text).toContain("Слишком много строк: не больше 8.");
    expect(await rows(ws.db)).toEqual(before);
  });

  it("builds the questionnaire without an advantages question when none are given", async () => {
    const ws = await workspace();
    const res = await ws.post("/studies/template", { ...template, advantages: "", competitors: "" }).expect(303);
    const studyId = idFrom(res.headers["location"], "studies");
    expect(await questionKeys(ws.db, studyId)).toEqual(["unaided", "aided", "ad_recall", "favorability", "consideration", "attention", "feedback", "gender", "age_group"]);
    expect((await findStudy(ws.db, studyId))!.publicTitle).toBe("Опрос: кофейни");
    expect((await loadQuestionnaire(ws.db, studyId))[1]!.options.map((o) => o.key)).toEqual(["brand", "none"]);
  });
});

// ------------------------------------------------------------------------------------------------

/** The editor form for a new single-choice question, as a researcher fills it in. */
const recallForm = (): Form => ({
  key: "recall",
  type: "single",
  text_ru: "Видели ли вы рекламу Акме?",
  text_en: "Have you seen Acme ads?",
  required: "1",
  option_rows: "3",
  o0_key: "yes",
  o0_ru: "Да",
  o0_en: "Yes",
  o0_positive: "1",
  o1_key: "no",
  o1_ru: "Нет",
  o1_en: "No",
  o2_key: "",
  o2_ru: "",
  o2_en: "",
  metric_name: "ad_recall",
});

const favForm = (): Form => ({
  key: "fav",
  type: "scale",
  text_ru: "Как вы относитесь к Акме?",
  text_en: "How do you feel about Acme?",
  required: "1",
  option_rows: "0",
  scale_min: "1",
  scale_max: "5",
  min_label_ru: "Плохо",
  min_label_en: "Badly",
  max_label_ru: "Отлично",
  max_label_en: "Great",
  metric_name: "favorability",
  metric_positive: "4, 5",
});

const feedbackForm = (): Form => ({
  key: "feedback",
  type: "text",
  text_ru: "Что бы вы изменили?",
  text_en: "What would you change?",
  option_rows: "0",
  max_length: "500",
});

async function blankStudy(ws: Workspace): Promise<number> {
  const res = await ws.post("/studies", { name: "Builder study", brand: "Acme", locale: "ru" }).expect(303);
  return idFrom(res.headers["location"], "studies");
}

describe("questionnaire builder", () => {
  it("adds questions of each type from the editor form", async () => {
    const ws = await workspace();
    const studyId = await blankStudy(ws);
    const editor = await ws.get(`/studies/${studyId}/questions/new`).expect(200);
    expect(editor.text).toContain(`action="/studies/${studyId}/questions"`);
    expect(editor.text).toContain('name="option_rows" value="3"');

    for (const form of [recallForm(), favForm(), feedbackForm()]) {
      const res = await ws.post(`/studies/${studyId}/questions`, form).expect(303);
      expect(res.headers["location"]).toBe(`/studies/${studyId}/questions?done=saved`);
    }
    expect((await loadQuestionnaire(ws.db, studyId)).map(questionToDefinition)).toEqual([
      {
        key: "recall",
        type: "single",
        text: { ru: "Видели ли вы рекламу Акме?", en: "Have you seen Acme ads?" },
        required: true,
        randomize: false,
        options: [
          { key: "yes", text: { ru: "Да", en: "Yes" }, exclusive: false, pinned: false, attentionCheck: false },
          { key: "no", text: { ru: "Нет", en: "No" }, exclusive: false, pinned: false, attentionCheck: false },
        ],
        metric: { name: "ad_recall", positive: ["yes"] },
      },
      {
        key: "fav",
        type: "scale",
        text: { ru: "Как вы относитесь к Акме?", en: "How do you feel about Acme?" },
        required: true,
        randomize: false,
        min: 1,
        max: 5,
        minLabel: { ru: "Плохо", en: "Badly" },
        maxLabel: { ru: "Отлично", en: "Great" },
        metric: { name: "favorability", positive: [4, 5] },
      },
      {
        key: "feedback",
        type: "text",
        text: { ru: "Что бы вы изменили?", en: "What would you change?" },
        required: false,
        randomize: false,
        maxLength: 500,
      },
    ]);

    const list = await ws.get(`/studies/${studyId}/questions?done=saved`).expect(200);
    expect(list.text).toContain("Question saved.");
    expect(list.text).toContain("Have you seen Acme ads?");
    expect(list.text).toContain("2 options");
    expect(list.text).toContain("metric: Favorability (rated 4–5 out of 5)");
    const ru = await ws.get(`/studies/${studyId}/questions?done=saved`, "ru").expect(200);
    expect(ru.text).toContain("Вопрос сохранён.");
    expect(ru.text).toContain("Видели ли вы рекламу Акме?");
    expect(ru.text).toContain("2 варианта");
    expect((await ws.db.select().from(auditLog)).filter((a) => a.action === "question.add").map((a) => a.details)).toEqual([
      { key: "recall" },
      { key: "fav" },
      { key: "feedback" },
    ]);
  });

  it("marks decoy options that leave their choosers out of the metric, and refuses a decoy that also counts", async () => {
    const ws = await workspace();
    const studyId = await blankStudy(ws);
    const form = { ...recallForm(), o2_key: "maybe", o2_ru: "Кажется, у Ромашки", o2_en: "I think at Romashka's", o2_decoy: "1" };
    await ws.post(`/studies/${studyId}/questions`, form).expect(303);
    expect((await loadQuestionnaire(ws.db, studyId)).map(questionToDefinition)[0]!.metric).toEqual({ name: "ad_recall", positive: ["yes"], exclude: ["maybe"] });
    const editor = await ws.get(`/studies/${studyId}/questions/recall/edit`).expect(200);
    expect(editor.text).toContain("Decoy: leaves the respondent out of this metric");
    expect(editor.text).toMatch(/name="o2_decoy" value="1" checked/);
    expect(editor.text).not.toMatch(/name="o0_decoy" value="1" checked/);

    const both = await ws.post(`/studies/${studyId}/questions/recall`, { ...form, o0_decoy: "1" }, "ru").expect(422);
    expect(both.text).toContain("Приманка исключает выбравших её из метрики, поэтому не может в ней засчитываться.");
    expect((await loadQuestionnaire(ws.db, studyId))[0]!.metricExclude).toEqual(["maybe"]);
  });

  it("edits, moves and deletes questions", async () => {
    const ws = await workspace();
    const studyId = await blankStudy(ws);
    for (const form of [recallForm(), favForm(), feedbackForm()]) await ws.post(`/studies/${studyId}/questions`, form).expect(303);

    // Edit: an exclusive third option, a new key and the metric moved to "no".
    const form = await editorForm(ws, studyId, "recall");
    expect(form).toMatchObject({ key: "recall", type: "single", option_rows: "5", o0_key: "yes", o0_positive: "1", o1_key: "no" });
    const { o0_positive: _, ...unticked } = form;
    const edited = { ...unticked, key: "ad_recall", type: "multi", o2_key: "not_sure", o2_ru: "Не помню", o2_en: "Not sure", o2_exclusive: "1", o1_positive: "1" };
    const saved = await ws.post(`/studies/${studyId}/questions/recall`, edited).expect(303);
    expect(saved.headers["location"]).toBe(`/studies/${studyId}/questions?done=saved`);
    const recall = questionToDefinition((await loadQuestionnaire(ws.db, studyId))[0]!);
    expect(recall).toMatchObject({ key: "ad_recall", type: "multi", metric: { name: "ad_recall", positive: ["no"] } });
    expect(recall.options!.map((o) => [o.key, o.text.ru, o.exclusive])).toEqual([
      ["yes", "Да", false],
      ["no", "Нет", false],
      ["not_sure", "Не помню", true],
    ]);

    const taken = await ws.post(`/studies/${studyId}/questions/fav`, { ...(await editorForm(ws, studyId, "fav")), key: "feedback" }).expect(422);
    expect(taken.text).toContain("This key is already used.");
    expect(formFields(taken.text, `/studies/${studyId}/questions/fav`)).toMatchObject({ key: "feedback", type: "scale", scale_max: "5" });

    await ws.post(`/studies/${studyId}/questions/fav/move`, { direction: "up" }).expect(303);
    expect(await questionKeys(ws.db, studyId)).toEqual(["fav", "ad_recall", "feedback"]);
    await ws.post(`/studies/${studyId}/questions/fav/move`, { direction: "up" }).expect(303); // already first
    expect(await questionKeys(ws.db, studyId)).toEqual(["fav", "ad_recall", "feedback"]);
    await ws.post(`/studies/${studyId}/questions/fav/move`, { direction: "down" }).expect(303);
    await ws.post(`/studies/${studyId}/questions/fav/move`, { direction: "down" }).expect(303);
    expect(await questionKeys(ws.db, studyId)).toEqual(["ad_recall", "feedback", "fav"]);
    expect((await loadQuestionnaire(ws.db, studyId)).map((q) => q.position)).toEqual([0, 1, 2]);

    const deleted = await ws.post(`/studies/${studyId}/questions/feedback/delete`).expect(303);
    expect(deleted.headers["location"]).toBe(`/studies/${studyId}/questions?done=deleted`);
    expect(await questionKeys(ws.db, studyId)).toEqual(["ad_recall", "fav"]);
    expect((await loadQuestionnaire(ws.db, studyId)).map((q) => q.position)).toEqual([0, 1]);
    expect((await ws.get(`/studies/${studyId}/questions?done=deleted`).expect(200)).text).toContain("Question deleted.");

    await ws.post(`/studies/${studyId}/questions/feedback/delete`).expect(404);
    await ws.get(`/studies/${studyId}/questions/feedback/edit`).expect(404);
    expect((await ws.db.select().from(auditLog)).map((a) => a.action).filter((a) => a.startsWith("question."))).toEqual([
      "question.add",
      "question.add",
      "question.add",
      "question.edit",
      "question.move",
      "question.move",
      "question.move",
      "question.delete",
    ]);
  });

  const invalid: Array<[string, Form, string, string, string, Form]> = [
    [
      "a scale whose upper end is not above the lower",
      { ...favForm(), scale_min: "5", scale_max: "3" },
      "scale_max",
      "The upper end must be above the lower end, by at most 20.",
      "Верхний край должен быть больше нижнего, но не больше чем на 20.",
      { scale_min: "5", scale_max: "3", text_ru: "Как вы относитесь к Акме?" },
    ],
    [
      "a choice question with one option",
      { ...recallForm(), o1_key: "", o1_ru: "", o1_en: "" },
      "options",
      "A choice question needs at least two options.",
      "В вопросе с выбором нужно хотя бы два варианта.",
      { o0_key: "yes", o0_ru: "Да", o0_en: "Yes", o0_positive: "1", metric_name: "ad_recall" },
    ],
    [
      "a key that is not lower-case Latin",
      { ...recallForm(), key: "Ad Recall" },
      "key",
      "Use lower-case Latin letters, digits and _, starting with a letter.",
      "Используйте строчные латинские буквы, цифры и _, начиная с буквы.",
      { key: "Ad Recall", o1_key: "no" },
    ],
    [
      "a key already used by another question",
      { ...favForm(), key: "recall" },
      "key",
      "This key is already used.",
      "Этот ключ уже занят.",
      { key: "recall", scale_max: "5" },
    ],
  ];

  it.each(invalid)("re-renders the editor (422) with the message and the values kept: %s", async (_name, form, field, en, ru, kept) => {
    const ws = await workspace();
    const studyId = await blankStudy(ws);
    await ws.post(`/studies/${studyId}/questions`, recallForm()).expect(303);
    const before = { rows: await rows(ws.db), definition: await definitionOf(ws.db, studyId) };

    const res = await ws.post(`/studies/${studyId}/questions`, form).expect(422);
    expect(res.text).toContain(en);
    expect(res.text).toContain(`href="#${field}"`);
    expect(formFields(res.text, `/studies/${studyId}/questions`)).toMatchObject(kept);
    expect((await ws.post(`/studies/${studyId}/questions`, form, "ru").expect(422)).text).toContain(ru);

    // The same problem in an edit of the existing question is refused the same way.
    if (field !== "key" || form["key"] !== "recall") {
      const edit = await ws.post(`/studies/${studyId}/questions/recall`, form).expect(422);
      expect(edit.text).toContain(en);
      expect(edit.text).toContain(`action="/studies/${studyId}/questions/recall"`);
    }
    expect({ rows: await rows(ws.db), definition: await definitionOf(ws.db, studyId) }).toEqual(before);
  });
});

describe("questionnaire freeze", () => {
  /** The fixture questionnaire (every question type) with its pre wave opened through the pages. */
  async function frozenStudy() {
    const ws = await workspace();
    const studyId = await importStudy(ws);
    const waveId = await addWave(ws, studyId);
    await ws.post(`/waves/${waveId}/open`).expect(303);
    return { ws, studyId, waveId };
  }

  it("refuses structural edits with 409 and the frozen message, changing nothing", async () => {
    const { ws, studyId } = await frozenStudy();
    const list = await ws.get(`/studies/${studyId}/questions`).expect(200);
    expect(list.text).toContain("A wave has been opened: the questionnaire structure is frozen");
    expect(list.text).not.toContain(`/studies/${studyId}/questions/new`);
    expect(list.text).not.toContain("/move");
    expect(list.text).not.toContain("/delete");
    expect(list.text).toContain(`/studies/${studyId}/questions/recall/edit`);

    const recall = await editorForm(ws, studyId, "recall");
    const before = { rows: await rows(ws.db), definition: await definitionOf(ws.db, studyId) };
    const structural: Array<[string, () => request.Test]> = [
      ["type change", () => ws.post(`/studies/${studyId}/questions/recall`, { ...recall, type: "multi" })],
      ["new option", () => ws.post(`/studies/${studyId}/questions/recall`, { ...recall, o2_key: "maybe", o2_ru: "Может быть", o2_en: "Maybe" })],
      ["option removed", () => ws.post(`/studies/${studyId}/questions/recall`, { ...recall, o1_remove: "1", o2_key: "nope", o2_ru: "Нет", o2_en: "No" })],
      ["metric added", () => ws.post(`/studies/${studyId}/questions/recall`, { ...recall, metric_name: "ad_recall", o0_positive: "1" })],
      ["required dropped", () => ws.post(`/studies/${studyId}/questions/recall`, { ...recall, required: "" })],
      ["new question", () => ws.post(`/studies/${studyId}/questions`, { ...feedbackForm(), key: "extra" })],
      ["delete", () => ws.post(`/studies/${studyId}/questions/recall/delete`)],
      ["move up", () => ws.post(`/studies/${studyId}/questions/recall/move`, { direction: "up" })],
      ["move down", () => ws.post(`/studies/${studyId}/questions/recall/move`, { direction: "down" })],
    ];
    for (const [name, send] of structural) {
      const res = await send();
      expect(res.status, name).toBe(409);
      expect(res.text, name).toContain("The questionnaire is frozen");
      expect(res.text, name).toContain("pre and post must measure the same thing");
    }
    const ru = await ws.post(`/studies/${studyId}/questions/recall/delete`, {}, "ru").expect(409);
    expect(ru.text).toContain("Анкета заморожена");
    expect({ rows: await rows(ws.db), definition: await definitionOf(ws.db, studyId) }).toEqual(before);
  });

  it("saves every question's editor form unchanged (the form round-trips each type)", async () => {
    const { ws, studyId } = await frozenStudy();
    const template = idFrom(
      (await ws.post("/studies/template", { studyName: "T", brand: "Акме", category: "кофе", locale: "en", competitors: "Ромашка", advantages: "Быстро" }).expect(303)).headers["location"],
      "studies",
    );
    await ws.post(`/waves/${await addWave(ws, template)}/open`).expect(303);
    const before = { rows: await rows(ws.db), fixture: await definitionOf(ws.db, studyId), template: await definitionOf(ws.db, template) };
    for (const id of [studyId, template]) {
      for (const key of await questionKeys(ws.db, id)) {
        const res = await ws.post(`/studies/${id}/questions/${key}`, await editorForm(ws, id, key));
        expect(res.status, key).toBe(303);
        expect(res.headers["location"], key).toBe(`/studies/${id}/questions?done=saved`);
      }
    }
    expect({ rows: await rows(ws.db), fixture: await definitionOf(ws.db, studyId), template: await definitionOf(ws.db, template) }).toEqual(before);
  });

  it("allows a wording-only edit, keeps the structure and ids, and logs it", async () => {
    const { ws, studyId } = await frozenStudy();
    const idsBefore = (await loadQuestionnaire(ws.db, studyId)).map((q) => [q.id, q.options.map((o) => o.id)]);
    const form = await editorForm(ws, studyId, "recall");
    expect(form["text_ru"]).toBe("Видели ли вы рекламу Акме?");

    const res = await ws.post(`/studies/${studyId}/questions/recall`, { ...form, text_ru: "Видели ли вы рекламу Акме за последний месяц?" }).expect(303);
    expect(res.headers["location"]).toBe(`/studies/${studyId}/questions?done=wording`);
    expect((await ws.get(`/studies/${studyId}/questions?done=wording`).expect(200)).text).toContain("Wording saved and logged.");
    expect((await ws.get(`/studies/${studyId}/questions?done=wording`, "ru").expect(200)).text).toContain("Видели ли вы рекламу Акме за последний месяц?");

    const recall = (await loadQuestionnaire(ws.db, studyId)).find((q) => q.key === "recall")!;
    expect(recall.text).toEqual({ ru: "Видели ли вы рекламу Акме за последний месяц?", en: "Have you seen Acme ads?" });
    expect((await loadQuestionnaire(ws.db, studyId)).map((q) => [q.id, q.options.map((o) => o.id)])).toEqual(idsBefore);

    const entry = await ws.db.select().from(auditLog).where(eq(auditLog.action, "question.wording"));
    expect(entry).toEqual([
      expect.objectContaining({
        userId: ws.user.id,
        entityType: "study",
        entityId: String(studyId),
        details: {
          key: "recall",
          before: { text: { ru: "Видели ли вы рекламу Акме?", en: "Have you seen Acme ads?" }, options: [{ ru: "Да", en: "Yes" }, { ru: "Нет", en: "No" }] },
          after: { text: { ru: "Видели ли вы рекламу Акме за последний месяц?", en: "Have you seen Acme ads?" } },
        },
      }),
    ]);

    const audit = await ws.get(`/studies/${studyId}/audit`).expect(200);
    expect(audit.text).toContain("Corrected the wording of “Have you seen Acme ads?”");
    expect(audit.text).toContain("researcher@example.test");
    expect(audit.text).toContain("Видели ли вы рекламу Акме за последний месяц?");
    expect(audit.text).toContain("Opened the wave “Before the campaign”");
    expect((await ws.get(`/studies/${studyId}/audit`, "ru").expect(200)).text).toContain("Журнал изменений");
  });

  it("allows option texts and scale labels to be reworded too", async () => {
    const { ws, studyId } = await frozenStudy();
    const aided = await editorForm(ws, studyId, "aided");
    await ws.post(`/studies/${studyId}/questions/aided`, { ...aided, o0_en: "ACME Corp." }).expect(303).expect("Location", `/studies/${studyId}/questions?done=wording`);
    const fav = await editorForm(ws, studyId, "fav");
    await ws.post(`/studies/${studyId}/questions/fav`, { ...fav, max_label_ru: "Превосходно" }).expect(303).expect("Location", `/studies/${studyId}/questions?done=wording`);

    const [aidedQ, , favQ] = await loadQuestionnaire(ws.db, studyId);
    expect(aidedQ!.options[0]!.text).toEqual({ ru: "Акме", en: "ACME Corp." });
    expect(favQ!.scaleMaxLabel).toEqual({ ru: "Превосходно", en: "Great" });
    expect((await ws.db.select().from(auditLog).where(eq(auditLog.action, "question.wording"))).map((a) => a.details!["key"])).toEqual(["aided", "fav"]);
  });
});

// ------------------------------------------------------------------------------------------------

describe("definition import", () => {
  it("answers invalid JSON with 422 and the parser's message, keeping the text", async () => {
    const ws = await workspace();
    const before = await rows(ws.db);
    const res = await ws.post("/studies/import", { definition: '{"name": "Весна",' }).expect(422);
    expect(res.text).toContain("This is not valid JSON: ");
    expect(res.text).toContain('aria-describedby="definition-error"');
    expect(res.text).toContain("{&#34;name&#34;: &#34;Весна&#34;,</textarea>");
    expect((await ws.post("/studies/import", { definition: "" }, "ru").expect(422)).text).toContain("Это некорректный JSON: ");
    expect(await rows(ws.db)).toEqual(before);
  });

  it("lists every problem of a definition by its JSON path, creating nothing", async () => {
    const ws = await workspace();
    const before = await rows(ws.db);
    const broken = {
      name: "Broken",
      brand: "Acme",
      locale: "ru",
      colour: "red",
      questions: [
        { key: "aided", type: "single", text: { ru: "Какие бренды?" }, options: [{ key: "acme", text: { ru: "Акме" } }] },
        { key: "fav", type: "scale", min: 5, max: 3, text: { en: "How?" } },
        { key: "Feedback", type: "text", text: { en: "Why?" } },
      ],
    };
    const res = await ws.post("/studies/import", { definition: JSON.stringify(broken) }).expect(422);
    expect(res.text).toContain("The definition has errors:");
    expect(res.text).toContain("<li><code>colour</code>: unknown field</li>");
    expect(res.text).toContain("<li><code>questions[0].options</code>: a choice question needs at least 2 options</li>");
    expect(res.text).toContain("<li><code>questions[1].max</code>: max must be above min, by at most 20</li>");
    expect(res.text).toContain("<li><code>questions[2].key</code>: must be lower-case letters");
    expect(formFields(res.text, "/studies/import")["definition"]).toBe(JSON.stringify(broken));
    expect((await ws.post("/studies/import", { definition: JSON.stringify(broken) }, "ru").expect(422)).text).toContain("В описании есть ошибки:");
    expect(await rows(ws.db)).toEqual(before);
  });

  it("creates the study of a valid definition", async () => {
    const ws = await workspace();
    const def = brandLiftDefinition({ name: "Импорт", pageSize: 2, campaignCost: 99_000, currency: "RUB" });
    const res = await ws.post("/studies/import", { definition: JSON.stringify(def) }).expect(303);
    const studyId = idFrom(res.headers["location"], "studies");
    expect(res.headers["location"]).toBe(`/studies/${studyId}`);
    expect(await findStudy(ws.db, studyId)).toMatchObject({ name: "Импорт", brand: "Acme", pageSize: 2, campaignCost: 99_000, costCurrency: "RUB", createdBy: ws.user.id });
    expect((await definitionOf(ws.db, studyId)).questions).toEqual(def.questions);
    const page = await ws.get(`/studies/${studyId}`).expect(200);
    expect(page.text).toContain("<h1>Импорт</h1>");
  });
});

describe("definition export", () => {
  it("downloads the definition as JSON, which imported again gives the same study", async () => {
    const ws = await workspace();
    const studyId = await importStudy(ws, brandLiftDefinition({ category: "кофейни", pageSize: 3 }));
    await ws.post(`/studies/${studyId}/segments`, { key: "control", labelRu: "Контроль", labelEn: "Control", role: "control" }).expect(303);
    const res = await ws.get(`/studies/${studyId}/export.json`).expect(200);
    expect(res.headers["content-type"]).toMatch(/^application\/json/);
    expect(res.headers["content-disposition"]).toMatch(new RegExp(`^attachment; filename="?study-${studyId}\\.json"?$`));
    const exported = JSON.parse(res.text);
    expect(exported).toEqual(JSON.parse(JSON.stringify(await definitionOf(ws.db, studyId))));
    expect(first(await ws.db.select().from(auditLog).where(eq(auditLog.action, "study.export")))).toMatchObject({ userId: ws.user.id, entityId: String(studyId) });

    const again = await ws.post("/studies/import", { definition: res.text }).expect(303);
    expect(await definitionOf(ws.db, idFrom(again.headers["location"], "studies"))).toEqual(await definitionOf(ws.db, studyId));
  });
});

describe("duplicate", () => {
  /** Every column of `studies`, classified: a new column fails this test until it is added to one list. */
  const COPIED = ["brand", "category", "defaultLocale", "locales", "pageSize", "publicTitle", "targetLift", "timeZone", "campaignCost", "costCurrency"] as const;
  // version: a copy starts its own count of changes (caches of the original stay keyed to it).
  const DIFFERENT = ["id", "name", "signingSecret", "createdAt", "updatedAt", "createdBy", "status", "version"] as const;
  /** Kept as it is: a copy belongs to the same team as its original. */
  const SAME_TEAM = ["teamId"] as const;

  it("classifies every study column as copied or deliberately different", () => {
    expect(Object.keys(getTableColumns(studies)).sort()).toEqual([...COPIED, ...DIFFERENT, ...SAME_TEAM].sort());
  });

  it("copies every setting, segment and question; only identity, secret, author, times and status differ", async () => {
    const ws = await workspace();
    const def = brandLiftDefinition({
      name: "Осень",
      category: "кофейни",
      locale: "en",
      locales: ["en", "ru"],
      pageSize: 2,
      publicTitle: "Опрос о кофейнях",
      targetLift: 0.035,
      timeZone: "Asia/Novosibirsk",
      campaignCost: 150_000.5,
      currency: "USD",
    });
    const originalId = await importStudy(ws, def);
    await ws.post(`/studies/${originalId}/segments`, { key: "control", labelRu: "Контроль", labelEn: "Control group", role: "control" }).expect(303);
    await ws.post(`/studies/${originalId}/archive`).expect(303);
    const original = (await findStudy(ws.db, originalId))!;
    expect(original.status).toBe("archived");

    // Another researcher makes the copy.
    const other = await signIn(ws.app, ws.db, "researcher", "second@example.test");
    const res = await other.post(`/studies/${originalId}/duplicate`).expect(303);
    const copyId = idFrom(res.headers["location"], "studies");
    expect(res.headers["location"]).toBe(`/studies/${copyId}?duplicated=1`);
    const copy = (await findStudy(ws.db, copyId))!;

    for (const column of [...COPIED, ...SAME_TEAM]) expect(copy[column], column).toEqual(original[column]);
    expect(copy.category).toBe("кофейни");
    expect(copy.locales).toEqual(["en", "ru"]);
    expect([copy.pageSize, copy.targetLift, copy.timeZone, copy.campaignCost, copy.costCurrency]).toEqual([2, 0.035, "Asia/Novosibirsk", 150_000.5, "USD"]);

    expect(copy.id).not.toBe(original.id);
    expect(copy.name).toBe("Осень (copy)");
    expect(copy.signingSecret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(copy.signingSecret).not.toBe(original.signingSecret);
    expect(copy.createdBy).toBe(other.user.id);
    expect(original.createdBy).toBe(ws.user.id);
    expect(copy.createdAt.getTime()).toBeGreaterThanOrEqual(original.updatedAt.getTime());
    expect(copy.updatedAt.getTime()).toBeGreaterThanOrEqual(original.updatedAt.getTime());
    expect(copy.status).toBe("active");

    const segmentShape = async (id: number) => (await listSegments(ws.db, id)).map(({ key, label, role, position }) => ({ key, label, role, position }));
    expect(await segmentShape(copyId)).toEqual(await segmentShape(originalId));
    expect((await segmentShape(copyId)).at(-1)).toEqual({ key: "control", label: { ru: "Контроль", en: "Control group" }, role: "control", position: 3 });
    expect((await definitionOf(ws.db, copyId)).questions).toEqual((await definitionOf(ws.db, originalId)).questions);
    expect(await definitionOf(ws.db, copyId)).toEqual({ ...(await definitionOf(ws.db, originalId)), name: "Осень (copy)" });
    expect(await ws.db.select().from(waves).where(eq(waves.studyId, copyId))).toEqual([]);

    expect(first(await ws.db.select().from(auditLog).where(eq(auditLog.action, "study.duplicate")))).toMatchObject({
      userId: other.user.id,
      entityId: String(copyId),
      details: { from: originalId },
    });
    const page = await other.get(res.headers["location"]!).expect(200);
    expect(page.text).toContain("<h1>Осень (copy)</h1>");
    expect(page.text).toContain("Control group");
    expect(page.text).toContain("control (not reached)");
  });

  it("refuses a segment key that is taken or reserved, with the message", async () => {
    const ws = await workspace();
    const studyId = await blankStudy(ws);
    const taken = await ws.post(`/studies/${studyId}/segments`, { key: "inactive", labelRu: "Ещё", labelEn: "More", role: "exposed" }).expect(422);
    expect(taken.text).toContain("This key is already used.");
    expect(taken.text).toContain('value="More"');
    const reserved = await ws.post(`/studies/${studyId}/segments`, { key: "total", labelRu: "Всего", labelEn: "Total", role: "exposed" }, "ru").expect(422);
    expect(reserved.text).toContain("Этот ключ уже занят.");
    expect((await listSegments(ws.db, studyId)).map((s) => s.key)).toEqual(SEGMENTS);
  });
});

describe("study settings", () => {
  it("shows the current settings and saves new ones", async () => {
    const ws = await workspace();
    const studyId = await importStudy(ws);
    const page = await ws.get(`/studies/${studyId}/settings`).expect(200);
    const form = formFields(page.text, `/studies/${studyId}/settings`);
    expect(form).toMatchObject({ name: "Spring campaign", brand: "Acme", category: "", locales: ["ru", "en"], defaultLocale: "ru", pageSize: "", costCurrency: "" });

    const res = await ws
      .post(`/studies/${studyId}/settings`, { ...form, name: "Весна", category: "кофейни", defaultLocale: "en", locales: ["en"], pageSize: "3", campaignCost: "250000.5", costCurrency: "usd" })
      .expect(303);
    expect(res.headers["location"]).toBe(`/studies/${studyId}/settings?saved=1`);
    expect(await findStudy(ws.db, studyId)).toMatchObject({
      name: "Весна",
      brand: "Acme",
      category: "кофейни",
      defaultLocale: "en",
      locales: ["en"],
      pageSize: 3,
      campaignCost: 250_000.5,
      costCurrency: "USD",
    });
    const saved = await ws.get(res.headers["location"]!).expect(200);
    expect(saved.text).toContain("Settings saved.");
    expect(formFields(saved.text, `/studies/${studyId}/settings`)).toMatchObject({ locales: "en", defaultLocale: "en", pageSize: "3", costCurrency: "USD" });
    expect((await ws.get(res.headers["location"]!, "ru").expect(200)).text).toContain("Настройки сохранены.");
    expect(first(await ws.db.select().from(auditLog).where(eq(auditLog.action, "study.settings")))).toMatchObject({ userId: ws.user.id, entityId: String(studyId) });

    // Emptied optional fields become null again.
    await ws.post(`/studies/${studyId}/settings`, { ...form, category: "", pageSize: "", campaignCost: "", costCurrency: "" }).expect(303);
    expect(await findStudy(ws.db, studyId)).toMatchObject({ category: null, pageSize: null, campaignCost: null, costCurrency: null });
  });

  const invalid: Array<[string, Form, string, string]> = [
    ["a currency that is not a 3-letter code", { costCurrency: "рубли" }, "Enter a three-letter currency code such as RUB.", "Введите трёхбуквенный код валюты, например RUB."],
    ["a default language outside the languages", { defaultLocale: "en", locales: ["ru"] }, "The default language must be one of the questionnaire languages.", "Язык по умолчанию должен быть среди языков анкеты."],
    ["no language at all", { locales: [] }, "This field is required.", "Это поле обязательно."],
    ["a page size of 0", { pageSize: "0" }, "Enter a valid number.", "Введите корректное число."],
    ["a negative campaign cost", { campaignCost: "-5" }, "Enter a valid number.", "Введите корректное число."],
  ];

  it.each(invalid)("refuses %s with 422 and the message, saving nothing", async (_name, change, en, ru) => {
    const ws = await workspace();
    const studyId = await importStudy(ws);
    const form = formFields((await ws.get(`/studies/${studyId}/settings`).expect(200)).text, `/studies/${studyId}/settings`);
    const before = await findStudy(ws.db, studyId);
    const res = await ws.post(`/studies/${studyId}/settings`, { ...form, name: "Новое имя", ...change }).expect(422);
    expect(res.text).toContain(en);
    expect(formFields(res.text, `/studies/${studyId}/settings`)["name"]).toBe("Новое имя");
    expect((await ws.post(`/studies/${studyId}/settings`, { ...form, ...change }, "ru").expect(422)).text).toContain(ru);
    expect(await findStudy(ws.db, studyId)).toEqual(before);
  });
});

// ------------------------------------------------------------------------------------------------

const waveRow = async (db: Db, waveId: number) => first(await db.select().from(waves).where(eq(waves.id, waveId)))!;
const openLinks = async (db: Db, waveId: number) =>
  (await db.select().from(links).where(eq(links.waveId, waveId))).filter((l) => l.kind === "open");

describe("waves", () => {
  it("creates a wave with targets and audience sizes from the study page form", async () => {
    const ws = await workspace();
    const studyId = await importStudy(ws);
    const studyPage = await ws.get(`/studies/${studyId}`).expect(200);
    const form = formFields(studyPage.text, `/studies/${studyId}/waves`);
    expect(form).toMatchObject({ kind: "pre", label: "", target_subscribers: "", target_inactive: "", audience_subscribers: "" });

    const res = await ws.post(`/studies/${studyId}/waves`, { ...form, target_subscribers: "200", target_inactive: "150", audience_subscribers: "12000" }).expect(303);
    const waveId = idFrom(res.headers["location"], "waves");
    expect(res.headers["location"]).toBe(`/waves/${waveId}`);
    // Named by its kind in the researcher's language (this agent reads English).
    expect(await waveRow(ws.db, waveId)).toMatchObject({ studyId, kind: "pre", label: "Before the campaign", status: "draft", openedAt: null });
    const segmentIds = Object.fromEntries((await listSegments(ws.db, studyId)).map((s) => [s.key, s.id]));
    const settings = await ws.db.select().from(waveSegments).where(eq(waveSegments.waveId, waveId));
    expect(settings.sort((a, b) => a.segmentId - b.segmentId)).toEqual([
      { waveId, segmentId: segmentIds["subscribers"], target: 200, audienceSize: 12_000 },
      { waveId, segmentId: segmentIds["inactive"], target: 150, audienceSize: null },
    ]);

    const page = await ws.get(`/waves/${waveId}`).expect(200);
    expect(page.text).toContain('<h1>Before the campaign <span class="badge">draft</span></h1>');
    expect(page.text).toContain("Links appear when the wave is opened.");
    expect(formFields(page.text, `/waves/${waveId}/targets`)).toMatchObject({
      target_subscribers: "200",
      target_active_unsubscribed: "",
      target_inactive: "150",
      audience_subscribers: "12000",
    });
    expect((await ws.get(`/waves/${waveId}`, "ru").expect(200)).text).toContain("Ссылки появятся, когда волна будет открыта.");

    // Further waves: named by kind and number, or by the label given.
    const second = await addWave(ws, studyId);
    expect((await waveRow(ws.db, second)).label).toBe("Before the campaign 2");
    const post = await addWave(ws, studyId, { kind: "post", label: "После кампании" });
    expect(await waveRow(ws.db, post)).toMatchObject({ kind: "post", label: "После кампании", position: 2 });
  });

  it("refuses a target that is not a whole number, creating nothing", async () => {
    const ws = await workspace();
    const studyId = await importStudy(ws);
    const before = await rows(ws.db);
    await ws.post(`/studies/${studyId}/waves`, { kind: "pre", target_subscribers: "12.5" }).expect(422);
    await ws.post(`/studies/${studyId}/waves`, { kind: "pre", audience_inactive: "-1" }).expect(422);
    await ws.post(`/studies/${studyId}/waves`, { kind: "middle" }).expect(422);
    expect(await rows(ws.db)).toEqual(before);
  });

  it("opens a wave with exactly one open link per segment, each shown with an inline QR code; opening again changes nothing", async () => {
    const ws = await workspace();
    const studyId = await importStudy(ws);
    const waveId = await addWave(ws, studyId);

    const res = await ws.post(`/waves/${waveId}/open`).expect(303);
    expect(res.headers["location"]).toBe(`/waves/${waveId}?done=opened`);
    const wave = await waveRow(ws.db, waveId);
    expect(wave.status).toBe("open");
    expect(wave.openedAt).toBeInstanceOf(Date);
    const created = await openLinks(ws.db, waveId);
    const segmentIds = (await listSegments(ws.db, studyId)).map((s) => s.id);
    expect(created.map((l) => l.segmentId).sort()).toEqual(segmentIds.sort());
    for (const link of created) expect(link.token).toMatch(TOKEN);

    const page = await ws.get(res.headers["location"]!).expect(200);
    expect(page.text).toContain("Wave opened: a link for every segment is ready.");
    expect(page.text).toContain('<span class="badge">open</span>');
    for (const link of created) expect(page.text).toContain(`<a class="url" href="http://localhost:3000/s/${link.token}">http://localhost:3000/s/${link.token}</a>`);
    const qrs = [...page.text.matchAll(/<figure class="qr" role="img" aria-label="([^"]+)"><svg [^>]*>([\s\S]*?)<\/svg>/g)];
    expect(qrs.map((m) => m[1])).toEqual(["QR code of the link for Subscribers", "QR code of the link for Active, not subscribed", "QR code of the link for Inactive audience"]);
    expect(new Set(qrs.map((m) => m[2])).size).toBe(3);
    const ru = await ws.get(`/waves/${waveId}`, "ru").expect(200);
    expect(ru.text).toContain("QR-код ссылки для сегмента «Подписчики»");

    await ws.post(`/waves/${waveId}/open`).expect(303);
    expect(await openLinks(ws.db, waveId)).toEqual(created);
    expect((await waveRow(ws.db, waveId)).openedAt).toEqual(wave.openedAt);
    expect(first(await ws.db.select({ n: count() }).from(links))!.n).toBe(3);

    expect((await ws.get(`/studies/${studyId}`).expect(200)).text).toContain("the questionnaire structure is frozen");
  });

  it("refuses to open a wave while the questionnaire is empty (409)", async () => {
    const ws = await workspace();
    const studyId = await blankStudy(ws);
    const waveId = await addWave(ws, studyId);
    await ws.post(`/waves/${waveId}/open`).expect(409);
    expect(await waveRow(ws.db, waveId)).toMatchObject({ status: "draft", openedAt: null });
    expect(first(await ws.db.select({ n: count() }).from(links))!.n).toBe(0);
  });

  it("explains the 409 of an empty questionnaire and of closing a draft wave, in English and Russian", async () => {
    const ws = await workspace();
    const studyId = await blankStudy(ws);
    const waveId = await addWave(ws, studyId);
    const open = await ws.post(`/waves/${waveId}/open`).expect(409);
    expect(open.text).toContain("<h1>The questionnaire is empty</h1>");
    expect(open.text).toContain("Add questions before opening a wave.");
    expect((await ws.post(`/waves/${waveId}/open`, {}, "ru").expect(409)).text).toContain("<h1>Анкета пуста</h1>");
    const close = await ws.post(`/waves/${waveId}/close`).expect(409);
    expect(close.text).toContain("<h1>The wave is not open</h1>");
    expect((await ws.post(`/waves/${waveId}/close`, {}, "ru").expect(409)).text).toContain("<h1>Волна не открыта</h1>");
  });

  it("closing makes the links answer 410 to respondents, reopening makes them work again; a draft cannot be closed (409)", async () => {
    const ws = await workspace();
    const studyId = await importStudy(ws);
    const waveId = await addWave(ws, studyId);
    await ws.post(`/waves/${waveId}/open`).expect(303);
    const token = (await openLinks(ws.db, waveId))[0]!.token;
    await request(ws.app).get(`/s/${token}`).expect(200);

    const closed = await ws.post(`/waves/${waveId}/close`).expect(303);
    expect(closed.headers["location"]).toBe(`/waves/${waveId}?done=closed`);
    expect(await waveRow(ws.db, waveId)).toMatchObject({ status: "closed", closedAt: expect.any(Date) });
    const page = await ws.get(closed.headers["location"]!).expect(200);
    expect(page.text).toContain("Wave closed: its links no longer accept answers.");
    expect(page.text).toContain("Reopen wave");
    // Closing queued the recompute of the flags (speeders against the final median) with it.
    expect(page.text).toContain("Recomputing quality flags now that the wave is closed: waiting to start.");
    await runJobsUntilIdle(ws.db);
    const recomputed = await ws.get(`/waves/${waveId}`).expect(200);
    expect(recomputed.text).toContain("Flags recomputed now that the wave is closed: 0 responses changed.");
    expect((await ws.get(`/waves/${waveId}`, "ru").expect(200)).text).toContain("Волна закрыта, отметки пересчитаны: изменилось 0 анкет.");
    expect((await request(ws.app).get(`/s/${token}`).set("Accept-Language", "ru").expect(410)).text).toContain("Опрос закрыт");
    expect((await request(ws.app).get(`/s/${token}?lang=en`).expect(410)).text).toContain("This survey is closed");
    await request(ws.app).post(`/s/${token}`).type("form").send(validAnswers()).expect(410);

    await ws.post(`/waves/${waveId}/open`).expect(303);
    expect(await waveRow(ws.db, waveId)).toMatchObject({ status: "open", closedAt: null });
    expect((await openLinks(ws.db, waveId)).map((l) => l.token)).toContain(token);
    expect(await openLinks(ws.db, waveId)).toHaveLength(3);
    await request(ws.app).get(`/s/${token}`).expect(200);

    const draft = await addWave(ws, studyId, { kind: "post" });
    await ws.post(`/waves/${draft}/close`).expect(409);
    expect((await waveRow(ws.db, draft)).status).toBe("draft");
  });

  it("saves link settings with http(s) redirect templates and refuses anything else (422)", async () => {
    const ws = await workspace();
    const studyId = await importStudy(ws);
    const waveId = await addWave(ws, studyId);
    await ws.post(`/waves/${waveId}/open`).expect(303);
    const page = await ws.get(`/waves/${waveId}`).expect(200);
    const linkIds = [...page.text.matchAll(new RegExp(`action="/waves/${waveId}/links/(\\d+)"`, "g"))].map((m) => Number(m[1]));
    expect(linkIds.sort()).toEqual((await openLinks(ws.db, waveId)).map((l) => l.id).sort());
    const linkId = linkIds[0]!;
    const link = async () => first(await ws.db.select().from(links).where(eq(links.id, linkId)))!;
    const before = await link();

    const refused: Form[] = [
      { redirectComplete: "javascript:alert(1)" },
      { redirectScreenout: "ftp://panel.example/out?rid={rid}" },
      { redirectQuotaFull: "panel.example/full" },
      { passParams: "panel_id, Bad-Name" },
    ];
    for (const bad of refused) {
      const res = await ws.post(`/waves/${waveId}/links/${linkId}`, { sourceLabel: "Пост", ...bad });
      expect(res.status, JSON.stringify(bad)).toBe(422);
      expect(res.text).toContain("Some values are invalid.");
    }
    expect(await link()).toEqual(before);

    const res = await ws
      .post(`/waves/${waveId}/links/${linkId}`, {
        sourceLabel: "Пост ВКонтакте",
        redirectComplete: "https://panel.example/complete?rid={rid}",
        redirectScreenout: "http://panel.example/screenout?rid={rid}",
        redirectQuotaFull: "",
        redirectQualityFail: "",
        passParams: "panel_id, wave",
        signedParams: "panel_id",
      })
      .expect(303);
    expect(res.headers["location"]).toBe(`/waves/${waveId}?done=link`);
    expect(await link()).toMatchObject({
      sourceLabel: "Пост ВКонтакте",
      redirectComplete: "https://panel.example/complete?rid={rid}",
      redirectScreenout: "http://panel.example/screenout?rid={rid}",
      redirectQuotaFull: null,
      redirectQualityFail: null,
      passParams: ["panel_id", "wave"],
      signedParams: ["panel_id"],
      token: before.token,
    });
    const shown = await ws.get(res.headers["location"]!).expect(200);
    expect(shown.text).toContain("Link settings saved.");
    expect(shown.text).toContain(" · Пост ВКонтакте</h3>");
    expect(formFields(shown.text, `/waves/${waveId}/links/${linkId}`)).toMatchObject({
      sourceLabel: "Пост ВКонтакте",
      redirectComplete: "https://panel.example/complete?rid={rid}",
      passParams: "panel_id, wave",
      signedParams: "panel_id",
    });

    // The respondent who completes through this link is sent to the panel with their id.
    const respondent = request.agent(ws.app);
    const form = await respondent.get(`/s/${before.token}?rid=R42`).expect(200);
    const done = await respondent.post(`/s/${before.token}?rid=R42`).type("form").send({ ...hidden(form.text), ...validAnswers() }).expect(303);
    expect(done.headers["location"]).toBe("https://panel.example/complete?rid=R42");

    // A link of another wave is not found through this one.
    const other = await addWave(ws, studyId, { kind: "post" });
    await ws.post(`/waves/${other}/links/${linkId}`, { sourceLabel: "x" }).expect(404);
    expect((await link()).sourceLabel).toBe("Пост ВКонтакте");
  });

  it("creates personal links and downloads them as CSV with full URLs", async () => {
    const ws = await workspace();
    const studyId = await importStudy(ws);
    const waveId = await addWave(ws, studyId);
    await ws.post(`/waves/${waveId}/open`).expect(303);

    const res = await ws.post(`/waves/${waveId}/personal`, { segment: "inactive", count: "3" }).expect(303);
    expect(res.headers["location"]).toBe(`/waves/${waveId}`);
    // Made in the background: the wave page shows the work waiting, and reloads itself until it is done.
    const waiting = await ws.get(res.headers["location"]!).expect(200);
    expect(waiting.text).toContain("Making personal links: waiting to start.");
    expect(waiting.text).toContain('<meta http-equiv="refresh" content="3">');
    expect((await ws.get(res.headers["location"]!, "ru").expect(200)).text).toContain("Создание персональных ссылок: ждёт начала.");
    // Until they are all made, the list is not offered, and asked for anyway it is refused in the user's language.
    const csvLink = `href="/waves/${waveId}/personal-links.csv"`;
    expect(waiting.text).not.toContain(csvLink);
    expect(waiting.text).toContain("The list of personal links can be downloaded here once they are all made.");
    const early = await ws.get(`/waves/${waveId}/personal-links.csv`).expect(409);
    expect(early.headers["content-disposition"]).toBeUndefined();
    expect(early.text).toContain("The links are still being made");
    expect((await ws.get(`/waves/${waveId}/personal-links.csv`, "ru").expect(409)).text).toContain("Персональные ссылки этой волны ещё создаются.");
    await runJobsUntilIdle(ws.db);
    const made = await ws.get(res.headers["location"]!).expect(200);
    expect(made.text).toContain(csvLink);
    expect(made.text).not.toContain("can be downloaded here once");
    expect(made.text).toContain("3 personal links created.");
    expect(made.text).not.toContain('http-equiv="refresh"');
    const ru = await ws.get(res.headers["location"]!, "ru").expect(200);
    expect(ru.text).toContain("Создано 3 персональные ссылки.");
    expect(ru.text).toContain("использовано 0 из 3");

    const personal = (await ws.db.select().from(links).where(eq(links.waveId, waveId)).orderBy(links.id)).filter((l) => l.kind === "personal");
    expect(personal).toHaveLength(3);
    const inactiveId = (await listSegments(ws.db, studyId)).find((s) => s.key === "inactive")!.id;
    for (const l of personal) expect(l).toMatchObject({ segmentId: inactiveId, uses: 0, token: expect.stringMatching(TOKEN) });

    const csv = await ws.get(`/waves/${waveId}/personal-links.csv`).expect(200);
    expect(csv.headers["content-type"]).toBe("text/csv; charset=utf-8");
    expect(csv.headers["content-disposition"]).toMatch(new RegExp(`^attachment; filename="?wave-${waveId}-personal-links\\.csv"?$`));
    expect(csv.headers["cache-control"]).toBe("no-store");
    expect(csv.text.startsWith("\uFEFF")).toBe(true);
    expect(csv.text.slice(1).split("\r\n")).toEqual([
      "segment,url,token,used",
      ...personal.map((l) => `inactive,http://localhost:3000/s/${l.token},${l.token},no`),
      "",
    ]);
  });

  it("refuses a personal-link count outside 1..10000 or an unknown segment (422), creating nothing", async () => {
    const ws = await workspace();
    const studyId = await importStudy(ws);
    const waveId = await addWave(ws, studyId);
    const before = await rows(ws.db);
    for (const form of [
      { segment: "inactive", count: "0" },
      { segment: "inactive", count: "20000" },
      { segment: "inactive", count: "2.5" },
      { segment: "inactive", count: "" },
      { segment: "nobody", count: "3" },
    ]) {
      const res = await ws.post(`/waves/${waveId}/personal`, form);
      expect(res.status, JSON.stringify(form)).toBe(422);
    }
    expect(await rows(ws.db)).toEqual(before);
    const csv = await ws.get(`/waves/${waveId}/personal-links.csv`).expect(200);
    expect(csv.text).toBe("\uFEFFsegment,url,token,used\r\n");
  });
});

// ------------------------------------------------------------------------------------------------

describe("fieldwork monitoring", () => {
  /** Answers a two-page survey: page one only, or both pages. */
  async function answer(app: Express, token: string, pages: 1 | 2) {
    const { q_aided, q_recall, q_fav, q_feedback } = validAnswers();
    const agent = await respond(app, token, { q_aided: q_aided!, q_recall: q_recall! });
    if (pages === 2) {
      const second = await agent.get(`/s/${token}`).expect(200);
      expect(second.text).toContain('name="q_fav"');
      const done = await agent.post(`/s/${token}`).type("form").send({ ...hidden(second.text), q_fav: q_fav!, q_feedback: q_feedback! }).expect(303);
      expect(done.headers["location"]).toMatch(new RegExp(`^/s/${token}/thanks`));
    }
  }

  it("shows completed, partial, target and progress per segment in progress.json and on the wave page", async () => {
    const ws = await workspace();
    const studyId = await importStudy(ws, brandLiftDefinition({ pageSize: 2 }));
    const waveId = await addWave(ws, studyId, { target_subscribers: "4", target_inactive: "10" });
    await ws.post(`/waves/${waveId}/open`).expect(303);
    const segmentKeys = new Map((await listSegments(ws.db, studyId)).map((s) => [s.id, s.key]));
    const token = async (key: string) => (await openLinks(ws.db, waveId)).find((l) => segmentKeys.get(l.segmentId) === key)!.token;

    await answer(ws.app, await token("subscribers"), 2);
    await answer(ws.app, await token("subscribers"), 2);
    await answer(ws.app, await token("subscribers"), 1);
    expect((await ws.db.select().from(responses)).map((r) => r.status).sort()).toEqual(["completed", "completed", "partial"]);

    const res = await ws.get(`/waves/${waveId}/progress.json`).expect(200);
    expect(res.headers["cache-control"]).toBe("no-store");
    expect(res.body).toEqual({
      wave: { id: waveId, status: "open" },
      segments: [
        {
          segment: "subscribers",
          target: 4,
          completed: 2,
          partial: 1,
          excluded: 0,
          progress: 0.5,
          medianDurationMs: expect.any(Number),
          lastCompletedAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
        },
        { segment: "active_unsubscribed", target: null, completed: 0, partial: 0, excluded: 0, progress: null, medianDurationMs: null, lastCompletedAt: null },
        { segment: "inactive", target: 10, completed: 0, partial: 0, excluded: 0, progress: 0, medianDurationMs: null, lastCompletedAt: null },
      ],
    });

    const cell = (html: string, segment: string, field: string) =>
      new RegExp(`<td data-segment="${segment}" data-field="${field}">([^<]*)</td>`).exec(html)?.[1];
    const page = await ws.get(`/waves/${waveId}`).expect(200);
    expect(page.text).toContain(`data-progress-url="/waves/${waveId}/progress.json"`);
    expect([cell(page.text, "subscribers", "completed"), cell(page.text, "subscribers", "partial"), cell(page.text, "subscribers", "progress")]).toEqual(["2", "1", "50%"]);
    expect([cell(page.text, "inactive", "completed"), cell(page.text, "inactive", "progress")]).toEqual(["0", "0%"]);
    expect(cell(page.text, "active_unsubscribed", "progress")).toBe("—");
    const targets = [...page.text.matchAll(/<th scope="row">([^<]+)<\/th>\s*<td[^>]*>[^<]*<\/td>\s*<td>([^<]*)<\/td>/g)].map((m) => [m[1], m[2]]);
    expect(targets).toEqual([
      ["Subscribers", "4"],
      ["Active, not subscribed", "—"],
      ["Inactive audience", "10"],
    ]);
    const ru = await ws.get(`/waves/${waveId}`, "ru").expect(200);
    expect(cell(ru.text, "subscribers", "progress")).toBe("50\u00a0%");

    const list = await ws.get("/studies").expect(200);
    expect(list.text).toContain("2 responses");
    expect((await ws.get("/studies", "ru").expect(200)).text).toContain("2 ответа");
  });
});

describe("wave targets, archive and escaping", () => {
  it("saves targets and audience sizes of a wave; an emptied field clears it", async () => {
    const ws = await workspace();
    const studyId = await importStudy(ws);
    const waveId = await addWave(ws, studyId, { target_subscribers: "100" });
    const form = formFields((await ws.get(`/waves/${waveId}`).expect(200)).text, `/waves/${waveId}/targets`);
    const res = await ws.post(`/waves/${waveId}/targets`, { ...form, target_subscribers: "", target_inactive: "300", audience_inactive: "5000000" }).expect(303);
    expect(res.headers["location"]).toBe(`/waves/${waveId}?done=targets`);
    expect((await ws.get(res.headers["location"]!).expect(200)).text).toContain("Targets saved.");
    const bySegment = new Map((await ws.db.select().from(waveSegments).where(eq(waveSegments.waveId, waveId))).map((r) => [r.segmentId, [r.target, r.audienceSize]]));
    expect((await listSegments(ws.db, studyId)).map((s) => bySegment.get(s.id))).toEqual([
      [null, null],
      [null, null],
      [300, 5_000_000],
    ]);
    await ws.post(`/waves/${waveId}/targets`, { ...form, target_inactive: "many" }).expect(422);
    expect((await ws.db.select().from(waveSegments)).find((r) => r.target === 300)).toBeDefined();
  });

  it("archives and restores a study", async () => {
    const ws = await workspace();
    const studyId = await importStudy(ws);
    await ws.post(`/studies/${studyId}/archive`, { to: "archived" }).expect(303).expect("Location", `/studies/${studyId}`);
    expect((await findStudy(ws.db, studyId))!.status).toBe("archived");
    // A double submit does not flip it back.
    await ws.post(`/studies/${studyId}/archive`, { to: "archived" }).expect(303);
    expect((await findStudy(ws.db, studyId))!.status).toBe("archived");
    const page = await ws.get(`/studies/${studyId}`).expect(200);
    expect(page.text).toContain("Restore from archive");
    expect((await ws.get("/studies").expect(200)).text).toContain('<td data-label="Status">archived</td>');
    await ws.post(`/studies/${studyId}/archive`, { to: "active" }).expect(303);
    expect((await findStudy(ws.db, studyId))!.status).toBe("active");
    expect((await ws.db.select().from(auditLog)).map((a) => a.action).filter((a) => a.startsWith("study.a") || a.startsWith("study.r"))).toEqual(["study.archive", "study.restore"]);
  });

  it("escapes researcher-entered text on every workspace page", async () => {
    const ws = await workspace();
    const evil = "<img src=x onerror=alert(1)>";
    const studyId = idFrom((await ws.post("/studies/template", { studyName: evil, brand: evil, locale: "en", competitors: evil, advantages: "" }).expect(303)).headers["location"], "studies");
    const waveId = await addWave(ws, studyId, { label: evil });
    await ws.post(`/waves/${waveId}/open`).expect(303);
    for (const url of ["/studies", `/studies/${studyId}`, `/studies/${studyId}/questions`, `/studies/${studyId}/preview`, `/studies/${studyId}/audit`, `/studies/${studyId}/settings`, `/waves/${waveId}`]) {
      const page = await ws.get(url).expect(200);
      expect(page.text, url).not.toContain(evil);
      expect(page.text, url).toContain("&lt;img src=x onerror=alert(1)&gt;");
    }
  });
});

describe("language of the workspace", () => {
  // Was a bug: without an Accept-Language header Express offered "ru" first and DEFAULT_LOCALE never applied.
  it("falls back to DEFAULT_LOCALE=en when the browser states no language", async () => {
    const { app, db } = freshApp({ defaultLocale: "en" });
    const user = await addUser(db, "researcher");
    const agent = await loggedInAgent(app, user.email);
    const page = await agent.get("/studies").expect(200);
    expect(page.text).toContain('<html lang="en">');
  });
});
