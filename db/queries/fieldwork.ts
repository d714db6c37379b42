import { and, asc, count, eq, gt, isNotNull, max, sql } from "drizzle-orm";
import { one, affectedRows, first, isPostgres, preparedQuery, unitOfWork, type Executor } from "../client.js";
import { countWhere, forUpdate } from "../portable.js";
import {
  links,
  qualitySettings,
  responses,
  segments,
  studies,
  waveSegments,
  waves,
  type Link,
  type Segment,
  type Study,
  type Wave,
} from "../schema.js";

/** A wave after the study's others; `createdAt` only for a wave dated in the past (the demo), else now. */
export async function insertWave(
  db: Executor,
  wave: { studyId: number; kind: Wave["kind"]; label: string; targets?: Record<number, number | null>; createdAt?: Date },
): Promise<Wave> {
  return unitOfWork(db, async (tx) => {
    const last = first(await tx.select({ p: max(waves.position) }).from(waves).where(eq(waves.studyId, wave.studyId)))?.p;
    const row = one(await tx
      .insert(waves)
      .values({ studyId: wave.studyId, kind: wave.kind, label: wave.label, position: (last ?? -1) + 1, ...(wave.createdAt ? { createdAt: wave.createdAt } : {}) })
      .returning());
    for (const [segmentId, target] of Object.entries(wave.targets ?? {})) {
      await tx.insert(waveSegments).values({ waveId: row.id, segmentId: Number(segmentId), target });
    }
    return row;
  });
}

export async function setWaveStatus(db: Executor, waveId: number, status: Wave["status"], now: Date): Promise<void> {
  await db.update(waves)
    // The first opening time is kept when a closed wave is reopened: it dates the fieldwork.
    .set(
      status === "open"
        ? { status, openedAt: sql`coalesce(${waves.openedAt}, ${now.getTime()})`, closedAt: null }
        : status === "closed"
          ? { status, closedAt: now }
          : { status },
    )
    .where(eq(waves.id, waveId));
}

export async function insertLink(
  db: Executor,
  link: Pick<Link, "token" | "waveId" | "segmentId" | "kind"> & Partial<Pick<Link, "createdAt" | "sourceLabel" | "passParams" | "signedParams" | "redirectComplete" | "redirectScreenout" | "redirectQuotaFull" | "redirectQualityFail">>,
): Promise<Link> {
  return one(await db.insert(links).values(link).returning());
}

/** Several links in one statement (a chunk of personal links), returned in insertion order. */
export async function insertLinks(db: Executor, rows: ReadonlyArray<Pick<Link, "token" | "waveId" | "segmentId" | "kind">>): Promise<Link[]> {
  if (rows.length === 0) return [];
  return (await db.insert(links).values([...rows]).returning()).sort((a, b) => a.id - b.id);
}

export async function findOpenLinkFor(db: Executor, waveId: number, segmentId: number): Promise<Link | undefined> {
  return first(await db
    .select()
    .from(links)
    .where(and(eq(links.waveId, waveId), eq(links.segmentId, segmentId), eq(links.kind, "open")))
    );
}

export interface LinkContext {
  link: Link;
  wave: Wave;
  segment: Segment;
  study: Study;
  /**
   * The study's stored quality settings (null: defaults), read in the same query: a completing
   * response's own flags need them, and a statement of its own would cost every last page.
   */
  qualitySettings?: Record<string, unknown> | null;
}

const linkContextSelection = { link: links, wave: waves, segment: segments, study: studies, qualitySettings: qualitySettings.settings };

/**
 * Which version of each row of a link's context the database holds, as one text, so that a context
 * kept in process with the text it was read with is known to be current when the text read now is
 * the same (see findLinkContextKept). Any change to any of those rows, by any connection or
 * instance, gives another text.
 * - PostgreSQL: the link's id and the xmin (the transaction that wrote that version of the row) of
 *   the link, its wave, segment, study and quality settings.
 * - SQLite: the link's id and the number triggers raise on any change to those tables (migration
 *   "link_context_generation"); a link's use count alone does not raise it.
 */
