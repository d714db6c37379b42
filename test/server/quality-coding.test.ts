import request from "supertest";
import { describe, expect, it } from "vitest";
import { eq } from "drizzle-orm";
import { answers, auditLog, questions, responses, textAliases, textMentions } from "../../db/schema.js";
import { compileCodebook, codeMentions, codeText, normalizeText, typoAllowance } from "../../server/domain/text-coding.js";
import { brandLiftTemplate } from "../../server/domain/template.js";
import { reviewQueue } from "../../server/quality/coding.js";
import { osaDistance } from "../../server/quality/distance.js";
import { cyrillicToLatin, latinToCyrillic, phoneticKey, stripCaseEnding } from "../../server/quality/transliteration.js";
import { translator } from "../../server/i18n/index.js";
import { computeResults, resultsQuery } from "../../server/services/results.js";
import { MENTION_CASES, MENTION_CODES } from "../fixtures/quality/mentions.js";
import { goodAnswers, insertQualityResponse, templateStudy } from "../fixtures/quality/responses.js";
import { openSurvey } from "../fixtures/surveys.js";
import { addUser, answerAllPages, csrfFrom, freshApp, loggedInAgent } from "../helpers.js";
import { first } from "../../db/client.js";
import { runJobsUntilIdle } from "../../server/jobs/runner.js";

describe("unaided-awareness coding: the mention table", () => {
  const codebook = compileCodebook(MENTION_CODES);

  it("has at least 40 cases, half of them in Russian, with false friends", () => {
    expect(MENTION_CASES.length).toBeGreaterThanOrEqual(40);
    expect(MENTION_CASES.filter((c) => /\p{Script=Cyrillic}/u.test(c.text)).length).toBeGreaterThanOrEqual(20);
    expect(MENTION_CASES.filter((c) => c.note.startsWith("false friend")).length).toBeGreaterThanOrEqual(10);
  });

  it.each(MENTION_CASES)("“$text” ($note)", (c) => {
    expect(codeText(c.text, codebook).map((m) => m.code)).toEqual(c.known ?? c.expected);
  });

  it("agrees with a human coder on all but the slang and abbreviations (61 of 63)", () => {
    const agree = MENTION_CASES.filter((c) => JSON.stringify(codeText(c.text, codebook).map((m) => m.code)) === JSON.stringify(c.expected));
    expect(MENTION_CASES.length).toBe(63);
    expect(agree.length).toBe(61);
  });

  it("ranks codes by first mention, each code once", () => {
    expect(codeMentions("Старбакс, потом вкусно и точка, и снова Starbucks", MENTION_CODES)).toEqual([
      { code: "starbucks", rank: 0 },
      { code: "brand", rank: 1 },
    ]);
  });
});

