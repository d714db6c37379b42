import type { Executor } from "../../db/client.js";
import { countChoices, countMetricBasesWithEveryone, countRespondents, type MetricBase, type RespondentCount } from "../../db/queries/aggregation.js";
import { listFeedback } from "../../db/queries/feedback.js";
import type { WeightedShare } from "../../stats/index.js";
import { computeThemeGroups, feedbackQuestions, type ThemeGroupData } from "../quality/themes-service.js";
import { shiftVariables } from "../services/comparability.js";
import { countCompetitors, type CompetitorCounts } from "../services/competitors.js";
import { metricDefinitions, weightingInput, type ResultsScope } from "../services/results.js";
import { computeWeighting, type WeightingProblem } from "../services/weighted-results.js";

/**
 * Everything the results of a study are computed from, read from the database in one go: the
 * per-response work (SQL aggregates over every response, the raking of weights, the themes of open
 * answers). No labels and nothing in a reader's language, JSON as it is, so it can be stored as a
 * snapshot and turned into a page, an export or the API's answer in any language by
 * assembleResults (server/services/results.ts). Ids refer to the scope it was read with.
 */
export interface ResultsData {
  /** Completed responses of the compared waves ("from N responses"). */
  responses: number;
  respondents: RespondentCount[];
  /** Bases and aware counts per metric × wave × segment, by the options' filter. */
  bases: MetricBase[];
  /** The same over every completed response, excluded and flagged ones too (the sensitivity view). */
  everyone: MetricBase[];
  /**
   * Aware counts and bases per metric × wave × segment of every wave of the study (the trends and
   * KPIs), from the same reading as `bases` (whose cells are these cells of the compared waves).
   * Absent in snapshots stored before trends existed: read as `bases`.
   */
  series?: SeriesCell[];
  /** Raked shares per cell ("metric|segmentId|waveId"), the profile variables and the cells that could not be weighted; null without margins. */
  weighting: { shares: Array<[string, WeightedShare]>; variables: string[]; problems: WeightingProblem[] } | null;
  competitors: CompetitorCounts;
  /** Answers per option of the profile questions, per wave and segment (the waves' make-up). */
  profiles: Array<{ waveId: number; segmentId: number; questionId: number; optionId: number; n: number }>;
  /** Themes of open feedback per question, wave and segment (every wave of the study). */
  themes: ThemeGroupData[];
  /** The latest open answers per wave and segment (FEEDBACK_ALL each), newest first: any filter of the list is a merge of these. */
  feedback: FeedbackEntry[];
}

export type SeriesCell = Pick<MetricBase, "metric" | "waveId" | "segmentId" | "x" | "n">;

export interface FeedbackEntry {
  answerId: number;
  text: string;
  questionId: number;
  waveId: number;
  segmentId: number;
  /** Milliseconds (JSON keeps no dates). */
  completedAt: number | null;
}

/** The most verbatims a page lists ("all answers"); the page's sample is fewer. */
export const FEEDBACK_ALL = 500;

/** Completed responses of the compared waves: counted, excluded, and flagged when left out ("from N responses"). */
export function comparedResponses(respondents: readonly RespondentCount[], flagged: boolean): number {
  return respondents.reduce((n, r) => n + r.n + r.excluded + (flagged ? 0 : r.flagged), 0);
}

/**
 * Reads every aggregate of the results of `scope`. Seconds at a million responses: it runs where
 * a snapshot is computed (a worker thread, or inline for a small study), never per page view.
 */
export async function gatherResultsData(db: Executor, scope: ResultsScope): Promise<ResultsData> {
  const { study, pre, post, waves, segments, questions } = scope;
  const metrics = metricDefinitions(questions);
  const filter = { waveIds: [pre.id, post.id], includeFlagged: scope.flagged };
  const respondents = await countRespondents(db, filter);
  // Every wave in one reading: the compared pair's cells are the same counts as a pair-only query's.
  const compared = (b: { waveId: number }) => b.waveId === pre.id || b.waveId === post.id;
  const all = await countMetricBasesWithEveryone(db, metrics, { ...filter, waveIds: waves.map((w) => w.id) });
  const bases = all.bases.filter(compared);
  const everyone = all.everyone.filter(compared);
  const series = all.bases.map(({ metric, waveId, segmentId, x, n }) => ({ metric, waveId, segmentId, x, n }));
  // Weighted shares of every wave (for weighted trends); the pair's table reads its own cells.
  const weighting = await computeWeighting(db, { ...weightingInput({ study, pre, post, segments, questions, options: { flagged: scope.flagged } }), waves, filter: { ...filter, waveIds: waves.map((w) => w.id) } });
  const competitors = await countCompetitors(db, study, questions, filter);
  const profiles = await countChoices(db, shiftVariables(questions).map((q) => q.id), filter);
  const themes = await computeThemeGroups(db, { questions, waves, segments, includeFlagged: scope.flagged });
  const feedback: FeedbackEntry[] = [];
  const questionIds = feedbackQuestions(questions).map((q) => q.id);
  for (const wave of waves) {
    for (const segment of segments) {
      const rows = await listFeedback(db, { questionIds, waveIds: [wave.id], segmentId: segment.id, limit: FEEDBACK_ALL });
      for (const r of rows) feedback.push({ ...r, text: r.text ?? "", completedAt: r.completedAt?.getTime() ?? null });
    }
  }
  return {
    responses: comparedResponses(respondents, scope.flagged),
    respondents,
    bases,
    everyone,
    series,
    weighting: weighting && { shares: [...weighting.shares], variables: weighting.variables, problems: weighting.problems },
    competitors,
    profiles,
    themes,
    feedback,
  };
}

/**
 * The verbatims a page lists: answers to the questionnaire's open questions (a snapshot may be of
 * an older one), of the wave and segment chosen (all when none), newest first, at most `limit`
 * (≤ FEEDBACK_ALL), from the latest ones per wave and segment that were read.
 */
export function feedbackOf(data: Pick<ResultsData, "feedback">, f: { questionIds: ReadonlySet<number>; waveId?: number | undefined; segmentId?: number | undefined; limit: number }) {
  return data.feedback
    .filter((e) => f.questionIds.has(e.questionId) && (!f.waveId || e.waveId === f.waveId) && (!f.segmentId || e.segmentId === f.segmentId))
    .sort((a, b) => (b.completedAt ?? -Infinity) - (a.completedAt ?? -Infinity) || b.answerId - a.answerId)
    .slice(0, f.limit)
    .map((e) => ({ ...e, completedAt: e.completedAt === null ? null : new Date(e.completedAt) }));
}
