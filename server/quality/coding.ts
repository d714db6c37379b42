import type { Locale, TextAlias } from "../../db/schema.js";
import { localize, type SurveyQuestion } from "../domain/questionnaire.js";
import { BRAND_CODE, compileCodebook, matchSpans, normalizeText, type Codebook } from "../domain/text-coding.js";
import { isStopWord } from "./stopwords.js";

/**
 * What text answers are coded against, and what is left uncoded. Pure: the questionnaire and
 * the researcher's aliases in, codebooks and review groups out.
 *
 * - Coded questions: text questions with a metric and brand aliases (`metric.match`), e.g. unaided awareness.
 * - The brand ("brand"): the question's `metric.match`, the texts of the aided question's
 *   positive options, and the aliases researchers added to "brand".
 * - Competitors (code = option key): the other options of the aided question (its metric
 *   `aided_awareness`, else the question keyed `aided`), with their texts in every language and
 *   the aliases researchers added. "None"/"other" options (exclusive, pinned, or keyed
 *   other/none/dont_know/not_sure) are not brands.
 */

export interface CodeAlias {
  text: string;
  source: "metric" | "option" | "researcher";
  /** The text_aliases row, for researcher aliases (they can be removed). */
  id?: number;
}

export interface CodeDefinition {
  code: string;
  kind: "brand" | "competitor";
  label: string;
  aliases: CodeAlias[];
}

const NOT_A_BRAND = /^(other|others|none|dont_know|do_not_know|not_sure|nothing)$/;

export function codedQuestions(questions: readonly SurveyQuestion[]): SurveyQuestion[] {
  return questions.filter((q) => q.type === "text" && q.metricName && (q.metricMatch?.length ?? 0) > 0);
}

export function aidedQuestion(questions: readonly SurveyQuestion[]): SurveyQuestion | undefined {
  const choice = (q: SurveyQuestion) => q.type === "multi" || q.type === "single";
  return questions.find((q) => choice(q) && q.metricName === "aided_awareness") ?? questions.find((q) => choice(q) && q.key === "aided");
}

/** Built-in aliases once per normalised form (the first source kept); researcher aliases always listed, so they stay removable. */
function distinct(aliases: CodeAlias[]): CodeAlias[] {
  const seen = new Set<string>();
  return aliases.filter((a) => {
    if (a.id !== undefined) return true;
    const form = normalizeText(a.text);
    if (seen.has(form)) return false;
    seen.add(form);
    return true;
  });
}

const texts = (t: Record<string, string | undefined>) => [...new Set(Object.values(t).filter((v): v is string => !!v && !!v.trim()))];

/**
 * The codes of the study for one coded question (the brand first, then competitors in option
 * order). Without a coded question, `question` undefined gives the brand from the aided question only.
 */
export function codeDefinitions(
  question: SurveyQuestion | undefined,
  questions: readonly SurveyQuestion[],
  aliases: readonly TextAlias[],
  brandName: string,
  locale: Locale,
  fallback: Locale,
): CodeDefinition[] {
  const aided = aidedQuestion(questions);
  const positive = new Set((aided?.metricPositive ?? []).map(String));
  const researcher = (code: string): CodeAlias[] => aliases.filter((a) => a.code === code).map((a) => ({ text: a.alias, source: "researcher", id: a.id }));

  const brand: CodeDefinition = {
    code: BRAND_CODE,
    kind: "brand",
    label: brandName,
    aliases: distinct([
      ...(question?.metricMatch ?? []).map((text): CodeAlias => ({ text, source: "metric" })),
      ...(aided?.options ?? []).filter((o) => positive.has(o.key)).flatMap((o) => texts(o.text).map((text): CodeAlias => ({ text, source: "option" }))),
      ...researcher(BRAND_CODE),
    ]),
  };
  const competitors = (aided?.options ?? [])
    .filter((o) => !positive.has(o.key) && !o.exclusive && !o.pinned && !NOT_A_BRAND.test(o.key) && o.key !== BRAND_CODE)
    .map(
      (o): CodeDefinition => ({
        code: o.key,
        kind: "competitor",
        label: localize(o.text, locale, fallback) || o.key,
        aliases: distinct([...texts(o.text).map((text): CodeAlias => ({ text, source: "option" })), ...researcher(o.key)]),
      }),
    );
  return [brand, ...competitors];
}

export function codebookOf(definitions: readonly CodeDefinition[]): Codebook {
  return compileCodebook(Object.fromEntries(definitions.map((d) => [d.code, d.aliases.map((a) => a.text)])));
}

