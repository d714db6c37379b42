import request from "supertest";
import { describe, expect, it } from "vitest";
import { asc, eq } from "drizzle-orm";
import { answers, links, responses, studies } from "../../db/schema.js";
import { setWaveStatus, waveProgress } from "../../db/queries/fieldwork.js";
import { signParams } from "../../server/domain/pass-through.js";
import { translator } from "../../server/i18n/index.js";
import { computeResults, resultsQuery } from "../../server/services/results.js";
import { createWave } from "../../server/services/study-setup.js";
import { brandLiftDefinition, openSurvey, personalLink, validAnswers } from "../fixtures/surveys.js";
import { answerAllPages, freshApp } from "../helpers.js";
import { first } from "../../db/client.js";

type Agent = ReturnType<typeof request.agent>;

/** The hidden fields of the survey form on a page. */
function hidden(html: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of html.matchAll(/<input type="hidden" name="(_\w)" value="([^"]*)">/g)) out[m[1]!] = m[2]!;
  return out;
}

async function openForm(agent: Agent, url: string) {
  const page = await agent.get(url).expect(200);
  return { page, fields: hidden(page.text) };
}

function post(agent: Agent, url: string, fields: Record<string, string>, answersToSend: Record<string, string | string[]>) {
  return agent.post(url).type("form").send({ ...fields, ...answersToSend });
}

// In insertion order: without ORDER BY, PostgreSQL returns updated rows wherever their new version landed.
const all = async (db: ReturnType<typeof freshApp>["db"]) => await db.select().from(responses).orderBy(asc(responses.id));

describe("survey links", () => {
  it("answers an unknown token with a small localized 404 page", async () => {
    const { app } = freshApp();
    const res = await request(app).get("/s/NoSuchTokenAtAll_123").set("Accept-Language", "ru").expect(404);
    expect(res.text).toContain("Опрос не найден");
    expect(Buffer.byteLength(res.text)).toBeLessThan(2_000);
    const en = await request(app).get("/s/NoSuchTokenAtAll_123?lang=en").expect(404);
    expect(en.text).toContain("Survey not found");
  });

  it("answers 410 'closed' for a wave that is not open, in the study's language", async () => {
    const { app, db } = freshApp();
    const survey = await openSurvey(db);
    await setWaveStatus(db, survey.wave.id, "closed", new Date());
    const res = await request(app).get(`/s/${survey.links["subscribers"]!.token}`).expect(410);
    expect(res.text).toContain("Опрос закрыт");
    await request(app).post(`/s/${survey.links["subscribers"]!.token}?lang=en`).type("form").send({}).expect(410);
    const draft = await createWave(db, survey.study.id, "post", "Post");
    expect(draft.status).toBe("draft");
  });
});

describe("survey page", () => {
  it("renders every question accessibly, in the study language, under 20 KB with its CSS", async () => {
    const { app, db } = freshApp();
    const survey = await openSurvey(db);
    const agent = request.agent(app);
    const res = await agent.get(`/s/${survey.links["inactive"]!.token}`).expect(200);
    expect(res.headers["cache-control"]).toBe("no-store");
    expect(res.text).toContain('<html lang="ru">');
    expect(res.text).toContain("Какие бренды вы знаете?");
    expect(res.text.match(/<fieldset/g)).toHaveLength(4);
    expect(res.text.match(/<legend>/g)).toHaveLength(4);
    for (const field of ["q_aided", "q_recall", "q_fav", "q_feedback"]) expect(res.text).toContain(`name="${field}"`);
    // Every choice input sits inside its own label (the whole row is the tap target).
    const inputs = res.text.match(/<input type="(?:radio|checkbox)"/g) ?? [];
    expect(inputs.length).toBeGreaterThan(0);
    expect(res.text.match(/<label class="(?:opt|pt)"><input type="(?:radio|checkbox)"/g)).toHaveLength(inputs.length);
    expect(res.text).not.toMatch(/<script/);

    const cssUrl = /<link rel="stylesheet" href="([^"]+)">/.exec(res.text)![1]!;
    const css = await agent.get(cssUrl).expect(200);
    expect(css.headers["cache-control"]).toContain("immutable");
    expect(Buffer.byteLength(res.text) + Buffer.byteLength(css.text)).toBeLessThan(20_000);
  });

  it("lets the respondent switch to another language of the study", async () => {
    const { app, db } = freshApp();
    const survey = await openSurvey(db);
    const token = survey.links["inactive"]!.token;
    const ru = await request(app).get(`/s/${token}?rid=7`).set("Accept-Language", "en").expect(200);
    expect(ru.text).toContain(`href="/s/${token}?rid=7&amp;lang=en"`);
    const en = await request(app).get(`/s/${token}?rid=7&lang=en`).expect(200);
    expect(en.text).toContain("Which brands do you know?");
    expect(en.text).toContain('name="_l" value="en"');
  });

  it("gzips pages", async () => {
    const { app, db } = freshApp();
    const survey = await openSurvey(db);
    const res = await request(app).get(`/s/${survey.links["inactive"]!.token}`).set("Accept-Encoding", "gzip").expect(200);
    expect(res.headers["content-encoding"]).toBe("gzip");
  });
});

