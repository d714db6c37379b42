import { and, asc, count, eq, max, min, sql } from "drizzle-orm";
import { affectedRows, unitOfWork, type Executor } from "../client.js";
import { audiencePoints, type AudienceMeasure } from "../schema.js";

/** A segment's audience over time (audience_points), as imported from community statistics. */

export interface AudienceSeriesKey {
  studyId: number;
  segmentId: number;
  measure: AudienceMeasure;
}

// SQLite binds at most 32,766 variables per statement; 500 rows × 5 columns stays far below.
const CHUNK = 500;

/**
 * Writes a series in one transaction: a day already stored gets the new count, other days stay
 * (or, with `replace`, the series is emptied first, so a corrected export replaces the old one).
 * Returns how many points were written.
 */
export async function upsertAudiencePoints(
  db: Executor,
  key: AudienceSeriesKey,
  points: ReadonlyArray<{ day: string; count: number }>,
  options: { replace?: boolean } = {},
): Promise<number> {
  return unitOfWork(db, async (tx) => {
    if (options.replace) await deleteAudienceSeries(tx, key);
    for (let i = 0; i < points.length; i += CHUNK) {
      const rows = points.slice(i, i + CHUNK).map((p) => ({ ...key, day: p.day, count: p.count }));
      await tx.insert(audiencePoints)
        .values(rows)
        .onConflictDoUpdate({
          target: [audiencePoints.studyId, audiencePoints.segmentId, audiencePoints.measure, audiencePoints.day],
          set: { count: sql`excluded.count` },
        })
        ;
    }
    return points.length;
  });
}

/** Every stored point of a study, by segment, measure and day: the input of the growth answer. */
export async function listAudienceSeries(db: Executor, studyId: number) {
  return db
    .select({ segmentId: audiencePoints.segmentId, measure: audiencePoints.measure, day: audiencePoints.day, count: audiencePoints.count })
    .from(audiencePoints)
    .where(eq(audiencePoints.studyId, studyId))
    .orderBy(asc(audiencePoints.segmentId), asc(audiencePoints.measure), asc(audiencePoints.day));
}

/** What is stored, one row per segment and measure: how many days, from and to. */
export async function listAudienceSeriesSummaries(db: Executor, studyId: number) {
  return db
    .select({
      segmentId: audiencePoints.segmentId,
      measure: audiencePoints.measure,
      points: count(),
      firstDay: min(audiencePoints.day),
      lastDay: max(audiencePoints.day),
    })
    .from(audiencePoints)
    .where(eq(audiencePoints.studyId, studyId))
    .groupBy(audiencePoints.segmentId, audiencePoints.measure)
    .orderBy(asc(audiencePoints.segmentId), asc(audiencePoints.measure));
}

/** Deletes one segment's series of one measure; returns the number of points removed. */
export async function deleteAudienceSeries(db: Executor, key: AudienceSeriesKey): Promise<number> {
  return affectedRows(await db
    .delete(audiencePoints)
    .where(and(eq(audiencePoints.studyId, key.studyId), eq(audiencePoints.segmentId, key.segmentId), eq(audiencePoints.measure, key.measure)))
    );
}
