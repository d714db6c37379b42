import { z } from "zod";
import { LOCALES } from "../../db/schema.js";
import { PREFER_NOT_KEY } from "./margins.js";
import { PAGE_BREAK, studyDefinition, type StudyDefinition } from "./study-definition.js";
import { normalizeText } from "./text-coding.js";

/**
 * The brand-lift template: from a brand, its category, competitors and advantages, a ready
 * questionnaire in Russian and English, every question with its metric:
 * unaided awareness (text, coded by aliases) alone on the first page, aided awareness (multi,
 * rotated, "none of these"), knowledge of the advantages (with a decoy), ad recall in social
 * networks (after awareness: asking about the brand's ads names it), favorability and
 * consideration (1–5, top-2-box), one attention check, open feedback, and last, on a page of
 * their own, two optional profile questions for weighting and breakdowns (gender, age group).
 *
 * Nothing before the aided list names the brand, the title respondents see included (a neutral
 * one from the category). Russian sentences quote the brand after a generic noun ("бренд
 * «Бодрость»") so the name never has to be declined.
 */

/** Age groups of the template, as community statistics commonly publish them: option key, Russian, English. */
export const AGE_GROUPS = [
  ["age_18_24", "18–24", "18–24"],
  ["age_25_34", "25–34", "25–34"],
  ["age_35_44", "35–44", "35–44"],
  ["age_45_54", "45–54", "45–54"],
  ["age_55_plus", "55 и старше", "55 or older"],
] as const;

export const MAX_COMPETITORS = 8;
export const MAX_ADVANTAGES = 6;

const name = z.string().trim().min(1).max(100);

export const templateInput = z.object({
  studyName: z.string().trim().min(1).max(200),
  brand: name,
  category: z.string().trim().max(100).default(""),
  locale: z.enum(LOCALES),
  competitors: z.array(name).max(MAX_COMPETITORS).default([]),
  advantages: z.array(z.string().trim().min(1).max(200)).max(MAX_ADVANTAGES).default([]),
});
export type TemplateInput = z.input<typeof templateInput>;

const both = (ru: string, en: string) => ({ ru, en });
const same = (text: string) => ({ ru: text, en: text });

/** A neutral title for respondents: the category when it does not name the brand, else a generic one. */
export function templatePublicTitle(brand: string, category: string, locale: (typeof LOCALES)[number]): string {
  const names = (s: string) => ` ${normalizeText(s)} `;
  if (category && !names(category).includes(names(brand))) return locale === "ru" ? `Опрос: ${category}` : `Survey: ${category}`;
  return locale === "ru" ? "Опрос о брендах" : "Brand survey";
}

