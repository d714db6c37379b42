import { createHash } from "node:crypto";
import { eq, getTableColumns, inArray, sql, type SQL } from "drizzle-orm";
import { jsonRowsAgg } from "../../db/portable.js";
import { first, type Executor } from "../../db/client.js";
import { audiencePoints, kpis, qualitySettings, resultSnapshots, segments, shareLinks, studies, waveNotes, waves, waveSegments, type Study } from "../../db/schema.js";
import { Lru } from "../lru.js";
import { fillSkeleton, skeletonOf, type Skeleton } from "../presenters/page-skeleton.js";
import { dayIn } from "../services/audience-growth.js";
import { EPOCH_VARIANT, jsonRows, versionFields, versionOf } from "./version.js";

/**
 * Results pages and the results JSON kept as rendered, per everything they are made of: a repeated
 * view costs one statement (its key) and joining strings instead of assembling the results, the
 * presenters and the template again on the thread that serves respondents.
 *
 * An entry's key holds whether each snapshot is current against the study's results data version
 * and a digest of every row the page reads besides its snapshot (see pageInputs), read from the
 * database, so a stale entry is never served, also with several instances (each keeps its own).
 * What differs per request (the CSRF token, the time of printing) is rendered as a stand-in
 * (presenters/page-skeleton.ts) and filled per request.
 */

/** The rows a results page shows besides its snapshot, which the data version does not follow. */
const SHOWN = { waves, waveSegments, segments, qualitySettings, kpis, waveNotes, audiencePoints, shareLinks } as const;

/** What a page's key is made of (`key`), and the data version it was read with (`version`), for readSnapshot. */
export interface PageInputs {
  key: string;
  version: string;
}

/**
 * The data a results page is made of, as one string: the study's snapshots (their data versions,
 * when computed, and whether each is current against the study's results data version: version.ts),
 * and the rows the data version does not follow but the page shows: the study row,
 * waves (labels, dates), segments, audience sizes, quality settings, KPIs, wave notes, imported
 * audience series, share links; and today's date in the study's zone (an open wave's span ends today).
 * One statement of index lookups (each table's rows of the study as one JSON array), no scan of
 * the responses: what a kept page costs the database.
 */
export async function pageInputs(db: Executor, study: Study, now = new Date()): Promise<PageInputs> {
  const shown: Record<string, SQL<unknown>> = Object.fromEntries(Object.entries(SHOWN).map(([name, table]) => [`shown_${name}`, rowsOf(db, table, study.id)]));
  const row = first(
    await db
      .select({
        ...versionFields(db, study.id, now.getTime()),
        snapshots: sql<unknown>`(SELECT ${jsonRowsAgg(db, [resultSnapshots.variant, resultSnapshots.dataVersion, resultSnapshots.computedAt])} FROM ${resultSnapshots} WHERE ${eq(resultSnapshots.studyId, study.id)})`,
        ...shown,
      })
      .from(studies)
      .where(eq(studies.id, study.id)),
  );
  const version = versionOf(row);
  // Whether each snapshot is current (load.ts reads it so: its data version is the study's), not
  // the version itself: a page shows its snapshot's numbers, marked current or being updated, so
  // responses arriving while it is out of date (every few seconds in fieldwork) leave its page as
  // it is; a recomputed snapshot (a new computedAt) or one turning out of date makes a new page.
  // The epoch row (markResultsStale: background checks write it batch after batch) is in the
  // version, so in the flags, and left out of the digest.
  const snapshots = jsonRows<[string, string, unknown]>(row?.snapshots)
    .filter(([variant]) => variant !== EPOCH_VARIANT)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const currency = snapshots.map(([, dataVersion]) => (dataVersion === version ? "c" : "o")).join("");
  // Each table's rows in a fixed order (an aggregate's order is the engine's): as sorted JSON texts.
  const others = Object.keys(SHOWN).map((name) => jsonRows((row as Record<string, unknown> | undefined)?.[`shown_${name}`]).map((r) => JSON.stringify(r)).sort());
  const digest = createHash("sha256").update(JSON.stringify([study, snapshots, others])).digest("base64url");
  return { key: `${currency}|${dayIn(now, study.timeZone)}|${digest}`, version };
}

/** Every column of the study's rows of `table` as one JSON array (waveSegments through their waves). */
function rowsOf(db: Executor, table: (typeof SHOWN)[keyof typeof SHOWN], studyId: number): SQL<unknown> {
  const columns = Object.values(getTableColumns(table));
  const ofStudy =
    table === waveSegments
      ? inArray(waveSegments.waveId, db.select({ id: waves.id }).from(waves).where(eq(waves.studyId, studyId)))
      : eq((table as typeof waves).studyId, studyId);
  return sql<unknown>`(SELECT ${jsonRowsAgg(db, columns)} FROM ${table} WHERE ${ofStudy})`;
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