describe("submission", () => {
  it("stores one completed response with its answers, then redirects to the thank-you page", async () => {
    const { app, db } = freshApp();
    const survey = await openSurvey(db);
    const url = `/s/${survey.links["subscribers"]!.token}`;
    const agent = request.agent(app);
    const { fields } = await openForm(agent, url);
    const res = await post(agent, url, fields, validAnswers()).expect(303);
    expect(res.headers["location"]).toBe(`${url}/thanks?lang=ru`);
    const thanks = await agent.get(`${url}/thanks?lang=ru`).expect(200);
    expect(thanks.text).toContain("Спасибо!");

    const [response] = await all(db);
    expect(response).toMatchObject({
      status: "completed",
      waveId: survey.wave.id,
      segmentId: survey.segments[0]!.id,
      locale: "ru",
      currentPage: 0,
    });
    expect(response!.durationMs).toBeGreaterThanOrEqual(0);
    expect(response!.browserHash).toMatch(/^[\w-]{43}$/);
    expect(response!.networkHash).not.toContain("127.0.0.1");
    const rows = await db.select().from(answers).where(eq(answers.responseId, response!.id));
    expect(rows).toHaveLength(5); // two options + single + scale + text
    expect(rows.find((r) => r.valueNumber !== null)?.valueNumber).toBe(4);
    expect(rows.find((r) => r.valueText !== null)?.valueText).toBe("Больше видео");
    expect(first(await db.select().from(links).where(eq(links.id, survey.links["subscribers"]!.id)))!.uses).toBe(1);
  });

  it("stores exactly one response for a double click (same nonce)", async () => {
    const { app, db } = freshApp();
    const survey = await openSurvey(db);
    const url = `/s/${survey.links["subscribers"]!.token}`;
    const agent = request.agent(app);
    const { fields } = await openForm(agent, url);
    const [a, b] = await Promise.all([post(agent, url, fields, validAnswers()), post(agent, url, fields, validAnswers())]);
    expect([a.status, b.status]).toEqual([303, 303]);
    const again = await post(agent, url, fields, validAnswers()).expect(303);
    expect(again.headers["location"]).toBe(`${url}/thanks?lang=ru`);
    expect(await all(db)).toHaveLength(1);
    expect(await db.select().from(answers)).toHaveLength(5);
  });

  it("refuses a forged or missing form token without storing anything", async () => {
    const { app, db } = freshApp();
    const survey = await openSurvey(db);
    const url = `/s/${survey.links["subscribers"]!.token}`;
    const agent = request.agent(app);
    const { fields } = await openForm(agent, url);
    await post(agent, url, { ...fields, _s: "forged" }, validAnswers()).expect(400);
    await post(agent, url, {}, validAnswers()).expect(400);
    const other = `/s/${survey.links["inactive"]!.token}`;
    const res = await post(agent, other, fields, validAnswers()).expect(400);
    expect(res.text).toContain("Откройте опрос заново");
    expect(await all(db)).toHaveLength(0);
  });

  it("claims a personal link once: of 20 simultaneous posts exactly one is stored", async () => {
    const { app, db } = freshApp();
    const survey = await openSurvey(db);
    const link = await personalLink(db, survey);
    const url = `/s/${link.token}`;
    const forms = await Promise.all(Array.from({ length: 20 }, () => openForm(request.agent(app), url)));
    const results = await Promise.all(forms.map(({ fields }) => post(request.agent(app), url, fields, validAnswers())));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 303)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(19);
    expect(results.find((r) => r.status === 409)!.text).toContain("Ответ уже получен");
    expect(await all(db)).toHaveLength(1);
    expect(first(await db.select().from(links).where(eq(links.id, link.id)))!.uses).toBe(1);
    await request(app).get(url).expect(200).expect(/Ответ уже получен/);
  });

  it("keeps one browser from answering an open link's wave twice", async () => {
    const { app, db } = freshApp();
    const survey = await openSurvey(db);
    const url = `/s/${survey.links["subscribers"]!.token}`;
    const agent = request.agent(app);
    const first = await openForm(agent, url);
    const second = await openForm(agent, url);
    await post(agent, url, first.fields, validAnswers()).expect(303);
    const page = await agent.get(url).expect(200);
    expect(page.text).toContain("Ответ уже получен");
    await post(agent, url, second.fields, validAnswers()).expect(409);
    // The same browser through another segment's link of the same wave is the same respondent.
    await agent.get(`/s/${survey.links["inactive"]!.token}`).expect(200).expect(/Ответ уже получен/);
    // Another browser is another respondent.
    const other = request.agent(app);
    const theirs = await openForm(other, url);
    await post(other, url, theirs.fields, validAnswers()).expect(303);
    expect(await all(db)).toHaveLength(2);
  });
});

