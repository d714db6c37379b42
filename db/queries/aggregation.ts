import { and, count, eq, inArray, isNull, sql, type SQL, isNotNull } from "drizzle-orm";
import { type Executor } from "../client.js";
import { countWhere, FALSE, TRUE } from "../portable.js";
import { answers, responses, textMentions } from "../schema.js";

/**
 * Counts for the lift table, computed by SQLite: per metric × segment × wave, x respondents
 * "aware" out of n respondents. Only completed, non-excluded responses count; `includeFlagged`
 * false also leaves out responses that carry quality flags but were not excluded.
 * Nothing is loaded per response into JavaScript.
 */

export interface MetricDefinition {
  /** The metric's name (one question each). */
  metric: string;
  questionId: number;
  kind: "options" | "values" | "mentions";
  /** Option ids (kind options), scale values (kind values) or the mention code (kind mentions). */
  positive: ReadonlyArray<number | string>;
  /** Option ids (kind options) of decoys: a respondent who picks one is left out of this metric's base. */
  exclude?: readonly number[];
}

export interface CountFilter {
  waveIds: readonly number[];
  includeFlagged: boolean;
  /** Count excluded responses too: the "without exclusions" side of the sensitivity view. */
  includeExcluded?: boolean;
}

export interface AwareCount {
  metric: string;
  waveId: number;
  segmentId: number;
  x: number;
}

export interface RespondentCount {
  waveId: number;
  segmentId: number;
  n: number;
  /** Completed but excluded, reported beside the results. */
  excluded: number;
  /** Completed, not excluded, but flagged (left out when includeFlagged is false). */
  flagged: number;
}

/** Responses counted in results: completed in the waves, not excluded (unless asked), not flagged (unless asked). */
export function eligible(filter: CountFilter): SQL {
  const conditions = [inArray(responses.waveId, [...filter.waveIds]), eq(responses.status, "completed")];
  if (!filter.includeExcluded) conditions.push(eq(responses.excluded, false));
  if (!filter.includeFlagged) conditions.push(isNull(responses.qualityFlags));
  return and(...conditions)!;
}

/** Respondents per wave and segment (n), with the excluded and flagged ones beside. */
export async function countRespondents(db: Executor, filter: CountFilter): Promise<RespondentCount[]> {
  if (filter.waveIds.length === 0) return [];
  return (await db
    .select({
      waveId: responses.waveId,
      segmentId: responses.segmentId,
      n: countWhere(and(filter.includeExcluded ? TRUE : eq(responses.excluded, false), filter.includeFlagged ? TRUE : isNull(responses.qualityFlags))!),
      excluded: countWhere(eq(responses.excluded, true)),
      flagged: countWhere(and(eq(responses.excluded, false), isNotNull(responses.qualityFlags))!),
    })
    .from(responses)
    .where(and(inArray(responses.waveId, [...filter.waveIds]), eq(responses.status, "completed")))
    .groupBy(responses.waveId, responses.segmentId))
    .map((r) => ({ ...r, n: r.n ?? 0, excluded: r.excluded ?? 0, flagged: r.flagged ?? 0 }));
}

/** Aware respondents (x) per metric, wave and segment: one grouped query per metric. */
export async function countAware(db: Executor, metrics: readonly MetricDefinition[], filter: CountFilter): Promise<AwareCount[]> {
  if (filter.waveIds.length === 0) return [];
  const out: AwareCount[] = [];
  for (const m of metrics) {
    if (m.positive.length === 0) continue;
    const base = db
      .select({
        waveId: responses.waveId,
        segmentId: responses.segmentId,
        x: sql<number>`count(DISTINCT ${answers.responseId})`,
      })
      .from(answers)
      .innerJoin(responses, eq(responses.id, answers.responseId));
    const matches =
      m.kind === "options"
        ? inArray(answers.optionId, m.positive as number[])
        : m.kind === "values"
          ? inArray(answers.valueNumber, m.positive as number[])
          : inArray(
              answers.id,
              db
                .select({ id: textMentions.answerId })
                .from(textMentions)
                .where(inArray(textMentions.code, m.positive as string[])),
            );
    const rows = await base
      .where(and(eq(answers.questionId, m.questionId), matches, eligible(filter)))
      .groupBy(responses.waveId, responses.segmentId);
    for (const r of rows) out.push({ metric: m.metric, ...r });
  }
  return out;
}