describe("coding pieces", () => {
  it("normalises case, ё, punctuation, apostrophes and look-alike letters", () => {
    expect(normalizeText("  Ёлка,  ЁЖ-кафе!! ")).toBe("елка еж кафе");
    expect(normalizeText("McDonald’s")).toBe("mcdonalds");
    // Latin C and a in Cyrillic words, Cyrillic а in a Latin word.
    expect(normalizeText("Cбер и Пятeрочка, Аdidas")).toBe("сбер и пятерочка adidas");
  });

  it("measures typos as restricted Damerau–Levenshtein distance", () => {
    expect(osaDistance("acme", "amce")).toBe(1);
    expect(osaDistance("abibas", "adidas")).toBe(2);
    expect(osaDistance("starbuks", "starbucks")).toBe(1);
    expect(osaDistance("ca", "abc")).toBe(3);
    expect(osaDistance("", "abc")).toBe(3);
    expect(osaDistance("kitten", "sitting", 1)).toBe(2);
  });

  it("allows 0 typos up to 4 letters, 1 for 5–7, 2 from 8", () => {
    expect([1, 4, 5, 7, 8, 20].map(typoAllowance)).toEqual([0, 0, 1, 1, 2, 2]);
  });

  it("transliterates both ways and folds spellings that sound alike", () => {
    expect(cyrillicToLatin("щука ёж")).toBe("shuka ezh");
    expect(latinToCyrillic("lada")).toBe("лада");
    expect(latinToCyrillic("shokoladnitsa")).toBe("шоколадница");
    expect(phoneticKey("starbucks")).toBe("starbuks");
    expect(phoneticKey("старбакс")).toBe("starbaks");
    expect(phoneticKey("coca")).toBe(phoneticKey("кока"));
    expect(phoneticKey("яндекс")).toBe(phoneticKey("yandex"));
  });

  it("takes one Russian case ending off, keeping three letters", () => {
    expect(stripCaseEnding("пятерочке")).toBe("пятерочк");
    expect(stripCaseEnding("ладу")).toBe("лад");
    expect(stripCaseEnding("сбер")).toBeUndefined();
    expect(stripCaseEnding("ник")).toBeUndefined();
  });

  it("groups uncoded words by normalised form, most frequent first, without non-answers", () => {
    const codebooks = new Map([[1, compileCodebook(MENTION_CODES)]]);
    const queue = reviewQueue(
      [
        { id: 1, questionId: 1, text: "Старбакс и Теремок" },
        { id: 2, questionId: 1, text: "теремок" },
        { id: 3, questionId: 1, text: "Макдак, Теремок!" },
        { id: 4, questionId: 1, text: "не знаю" },
        { id: 5, questionId: 1, text: "макдак" },
        { id: 6, questionId: 1, text: "Шоколадница" },
        { id: 7, questionId: 2, text: "not coded: other question" },
      ],
      codebooks,
    );
    expect(queue).toEqual({
      groups: [
        { form: "теремок", count: 3, example: "Старбакс и Теремок" },
        { form: "макдак", count: 2, example: "Макдак, Теремок!" },
      ],
      answers: 6,
      uncoded: 4,
    });
  });
});