describe("validation", () => {
  const cases: Array<[string, Record<string, string | string[]>, string, string, string]> = [
    ["a required answer is missing", { q_recall: "" }, "recall", "Ответьте, пожалуйста, на этот вопрос.", "Please answer this question."],
    ["an option is not the question's", { q_recall: "maybe" }, "recall", "Выберите один из предложенных ответов.", "Choose one of the offered answers."],
    ["two answers to a single question", { q_recall: ["yes", "no"] }, "recall", "Выберите только один ответ.", "Choose only one answer."],
    ["'none' is combined with a brand", { q_aided: ["acme", "none"] }, "aided", "«Ни один из них» нельзя сочетать с другими ответами.", "“None of these” cannot be combined with other answers."],
    ["a scale value is out of bounds", { q_fav: "6" }, "fav", "Выберите значение от 1 до 5.", "Choose a value from 1 to 5."],
    ["a scale value is not a number", { q_fav: "4.5" }, "fav", "Выберите значение от 1 до 5.", "Choose a value from 1 to 5."],
    ["a text is too long", { q_feedback: "я".repeat(501) }, "feedback", "Сократите ответ до 500 символов.", "Please shorten your answer to 500 characters."],
  ];

  for (const [what, change, key, ru, en] of cases) {
    it(`re-renders with the message and every answer kept when ${what} (ru, en)`, async () => {
      const { app, db } = freshApp();
      const survey = await openSurvey(db);
      const url = `/s/${survey.links["subscribers"]!.token}`;
      for (const [lang, text] of [["ru", ru], ["en", en]] as const) {
        const agent = request.agent(app);
        const { fields } = await openForm(agent, `${url}?lang=${lang}`);
        const body = { ...validAnswers(), ...change };
        const res = await post(agent, url, fields, body).expect(422);
        expect(res.text).toContain(`<p class="error" id="q_${key}-error">${text.replace(/“|”/g, (c) => c)}</p>`);
        expect(res.text).toMatch(new RegExp(`aria-describedby="q_${key}-error(?: q_${key}-ends)?"`));
        expect(res.text).toContain(`href="#q_${key}"`);
        // Answers that were fine are still there.
        if (key !== "recall") expect(res.text).toMatch(/name="q_recall" value="yes" checked/);
        if (key !== "fav") expect(res.text).toMatch(/name="q_fav" value="4" checked/);
        if (key !== "aided") expect(res.text).toMatch(/name="q_aided" value="rival" checked/);
        if (key === "feedback") expect(res.text).toContain("я".repeat(501));
        // The same form can be fixed and sent.
        await post(agent, url, hidden(res.text), validAnswers()).expect(303);
      }
      expect((await all(db)).every((r) => r.status === "completed")).toBe(true);
      expect(await all(db)).toHaveLength(2);
    });
  }

  it("stores no unknown fields and lets optional questions stay empty", async () => {
    const { app, db } = freshApp();
    const survey = await openSurvey(db);
    const url = `/s/${survey.links["subscribers"]!.token}`;
    const agent = request.agent(app);
    const { fields } = await openForm(agent, url);
    const { q_feedback: _skip, ...rest } = validAnswers();
    await post(agent, url, fields, { ...rest, q_unknown: "x", extra: "y", __proto__: "z" }).expect(303);
    const rows = await db.select().from(answers);
    expect(rows).toHaveLength(4);
    expect(rows.some((r) => r.valueText !== null)).toBe(false);
  });

  it("stores an XSS payload as text and shows it escaped", async () => {
    const { app, db } = freshApp();
    const survey = await openSurvey(db);
    const url = `/s/${survey.links["subscribers"]!.token}`;
    const agent = request.agent(app);
    const { fields } = await openForm(agent, url);
    const payload = `<script>alert("x")</script><img src=x onerror=alert(1)>`;
    const res = await post(agent, url, fields, { ...validAnswers(), q_feedback: payload, q_recall: "" }).expect(422);
    expect(res.text).not.toContain(payload);
    expect(res.text).toContain("&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;");
    await post(agent, url, fields, { ...validAnswers(), q_feedback: payload }).expect(303);
    expect((await db.select().from(answers)).find((a) => a.valueText)?.valueText).toBe(payload);
  });

  it("refuses an oversized body with 413", async () => {
    const { app, db } = freshApp();
    const survey = await openSurvey(db);
    const url = `/s/${survey.links["subscribers"]!.token}`;
    await request(app)
      .post(url)
      .type("form")
      .send({ q_feedback: "x".repeat(300_000) })
      .expect(413);
    expect(await all(db)).toHaveLength(0);
    // Refused before the link is read, the page still speaks the respondent's language.
    for (const [language, locale, words] of [
      ["ru-RU,ru;q=0.9", "ru", "Слишком много данных"],
      ["en-GB,en;q=0.9", "en", "Too much data"],
    ] as const) {
      const page = await request(app).post(url).set("Accept-Language", language).type("form").send({ q_feedback: "x".repeat(300_000) }).expect(413);
      expect(page.text).toContain(`<html lang="${locale}">`);
      expect(page.text).toContain(words);
    }
  });
});

