import { describe, expect, it } from "vitest";
import { stemWord, summarizeThemes, themeTokens, type ThemeAnswer } from "../../server/quality/themes.js";
import { goodAnswers, insertQualityResponse, templateStudy } from "../fixtures/quality/responses.js";
import { addUser, freshApp, loggedInAgent } from "../helpers.js";

/** Open feedback with known themes: inflections, word order, a phrase repeated in one answer, single words. */
const RUSSIAN = [
  "Быстрая доставка, но кофе остывает",
  "Быстрая доставка важнее всего",
  "Хочу быстрой доставки!",
  "Доставка быстрая и дешёвая",
  "Высокие цены на кофе",
  "Цены на кофе высокие, дорого",
  "Снизить цены на кофе",
  "Кофе кофе кофе",
  "Не нравится приложение: постоянно вылетает",
  "Приложение не нравится",
  "Мне не нравится новое приложение",
  "Не нравится, совсем не нравится",
  "До ближайшей кофейни далеко идти",
  "ближайшей кофейни далеко идти!",
  "От дома до ближайшей кофейни далеко идти",
  "Всё отлично",
  "ничего",
];

const ENGLISH = [
  "Slow delivery at weekends",
  "The delivery is slow",
  "Slow deliveries, cold coffee",
  "slow delivery and cold coffee",
  "The coffee was cold",
  "The app crashes on my phone",
  "App crashed at checkout",
  "My app crashes all the time",
  "I don't like the new menu",
  "Don't like the queue",
  "Really don't like it",
  "Nothing",
];

/** Fifteen more phrases, three answers each: more themes than the results page lists at first. */
const PAIRS = ["green tea", "oat milk", "loyalty card", "wifi password", "power sockets", "outdoor seating", "table service", "paper straws", "vegan cake", "gluten free", "card payment", "opening hours", "parking space", "music volume", "fresh pastries"];
const MANY = PAIRS.flatMap((p) => [p, `${p} please`, `More ${p}`]);

const answersOf = (texts: readonly string[]): ThemeAnswer[] => texts.map((text) => ({ text }));
const item = (total: number) => (key: string, label: string, count: number, examples: string[]) => ({ key, label, count, share: count / total, examples });

/** A seeded shuffle (Park–Miller), so a failure can be replayed. */
function shuffled<T>(list: readonly T[], seed: number): T[] {
  const out = [...list];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 16807) % 2147483647;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

