import { Router, type Request } from "express";
import type { Db } from "../../db/client.js";
import { listMargins } from "../../db/queries/margins.js";
import type { Study } from "../../db/schema.js";
import { parseMarginsText } from "../domain/margins.js";
import { NotFoundError } from "../errors.js";
import { can, requireRole } from "../middleware/auth.js";
import { marginErrorMessages, marginExamples, weightingView } from "../presenters/weighting.js";
import { deleteMargins, importMargins, marginContext, resolvedMargins } from "../services/weighting.js";
import { studyFrom } from "./studies.js";

/** Route ids in forms are positive integers; anything else names nothing. */
const idOf = (value: unknown): number | null => (typeof value === "string" && /^[1-9][0-9]{0,15}$/.test(value) ? Number(value) : null);

/**
 * The Weighting page: a study's population margins per segment (viewers read them), entered or
 * imported as CSV or JSON by researchers (all or nothing), and deleted per segment, wave and variable.
 */
export function weightingRoutes(db: Db): Router {
  const router = Router();
  const researcher = requireRole("researcher");

  async function page(req: Request, study: Study, text = "", errors: string[] = []) {
    const context = await marginContext(db, study.id);
    const view = weightingView(context, resolvedMargins(context, await listMargins(db, study.id)), study.defaultLocale, req.t, req.locale);
    return { study, view, canEdit: can(req, "researcher"), notice: notice(req), text, errors, ...marginExamples(view) };
  }

  function notice(req: Request): string {
    const imported = req.query["imported"];
    if (typeof imported === "string" && /^\d{1,6}$/.test(imported)) return req.t("weighting.page.imported", { rows: Number(imported) });
    if (req.query["deleted"] === "1") return req.t("weighting.page.deleted");
    return "";
  }

  router.get("/studies/:studyId/weighting", requireRole("viewer"), async (req, res) => {
    res.render("weighting/index", await page(req, await studyFrom(db, req)));
  });

  router.post("/studies/:studyId/weighting", researcher, async (req, res) => {
    const study = await studyFrom(db, req);
    const text = typeof req.body?.margins === "string" ? req.body.margins : "";
    const parsed = parseMarginsText(text);
    const result = parsed.ok ? await importMargins(db, study, parsed.cells, req.user!.id, { format: parsed.format, via: "web" }) : parsed;
    if (!result.ok) return res.status(422).render("weighting/index", await page(req, study, text, marginErrorMessages(result.errors, req.t)));
    res.redirect(303, `/studies/${study.id}/weighting?imported=${result.rows}`);
  });

  router.post("/studies/:studyId/weighting/delete", researcher, async (req, res) => {
    const study = await studyFrom(db, req);
    const body = (req.body ?? {}) as Record<string, unknown>;
    const segmentId = idOf(body["segment"]);
    const questionId = idOf(body["question"]);
    const waveId = body["wave"] === "" || body["wave"] === undefined ? null : idOf(body["wave"]);
    // Anything the form could not have named is simply not there: the same 404 as targets already deleted.
    if (segmentId === null || questionId === null || (waveId === null && body["wave"] !== "" && body["wave"] !== undefined)) throw new NotFoundError();
    await deleteMargins(db, study, { segmentId, waveId, questionId }, req.user!.id);
    res.redirect(303, `/studies/${study.id}/weighting?deleted=1`);
  });

  return router;
}
