import type { Locale } from "../../db/schema.js";
import { marginErrorMessage, PREFER_NOT_KEY, type MarginError } from "../domain/margins.js";
import { profileProblems } from "../domain/profile.js";
import { localize, type SurveyQuestion } from "../domain/questionnaire.js";
import type { Translate } from "../i18n/index.js";
import type { ResolvedMargin, StudyMarginContext } from "../services/weighting.js";

const SNIPPET = 60;

/** The builder's warnings about profile questions, as sentences (questions by number and wording, never by key). */
export function profileWarnings(defaultLocale: Locale, questions: readonly SurveyQuestion[], t: Translate, locale: Locale): string[] {
  const ref = (i: number) => {
    const text = localize(questions[i]?.text, locale, defaultLocale);
    return t("priming.question", { n: i + 1, text: text.length > SNIPPET ? `${text.slice(0, SNIPPET - 1).trimEnd()}…` : text });
  };
  return profileProblems(questions).map((p) => t("weighting.warnings.profileBeforeMetric", { profile: ref(p.profile), metric: ref(p.metric) }));
}

/** Import errors as sentences naming their row, in the reader's language. */
export function marginErrorMessages(errors: readonly MarginError[], t: Translate): string[] {
  return errors.map((e) => marginErrorMessage(e, t));
}

/** A share as people read it: a percentage with one decimal at most (42 %, 33,3 %). */
export function shareFormat(locale: Locale): (share: number) => string {
  const f = new Intl.NumberFormat(locale === "ru" ? "ru-RU" : "en-GB", { style: "percent", maximumFractionDigits: 1 });
  return (share) => f.format(share);
}

export interface MarginTable {
  /** What the delete form names. */
  segmentId: number;
  waveId: number | null;
  questionId: number;
  variable: string;
  scope: string;
  rows: Array<{ level: string; share: string }>;
  total: string;
}

export interface WeightingView {
  /** One block per segment that has margins, tables per (wave scope, variable). */
  segments: Array<{ label: string; tables: MarginTable[] }>;
  /** The keys an import names things by. */
  keys: {
    segments: Array<{ key: string; label: string }>;
    waves: string[];
    variables: Array<{ key: string; label: string; levels: Array<{ key: string; label: string; target: boolean }> }>;
  };
}

/** The Weighting page: current margins by segment and variable (labels, not keys), and the keys to import by. */
export function weightingView(context: StudyMarginContext, margins: readonly ResolvedMargin[], defaultLocale: Locale, t: Translate, locale: Locale): WeightingView {
  const text = (v: Parameters<typeof localize>[0]) => localize(v, locale, defaultLocale);
  const share = shareFormat(locale);
  const segments = new Map<number, { label: string; tables: Map<string, MarginTable & { sum: number }> }>();
  for (const m of margins) {
    let block = segments.get(m.segment.id);
    if (!block) {
      block = { label: text(m.segment.label) || m.segment.key, tables: new Map() };
      segments.set(m.segment.id, block);
    }
    const key = `${m.margin.waveId ?? ""}|${m.question.id}`;
    let table = block.tables.get(key);
    if (!table) {
      table = {
        segmentId: m.segment.id,
        waveId: m.margin.waveId,
        questionId: m.question.id,
        variable: text(m.question.text) || m.question.key,
        scope: m.wave ? m.wave.label : t("weighting.page.allWaves"),
        rows: [],
        total: "",
        sum: 0,
      };
      block.tables.set(key, table);
    }
    table.rows.push({ level: m.option ? text(m.option.text) || m.option.key : m.margin.optionKey, share: share(m.margin.share) });
    table.sum += m.margin.share;
  }
  return {
    segments: [...segments.values()].map((b) => ({ label: b.label, tables: [...b.tables.values()].map(({ sum, ...table }) => ({ ...table, total: share(sum) })) })),
    keys: {
      segments: context.segments.map((s) => ({ key: s.key, label: text(s.label) || s.key })),
      waves: context.waves.map((w) => w.label),
      variables: context.questions
        .filter((q) => q.profile)
        .map((q) => ({
          key: q.key,
          label: text(q.text),
          levels: q.options.map((o) => ({ key: o.key, label: text(o.text), target: o.key !== PREFER_NOT_KEY })),
        })),
    },
  };
}

/**
 * Examples of both formats for the import form, made of the study's own keys where it has them
 * (its first segment and profile question), so they can be copied and edited.
 */
export function marginExamples(view: WeightingView): { csvExample: string; jsonExample: string } {
  const segment = view.keys.segments[0]?.key ?? "subscribers";
  const variable = view.keys.variables[0];
  const levels = variable ? variable.levels.filter((l) => l.target).map((l) => l.key) : ["female", "male"];
  const shares = evenShares(levels.length);
  const key = variable?.key ?? "gender";
  const wave = view.keys.waves.at(-1);
  const csv = ["segment,wave,variable,level,share", ...levels.map((l, i) => `${segment},,${key},${l},${percent(shares[i]!)}`)];
  if (wave !== undefined) csv.push(...levels.map((l, i) => `${segment},${csvCell(wave)},${key},${l},${shares[i]}`));
  const json = { margins: [{ segment, wave: null, variable: key, shares: Object.fromEntries(levels.map((l, i) => [l, shares[i]])) }] };
  return { csvExample: csv.join("\n"), jsonExample: JSON.stringify(json, null, 1).replace(/\n\s*/g, " ") };
}

/** n shares that sum to exactly 1 with two decimals (the last takes the rounding). */
function evenShares(n: number): number[] {
  if (n === 0) return [];
  const each = Math.floor(100 / n) / 100;
  return [...Array.from({ length: n - 1 }, () => each), Math.round((1 - each * (n - 1)) * 100) / 100];
}

const percent = (share: number) => `${Math.round(share * 100)}%`;
const csvCell = (value: string) => (/[",;\t]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value);