/** Brand names fill both languages as typed; the category is the researcher's own words. */
export function brandLiftTemplate(raw: TemplateInput): StudyDefinition {
  const input = templateInput.parse(raw);
  const { brand } = input;
  // Guillemets the researcher typed are not doubled.
  const q = `«${brand.replace(/^[«"“„']+|[»"”']+$/g, "")}»`;
  const cat = input.category;
  const catRu = cat ? ` в категории «${cat}»` : "";
  const catEn = cat ? ` in the category “${cat}”` : "";
  const agree = [
    ["strongly_disagree", "Полностью не согласен", "Strongly disagree"],
    ["somewhat_disagree", "Скорее не согласен", "Somewhat disagree"],
    ["neutral", "Ни то ни другое", "Neither agree nor disagree"],
    ["somewhat_agree", "Скорее согласен", "Somewhat agree"],
    ["strongly_agree", "Полностью согласен", "Strongly agree"],
  ] as const;
  const { advantages } = input;

  return studyDefinition.parse({
    name: input.studyName,
    brand,
    category: cat || null,
    publicTitle: templatePublicTitle(brand, cat, input.locale),
    locale: input.locale,
    locales: [input.locale, ...LOCALES.filter((l) => l !== input.locale)],
    questions: [
      {
        key: "unaided",
        type: "text",
        maxLength: 500,
        text: both(
          `Какие бренды${catRu} вы знаете? Назовите все, что вспомните.`,
          `Which brands${catEn} do you know? Name all that come to mind.`,
        ),
        metric: { name: "unaided_awareness", match: [brand] },
      },
      // Explicit, so the builder and the exported definition show it (an unaided question ends its page anyway).
      { type: PAGE_BREAK },
      {
        key: "aided",
        type: "multi",
        randomize: true,
        text: both("Какие из этих брендов вы знаете хотя бы по названию?", "Which of these brands have you heard of, even if only by name?"),
        options: [
          { key: "brand", text: same(brand) },
          ...input.competitors.map((c, i) => ({ key: `competitor_${i + 1}`, text: same(c) })),
          { key: "none", text: both("Ни один из них", "None of these"), exclusive: true, pinned: true },
        ],
        metric: { name: "aided_awareness", positive: ["brand"] },
      },
      ...(advantages.length
        ? [
            {
              key: "advantages",
              type: "multi",
              randomize: true,
              text: both(`Что из перечисленного, по-вашему, относится к бренду ${q}?`, `Which of these, in your opinion, apply to ${brand}?`),
              options: [
                ...advantages.map((a, i) => ({ key: `advantage_${i + 1}`, text: same(a) })),
                // A plausible claim the brand does not make: choosing it reveals guessing.
                { key: "decoy", text: both("Работает только по выходным", "Open only at weekends") },
                { key: "none", text: both("Ничего из перечисленного", "None of these"), exclusive: true, pinned: true },
              ],
              // Whoever "knows" the made-up advantage is guessing: left out of the metric's base.
              metric: { name: "advantage_awareness", positive: advantages.map((_, i) => `advantage_${i + 1}`), exclude: ["decoy"] },
            },
          ]
        : []),
      {
        key: "ad_recall",
        type: "single",
        text: both(
          `За последний месяц вы видели рекламу или публикации бренда ${q} в социальных сетях?`,
          `In the past month, have you seen ads or posts by ${brand} on social media?`,
        ),
        options: [
          { key: "yes", text: both("Да", "Yes") },
          { key: "no", text: both("Нет", "No") },
          { key: "not_sure", text: both("Не уверен(а)", "Not sure") },
        ],
        metric: { name: "ad_recall", positive: ["yes"] },
      },
      {
        key: "favorability",
        type: "scale",
        min: 1,
        max: 5,
        text: both(`Как вы в целом относитесь к бренду ${q}?`, `Overall, how do you feel about ${brand}?`),
        minLabel: both("Очень плохо", "Very unfavourable"),
        maxLabel: both("Очень хорошо", "Very favourable"),
        metric: { name: "favorability", positive: [4, 5] },
      },
      {
        key: "consideration",
        type: "scale",
        min: 1,
        max: 5,
        text: both(
          `Насколько вероятно, что в ближайшие три месяца вы воспользуетесь продуктами или услугами бренда ${q}?`,
          `How likely are you to use ${brand} in the next three months?`,
        ),
        minLabel: both("Точно нет", "Definitely not"),
        maxLabel: both("Точно да", "Definitely"),
        metric: { name: "consideration", positive: [4, 5] },
      },
      {
        key: "attention",
        type: "single",
        text: both(
          "Чтобы показать, что вы внимательно читаете вопросы, выберите ответ «Скорее не согласен».",
          "To show that you read the questions carefully, please choose “Somewhat disagree”.",
        ),
        options: agree.map(([key, ru, en]) => ({ key, text: both(ru, en), attentionCheck: key === "somewhat_disagree" })),
      },
      {
        key: "feedback",
        type: "text",
        required: false,
        maxLength: 2000,
        text: both(`Что бы вы изменили в бренде ${q}?`, `What would you change about ${brand}?`),
      },
      // The profile of the respondent, last and on a page of its own: asked first, it would colour
      // the answers after it, and whoever stops early leaves the metrics answered. Optional, with
      // "prefer not to say"; each wave is weighted to the segment's known shares of these answers.
      { type: PAGE_BREAK },
      {
        key: "gender",
        type: "single",
        required: false,
        profile: true,
        text: both("Ваш пол", "Your gender"),
        options: [
          { key: "female", text: both("Женский", "Female") },
          { key: "male", text: both("Мужской", "Male") },
          { key: PREFER_NOT_KEY, text: both("Предпочитаю не отвечать", "Prefer not to say") },
        ],
      },
      {
        key: "age_group",
        type: "single",
        required: false,
        profile: true,
        text: both("Сколько вам лет?", "How old are you?"),
        options: [
          ...AGE_GROUPS.map(([key, ru, en]) => ({ key, text: both(ru, en) })),
          { key: PREFER_NOT_KEY, text: both("Предпочитаю не отвечать", "Prefer not to say") },
        ],
      },
    ],
  });
}
