import { unitOfWork, type Db, type Executor } from "../../db/client.js";
import { revokeAllApiTokens } from "../../db/queries/api-tokens.js";
import { recordAudit, type AuditEntry } from "../../db/queries/audit.js";
import { deleteUserSession, deleteUserSessions, listUserSessions } from "../../db/queries/sessions.js";
import {
  countOwners,
  findMembership,
  findTeam,
  insertTeam,
  removeMembership,
  renameTeam,
  setMembership,
  TeamNameTakenError,
} from "../../db/queries/teams.js";
import { countActiveAdmins, findUserById, setPasswordHash, setUserAdmin, setUserDisabled } from "../../db/queries/users.js";
import type { Team, TeamRole, User } from "../../db/schema.js";
import { hashPassword, verifyPassword } from "../domain/passwords.js";
import { sha256 } from "../domain/secrets.js";
import { NotFoundError } from "../errors.js";

/**
 * Account management: disabling, admin flags, passwords, team roles, teams and one's own
 * sessions. Each change is one IMMEDIATE transaction that checks its rule, writes and records
 * the audit entry, so two processes cannot both pass a check ("not the last admin") and a
 * refused change writes nothing. `actorId` is the signed-in user who acts, or null for the
 * command line (recorded as "cli").
 */

/** Why a change is refused; the web answers 422 with the rule's message, the CLI one line. */
export type AccountRule =
  /** Administrators cannot take their own flag away (they would lock themselves out mid-task). */
  | "self_admin"
  | "self_disable"
  /** An administrator's own password is changed on their account page, with the current one. */
  | "self_reset"
  /** The install keeps at least one active administrator. */
  | "last_admin"
  /** A team keeps at least one owner once it has one. */
  | "last_owner"
  | "wrong_password"
  | "team_name_taken";

export class AccountRuleError extends Error {
  constructor(readonly rule: AccountRule) {
    super(rule);
    this.name = "AccountRuleError";
  }
}

type ActorId = number | null;

async function audit(tx: Executor, actorId: ActorId, entry: Omit<AuditEntry, "userId" | "systemActor">): Promise<void> {
  await recordAudit(tx, { ...entry, userId: actorId, systemActor: actorId === null ? "cli" : null });
}

async function userIn(tx: Executor, id: number): Promise<User> {
  const user = await findUserById(tx, id);
  if (!user) throw new NotFoundError();
  return user;
}

/**
 * Disables an account: from this moment its sessions are gone and its API tokens revoked, in the
 * same transaction as the flag, so no request of that user runs after the commit. Memberships
 * stay (enabling gives the same access back); tokens stay revoked. False when already disabled.
 */
export function disableUser(db: Db, targetId: number, actorId: ActorId, now = new Date()): Promise<boolean> {
  return unitOfWork(db, async (tx) => {
    const user = await userIn(tx, targetId);
    if (actorId === targetId) throw new AccountRuleError("self_disable");
    if (user.disabledAt) return false;
    if (user.isAdmin && (await countActiveAdmins(tx)) <= 1) throw new AccountRuleError("last_admin");
    await setUserDisabled(tx, targetId, now);
    const sessions = await deleteUserSessions(tx, targetId);
    const tokens = await revokeAllApiTokens(tx, targetId, now);
    await audit(tx, actorId, { action: "user.disable", entityType: "user", entityId: targetId, details: { email: user.email, sessions, tokens } });
    return true;
  });
}

/** Lets a disabled user sign in again (with their memberships; their old tokens stay revoked). */
export function enableUser(db: Db, targetId: number, actorId: ActorId): Promise<boolean> {
  return unitOfWork(db, async (tx) => {
    const user = await userIn(tx, targetId);
    if (!user.disabledAt) return false;
    await setUserDisabled(tx, targetId, null);
    await audit(tx, actorId, { action: "user.enable", entityType: "user", entityId: targetId, details: { email: user.email } });
    return true;
  });
}

/** Makes the user an administrator of the install, or takes the flag away. False when nothing changes. */
export function setAdmin(db: Db, targetId: number, on: boolean, actorId: ActorId): Promise<boolean> {
  return unitOfWork(db, async (tx) => {
    const user = await userIn(tx, targetId);
    if (!on && actorId === targetId) throw new AccountRuleError("self_admin");
    if (user.isAdmin === on) return false;
    if (!on && !user.disabledAt && (await countActiveAdmins(tx)) <= 1) throw new AccountRuleError("last_admin");
    await setUserAdmin(tx, targetId, on);
    await audit(tx, actorId, { action: on ? "user.admin_grant" : "user.admin_revoke", entityType: "user", entityId: targetId, details: { email: user.email } });
    return true;
  });
}

/** An administrator (or the CLI) sets a new password; every session of that user ends. */
export async function resetPassword(db: Db, targetId: number, password: string, actorId: ActorId): Promise<void> {
  if (actorId === targetId) throw new AccountRuleError("self_reset");
  const passwordHash = await hashPassword(password);
  await unitOfWork(db, async (tx) => {
    const user = await userIn(tx, targetId);
    await setPasswordHash(tx, targetId, passwordHash);
    const sessions = await deleteUserSessions(tx, targetId);
    await audit(tx, actorId, { action: "user.password_reset", entityType: "user", entityId: targetId, details: { email: user.email, sessions } });
  });
}

/**
 * A user changes their own password, proving the current one; every other session of theirs
 * ends (the one they are using stays). The hash is replaced only if it is still the one checked.
 */
