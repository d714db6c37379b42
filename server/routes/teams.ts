import { Router, type Request, type Response } from "express";
import { z } from "zod";
import type { Db } from "../../db/client.js";
import { countOwners, findMembership, findTeam, listMembers } from "../../db/queries/teams.js";
import { findUserByEmail } from "../../db/queries/users.js";
import { TEAM_ROLES, type Team } from "../../db/schema.js";
import { roleInTeam } from "../domain/access.js";
import { ForbiddenError, NotFoundError } from "../errors.js";
import { parseForm, type FieldErrors } from "../forms.js";
import { requireRole } from "../middleware/auth.js";
import { AccountRuleError, removeFromTeam, setTeamRole } from "../services/account-management.js";
import { emailField } from "./auth.js";

const addMemberForm = z.object({ email: emailField, role: z.enum(TEAM_ROLES, "validation.oneOf") });
const roleForm = z.object({ role: z.enum(TEAM_ROLES, "validation.oneOf") });

const NOTICES = ["added", "role", "removed", "unchanged"] as const;

/**
 * A team's members, managed by the team's owners (and administrators): add an existing account
 * by email with a role, change a role, remove. Like a study of another team, a team the user
 * is not in is a 404, as if it did not exist; its members who are not owners get a 403.
 */
export function teamRoutes(db: Db): Router {
  const router = Router();
  // Signed-in users only (anonymous visitors go to the login page); the team decides the rest.
  router.use("/teams", requireRole("viewer"));

  async function teamFrom(req: Request): Promise<Team> {
    const id = Number(req.params["teamId"]);
    const team = Number.isSafeInteger(id) && id > 0 ? await findTeam(db, id) : undefined;
    const role = team ? roleInTeam(req.user!, team.id) : null;
    if (!team || !role) throw new NotFoundError();
    if (role !== "owner") throw new ForbiddenError();
    return team;
  }

  async function memberId(req: Request, team: Team): Promise<number> {
    const id = Number(req.params["userId"]);
    if (!Number.isSafeInteger(id) || !(await findMembership(db, team.id, id))) throw new NotFoundError();
    return id;
  }

  const page = async (req: Request, team: Team, errors: FieldErrors = {}, problem = "", values: Record<string, unknown> = {}) => {
    const done = String(req.query["done"] ?? "");
    return {
      team,
      members: await listMembers(db, team.id),
      owners: await countOwners(db, team.id),
      roles: TEAM_ROLES,
      errors,
      problem,
      values: { role: "viewer", ...values },
      notice: (NOTICES as readonly string[]).includes(done) ? req.t(`accounts.team.done.${done}`) : "",
    };
  };

  const refused = async (req: Request, res: Response, team: Team, error: unknown) => {
    if (!(error instanceof AccountRuleError)) throw error;
    res.status(422).render("teams/show", await page(req, team, {}, req.t(`accounts.rules.${error.rule}`)));
  };

  /** Where to go after a change: the team page, or the account page when the actor is no longer its owner. */
  const after = (req: Request, res: Response, team: Team, done: (typeof NOTICES)[number], actorLeft: boolean) =>
    res.redirect(303, actorLeft ? "/account?done=leftTeam" : `/teams/${team.id}?done=${done}`);

  router.get("/teams/:teamId", async (req, res) => {
    res.render("teams/show", await page(req, await teamFrom(req)));
  });

  router.post("/teams/:teamId/members", async (req, res) => {
    const team = await teamFrom(req);
    const form = parseForm(addMemberForm, req.body, req.t);
    const values = { email: req.body?.email, role: req.body?.role };
    if (!form.ok) return res.status(422).render("teams/show", await page(req, team, form.errors, "", values));
    // Accounts are created by administrators; an owner adds existing ones.
    const user = await findUserByEmail(db, form.data.email);
    if (!user) return res.status(422).render("teams/show", await page(req, team, { email: req.t("accounts.errors.noAccount") }, "", values));
    try {
      after(req, res, team, (await setTeamRole(db, team.id, user.id, form.data.role, req.user!.id)) ? "added" : "unchanged", false);
    } catch (error) {
      await refused(req, res, team, error);
    }
  });

  router.post("/teams/:teamId/members/:userId", async (req, res) => {
    const team = await teamFrom(req);
    const userId = await memberId(req, team);
    const form = parseForm(roleForm, req.body, req.t);
    if (!form.ok) return res.status(422).render("teams/show", await page(req, team, {}, Object.values(form.errors)[0]));
    try {
      const changed = await setTeamRole(db, team.id, userId, form.data.role, req.user!.id);
      after(req, res, team, changed ? "role" : "unchanged", userId === req.user!.id && !req.user!.isAdmin && form.data.role !== "owner");
    } catch (error) {
      await refused(req, res, team, error);
    }
  });

  router.post("/teams/:teamId/members/:userId/remove", async (req, res) => {
    const team = await teamFrom(req);
    const userId = await memberId(req, team);
    try {
      await removeFromTeam(db, team.id, userId, req.user!.id);
      after(req, res, team, "removed", userId === req.user!.id && !req.user!.isAdmin);
    } catch (error) {
      await refused(req, res, team, error);
    }
  });

  return router;
}
