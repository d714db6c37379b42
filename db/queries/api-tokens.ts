import { and, desc, eq, isNull } from "drizzle-orm";
import { one, affectedRows, first, type Executor } from "../client.js";
import { apiTokens, users, type ApiToken, type User } from "../schema.js";

export async function insertApiToken(
  db: Executor,
  token: { userId: number; name: string; tokenHash: string; prefix: string },
): Promise<ApiToken> {
  return one(await db.insert(apiTokens).values(token).returning());
}

export async function listApiTokens(db: Executor, userId: number): Promise<ApiToken[]> {
  return db.select().from(apiTokens).where(eq(apiTokens.userId, userId)).orderBy(desc(apiTokens.id));
}

/** The active user behind a token hash; revoked tokens and disabled users find nothing. */
export async function findUserByApiToken(db: Executor, tokenHash: string): Promise<{ user: User; tokenId: number } | undefined> {
  const row = first(await db
    .select({ user: users, tokenId: apiTokens.id })
    .from(apiTokens)
    .innerJoin(users, eq(users.id, apiTokens.userId))
    .where(and(eq(apiTokens.tokenHash, tokenHash), isNull(apiTokens.revokedAt)))
    );
  if (!row || row.user.disabledAt) return undefined;
  return row;
}

export async function markApiTokenUsed(db: Executor, tokenId: number, now: Date): Promise<void> {
  await db.update(apiTokens).set({ lastUsedAt: now }).where(eq(apiTokens.id, tokenId));
}

/** Revokes one of the user's own tokens; false when there is no such active token. */
export async function revokeApiToken(db: Executor, userId: number, tokenId: number, now: Date): Promise<boolean> {
  const result = (await db
    .update(apiTokens)
    .set({ revokedAt: now })
    .where(and(eq(apiTokens.id, tokenId), eq(apiTokens.userId, userId), isNull(apiTokens.revokedAt)))
    );
  return affectedRows(result) === 1;
}

/** Revokes every active token of the user (disabling an account); returns how many. */
export async function revokeAllApiTokens(db: Executor, userId: number, now: Date): Promise<number> {
  return affectedRows(await db
    .update(apiTokens)
    .set({ revokedAt: now })
    .where(and(eq(apiTokens.userId, userId), isNull(apiTokens.revokedAt)))
    );
}