/**
 * The base of each metric per wave and segment, and everyone left out of it. n counts the
 * respondents who were asked the question and answered it: completed, not excluded (not
 * flagged unless `includeFlagged`), with an answer to the metric's question (a non-empty one for
 * a text metric) and no decoy option among it. Everyone else who started the survey falls in
 * exactly one "left out" bucket, tried in this order: partial, excluded, flagged, skipped, decoy;
 * so n + skipped + partial + excluded + decoy + flagged = responses started (screen-outs and
 * quota-fulls are not respondents of the questionnaire and count nowhere).
 */
export interface MetricBase {
  metric: string;
  waveId: number;
  segmentId: number;
  /** Respondents in the base who are "aware" (positive). */
  x: number;
  n: number;
  /** Completed and counted, but gave no answer to the question (an optional question skipped). */
  skipped: number;
  /** Started, never completed. */
  partial: number;
  /** Completed, excluded in the ledger (0 when `includeExcluded`). */
  excluded: number;
  /** Answered, but also picked an option the metric excludes (a decoy). */
  decoy: number;
  /** Completed, not excluded, flagged: left out when the flagged filter is off (else 0). */
  flagged: number;
}

const list = (values: ReadonlyArray<number | string>) =>
  sql.join(
    values.map((v) => sql`${v}`),
    sql`, `,
  );

/**
 * The SQL conditions of a metric over its question's answer rows: a positive answer; a decoy
 * answer (an option the metric excludes from its base); a decoy row of a respondent who also
 * picked a positive option (that respondent leaves x as well as n); a mention that says something.
 */
function metricConditions(m: MetricDefinition) {
  const exclude = m.kind === "options" ? (m.exclude ?? []) : [];
  const positive = m.positive.length === 0 ? FALSE : positiveAnswer(m);
  const alsoPositive =
    m.positive.length === 0
      ? FALSE
      : sql`EXISTS (SELECT 1 FROM ${answers} AS b WHERE b.response_id = ${answers.responseId} AND b.question_id = ${m.questionId} AND b.option_id IN (${list(m.positive)}))`;
  const decoy = exclude.length ? sql`${answers.optionId} IN (${list(exclude)})` : FALSE;
  return {
    /** Distinct respondents per group: who answered, who answered positively, the decoy pickers and those of them also positive. */
    counts: {
      answered: sql<number>`count(DISTINCT ${answers.responseId})`,
      aware: sql<number>`count(DISTINCT CASE WHEN ${positive} THEN ${answers.responseId} END)`,
      decoy: exclude.length ? sql<number>`count(DISTINCT CASE WHEN ${decoy} THEN ${answers.responseId} END)` : sql<number>`0`,
      awareDecoy: exclude.length ? sql<number>`count(DISTINCT CASE WHEN ${decoy} AND ${alsoPositive} THEN ${answers.responseId} END)` : sql<number>`0`,
    },
    answered: m.kind === "mentions" ? [sql`trim(coalesce(${answers.valueText}, '')) <> ''`] : [],
  };
}

/**
 * Bases and aware counts per metric × wave × segment, as SQL aggregates: one grouped query over
 * the responses (partial, excluded, flagged, counted) and one grouped query per metric over its
 * question's answers (answered, aware, decoy); skipped is counted − answered. Nothing is loaded
 * per response.
 */
export async function countMetricBases(db: Executor, metrics: readonly MetricDefinition[], filter: CountFilter): Promise<MetricBase[]> {
  if (filter.waveIds.length === 0 || metrics.length === 0) return [];
  const waveIds = [...filter.waveIds];
  const completed = eq(responses.status, "completed");
  const notExcluded = filter.includeExcluded ? TRUE : eq(responses.excluded, false);
  const cells = (await db
    .select({
      waveId: responses.waveId,
      segmentId: responses.segmentId,
      partial: countWhere(eq(responses.status, "partial")),
      excluded: filter.includeExcluded ? sql<number>`0` : countWhere(and(completed, eq(responses.excluded, true))!),
      flagged: filter.includeFlagged ? sql<number>`0` : countWhere(and(completed, notExcluded, isNotNull(responses.qualityFlags))!),
      counted: countWhere(and(completed, notExcluded, filter.includeFlagged ? TRUE : isNull(responses.qualityFlags))!),
    })
    .from(responses)
    .where(and(inArray(responses.waveId, waveIds), inArray(responses.status, ["completed", "partial"])))
    .groupBy(responses.waveId, responses.segmentId));

  const out: MetricBase[] = [];
  for (const m of metrics) {
    const { counts, answered } = metricConditions(m);
    const rows = (await db
      .select({
        waveId: responses.waveId,
        segmentId: responses.segmentId,
        ...counts,
      })
      .from(answers)
      .innerJoin(responses, eq(responses.id, answers.responseId))
      .where(and(eq(answers.questionId, m.questionId), eligible(filter), ...answered))
      .groupBy(responses.waveId, responses.segmentId));
    const byCell = new Map(rows.map((r) => [`${r.waveId}|${r.segmentId}`, r]));
    for (const c of cells) {
      const r = byCell.get(`${c.waveId}|${c.segmentId}`);
      const answeredN = r?.answered ?? 0;
      const decoyN = r?.decoy ?? 0;
      out.push({
        metric: m.metric,
        waveId: c.waveId,
        segmentId: c.segmentId,
        x: (r?.aware ?? 0) - (r?.awareDecoy ?? 0),
        n: answeredN - decoyN,
        skipped: (c.counted ?? 0) - answeredN,
        partial: c.partial ?? 0,
        excluded: c.excluded ?? 0,
        decoy: decoyN,
        flagged: c.flagged ?? 0,
      });
    }
  }
  return out;
}

