import request from "supertest";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { answers, responses, studies } from "../../db/schema.js";
import { createStudyFromDefinition } from "../../server/services/study-setup.js";
import { brandLiftDefinition, openSurvey, validAnswers } from "../fixtures/surveys.js";
import { addUser, csrfFrom, freshApp, loggedInAgent } from "../helpers.js";
import { first } from "../../db/client.js";

/**
 * Issue 13.10: the page size decides which questions share a page, so it is frozen with the rest
 * of the structure once a wave has opened; and no response completes without every required
 * answer of the whole questionnaire, however its pages came to be.
 */

type Agent = ReturnType<typeof request.agent>;

function hidden(html: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of html.matchAll(/<input type="hidden" name="(_\w)" value="([^"]*)">/g)) out[m[1]!] = m[2]!;
  return out;
}

async function openForm(agent: Agent, url: string) {
  const page = await agent.get(url).expect(200);
  return { page, fields: hidden(page.text) };
}

const settings = (pageSize: string) => ({ name: "Spring campaign", brand: "Acme", category: "", publicTitle: "", defaultLocale: "ru", locales: ["ru", "en"], pageSize, campaignCost: "", costCurrency: "" });

describe("page size while a wave is open", () => {
  it("refuses a change with the localized 409 of a frozen questionnaire; the respondent half-way through keeps their pages", async () => {
    const { app, db } = freshApp();
    const researcher = await addUser(db, "researcher");
    const survey = await openSurvey(db, brandLiftDefinition({ pageSize: 2 }));
    const url = `/s/${survey.links["subscribers"]!.token}`;
    const respondent = request.agent(app);
    const a = validAnswers();
    const p1 = await openForm(respondent, url);
    await respondent.post(url).type("form").send({ ...p1.fields, q_aided: a["q_aided"]!, q_recall: a["q_recall"]! }).expect(303);

    const agent = await loggedInAgent(app, researcher.email);
    const page = await agent.get(`/studies/${survey.study.id}/settings?lang=en`).expect(200);
    // The form says why before anyone tries.
    expect(page.text).toMatch(/name="pageSize" type="number" value="2"[\s\S]*?readonly/);
    expect(page.text).toContain("the page size is frozen");
    const csrf = csrfFrom(page.text);
    const refused = await agent.post(`/studies/${survey.study.id}/settings`).set("Accept-Language", "en").type("form").send({ ...settings("3"), _csrf: csrf }).expect(409);
    expect(refused.text).toContain("The questionnaire is frozen");
    const ru = await agent.post(`/studies/${survey.study.id}/settings?lang=ru`).type("form").send({ ...settings(""), _csrf: csrf }).expect(409);
    expect(ru.text).toContain("Анкета заморожена");
    expect(first(await db.select().from(studies).where(eq(studies.id, survey.study.id)))!.pageSize).toBe(2);
    // Other settings still save while the page size stays as it is.
    await agent.post(`/studies/${survey.study.id}/settings`).type("form").send({ ...settings("2"), name: "Renamed", _csrf: csrf }).expect(303);

    // The respondent goes on to page 2 of the same pages and completes with every answer.
    const p2 = await openForm(respondent, url);
    expect(p2.page.text).toContain('name="q_fav"');
    await respondent.post(url).type("form").send({ ...p2.fields, q_fav: "4", q_feedback: "" }).expect(303);
    const [response] = await db.select().from(responses);
    expect(response!.status).toBe("completed");
  });

  it("lets the page size change before any wave has opened", async () => {
    const { app, db } = freshApp();
    const researcher = await addUser(db, "researcher");
    const survey = await openSurvey(db, brandLiftDefinition({ pageSize: 2, name: "Other" }));
    const draft = await createStudyFromDefinition(db, brandLiftDefinition({ pageSize: 2 }), researcher.id);
    expect(survey.study.id).not.toBe(draft.id);
    const agent = await loggedInAgent(app, researcher.email);
    const csrf = csrfFrom((await agent.get(`/studies/${draft.id}/settings`).expect(200)).text);
    await agent.post(`/studies/${draft.id}/settings`).type("form").send({ ...settings("3"), _csrf: csrf }).expect(303);
    expect(first(await db.select().from(studies).where(eq(studies.id, draft.id)))!.pageSize).toBe(3);
  });
});

describe("completing a response", () => {
  it("refuses to complete without a required answer of an earlier page, stores nothing of that post, and shows the page to answer", async () => {
    const { app, db } = freshApp();
    const survey = await openSurvey(db, brandLiftDefinition({ pageSize: 2 }));
    const url = `/s/${survey.links["subscribers"]!.token}`;
    const respondent = request.agent(app);
    const a = validAnswers();
    const p1 = await openForm(respondent, `${url}?lang=en`);
    await respondent.post(url).type("form").send({ ...p1.fields, q_aided: a["q_aided"]!, q_recall: a["q_recall"]! }).expect(303);

    // The pages move under the respondent (as a page-size change did before it was frozen):
    // page 2 is now only the optional feedback, and the required "fav" is on page 1 they passed.
    await db.update(studies).set({ pageSize: 3 }).where(eq(studies.id, survey.study.id));
    const p2 = await openForm(respondent, url);
    expect(p2.page.text).toContain('name="q_feedback"');
    expect(p2.page.text).not.toContain('name="q_fav"');
    const before = await db.select().from(answers);
    const refused = await respondent.post(url).type("form").send({ ...p2.fields, q_feedback: "More videos" }).expect(422);
    expect(refused.text).toContain("Some required questions are still unanswered");
    expect(refused.text).toContain('name="q_fav"');
    expect(refused.text).toMatch(/id="q_fav-error"/);
    const [partial] = await db.select().from(responses);
    expect(partial).toMatchObject({ status: "partial", completedAt: null });
    expect(await db.select().from(answers)).toEqual(before);

    // In Russian too.
    const ru = await respondent.post(`${url}?lang=ru`).type("form").send({ ...p2.fields, _l: "ru", q_feedback: "Больше видео" }).expect(422);
    expect(ru.text).toContain("На некоторые обязательные вопросы ещё нет ответа");

    // Answering the page shown, then the last one, completes with every answer.
    const fix = hidden(refused.text);
    await respondent.post(url).type("form").send({ ...fix, q_aided: a["q_aided"]!, q_recall: a["q_recall"]!, q_fav: "5" }).expect(303);
    const last = await openForm(respondent, url);
    await respondent.post(url).type("form").send({ ...last.fields, q_feedback: "More videos" }).expect(303);
    const [done] = await db.select().from(responses);
    expect(done!.status).toBe("completed");
    expect(await db.select().from(answers).where(eq(answers.responseId, done!.id))).toHaveLength(5);
  });
});
