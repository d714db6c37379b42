import { Router, type Request, type Response } from "express";
import { z } from "zod";
import type { Db } from "../../db/client.js";
import { countActiveAdmins, EmailTakenError, findUserById, listUsers } from "../../db/queries/users.js";
import { findTeam, listAllMemberships, listTeams, listTeamsWithCounts, membershipsOf } from "../../db/queries/teams.js";
import { ACCOUNT_KINDS, TEAM_ROLES, type User } from "../../db/schema.js";
import { MIN_PASSWORD_LENGTH } from "../domain/passwords.js";
import { NotFoundError } from "../errors.js";
import { formText, parseForm, type FieldErrors } from "../forms.js";
import { requireRole } from "../middleware/auth.js";
import {
  AccountRuleError,
  createTeam,
  disableUser,
  enableUser,
  removeFromTeam,
  renameTeamAs,
  resetPassword,
  setAdmin,
  setTeamRole,
} from "../services/account-management.js";
import { createUser } from "../services/accounts.js";
import { emailField, passwordField } from "./auth.js";

/** A team id from a form's select: digits, or nothing. */
const teamIdField = z.union([z.literal(""), z.string().regex(/^\d{1,9}$/, "accounts.errors.team")]).optional();

const newUserForm = z.object({
  name: formText(z, 200),
  email: emailField,
  role: z.enum(ACCOUNT_KINDS, "validation.oneOf"),
  team: teamIdField,
  password: passwordField,
});

const membershipForm = z.object({
  team: z.string("accounts.errors.team").regex(/^\d{1,9}$/, "accounts.errors.team"),
  role: z.enum(TEAM_ROLES, "validation.oneOf"),
});

const passwordForm = z.object({ password: passwordField });
const teamNameForm = z.object({ name: formText(z, 100) });

/** After a change, the page says what happened (`?done=…`). */
const USER_NOTICES = ["disabled", "enabled", "adminOn", "adminOff", "password", "role", "removed", "unchanged"] as const;
const TEAM_NOTICES = ["created", "renamed", "unchanged"] as const;

function noticeOf(req: Request, known: readonly string[], prefix: string): string {
  const done = String(req.query["done"] ?? "");
  return known.includes(done) ? req.t(`${prefix}.${done}`) : "";
}

function idParam(req: Request, name: string): number {
  const id = Number(req.params[name]);
  if (!Number.isSafeInteger(id) || id <= 0) throw new NotFoundError();
  return id;
}

/**
 * Administrators manage accounts (create, disable, admin flag, passwords, team roles) and teams.
 * Refused changes (a rule of account-management.ts) are a 422 on the same page, nothing written.
 */