export async function changeOwnPassword(db: Db, userId: number, current: string, next: string, keepSessionIdHash?: string): Promise<void> {
  const user = await findUserById(db, userId);
  if (!user || !(await verifyPassword(current, user.passwordHash))) throw new AccountRuleError("wrong_password");
  const passwordHash = await hashPassword(next);
  await unitOfWork(db, async (tx) => {
    if (!(await setPasswordHash(tx, userId, passwordHash, user.passwordHash))) throw new AccountRuleError("wrong_password");
    const sessions = await deleteUserSessions(tx, userId, keepSessionIdHash);
    await audit(tx, userId, { action: "user.password", entityType: "user", entityId: userId, details: { sessions } });
  });
}

/** Adds the user to the team with `role`, or changes their role there. False when it already is that. */
export function setTeamRole(db: Db, teamId: number, targetId: number, role: TeamRole, actorId: ActorId): Promise<boolean> {
  return unitOfWork(db, async (tx) => {
    const team = await teamIn(tx, teamId);
    const user = await userIn(tx, targetId);
    const previous = await findMembership(tx, teamId, targetId);
    if (previous === role) return false;
    if (previous === "owner" && (await countOwners(tx, teamId)) <= 1) throw new AccountRuleError("last_owner");
    await setMembership(tx, teamId, targetId, role);
    await audit(tx, actorId, {
      action: previous ? "membership.role" : "membership.add",
      entityType: "user",
      entityId: targetId,
      details: { email: user.email, teamId, team: team.name, role, ...(previous ? { previous } : {}) },
    });
    return true;
  });
}

/** Takes the user out of the team. False when they were not in it. */
export function removeFromTeam(db: Db, teamId: number, targetId: number, actorId: ActorId): Promise<boolean> {
  return unitOfWork(db, async (tx) => {
    const team = await teamIn(tx, teamId);
    const user = await userIn(tx, targetId);
    const previous = await findMembership(tx, teamId, targetId);
    if (!previous) return false;
    if (previous === "owner" && (await countOwners(tx, teamId)) <= 1) throw new AccountRuleError("last_owner");
    await removeMembership(tx, teamId, targetId);
    await audit(tx, actorId, { action: "membership.remove", entityType: "user", entityId: targetId, details: { email: user.email, teamId, team: team.name, previous } });
    return true;
  });
}

async function teamIn(tx: Executor, id: number): Promise<Team> {
  const team = await findTeam(tx, id);
  if (!team) throw new NotFoundError();
  return team;
}

/** A new team (names are unique: `team_name_taken`). */
export async function createTeam(db: Db, name: string, actorId: ActorId): Promise<Team> {
  try {
    return await unitOfWork(db, async (tx) => {
      const team = await insertTeam(tx, name);
      await audit(tx, actorId, { action: "team.create", entityType: "team", entityId: team.id, details: { name: team.name } });
      return team;
    });
  } catch (error) {
    if (error instanceof TeamNameTakenError) throw new AccountRuleError("team_name_taken");
    throw error;
  }
}

/** Renames a team (names stay unique: `team_name_taken`). False when the name is the same. */
export async function renameTeamAs(db: Db, teamId: number, name: string, actorId: ActorId): Promise<boolean> {
  try {
    return await unitOfWork(db, async (tx) => {
      const team = await teamIn(tx, teamId);
      if (team.name === name.trim()) return false;
      await renameTeam(tx, teamId, name);
      await audit(tx, actorId, { action: "team.rename", entityType: "team", entityId: teamId, details: { previous: team.name, name: name.trim() } });
      return true;
    });
  } catch (error) {
    if (error instanceof TeamNameTakenError) throw new AccountRuleError("team_name_taken");
    throw error;
  }
}

// ------------------------------------------------------------------------------------ sessions

/**
 * How pages and forms name a session: derived from its stored hash, so the page shows neither
 * the database key nor anything that leads to the cookie.
 */
export function sessionHandle(idHash: string): string {
  return sha256(`session-handle|${idHash}`).slice(0, 32);
}

export interface SessionView {
  handle: string;
  createdAt: Date;
  lastSeenAt: Date;
  current: boolean;
}

/** The user's live sessions, the one in use marked. */
export async function ownSessions(db: Db, userId: number, currentIdHash: string | undefined, now = new Date()): Promise<SessionView[]> {
  return (await listUserSessions(db, userId, now)).map((s) => ({ handle: sessionHandle(s.idHash), createdAt: s.createdAt, lastSeenAt: s.lastSeenAt, current: s.idHash === currentIdHash }));
}

/** Ends one of the user's own sessions; undefined when there is no such session, else whether it was the current one. */
export function endOwnSession(db: Db, userId: number, handle: string, currentIdHash: string | undefined): Promise<{ current: boolean } | undefined> {
  return unitOfWork(db, async (tx) => {
    const found = (await listUserSessions(tx, userId, new Date(0))).find((s) => sessionHandle(s.idHash) === handle);
    if (!found || !(await deleteUserSession(tx, userId, found.idHash))) return undefined;
    const current = found.idHash === currentIdHash;
    await audit(tx, userId, { action: "session.end", entityType: "user", entityId: userId, details: { current } });
    return { current };
  });
}

/** Ends every session of the user but the one in use; returns how many ended. */
export function endOtherSessions(db: Db, userId: number, currentIdHash: string | undefined): Promise<number> {
  return unitOfWork(db, async (tx) => {
    const ended = currentIdHash === undefined ? 0 : await deleteUserSessions(tx, userId, currentIdHash);
    if (ended > 0) await audit(tx, userId, { action: "session.end_others", entityType: "user", entityId: userId, details: { sessions: ended } });
    return ended;
  });
}