describe("option rotation", () => {
  const order = (html: string) => [...html.matchAll(/name="q_aided" value="(\w+)"/g)].map((m) => m[1]);

  it("shuffles per respondent, keeps the order on reload, pins 'none', and stores the order shown", async () => {
    const { app, db } = freshApp();
    const survey = await openSurvey(db);
    const url = `/s/${survey.links["subscribers"]!.token}`;
    const agent = request.agent(app);
    const first = await openForm(agent, url);
    const reload = await openForm(agent, url);
    expect(order(reload.page.text)).toEqual(order(first.page.text));
    expect(order(first.page.text).at(-1)).toBe("none");

    const orders = new Set<string>();
    for (let i = 0; i < 12; i++) orders.add(order((await request.agent(app).get(url)).text).join());
    expect(orders.size).toBeGreaterThan(1);
    for (const o of orders) expect(o.endsWith(",none")).toBe(true);

    await post(agent, url, first.fields, validAnswers()).expect(303);
    expect((await all(db))[0]!.optionOrder).toEqual({ aided: order(first.page.text) });
  });
});

describe("multi-page surveys", () => {
  it("keeps a partial response server-side and resumes where the respondent left", async () => {
    const { app, db } = freshApp();
    const survey = await openSurvey(db, brandLiftDefinition({ pageSize: 2 }));
    const url = `/s/${survey.links["active_unsubscribed"]!.token}`;
    const agent = request.agent(app);
    const p1 = await openForm(agent, `${url}?lang=en`);
    expect(p1.page.text).toContain("Page 1 of 2");
    expect(p1.page.text).toContain("Question 1 of 4");
    expect(p1.page.text).not.toContain('name="q_fav"');
    const a = validAnswers();
    const next = await post(agent, url, p1.fields, { q_aided: a["q_aided"]!, q_recall: a["q_recall"]! }).expect(303);
    expect(next.headers["location"]).toBe(url);
    expect(await all(db)).toMatchObject([{ status: "partial", currentPage: 1, locale: "en" }]);

    // The tab is closed; the link is opened again later.
    const p2 = await openForm(agent, url);
    expect(p2.page.text).toContain("Page 2 of 2");
    expect(p2.page.text).toContain("Question 3 of 4");
    expect(p2.fields["_n"]).toBe(p1.fields["_n"]);
    // The first page again (a double click) is accepted, not duplicated.
    await post(agent, url, p1.fields, { q_aided: a["q_aided"]!, q_recall: a["q_recall"]! }).expect(303);
    await post(agent, url, p2.fields, { q_fav: "5", q_feedback: "ok" }).expect(303).expect("Location", `${url}/thanks?lang=en`);

    const [response] = await all(db);
    expect(response).toMatchObject({ status: "completed" });
    expect(await db.select().from(answers).where(eq(answers.responseId, response!.id))).toHaveLength(5);
    expect(await all(db)).toHaveLength(1);
  });

  it("resumes a personal link on another device", async () => {
    const { app, db } = freshApp();
    const survey = await openSurvey(db, brandLiftDefinition({ pageSize: 3 }));
    const link = await personalLink(db, survey);
    const url = `/s/${link.token}`;
    const phone = request.agent(app);
    const p1 = await openForm(phone, url);
    await post(phone, url, p1.fields, { q_aided: "acme", q_recall: "no", q_fav: "3" }).expect(303);
    const laptop = request.agent(app);
    const p2 = await openForm(laptop, url);
    expect(p2.page.text).toContain('name="q_feedback"');
    await post(laptop, url, p2.fields, { q_feedback: "" }).expect(303);
    expect(await all(db)).toMatchObject([{ status: "completed" }]);
  });
});

