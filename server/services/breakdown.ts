import { liftTable, type ConfidenceLevel, type LiftTable, type LiftTableCount } from "../../stats/index.js";
import type { Locale } from "../../db/schema.js";
import { localize, type SurveyQuestion } from "../domain/questionnaire.js";
import { segmentName } from "../domain/segments.js";
import type { Translate } from "../i18n/index.js";
import { breakdownVariables, type BreakdownCounts } from "../results-snapshots/breakdown.js";
import { metricDefinitions, type StudyResults } from "./results.js";

/** The level key respondents without an answer to the profile question fall under. */
export const NO_ANSWER_LEVEL = "no_answer";

export interface Breakdown {
  variable: SurveyQuestion;
  /** The profile questions one can break down by. */
  variables: SurveyQuestion[];
  /** One lift table: every exposed segment x category of the variable is a row, one family per metric. */
  table: LiftTable;
  /** Cells as "segmentKey|level" → the segment's and the category's labels. */
  cells: Map<string, { segment: string; level: string }>;
}

/**
 * Lift by a profile variable within each exposed segment (e.g. age group within subscribers), the
 * same verdict rules as the results: each metric's cells are one family, adjusted together (the
 * page states its size); small cells are marked by the table's warnings. Unweighted: a cell is
 * already one profile group. Respondents without an answer form their own cell, as do those whose
 * option the questionnaire no longer has. From the precomputed counts (a snapshot of the same data
 * as `results`, or an older one while it is recomputed): no per-response work, it runs per view.
 * Null without profile questions; "not_counted" when the counts predate the variable asked for.
 */
export function breakdownFrom(results: StudyResults, data: BreakdownCounts, variableKey: string | undefined, locale: Locale, t: Translate): Breakdown | "not_counted" | null {
  const variables = breakdownVariables(results.questions);
  const variable = variables.find((q) => q.key === variableKey) ?? variables[0];
  if (!variable) return null;
  if (!data.variables.includes(variable.id)) return "not_counted";
  const optionKey = new Map(variable.options.map((o) => [o.id, o.key]));

  const exposed = results.segments.filter((s) => s.role === "exposed");
  const levels = [...variable.options.map((o) => o.key), NO_ANSWER_LEVEL];
  const cells = new Map<string, { segment: string; level: string }>();
  for (const s of exposed) {
    for (const level of levels) {
      const option = variable.options.find((o) => o.key === level);
      cells.set(`${s.key}|${level}`, {
        segment: segmentName(s, locale, results.study.defaultLocale, t),
        level: option ? localize(option.text, locale, results.study.defaultLocale) || level : t("breakdown.noAnswer"),
      });
    }
  }
  const counts: LiftTableCount[] = [];
  const metrics = metricDefinitions(results.questions);
  for (const m of metrics) {
    const tally = new Map<string, { x: number; n: number }>();
    for (const c of data.cells) {
      if (c.questionId !== variable.id || c.metric !== m.metric) continue;
      const segment = exposed.find((s) => s.id === c.segmentId);
      if (!segment) continue;
      const level = (c.optionId === null ? undefined : optionKey.get(c.optionId)) ?? NO_ANSWER_LEVEL;
      const key = `${segment.key}|${level}\u0000${c.waveId}`;
      const cell = tally.get(key) ?? { x: 0, n: 0 };
      cell.x += c.x;
      cell.n += c.n;
      tally.set(key, cell);
    }
    for (const [key, c] of tally) {
      const [cell, wave] = key.split("\u0000") as [string, string];
      counts.push({ metric: m.metric, segment: cell, wave, x: c.x, n: c.n });
    }
  }
  // Cells nobody is in (a category no one chose) are left out of the family: it is the cells the
  // breakdown can show, stated on the page.
  const present = new Set(counts.map((c) => c.segment));
  const table = liftTable({
    metrics: metrics.map((m) => ({ key: m.metric, label: results.metricLabels[m.metric]! })),
    segments: [...cells].filter(([key]) => present.has(key)).map(([key, c]) => ({ key, label: `${c.segment}: ${c.level}`, role: "exposed" as const })),
    counts,
    waves: { pre: String(results.pre.id), post: String(results.post.id) },
    confidenceLevel: results.options.confidence as ConfidenceLevel,
    adjustment: results.options.adjustment,
  });
  // A breakdown has no total of its own: the results page has the segments' totals.
  return { variable, variables, table: { ...table, rows: table.rows.filter((r) => r.kind === "segment") }, cells };
}
