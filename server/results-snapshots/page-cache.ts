import { createHash } from "node:crypto";
import { asc, eq, inArray } from "drizzle-orm";
import type { Executor } from "../../db/client.js";
import { audiencePoints, kpis, qualitySettings, resultSnapshots, segments, shareLinks, waveNotes, waves, waveSegments, type Study } from "../../db/schema.js";
import { Lru } from "../lru.js";
import { fillSkeleton, skeletonOf, type Skeleton } from "../presenters/page-skeleton.js";
import { dayIn } from "../services/audience-growth.js";
import { EPOCH_VARIANT, resultsDataVersion } from "./version.js";

/**
 * Results pages and the results JSON kept as rendered, per everything they are made of: a repeated
 * view costs a few small queries and joining strings instead of assembling the results, the
 * presenters and the template again on the thread that serves respondents.
 *
 * An entry's key holds the study's results data version and a digest of every row the page reads
 * besides its snapshot (see pageInputs), so a stale entry is never served, also with several
 * instances (each keeps its own). What differs per request (the CSRF token, the time of printing)
 * is rendered as a stand-in (presenters/page-skeleton.ts) and filled per request.
 */

/**
 * The data a results page is made of, as one string: the study's snapshots (their data versions,
 * when computed, and whether each is current against the study's results data version: version.ts),
 * and the rows the data version does not follow but the page shows: the study row,
 * waves (labels, dates), segments, audience sizes, quality settings, KPIs, wave notes, imported
 * audience series, share links; and today's date in the study's zone (an open wave's span ends today).
 * A few small queries, no scan of the responses.
 */
export async function pageInputs(db: Executor, study: Study, now = new Date()): Promise<string> {
  // Independent reads, issued together: on PostgreSQL each waits on its own connection of the pool.
  const [version, rows] = await Promise.all([
    resultsDataVersion(db, study.id),
    Promise.all([
      db
        .select({ variant: resultSnapshots.variant, dataVersion: resultSnapshots.dataVersion, computedAt: resultSnapshots.computedAt })
        .from(resultSnapshots)
        .where(eq(resultSnapshots.studyId, study.id))
        .orderBy(asc(resultSnapshots.variant)),
      db.select().from(waves).where(eq(waves.studyId, study.id)).orderBy(asc(waves.id)),
      db
        .select()
        .from(waveSegments)
        .where(inArray(waveSegments.waveId, db.select({ id: waves.id }).from(waves).where(eq(waves.studyId, study.id))))
        .orderBy(asc(waveSegments.waveId), asc(waveSegments.segmentId)),
      db.select().from(segments).where(eq(segments.studyId, study.id)).orderBy(asc(segments.id)),
      db.select().from(qualitySettings).where(eq(qualitySettings.studyId, study.id)),
      db.select().from(kpis).where(eq(kpis.studyId, study.id)).orderBy(asc(kpis.id)),
      db.select().from(waveNotes).where(eq(waveNotes.studyId, study.id)).orderBy(asc(waveNotes.id)),
      db.select().from(audiencePoints).where(eq(audiencePoints.studyId, study.id)).orderBy(asc(audiencePoints.id)),
      db.select().from(shareLinks).where(eq(shareLinks.studyId, study.id)).orderBy(asc(shareLinks.id)),
    ]),
  ]);
  // Whether each snapshot is current (load.ts reads it so: its data version is the study's), not
  // the version itself: a page shows its snapshot's numbers, marked current or being updated, so
  // responses arriving while it is out of date (every few seconds in fieldwork) leave its page as
  // it is; a recomputed snapshot (a new computedAt) or one turning out of date makes a new page.
  // The epoch row (markResultsStale: background checks write it batch after batch) is in the
  // version, so in the flags, and left out of the digest.
  const [allSnapshots, ...others] = rows;
  const snapshots = allSnapshots.filter((row) => row.variant !== EPOCH_VARIANT);
  const currency = snapshots.map((row) => (row.dataVersion === version ? "c" : "o")).join("");
  const digest = createHash("sha256").update(JSON.stringify([study, snapshots, ...others])).digest("base64url");
  return `${currency}|${dayIn(now, study.timeZone)}|${digest}`;
}

/** A request's query as part of a key: every parameter, in a fixed order. */
export function queryKey(query: Record<string, unknown>): string {
  return JSON.stringify(Object.entries(query).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Rendered pages (or JSON texts) with their stand-ins, least recently used forgotten first. */
export class RenderedCache<Meta = undefined> {
  private readonly entries: Lru<string, { skeleton: Skeleton; meta: Meta }>;
  /** Renders under way, by key: readers asking for the same page meanwhile are given that render's page. */
  private readonly rendering = new Map<string, Promise<Skeleton | undefined>>();

  constructor(capacity: number) {
    this.entries = new Lru(capacity);
  }

  get size(): number {
    return this.entries.size;
  }

  /** The kept text for `key` filled with this request's values, with what was kept beside it; undefined when not kept. */
  get(key: string, values: ReadonlyMap<string, string>): { text: string; meta: Meta } | undefined {
    const entry = this.entries.get(key);
    return entry && { text: fillSkeleton(entry.skeleton, values), meta: entry.meta };
  }

  /**
   * The kept text for `key`, or the page of a render of it under way, filled with this request's
   * values: five readers opening a shared report at once render it once, not five times on the
   * thread that serves respondents, whether or not the render could be kept (numbers from an
   * out-of-date snapshot are shown, never kept). Undefined: this reader renders it.
   */
  async getOrJoin(key: string, values: ReadonlyMap<string, string>): Promise<string | undefined> {
    const kept = this.get(key, values);
    if (kept) return kept.text;
    const pending = this.rendering.get(key);
    const rendered = pending && (await pending);
    return rendered && fillSkeleton(rendered, values);
  }

  /**
   * Marks a render of `key` as under way until the returned function is called with the page it
   * rendered (its stand-ins unfilled), or with nothing when it rendered another page (a "being
   * computed" one) that its waiters must ask for themselves.
   */
  rendersNow(key: string): (rendered: Skeleton | undefined) => void {
    let finish!: (rendered: Skeleton | undefined) => void;
    const pending = new Promise<Skeleton | undefined>((resolve) => (finish = resolve));
    this.rendering.set(key, pending);
    return (rendered) => {
      if (this.rendering.get(key) === pending) this.rendering.delete(key);
      finish(rendered);
    };
  }

  /** Keeps a page rendered with stand-ins (skeletonOf), under `key`. */
  keepSkeleton(key: string, skeleton: Skeleton, meta: Meta): void {
    this.entries.set(key, { skeleton, meta });
  }

  /** Keeps a text rendered with stand-ins; returns it filled with this request's values. */
  keep(key: string, rendered: string, meta: Meta, values: ReadonlyMap<string, string>): string {
    const skeleton = skeletonOf(rendered);
    this.keepSkeleton(key, skeleton, meta);
    return fillSkeleton(skeleton, values);
  }
}
