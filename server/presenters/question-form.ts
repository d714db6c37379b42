import type { z } from "zod";
import type { QuestionOption } from "../../db/schema.js";
import type { SurveyQuestion } from "../domain/questionnaire.js";
import { issueMessage, MESSAGE_KEY } from "../domain/study-definition.js";

import type { Translate } from "../i18n/index.js";

/**
 * The question editor's form ⇄ a question definition. Options are rows `o<i>_…`; empty rows
 * add nothing, ticked "remove" drops a row, `o<i>_pos` orders them.
 */

export const BLANK_OPTION_ROWS = 3;

type Body = Record<string, unknown>;
const str = (body: Body, name: string) => (typeof body[name] === "string" ? (body[name] as string).trim() : "");
const ticked = (body: Body, name: string) => body[name] !== undefined && body[name] !== "";

function localized(ru: string, en: string) {
  const text: { ru?: string; en?: string } = {};
  if (ru) text.ru = ru;
  if (en) text.en = en;
  return text;
}

const optionalLocalized = (ru: string, en: string) => (ru || en ? localized(ru, en) : undefined);

function intOrUndefined(value: string): number | undefined {
  return /^-?\d{1,6}$/.test(value) ? Number(value) : value === "" ? undefined : Number.NaN;
}

/** Whether the submitted editor form asks for a page break after the question. */
export function pageBreakFromForm(body: Body): boolean {
  return ticked(body, "page_break_after");
}

/** The definition a submitted editor form describes (validated afterwards by questionDefinition). */
export function questionFromForm(body: Body): Record<string, unknown> {
  const type = str(body, "type");
  const rows = Math.min(Number(str(body, "option_rows")) || 0, 200);
  const options: Array<{ key: string; text: object; exclusive: boolean; pinned: boolean; attentionCheck: boolean; positive: boolean; decoy: boolean; pos: number; row: number }> = [];
  for (let i = 0; i < rows; i++) {
    const p = `o${i}_`;
    const key = str(body, `${p}key`);
    const ru = str(body, `${p}ru`);
    const en = str(body, `${p}en`);
    if (ticked(body, `${p}remove`) || (!key && !ru && !en)) continue;
    options.push({
      key: key || `option_${i + 1}`,
      text: localized(ru, en),
      exclusive: ticked(body, `${p}exclusive`),
      pinned: ticked(body, `${p}pinned`),
      attentionCheck: ticked(body, `${p}attention`),
      positive: ticked(body, `${p}positive`),
      decoy: ticked(body, `${p}decoy`),
      pos: Number(str(body, `${p}pos`)) || i + 1,
      row: i,
    });
  }
  options.sort((a, b) => a.pos - b.pos || a.row - b.row);

  const choice = type === "single" || type === "multi";
  const metricName = str(body, "metric_name");
  let metric: Record<string, unknown> | undefined;
  if (metricName) {
    if (type === "text") {
      const match = str(body, "metric_match").split(/\r?\n/).map((s) => s.trim()).filter(Boolean);
      metric = { name: metricName, ...(match.length ? { match } : {}) };
    } else if (choice) {
      const positive = options.filter((o) => o.positive).map((o) => o.key);
      const exclude = options.filter((o) => o.decoy).map((o) => o.key);
      metric = { name: metricName, ...(positive.length ? { positive } : {}), ...(exclude.length ? { exclude } : {}) };
    } else {
      const positive = str(body, "metric_positive").split(/[,\s]+/).filter(Boolean).map(Number);
      metric = { name: metricName, ...(positive.length ? { positive } : {}) };
    }
  }

  const def: Record<string, unknown> = {
    key: str(body, "key"),
    type,
    text: localized(str(body, "text_ru"), str(body, "text_en")),
    required: ticked(body, "required"),
    randomize: choice && ticked(body, "randomize"),
  };
  const help = optionalLocalized(str(body, "help_ru"), str(body, "help_en"));
  if (help) def["help"] = help;
  if (choice) def["options"] = options.map(({ key, text, exclusive, pinned, attentionCheck }) => ({ key, text, exclusive, pinned, attentionCheck }));
  if (type === "scale") {
    def["min"] = intOrUndefined(str(body, "scale_min"));
    def["max"] = intOrUndefined(str(body, "scale_max"));
    const minLabel = optionalLocalized(str(body, "min_label_ru"), str(body, "min_label_en"));
    const maxLabel = optionalLocalized(str(body, "max_label_ru"), str(body, "max_label_en"));
    if (minLabel) def["minLabel"] = minLabel;
    if (maxLabel) def["maxLabel"] = maxLabel;
  }
  if (type === "text") {
    const max = intOrUndefined(str(body, "max_length"));
    if (max !== undefined) def["maxLength"] = max;
  }
  if (metric) def["metric"] = metric;
  // Only a tick sets it: an untouched box leaves the definition as it was (no "profile": false).
  if (ticked(body, "profile")) def["profile"] = true;
  return def;
}

export interface OptionRow {
  key: string;
  ru: string;
  en: string;
  exclusive: boolean;
  pinned: boolean;
  attention: boolean;
  positive: boolean;
  /** Leaves whoever picks it out of the question's metric. */
  decoy: boolean;
}

export interface QuestionFormValues {
  key: string;
  type: string;
  text_ru: string;
  text_en: string;
  help_ru: string;
  help_en: string;
  required: boolean;
  randomize: boolean;
  scale_min: string;
  scale_max: string;
  min_label_ru: string;
  min_label_en: string;
  max_label_ru: string;
  max_label_en: string;
  max_length: string;
  metric_name: string;
  metric_positive: string;
  metric_match: string;
  /** A new page starts after this question (kept apart from the definition: it is an element of the list). */
  page_break_after: boolean;
  /** A profile variable (weighting and breakdowns). */
  profile: boolean;
  options: OptionRow[];
}

