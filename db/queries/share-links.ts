import { and, desc, eq, gt, isNull, or } from "drizzle-orm";
import type { Executor } from "../client.js";
import { shareLinks, type ShareLink } from "../schema.js";

export function insertShareLink(db: Executor, link: { studyId: number; token: string; createdBy: number; expiresAt: Date | null; showVerbatims?: boolean }): ShareLink {
  return db.insert(shareLinks).values(link).returning().get();
}

export function listShareLinks(db: Executor, studyId: number): ShareLink[] {
  return db.select().from(shareLinks).where(eq(shareLinks.studyId, studyId)).orderBy(desc(shareLinks.id)).all();
}

/** The live share link for a token: not revoked, not expired. */
export function findLiveShareLink(db: Executor, token: string, now: Date): ShareLink | undefined {
  return db
    .select()
    .from(shareLinks)
    .where(
      and(eq(shareLinks.token, token), isNull(shareLinks.revokedAt), or(isNull(shareLinks.expiresAt), gt(shareLinks.expiresAt, now))),
    )
    .get();
}

export function revokeShareLink(db: Executor, studyId: number, id: number, now: Date): boolean {
  return (
    db
      .update(shareLinks)
      .set({ revokedAt: now })
      .where(and(eq(shareLinks.id, id), eq(shareLinks.studyId, studyId), isNull(shareLinks.revokedAt)))
      .run().changes === 1
  );
}
