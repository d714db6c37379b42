import { z } from "zod";
import {
  CONFIDENCE_LEVELS,
  liftTable,
  type AdjustmentMethod,
  type ConfidenceLevel,
  type LiftTable,
  type LiftTableCount,
  type Trends,
  type WeightedShare,
} from "../../stats/index.js";
import type { Db, Executor } from "../../db/client.js";
import type { MetricBase, MetricDefinition, RespondentCount } from "../../db/queries/aggregation.js";
import { listWaves, listWaveSegments } from "../../db/queries/fieldwork.js";
import { listKpis } from "../../db/queries/kpis.js";
import { loadQuestionnaire } from "../../db/queries/questionnaire.js";
import { listSegments } from "../../db/queries/studies.js";
import type { Locale, Segment, Study, Wave, WaveNote } from "../../db/schema.js";
import { localize, type SurveyQuestion } from "../domain/questionnaire.js";
import { BRAND_CODE } from "../domain/text-coding.js";
import { competitorChecksOf, type CompetitorCheck } from "./competitors.js";
import { periodCosts, tracking, type KpiResult, type PeriodCost } from "./tracking.js";
import { audienceSizesOf, listWaveNotes } from "../../db/queries/wave-notes.js";
import { cellKey, weightingCells, type WeightingCell, type WeightingProblem } from "./weighted-results.js";
import type { Translate } from "../i18n/index.js";
import { gatherResultsData, type ResultsData } from "../results-snapshots/gather.js";

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

/** How fresh the numbers are: when and from how many responses they were computed, and whether the data changed since. */
export interface ResultsFreshness {
  computedAt: Date;
  /** Completed responses of the compared waves the numbers were computed from. */
  responses: number;
  /** False: the data changed after they were computed; a recomputation is under way (these are the last numbers). */
  current: boolean;
}

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
  /** Every metric × segment over the waves with responses (stats/trend.ts); null with fewer than two such waves. Weighted when the table is and every wave could be weighted. */
  trends: Trends | null;
  /** The study's KPIs with their statuses (stats/kpi.ts), read off the same counts. */
  kpis: KpiResult[];
  /** Notes on the work of each wave's period (read beside the snapshot, as KPIs are). */
  notes: WaveNote[];
  /** Each period's cost per lifted user per metric × segment of the trends (services/tracking.ts periodCosts). */
  costs: PeriodCost[];
  /** The aggregates everything above was computed from (one reading of the data: the sensitivity view, shifts, themes and verbatims come from it too). */
  data: ResultsData;
  freshness: ResultsFreshness;
}

export type ResultsProblem = "no_waves";

/** A metric's label: a known metric name in the reader's language, else its question's text. */
export function metricLabel(t: Translate, name: string, question: SurveyQuestion, locale: Locale, fallback: Locale): string {
  const key = `metrics.${name}`;
  const known = t(key);
  return known !== key ? known : localize(question.text, locale, fallback) || name;
}

/** What the results of a study are computed over: its waves, the compared pair, segments and questionnaire. */
export interface ResultsScope {
  study: Study;
  waves: Wave[];
  pre: Wave;
  post: Wave;
  segments: Segment[];
  questions: SurveyQuestion[];
  /** Whether flagged (not excluded) responses count. */
  flagged: boolean;
}

/** The waves compared (the options' or the defaults), segments and questionnaire: a few small reads. */
export async function resultsScope(db: Executor, study: Study, options: Pick<ResultsQuery, "pre" | "post" | "flagged">): Promise<ResultsScope | ResultsProblem> {
  const waves = await listWaves(db, study.id);
  const chosenPre = options.pre ? waves.find((w) => w.id === options.pre) : undefined;
  const chosenPost = options.post ? waves.find((w) => w.id === options.post) : undefined;
  const defaults = defaultWaves(waves);
  const pre = chosenPre ?? defaults.pre;
  const post = chosenPost ?? defaults.post;
  if (!pre || !post || pre.id === post.id) return "no_waves";
  return { study, waves, pre, post, segments: await listSegments(db, study.id), questions: await loadQuestionnaire(db, study.id), flagged: options.flagged };
}

/**
 * Results computed now from the database, without a snapshot: the scope, every aggregate, then
 * the table. Pages, exports and the API read them through server/results-snapshots (the same
 * computation, stored per data version); this is that computation in one call (tests, benchmarks).
 */
export async function computeResults(db: Db, study: Study, options: ResultsQuery, locale: Locale, t: Translate): Promise<StudyResults | ResultsProblem> {
  const scope = await resultsScope(db, study, options);
  if (scope === "no_waves") return scope;
  const data = await gatherResultsData(db, scope);
  return assembleResults(db, scope, data, options, { computedAt: new Date(), responses: data.responses, current: true }, locale, t);
}