const contextVersions = (db: Executor) =>
  isPostgres(db)
    ? sql<string>`concat(${links.id}, '.', ${links}.xmin, '.', ${waves}.xmin, '.', ${segments}.xmin, '.', ${studies}.xmin, '.', ${qualitySettings}.xmin)`
    : sql<string>`${links.id} || '.' || (SELECT "generation" FROM "link_context_generation" WHERE "id" = 1)`;

const linkContextQuery = preparedQuery("respond_link_context", (db) =>
  db
    .select({ ...linkContextSelection, versions: contextVersions(db) })
    .from(links)
    .innerJoin(waves, eq(waves.id, links.waveId))
    .innerJoin(segments, eq(segments.id, links.segmentId))
    .innerJoin(studies, eq(studies.id, waves.studyId))
    .leftJoin(qualitySettings, eq(qualitySettings.studyId, studies.id))
    .where(eq(links.token, sql.placeholder("token"))),
);

/**
 * Everything a survey page needs to know about a link, in one query, read on every request: the
 * study row's `version` in it is what keys the caches of its questionnaire and rendered pages.
 */
export async function findLinkContext(db: Executor, token: string): Promise<LinkContext | undefined> {
  const row = first(await linkContextQuery(db).execute({ token }));
  if (!row) return undefined;
  const { versions: _versions, ...ctx } = row;
  return ctx;
}

/** Completes of the segment's wave, counted only when there is a target to reach (see findQuota). */
const completesOf = (quota: typeof waveSegments) =>
  sql<number>`CASE WHEN ${quota.target} IS NULL THEN 0 ELSE (SELECT count(*) FROM ${responses} WHERE ${and(
    eq(responses.waveId, quota.waveId),
    eq(responses.segmentId, quota.segmentId),
    eq(responses.status, "completed"),
  )}) END`.mapWith(Number);

const linkContextWithQuotaQuery = preparedQuery("respond_link_context_quota", (db) =>
  db
    .select({ ...linkContextSelection, target: waveSegments.target, completed: completesOf(waveSegments) })
    .from(links)
    .innerJoin(waves, eq(waves.id, links.waveId))
    .innerJoin(segments, eq(segments.id, links.segmentId))
    .innerJoin(studies, eq(studies.id, waves.studyId))
    .leftJoin(qualitySettings, eq(qualitySettings.studyId, studies.id))
    .leftJoin(waveSegments, and(eq(waveSegments.waveId, links.waveId), eq(waveSegments.segmentId, links.segmentId)))
    .where(eq(links.token, sql.placeholder("token"))),
);

/**
 * Bounds a kept context's lookup: the versions of the rows it is made of (and the quota). SQLite's
 * versions need the link's row alone; PostgreSQL's the xmin of each row.
 */
const versionsQuery = (db: Executor, withQuota: boolean) => {
  let query = db
    .select({ versions: contextVersions(db), ...(withQuota ? { target: waveSegments.target, completed: completesOf(waveSegments) } : {}) })
    .from(links)
    // One index lookup, needed for the quota only: joined either way to keep one shape of query.
    .leftJoin(waveSegments, and(eq(waveSegments.waveId, links.waveId), eq(waveSegments.segmentId, links.segmentId)))
    .$dynamic();
  if (isPostgres(db)) {
    query = query
      .innerJoin(waves, eq(waves.id, links.waveId))
      .innerJoin(segments, eq(segments.id, links.segmentId))
      .innerJoin(studies, eq(studies.id, waves.studyId))
      .leftJoin(qualitySettings, eq(qualitySettings.studyId, studies.id));
  }
  return query.where(eq(links.token, sql.placeholder("token")));
};
const linkVersionsQuery = preparedQuery("respond_link_versions", (db) => versionsQuery(db, false));
const linkVersionsWithQuotaQuery = preparedQuery("respond_link_versions_quota", (db) => versionsQuery(db, true));

