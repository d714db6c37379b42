import { and, asc, count, eq, sql } from "drizzle-orm";
import { isUniqueViolation, one, affectedRows, first, type Executor } from "../client.js";
import { DEFAULT_TEAM_NAME, memberships, studies, teams, users, waves, type Team, type TeamRole } from "../schema.js";

export interface TeamMembership {
  teamId: number;
  teamName: string;
  role: TeamRole;
}

export class TeamNameTakenError extends Error {
  constructor() {
    super("team_name_taken");
  }
}

export async function listTeams(db: Executor): Promise<Team[]> {
  return db.select().from(teams).orderBy(asc(teams.name));
}

export async function findTeam(db: Executor, id: number): Promise<Team | undefined> {
  return first(await db.select().from(teams).where(eq(teams.id, id)));
}

/** Team names are compared as typed (trimmed); the unique index keeps them distinct. */
export async function findTeamByName(db: Executor, name: string): Promise<Team | undefined> {
  return first(await db.select().from(teams).where(eq(teams.name, name.trim())));
}

export async function insertTeam(db: Executor, name: string): Promise<Team> {
  try {
    return one(await db.insert(teams).values({ name: name.trim() }).returning());
  } catch (error) {
    if (isUniqueViolation(error)) throw new TeamNameTakenError();
    throw error;
  }
}

/** Renames a team; a name another team has raises TeamNameTakenError. */
export async function renameTeam(db: Executor, id: number, name: string): Promise<void> {
  try {
    await db.update(teams).set({ name: name.trim() }).where(eq(teams.id, id));
  } catch (error) {
    if (isUniqueViolation(error)) throw new TeamNameTakenError();
    throw error;
  }
}

/** Every team with how many members and studies it has, by name. */
export async function listTeamsWithCounts(db: Executor) {
  const memberCounts = db.select({ teamId: memberships.teamId, n: count().as("members") }).from(memberships).groupBy(memberships.teamId).as("member_counts");
  const studyCounts = db.select({ teamId: studies.teamId, n: count().as("studies") }).from(studies).groupBy(studies.teamId).as("study_counts");
  return db
    .select({
      id: teams.id,
      name: teams.name,
      createdAt: teams.createdAt,
      members: sql<number>`coalesce(${memberCounts.n}, 0)`,
      studies: sql<number>`coalesce(${studyCounts.n}, 0)`,
    })
    .from(teams)
    .leftJoin(memberCounts, eq(memberCounts.teamId, teams.id))
    .leftJoin(studyCounts, eq(studyCounts.teamId, teams.id))
    .orderBy(asc(teams.name));
}

/** The team users join when created without one; migration 0008 creates it, this recreates it if renamed away. */
export async function defaultTeam(db: Executor): Promise<Team> {
  return (await findTeamByName(db, DEFAULT_TEAM_NAME)) ?? insertTeam(db, DEFAULT_TEAM_NAME);
}

/** Adds the user to the team, or changes their role there. */
export async function setMembership(db: Executor, teamId: number, userId: number, role: TeamRole): Promise<void> {
  await db.insert(memberships)
    .values({ teamId, userId, role })
    .onConflictDoUpdate({ target: [memberships.teamId, memberships.userId], set: { role } });
}

export async function removeMembership(db: Executor, teamId: number, userId: number): Promise<boolean> {
  return affectedRows(await db.delete(memberships).where(and(eq(memberships.teamId, teamId), eq(memberships.userId, userId)))) === 1;
}

/** The user's role in the team, or undefined when they are not a member. */
export async function findMembership(db: Executor, teamId: number, userId: number): Promise<TeamRole | undefined> {
  return first(await db
    .select({ role: memberships.role })
    .from(memberships)
    .where(and(eq(memberships.teamId, teamId), eq(memberships.userId, userId)))
    )?.role;
}

/** Owners of the team, disabled ones included (they may be enabled again). */
export async function countOwners(db: Executor, teamId: number): Promise<number> {
  return first(await db
    .select({ n: count() })
    .from(memberships)
    .where(and(eq(memberships.teamId, teamId), eq(memberships.role, "owner")))
    )?.n ?? 0;
}

/** Every membership of every user with its team's name (the users page), by team name. */
export async function listAllMemberships(db: Executor): Promise<Array<TeamMembership & { userId: number }>> {
  return db
    .select({ userId: memberships.userId, teamId: teams.id, teamName: teams.name, role: memberships.role })
    .from(memberships)
    .innerJoin(teams, eq(teams.id, memberships.teamId))
    .orderBy(asc(teams.name));
}

export async function membershipsOf(db: Executor, userId: number): Promise<TeamMembership[]> {
  return db
    .select({ teamId: teams.id, teamName: teams.name, role: memberships.role })
    .from(memberships)
    .innerJoin(teams, eq(teams.id, memberships.teamId))
    .where(eq(memberships.userId, userId))
    .orderBy(asc(teams.name));
}

export async function listMembers(db: Executor, teamId: number) {
  return db
    .select({ userId: users.id, email: users.email, name: users.name, role: memberships.role, disabledAt: users.disabledAt })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(eq(memberships.teamId, teamId))
    .orderBy(asc(users.email));
}

/** The team owning a study, or undefined when there is no such study. */
export async function studyTeam(db: Executor, studyId: number): Promise<{ studyId: number; teamId: number } | undefined> {
  return first(await db.select({ studyId: studies.id, teamId: studies.teamId }).from(studies).where(eq(studies.id, studyId)));
}

/** The study and team a wave belongs to, or undefined when there is no such wave. */
export async function waveTeam(db: Executor, waveId: number): Promise<{ studyId: number; teamId: number } | undefined> {
  return first(await db
    .select({ studyId: studies.id, teamId: studies.teamId })
    .from(waves)
    .innerJoin(studies, eq(studies.id, waves.studyId))
    .where(eq(waves.id, waveId)));
}
