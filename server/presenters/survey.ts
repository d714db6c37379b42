import type { Locale } from "../../db/schema.js";
import { fieldName } from "../domain/answers.js";
import { localize, scaleValues, type SurveyQuestion } from "../domain/questionnaire.js";
import { applyOrder } from "../domain/rotation.js";
import type { SurveyPage } from "../services/respond.js";
import { standIn } from "./page-skeleton.js";

/** What survey/page.ejs needs for one question: texts resolved, options ordered, answers kept. */
export interface QuestionView {
  key: string;
  field: string;
  number: number;
  type: SurveyQuestion["type"];
  text: string;
  help: string;
  required: boolean;
  options: Array<{ key: string; text: string; checked: boolean }>;
  scale: { values: Array<{ value: number; checked: boolean }>; minLabel: string; maxLabel: string } | null;
  maxLength: number | null;
  textValue: string;
  error: string;
}

export function questionViews(
  page: SurveyPage,
  locale: Locale,
  fallback: Locale,
  kept: Record<string, string[]>,
  errors: Record<string, string>,
): QuestionView[] {
  return page.questions.map((q, i) => {
    const chosen = new Set(kept[q.key] ?? []);
    return {
      key: q.key,
      field: fieldName(q.key),
      number: page.firstNumber + i,
      type: q.type,
      text: localize(q.text, locale, fallback),
      help: localize(q.help, locale, fallback),
      required: q.required,
      options: applyOrder(q.options, page.order[q.key]).map((o) => ({
        key: o.key,
        text: localize(o.text, locale, fallback),
        checked: chosen.has(o.key),
      })),
      scale:
        q.type === "scale"
          ? {
              values: scaleValues(q).map((value) => ({ value, checked: chosen.has(String(value)) })),
              minLabel: localize(q.scaleMinLabel, locale, fallback),
              maxLabel: localize(q.scaleMaxLabel, locale, fallback),
            }
          : null,
      maxLength: q.type === "text" ? Math.min(q.maxLength ?? 2000, 2000) : null,
      textValue: q.type === "text" ? (kept[q.key]?.[0] ?? "") : "",
      error: errors[q.key] ?? "",
    };
  });
}

/**
 * questionViews for a page skeleton (presenters/page-skeleton.ts): each option of a choice stands
 * in by its position, so one rendering serves every order; nothing is checked (a clean page).
 */
export function standInViews(views: readonly QuestionView[]): QuestionView[] {
  return views.map((view, q) =>
    view.options.length === 0
      ? view
      : { ...view, options: view.options.map((_, i) => ({ key: standIn(`o${q}.${i}.key`), text: standIn(`o${q}.${i}.text`), checked: false })) },
  );
}

/** The values of standInViews' stand-ins for one respondent: the page's options in the order they see them. */
export function optionValues(page: SurveyPage, locale: Locale, fallback: Locale, into: Map<string, string>): void {
  page.questions.forEach((question, q) => {
    applyOrder(question.options, page.order[question.key]).forEach((o, i) => {
      into.set(`o${q}.${i}.key`, o.key);
      into.set(`o${q}.${i}.text`, localize(o.text, locale, fallback));
    });
  });
}