describe("feedback themes", () => {
  it("are phrases of the Russian corpus: inflections and word order merged, an answer counted once, no single words", () => {
    const ru = item(17);
    expect(summarizeThemes(answersOf(RUSSIAN))).toEqual({
      answers: 17,
      total: 4,
      themes: [
        // "быстрая доставка" ×2, "быстрой доставки", "доставка быстрая": one theme, the most used spelling.
        ru("быстр доставк", "быстрая доставка", 4, ["Быстрая доставка, но кофе остывает", "Быстрая доставка важнее всего", "Доставка быстрая и дешёвая"]),
        // Four answers, though one says it twice; "приложение не нравится" has it too.
        ru("не нрав", "не нравится", 4, ["Не нравится приложение: постоянно вылетает", "Мне не нравится новое приложение", "Не нравится, совсем не нравится"]),
        // One theme for the sentence, not "ближайшей", "далеко", "идти" nor its overlapping phrases.
        ru("ближайш далек кофейн", "ближайшей кофейни далеко", 3, ["От дома до ближайшей кофейни далеко идти", "До ближайшей кофейни далеко идти", "ближайшей кофейни далеко идти!"]),
        // The label keeps the stop word between the words, as written.
        ru("коф цен", "цены на кофе", 3, ["Цены на кофе высокие, дорого", "Высокие цены на кофе", "Снизить цены на кофе"]),
      ],
    });
  });

  it("are phrases of the English corpus", () => {
    const en = item(12);
    expect(summarizeThemes(answersOf(ENGLISH))).toEqual({
      answers: 12,
      total: 4,
      themes: [
        en("deliveri slow", "slow delivery", 4, ["slow delivery and cold coffee", "Slow deliveries, cold coffee", "Slow delivery at weekends"]),
        en("app crash", "app crashes", 3, ["My app crashes all the time", "The app crashes on my phone", "App crashed at checkout"]),
        en("coffe cold", "cold coffee", 3, ["slow delivery and cold coffee", "Slow deliveries, cold coffee", "The coffee was cold"]),
        en("dont like", "don't like", 3, ["I don't like the new menu", "Don't like the queue", "Really don't like it"]),
      ],
    });
  });

  it("never make a single word a theme, however common", () => {
    const summary = summarizeThemes(answersOf(["Кофе", "кофе!", "Кофе.", "coffee", "Coffee", "coffee?", "кофе кофе"]));
    expect(summary).toEqual({ answers: 7, total: 0, themes: [] });
  });

  it("give the demo's sentence one theme, not a theme per word", () => {
    const one = summarizeThemes(answersOf(["До ближайшей кофейни далеко идти", "до ближайшей кофейни далеко идти.", "До ближайшей кофейни далеко идти!"]));
    expect(one.themes.map((t) => [t.label, t.count])).toEqual([["ближайшей кофейни далеко", 3]]);
    // Two clauses, always together: one theme, led by the phrase written first.
    const demo = summarizeThemes(answersOf(Array(5).fill("Больше точек в спальных районах, до ближайшей далеко идти.")));
    expect(demo.themes.map((t) => [t.label, t.count, t.examples])).toEqual([["точек в спальных районах", 5, ["Больше точек в спальных районах, до ближайшей далеко идти."]]]);
    // Not always together: two themes.
    const apart = summarizeThemes(answersOf([...Array(4).fill("Больше точек в спальных районах, до ближайшей далеко идти."), "До ближайшей далеко идти"]));
    expect(apart.themes.map((t) => [t.label, t.count])).toEqual([
      ["ближайшей далеко идти", 5],
      ["точек в спальных районах", 4],
    ]);
  });

  it("let a trigram absorb its bigrams when nearly the same answers use them, and keep a common bigram apart from a rare trigram", () => {
    const texts = [
      "доставка быстро дешево",
      "Доставка быстро дешево!",
      "Доставка быстро дешево, спасибо",
      "доставка быстро дешево и вкусно",
      "Доставка быстро.", // the bigram alone: 4 of its 5 answers have the trigram
      "долгая доставка курьером",
      "Долгая доставка курьером",
      "долгая доставка курьером, опять",
      "Долгая доставка",
      "долгая доставка!",
      "Очень долгая доставка", // the bigram in 6 answers, the trigram in 3: two themes
    ];
    const summary = summarizeThemes(answersOf(texts));
    expect(summary.themes.map((t) => [t.label, t.count])).toEqual([
      ["долгая доставка", 6],
      ["доставка быстро дешево", 5],
      ["долгая доставка курьером", 3],
    ]);
    // Examples quote the theme's own phrase.
    expect(summary.themes[1]!.examples).toEqual(["Доставка быстро дешево, спасибо", "доставка быстро дешево и вкусно", "Доставка быстро дешево!"]);
  });

  it("count an answer once per theme and keep themes of at least minCount answers", () => {
    const texts = ["Цены на кофе, цены на кофе, опять цены на кофе", "высокие цены на кофе"];
    expect(summarizeThemes(answersOf(texts)).themes).toEqual([]);
    expect(summarizeThemes(answersOf(texts), { minCount: 2 }).themes.map((t) => [t.label, t.count])).toEqual([["цены на кофе", 2]]);
    const limited = summarizeThemes(answersOf(MANY), { limit: 5 });
    expect([limited.total, limited.themes.length]).toEqual([15, 5]);
  });

  it("are the same whatever order the answers come in", () => {
    const all = answersOf([...RUSSIAN, ...ENGLISH, ...MANY, "доставка быстро дешево", "Доставка быстро дешево!", "Доставка быстро дешево, спасибо", "Доставка быстро."]);
    const summary = summarizeThemes(all);
    expect(summary.total).toBe(4 + 4 + 15 + 1);
    expect(summary.themes.find((t) => t.key === "быстр дешев доставк")).toMatchObject({ label: "доставка быстро дешево", count: 3 });
    expect(summarizeThemes([...all].reverse())).toEqual(summary);
    for (const seed of [1, 7, 42, 2024]) expect(summarizeThemes(shuffled(all, seed))).toEqual(summary);
    // "быстро" and "быстрая" share a stem: the answers of "доставка быстро дешево" join "быстрая доставка".
    expect(summary.themes.slice(0, 4).map((t) => [t.label, t.count])).toEqual([
      ["доставка быстро", 8],
      ["slow delivery", 4],
      ["не нравится", 4],
      ["app crashes", 3],
    ]);
  });

  it("stem with Snowball by script, drop stop words, split clauses at conjunctions and keep negations with their word", () => {
    expect(["доставка", "доставку", "доставки"].map(stemWord)).toEqual(["доставк", "доставк", "доставк"]);
    expect(["deliveries", "delivery"].map(stemWord)).toEqual(["deliveri", "deliveri"]);
    expect(themeTokens("Мне не нравится, что кофе остывает. It's not great")).toEqual([
      [{ stem: "не нрав", surface: "не нравится", words: 2, gap: "" }],
      [
        { stem: "коф", surface: "кофе", words: 1, gap: "" },
        { stem: "остыва", surface: "остывает", words: 1, gap: "" },
      ],
      [{ stem: "not great", surface: "not great", words: 2, gap: "" }],
    ]);
    expect(themeTokens("Цены на кофе высокие и не нравится очередь; we haven't tried")).toEqual([
      [
        { stem: "цен", surface: "цены", words: 1, gap: "" },
        { stem: "коф", surface: "кофе", words: 1, gap: "на" },
        { stem: "высок", surface: "высокие", words: 1, gap: "" },
      ],
      [
        { stem: "не нрав", surface: "не нравится", words: 2, gap: "" },
        { stem: "очеред", surface: "очередь", words: 1, gap: "" },
      ],
      [{ stem: "havent tri", surface: "haven't tried", words: 2, gap: "" }],
    ]);
    expect(summarizeThemes([])).toEqual({ answers: 0, total: 0, themes: [] });
    expect(summarizeThemes([{ text: "..." }, { text: "кофе" }]).answers).toBe(1);
  });

  it("appear on the results page per wave and segment, a dozen first and the rest folded, and in the printable report", async () => {
    const { app, db } = freshApp();
    const { study, pre, post, segments } = await templateStudy(db);
    const add = (waveId: number, feedback: string) => insertQualityResponse(db, study.id, { waveId, segmentId: segments[0]!.id, answers: { ...goodAnswers(), feedback } });
    for (const feedback of RUSSIAN) await add(post.id, feedback);
    for (const feedback of [...ENGLISH, ...MANY]) await add(pre.id, feedback);
    // An excluded response's answer is not summarised.
    await insertQualityResponse(db, study.id, { waveId: post.id, segmentId: segments[0]!.id, excluded: true, answers: { ...goodAnswers(), feedback: "Цены на кофе" } });
    const viewer = await addUser(db, "viewer");
    const agent = await loggedInAgent(app, viewer.email);
    const page = await agent.get(`/studies/${study.id}/results?lang=en`).expect(200);
    expect(page.text).toContain("Themes: What would you change about Вкусно и точка?");
    expect(page.text).toContain("<summary>Pre · Subscribers: 57 answers</summary>");
    expect(page.text).toContain("<summary>Post · Subscribers: 17 answers</summary>");
    expect(page.text).toContain('<li><strong>быстрая доставка</strong> <span class="hint">4 (24%)</span>');
    expect(page.text).toContain('<li><strong>цены на кофе</strong> <span class="hint">3 (18%)</span>');
    expect(page.text).toContain("<p class=\"examples\">«Быстрая доставка, но кофе остывает» · «Быстрая доставка важнее всего» · «Доставка быстрая и дешёвая»</p>");
    expect(page.text).toContain('<li><strong>don&#39;t like</strong> <span class="hint">3 (5%)</span>');
    expect(page.text).not.toMatch(/<strong>(кофе|ближайшей|далеко|идти)<\/strong>/);
    // Pre has 19 themes: 12 listed, the other 7 under "all themes", numbered on.
    expect(page.text).toContain('<details class="all-themes"><summary>All 19 themes</summary>');
    expect(page.text).toContain('<ol class="theme-list" start="13">');
    expect(page.text.match(/<details class="all-themes">/g)).toHaveLength(1);
    const onlyPost = await agent.get(`/studies/${study.id}/results?lang=en&fwave=${post.id}`).expect(200);
    expect(onlyPost.text).not.toContain("Pre · Subscribers");
    const report = await agent.get(`/studies/${study.id}/report?lang=ru`).expect(200);
    expect(report.text).toContain("<h4>Темы: ");
    expect(report.text).toContain("<h5>Post · Подписчики: 17 ответов</h5>");
    expect(report.text).toContain('<li><strong>быстрая доставка</strong> <span class="hint">4 (24\u00a0%)</span>');
    // On paper the first 3 themes per group (REPORT_THEMES): the other 16 of Pre are counted.
    expect(report.text).toContain("<p class=\"hint\">Ещё 16 тем — на странице результатов.</p>");
    expect(report.text).not.toContain("all-themes");
  });
});