const blankRow = (): OptionRow => ({ key: "", ru: "", en: "", exclusive: false, pinned: false, attention: false, positive: false, decoy: false });

/** Editor values of a stored question, plus blank rows for new options. */
export function formFromQuestion(q: SurveyQuestion | undefined): QuestionFormValues {
  const positive = new Set((q?.metricPositive ?? []).map(String));
  const decoys = new Set(q?.metricExclude ?? []);
  const row = (o: QuestionOption): OptionRow => ({
    key: o.key,
    ru: o.text.ru ?? "",
    en: o.text.en ?? "",
    exclusive: o.exclusive,
    pinned: o.pinned,
    attention: o.attentionCheck,
    positive: positive.has(o.key),
    decoy: decoys.has(o.key),
  });
  return {
    key: q?.key ?? "",
    type: q?.type ?? "single",
    text_ru: q?.text.ru ?? "",
    text_en: q?.text.en ?? "",
    help_ru: q?.help?.ru ?? "",
    help_en: q?.help?.en ?? "",
    required: q?.required ?? true,
    randomize: q?.randomize ?? false,
    scale_min: q?.scaleMin?.toString() ?? "1",
    scale_max: q?.scaleMax?.toString() ?? "5",
    min_label_ru: q?.scaleMinLabel?.ru ?? "",
    min_label_en: q?.scaleMinLabel?.en ?? "",
    max_label_ru: q?.scaleMaxLabel?.ru ?? "",
    max_label_en: q?.scaleMaxLabel?.en ?? "",
    max_length: q?.maxLength?.toString() ?? "",
    metric_name: q?.metricName ?? "",
    metric_positive: q?.type === "scale" ? (q.metricPositive ?? []).join(", ") : "",
    metric_match: (q?.metricMatch ?? []).join("\n"),
    page_break_after: q?.pageBreakAfter ?? false,
    profile: q?.profile ?? false,
    options: [...(q?.options ?? []).map(row), ...Array.from({ length: BLANK_OPTION_ROWS }, blankRow)],
  };
}

/** The submitted form again, to re-render after an error with everything kept. */
export function formFromBody(body: Body): QuestionFormValues {
  const rows = Math.min(Number(str(body, "option_rows")) || 0, 200);
  const options: OptionRow[] = [];
  for (let i = 0; i < rows; i++) {
    const p = `o${i}_`;
    options.push({
      key: str(body, `${p}key`),
      ru: str(body, `${p}ru`),
      en: str(body, `${p}en`),
      exclusive: ticked(body, `${p}exclusive`),
      pinned: ticked(body, `${p}pinned`),
      attention: ticked(body, `${p}attention`),
      positive: ticked(body, `${p}positive`),
      decoy: ticked(body, `${p}decoy`),
    });
  }
  const blanks = options.filter((o) => !o.key && !o.ru && !o.en).length;
  for (let i = blanks; i < BLANK_OPTION_ROWS; i++) options.push(blankRow());
  const keep = (n: string) => str(body, n);
  return {
    key: keep("key"),
    type: keep("type"),
    text_ru: keep("text_ru"),
    text_en: keep("text_en"),
    help_ru: keep("help_ru"),
    help_en: keep("help_en"),
    required: ticked(body, "required"),
    randomize: ticked(body, "randomize"),
    scale_min: keep("scale_min"),
    scale_max: keep("scale_max"),
    min_label_ru: keep("min_label_ru"),
    min_label_en: keep("min_label_en"),
    max_label_ru: keep("max_label_ru"),
    max_label_en: keep("max_label_en"),
    max_length: keep("max_length"),
    metric_name: keep("metric_name"),
    metric_positive: keep("metric_positive"),
    metric_match: keep("metric_match"),
    page_break_after: pageBreakFromForm(body),
    profile: ticked(body, "profile"),
    options,
  };
}

/** Definition issues as messages on the editor's fields, in the user's language. */
export function formErrors(issues: readonly z.core.$ZodIssue[], t: Translate): Record<string, string> {
  const errors: Record<string, string> = Object.create(null);
  for (const issue of issues) {
    const [head, index, leaf] = issue.path;
    let field: string;
    let message: string;
    if (head === "options" && typeof index === "number") {
      field = `o${index}_${leaf === "key" ? "key" : "ru"}`;
      message = issue.message.startsWith("duplicate") ? t("validation.duplicateKey") : leaf === "key" ? t("validation.key") : t("validation.required");
    } else if (head === "options") {
      field = "options";
      message = t("validation.options");
    } else if (head === "min" || head === "max") {
      field = head === "min" ? "scale_min" : "scale_max";
      message = t("validation.scaleBounds");
    } else if (head === "metric" && index === "exclude") {
      field = "options";
      message = t("validation.decoy");
    } else if (head === "metric") {
      field = index === "match" ? "metric_match" : index === "name" ? "metric_name" : "metric_positive";
      message = index === "match" ? t("validation.match") : index === "name" ? t("validation.key") : t("validation.positive");
    } else if (head === "key") {
      field = "key";
      message = t("validation.key");
    } else if (head === "text") {
      field = "text_ru";
      message = t("validation.required");
    } else if (head === "maxLength") {
      field = "max_length";
      message = t("validation.number");
    } else if (head === "profile") {
      field = "profile";
      message = issueMessage(issue, t);
    } else {
      field = String(head ?? "type");
      message = t("validation.oneOf");
    }
    // Messages that are i18n keys (the bounds: safety.import.*, with the bound; profile rules: weighting.*) are translated.
    if (MESSAGE_KEY.test(issue.message)) message = issueMessage(issue, t);
    if (!Object.hasOwn(errors, field)) errors[field] = message;
  }
  return errors;
}