/** A link's context as kept in process, with the versions of its rows it was read at. */
export interface KeptLinkContext {
  ctx: LinkContext;
  versions: string;
}

/**
 * findLinkContext (with the quota, findLinkContextWithQuota) for a context that may be kept in
 * process: one narrow statement reads the versions of the
 * context's rows (and the quota), and only when they differ from `kept`'s the whole context,
 * a second statement. The wide row of a context is most of what reading it costs the app (the
 * driver's row description and drizzle's mapping of some fifty columns), and it changes rarely.
 * Resolves to undefined for an unknown token.
 */
export async function findLinkContextKept(
  db: Executor,
  token: string,
  kept: KeptLinkContext | undefined,
  options: { quota?: boolean } = {},
): Promise<(KeptLinkContext & { quota?: QuotaState }) | undefined> {
  const row = first(await (options.quota ? linkVersionsWithQuotaQuery : linkVersionsQuery)(db).execute({ token })) as
    | { versions: string; target?: number | null; completed?: number | null }
    | undefined;
  if (!row) return undefined;
  const quota = options.quota ? { quota: { target: row.target ?? null, completed: row.completed ?? 0 } } : {};
  if (kept?.versions === row.versions) return { ...kept, ...quota };
  const full = first(await linkContextQuery(db).execute({ token }));
  if (!full) return undefined;
  const { versions, ...ctx } = full;
  return { ctx, versions, ...quota };
}

/** The quota of a wave and segment as read: completes wanted (null: no target) and made. */
export interface QuotaState {
  target: number | null;
  completed: number;
}

/**
 * findLinkContext with the quota of the link's segment read in the same query (findQuota): for
 * a first visit, which is shown the first page only while the quota is open. One round trip on
 * PostgreSQL instead of two.
 */
export async function findLinkContextWithQuota(db: Executor, token: string): Promise<(LinkContext & { quota: QuotaState }) | undefined> {
  const row = first(await linkContextWithQuotaQuery(db).execute({ token }));
  if (!row) return undefined;
  const { target, completed, ...ctx } = row;
  return { ...ctx, quota: { target, completed: completed ?? 0 } };
}

const quotaQuery = preparedQuery("respond_quota", (db) =>
  db
    .select({ target: waveSegments.target, completed: completesOf(waveSegments) })
    .from(waveSegments)
    .where(and(eq(waveSegments.waveId, sql.placeholder("wave")), eq(waveSegments.segmentId, sql.placeholder("segment")))),
);

/** The completes wanted for a wave and segment (null: no target) and how many there are, in one query. */
export async function findQuota(db: Executor, waveId: number, segmentId: number): Promise<QuotaState> {
  return first(await quotaQuery(db).execute({ wave: waveId, segment: segmentId })) ?? { target: null, completed: 0 };
}

const lockQuotaQuery = preparedQuery("respond_lock_quota", (db) =>
  forUpdate(
    db,
    db
      .select({ target: waveSegments.target })
      .from(waveSegments)
      .where(and(eq(waveSegments.waveId, sql.placeholder("wave")), eq(waveSegments.segmentId, sql.placeholder("segment")), isNotNull(waveSegments.target))),
  ),
);

/**
 * Locks a wave and segment's quota row until commit when it has a target (PostgreSQL at READ
 * COMMITTED; SQLite's unit of work holds the write lock already): a unit of work that may
 * complete a response takes it before counting the completes (findQuota), so completes of one
 * segment are counted and written one unit at a time, each counting those committed before it.
 */
export async function lockQuota(db: Executor, waveId: number, segmentId: number): Promise<void> {
  if (isPostgres(db)) await lockQuotaQuery(db).execute({ wave: waveId, segment: segmentId });
}