/** A codebook per coded question. */
export function studyCodebooks(questions: readonly SurveyQuestion[], aliases: readonly TextAlias[]): Map<number, Codebook> {
  return new Map(codedQuestions(questions).map((q) => [q.id, codebookOf(codeDefinitions(q, questions, aliases, "", "ru", "ru"))]));
}

/**
 * The same, remembered for the last few inputs: every step of a recode or of the checks of new
 * responses codes with the codebooks of the same questionnaire and aliases, and compiling them is
 * a few milliseconds a step. A pure function of its input (keyed by all of it), so no instance can
 * serve another's stale data.
 */
const compiled = new Map<string, Map<number, Codebook>>();
export function studyCodebooksOf(signature: string, questions: readonly SurveyQuestion[], aliases: readonly TextAlias[]): Map<number, Codebook> {
  let codebooks = compiled.get(signature);
  if (!codebooks) {
    codebooks = studyCodebooks(questions, aliases);
    if (compiled.size >= 8) compiled.delete(compiled.keys().next().value!);
    compiled.set(signature, codebooks);
  }
  return codebooks;
}

// ---------------------------------------------------------------- review queue

/** Answers that name nothing at all, in any language. */
const NON_ANSWERS = new Set([
  "не знаю", "незнаю", "не помню", "нет", "никакие", "никаких", "никакой", "ничего", "ни одного", "затрудняюсь",
  "затрудняюсь ответить", "не могу вспомнить", "не могу сказать", "все", "никто",
  "no", "none", "nothing", "dont know", "i dont know", "idk", "not sure", "no idea", "cant remember", "n a", "na",
]);

export interface ReviewGroup {
  /** The normalised words left uncoded (the group's key). */
  form: string;
  /** Answers containing it. */
  count: number;
  /** One answer as typed (the first by answer id). */
  example: string;
}

export interface ReviewQueue {
  groups: ReviewGroup[];
  /** Text answers looked at, and how many of them name no code at all. */
  answers: number;
  uncoded: number;
}

/**
 * The parts of answers no alias matched, grouped by normalised form, most frequent first (then
 * by form). An answer is cut at commas, semicolons, slashes and line breaks; in each part the
 * words outside matched brands, without stop words at either end, form one candidate:
 * "Старбакс и кофемания" gives "кофемания". Non-answers ("не знаю", "none") are left out.
 */
export function reviewQueue(
  items: Iterable<{ id: number; questionId: number; text: string }>,
  codebooks: ReadonlyMap<number, Codebook>,
  limit = 100,
): ReviewQueue {
  const queue = reviewQueueBuilder(codebooks);
  for (const item of items) queue.add(item);
  return queue.result(limit);
}

/** reviewQueue fed one answer at a time, for answers read in batches from the database. */
export function reviewQueueBuilder(codebooks: ReadonlyMap<number, Codebook>): {
  add(item: { id: number; questionId: number; text: string }): void;
  result(limit: number): ReviewQueue;
} {
  const groups = new Map<string, ReviewGroup>();
  let answers = 0;
  let uncoded = 0;
  const add = (item: { id: number; questionId: number; text: string }) => {
    const codebook = codebooks.get(item.questionId);
    if (!codebook) return;
    answers++;
    const forms = new Set<string>();
    let named = false;
    for (const part of item.text.split(/[,;/\\\n\r|+•·()]+|\s[-–—]\s/)) {
      const { words, spans } = matchSpans(part, codebook);
      if (spans.length) named = true;
      const inSpan = new Array<boolean>(words.length).fill(false);
      for (const s of spans) for (let i = s.start; i < s.end; i++) inSpan[i] = true;
      let run: string[] = [];
      const flush = () => {
        if (NON_ANSWERS.has(run.join(" "))) run = [];
        while (run.length && isStopWord(run[0]!)) run.shift();
        while (run.length && isStopWord(run[run.length - 1]!)) run.pop();
        const form = run.join(" ");
        if (form.replace(/\P{L}/gu, "").length >= 2 && !NON_ANSWERS.has(form)) forms.add(form);
        run = [];
      };
      words.forEach((w, i) => {
        if (inSpan[i]) flush();
        else run.push(w);
      });
      flush();
    }
    if (!named) uncoded++;
    for (const form of forms) {
      const g = groups.get(form);
      if (g) g.count++;
      else groups.set(form, { form, count: 1, example: item.text });
    }
  };
  const result = (limit: number): ReviewQueue => {
    const sorted = [...groups.values()].sort((a, b) => b.count - a.count || (a.form < b.form ? -1 : a.form > b.form ? 1 : 0));
    return { groups: sorted.slice(0, limit), answers, uncoded };
  };
  return { add, result };
}

/** The normalised form an alias is stored and compared under. */
export function aliasForm(alias: string): string {
  return normalizeText(alias);
}
