import { Router } from "express";
import { z } from "zod";
import type { Db } from "../../db/client.js";
import { EmailTakenError, listUsers } from "../../db/queries/users.js";
import { ACCOUNT_KINDS } from "../../db/schema.js";
import { MIN_PASSWORD_LENGTH } from "../domain/passwords.js";
import { formText, parseForm, type FieldErrors } from "../forms.js";
import { requireRole } from "../middleware/auth.js";
import { createUser } from "../services/accounts.js";
import { emailField, passwordField } from "./auth.js";

const newUserForm = z.object({
  name: formText(z, 200),
  email: emailField,
  role: z.enum(ACCOUNT_KINDS, "validation.oneOf"),
  password: passwordField,
});

/** Administrators add researchers and viewers. */
export function adminRoutes(db: Db): Router {
  const router = Router();
  router.use("/admin", requireRole("admin"));

  const page = (values: Record<string, unknown>, errors: FieldErrors, notice = "") => ({
    users: listUsers(db),
    roles: ACCOUNT_KINDS,
    values,
    errors,
    notice,
    minPassword: MIN_PASSWORD_LENGTH,
  });

  router.get("/admin/users", (req, res) => {
    const added = typeof req.query["added"] === "string" ? req.query["added"] : "";
    res.render("admin/users", page({ role: "researcher" }, {}, added ? req.t("users.addedNotice", { email: added }) : ""));
  });

  router.post("/admin/users", async (req, res) => {
    const form = parseForm(newUserForm, req.body, req.t);
    const values = { name: req.body?.name, email: req.body?.email, role: req.body?.role };
    if (!form.ok) return res.status(422).render("admin/users", page(values, form.errors));
    try {
      const user = await createUser(db, form.data, req.user!.id);
      res.redirect(303, `/admin/users?added=${encodeURIComponent(user.email)}`);
    } catch (error) {
      if (!(error instanceof EmailTakenError)) throw error;
      res.status(422).render("admin/users", page(values, { email: req.t("validation.emailTaken") }));
    }
  });

  return router;
}