export async function setTarget(db: Executor, waveId: number, segmentId: number, target: number | null): Promise<void> {
  await db.insert(waveSegments)
    .values({ waveId, segmentId, target })
    .onConflictDoUpdate({ target: [waveSegments.waveId, waveSegments.segmentId], set: { target } });
}

const claimQuery = preparedQuery("respond_claim_personal_link", (db) =>
  db
    .update(links)
    .set({ uses: sql`${links.uses} + 1` })
    .where(and(eq(links.id, sql.placeholder("link")), eq(links.kind, "personal"), eq(links.uses, 0))),
);

/**
 * Claims the single use of a personal link: only one of any number of concurrent claims
 * changes the row. Returns false when it was already used.
 */
export async function claimPersonalLink(db: Executor, linkId: number): Promise<boolean> {
  return affectedRows(await claimQuery(db).execute({ link: linkId })) === 1;
}

const linkUseQuery = preparedQuery("respond_count_link_use", (db) =>
  db.update(links).set({ uses: sql`${links.uses} + 1` }).where(eq(links.id, sql.placeholder("link"))),
);

export async function countLinkUse(db: Executor, linkId: number): Promise<void> {
  await linkUseQuery(db).execute({ link: linkId });
}

export async function findWave(db: Executor, id: number): Promise<Wave | undefined> {
  return first(await db.select().from(waves).where(eq(waves.id, id)));
}

export async function listWaves(db: Executor, studyId: number): Promise<Wave[]> {
  return db.select().from(waves).where(eq(waves.studyId, studyId)).orderBy(asc(waves.position));
}

export async function listWaveSegments(db: Executor, waveId: number) {
  return db.select().from(waveSegments).where(eq(waveSegments.waveId, waveId));
}

export async function setWaveSegment(
  db: Executor,
  waveId: number,
  segmentId: number,
  values: { target: number | null; audienceSize: number | null },
): Promise<void> {
  await db.insert(waveSegments)
    .values({ waveId, segmentId, ...values })
    .onConflictDoUpdate({ target: [waveSegments.waveId, waveSegments.segmentId], set: values });
}

export async function findLink(db: Executor, id: number): Promise<Link | undefined> {
  return first(await db.select().from(links).where(eq(links.id, id)));
}

/** The open links of a wave (one per segment), in segment order. */
export async function listOpenLinks(db: Executor, waveId: number): Promise<Array<Link & { segmentKey: string }>> {
  return (await db
    .select({ link: links, segmentKey: segments.key })
    .from(links)
    .innerJoin(segments, eq(segments.id, links.segmentId))
    .where(and(eq(links.waveId, waveId), eq(links.kind, "open")))
    .orderBy(asc(segments.position)))
    .map((r) => ({ ...r.link, segmentKey: r.segmentKey }));
}

/** How many personal links one query of iteratePersonalLinks reads. */
export const PERSONAL_LINKS_CHUNK = 1000;

/**
 * Personal links of a wave for the CSV download, in segment order then creation order, read in
 * chunks (keyset on the link id within each segment, by the (wave_id, segment_id) index): memory
 * holds one chunk, and no query stays open while the caller waits for its client.
 */
export async function* iteratePersonalLinks(
  db: Executor,
  waveId: number,
  chunkSize = PERSONAL_LINKS_CHUNK,
): AsyncGenerator<{ token: string; uses: number; segmentKey: string }> {
  const wave = first(await db.select({ studyId: waves.studyId }).from(waves).where(eq(waves.id, waveId)));
  if (!wave) return;
  const studySegments = await db
    .select({ id: segments.id, key: segments.key })
    .from(segments)
    .where(eq(segments.studyId, wave.studyId))
    .orderBy(asc(segments.position), asc(segments.id));
  for (const segment of studySegments) {
    for (let after = 0; ; ) {
      const chunk = await db
        .select({ id: links.id, token: links.token, uses: links.uses })
        .from(links)
        .where(and(eq(links.waveId, waveId), eq(links.segmentId, segment.id), eq(links.kind, "personal"), gt(links.id, after)))
        .orderBy(asc(links.id))
        .limit(chunkSize);
      for (const link of chunk) yield { token: link.token, uses: link.uses, segmentKey: segment.key };
      if (chunk.length < chunkSize) break;
      after = chunk[chunk.length - 1]!.id;
    }
  }
}

