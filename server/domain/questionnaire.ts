import type { Locale, LocalizedText, Question, QuestionOption } from "../../db/schema.js";

/** A question with its options in their stored order: the unit rendering and validation work on. */
export type SurveyQuestion = Question & { options: QuestionOption[] };

/** The text in `locale`, else in the study's default, else whatever exists. */
export function localize(text: LocalizedText | null | undefined, locale: Locale, fallback: Locale): string {
  if (!text) return "";
  return text[locale] ?? text[fallback] ?? text.ru ?? text.en ?? "";
}

/** What pagination looks at: a question's page break and whether it is an unaided question. */
export type Pageable = Pick<Question, "type" | "metricName" | "metricMatch" | "pageBreakAfter">;

/**
 * A text question coded for brand mentions (a metric with brand aliases): unaided awareness.
 * The same rule as the coding of answers (quality/coding.ts `codedQuestions`).
 */
export function isUnaided(q: Pick<Question, "type" | "metricName" | "metricMatch">): boolean {
  return q.type === "text" && !!q.metricName && (q.metricMatch?.length ?? 0) > 0;
}

/**
 * Whether a new page starts after `q`: a page break, or always after an unaided question, so
 * nothing later (the aided list, anything naming the brand) is on screen before it is answered.
 */
export function endsPage(q: Pageable): boolean {
  return q.pageBreakAfter || isUnaided(q);
}

/**
 * Splits the questionnaire into pages: a page ends after a page break, after an unaided
 * question, or when it holds `pageSize` questions (null or 0: no limit). Never an empty page,
 * except the one page of an empty questionnaire.
 */
export function paginate<T extends Pageable>(questions: readonly T[], pageSize: number | null): T[][] {
  const pages: T[][] = [];
  let page: T[] = [];
  for (const q of questions) {
    page.push(q);
    if (endsPage(q) || (pageSize && page.length >= pageSize)) {
      pages.push(page);
      page = [];
    }
  }
  if (page.length || pages.length === 0) pages.push(page);
  return pages;
}

/** The inclusive list of scale values, e.g. 1..5. */
export function scaleValues(q: Pick<Question, "scaleMin" | "scaleMax">): number[] {
  const min = q.scaleMin ?? 1;
  const max = q.scaleMax ?? 5;
  return Array.from({ length: max - min + 1 }, (_, i) => min + i);
}
