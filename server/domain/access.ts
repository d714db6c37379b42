import { TEAM_ROLES, type TeamRole, type User } from "../../db/schema.js";

/** One membership of the signed-in user, as access checks need it. */
export interface Membership {
  teamId: number;
  teamName: string;
  role: TeamRole;
}

/** The signed-in user (session or API token) with the teams they belong to. */
export type Actor = User & { memberships: Membership[] };

/** owner 3 > researcher 2 > viewer 1: each role can do everything the roles after it can. */
const RANK: Record<TeamRole, number> = Object.fromEntries(TEAM_ROLES.map((r, i) => [r, TEAM_ROLES.length - i])) as Record<TeamRole, number>;

export function atLeast(role: TeamRole, required: TeamRole): boolean {
  return RANK[role] >= RANK[required];
}

/** The actor's role for a team's studies: administrators act as owners everywhere; null means no access. */
export function roleInTeam(actor: Actor, teamId: number): TeamRole | null {
  if (actor.isAdmin) return "owner";
  return actor.memberships.find((m) => m.teamId === teamId)?.role ?? null;
}

/** Ids of the teams whose studies the actor may see; null for administrators, who see every team. */
export function visibleTeamIds(actor: Actor): number[] | null {
  return actor.isAdmin ? null : actor.memberships.map((m) => m.teamId);
}

/** Teams where the actor holds at least `required` (administrators: their memberships, the caller adds the rest). */
export function teamsWithRole(actor: Actor, required: TeamRole): Membership[] {
  return actor.memberships.filter((m) => atLeast(m.role, required));
}

/** Whether the actor holds `required` in at least one team (always, for administrators). */
export function hasRoleSomewhere(actor: Actor, required: TeamRole): boolean {
  return actor.isAdmin || teamsWithRole(actor, required).length > 0;
}
