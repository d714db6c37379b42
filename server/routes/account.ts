import { Router, type Request } from "express";
import { z } from "zod";
import { unitOfWork, type Db } from "../../db/client.js";
import { listApiTokens, revokeApiToken } from "../../db/queries/api-tokens.js";
import { recordAudit } from "../../db/queries/audit.js";
import { listTeams } from "../../db/queries/teams.js";
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from "../domain/passwords.js";
import { NotFoundError } from "../errors.js";
import { formText, parseForm, type FieldErrors } from "../forms.js";
import { requireRole } from "../middleware/auth.js";
import { endSession } from "../middleware/session.js";
import { AccountRuleError, changeOwnPassword, endOtherSessions, endOwnSession, ownSessions } from "../services/account-management.js";
import { createApiToken } from "../services/accounts.js";
import { passwordField } from "./auth.js";

const tokenForm = z.object({ name: formText(z, 100) });

const passwordChangeForm = z
  .object({
    current: z.string("validation.required").min(1, "validation.required").max(MAX_PASSWORD_LENGTH, "validation.tooLong"),
    password: passwordField,
    confirm: z.string("validation.required"),
  })
  .refine((f) => f.password === f.confirm, { path: ["confirm"], message: "validation.mismatch" });

const NOTICES = ["password", "sessionEnded", "othersEnded", "leftTeam"] as const;

/**
 * Every signed-in user manages their own account: password (the current one re-entered), the
 * sessions they are signed in with, and API tokens (viewers read results through the API too).
 */
export function accountRoutes(db: Db): Router {
  const router = Router();
  router.use("/account", requireRole("viewer"));

  // ---------------------------------------------------------------------- password and sessions

  const accountPage = async (req: Request, errors: FieldErrors = {}) => {
    const user = req.user!;
    const done = String(req.query["done"] ?? "");
    // Teams whose members the user manages: the ones they own, or every team for administrators.
    const managed = user.isAdmin ? (await listTeams(db)).map((t) => ({ teamId: t.id, teamName: t.name })) : user.memberships.filter((m) => m.role === "owner");
    return {
      memberships: user.memberships,
      managed,
      sessions: await ownSessions(db, user.id, req.sessionIdHash),
      errors,
      minPassword: MIN_PASSWORD_LENGTH,
      notice: (NOTICES as readonly string[]).includes(done) ? req.t(`accounts.account.done.${done}`) : "",
    };
  };

  router.get("/account", async (req, res) => {
    res.render("account/index", await accountPage(req));
  });

  router.post("/account/password", async (req, res) => {
    const form = parseForm(passwordChangeForm, req.body, req.t);
    if (!form.ok) return res.status(422).render("account/index", await accountPage(req, form.errors));
    try {
      await changeOwnPassword(db, req.user!.id, form.data.current, form.data.password, req.sessionIdHash);
    } catch (error) {
      if (!(error instanceof AccountRuleError)) throw error;
      return res.status(422).render("account/index", await accountPage(req, { current: req.t("accounts.errors.wrongPassword") }));
    }
    res.redirect(303, "/account?done=password");
  });

  router.post("/account/sessions/end-others", async (req, res) => {
    await endOtherSessions(db, req.user!.id, req.sessionIdHash);
    res.redirect(303, "/account?done=othersEnded");
  });

  router.post("/account/sessions/:sessionId/end", async (req, res) => {
    const handle = String(req.params["sessionId"]);
    const ended = /^[0-9a-f]{32}$/.test(handle) ? await endOwnSession(db, req.user!.id, handle, req.sessionIdHash) : undefined;
    if (!ended) throw new NotFoundError();
    // Ending the session in use is logging out.
    if (ended.current) {
      await endSession(db, req, res);
      return res.redirect(303, "/login?bye=1");
    }
    res.redirect(303, "/account?done=sessionEnded");
  });

  // ---------------------------------------------------------------------- API tokens

  const tokensPage = async (userId: number, errors: FieldErrors, newToken = "") => ({
    tokens: await listApiTokens(db, userId),
    errors,
    newToken,
  });

  router.get("/account/tokens", async (req, res) => {
    res.render("account/tokens", await tokensPage(req.user!.id, {}));
  });

  router.post("/account/tokens", async (req, res) => {
    const form = parseForm(tokenForm, req.body, req.t);
    if (!form.ok) return res.status(422).render("account/tokens", await tokensPage(req.user!.id, form.errors));
    const { token } = await createApiToken(db, req.user!.id, form.data.name);
    // The token is in this response only: keep it out of every cache.
    res.set("Cache-Control", "no-store");
    res.status(201).render("account/tokens", await tokensPage(req.user!.id, {}, token));
  });

  router.post("/account/tokens/:id/revoke", async (req, res) => {
    const id = Number(req.params["id"]);
    const revoked =
      Number.isSafeInteger(id) &&
      (await unitOfWork(db, async (tx) => {
        if (!(await revokeApiToken(tx, req.user!.id, id, new Date()))) return false;
        await recordAudit(tx, { userId: req.user!.id, action: "api_token.revoke", entityType: "api_token", entityId: id });
        return true;
      }));
    if (!revoked) throw new NotFoundError();
    res.redirect(303, "/account/tokens");
  });

  return router;
}
