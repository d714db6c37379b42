import { unitOfWork, type Db } from "../../db/client.js";
import { insertApiToken } from "../../db/queries/api-tokens.js";
import { recordAudit } from "../../db/queries/audit.js";
import { findUserByEmail, insertFirstAdmin, insertUser } from "../../db/queries/users.js";
import { defaultTeam, setMembership } from "../../db/queries/teams.js";
import type { AccountKind, ApiToken, User } from "../../db/schema.js";
import { decoyHash, hashPassword, verifyPassword } from "../domain/passwords.js";
import { newSecretToken, sha256 } from "../domain/secrets.js";

export interface NewAccount {
  email: string;
  name: string;
  password: string;
  /** `admin` makes an administrator of the install; a team role makes a member of `teamId` (default: the default team). */
  role: AccountKind;
  teamId?: number;
}

/** Adds a user with a hashed password; `actorId` is who did it (null for the CLI, named "cli" in the audit). */
export async function createUser(db: Db, account: NewAccount, actorId: number | null): Promise<User> {
  const passwordHash = await hashPassword(account.password);
  return unitOfWork(db, async (tx) => {
    const isAdmin = account.role === "admin";
    const user = await insertUser(tx, { email: account.email, name: account.name, isAdmin, passwordHash });
    const teamId = isAdmin ? null : (account.teamId ?? (await defaultTeam(tx)).id);
    if (teamId !== null && account.role !== "admin") await setMembership(tx, teamId, user.id, account.role);
    await recordAudit(tx, {
      userId: actorId,
      systemActor: actorId === null ? "cli" : null,
      action: "user.create",
      entityType: "user",
      entityId: user.id,
      details: { email: user.email, role: account.role, ...(teamId !== null ? { teamId } : {}) },
    });
    return user;
  });
}

/** The first administrator, or undefined when some user already exists. */
export async function createFirstAdmin(
  db: Db,
  account: Omit<NewAccount, "role">,
): Promise<User | undefined> {
  const passwordHash = await hashPassword(account.password);
  const user = await insertFirstAdmin(db, { email: account.email, name: account.name, passwordHash });
  if (user) {
    await recordAudit(db, { userId: user.id, action: "setup.admin", entityType: "user", entityId: user.id });
  }
  return user;
}

/**
 * The user for these credentials, or undefined. Unknown emails cost a password check too,
 * so timing does not reveal which emails have accounts.
 */
export async function authenticate(db: Db, email: string, password: string): Promise<User | undefined> {
  const user = await findUserByEmail(db, email);
  if (!user || user.disabledAt) {
    await verifyPassword(password, await decoyHash());
    return undefined;
  }
  return (await verifyPassword(password, user.passwordHash)) ? user : undefined;
}

export const API_TOKEN_PREFIX = "bl_";

/** Creates an API token; the clear token is returned once and only its hash is stored. */
export function createApiToken(db: Db, userId: number, name: string): Promise<{ token: string; record: ApiToken }> {
  const token = newSecretToken(API_TOKEN_PREFIX);
  return unitOfWork(db, async (tx) => {
    const record = await insertApiToken(tx, {
      userId,
      name,
      tokenHash: sha256(token),
      prefix: token.slice(0, API_TOKEN_PREFIX.length + 6),
    });
    await recordAudit(tx, { userId, action: "api_token.create", entityType: "api_token", entityId: record.id });
    return { token, record };
  });
}
