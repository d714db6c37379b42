import type { Executor } from "../../db/client.js";
import { countRespondents, listChoices, listMetricOutcomes } from "../../db/queries/aggregation.js";
import type { SurveyQuestion } from "../domain/questionnaire.js";
import { metricDefinitions, type ResultsScope } from "../services/results.js";
import { comparedResponses } from "./gather.js";

/**
 * What the breakdown page is computed from (snapshot variant "breakdown"): for every profile
 * question, aware respondents and bases per metric × wave × segment × chosen option. The set of
 * profile questions is small and fixed by the questionnaire (its version is part of the data
 * version), so one snapshot serves every "break down by"; confidence level and adjustment are
 * applied on every view (server/services/breakdown.ts breakdownFrom). Ids, no labels.
 */
export interface BreakdownCounts {
  /** Completed responses of the compared waves, as the results count them ("from N responses"). */
  responses: number;
  /** The profile questions counted (a stale snapshot may lack a newer one). */
  variables: number[];
  cells: BreakdownCell[];
}

export interface BreakdownCell {
  questionId: number;
  metric: string;
  waveId: number;
  segmentId: number;
  /** The option the respondent chose, null: no answer to the question. */
  optionId: number | null;
  x: number;
  n: number;
}

/** The questions one can break the results down by: single-choice profile questions. */
export const breakdownVariables = (questions: readonly SurveyQuestion[]): SurveyQuestion[] => questions.filter((q) => q.profile === true && q.type === "single");

/**
 * Reads the counts of every profile question at once: each respondent's choices, then each
 * metric's base one respondent at a time, tallied by the choice of every question. Seconds at
 * tens of thousands of responses: it runs where snapshots are computed, never per page view.
 */
export async function gatherBreakdownCounts(db: Executor, scope: ResultsScope): Promise<BreakdownCounts> {
  const variables = breakdownVariables(scope.questions);
  const filter = { waveIds: [scope.pre.id, scope.post.id], includeFlagged: scope.flagged };
  const responses = comparedResponses(await countRespondents(db, filter), scope.flagged);
  if (variables.length === 0) return { responses, variables: [], cells: [] };
  // A response's choice per question (the last row read, should a question have two).
  const choices = new Map<number, Map<number, number>>(variables.map((v) => [v.id, new Map()]));
  for (const c of await listChoices(db, variables.map((v) => v.id), filter)) choices.get(c.questionId)!.set(c.responseId, c.optionId);

  const cells: BreakdownCell[] = [];
  for (const m of metricDefinitions(scope.questions)) {
    const outcomes = await listMetricOutcomes(db, m, filter);
    for (const v of variables) {
      const chosen = choices.get(v.id)!;
      const tally = new Map<string, BreakdownCell>();
      for (const o of outcomes) {
        const optionId = chosen.get(o.responseId) ?? null;
        const key = `${o.segmentId}|${optionId}|${o.waveId}`;
        let cell = tally.get(key);
        if (!cell) tally.set(key, (cell = { questionId: v.id, metric: m.metric, waveId: o.waveId, segmentId: o.segmentId, optionId, x: 0, n: 0 }));
        cell.x += o.y;
        cell.n += 1;
      }
      cells.push(...tally.values());
    }
  }
  return { responses, variables: variables.map((v) => v.id), cells };
}
