import type { Db } from "../../db/client.js";
import { listChoices } from "../../db/queries/aggregation.js";
import { compareWaves, type Comparability } from "../domain/comparability.js";
import type { SurveyQuestion } from "../domain/questionnaire.js";
import type { StudyResults } from "./results.js";

export interface WaveShift {
  segmentId: number;
  variable: SurveyQuestion;
  result: Extract<Comparability, { kind: "differs" }>;
}

/**
 * Per segment and profile variable, whether the compared waves' respondents differ in make-up
 * (domain/comparability.ts): the shifts to warn about before anyone reads a lift. Counts the
 * respondents the results count (completed, not excluded, flagged as the results choose).
 */
export async function waveShifts(db: Db, results: StudyResults): Promise<WaveShift[]> {
  const variables = results.questions.filter((q) => q.profile === true && q.type === "single");
  if (variables.length === 0) return [];
  const filter = { waveIds: [results.pre.id, results.post.id], includeFlagged: results.options.flagged };
  const choices = await listChoices(db, variables.map((q) => q.id), filter);
  const shifts: WaveShift[] = [];
  for (const segment of results.segments) {
    for (const variable of variables) {
      const keyOf = new Map(variable.options.filter((o) => o.key !== "prefer_not").map((o) => [o.id, o.key]));
      const tally = (waveId: number) => {
        const counts: Record<string, number> = {};
        for (const c of choices) {
          const key = keyOf.get(c.optionId);
          if (c.segmentId === segment.id && c.waveId === waveId && c.questionId === variable.id && key) counts[key] = (counts[key] ?? 0) + 1;
        }
        return counts;
      };
      const result = compareWaves(tally(results.pre.id), tally(results.post.id));
      if (result.kind === "differs") shifts.push({ segmentId: segment.id, variable, result });
    }
  }
  return shifts;
}
