import { MAX_TEXT_ANSWER } from "./study-definition.js";
import type { SurveyQuestion } from "./questionnaire.js";

/**
 * Validation of one page of answers against its questions. The form contract: one field per
 * question, `q_<key>`; option keys (repeated for multi), a number for scale, text for text.
 * Fields that name no question on the page are ignored and never stored.
 */

export type AnswerErrorCode = "required" | "invalidOption" | "chooseOne" | "exclusive" | "scaleRange" | "tooLong";

export interface AnswerError {
  code: AnswerErrorCode;
  params?: Record<string, number>;
}

/** One stored answer row (long format): an option chosen, a scale value or a text. */
export interface AnswerRow {
  questionId: number;
  optionId: number | null;
  valueNumber: number | null;
  valueText: string | null;
}

export interface PageValidation {
  rows: AnswerRow[];
  errors: Record<string, AnswerError>;
  /** What the respondent sent, per question key, to fill the form again after an error. */
  kept: Record<string, string[]>;
}

export const fieldName = (questionKey: string) => `q_${questionKey}`;

/** Form values as a list of strings: urlencoded bodies give a string or an array of strings. */
function valuesOf(raw: unknown): string[] {
  if (typeof raw === "string") return [raw];
  if (Array.isArray(raw)) return raw.filter((v): v is string => typeof v === "string");
  return [];
}

export function validatePage(questions: readonly SurveyQuestion[], form: Record<string, unknown>): PageValidation {
  const rows: AnswerRow[] = [];
  const errors: Record<string, AnswerError> = {};
  const kept: Record<string, string[]> = {};

  for (const q of questions) {
    const field = fieldName(q.key);
    const values = Object.hasOwn(form, field) ? valuesOf(form[field]) : [];
    kept[q.key] = values.map((v) => v.slice(0, MAX_TEXT_ANSWER * 2));
    const error = (code: AnswerErrorCode, params?: Record<string, number>) => {
      errors[q.key] = params ? { code, params } : { code };
    };

    if (q.type === "text") {
      const text = (values[0] ?? "").replace(/\r\n/g, "\n").trim();
      const max = Math.min(q.maxLength ?? MAX_TEXT_ANSWER, MAX_TEXT_ANSWER);
      if (values.length > 1) error("chooseOne");
      else if (text.length === 0) {
        if (q.required) error("required");
      } else if ([...text].length > max) error("tooLong", { max });
      else rows.push({ questionId: q.id, optionId: null, valueNumber: null, valueText: text });
      continue;
    }

    const chosen = values.map((v) => v.trim()).filter((v) => v.length > 0);
    if (chosen.length === 0) {
      if (q.required) error("required");
      continue;
    }

    if (q.type === "scale") {
      const min = q.scaleMin ?? 1;
      const max = q.scaleMax ?? 5;
      const n = Number(chosen[0]);
      if (chosen.length > 1) error("chooseOne");
      else if (!/^-?\d+$/.test(chosen[0]!) || !Number.isSafeInteger(n) || n < min || n > max) error("scaleRange", { min, max });
      else rows.push({ questionId: q.id, optionId: null, valueNumber: n, valueText: null });
      continue;
    }

    const byKey = new Map(q.options.map((o) => [o.key, o]));
    const unique = [...new Set(chosen)];
    const picked = unique.map((k) => byKey.get(k));
    if (picked.some((o) => o === undefined)) {
      error("invalidOption");
    } else if (q.type === "single" && unique.length > 1) {
      error("chooseOne");
    } else if (unique.length > 1 && picked.some((o) => o!.exclusive)) {
      error("exclusive");
    } else {
      for (const o of picked) rows.push({ questionId: q.id, optionId: o!.id, valueNumber: null, valueText: null });
    }
  }
  return { rows, errors, kept };
}