describe("quotas", () => {
  it("sends new respondents to the quota-full page once the target is reached", async () => {
    const { app, db } = freshApp();
    const survey = await openSurvey(db, brandLiftDefinition(), { subscribers: 1 });
    const url = `/s/${survey.links["subscribers"]!.token}`;
    const early = request.agent(app);
    const late = request.agent(app);
    const lateForm = await openForm(late, url);
    const earlyForm = await openForm(early, url);
    await post(early, url, earlyForm.fields, validAnswers()).expect(303);

    const page = await request.agent(app).get(url).expect(200);
    expect(page.text).toContain("Ответов пока достаточно");
    const res = await post(late, url, lateForm.fields, validAnswers()).expect(200);
    expect(res.text).toContain("Ответов пока достаточно");
    expect((await all(db)).filter((r) => r.status === "completed")).toHaveLength(1);
    // Other segments are not affected.
    await request.agent(app).get(`/s/${survey.links["inactive"]!.token}`).expect(200).expect(/name="q_aided"/);
  });

  it("checks the quota again as a response completes: target 3, ten respondents past page 1 of 2 → 3 completed, 7 quota_full", async () => {
    const { app, db } = freshApp();
    const survey = await openSurvey(db, brandLiftDefinition({ pageSize: 2 }), { subscribers: 3 });
    const url = `/s/${survey.links["subscribers"]!.token}`;
    const a = validAnswers();
    // Ten browsers (own cookie and user agent), each past page 1 while nobody has completed yet.
    const respondents = Array.from({ length: 10 }, (_, i) => request.agent(app).set("User-Agent", `respondent ${i}`));
    for (const agent of respondents) {
      const p1 = await openForm(agent, url);
      await post(agent, url, p1.fields, { q_aided: a["q_aided"]!, q_recall: a["q_recall"]! }).expect(303).expect("Location", url);
    }
    expect((await all(db)).map((r) => r.status)).toEqual(Array(10).fill("partial"));

    const lastPages = await Promise.all(respondents.map((agent) => openForm(agent, url)));
    const ends = await Promise.all(respondents.map((agent, i) => post(agent, url, lastPages[i]!.fields, { q_fav: "4", q_feedback: "ok" })));
    const thanked = ends.filter((r) => r.status === 303 && r.headers["location"] === `${url}/thanks?lang=ru`);
    const stopped = ends.filter((r) => r.status === 200 && r.text.includes("Ответов пока достаточно"));
    expect([thanked.length, stopped.length]).toEqual([3, 7]);

    const stored = await all(db);
    expect(stored.filter((r) => r.status === "completed")).toHaveLength(3);
    const quotaFull = stored.filter((r) => r.status === "quota_full");
    expect(quotaFull).toHaveLength(7);
    // Their answers are kept (five rows each: two aided options, recall, fav, feedback), not counted.
    for (const r of quotaFull) {
      expect(await db.select().from(answers).where(eq(answers.responseId, r.id))).toHaveLength(5);
      expect(r.completedAt).toBeNull();
    }

    // Fieldwork and results count the three completes only; the quota-fulls are not partials either.
    const progress = (await waveProgress(db, survey.wave.id)).find((p) => p.segmentId === survey.links["subscribers"]!.segmentId)!;
    expect(progress).toMatchObject({ completed: 3, partial: 0 });
    await createWave(db, survey.study.id, "post", "Post");
    const results = await computeResults(db, first(await db.select().from(studies))!, resultsQuery.parse({}), "en", translator("en"));
    if (results === "no_waves") throw new Error("expected results");
    expect(results.respondents.find((r) => r.waveId === survey.wave.id && r.segmentId === progress.segmentId)).toMatchObject({ n: 3 });
    const aided = results.counts.find((c) => c.metric === "aided_awareness" && c.segment === "subscribers" && c.wave === String(survey.wave.id));
    expect(aided).toMatchObject({ x: 3, n: 3 });
    expect(results.bases.find((b) => b.metric === "aided_awareness" && b.segment === "subscribers" && b.waveId === survey.wave.id)).toMatchObject({
      n: 3,
      partial: 0,
      leftOut: 0,
    });

    // A stopped respondent who reloads, or retries the last post, sees the quota-full page again.
    const late = respondents[ends.findIndex((r) => r.status === 200)]!;
    expect((await late.get(url).expect(200)).text).toContain("Ответов пока достаточно");
    const retry = await post(late, url, lastPages[ends.findIndex((r) => r.status === 200)]!.fields, { q_fav: "4", q_feedback: "ok" }).expect(200);
    expect(retry.text).toContain("Ответов пока достаточно");
    expect((await all(db)).filter((r) => r.status === "completed")).toHaveLength(3);
  });

  it("sends a respondent stopped at the last page to the panel's quota-full address with their {rid}", async () => {
    const { app, db } = freshApp();
    const survey = await openSurvey(db, brandLiftDefinition({ pageSize: 2 }), { subscribers: 1 });
    const link = survey.links["subscribers"]!;
    await db.update(links)
      .set({ redirectQuotaFull: "https://panel.example/q?status=full&id={rid}", redirectComplete: "https://panel.example/ok?id={rid}" })
      .where(eq(links.id, link.id));
    const a = validAnswers();
    const [first, second] = [request.agent(app), request.agent(app)];
    for (const [agent, rid] of [[first, "r1"], [second, "r2"]] as const) {
      const p1 = await openForm(agent, `/s/${link.token}?rid=${rid}`);
      await post(agent, `/s/${link.token}?rid=${rid}`, p1.fields, { q_aided: a["q_aided"]!, q_recall: a["q_recall"]! }).expect(303);
    }
    const p2second = await openForm(second, `/s/${link.token}?rid=r2`);
    const p2first = await openForm(first, `/s/${link.token}?rid=r1`);
    await post(second, `/s/${link.token}?rid=r2`, p2second.fields, { q_fav: "5" }).expect(303).expect("Location", "https://panel.example/ok?id=r2");
    await post(first, `/s/${link.token}?rid=r1`, p2first.fields, { q_fav: "5" })
      .expect(303)
      .expect("Location", "https://panel.example/q?status=full&id=r1");
    expect((await all(db)).map((r) => [r.params?.["rid"], r.status])).toEqual([
      ["r1", "quota_full"],
      ["r2", "completed"],
    ]);
  });

  it("keeps a personal link stopped by the quota at its last page used: it shows the quota-full page, never the survey again", async () => {
    const { app, db } = freshApp();
    const survey = await openSurvey(db, brandLiftDefinition({ pageSize: 2 }), { subscribers: 1 });
    const personal = await personalLink(db, survey);
    const url = `/s/${personal.token}`;
    const a = validAnswers();
    const phone = request.agent(app);
    const p1 = await openForm(phone, url);
    await post(phone, url, p1.fields, { q_aided: a["q_aided"]!, q_recall: a["q_recall"]! }).expect(303);
    // Meanwhile someone else fills the segment's quota through the open link.
    const done = await answerAllPages(request.agent(app), `/s/${survey.links["subscribers"]!.token}`, a);
    expect(done.headers["location"]).toContain("/thanks");

    const p2 = await openForm(phone, url);
    expect((await post(phone, url, p2.fields, { q_fav: "4" }).expect(200)).text).toContain("Ответов пока достаточно");
    const mine = (await all(db)).find((r) => r.linkId === personal.id)!;
    expect(mine.status).toBe("quota_full");
    expect(first(await db.select().from(links).where(eq(links.id, personal.id)))!.uses).toBe(1);
    // Another device, later: the quota-full page, and a fresh form cannot start it again.
    const laptop = request.agent(app);
    const again = await laptop.get(url).expect(200);
    expect(again.text).toContain("Ответов пока достаточно");
    expect(again.text).not.toContain('name="q_aided"');
    expect((await all(db)).filter((r) => r.status === "completed")).toHaveLength(1);
  });

  it("redirects to the panel's quota-full address with {rid} encoded", async () => {
    const { app, db } = freshApp();
    const survey = await openSurvey(db, brandLiftDefinition(), { subscribers: 0 });
    const link = survey.links["subscribers"]!;
    await db.update(links).set({ redirectQuotaFull: "https://panel.example/q?status=full&id={rid}" }).where(eq(links.id, link.id));
    await request(app)
      .get(`/s/${link.token}?rid=a%20b%26c`)
      .expect(303)
      .expect("Location", "https://panel.example/q?status=full&id=a%20b%26c");
  });
});

