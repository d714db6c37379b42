import type { Locale } from "../../db/schema.js";

/**
 * Synthetic respondents' own words for the demo study. These are data (what people type into a
 * survey), not interface text, so they live here rather than in the message catalogues.
 */

/** The demo brand: a coffee-shop chain that does not exist. */
export const DEMO_BRAND = "Zerno";
/** Aliases the unaided question codes as the brand (whole words, case and ё/е ignored). */
export const DEMO_ALIASES = ["Zerno", "Зерно"];
/** Competitors offered in the aided question (same spelling in both languages, as brands are). */
export const DEMO_COMPETITORS = ["Brew Lab", "Утро", "Coffee Point"];

/** How respondents write the brand correctly: case, ё, extra words around it. */
export const CODED_SPELLINGS: Record<Locale, readonly string[]> = {
  ru: ["Зерно", "зерно", "Zerno", "кофейня Зерно", "Зёрно", "ZERNO", "Зерно кофе"],
  en: ["Zerno", "zerno", "Zerno coffee", "ZERNO", "Zerno's"],
};

/** Misspellings and look-alike letters, as people type in a hurry (the text coding's test cases in the wild). */
export const MISSPELLINGS: Record<Locale, readonly string[]> = {
  ru: ["Зеерно", "Zernoo", "Serno", "Зернo" /* Latin o */, "Зерн0"],
  en: ["Zerrno", "Zemo", "Zernó", "Zern0", "Serno"],
};

/**
 * Other names people come up with when asked which brands of the category they know, per wave:
 * the aided list's competitors (coded from the start) and names no list has (left for the coding
 * page's review queue). A name listed twice comes up twice as often. Between the waves Coffee
 * Point advertised too, so it is named more often in the post wave and the others a little less.
 */
export const OTHER_NAMES: Record<"pre" | "post", Record<Locale, readonly string[]>> = {
  pre: {
    ru: ["Brew Lab", "Brew Lab", "Утро", "Утро", "Утро кофе", "Coffee Point", "Бобы и Ко", "Daily Cup", "кофейня у дома"],
    en: ["Brew Lab", "Brew Lab", "Morning (Утро)", "Morning (Утро)", "Coffee Point", "Daily Cup", "Bean & Co", "the place near my office"],
  },
  post: {
    ru: ["Brew Lab", "Brew Lab", "Утро", "Утро", "Утро кофе", "Coffee Point", "Coffee Point", "Бобы и Ко", "Daily Cup", "кофейня у дома"],
    en: ["Brew Lab", "Brew Lab", "Morning (Утро)", "Morning (Утро)", "Coffee Point", "Coffee Point", "Daily Cup", "Bean & Co", "the place near my office"],
  },
};

export const DONT_KNOW: Record<Locale, readonly string[]> = {
  ru: ["не знаю", "затрудняюсь ответить", "не помню", "никакие", "не могу вспомнить"],
  en: ["don't know", "not sure", "can't remember", "none", "no idea"],
};

/** Gibberish typed by inattentive respondents (they fail the attention check and are excluded). */
export const GIBBERISH: readonly string[] = ["asdf", "ывапр", "qwerty", "ааааа", "йцукен"];

/**
 * The reason given when the careless respondents are excluded, in the study's language: one for
 * all of them, as a researcher excludes a selection in the ledger with one reason.
 */
export const EXCLUSION_REASON: Record<Locale, string> = {
  ru: "Не прошёл проверку внимания: ответил слишком быстро и отметил все бренды",
  en: "Failed the attention check: answered too fast and ticked every brand",
};

/** Open feedback ("What would you change about Zerno?") by how the respondent feels about the brand. */
export const FEEDBACK: Record<Locale, { positive: readonly string[]; neutral: readonly string[]; negative: readonly string[]; campaign: readonly string[] }> = {
  ru: {
    positive: [
      "Ничего не менял бы, кофе отличный.",
      "Больше точек в спальных районах, до ближайшей далеко идти.",
      "Хотелось бы карту лояльности в приложении, а не бумажную.",
      "Добавьте десерты без сахара.",
      "Всё нравится, особенно раф на овсяном.",
    ],
    neutral: [
      "Не пробовал, сложно сказать.",
      "Сделайте меню понятнее, много непонятных названий.",
      "Работать бы пораньше, с 7 утра.",
      "Пусть будет больше мест, где можно посидеть с ноутбуком.",
      "Не знаю, я редко пью кофе вне дома.",
    ],
    negative: [
      "Цены высоковаты для кофе с собой.",
      "В обед очередь, ждал 15 минут.",
      "Музыка слишком громкая.",
      "Капучино был холодный, хотя просил погорячее.",
    ],
    campaign: [
      "Видел ваш ролик про ежедневную обжарку — захотелось зайти.",
      "Реклама в ленте попадалась часто, теперь знаю, где вы находитесь.",
      "После поста про растительное молоко без доплаты решила попробовать.",
      "Слишком много рекламы в последние недели.",
    ],
  },
  en: {
    positive: [
      "Nothing, the coffee is great.",
      "More shops near the station, please.",
      "A loyalty card in the app instead of the paper one.",
      "Sugar-free desserts would be nice.",
    ],
    neutral: [
      "Haven't tried it yet.",
      "Open earlier on weekdays.",
      "The menu could be clearer.",
      "No idea, I rarely buy coffee out.",
    ],
    negative: [
      "Prices are a bit high for takeaway.",
      "The queue at lunchtime is too long.",
      "Too loud inside.",
    ],
    campaign: [
      "Saw your video about roasting every day, looked tasty.",
      "Your ads kept showing up in my feed, now I know where you are.",
      "Tried the free oat milk after that post.",
      "A bit too many ads lately.",
    ],
  },
};

/** The tracking demo's notes on the work of each month (campaigns, spend, posts): a media plan, data like the answers above. */
export const TRACKING_WORK: Record<Locale, ReadonlyArray<ReadonlyArray<{ kind: "campaign" | "spend" | "post"; text: string; amount?: number }>>> = {
  ru: [
    [{ kind: "campaign", text: "Запуск сообщества: ролик про ежедневную обжарку" }, { kind: "spend", text: "Таргетированная реклама в ленте", amount: 180_000 }, { kind: "post", text: "12 публикаций, 2 конкурса" }],
    [{ kind: "campaign", text: "Растительное молоко без доплаты" }, { kind: "spend", text: "Посевы у городских блогеров", amount: 220_000 }, { kind: "post", text: "15 публикаций, прямой эфир с бариста" }],
    [{ kind: "spend", text: "Таргетированная реклама в ленте", amount: 120_000 }, { kind: "post", text: "10 публикаций" }],
  ],
  en: [
    [{ kind: "campaign", text: "Community launch: the daily roasting video" }, { kind: "spend", text: "Targeted feed ads", amount: 2_400 }, { kind: "post", text: "12 posts, 2 contests" }],
    [{ kind: "campaign", text: "Free plant milk" }, { kind: "spend", text: "Seeding with city bloggers", amount: 2_900 }, { kind: "post", text: "15 posts, a live session with a barista" }],
    [{ kind: "spend", text: "Targeted feed ads", amount: 1_600 }, { kind: "post", text: "10 posts" }],
  ],
};