/**
 * The results from their aggregates, in the reader's language: the lift table (weighted when asked
 * and possible), labels, bases, competitors. Cheap (no per-response work): it runs on every page
 * view. The aggregates may be of an older questionnaire (a stale snapshot): cells of metrics or
 * segments that no longer exist are left out.
 */
export async function assembleResults(
  db: Executor,
  scope: ResultsScope,
  data: ResultsData,
  options: ResultsQuery,
  freshness: ResultsFreshness,
  locale: Locale,
  t: Translate,
): Promise<StudyResults> {
  const { study, waves, pre, post, segments, questions } = scope;
  const metrics = metricDefinitions(questions);
  const metricLabels = Object.fromEntries(
    metrics.map((m) => [m.metric, metricLabel(t, m.metric, questions.find((q) => q.id === m.questionId)!, locale, study.defaultLocale)]),
  );
  // A snapshot carries every wave's weighting (the trends); the pair's table needs only its own cells.
  const weighting = data.weighting && { ...data.weighting, problems: data.weighting.problems.filter((p) => p.waveId === pre.id || p.waveId === post.id) };
  const available = weighting !== null && weighting.problems.length === 0;
  const applied = available && options.weighted !== false;
  const { counts, table } = await liftTableOf(db, { study, pre, post, segments, metrics, metricLabels, options, locale, t }, data.bases, applied ? new Map(weighting.shares) : null);
  const segmentKey = new Map(segments.map((s) => [s.id, s.key]));
  const known = new Set(metrics.map((m) => m.metric));
  const bases = data.bases
    .filter((b) => known.has(b.metric) && segmentKey.has(b.segmentId))
    .map(({ metric, waveId, segmentId, n, skipped, partial, excluded, decoy, flagged }) => ({
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
  const tracked = tracking({
    waves,
    segments,
    metrics: metrics.map((m) => m.metric),
    series: data.series ?? data.bases,
    weightedShares: applied && data.weighting!.problems.length === 0 ? new Map(data.weighting!.shares) : null,
    kpis: await listKpis(db, study.id),
    confidence: options.confidence as ConfidenceLevel,
    adjustment: options.adjustment,
  });
  const notes = await listWaveNotes(db, study.id);
  const costs = periodCosts({
    trends: tracked.trends,
    waves,
    segments,
    notes,
    audience: notes.some((n) => n.amount !== null) ? await audienceSizesOf(db, waves.map((w) => w.id)) : new Map(),
  });
  const competitors = competitorChecksOf(data.competitors, { study, pre, post, segments, questions, table, confidence: options.confidence as ConfidenceLevel, locale });
  return {
    study,
    waves,
    pre,
    post,
    segments,
    questions,
    options: { ...options, weighted: applied },
    counts,
    respondents: data.respondents.filter((r) => segmentKey.has(r.segmentId)),
    bases,
    table,
    metricLabels,
    competitors,
    trends: tracked.trends,
    kpis: tracked.kpis,
    notes,
    costs,
    weighting: weighting && { available, applied, variables: weighting.variables, problems: weighting.problems },
    data,
    freshness,
  };
}

type WeightingScope = Pick<StudyResults, "study" | "pre" | "post" | "segments" | "questions"> & { options: Pick<ResultsQuery, "flagged"> };

export function weightingInput({ study, pre, post, segments, questions, options }: WeightingScope) {
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
  db: Executor,
  { study, pre, post, segments, metrics, metricLabels, options, locale, t }: TableInput,
  bases: ReadonlyArray<Pick<MetricBase, "metric" | "waveId" | "segmentId" | "x" | "n">>,
  weightedShares: ReadonlyMap<string, WeightedShare> | null = null,
): Promise<{ counts: LiftTableCount[]; table: LiftTable }> {
  const segmentKey = new Map(segments.map((s) => [s.id, s.key]));
  const known = new Set(metrics.map((m) => m.metric));
  const counts: LiftTableCount[] = [];
  for (const b of bases) {
    if (b.n === 0 || !known.has(b.metric) || !segmentKey.has(b.segmentId)) continue;
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
 * Counted in the same reading of the data as the results (ResultsData.everyone).
 */
export async function liftTableWithoutExclusions(db: Executor, results: StudyResults, locale: Locale, t: Translate): Promise<LiftTable> {
  const metrics = metricDefinitions(results.questions);
  return (await liftTableOf(db, { ...results, metrics, locale, t }, results.data.everyone)).table;
}
