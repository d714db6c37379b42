import { and, desc, eq, gt, isNull, or } from "drizzle-orm";
import { one, affectedRows, first, type Executor } from "../client.js";
import { shareLinks, type ShareLink } from "../schema.js";

export async function insertShareLink(db: Executor, link: { studyId: number; token: string; createdBy: number; expiresAt: Date | null; showVerbatims?: boolean }): Promise<ShareLink> {
  return one(await db.insert(shareLinks).values(link).returning());
}

export async function listShareLinks(db: Executor, studyId: number): Promise<ShareLink[]> {
  return db.select().from(shareLinks).where(eq(shareLinks.studyId, studyId)).orderBy(desc(shareLinks.id));
}

/** The live share link for a token: not revoked, not expired. */
export async function findLiveShareLink(db: Executor, token: string, now: Date): Promise<ShareLink | undefined> {
  return first(await db
    .select()
    .from(shareLinks)
    .where(
      and(eq(shareLinks.token, token), isNull(shareLinks.revokedAt), or(isNull(shareLinks.expiresAt), gt(shareLinks.expiresAt, now))),
    )
    );
}

export async function revokeShareLink(db: Executor, studyId: number, id: number, now: Date): Promise<boolean> {
  return (
    affectedRows(await db
      .update(shareLinks)
      .set({ revokedAt: now })
      .where(and(eq(shareLinks.id, id), eq(shareLinks.studyId, studyId), isNull(shareLinks.revokedAt)))
      ) === 1
  );
}
