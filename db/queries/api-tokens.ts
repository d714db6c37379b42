import { and, desc, eq, isNull } from "drizzle-orm";
import type { Executor } from "../client.js";
import { apiTokens, users, type ApiToken, type User } from "../schema.js";

export function insertApiToken(
  db: Executor,
  token: { userId: number; name: string; tokenHash: string; prefix: string },
): ApiToken {
  return db.insert(apiTokens).values(token).returning().get();
}

export function listApiTokens(db: Executor, userId: number): ApiToken[] {
  return db.select().from(apiTokens).where(eq(apiTokens.userId, userId)).orderBy(desc(apiTokens.id)).all();
}

/** The active user behind a token hash; revoked tokens and disabled users find nothing. */
export function findUserByApiToken(db: Executor, tokenHash: string): { user: User; tokenId: number } | undefined {
  const row = db
    .select({ user: users, tokenId: apiTokens.id })
    .from(apiTokens)
    .innerJoin(users, eq(users.id, apiTokens.userId))
    .where(and(eq(apiTokens.tokenHash, tokenHash), isNull(apiTokens.revokedAt)))
    .get();
  if (!row || row.user.disabledAt) return undefined;
  return row;
}

export function markApiTokenUsed(db: Executor, tokenId: number, now: Date): void {
  db.update(apiTokens).set({ lastUsedAt: now }).where(eq(apiTokens.id, tokenId)).run();
}

/** Revokes one of the user's own tokens; false when there is no such active token. */
export function revokeApiToken(db: Executor, userId: number, tokenId: number, now: Date): boolean {
  const result = db
    .update(apiTokens)
    .set({ revokedAt: now })
    .where(and(eq(apiTokens.id, tokenId), eq(apiTokens.userId, userId), isNull(apiTokens.revokedAt)))
    .run();
  return result.changes === 1;
}

/** Revokes every active token of the user (disabling an account); returns how many. */
export function revokeAllApiTokens(db: Executor, userId: number, now: Date): number {
  return db
    .update(apiTokens)
    .set({ revokedAt: now })
    .where(and(eq(apiTokens.userId, userId), isNull(apiTokens.revokedAt)))
    .run().changes;
}
