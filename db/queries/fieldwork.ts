import { and, count, eq, max, sql } from "drizzle-orm";
import type { Executor } from "../client.js";
import {
  links,
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

export function insertWave(
  db: Executor,
  wave: { studyId: number; kind: Wave["kind"]; label: string; targets?: Record<number, number | null> },
): Wave {
  return db.transaction((tx) => {
    const last = tx.select({ p: max(waves.position) }).from(waves).where(eq(waves.studyId, wave.studyId)).get()?.p;
    const row = tx
      .insert(waves)
      .values({ studyId: wave.studyId, kind: wave.kind, label: wave.label, position: (last ?? -1) + 1 })
      .returning()
      .get();
    for (const [segmentId, target] of Object.entries(wave.targets ?? {})) {
      tx.insert(waveSegments).values({ waveId: row.id, segmentId: Number(segmentId), target }).run();
    }
    return row;
  });
}

export function setWaveStatus(db: Executor, waveId: number, status: Wave["status"], now: Date): void {
  db.update(waves)
    .set(status === "open" ? { status, openedAt: now, closedAt: null } : status === "closed" ? { status, closedAt: now } : { status })
    .where(eq(waves.id, waveId))
    .run();
}

export function insertLink(
  db: Executor,
  link: Pick<Link, "token" | "waveId" | "segmentId" | "kind"> & Partial<Pick<Link, "sourceLabel" | "passParams" | "signedParams" | "redirectComplete" | "redirectScreenout" | "redirectQuotaFull" | "redirectQualityFail">>,
): Link {
  return db.insert(links).values(link).returning().get();
}

export function findOpenLinkFor(db: Executor, waveId: number, segmentId: number): Link | undefined {
  return db
    .select()
    .from(links)
    .where(and(eq(links.waveId, waveId), eq(links.segmentId, segmentId), eq(links.kind, "open")))
    .get();
}

export interface LinkContext {
  link: Link;
  wave: Wave;
  segment: Segment;
  study: Study;
}

/** Everything a survey page needs to know about a link, in one query. */
export function findLinkContext(db: Executor, token: string): LinkContext | undefined {
  return db
    .select({ link: links, wave: waves, segment: segments, study: studies })
    .from(links)
    .innerJoin(waves, eq(waves.id, links.waveId))
    .innerJoin(segments, eq(segments.id, links.segmentId))
    .innerJoin(studies, eq(studies.id, waves.studyId))
    .where(eq(links.token, token))
    .get();
}

/** The completes wanted for a wave and segment; null when no target is set. */
export function findTarget(db: Executor, waveId: number, segmentId: number): number | null {
  return (
    db
      .select({ target: waveSegments.target })
      .from(waveSegments)
      .where(and(eq(waveSegments.waveId, waveId), eq(waveSegments.segmentId, segmentId)))
      .get()?.target ?? null
  );
}

export function setTarget(db: Executor, waveId: number, segmentId: number, target: number | null): void {
  db.insert(waveSegments)
    .values({ waveId, segmentId, target })
    .onConflictDoUpdate({ target: [waveSegments.waveId, waveSegments.segmentId], set: { target } })
    .run();
}

export function countCompleted(db: Executor, waveId: number, segmentId: number): number {
  return (
    db
      .select({ n: count() })
      .from(responses)
      .where(and(eq(responses.waveId, waveId), eq(responses.segmentId, segmentId), eq(responses.status, "completed")))
      .get()?.n ?? 0
  );
}

/**
 * Claims the single use of a personal link: only one of any number of concurrent claims
 * changes the row. Returns false when it was already used.
 */
export function claimPersonalLink(db: Executor, linkId: number): boolean {
  return (
    db
      .update(links)
      .set({ uses: sql`${links.uses} + 1` })
      .where(and(eq(links.id, linkId), eq(links.kind, "personal"), eq(links.uses, 0)))
      .run().changes === 1
  );
}

export function countLinkUse(db: Executor, linkId: number): void {
  db.update(links).set({ uses: sql`${links.uses} + 1` }).where(eq(links.id, linkId)).run();
}