describe("pass-through parameters and panel exits", () => {
  it("stores whitelisted parameters only and redirects a complete with {rid} encoded", async () => {
    const { app, db } = freshApp();
    const survey = await openSurvey(db);
    const link = survey.links["inactive"]!;
    await db.update(links)
      .set({ redirectComplete: "https://panel.example/done?id={rid}&s=1", passParams: ["panel_id"] })
      .where(eq(links.id, link.id));
    const url = `/s/${link.token}?rid=r%2F1%20x&utm_source=vk&utm_campaign=spring&panel_id=9&evil=1&__proto__=x`;
    const agent = request.agent(app);
    const { page, fields } = await openForm(agent, url);
    expect(page.text).toContain(`action="/s/${link.token}?rid=r%2F1+x&amp;utm_source=vk`);
    const action = /action="([^"]+)"/.exec(page.text)![1]!.replace(/&amp;/g, "&");
    const res = await post(agent, action, fields, validAnswers()).expect(303);
    expect(res.headers["location"]).toBe("https://panel.example/done?id=r%2F1%20x&s=1");
    expect((await all(db))[0]!.params).toEqual({ rid: "r/1 x", utm_source: "vk", utm_campaign: "spring", panel_id: "9" });
  });

  it("refuses a signed parameter whose signature is wrong, accepts the right one", async () => {
    const { app, db } = freshApp();
    const survey = await openSurvey(db);
    const link = survey.links["inactive"]!;
    await db.update(links).set({ signedParams: ["rid"] }).where(eq(links.id, link.id));
    const secret = first(await db.select().from(studies))!.signingSecret;
    const good = signParams(secret, { rid: "42" }, ["rid"]);

    const bad = await request(app).get(`/s/${link.token}?rid=43&sig=${good}`).expect(403);
    expect(bad.text).toContain("Недействительная ссылка");
    await request(app).get(`/s/${link.token}?rid=42`).expect(403);

    const agent = request.agent(app);
    const url = `/s/${link.token}?rid=42&sig=${good}`;
    const { fields } = await openForm(agent, url);
    await post(agent, url, fields, validAnswers()).expect(303);
    // Tampering between page and post is refused too, and stores nothing more.
    await post(request.agent(app), `/s/${link.token}?rid=43&sig=${good}`, fields, validAnswers()).expect(403);
    expect(await all(db)).toHaveLength(1);
    expect((await all(db))[0]!.params).toEqual({ rid: "42" });
  });
});

