import { randomBytes } from "node:crypto";
import { and, eq, gt, inArray, ne, or, sql } from "drizzle-orm";
import { jsonRowsAgg } from "../../db/portable.js";
import { first, isPostgres, type Executor } from "../../db/client.js";
import { profileMargins, responses, resultSnapshots, segments, studies, waves } from "../../db/schema.js";

/**
 * The data version of a study's results: a short string that changes whenever anything the
 * results are computed from changes, read in one statement of a few index lookups (no scan of the
 * responses):
 *
 * - `studies.version`: the study row, its questions and options (raised by triggers);
 * - the weighting margins: how many and the newest id (they are only ever replaced: deleted and
 *   inserted anew), over the (study, …) unique index;
 * - the study's results epoch (`markResultsStale`): replaced by every change the rest cannot see
 *   (exclusions, quality flags, coding, background checks);
 * - per wave: its status, the newest response not yet checked (max id over the partial index
 *   responses_unchecked_idx: every new response arrives unchecked, and ids only grow) and the number
 *   of partial responses (a partial one that completes, is screened out or stopped by a quota
 *   lowers it; while it is being answered, new responses raise the max id instead). That count
 *   walks the (wave, segment, status) index over the partial responses only, of open waves (and
 *   of waves closed in the last ten minutes): a closed wave's partial responses never complete.
 *
 * A snapshot is current when its version equals this one. Whatever writes to the data without
 * changing one of these must call markResultsStale in its unit of work.
 */
export async function resultsDataVersion(db: Executor, studyId: number, now = Date.now()): Promise<string> {
  const row = first(await db.select(versionFields(db, studyId, now)).from(studies).where(eq(studies.id, studyId)));
  return versionOf(row);
}

/**
 * The parts of the data version as fields of a select from the study's row (scalar subqueries, the
 * waves as one JSON array): read alone (resultsDataVersion) or with what a results page's key
 * reads besides (page-cache.ts), in one statement either way.
 */
export function versionFields(db: Executor, studyId: number, now: number) {
  // A closed wave takes no more answers (its links answer 410), so its partial responses can no
  // longer complete: counted only while open, and for a while after closing, for a post that
  // read the wave as open just before.
  const live = or(ne(waves.status, "closed"), gt(waves.closedAt, new Date(now - CLOSE_SETTLE_MS)));
  // One lookup at the end of the wave's range of the partial index: `max` over `checked_at IS NULL`.
  const newest = sql`(SELECT max(${responses.id}) FROM ${responses} WHERE ${responses.waveId} = ${waves.id} AND ${responses.checkedAt} IS NULL)`;
  // Every column of the (wave, segment, status, excluded) index up to status is given: a walk over
  // the partial responses alone. PostgreSQL seeks the segments as an array computed once (`= ANY`
  // an ARRAY: an index condition); from `IN (SELECT …)` it may seek (wave, status) alone and read
  // every response of the wave.
  const studySegments = db.select({ id: segments.id }).from(segments).where(eq(segments.studyId, studyId));
  const ofSegments = isPostgres(db) ? sql`${responses.segmentId} = ANY(ARRAY(${studySegments}))` : inArray(responses.segmentId, studySegments);
  const partial = sql`(SELECT count(*) FROM ${responses} WHERE ${responses.waveId} = ${waves.id} AND ${ofSegments} AND ${eq(responses.status, "partial")})`;
  return {
    version: studies.version,
    epoch: sql<string | null>`(SELECT ${resultSnapshots.dataVersion} FROM ${resultSnapshots} WHERE ${and(eq(resultSnapshots.studyId, studyId), eq(resultSnapshots.variant, EPOCH_VARIANT))})`,
    margins: sql<number>`(SELECT count(*) FROM ${profileMargins} WHERE ${eq(profileMargins.studyId, studyId)})`.mapWith(Number),
    newestMargin: sql<number | null>`(SELECT max(${profileMargins.id}) FROM ${profileMargins} WHERE ${eq(profileMargins.studyId, studyId)})`,
    waves: sql<unknown>`(SELECT ${jsonRowsAgg(db, [waves.id, waves.status, newest, sql`CASE WHEN ${live} THEN ${partial} END`])} FROM ${waves} WHERE ${eq(waves.studyId, studyId)})`,
  };
}

type VersionRow = { version: number; epoch: string | null; margins: number; newestMargin: number | null; waves: unknown };

/** A JSON array of arrays from jsonRowsAgg: text on SQLite, parsed already (or text) on PostgreSQL. */
export function jsonRows<T extends unknown[]>(value: unknown): T[] {
  if (value === null || value === undefined) return [];
  return (typeof value === "string" ? JSON.parse(value) : value) as T[];
}

/** The data version from the fields of versionFields (no row: the study is gone). */
export function versionOf(row: VersionRow | undefined): string {
  const parts = [`s${row?.version ?? 0}`, `e${row?.epoch ?? "0"}`, `m${row?.margins ?? 0}.${row?.newestMargin ?? 0}`];
  const studyWaves = jsonRows<[number, string, number | string | null, number | string | null]>(row?.waves).sort((a, b) => Number(a[0]) - Number(b[0]));
  for (const [id, status, newest, partial] of studyWaves) parts.push(`w${id}${status.charAt(0)}${newest ?? 0}p${partial ?? "-"}`);
  return parts.join(".");
}

/** How long after a wave closes its partial responses are still watched (a post that began before may still commit). */
const CLOSE_SETTLE_MS = 10 * 60 * 1000;

/** The row of result_snapshots that holds a study's results epoch (in data_version) rather than results. */
export const EPOCH_VARIANT = "epoch";

/**
 * Marks every snapshot of the study as out of date, inside the caller's unit of work: replaces the
 * study's results epoch, which is part of the data version. Called by every write the data version
 * cannot see by itself: exclusions and restores, quality flags, recoding of text answers,
 * background checks of new responses (checked_at). The next page view serves
 * the last snapshot marked as updating and starts a recomputation.
 */
export async function markResultsStale(db: Executor, studyId: number): Promise<void> {
  const token = randomBytes(6).toString("base64url");
  await db
    .insert(resultSnapshots)
    .values({ studyId, variant: EPOCH_VARIANT, dataVersion: token, payload: "{}", computedAt: new Date(), durationMs: 0 })
    .onConflictDoUpdate({ target: [resultSnapshots.studyId, resultSnapshots.variant], set: { dataVersion: sql`excluded.data_version`, computedAt: sql`excluded.computed_at` } });
}