export function adminRoutes(db: Db): Router {
  const router = Router();
  router.use("/admin", requireRole("admin"));

  // ---------------------------------------------------------------------------------- users

  const usersPage = async (values: Record<string, unknown>, errors: FieldErrors, notice = "") => {
    const byUser = new Map<number, Awaited<ReturnType<typeof listAllMemberships>>>();
    for (const m of await listAllMemberships(db)) byUser.set(m.userId, [...(byUser.get(m.userId) ?? []), m]);
    return {
      users: (await listUsers(db)).map((u) => ({ ...u, memberships: byUser.get(u.id) ?? [] })),
      roles: ACCOUNT_KINDS,
      teams: await listTeams(db),
      values,
      errors,
      notice,
      minPassword: MIN_PASSWORD_LENGTH,
    };
  };

  router.get("/admin/users", async (req, res) => {
    const added = typeof req.query["added"] === "string" ? req.query["added"] : "";
    res.render("admin/users", await usersPage({ role: "researcher" }, {}, added ? req.t("users.addedNotice", { email: added }) : ""));
  });

  router.post("/admin/users", async (req, res) => {
    const form = parseForm(newUserForm, req.body, req.t);
    const values = { name: req.body?.name, email: req.body?.email, role: req.body?.role, team: req.body?.team };
    if (!form.ok) return res.status(422).render("admin/users", await usersPage(values, form.errors));
    const { team, ...account } = form.data;
    // An administrator sees every team and joins none; a team role needs a team that exists (none: the default team).
    const teamId = account.role !== "admin" && team ? Number(team) : undefined;
    if (teamId !== undefined && !(await findTeam(db, teamId))) {
      return res.status(422).render("admin/users", await usersPage(values, { team: req.t("accounts.errors.team") }));
    }
    try {
      const user = await createUser(db, { ...account, ...(teamId !== undefined ? { teamId } : {}) }, req.user!.id);
      res.redirect(303, `/admin/users?added=${encodeURIComponent(user.email)}`);
    } catch (error) {
      if (!(error instanceof EmailTakenError)) throw error;
      res.status(422).render("admin/users", await usersPage(values, { email: req.t("validation.emailTaken") }));
    }
  });

  const userFrom = async (req: Request): Promise<User> => {
    const user = await findUserById(db, idParam(req, "userId"));
    if (!user) throw new NotFoundError();
    return user;
  };

  const userPage = async (req: Request, user: User, errors: FieldErrors = {}, problem = "", values: Record<string, unknown> = {}) => ({
    person: user,
    self: user.id === req.user!.id,
    memberships: await membershipsOf(db, user.id),
    teams: await listTeams(db),
    roles: TEAM_ROLES,
    activeAdmins: await countActiveAdmins(db),
    errors,
    problem,
    values,
    notice: noticeOf(req, USER_NOTICES, "accounts.user.done"),
    minPassword: MIN_PASSWORD_LENGTH,
  });

  /** A change refused by a rule: the user's page again, with the rule's message, as a 422. */
  const refusedOnUserPage = async (req: Request, res: Response, user: User, error: unknown) => {
    if (!(error instanceof AccountRuleError)) throw error;
    res.status(422).render("admin/user", await userPage(req, user, {}, req.t(`accounts.rules.${error.rule}`)));
  };

  const done = (res: Response, user: User, what: (typeof USER_NOTICES)[number]) => res.redirect(303, `/admin/users/${user.id}?done=${what}`);

  router.get("/admin/users/:userId", async (req, res) => {
    res.render("admin/user", await userPage(req, await userFrom(req)));
  });

  router.post("/admin/users/:userId/disable", async (req, res) => {
    const user = await userFrom(req);
    try {
      done(res, user, (await disableUser(db, user.id, req.user!.id)) ? "disabled" : "unchanged");
    } catch (error) {
      await refusedOnUserPage(req, res, user, error);
    }
  });

  router.post("/admin/users/:userId/enable", async (req, res) => {
    const user = await userFrom(req);
    done(res, user, (await enableUser(db, user.id, req.user!.id)) ? "enabled" : "unchanged");
  });

  router.post("/admin/users/:userId/admin", async (req, res) => {
    const user = await userFrom(req);
    const on = req.body?.on === "1";
    try {
      done(res, user, (await setAdmin(db, user.id, on, req.user!.id)) ? (on ? "adminOn" : "adminOff") : "unchanged");
    } catch (error) {
      await refusedOnUserPage(req, res, user, error);
    }
  });

  router.post("/admin/users/:userId/password", async (req, res) => {
    const user = await userFrom(req);
    const form = parseForm(passwordForm, req.body, req.t);
    if (!form.ok) return res.status(422).render("admin/user", await userPage(req, user, form.errors));
    try {
      await resetPassword(db, user.id, form.data.password, req.user!.id);
      done(res, user, "password");
    } catch (error) {
      await refusedOnUserPage(req, res, user, error);
    }
  });

  router.post("/admin/users/:userId/teams", async (req, res) => {
    const user = await userFrom(req);
    const form = parseForm(membershipForm, req.body, req.t);
    if (!form.ok) return res.status(422).render("admin/user", await userPage(req, user, form.errors, "", { team: req.body?.team, role: req.body?.role }));
    const team = await findTeam(db, Number(form.data.team));
    if (!team) return res.status(422).render("admin/user", await userPage(req, user, { team: req.t("accounts.errors.team") }));
    try {
      done(res, user, (await setTeamRole(db, team.id, user.id, form.data.role, req.user!.id)) ? "role" : "unchanged");
    } catch (error) {
      await refusedOnUserPage(req, res, user, error);
    }
  });

  router.post("/admin/users/:userId/teams/:teamId/remove", async (req, res) => {
    const user = await userFrom(req);
    const teamId = idParam(req, "teamId");
    try {
      if (!(await removeFromTeam(db, teamId, user.id, req.user!.id))) throw new NotFoundError();
      done(res, user, "removed");
    } catch (error) {
      await refusedOnUserPage(req, res, user, error);
    }
  });

  // ---------------------------------------------------------------------------------- teams

  const teamsPage = async (req: Request, errors: FieldErrors = {}, problem = "", values: Record<string, unknown> = {}) => ({
    teams: await listTeamsWithCounts(db),
    errors,
    problem,
    values,
    notice: noticeOf(req, TEAM_NOTICES, "accounts.teams.done"),
  });

  router.get("/admin/teams", async (req, res) => {
    res.render("admin/teams", await teamsPage(req));
  });

  router.post("/admin/teams", async (req, res) => {
    const form = parseForm(teamNameForm, req.body, req.t);
    if (!form.ok) return res.status(422).render("admin/teams", await teamsPage(req, form.errors, "", { name: req.body?.name }));
    try {
      await createTeam(db, form.data.name, req.user!.id);
      res.redirect(303, "/admin/teams?done=created");
    } catch (error) {
      if (!(error instanceof AccountRuleError)) throw error;
      res.status(422).render("admin/teams", await teamsPage(req, { name: req.t(`accounts.rules.${error.rule}`) }, "", { name: form.data.name }));
    }
  });

  router.post("/admin/teams/:teamId", async (req, res) => {
    const team = await findTeam(db, idParam(req, "teamId"));
    if (!team) throw new NotFoundError();
    const form = parseForm(teamNameForm, req.body, req.t);
    if (!form.ok) return res.status(422).render("admin/teams", await teamsPage(req, {}, req.t("accounts.teams.renameInvalid", { team: team.name, problem: Object.values(form.errors)[0] })));
    try {
      res.redirect(303, `/admin/teams?done=${(await renameTeamAs(db, team.id, form.data.name, req.user!.id)) ? "renamed" : "unchanged"}`);
    } catch (error) {
      if (!(error instanceof AccountRuleError)) throw error;
      res.status(422).render("admin/teams", await teamsPage(req, {}, req.t(`accounts.rules.${error.rule}`)));
    }
  });

  return router;
}