export async function countPersonalLinks(db: Executor, waveId: number): Promise<Array<{ segmentId: number; total: number; used: number }>> {
  return db
    .select({ segmentId: links.segmentId, total: count(), used: sql<number>`coalesce(sum(${links.uses}), 0)` })
    .from(links)
    .where(and(eq(links.waveId, waveId), eq(links.kind, "personal")))
    .groupBy(links.segmentId);
}

export type LinkSettings = Pick<
  Link,
  "sourceLabel" | "passParams" | "signedParams" | "requireSignature" | "redirectComplete" | "redirectScreenout" | "redirectQuotaFull" | "redirectQualityFail"
>;

/** Disables a link (`at`: respondents opening it get "not found") or enables it again (null). */
export async function setLinkDisabledAt(db: Executor, linkId: number, at: Date | null): Promise<void> {
  await db.update(links).set({ disabledAt: at }).where(eq(links.id, linkId));
}

export async function updateLinkSettings(db: Executor, linkId: number, settings: LinkSettings): Promise<void> {
  await db.update(links).set(settings).where(eq(links.id, linkId));
}

export interface SegmentProgress {
  segmentId: number;
  completed: number;
  partial: number;
  excluded: number;
  lastCompletedAt: Date | null;
  medianDurationMs: number | null;
}

/**
 * Fieldwork counts per segment of a wave, computed by SQLite: completed (not excluded),
 * partial, excluded, the last completion, and the median duration of completes.
 */
export async function waveProgress(db: Executor, waveId: number): Promise<SegmentProgress[]> {
  const rows = (await db
    .select({
      segmentId: responses.segmentId,
      completed: countWhere(and(eq(responses.status, "completed"), eq(responses.excluded, false))!),
      partial: countWhere(eq(responses.status, "partial")),
      excluded: countWhere(eq(responses.excluded, true)),
      lastCompletedAt: sql<number | null>`max(${responses.completedAt})`.mapWith((v) => (v === null ? null : Number(v))),
    })
    .from(responses)
    .where(eq(responses.waveId, waveId))
    .groupBy(responses.segmentId));
  const out: SegmentProgress[] = [];
  for (const r of rows) {
    out.push({
      segmentId: r.segmentId,
      completed: r.completed ?? 0,
      partial: r.partial ?? 0,
      excluded: r.excluded ?? 0,
      lastCompletedAt: r.lastCompletedAt === null ? null : new Date(r.lastCompletedAt),
      medianDurationMs: await medianDuration(db, waveId, r.segmentId, r.completed ?? 0),
    });
  }
  return out;
}

/** SQLite has no median: the middle row(s) of the ordered durations, found through the index. */
async function medianDuration(db: Executor, waveId: number, segmentId: number, n: number): Promise<number | null> {
  if (n === 0) return null;
  const middle = (await db
    .select({ d: responses.durationMs })
    .from(responses)
    .where(
      and(
        eq(responses.waveId, waveId),
        eq(responses.segmentId, segmentId),
        eq(responses.status, "completed"),
        eq(responses.excluded, false),
        isNotNull(responses.durationMs),
      ),
    )
    .orderBy(asc(responses.durationMs))
    .limit(2 - (n % 2))
    .offset(Math.floor((n - 1) / 2))
    )
    .map((r) => r.d!);
  return middle.length ? middle.reduce((a, b) => a + b, 0) / middle.length : null;
}
