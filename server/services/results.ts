import { z } from "zod";
import {
  CONFIDENCE_LEVELS,
  liftTable,
  type AdjustmentMethod,
  type ConfidenceLevel,
  type LiftTable,
  type LiftTableCount,
  type WeightedShare,
} from "../../stats/index.js";
import type { Db } from "../../db/client.js";
import { countMetricBases, countRespondents, type MetricBase, type MetricDefinition, type RespondentCount } from "../../db/queries/aggregation.js";
import { listWaves, listWaveSegments } from "../../db/queries/fieldwork.js";
import { loadQuestionnaire } from "../../db/queries/questionnaire.js";
import { listSegments } from "../../db/queries/studies.js";
import type { Locale, Segment, Study, Wave } from "../../db/schema.js";
import { localize, type SurveyQuestion } from "../domain/questionnaire.js";
import { BRAND_CODE } from "../domain/text-coding.js";
import { competitorChecks, type CompetitorCheck } from "./competitors.js";
import { cellKey, computeWeighting, weightingCells, type WeightingCell, type WeightingProblem } from "./weighted-results.js";
import type { Translate } from "../i18n/index.js";

/**
 * Results of a study: SQL counts per metric × segment × wave, handed to stats/liftTable.
 * The page, the exports, the R script and the API all go through computeResults.
 */

export const ADJUSTMENTS = ["holm", "bh", "bonferroni"] as const satisfies readonly AdjustmentMethod[];

/** A checkbox behind a hidden "0": the form sends ["0", "1"] when ticked, so the last value wins. */
const flag = z.preprocess((v) => {
  const last: unknown = Array.isArray(v) ? v[v.length - 1] : v;
  return last === "1" || last === "true" || last === true;
}, z.boolean());

/** Query parameters of the results page and API (all optional). */
export const resultsQuery = z.object({
  pre: z.coerce.number().int().positive().optional(),
  post: z.coerce.number().int().positive().optional(),
  confidence: z.coerce
    .number()
    .refine((c): c is ConfidenceLevel => (CONFIDENCE_LEVELS as readonly number[]).includes(c), "one of 0.8, 0.9, 0.95, 0.99")
    .default(0.95),
  adjustment: z.enum(ADJUSTMENTS).default("holm"),
  flagged: flag.default(true),
  /** Weight each wave to its segment's margins: on by default when the study has margins for every cell. */
  weighted: flag.optional(),
});
export type ResultsQuery = z.infer<typeof resultsQuery>;

/** Metric definitions of a questionnaire, resolved to option ids / values / mention codes. */
export function metricDefinitions(questions: readonly SurveyQuestion[]): MetricDefinition[] {
  const defs: MetricDefinition[] = [];
  for (const q of questions) {
    if (!q.metricName) continue;
    if (q.type === "single" || q.type === "multi") {
      const keys = new Set((q.metricPositive ?? []).map(String));
      const decoys = new Set(q.metricExclude ?? []);
      defs.push({
        metric: q.metricName,
        questionId: q.id,
        kind: "options",
        positive: q.options.filter((o) => keys.has(o.key)).map((o) => o.id),
        exclude: q.options.filter((o) => decoys.has(o.key) && !keys.has(o.key)).map((o) => o.id),
      });
    } else if (q.type === "scale") {
      defs.push({ metric: q.metricName, questionId: q.id, kind: "values", positive: (q.metricPositive ?? []).map(Number) });
    } else if (q.metricMatch?.length) {
      defs.push({ metric: q.metricName, questionId: q.id, kind: "mentions", positive: [BRAND_CODE] });
    }
  }
  return defs;
}

/** The default comparison: the first pre wave against the last post wave. */
export function defaultWaves(waves: readonly Wave[]): { pre: Wave | undefined; post: Wave | undefined } {
  const pre = waves.find((w) => w.kind === "pre") ?? waves[0];
  const post = [...waves].reverse().find((w) => w.kind === "post" && w.id !== pre?.id) ?? [...waves].reverse().find((w) => w.id !== pre?.id);
  return { pre, post };
}