describe("bots", () => {
  it("flags a filled honeypot and sends it to the quality-fail exit", async () => {
    const { app, db } = freshApp();
    const survey = await openSurvey(db);
    const link = survey.links["inactive"]!;
    await db.update(links).set({ redirectQualityFail: "https://panel.example/bad?id={rid}" }).where(eq(links.id, link.id));
    const agent = request.agent(app);
    const url = `/s/${link.token}?rid=5`;
    const { fields } = await openForm(agent, url);
    await post(agent, url, fields, { ...validAnswers(), website: "http://spam" })
      .expect(303)
      .expect("Location", "https://panel.example/bad?id=5");
    expect((await all(db))[0]!.qualityFlags).toEqual([{ code: "honeypot" }]);
  });

  it("sends a honeypot filled on the last page of a multi-page survey to the quality-fail exit, flagged once", async () => {
    const { app, db } = freshApp();
    const survey = await openSurvey(db, brandLiftDefinition({ pageSize: 2 }));
    const link = survey.links["inactive"]!;
    await db.update(links)
      .set({ redirectQualityFail: "https://panel.example/bad?id={rid}", redirectComplete: "https://panel.example/ok?id={rid}" })
      .where(eq(links.id, link.id));
    const agent = request.agent(app);
    const url = `/s/${link.token}?rid=7`;
    const p1 = await openForm(agent, url);
    await post(agent, url, p1.fields, { q_aided: "acme", q_recall: "yes" }).expect(303);
    const p2 = await openForm(agent, url);
    await post(agent, url, p2.fields, { q_fav: "4", website: "spam" }).expect(303).expect("Location", "https://panel.example/bad?id=7");
    // A retry of the same post finds the stored decision.
    await post(agent, url, p2.fields, { q_fav: "4", website: "spam" }).expect(303).expect("Location", "https://panel.example/bad?id=7");
    expect((await all(db))[0]!.qualityFlags!.filter((f) => f.code === "honeypot")).toHaveLength(1);
  });

  it("rate-limits survey posts per address", async () => {
    const { app, db } = freshApp({ surveyPostLimit: 3 });
    const survey = await openSurvey(db);
    const url = `/s/${survey.links["inactive"]!.token}`;
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await request(app).post(url).type("form").send({})).status);
    expect(statuses).toEqual([400, 400, 400, 429]);
  });
});
