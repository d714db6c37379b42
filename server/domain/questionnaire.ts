import type { Locale, LocalizedText, Question, QuestionOption } from "../../db/schema.js";

/** A question with its options in their stored order: the unit rendering and validation work on. */
export type SurveyQuestion = Question & { options: QuestionOption[] };

/** The text in `locale`, else in the study's default, else whatever exists. */
export function localize(text: LocalizedText | null | undefined, locale: Locale, fallback: Locale): string {
  if (!text) return "";
  return text[locale] ?? text[fallback] ?? text.ru ?? text.en ?? "";
}

/** Splits the questionnaire into pages of `pageSize` questions; null or 0 keeps one page. */
export function paginate<T>(questions: readonly T[], pageSize: number | null): T[][] {
  if (!pageSize || questions.length <= pageSize) return [questions.slice()];
  const pages: T[][] = [];
  for (let i = 0; i < questions.length; i += pageSize) pages.push(questions.slice(i, i + pageSize));
  return pages;
}

/** The inclusive list of scale values, e.g. 1..5. */
export function scaleValues(q: Pick<Question, "scaleMin" | "scaleMax">): number[] {
  const min = q.scaleMin ?? 1;
  const max = q.scaleMax ?? 5;
  return Array.from({ length: max - min + 1 }, (_, i) => min + i);
}
