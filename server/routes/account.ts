import { Router } from "express";
import { z } from "zod";
import type { Db } from "../../db/client.js";
import { listApiTokens, revokeApiToken } from "../../db/queries/api-tokens.js";
import { recordAudit } from "../../db/queries/audit.js";
import { NotFoundError } from "../errors.js";
import { formText, parseForm, type FieldErrors } from "../forms.js";
import { requireRole } from "../middleware/auth.js";
import { createApiToken } from "../services/accounts.js";

const tokenForm = z.object({ name: formText(z, 100) });

/** Every signed-in user manages their own API tokens (viewers read results through the API too). */
export function accountRoutes(db: Db): Router {
  const router = Router();
  router.use("/account", requireRole("viewer"));

  const page = (userId: number, errors: FieldErrors, newToken = "") => ({
    tokens: listApiTokens(db, userId),
    errors,
    newToken,
  });

  router.get("/account/tokens", (req, res) => {
    res.render("account/tokens", page(req.user!.id, {}));
  });

  router.post("/account/tokens", (req, res) => {
    const form = parseForm(tokenForm, req.body, req.t);
    if (!form.ok) return res.status(422).render("account/tokens", page(req.user!.id, form.errors));
    const { token } = createApiToken(db, req.user!.id, form.data.name);
    // The token is in this response only: keep it out of every cache.
    res.set("Cache-Control", "no-store");
    res.status(201).render("account/tokens", page(req.user!.id, {}, token));
  });

  router.post("/account/tokens/:id/revoke", (req, res) => {
    const id = Number(req.params["id"]);
    if (!Number.isSafeInteger(id) || !revokeApiToken(db, req.user!.id, id, new Date())) throw new NotFoundError();
    recordAudit(db, { userId: req.user!.id, action: "api_token.revoke", entityType: "api_token", entityId: id });
    res.redirect(303, "/account/tokens");
  });

  return router;
}
