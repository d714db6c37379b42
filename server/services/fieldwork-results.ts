import type { Executor } from "../../db/client.js";
import { countMetricBases, countRespondents, type MetricBase } from "../../db/queries/aggregation.js";
import { listWaves } from "../../db/queries/fieldwork.js";
import { loadQuestionnaire } from "../../db/queries/questionnaire.js";
import { listSegments } from "../../db/queries/studies.js";
import type { Locale, Segment, Study, Wave } from "../../db/schema.js";
import { localize, type SurveyQuestion } from "../domain/questionnaire.js";
import type { Translate } from "../i18n/index.js";
import { baselineLevels, detectability, type BaselineCell, type Detectability, type FieldworkCount } from "./fieldwork-status.js";
import { defaultWaves, metricDefinitions, metricLabel, type ResultsQuery, type StudyResults } from "./results.js";

/**
 * The results page during fieldwork: the baseline levels while only the pre wave has responses,
 * and "lift detectable yet?" while the post wave runs. Counts come from the results' own base rule
 * (metricDefinitions + countMetricBases, or the StudyResults already computed), so n here is the n
 * the final table will use.
 */

export interface Labelled {
  key: string;
  label: string;
}

export interface BaselineData {
  wave: Wave;
  confidenceLevel: number;
  metrics: Labelled[];
  segments: Labelled[];
  cells: BaselineCell[];
}

export interface DetectabilityData extends Detectability {
  post: Wave;
  metrics: Labelled[];
  segments: Labelled[];
}

const segmentLabels = (segments: readonly Segment[], locale: Locale, fallback: Locale): Labelled[] =>
  segments.map((s) => ({ key: s.key, label: localize(s.label, locale, fallback) || s.key }));

/** What a baseline is computed over: the pre wave (else the first wave), segments and questionnaire. */
export interface BaselineScope {
  study: Study;
  wave: Wave;
  segments: Segment[];
  questions: SurveyQuestion[];
}

/** The counts behind a baseline (countMetricBases of its wave), JSON as it is: what a snapshot stores. */
export interface BaselineCounts {
  /** Completed responses of the wave ("from N responses"). */
  responses: number;
  bases: MetricBase[];
}

export async function baselineScope(db: Executor, study: Study): Promise<BaselineScope | null> {
  const wave = defaultWaves(await listWaves(db, study.id)).pre;
  if (!wave) return null;
  return { study, wave, segments: await listSegments(db, study.id), questions: await loadQuestionnaire(db, study.id) };
}

export async function gatherBaselineCounts(db: Executor, scope: BaselineScope, flagged: boolean): Promise<BaselineCounts> {
  const filter = { waveIds: [scope.wave.id], includeFlagged: flagged };
  const respondents = await countRespondents(db, filter);
  return {
    responses: respondents.reduce((n, r) => n + r.n + r.excluded + (flagged ? 0 : r.flagged), 0),
    bases: await countMetricBases(db, metricDefinitions(scope.questions), filter),
  };
}

/**
 * Baseline levels of a study that has no comparison yet (the results said "no_waves"): the
 * pre wave (else the first wave) when it has respondents in some metric's base; null otherwise.
 */
export function baselineFrom(scope: BaselineScope, counts: BaselineCounts, options: Pick<ResultsQuery, "confidence">, locale: Locale, t: Translate): BaselineData | null {
  const { study, wave, segments, questions } = scope;
  const metrics = metricDefinitions(questions);
  const segmentKey = new Map(segments.map((s) => [s.id, s.key]));
  const known = new Set(metrics.map((m) => m.metric));
  const cells = counts.bases
    .filter((b) => known.has(b.metric) && segmentKey.has(b.segmentId))
    .map((b) => ({ metric: b.metric, segment: segmentKey.get(b.segmentId)!, x: b.x, n: b.n }));
  const labels = metrics.map((m) => ({ key: m.metric, label: metricLabel(t, m.metric, questions.find((q) => q.id === m.questionId)!, locale, study.defaultLocale) }));
  const data = baselineOf(wave, options.confidence, labels, segmentLabels(segments, locale, study.defaultLocale), cells);
  return data.cells.length ? data : null;
}

function baselineOf(wave: Wave, confidenceLevel: number, metrics: Labelled[], segments: Labelled[], counts: FieldworkCount[]): BaselineData {
  const cells = baselineLevels(
    metrics.map((m) => m.key),
    segments.map((s) => s.key),
    counts,
    confidenceLevel,
  );
  return { wave, confidenceLevel, metrics, segments, cells };
}

/** The compared waves' counts of one wave, from the results (wave keys are wave ids). */
function countsOf(results: StudyResults, wave: Wave): FieldworkCount[] {
  return results.counts.filter((c) => c.wave === String(wave.id)).map(({ metric, segment, x, n }) => ({ metric, segment, x, n }));
}

/** The pre wave's levels when the compared post wave has no respondents yet (the table is empty). */
export function baselineOfResults(results: StudyResults, locale: Locale): BaselineData | null {
  if (results.table.rows.length > 0) return null;
  const metrics = Object.entries(results.metricLabels).map(([key, label]) => ({ key, label }));
  const data = baselineOf(results.pre, results.options.confidence, metrics, segmentLabels(results.segments, locale, results.study.defaultLocale), countsOf(results, results.pre));
  return data.cells.length ? data : null;
}

/**
 * "Lift detectable yet?" for every metric × exposed segment while the comparison is not final:
 * the compared post wave is not closed. k is the study's exposed segments: the size the
 * family will have once every segment has responses, so the plan does not get laxer early on.
 */
export function detectabilityOfResults(results: StudyResults, locale: Locale): DetectabilityData | null {
  if (results.post.status === "closed") return null;
  const exposed = results.segments.filter((s) => s.role === "exposed");
  if (exposed.length === 0) return null;
  const metrics = Object.entries(results.metricLabels).map(([key, label]) => ({ key, label }));
  const segments = segmentLabels(exposed, locale, results.study.defaultLocale);
  const status = detectability({
    alpha: results.table.alpha,
    familySize: exposed.length,
    targetLift: results.study.targetLift,
    metrics: metrics.map((m) => m.key),
    segments: segments.map((s) => s.key),
    pre: countsOf(results, results.pre),
    post: countsOf(results, results.post),
  });
  return { ...status, post: results.post, metrics, segments };
}
