import type { Study } from "../../db/schema.js";
import { aidedQuestion, codeDefinitions } from "../quality/coding.js";
import { isUnaided, paginate, type SurveyQuestion } from "./questionnaire.js";
import { BRAND_CODE, codeText, compileCodebook, type Codebook } from "./text-coding.js";

/**
 * Questionnaire rules that keep a survey from priming its own answers (DESIGN.md "Respondent
 * pages"), checked for the builder's warnings. Pure: the study and its questions in, problems out.
 *
 * - Nothing on the page of an unaided question, or on any page before it, names the brand or a
 *   competitor: question texts, help, options and scale labels in every language.
 * - The title respondents see does not name them either (it is on every page).
 * - The unaided question comes before the aided brand list.
 * - Ad recall ("have you seen ads of <brand>?") comes after every awareness question.
 *
 * Names are recognised as answers are coded (text-coding.ts: case, ё/е, other script, typos,
 * Russian case endings): the brand (its name, the unaided question's aliases, the aided list's
 * positive options) and the competitors (the aided list's other brand options).
 */

export type PrimingProblem =
  /** Question at `question` (index) names `names` on or before the page of the unaided question at `unaided`. */
  | { kind: "names_before_unaided"; question: number; unaided: number; names: string[] }
  /** The public title names `names`. */
  | { kind: "title_names_brand"; names: string[] }
  /** The unaided question at `unaided` comes after the aided list at `aided`. */
  | { kind: "unaided_after_aided"; unaided: number; aided: number }
  /** The ad recall question at `adRecall` comes before the awareness question at `awareness`. */
  | { kind: "ad_recall_before_awareness"; adRecall: number; awareness: number };

export type PrimingStudy = Pick<Study, "brand" | "publicTitle" | "pageSize" | "defaultLocale">;

export const AD_RECALL_METRIC = "ad_recall";

/** Every text a respondent can read in a question, in every language. */
function visibleTexts(q: SurveyQuestion): string[] {
  const all = [q.text, q.help, q.scaleMinLabel, q.scaleMaxLabel, ...q.options.map((o) => o.text)];
  return all.flatMap((t) => (t ? Object.values(t).filter((v): v is string => typeof v === "string") : []));
}

/** The brand and competitor codes with their display names, and a codebook to find them in any text. */
function namesOf(study: PrimingStudy, questions: readonly SurveyQuestion[]): { codebook: Codebook; labels: Map<string, string> } {
  const unaided = questions.find(isUnaided);
  const defs = codeDefinitions(unaided, questions, [], study.brand, study.defaultLocale, study.defaultLocale);
  const codes: Record<string, string[]> = {};
  for (const d of defs) codes[d.code] = d.aliases.map((a) => a.text);
  // The brand's own name counts even when no alias repeats it.
  codes[BRAND_CODE] = [study.brand, ...(codes[BRAND_CODE] ?? [])];
  return { codebook: compileCodebook(codes), labels: new Map(defs.map((d) => [d.code, d.label])) };
}

function namedIn(texts: readonly string[], codebook: Codebook, labels: Map<string, string>): string[] {
  const found = new Set<string>();
  for (const text of texts) for (const m of codeText(text, codebook)) found.add(m.code);
  // The brand first, then competitors in the aided list's order.
  return [...labels.keys()].filter((code) => found.has(code)).map((code) => labels.get(code)!);
}

const isAwareness = (q: SurveyQuestion, aided: SurveyQuestion | undefined) =>
  isUnaided(q) || q === aided || /awareness/.test(q.metricName ?? "");

export function primingProblems(study: PrimingStudy, questions: readonly SurveyQuestion[]): PrimingProblem[] {
  const problems: PrimingProblem[] = [];
  const { codebook, labels } = namesOf(study, questions);

  const title = study.publicTitle ? namedIn([study.publicTitle], codebook, labels) : [];
  if (title.length) problems.push({ kind: "title_names_brand", names: title });

  // Pages as respondents get them (unaided questions always end theirs).
  const pageOf: number[] = [];
  paginate(questions, study.pageSize).forEach((page, p) => page.forEach(() => pageOf.push(p)));
  const unaided = questions.map((q, i) => (isUnaided(q) ? i : -1)).filter((i) => i >= 0);
  questions.forEach((q, i) => {
    // The first unaided question whose page this question's page does not follow.
    const before = unaided.find((u) => pageOf[i]! <= pageOf[u]!);
    if (before === undefined) return;
    const names = namedIn(visibleTexts(q), codebook, labels);
    if (names.length) problems.push({ kind: "names_before_unaided", question: i, unaided: before, names });
  });

  const aided = aidedQuestion(questions);
  const aidedAt = aided ? questions.indexOf(aided) : -1;
  if (aidedAt >= 0) for (const u of unaided) if (u > aidedAt) problems.push({ kind: "unaided_after_aided", unaided: u, aided: aidedAt });

  const lastAwareness = questions.reduce((last, q, i) => (isAwareness(q, aided) ? i : last), -1);
  questions.forEach((q, i) => {
    if (q.metricName !== AD_RECALL_METRIC || i > lastAwareness) return;
    const next = questions.findIndex((x, j) => j > i && isAwareness(x, aided));
    problems.push({ kind: "ad_recall_before_awareness", adRecall: i, awareness: next });
  });
  return problems;
}