/**
 * countMetricBases for `filter` and for everyone (excluded and flagged responses counted too: the
 * sensitivity view) in one reading: the grouped queries also group by whether a response is
 * excluded and whether it is flagged, and each side sums the groups it counts. A response is in
 * exactly one such group, so the distinct counts add up; half the work of two calls.
 */
export async function countMetricBasesWithEveryone(db: Executor, metrics: readonly MetricDefinition[], filter: CountFilter): Promise<{ bases: MetricBase[]; everyone: MetricBase[] }> {
  if (filter.waveIds.length === 0 || metrics.length === 0) return { bases: [], everyone: [] };
  const waveIds = [...filter.waveIds];
  const completed = eq(responses.status, "completed");
  const isFlagged = sql<number>`CASE WHEN ${responses.qualityFlags} IS NULL THEN 0 ELSE 1 END`;
  const cells = await db
    .select({
      waveId: responses.waveId,
      segmentId: responses.segmentId,
      partial: countWhere(eq(responses.status, "partial")),
      excluded: countWhere(and(completed, eq(responses.excluded, true))!),
      flagged: countWhere(and(completed, eq(responses.excluded, false), isNotNull(responses.qualityFlags))!),
      clean: countWhere(and(completed, eq(responses.excluded, false), isNull(responses.qualityFlags))!),
    })
    .from(responses)
    .where(and(inArray(responses.waveId, waveIds), inArray(responses.status, ["completed", "partial"])))
    .groupBy(responses.waveId, responses.segmentId);

  const bases: MetricBase[] = [];
  const everyone: MetricBase[] = [];
  const none = { answered: 0, aware: 0, decoy: 0, awareDecoy: 0 };
  for (const m of metrics) {
    const { counts, answered } = metricConditions(m);
    const rows = await db
      .select({
        waveId: responses.waveId,
        segmentId: responses.segmentId,
        excluded: responses.excluded,
        flagged: isFlagged,
        ...counts,
      })
      .from(answers)
      .innerJoin(responses, eq(responses.id, answers.responseId))
      .where(and(eq(answers.questionId, m.questionId), inArray(responses.waveId, waveIds), completed, ...answered))
      .groupBy(responses.waveId, responses.segmentId, responses.excluded, isFlagged);
    for (const c of cells) {
      const mine = rows.filter((r) => r.waveId === c.waveId && r.segmentId === c.segmentId);
      const sum = (keep: (r: (typeof rows)[number]) => boolean) =>
        mine.filter(keep).reduce((t, r) => ({ answered: t.answered + r.answered, aware: t.aware + r.aware, decoy: t.decoy + r.decoy, awareDecoy: t.awareDecoy + r.awareDecoy }), none);
      const counted = sum((r) => !r.excluded && (filter.includeFlagged || !Number(r.flagged)));
      const all = sum(() => true);
      const base = { metric: m.metric, waveId: c.waveId, segmentId: c.segmentId, partial: c.partial ?? 0 };
      const countedN = (c.clean ?? 0) + (filter.includeFlagged ? (c.flagged ?? 0) : 0);
      bases.push({
        ...base,
        x: counted.aware - counted.awareDecoy,
        n: counted.answered - counted.decoy,
        skipped: countedN - counted.answered,
        excluded: c.excluded ?? 0,
        decoy: counted.decoy,
        flagged: filter.includeFlagged ? 0 : (c.flagged ?? 0),
      });
      everyone.push({
        ...base,
        x: all.aware - all.awareDecoy,
        n: all.answered - all.decoy,
        skipped: (c.clean ?? 0) + (c.flagged ?? 0) + (c.excluded ?? 0) - all.answered,
        excluded: 0,
        decoy: all.decoy,
        flagged: 0,
      });
    }
  }
  return { bases, everyone };
}

