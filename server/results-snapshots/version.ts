import { randomBytes } from "node:crypto";
import { and, count, eq, inArray, isNull, max, sql } from "drizzle-orm";
import { first, type Executor } from "../../db/client.js";
import { profileMargins, responses, resultSnapshots, segments, studies, waves } from "../../db/schema.js";

/**
 * The data version of a study's results: a short string that changes whenever anything the
 * results are computed from changes, read in a few index lookups (no scan of the responses):
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
export async function resultsDataVersion(db: Executor, studyId: number): Promise<string> {
  const study = first(await db.select({ version: studies.version }).from(studies).where(eq(studies.id, studyId)));
  const epoch = first(
    await db
      .select({ token: resultSnapshots.dataVersion })
      .from(resultSnapshots)
      .where(and(eq(resultSnapshots.studyId, studyId), eq(resultSnapshots.variant, EPOCH_VARIANT))),
  );
  const studyWaves = await db.select({ id: waves.id, status: waves.status, closedAt: waves.closedAt }).from(waves).where(eq(waves.studyId, studyId)).orderBy(waves.id);
  const segmentIds = (await db.select({ id: segments.id }).from(segments).where(eq(segments.studyId, studyId))).map((s) => s.id);
  // A closed wave takes no more answers (its links answer 410), so its partial responses can no
  // longer complete: counted only while open, and for a while after closing, for a post that
  // read the wave as open just before.
  const settled = Date.now() - CLOSE_SETTLE_MS;
  const live = studyWaves.filter((w) => w.status !== "closed" || (w.closedAt?.getTime() ?? 0) > settled).map((w) => w.id);
  const partial = new Map<number, number>();
  if (live.length > 0 && segmentIds.length > 0) {
    // Every column of the (wave, segment, status, excluded) index up to status is given: a walk over the partial responses alone.
    const rows = await db
      .select({ waveId: responses.waveId, n: count() })
      .from(responses)
      .where(and(inArray(responses.waveId, live), inArray(responses.segmentId, segmentIds), eq(responses.status, "partial")))
      .groupBy(responses.waveId);
    for (const r of rows) partial.set(r.waveId, r.n);
  }
  const margins = first(await db.select({ n: count(), newest: max(profileMargins.id) }).from(profileMargins).where(eq(profileMargins.studyId, studyId)));
  const parts = [`s${study?.version ?? 0}`, `e${epoch?.token ?? "0"}`, `m${margins?.n ?? 0}.${margins?.newest ?? 0}`];
  for (const w of studyWaves) {
    // One lookup at the end of the wave's range of the partial index: `max` over `checked_at IS NULL`.
    const newest = first(await db.select({ id: max(responses.id) }).from(responses).where(and(eq(responses.waveId, w.id), isNull(responses.checkedAt))));
    parts.push(`w${w.id}${w.status.charAt(0)}${newest?.id ?? 0}p${live.includes(w.id) ? (partial.get(w.id) ?? 0) : "-"}`);
  }
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
