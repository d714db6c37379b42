import { and, count, eq, inArray, isNull, sql, type SQL } from "drizzle-orm";
import type { Executor } from "../client.js";
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

function eligible(filter: CountFilter): SQL {
  const conditions = [inArray(responses.waveId, [...filter.waveIds]), eq(responses.status, "completed")];
  if (!filter.includeExcluded) conditions.push(eq(responses.excluded, false));
  if (!filter.includeFlagged) conditions.push(isNull(responses.qualityFlags));
  return and(...conditions)!;
}

/** Respondents per wave and segment (n), with the excluded and flagged ones beside. */
export function countRespondents(db: Executor, filter: CountFilter): RespondentCount[] {
  if (filter.waveIds.length === 0) return [];
  return db
    .select({
      waveId: responses.waveId,
      segmentId: responses.segmentId,
      n: sql<number>`sum((${filter.includeExcluded ? sql`1` : sql`${responses.excluded} = 0`}) AND (${filter.includeFlagged ? sql`1` : sql`${responses.qualityFlags} IS NULL`}))`,
      excluded: sql<number>`sum(${responses.excluded} = 1)`,
      flagged: sql<number>`sum(${responses.excluded} = 0 AND ${responses.qualityFlags} IS NOT NULL)`,
    })
    .from(responses)
    .where(and(inArray(responses.waveId, [...filter.waveIds]), eq(responses.status, "completed")))
    .groupBy(responses.waveId, responses.segmentId)
    .all()
    .map((r) => ({ ...r, n: r.n ?? 0, excluded: r.excluded ?? 0, flagged: r.flagged ?? 0 }));
}

/** Aware respondents (x) per metric, wave and segment: one grouped query per metric. */
export function countAware(db: Executor, metrics: readonly MetricDefinition[], filter: CountFilter): AwareCount[] {
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
    const rows = base
      .where(and(eq(answers.questionId, m.questionId), matches, eligible(filter)))
      .groupBy(responses.waveId, responses.segmentId)
      .all();
    for (const r of rows) out.push({ metric: m.metric, ...r });
  }
  return out;
}

/** Completed responses per wave (for headers and the overview), regardless of exclusion. */
export function countCompletedByWave(db: Executor, waveIds: readonly number[]) {
  if (waveIds.length === 0) return [];
  return db
    .select({ waveId: responses.waveId, n: count() })
    .from(responses)
    .where(and(inArray(responses.waveId, [...waveIds]), eq(responses.status, "completed")))
    .groupBy(responses.waveId)
    .all();
}