/**
 * Who is left out of a metric's base in one wave and segment (see countMetricBases): each
 * respondent who started falls in n or in exactly one of the other counts.
 */
export type MetricBaseCell = Omit<MetricBase, "segmentId" | "x"> & {
  /** Segment key, as in the lift table's counts. */
  segment: string;
  /** skipped + partial + excluded + decoy + flagged: the "left out" column. */
  leftOut: number;
};

export interface StudyResults {
  study: Study;
  waves: Wave[];
  pre: Wave;
  post: Wave;
  segments: Segment[];
  questions: SurveyQuestion[];
  options: ResultsQuery;
  /** The counts given to liftTable (wave keys are wave ids as strings). */
  counts: LiftTableCount[];
  respondents: RespondentCount[];
  /** Per metric × wave × segment of the two compared waves: the base and who was left out of it. */
  bases: MetricBaseCell[];
  table: LiftTable;
  /** Metric key → label in the reader's language. */
  metricLabels: Record<string, string>;
  /** Every brand of the aided list (and coded in unaided answers) per wave, and the brand's lift net of them. */
  competitors: CompetitorCheck[];
  /**
   * Weighting to the segments' population margins: null when the study has none; else whether it
   * could be applied to every cell (`problems` say why not), whether this table is weighted, and
   * the profile variables used.
   */
  weighting: { available: boolean; applied: boolean; variables: string[]; problems: WeightingProblem[] } | null;
}

export type ResultsProblem = "no_waves";

/** A metric's label: a known metric name in the reader's language, else its question's text. */
export function metricLabel(t: Translate, name: string, question: SurveyQuestion, locale: Locale, fallback: Locale): string {
  const key = `metrics.${name}`;
  const known = t(key);
  return known !== key ? known : localize(question.text, locale, fallback) || name;
}

export async function computeResults(db: Db, study: Study, options: ResultsQuery, locale: Locale, t: Translate): Promise<StudyResults | ResultsProblem> {
  const waves = await listWaves(db, study.id);
  const chosenPre = options.pre ? waves.find((w) => w.id === options.pre) : undefined;
  const chosenPost = options.post ? waves.find((w) => w.id === options.post) : undefined;
  const defaults = defaultWaves(waves);
  const pre = chosenPre ?? defaults.pre;
  const post = chosenPost ?? defaults.post;
  if (!pre || !post || pre.id === post.id) return "no_waves";

  const segments = await listSegments(db, study.id);
  const questions = await loadQuestionnaire(db, study.id);
  const metrics = metricDefinitions(questions);
  const filter = { waveIds: [pre.id, post.id], includeFlagged: options.flagged };
  const respondents = await countRespondents(db, filter);
  const metricBases = await countMetricBases(db, metrics, filter);

  const metricLabels = Object.fromEntries(
    metrics.map((m) => [m.metric, metricLabel(t, m.metric, questions.find((q) => q.id === m.questionId)!, locale, study.defaultLocale)]),
  );
  const weighting = await computeWeighting(db, weightingInput({ study, pre, post, segments, questions, options }));
  const available = weighting !== null && weighting.problems.length === 0;
  const applied = available && options.weighted !== false;
  const { counts, table } = await liftTableOf(db, { study, pre, post, segments, metrics, metricLabels, options, locale, t }, metricBases, applied ? weighting.shares : null);
  const segmentKey = new Map(segments.map((s) => [s.id, s.key]));
  const bases = metricBases.map(({ metric, waveId, segmentId, n, skipped, partial, excluded, decoy, flagged }) => ({
    metric,
    segment: segmentKey.get(segmentId)!,
    waveId,
    n,
    skipped,
    partial,
    excluded,
    decoy,
    flagged,
    leftOut: skipped + partial + excluded + decoy + flagged,
  }));
  const competitors = await competitorChecks(db, { study, pre, post, segments, questions, table, filter, confidence: options.confidence as ConfidenceLevel, locale });
  return {
    study,
    waves,
    pre,
    post,
    segments,
    questions,
    options: { ...options, weighted: applied },
    counts,
    respondents,
    bases,
    table,
    metricLabels,
    competitors,
    weighting: weighting && { available, applied, variables: weighting.variables, problems: weighting.problems },
  };
}

