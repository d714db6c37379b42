import request from "supertest";
import { describe, expect, it } from "vitest";
import type { Express } from "express";
import { loadQuestionnaire } from "../../db/queries/questionnaire.js";
import { findStudy, listSegments } from "../../db/queries/studies.js";
import { setWaveStatus } from "../../db/queries/fieldwork.js";
import type { Db } from "../../db/client.js";
import { toDefinition } from "../../server/domain/definition-export.js";
import { studyDefinition } from "../../server/domain/study-definition.js";
import { brandLiftTemplate } from "../../server/domain/template.js";
import { demoDefinition } from "../../server/demo/create.js";
import { DEMO_BRAND, DEMO_COMPETITORS } from "../../server/demo/texts.js";
import { primingProblems } from "../../server/domain/priming.js";
import { createApiToken } from "../../server/services/accounts.js";
import { brandLiftDefinition, openSurvey } from "../fixtures/surveys.js";
import { addUser, csrfFrom, freshApp, loggedInAgent } from "../helpers.js";

/**
 * Surveys that do not prime their answers (issue 11, item 9): page breaks, the unaided question
 * alone before anything that names a brand, a neutral title on every respondent page, and the
 * builder's warnings.
 */

type Form = Record<string, string | string[]>;
type Lang = "en" | "ru";

const BRAND = "Бодрость";
const COMPETITORS = ["Зёрнышко", "Кофеин Плюс"];

async function signIn(app: Express, db: Db) {
  const user = await addUser(db, "researcher");
  const agent = await loggedInAgent(app, user.email);
  const csrf = csrfFrom((await agent.get("/studies").expect(200)).text);
  const get = (url: string, lang: Lang = "en") => agent.get(url).set("Accept-Language", lang);
  const post = (url: string, form: Form = {}, lang: Lang = "en") => agent.post(url).type("form").set("Accept-Language", lang).send({ ...form, _csrf: csrf });
  return { user, get, post };
}

async function workspace() {
  const { app, db } = freshApp();
  return { app, db, ...(await signIn(app, db)) };
}
type Workspace = Awaited<ReturnType<typeof workspace>>;

function studyIdFrom(location: string | undefined): number {
  const match = /^\/studies\/(\d+)/.exec(location ?? "");
  if (!match) throw new Error(`no study id in ${location}`);
  return Number(match[1]);
}

async function importStudy(ws: Workspace, def: object): Promise<number> {
  return studyIdFrom((await ws.post("/studies/import", { definition: JSON.stringify(def) }).expect(303)).headers["location"]);
}

function hidden(html: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of html.matchAll(/<input type="hidden" name="(_\w)" value="([^"]*)">/g)) out[m[1]!] = m[2]!;
  return out;
}

const titleOf = (html: string) => /<title>([^<]*)<\/title>/.exec(html)?.[1];
const warningsOf = (html: string) => {
  const section = /<section class="priming-warnings"[\s\S]*?<\/section>/.exec(html)?.[0] ?? "";
  return [...section.matchAll(/<li>([\s\S]*?)<\/li>/g)].map((m) => m[1]!);
};

/** The template study for Бодрость with a page size that would otherwise put everything on one page. */
function templateSurvey(db: Db, locale: Lang = "ru") {
  const def = brandLiftTemplate({ studyName: `Весна ${BRAND}`, brand: BRAND, category: "кофейни", locale, competitors: COMPETITORS, advantages: ["Свежая обжарка"] });
  return openSurvey(db, { ...def, pageSize: 20 });
}