describe("coding in a study", () => {
  it("codes the brand and the aided question's competitors as answers arrive", async () => {
    const { db } = freshApp();
    const { study, pre, segments } = await templateStudy(db);
    const r = await insertQualityResponse(db, study.id, { waveId: pre.id, segmentId: segments[0]!.id, answers: { ...goodAnswers(), unaided: "Старбакс, потом Шоколадница и Vkusno i tochka" } });
    const mentions = await db
      .select({ code: textMentions.code, rank: textMentions.rank })
      .from(textMentions)
      .innerJoin(answers, eq(answers.id, textMentions.answerId))
      .where(eq(answers.responseId, r.id))
      .orderBy(textMentions.rank);
    expect(mentions).toEqual([
      { code: "competitor_3", rank: 0 },
      { code: "competitor_1", rank: 1 },
      { code: "brand", rank: 2 },
    ]);
  });

  it("codes a survey submission with competitors in the background after it commits; its own flags come as it completes", async () => {
    const { app, db } = freshApp();
    const survey = await openSurvey(db, brandLiftTemplate({ studyName: "S", brand: "Вкусно и точка", locale: "ru", competitors: ["Шоколадница"] }));
    const agent = request.agent(app);
    const url = `/s/${survey.links["subscribers"]!.token}`;
    await answerAllPages(agent, url, {
      q_unaided: "шоколадница, вкусно и точка",
      q_aided: ["brand"],
      q_advantages: ["none"],
      q_ad_recall: "yes",
      q_favorability: "4",
      q_consideration: "4",
      q_attention: "strongly_agree",
      q_feedback: "",
    });
    const stored = first(await db.select().from(responses))!;
    expect(stored.status).toBe("completed");
    // The failed attention check needs only the response itself: flagged in the respondent's transaction.
    expect(stored.qualityFlags).toEqual([{ code: "attention", detail: "question=attention" }]);
    // The coding waits for the background checks: nothing in the respondent's transaction.
    expect(stored.checkedAt).toBeNull();
    expect(await db.select().from(textMentions)).toEqual([]);

    await runJobsUntilIdle(db);
    const checked = first(await db.select().from(responses))!;
    expect(checked.checkedAt).toBeInstanceOf(Date);
    expect(checked.qualityFlags).toEqual([{ code: "attention", detail: "question=attention" }]);
    expect(await db.select({ code: textMentions.code, rank: textMentions.rank }).from(textMentions).orderBy(textMentions.rank)).toEqual([
      { code: "competitor_1", rank: 0 },
      { code: "brand", rank: 1 },
    ]);
  });

  it("lets a researcher add an alias from the review queue in one click; coding and the lift follow", async () => {
    const { app, db } = freshApp();
    const { study, pre, post, segments } = await templateStudy(db);
    const seg = segments[0]!.id;
    for (let i = 0; i < 10; i++) await insertQualityResponse(db, study.id, { waveId: pre.id, segmentId: seg, answers: { ...goodAnswers(), unaided: i < 2 ? "Вкусно и точка" : "не знаю" } });
    for (let i = 0; i < 10; i++) await insertQualityResponse(db, study.id, { waveId: post.id, segmentId: seg, answers: { ...goodAnswers(), unaided: i < 2 ? "Вкусно и точка" : i < 7 ? "ВиТ, Кофемания" : "вит" } });
    const unaided = async () => {
      const r = await computeResults(db, study, resultsQuery.parse({}), "en", translator("en"));
      if (r === "no_waves") throw new Error("waves");
      return r.counts.filter((c) => c.metric === "unaided_awareness").map((c) => c.x);
    };
    expect(await unaided()).toEqual([2, 2]);

    const researcher = await addUser(db, "researcher");
    const agent = await loggedInAgent(app, researcher.email);
    const page = await agent.get(`/studies/${study.id}/quality/coding?lang=en`).expect(200);
    // "вит" is named in 8 answers: the queue shows it first, with an example as typed.
    expect(page.text).toMatch(/<th scope="row">вит<\/th><td data-label="[^"]+">8<\/td><td data-label="[^"]+">ВиТ, Кофемания<\/td>/);
    expect(page.text).toContain("20 answers looked at; 11 of them name no known brand.");
    expect(page.text).not.toMatch(/<th scope="row">знаю<\/th>/);

    await agent
      .post(`/studies/${study.id}/quality/coding/aliases`)
      .type("form")
      .send({ _csrf: csrfFrom(page.text), alias: "вит", code: "brand" })
      .expect(303)
      .expect("location", new RegExp(`/studies/${study.id}/quality/coding\\?added=`));
    // The recode is queued with the alias and runs in the background; the page says so and reloads itself.
    expect(await unaided()).toEqual([2, 2]);
    const queued = await agent.get(`/studies/${study.id}/quality/coding?lang=en&added=%D0%B2%D0%B8%D1%82`).expect(200);
    expect(queued.text).toContain("Alias “вит” added; the answers are being coded again in the background.");
    expect(queued.text).toContain("Coding all answers again: waiting to start.");
    expect(queued.text).toContain('<meta http-equiv="refresh" content="3">');
    const queuedRu = await agent.get(`/studies/${study.id}/quality/coding?lang=ru`).expect(200);
    expect(queuedRu.text).toContain("Перекодировка всех ответов: ждёт начала.");
    await runJobsUntilIdle(db);
    expect(await unaided()).toEqual([2, 10]);
    const audit = await db.select().from(auditLog).where(eq(auditLog.action, "quality.alias.add"));
    expect(audit).toHaveLength(1);
    expect(audit[0]!.userId).toBe(researcher.id);
    expect(audit[0]!.details).toEqual({ code: "brand", alias: "вит" });
    // The recode that follows, in chunks, is audited once it is complete.
    const recode = await db.select().from(auditLog).where(eq(auditLog.action, "quality.recode"));
    expect(recode.map((r) => r.details)).toEqual([{ answers: 20, mentions: (await db.select().from(textMentions)).length }]);

    const after = await agent.get(`/studies/${study.id}/quality/coding?lang=en`).expect(200);
    expect(after.text).not.toMatch(/<th scope="row">вит<\/th>/);
    expect(after.text).toContain("All answers coded again: 20 answers.");
    expect(after.text).not.toContain('http-equiv="refresh"');
    expect((await agent.get(`/studies/${study.id}/quality/coding?lang=ru`).expect(200)).text).toContain("Все ответы перекодированы: 20 ответов.");

    // The same words cannot stand for two brands: a 422 in the reader's language.
    const taken = await agent
      .post(`/studies/${study.id}/quality/coding/aliases?lang=ru`)
      .type("form")
      .send({ _csrf: csrfFrom(after.text), alias: "ВИТ", code: "competitor_1" })
      .expect(422);
    expect(taken.text).toContain("«ВИТ» уже вариант названия бренда «Вкусно и точка».");
    await agent.post(`/studies/${study.id}/quality/coding/aliases`).type("form").send({ _csrf: csrfFrom(after.text), alias: "  ", code: "brand" }).expect(422);
    await agent.post(`/studies/${study.id}/quality/coding/aliases`).type("form").send({ _csrf: csrfFrom(after.text), alias: "x", code: "nope" }).expect(422);
    await agent.post(`/studies/${study.id}/quality/coding/aliases`).type("form").send({ _csrf: csrfFrom(after.text), alias: ["a", "b"], code: "brand" }).expect(422);

    // Removing the alias codes everything again.
    const alias = first(await db.select().from(textAliases))!;
    await agent.post(`/studies/${study.id}/quality/coding/aliases/${alias.id}/delete`).type("form").send({ _csrf: csrfFrom(after.text) }).expect(303);
    await runJobsUntilIdle(db);
    expect(await unaided()).toEqual([2, 2]);
    await agent.post(`/studies/${study.id}/quality/coding/aliases/${alias.id}/delete`).type("form").send({ _csrf: csrfFrom(after.text) }).expect(404);
    await agent.post(`/studies/${study.id}/quality/coding/aliases/abc/delete`).type("form").send({ _csrf: csrfFrom(after.text) }).expect(404);
    expect(await db.select().from(auditLog).where(eq(auditLog.action, "quality.alias.remove"))).toHaveLength(1);
  });

  it("recodes after the question's own aliases change", async () => {
    const { app, db } = freshApp();
    const { study, pre, segments } = await templateStudy(db);
    await insertQualityResponse(db, study.id, { waveId: pre.id, segmentId: segments[0]!.id, answers: { ...goodAnswers(), unaided: "Теремок" } });
    await db.update(questions).set({ metricMatch: ["Вкусно и точка", "Теремок"] }).where(eq(questions.key, "unaided"));
    const researcher = await addUser(db, "researcher");
    const agent = await loggedInAgent(app, researcher.email);
    const page = await agent.get(`/studies/${study.id}/quality/coding`).expect(200);
    await agent.post(`/studies/${study.id}/quality/coding/recode`).type("form").send({ _csrf: csrfFrom(page.text) }).expect(303);
    await runJobsUntilIdle(db);
    expect(await db.select({ code: textMentions.code }).from(textMentions)).toEqual([{ code: "brand" }]);
  });

  it("shows viewers the coding but not the forms, and refuses their changes", async () => {
    const { app, db } = freshApp();
    const { study } = await templateStudy(db);
    const viewer = await addUser(db, "viewer");
    const agent = await loggedInAgent(app, viewer.email);
    const page = await agent.get(`/studies/${study.id}/quality/coding?lang=en`).expect(200);
    expect(page.text).toContain("Brands and aliases");
    expect(page.text).toContain("Шоколадница");
    expect(page.text).not.toContain(`action="/studies/${study.id}/quality/coding/aliases"`);
    await agent.post(`/studies/${study.id}/quality/coding/aliases`).type("form").send({ _csrf: csrfFrom(page.text), alias: "x", code: "brand" }).expect(403);
    await agent.get(`/studies/999999/quality/coding`).expect(404);
  });
});