type WeightingScope = Pick<StudyResults, "study" | "pre" | "post" | "segments" | "questions"> & { options: Pick<ResultsQuery, "flagged"> };

function weightingInput({ study, pre, post, segments, questions, options }: WeightingScope) {
  return { studyId: study.id, waves: [pre, post], segments, questions, metrics: metricDefinitions(questions), filter: { waveIds: [pre.id, post.id], includeFlagged: options.flagged } };
}

/** The respondents and margins the results' weighted table was computed from (for the R script). */
export async function resultsWeightingCells(db: Db, results: WeightingScope): Promise<WeightingCell[]> {
  return (await weightingCells(db, weightingInput(results))) ?? [];
}

interface TableInput {
  study: Study;
  pre: Wave;
  post: Wave;
  segments: Segment[];
  metrics: MetricDefinition[];
  metricLabels: Record<string, string>;
  options: ResultsQuery;
  locale: Locale;
  t: Translate;
}

/**
 * SQL counts → liftTable, with the study's audience sizes and campaign cost. Each metric has its
 * own base (who answered its question), so n differs between metrics of the same wave and segment.
 */
async function liftTableOf(
  db: Db,
  { study, pre, post, segments, metrics, metricLabels, options, locale, t }: TableInput,
  bases: ReadonlyArray<Pick<MetricBase, "metric" | "waveId" | "segmentId" | "x" | "n">>,
  weightedShares: ReadonlyMap<string, WeightedShare> | null = null,
): Promise<{ counts: LiftTableCount[]; table: LiftTable }> {
  const segmentKey = new Map(segments.map((s) => [s.id, s.key]));
  const known = new Set(metrics.map((m) => m.metric));
  const counts: LiftTableCount[] = [];
  for (const b of bases) {
    if (b.n === 0 || !known.has(b.metric)) continue;
    const weighted = weightedShares?.get(cellKey(b.metric, b.segmentId, b.waveId));
    counts.push({ metric: b.metric, segment: segmentKey.get(b.segmentId)!, wave: String(b.waveId), x: b.x, n: b.n, ...(weighted ? { weighted } : {}) });
  }

  // Audience sizes of the post wave describe the population the result speaks for.
  const audience = new Map((await listWaveSegments(db, post.id)).map((r) => [r.segmentId, r.audienceSize]));
  const table = liftTable({
    metrics: metrics.map((m) => ({ key: m.metric, label: metricLabels[m.metric]! })),
    segments: segments.map((s) => {
      const size = audience.get(s.id);
      return {
        key: s.key,
        label: localize(s.label, locale, study.defaultLocale) || s.key,
        role: s.role,
        ...(size ? { audienceSize: size } : {}),
      };
    }),
    counts,
    waves: { pre: String(pre.id), post: String(post.id) },
    confidenceLevel: options.confidence as ConfidenceLevel,
    adjustment: options.adjustment,
    ...(study.campaignCost !== null && study.costCurrency ? { campaign: { cost: study.campaignCost, currency: study.costCurrency } } : {}),
    totalLabel: t("results.total"),
  });
  return { counts, table };
}

/**
 * The same lift table over every completed response of the two waves, neither excluded nor
 * flagged ones left out: the "without exclusions" side of the sensitivity view. The base rule is
 * the results' own (answered the question, no decoy), so the two sides differ only by the ledger.
 */
export async function liftTableWithoutExclusions(db: Db, results: StudyResults, locale: Locale, t: Translate): Promise<LiftTable> {
  const metrics = metricDefinitions(results.questions);
  const waveIds = [results.pre.id, results.post.id];
  const everyone = { waveIds, includeFlagged: true, includeExcluded: true };
  return (await liftTableOf(db, { ...results, metrics, locale, t }, await countMetricBases(db, metrics, everyone))).table;
}
