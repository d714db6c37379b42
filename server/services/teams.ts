import type { Executor } from "../../db/client.js";
import { defaultTeam, listTeams } from "../../db/queries/teams.js";
import { teamsWithRole, type Actor } from "../domain/access.js";

export interface TeamOption {
  id: number;
  name: string;
}

/** Teams the actor may create studies in: where they are owner or researcher; every team for administrators. */
export async function creatableTeams(db: Executor, actor: Actor): Promise<TeamOption[]> {
  if (actor.isAdmin) return (await listTeams(db)).map((t) => ({ id: t.id, name: t.name }));
  return teamsWithRole(actor, "researcher").map((m) => ({ id: m.teamId, name: m.teamName }));
}

export type TeamChoice = { ok: true; teamId: number } | { ok: false; reason: "teamUnknown" | "teamRequired" };

/**
 * The team a new study goes to. `requested` (a team's id or exact name, from a form or the API's
 * `team` field) must be one the actor may create in; without it, their only such team, or the
 * default team for an administrator; a member of several must say which.
 */
export async function chooseTeam(db: Executor, actor: Actor, requested: unknown): Promise<TeamChoice> {
  const options = await creatableTeams(db, actor);
  const wanted = typeof requested === "number" ? String(requested) : typeof requested === "string" ? requested.trim() : "";
  if (wanted !== "") {
    const found = options.find((t) => String(t.id) === wanted || t.name === wanted);
    return found ? { ok: true, teamId: found.id } : { ok: false, reason: "teamUnknown" };
  }
  if (options.length === 1) return { ok: true, teamId: options[0]!.id };
  if (actor.isAdmin) return { ok: true, teamId: (await defaultTeam(db)).id };
  return { ok: false, reason: "teamRequired" };
}
