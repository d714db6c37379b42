import type { SurveyQuestion } from "../domain/questionnaire.js";
import { compareWaves, type Comparability } from "../domain/comparability.js";
import type { StudyResults } from "./results.js";

export interface WaveShift {
  segmentId: number;
  variable: SurveyQuestion;
  result: Extract<Comparability, { kind: "differs" }>;
}

/** The profile questions whose make-up is compared between the waves. */
export const shiftVariables = (questions: readonly SurveyQuestion[]) => questions.filter((q) => q.profile === true && q.type === "single");

/**
 * Per segment and profile variable, whether the compared waves' respondents differ in make-up
 * (domain/comparability.ts): the shifts to warn about before anyone reads a lift. Counts the
 * respondents the results count (completed, not excluded, flagged as the results choose), from the
 * results' own reading of the data (ResultsData.profiles).
 */
export function waveShifts(results: Pick<StudyResults, "questions" | "segments" | "pre" | "post" | "data">): WaveShift[] {
  const variables = shiftVariables(results.questions);
  const shifts: WaveShift[] = [];
  for (const segment of results.segments) {
    for (const variable of variables) {
      const keyOf = new Map(variable.options.filter((o) => o.key !== "prefer_not").map((o) => [o.id, o.key]));
      const tally = (waveId: number) => {
        const counts: Record<string, number> = {};
        for (const c of results.data.profiles) {
          const key = keyOf.get(c.optionId);
          if (c.segmentId === segment.id && c.waveId === waveId && c.questionId === variable.id && key) counts[key] = (counts[key] ?? 0) + c.n;
        }
        return counts;
      };
      const result = compareWaves(tally(results.pre.id), tally(results.post.id));
      if (result.kind === "differs") shifts.push({ segmentId: segment.id, variable, result });
    }
  }
  return shifts;
}
