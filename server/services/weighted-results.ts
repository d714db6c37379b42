import type { Db } from "../../db/client.js";
import { listChoices, listMetricOutcomes, type CountFilter, type MetricDefinition } from "../../db/queries/aggregation.js";
import { listMargins } from "../../db/queries/margins.js";
import type { Segment, Wave } from "../../db/schema.js";
import type { WeightedShare } from "../../stats/index.js";
import type { SurveyQuestion } from "../domain/questionnaire.js";
import { weightCell, type CellProblem, type Margins } from "../domain/weighting.js";

/** A cell that could not be weighted, named for the reader (keys resolved to labels by the presenter). */
export interface WeightingProblem {
  metric: string;
  segmentId: number;
  waveId: number;
  problem: CellProblem;
}

export interface Weighting {
  /** metric|segmentId|waveId → the weighted share, for every cell with respondents. */
  shares: Map<string, WeightedShare>;
  /** Profile question keys the study weights by (any segment). */
  variables: string[];
  problems: WeightingProblem[];
}

export const cellKey = (metric: string, segmentId: number, waveId: number) => `${metric}|${segmentId}|${waveId}`;

/**
 * The margins of a segment for a wave: the wave's own when it has any, else the study-wide ones;
 * keyed by profile question key and option key. Empty when the segment has none.
 */
export function marginsFor(rows: ReturnType<typeof listMargins>, questions: readonly SurveyQuestion[], segmentId: number, waveId: number): Margins {
  const forSegment = rows.filter((r) => r.segmentId === segmentId);
  const own = forSegment.filter((r) => r.waveId === waveId);
  const chosen = own.length > 0 ? own : forSegment.filter((r) => r.waveId === null);
  const keyOf = new Map(questions.map((q) => [q.id, q.key]));
  const margins: Margins = {};
  for (const r of chosen) {
    const variable = keyOf.get(r.questionId);
    if (variable === undefined) continue;
    (margins[variable] ??= {})[r.optionKey] = r.share;
  }
  return margins;
}

/**
 * Weighted shares of every metric × segment × wave cell of the compared waves, each cell raked to
 * its segment's margins (see domain/weighting.ts for respondents without a profile answer). Null
 * when the study has no margins at all. A cell that cannot be weighted is listed in `problems`;
 * the caller then shows the unweighted table and says why.
 */
export function computeWeighting(
  db: Db,
  input: { studyId: number; waves: readonly Wave[]; segments: readonly Segment[]; questions: readonly SurveyQuestion[]; metrics: readonly MetricDefinition[]; filter: CountFilter },
): Weighting | null {
  const rows = listMargins(db, input.studyId);
  if (rows.length === 0) return null;
  const profileQuestions = input.questions.filter((q) => q.type === "single" && rows.some((r) => r.questionId === q.id));
  const optionKey = new Map(profileQuestions.flatMap((q) => q.options.map((o) => [o.id, o.key] as const)));
  const questionKey = new Map(profileQuestions.map((q) => [q.id, q.key]));
  const profiles = new Map<number, Record<string, string>>();
  for (const c of listChoices(db, profileQuestions.map((q) => q.id), input.filter)) {
    const answer = (profiles.get(c.responseId) ?? {}) as Record<string, string>;
    answer[questionKey.get(c.questionId)!] = optionKey.get(c.optionId)!;
    profiles.set(c.responseId, answer);
  }

  const shares = new Map<string, WeightedShare>();
  const problems: WeightingProblem[] = [];
  const variables = new Set<string>();
  for (const metric of input.metrics) {
    const outcomes = listMetricOutcomes(db, metric, input.filter);
    for (const segment of input.segments) {
      for (const wave of input.waves) {
        const margins = marginsFor(rows, profileQuestions, segment.id, wave.id);
        if (Object.keys(margins).length === 0) {
          problems.push({ metric: metric.metric, segmentId: segment.id, waveId: wave.id, problem: { kind: "no_margins" } });
          continue;
        }
        Object.keys(margins).forEach((v) => variables.add(v));
        const cell = outcomes.filter((o) => o.segmentId === segment.id && o.waveId === wave.id);
        if (cell.length === 0) continue;
        const result = weightCell(cell.map((o) => o.y), cell.map((o) => profiles.get(o.responseId) ?? {}), margins);
        if (result.ok) {
          const { p, se, nEff } = result.estimate;
          shares.set(cellKey(metric.metric, segment.id, wave.id), { p, se, nEff });
        } else {
          problems.push({ metric: metric.metric, segmentId: segment.id, waveId: wave.id, problem: result.problem });
        }
      }
    }
  }
  return { shares, variables: [...variables], problems };
}