describe("respondent pages", () => {
  it("shows the template's unaided question alone on the first page: no brand, no competitor, no aided list, a neutral title", async () => {
    const { app, db } = freshApp();
    const survey = await templateSurvey(db);
    const url = `/s/${survey.links["inactive"]!.token}`;
    const agent = request.agent(app);
    for (const lang of ["ru", "en"]) {
      const first = await agent.get(`${url}?lang=${lang}`).expect(200);
      expect(first.text.match(/<fieldset id="q_/g)).toEqual(['<fieldset id="q_']);
      expect(first.text).toContain('name="q_unaided"');
      expect(first.text).not.toContain('name="q_aided"');
      for (const name of [BRAND, ...COMPETITORS, "Весна"]) expect(first.text, name).not.toContain(name);
      expect(titleOf(first.text)).toBe("Опрос: кофейни");
      expect(first.text).toContain("<h1>Опрос: кофейни</h1>");
    }

    // Answered, the next page brings the aided list with the brand.
    const first = await agent.get(url).expect(200);
    // A page size of 20 would hold all ten: the unaided question ends its page all the same (and
    // the profile questions are on a page of their own, last).
    expect(first.text).toContain("Страница 1 из 3");
    await agent.post(url).type("form").send({ ...hidden(first.text), q_unaided: "Зёрнышко, Бодрость" }).expect(303).expect("Location", url);
    const second = await agent.get(url).expect(200);
    expect(second.text).toContain('name="q_aided"');
    expect(second.text).toContain(BRAND);
    expect(titleOf(second.text)).toBe("Опрос: кофейни");
  });

  it("titles message pages with the public title, or a generic one, never the study's name or brand", async () => {
    const { app, db } = freshApp();
    const titled = await templateSurvey(db);
    const plain = await openSurvey(db, brandLiftDefinition({ name: "Acme spring", brand: "Acme" }));

    const open = await request(app).get(`/s/${plain.links["inactive"]!.token}?lang=en`).expect(200);
    expect(titleOf(open.text)).toBe("Survey");
    expect(open.text).toContain("<h1>Survey</h1>");
    expect(open.text).not.toContain("Acme spring");
    expect(titleOf((await request(app).get(`/s/${plain.links["inactive"]!.token}`).expect(200)).text)).toBe("Опрос");

    const thanks = await request(app).get(`/s/${titled.links["inactive"]!.token}/thanks?lang=ru`).expect(200);
    expect(titleOf(thanks.text)).toBe("Опрос: кофейни");
    expect(thanks.text).toContain("Спасибо!");
    expect(thanks.text).not.toContain(BRAND);

    await setWaveStatus(db, titled.wave.id, "closed", new Date());
    const closed = await request(app).get(`/s/${titled.links["inactive"]!.token}`).expect(410);
    expect(titleOf(closed.text)).toBe("Опрос: кофейни");
    expect(closed.text).toContain("Опрос закрыт");

    const unknown = await request(app).get("/s/NoSuchTokenAtAll_123?lang=en").expect(404);
    expect(titleOf(unknown.text)).toBe("Survey");
  });

  it("breaks pages where the questionnaire says, together with the page size", async () => {
    const { app, db } = freshApp();
    const def = brandLiftDefinition({ pageSize: 3 });
    // A break after the first question: [aided] [recall fav feedback].
    const survey = await openSurvey(db, { ...def, questions: def.questions.map((q, i) => (i === 0 ? { ...q, pageBreakAfter: true } : q)) });
    const url = `/s/${survey.links["subscribers"]!.token}?lang=en`;
    const agent = request.agent(app);
    const p1 = await agent.get(url).expect(200);
    expect(p1.text).toContain("Page 1 of 2");
    expect(p1.text.match(/<fieldset id="q_/g)).toHaveLength(1);
    await agent.post(url).type("form").send({ ...hidden(p1.text), q_aided: "acme" }).expect(303);
    const p2 = await agent.get(url).expect(200);
    expect(p2.text).toContain("Page 2 of 2");
    expect(p2.text).toContain("Question 2 of 4");
    expect(p2.text.match(/<fieldset id="q_/g)).toHaveLength(3);
  });
});

describe("the demo study", () => {
  it("has a neutral public title, the unaided question alone on page 1 and no priming problem", async () => {
    for (const locale of ["ru", "en"] as const) {
      const { db } = freshApp();
      const survey = await openSurvey(db, demoDefinition(locale));
      const study = (await findStudy(db, survey.study.id))!;
      expect(study.publicTitle).toBe(locale === "ru" ? "Опрос: кофейни" : "Survey: coffee shops");
      for (const name of [DEMO_BRAND, ...DEMO_COMPETITORS]) expect(study.publicTitle).not.toContain(name);
      expect(primingProblems(study, await loadQuestionnaire(db, study.id))).toEqual([]);
    }
  });
});

describe("study definition JSON", () => {
  const withBreaks = () => {
    const json = JSON.parse(JSON.stringify(brandLiftDefinition({ publicTitle: "Опрос о кофейнях" }))) as { questions: object[] } & Record<string, unknown>;
    const [aided, recall, fav, feedback] = json.questions;
    return { ...json, questions: [aided, { type: "page_break" }, recall, fav, { type: "page_break" }, feedback] };
  };

  it("stores page breaks on the question before them and exports them back as elements, with the public title", async () => {
    const ws = await workspace();
    const def = withBreaks();
    const studyId = await importStudy(ws, def);
    expect((await findStudy(ws.db, studyId))!.publicTitle).toBe("Опрос о кофейнях");
    expect((await loadQuestionnaire(ws.db, studyId)).map((q) => [q.key, q.pageBreakAfter])).toEqual([
      ["aided", true],
      ["recall", false],
      ["fav", true],
      ["feedback", false],
    ]);

    const exported = JSON.parse((await ws.get(`/studies/${studyId}/export.json`).expect(200)).text);
    expect(exported.publicTitle).toBe("Опрос о кофейнях");
    expect(exported.questions).toEqual(def.questions);
    const again = await importStudy(ws, exported);
    const definitionOf = async (id: number) => toDefinition((await findStudy(ws.db, id))!, await listSegments(ws.db, id), await loadQuestionnaire(ws.db, id));
    expect(await definitionOf(again)).toEqual(await definitionOf(studyId));
  });

  it("exports the template's page break after the unaided question and drops one after the last question", () => {
    const def = brandLiftTemplate({ studyName: "S", brand: BRAND, category: "", locale: "en" });
    expect(def.publicTitle).toBe("Brand survey");
    const parsed = studyDefinition.parse({ ...JSON.parse(JSON.stringify(def)), questions: [{ key: "a", type: "text", text: { en: "?" } }, { type: "page_break" }] });
    expect(parsed.questions).toEqual([{ key: "a", type: "text", text: { en: "?" }, required: true, randomize: false }]);
  });

  const invalid: Array<[string, (qs: object[]) => object[], string, string]> = [
    ["a page break before any question", (qs) => [{ type: "page_break" }, ...qs], "questions[0]", "a page break must follow a question"],
    ["two page breaks in a row", (qs) => [qs[0]!, { type: "page_break" }, { type: "page_break" }, ...qs.slice(1)], "questions[2]", "two page breaks in a row: remove one"],
    ["a page break with other fields", (qs) => [qs[0]!, { type: "page_break", key: "x" }, ...qs.slice(1)], "questions[1].key", "unknown field"],
  ];

  it.each(invalid)("refuses %s with 422 and a message that says where", async (_name, change, path, message) => {
    const ws = await workspace();
    const json = JSON.parse(JSON.stringify(brandLiftDefinition())) as { questions: object[] };
    const def = { ...json, questions: change(json.questions) };
    const page = await ws.post("/studies/import", { definition: JSON.stringify(def) }).expect(422);
    expect(page.text).toContain(path);
    expect(page.text).toContain(message);

    const token = (await createApiToken(ws.db, ws.user.id, "t")).token;
    const api = await request(ws.app).post("/api/studies").set("Authorization", `Bearer ${token}`).send(def).expect(422);
    expect(JSON.stringify(api.body)).toContain(path);
    expect(JSON.stringify(api.body)).toContain(message);
  });
});

describe("builder", () => {
  /** Brand named before the unaided question, ad recall before the aided list, a title naming the brand. */
  const primingDefinition = () => ({
    name: "Осень",
    brand: "Acme",
    locale: "en",
    publicTitle: "Acme survey",
    questions: [
      { key: "fav", type: "scale", min: 1, max: 5, text: { ru: "Как вы относитесь к бренду «Акме»?", en: "How do you feel about ACME?" }, metric: { name: "favorability", positive: [4, 5] } },
      { key: "unaided", type: "text", text: { ru: "Какие бренды вы знаете?", en: "Which brands do you know?" }, metric: { name: "unaided_awareness", match: ["Acme", "Акме"] } },
      {
        key: "recall",
        type: "single",
        text: { ru: "Видели ли вы рекламу?", en: "Have you seen ads of these brands?" },
        options: [
          { key: "yes", text: { en: "Yes" } },
          { key: "no", text: { en: "No" } },
        ],
        metric: { name: "ad_recall", positive: ["yes"] },
      },
      {
        key: "aided",
        type: "multi",
        text: { ru: "Какие из этих брендов вы знаете?", en: "Which of these brands do you know?" },
        options: [
          { key: "acme", text: { en: "Acme" } },
          { key: "rival", text: { en: "Rival" } },
        ],
        metric: { name: "aided_awareness", positive: ["acme"] },
      },
    ],
  });

  it("warns in both languages when the questionnaire primes, and stops when it is fixed", async () => {
    const ws = await workspace();
    const studyId = await importStudy(ws, primingDefinition());
    const list = `/studies/${studyId}/questions`;

    const en = warningsOf((await ws.get(list).expect(200)).text);
    expect(en).toHaveLength(3);
    expect(en[0]).toContain("“Acme survey”, names Acme");
    expect(en[1]).toContain("Before answering the unaided question (question 2 “Which brands do you know?”), respondents see Acme (question 1 “How do you feel about ACME?”)");
    expect(en[2]).toContain("The ad recall question (question 3 “Have you seen ads of these brands?”) comes before an awareness question (question 4 “Which of these brands do you know?”)");
    const ru = warningsOf((await ws.get(list, "ru").expect(200)).text);
    expect(ru).toHaveLength(3);
    expect(ru[1]).toContain("До ответа на вопрос о спонтанном знании (вопрос 2 «Какие бренды вы знаете?»)");
    // People read sentences, never metric keys.
    for (const w of [...en, ...ru]) expect(w).not.toMatch(/[a-z]+_[a-z]+/);

    // Fix one rule after another; each warning goes away.
    await ws.post(`/studies/${studyId}/settings`, { name: "Осень", brand: "Acme", category: "", publicTitle: "Brand survey", defaultLocale: "en", locales: ["en", "ru"], pageSize: "", campaignCost: "", costCurrency: "" }).expect(303);
    expect((await findStudy(ws.db, studyId))!.publicTitle).toBe("Brand survey");
    expect(warningsOf((await ws.get(list).expect(200)).text)).toHaveLength(2);
    await ws.post(`${list}/fav/move`, { direction: "down" }).expect(303);
    expect(warningsOf((await ws.get(list).expect(200)).text)).toHaveLength(1);
    await ws.post(`${list}/recall/move`, { direction: "down" }).expect(303);
    const fixed = (await ws.get(list).expect(200)).text;
    expect(warningsOf(fixed)).toEqual([]);
    expect(fixed).not.toContain("The questionnaire may prompt the answers");
    // The unaided question's forced break is shown in the list.
    expect(fixed).toContain("New page: an unaided awareness question always ends its page");

    // The unaided question moved after the aided list is flagged.
    await ws.post(`${list}/aided/move`, { direction: "up" }).expect(303);
    await ws.post(`${list}/aided/move`, { direction: "up" }).expect(303);
    await ws.post(`${list}/aided/move`, { direction: "up" }).expect(303);
    const wrong = warningsOf((await ws.get(list).expect(200)).text);
    expect(wrong.some((w) => w.startsWith("The unaided question (question 2 “Which brands do you know?”) comes after the list of brands (question 1"))).toBe(true);
  });

  it("adds and removes a page break after a question, from the list and from the editor, only before fieldwork", async () => {
    const ws = await workspace();
    const studyId = await importStudy(ws, brandLiftDefinition());
    const list = `/studies/${studyId}/questions`;
    const breaks = async () => (await loadQuestionnaire(ws.db, studyId)).map((q) => q.pageBreakAfter);

    expect((await ws.get(list).expect(200)).text).toContain("Add a page break below");
    await ws.post(`${list}/recall/page-break`, { on: "1" }).expect(303);
    expect(await breaks()).toEqual([false, true, false, false]);
    const page = (await ws.get(list, "ru").expect(200)).text;
    expect(page).toContain("Разрыв страницы");
    expect(page).toContain("Убрать разрыв страницы");
    await ws.post(`${list}/recall/page-break`, { on: "0" }).expect(303);
    expect(await breaks()).toEqual([false, false, false, false]);

    // The editor's checkbox: ticked by the stored break, and saved with the question.
    const form = {
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
    };
    await ws.post(`${list}/fav`, { ...form, page_break_after: "1" }).expect(303).expect("Location", `${list}?done=saved`);
    expect(await breaks()).toEqual([false, false, true, false]);
    expect((await ws.get(`${list}/fav/edit`).expect(200)).text).toMatch(/name="page_break_after" value="1" checked/);
    await ws.post(list, { ...form, key: "fav2", page_break_after: "1" }).expect(303);
    expect(await breaks()).toEqual([false, false, true, false, true]);
    await ws.post(`${list}/fav`, form).expect(303);
    expect(await breaks()).toEqual([false, false, false, false, true]);

    // Once a wave has opened, breaks are structure: frozen like the order.
    const wave = await ws.post(`/studies/${studyId}/waves`, { kind: "pre", label: "" }).expect(303);
    await ws.post(`${wave.headers["location"]}/open`).expect(303);
    await ws.post(`${list}/recall/page-break`, { on: "1" }).expect(409);
    await ws.post(`${list}/fav`, { ...form, page_break_after: "1" }).expect(409);
    expect(await breaks()).toEqual([false, false, false, false, true]);
    expect((await ws.get(list).expect(200)).text).not.toContain("Add a page break below");
  });

  it("saves the public title in the study settings and shows it to respondents", async () => {
    const ws = await workspace();
    const studyId = await importStudy(ws, brandLiftDefinition());
    const settings = (await ws.get(`/studies/${studyId}/settings`, "ru").expect(200)).text;
    expect(settings).toContain("Название для респондентов");
    const form = { name: "Spring campaign", brand: "Acme", category: "", publicTitle: "  Опрос о кофейнях ", defaultLocale: "ru", locales: ["ru", "en"], pageSize: "", campaignCost: "", costCurrency: "" };
    await ws.post(`/studies/${studyId}/settings`, form).expect(303);
    expect((await findStudy(ws.db, studyId))!.publicTitle).toBe("Опрос о кофейнях");
    const preview = await ws.get(`/studies/${studyId}/preview`).expect(200);
    expect(titleOf(preview.text)).toBe("Опрос о кофейнях");
    await ws.post(`/studies/${studyId}/settings`, { ...form, publicTitle: "" }).expect(303);
    expect((await findStudy(ws.db, studyId))!.publicTitle).toBeNull();
  });
});
