import type { Executor } from "../../db/client.js";
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
export function marginsFor(rows: Awaited<ReturnType<typeof listMargins>>, questions: readonly SurveyQuestion[], segmentId: number, waveId: number): Margins {
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

/** One metric × segment × wave cell as weighted: its respondents' outcomes, profile answers and margins. */
export interface WeightingCell {
  metric: string;
  segmentId: number;
  waveId: number;
  /** The segment's population margins for this wave (empty: none entered). */
  margins: Margins;
  y: Array<0 | 1>;
  /** Each respondent's profile answers (question key → option key), in the order of `y`. */
  profiles: Array<Record<string, string>>;
}

type WeightingInput = { studyId: number; waves: readonly Wave[]; segments: readonly Segment[]; questions: readonly SurveyQuestion[]; metrics: readonly MetricDefinition[]; filter: CountFilter };

/**
 * Every metric × segment × wave cell of the given waves with its respondents and margins, read
 * once; null when the study has no margins at all. The one reading behind the weighted results and
 * the R script's weighting data, so both weigh the same respondents.
 */
export async function weightingCells(db: Executor, input: WeightingInput): Promise<WeightingCell[] | null> {
  const rows = await listMargins(db, input.studyId);
  if (rows.length === 0) return null;
  const profileQuestions = input.questions.filter((q) => q.type === "single" && rows.some((r) => r.questionId === q.id));
  const optionKey = new Map(profileQuestions.flatMap((q) => q.options.map((o) => [o.id, o.key] as const)));
  const questionKey = new Map(profileQuestions.map((q) => [q.id, q.key]));
  const profiles = new Map<number, Record<string, string>>();
  for (const c of await listChoices(db, profileQuestions.map((q) => q.id), input.filter)) {
    const answer = profiles.get(c.responseId) ?? {};
    answer[questionKey.get(c.questionId)!] = optionKey.get(c.optionId)!;
    profiles.set(c.responseId, answer);
  }
  const cells: WeightingCell[] = [];
  for (const metric of input.metrics) {
    const outcomes = await listMetricOutcomes(db, metric, input.filter);
    for (const segment of input.segments) {
      for (const wave of input.waves) {
        const cell = outcomes.filter((o) => o.segmentId === segment.id && o.waveId === wave.id);
        cells.push({
          metric: metric.metric,
          segmentId: segment.id,
          waveId: wave.id,
          margins: marginsFor(rows, profileQuestions, segment.id, wave.id),
          y: cell.map((o) => o.y),
          profiles: cell.map((o) => profiles.get(o.responseId) ?? {}),
        });
      }
    }
  }
  return cells;
}

/**
 * Weighted shares of every metric × segment × wave cell of the compared waves, each cell raked to
 * its segment's margins (see domain/weighting.ts for respondents without a profile answer). Null
 * when the study has no margins at all. A cell that cannot be weighted is listed in `problems`;
 * the caller then shows the unweighted table and says why.
 */
export async function computeWeighting(db: Executor, input: WeightingInput): Promise<Weighting | null> {
  const cells = await weightingCells(db, input);
  if (cells === null) return null;
  const shares = new Map<string, WeightedShare>();
  const problems: WeightingProblem[] = [];
  const variables = new Set<string>();
  for (const { metric, segmentId, waveId, margins, y, profiles } of cells) {
    if (Object.keys(margins).length === 0) {
      problems.push({ metric, segmentId, waveId, problem: { kind: "no_margins" } });
      continue;
    }
    Object.keys(margins).forEach((v) => variables.add(v));
    if (y.length === 0) continue;
    const result = weightCell(y, profiles, margins);
    if (result.ok) {
      const { p, se, nEff } = result.estimate;
      shares.set(cellKey(metric, segmentId, waveId), { p, se, nEff });
    } else {
      problems.push({ metric, segmentId, waveId, problem: result.problem });
    }
  }
  return { shares, variables: [...variables], problems };
}
