import { randomBytes } from "node:crypto";
import { Router } from "express";
import { z } from "zod";
import type { Db } from "../../db/client.js";
import { insertStudy, listStudySummaries } from "../../db/queries/studies.js";
import { LOCALES } from "../../db/schema.js";
import { defaultSegments } from "../domain/segments.js";
import { formText, parseForm, type FieldErrors } from "../forms.js";
import { hasRole, requireRole } from "../middleware/auth.js";

const newStudyForm = z.object({
  name: formText(z, 200),
  brand: formText(z, 200),
  locale: z.enum(LOCALES, "validation.oneOf"),
});

export function studyRoutes(db: Db): Router {
  const router = Router();

  const page = (req: Express.Request, values: Record<string, unknown>, errors: FieldErrors, notice = "") => ({
    studies: listStudySummaries(db),
    canCreate: hasRole(req.user!.role, "researcher"),
    values,
    errors,
    notice,
  });

  router.get("/studies", requireRole("viewer"), (req, res) => {
    const created = typeof req.query["created"] === "string" ? req.query["created"] : "";
    res.render("studies/index", page(req, {}, {}, created ? req.t("studies.created", { name: created }) : ""));
  });

  router.post("/studies", requireRole("researcher"), (req, res) => {
    const form = parseForm(newStudyForm, req.body, req.t);
    if (!form.ok) {
      return res
        .status(422)
        .render("studies/index", page(req, { name: req.body?.name, brand: req.body?.brand }, form.errors));
    }
    const { name, brand, locale } = form.data;
    const study = insertStudy(db, {
      name,
      brand,
      defaultLocale: locale,
      locales: [locale, ...LOCALES.filter((l) => l !== locale)],
      signingSecret: randomBytes(32).toString("base64url"),
      createdBy: req.user!.id,
      segments: defaultSegments(),
    });
    res.redirect(303, `/studies?created=${encodeURIComponent(study.name)}`);
  });

  return router;
}
