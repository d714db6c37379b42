import { and, asc, eq } from "drizzle-orm";
import type { Executor } from "../client.js";
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

export function listTeams(db: Executor): Team[] {
  return db.select().from(teams).orderBy(asc(teams.name)).all();
}

export function findTeam(db: Executor, id: number): Team | undefined {
  return db.select().from(teams).where(eq(teams.id, id)).get();
}

/** Team names are compared as typed (trimmed); the unique index keeps them distinct. */
export function findTeamByName(db: Executor, name: string): Team | undefined {
  return db.select().from(teams).where(eq(teams.name, name.trim())).get();
}

export function insertTeam(db: Executor, name: string): Team {
  try {
    return db.insert(teams).values({ name: name.trim() }).returning().get();
  } catch (error) {
    if ((error as { code?: string }).code === "SQLITE_CONSTRAINT_UNIQUE") throw new TeamNameTakenError();
    throw error;
  }
}

/** The team users join when created without one; migration 0008 creates it, this recreates it if renamed away. */
export function defaultTeam(db: Executor): Team {
  return findTeamByName(db, DEFAULT_TEAM_NAME) ?? insertTeam(db, DEFAULT_TEAM_NAME);
}

/** Adds the user to the team, or changes their role there. */
export function setMembership(db: Executor, teamId: number, userId: number, role: TeamRole): void {
  db.insert(memberships)
    .values({ teamId, userId, role })
    .onConflictDoUpdate({ target: [memberships.teamId, memberships.userId], set: { role } })
    .run();
}

export function removeMembership(db: Executor, teamId: number, userId: number): boolean {
  return db.delete(memberships).where(and(eq(memberships.teamId, teamId), eq(memberships.userId, userId))).run().changes === 1;
}

export function membershipsOf(db: Executor, userId: number): TeamMembership[] {
  return db
    .select({ teamId: teams.id, teamName: teams.name, role: memberships.role })
    .from(memberships)
    .innerJoin(teams, eq(teams.id, memberships.teamId))
    .where(eq(memberships.userId, userId))
    .orderBy(asc(teams.name))
    .all();
}

export function listMembers(db: Executor, teamId: number) {
  return db
    .select({ userId: users.id, email: users.email, name: users.name, role: memberships.role, disabledAt: users.disabledAt })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(eq(memberships.teamId, teamId))
    .orderBy(asc(users.email))
    .all();
}

/** The team owning a study, or undefined when there is no such study. */
export function studyTeam(db: Executor, studyId: number): { studyId: number; teamId: number } | undefined {
  return db.select({ studyId: studies.id, teamId: studies.teamId }).from(studies).where(eq(studies.id, studyId)).get();
}

/** The study and team a wave belongs to, or undefined when there is no such wave. */
export function waveTeam(db: Executor, waveId: number): { studyId: number; teamId: number } | undefined {
  return db
    .select({ studyId: studies.id, teamId: studies.teamId })
    .from(waves)
    .innerJoin(studies, eq(studies.id, waves.studyId))
    .where(eq(waves.id, waveId))
    .get();
}