/** Whether an answer row counts as "aware" for the metric. */
function positiveAnswer(m: MetricDefinition): SQL {
  if (m.kind === "options") return sql`${answers.optionId} IN (${list(m.positive)})`;
  if (m.kind === "values") return sql`${answers.valueNumber} IN (${list(m.positive)})`;
  return sql`EXISTS (SELECT 1 FROM ${textMentions} AS tm WHERE tm.answer_id = ${answers.id} AND tm.code IN (${list(m.positive)}))`;
}

/** Completed responses per wave (for headers and the overview), regardless of exclusion. */
export async function countCompletedByWave(db: Executor, waveIds: readonly number[]) {
  if (waveIds.length === 0) return [];
  return db
    .select({ waveId: responses.waveId, n: count() })
    .from(responses)
    .where(and(inArray(responses.waveId, [...waveIds]), eq(responses.status, "completed")))
    .groupBy(responses.waveId);
}

/** One respondent in a metric's base: which wave and segment, and whether they count as aware. */
export interface MetricOutcome {
  responseId: number;
  waveId: number;
  segmentId: number;
  /** 1 aware, 0 not: the respondent's contribution to x of countMetricBases. */
  y: 0 | 1;
}

/**
 * The respondents of a metric's base one by one, by the rules of countMetricBases (answered the
 * question, an open answer non-empty, no decoy picked): per wave and segment their count is n and
 * the sum of y is x. Weighting needs them one by one; the plain counts never do.
 */
export async function listMetricOutcomes(db: Executor, m: MetricDefinition, filter: CountFilter): Promise<MetricOutcome[]> {
  if (filter.waveIds.length === 0) return [];
  const positive = m.positive.length === 0 ? FALSE : positiveAnswer(m);
  const exclude = m.kind === "options" ? (m.exclude ?? []) : [];
  const decoy = exclude.length ? sql`${answers.optionId} IN (${list(exclude)})` : FALSE;
  const answered = m.kind === "mentions" ? [sql`trim(coalesce(${answers.valueText}, '')) <> ''`] : [];
  const rows = (await db
    .select({
      responseId: answers.responseId,
      waveId: responses.waveId,
      segmentId: responses.segmentId,
      aware: sql<number>`max(CASE WHEN ${positive} THEN 1 ELSE 0 END)`,
      decoy: sql<number>`max(CASE WHEN ${decoy} THEN 1 ELSE 0 END)`,
    })
    .from(answers)
    .innerJoin(responses, eq(responses.id, answers.responseId))
    .where(and(eq(answers.questionId, m.questionId), eligible(filter), ...answered))
    // The wave and segment are one per response; PostgreSQL wants them grouped by all the same.
    .groupBy(answers.responseId, responses.waveId, responses.segmentId)
    .orderBy(answers.responseId));
  return rows.filter((r) => r.decoy === 0).map((r) => ({ responseId: r.responseId, waveId: r.waveId, segmentId: r.segmentId, y: r.aware ? 1 : 0 }));
}

/** Each response's chosen option id per single-choice question (profile questions), for the given waves. */
export async function listChoices(
  db: Executor,
  questionIds: readonly number[],
  filter: CountFilter,
): Promise<Array<{ responseId: number; waveId: number; segmentId: number; questionId: number; optionId: number }>> {
  if (filter.waveIds.length === 0 || questionIds.length === 0) return [];
  return db
    .select({ responseId: answers.responseId, waveId: responses.waveId, segmentId: responses.segmentId, questionId: answers.questionId, optionId: sql<number>`${answers.optionId}` })
    .from(answers)
    .innerJoin(responses, eq(responses.id, answers.responseId))
    .where(and(inArray(answers.questionId, [...questionIds]), sql`${answers.optionId} IS NOT NULL`, eligible(filter)))
    ;
}

/** Chosen options per wave, segment and single-choice question (profile questions): how many answers each, for the given waves. */
export async function countChoices(
  db: Executor,
  questionIds: readonly number[],
  filter: CountFilter,
): Promise<Array<{ waveId: number; segmentId: number; questionId: number; optionId: number; n: number }>> {
  if (filter.waveIds.length === 0 || questionIds.length === 0) return [];
  return db
    .select({ waveId: responses.waveId, segmentId: responses.segmentId, questionId: answers.questionId, optionId: sql<number>`${answers.optionId}`, n: count() })
    .from(answers)
    .innerJoin(responses, eq(responses.id, answers.responseId))
    .where(and(inArray(answers.questionId, [...questionIds]), sql`${answers.optionId} IS NOT NULL`, eligible(filter)))
    .groupBy(responses.waveId, responses.segmentId, answers.questionId, answers.optionId);
}
