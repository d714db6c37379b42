import { describe, expect, it } from "vitest";
import { stemWord, summarizeThemes, themeTokens } from "../../server/quality/themes.js";
import { ENGLISH_FEEDBACK, RUSSIAN_FEEDBACK } from "../fixtures/quality/feedback.js";
import { goodAnswers, insertQualityResponse, templateStudy } from "../fixtures/quality/responses.js";
import { addUser, freshApp, loggedInAgent } from "../helpers.js";

const item = (key: string, label: string, count: number, examples: string[]) => ({ key, label, count, share: count / 12, examples });

describe("feedback themes", () => {
  it("summarise the Russian corpus", () => {
    expect(summarizeThemes(RUSSIAN_FEEDBACK.map((text) => ({ text })))).toEqual({
      answers: 12,
      terms: [
        item("коф", "кофе", 4, ["Доставка слишком долгая, кофе приезжает холодным", "Кофе вкусный, но цены кусаются", "Высокие цены на кофе"]),
        item("долг", "долгая", 3, ["Доставка слишком долгая, кофе приезжает холодным", "Очень долгая доставка, хочу больше десертов", "Долгая доставка, в остальном всё хорошо"]),
        item("доставк", "доставка", 3, ["Доставка слишком долгая, кофе приезжает холодным", "Очень долгая доставка, хочу больше десертов", "Долгая доставка, в остальном всё хорошо"]),
        item("цен", "цены", 3, ["Кофе вкусный, но цены кусаются", "Высокие цены на кофе", "Снизить цены на кофе"]),
        item("десерт", "десертов", 2, ["Очень долгая доставка, хочу больше десертов", "Больше десертов без сахара"]),
        item("не нрав", "не нравится", 2, ["Не нравится приложение: постоянно вылетает", "Не нравится очередь на кассе"]),
        item("приложен", "приложение", 2, ["Не нравится приложение: постоянно вылетает", "Приложение не работает на старом телефоне"]),
      ],
      phrases: [
        item("долг доставк", "долгая доставка", 2, ["Очень долгая доставка, хочу больше десертов", "Долгая доставка, в остальном всё хорошо"]),
        item("цен коф", "цены кофе", 2, ["Высокие цены на кофе", "Снизить цены на кофе"]),
      ],
    });
  });

  it("summarise the English corpus", () => {
    expect(summarizeThemes(ENGLISH_FEEDBACK.map((text) => ({ text })))).toEqual({
      answers: 12,
      terms: [
        item("deliveri", "delivery", 3, ["Delivery takes too long and the coffee arrives cold", "Great coffee, slow delivery", "Slow delivery at weekends"]),
        item("app", "app", 2, ["The app crashes at checkout", "The app crashes on my phone"]),
        item("coffe", "coffee", 2, ["Delivery takes too long and the coffee arrives cold", "Great coffee, slow delivery"]),
        item("crash", "crashes", 2, ["The app crashes at checkout", "The app crashes on my phone"]),
        item("dont like", "don't like", 2, ["Don't like the queue at lunchtime", "I don't like the new menu"]),
        item("price", "prices", 2, ["Lower prices for students", "Prices are too high"]),
        item("slow", "slow", 2, ["Great coffee, slow delivery", "Slow delivery at weekends"]),
        item("vegan", "vegan", 2, ["More vegan desserts", "More vegan options"]),
      ],
      phrases: [
        item("app crash", "app crashes", 2, ["The app crashes at checkout", "The app crashes on my phone"]),
        item("slow deliveri", "slow delivery", 2, ["Great coffee, slow delivery", "Slow delivery at weekends"]),
      ],
    });
  });

  it("are the same whatever order the answers come in", () => {
    const all = [...RUSSIAN_FEEDBACK, ...ENGLISH_FEEDBACK].map((text) => ({ text }));
    const reversed = [...all].reverse();
    const shuffled = all.map((a, i) => ({ a, k: (i * 7919) % 24 })).sort((x, y) => x.k - y.k).map((x) => x.a);
    const summary = summarizeThemes(all);
    expect(summarizeThemes(reversed)).toEqual(summary);
    expect(summarizeThemes(shuffled)).toEqual(summary);
    expect(summary.terms[0]).toMatchObject({ label: "кофе", count: 4 });
  });

  it("stem with Snowball by script, drop stop words and keep negations with their word", () => {
    expect(["доставка", "доставку", "доставки"].map(stemWord)).toEqual(["доставк", "доставк", "доставк"]);
    expect(["deliveries", "delivery"].map(stemWord)).toEqual(["deliveri", "deliveri"]);
    expect(themeTokens("Мне не нравится, что кофе остывает. It's not great")).toEqual([
      [{ stem: "не нрав", surface: "не нравится" }],
      [
        { stem: "коф", surface: "кофе" },
        { stem: "остыва", surface: "остывает" },
      ],
      [{ stem: "not great", surface: "not great" }],
    ]);
    expect(summarizeThemes([])).toEqual({ answers: 0, terms: [], phrases: [] });
    expect(summarizeThemes([{ text: "..." }, { text: "кофе" }]).answers).toBe(1);
  });

  it("appear on the results page per wave and segment, and in the printable report", async () => {
    const { app, db } = freshApp();
    const { study, pre, post, segments } = templateStudy(db);
    RUSSIAN_FEEDBACK.forEach((feedback, i) => {
      insertQualityResponse(db, study.id, { waveId: post.id, segmentId: segments[0]!.id, answers: { ...goodAnswers(), feedback } });
      insertQualityResponse(db, study.id, { waveId: pre.id, segmentId: segments[0]!.id, answers: { ...goodAnswers(), feedback: ENGLISH_FEEDBACK[i]! } });
    });
    // An excluded response's answer is not summarised.
    insertQualityResponse(db, study.id, { waveId: post.id, segmentId: segments[0]!.id, excluded: true, answers: { ...goodAnswers(), feedback: "Кофе кофе" } });
    const viewer = await addUser(db, "viewer");
    const agent = await loggedInAgent(app, viewer.email);
    const page = await agent.get(`/studies/${study.id}/results?lang=en`).expect(200);
    expect(page.text).toContain("Themes of open feedback: What would you change about Вкусно и точка?");
    expect(page.text).toContain("<summary>Pre · Subscribers: 12 answers</summary>");
    expect(page.text).toContain("<summary>Post · Subscribers: 12 answers</summary>");
    expect(page.text).toMatch(/<strong>кофе<\/strong><\/th>\s*<td>4 \(33%\)<\/td>/);
    expect(page.text).toMatch(/<strong>don&#39;t like<\/strong><\/th>\s*<td>2 \(17%\)<\/td>/);
    const onlyPost = await agent.get(`/studies/${study.id}/results?lang=en&fwave=${post.id}`).expect(200);
    expect(onlyPost.text).not.toContain("Pre · Subscribers");
    const report = await agent.get(`/studies/${study.id}/report?lang=ru`).expect(200);
    expect(report.text).toContain("<h5>Post · Подписчики: 12 ответов</h5>");
    expect(report.text).toMatch(/<strong>долгая доставка<\/strong><\/th>\s*<td>2 \(17\u00a0%\)<\/td>/);
  });
});
