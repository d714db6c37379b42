import { Router, type Request, type Response } from "express";
import { z } from "zod";
import { unitOfWork, type Db } from "../../db/client.js";
import { recordAudit } from "../../db/queries/audit.js";
import { saveQualitySettings } from "../../db/queries/quality.js";
import type { Study } from "../../db/schema.js";
import { NotFoundError, ValidationError } from "../errors.js";
import { parseForm, type FieldErrors } from "../forms.js";
import { can, requireRole } from "../middleware/auth.js";
import { addAlias, codingOverview, MAX_ALIAS_LENGTH, QUEUE_PIECE_SIZE, recodeAll, removeAlias } from "../quality/coding-service.js";
import { FLAG_CODES } from "../quality/flags.js";
import { loadQualitySettings } from "../quality/flag-service.js";
import { formatters } from "../i18n/index.js";
import { enqueueJob, nudgeJobs, startJob } from "../jobs/queue.js";
import { JOBS_REFRESH_SECONDS, jobsPanel } from "../jobs/progress.js";
import type { JobKind } from "../../db/schema.js";
import { breathe, changeExclusion, exclusionForm, LEDGER_PIECE_SIZE, ledgerPage, ledgerQuery, type LedgerQuery, type LedgerRow } from "../quality/ledger-service.js";
import { drawInPieces } from "../quality/ledger-view.js";
import { qualitySettingsForm, settingsFormValues } from "../quality/settings.js";
import { studyFrom } from "./studies.js";

const aliasForm = z.object({
  alias: z.string("quality.errors.aliasRequired").max(1000, "validation.tooLong"),
  code: z.string("quality.errors.unknownCode").max(200, "quality.errors.unknownCode"),
});

const idParam = (value: unknown) => {
  const id = Number(value);
  return Number.isSafeInteger(id) && id > 0 ? id : undefined;
};

/** The ledger's filter as a query string (kept across posts and redirects). */
function filterQuery(q: LedgerQuery): string {
  const params = new URLSearchParams({ state: q.state });
  if (q.flag) params.set("flag", q.flag);
  if (q.wave) params.set("wave", String(q.wave));
  if (q.segment) params.set("segment", String(q.segment));
  if (q.page > 1) params.set("page", String(q.page));
  return params.toString();
}

/**
 * Data quality: the exclusion ledger (flags, decisions, thresholds) and the coding of unaided
 * answers (aliases, review queue). Everyone with access to the study reads; researchers decide.
 */
export function qualityRoutes(db: Db): Router {
  const router = Router();
  const viewer = requireRole("viewer");
  const researcher = requireRole("researcher");

  /** The study's background work of these kinds, and the page's reload while it runs. */
  async function jobsOf(req: Request, study: Study, kinds: readonly JobKind[]) {
    const jobs = await jobsPanel(db, study.id, kinds, req.t, formatters(req.locale).number);
    return { jobs, refreshSeconds: jobs.active ? JOBS_REFRESH_SECONDS : 0 };
  }

  function parseLedgerQuery(req: Request): LedgerQuery {
    const parsed = ledgerQuery.safeParse(req.query);
    if (!parsed.success) throw new ValidationError({ filter: req.t("quality.errors.badFilter") });
    return parsed.data;
  }

  /** A view rendered to a string with the response's locals (t, fmt, …), not sent. */
  const renderView = (res: Response, view: string, locals: Record<string, unknown>) =>
    new Promise<string>((resolve, reject) => res.render(view, locals, (error: Error | null, html: string) => (error ? reject(error) : resolve(html))));

  async function renderLedger(req: Request, res: Response, study: Study, status: number, form: { errors?: FieldErrors; values?: Record<string, unknown>; settingsErrors?: FieldErrors; settingsValues?: Record<string, unknown> } = {}) {
    const query = parseLedgerQuery(req);
    const page = await ledgerPage(db, study, query, req.locale, req.t);
    const notice = (() => {
      const n = Number(req.query["n"]);
      const count = Number.isSafeInteger(n) && n >= 0 ? n : 0;
      switch (req.query["done"]) {
        case "exclude":
        case "restore":
          return req.t(`quality.ledger.done.${req.query["done"]}`, { count });
        case "saved":
          return req.t("quality.settings.saved");
        default:
          return "";
      }
    })();
    const canDecide = can(req, "researcher");
    const values = form.values ?? {};
    const rowsHtml = await drawInPieces(page.rows, LEDGER_PIECE_SIZE, (rows: LedgerRow[]) => renderView(res, "quality/_ledger-rows", { rows, values, canDecide }), breathe);
    res.status(status).render("quality/index", {
      study,
      page,
      rowsHtml,
      flagCodes: FLAG_CODES,
      canDecide,
      filter: filterQuery(query),
      errors: form.errors ?? {},
      values,
      settingsErrors: form.settingsErrors ?? {},
      settingsValues: form.settingsValues ?? settingsFormValues(page.settings),
      notice,
      ...(await jobsOf(req, study, ["flags", "wave_close"])),
    });
  }

  router.get("/studies/:studyId/quality", viewer, async (req, res) => {
    await renderLedger(req, res, await studyFrom(db, req), 200);
  });

  router.post("/studies/:studyId/quality/exclusions", researcher, async (req, res) => {
    const study = await studyFrom(db, req);
    const query = parseLedgerQuery(req);
    const form = parseForm(exclusionForm, req.body, req.t);
    const values = { reason: typeof req.body?.reason === "string" ? req.body.reason : "", ids: [req.body?.ids ?? []].flat().map(String) };
    if (!form.ok) return renderLedger(req, res, study, 422, { errors: form.errors, values });
    const outcome = await changeExclusion(db, study, req.user!.id, form.data);
    if (!outcome.ok) {
      return renderLedger(req, res, study, 422, { errors: { ids: req.t("quality.errors.unknownResponses", { ids: outcome.unknown.join(", ") }) }, values });
    }
    res.redirect(303, `/studies/${study.id}/quality?${filterQuery(query)}&done=${form.data.excluded ? "exclude" : "restore"}&n=${outcome.changed.length}`);
  });

  router.post("/studies/:studyId/quality/settings", researcher, async (req, res) => {
    const study = await studyFrom(db, req);
    const form = parseForm(qualitySettingsForm, req.body, req.t);
    if (!form.ok) return renderLedger(req, res, study, 422, { settingsErrors: form.errors, settingsValues: req.body ?? {} });
    const before = await loadQualitySettings(db, study.id);
    // The thresholds and the recompute they call for commit together; the recompute runs in the background.
    await unitOfWork(db, async (tx) => {
      await saveQualitySettings(tx, study.id, form.data, req.user!.id, new Date());
      await recordAudit(tx, { userId: req.user!.id, action: "quality.settings", entityType: "study", entityId: study.id, details: { before, after: form.data } });
      await enqueueJob(tx, { teamId: study.teamId, studyId: study.id, kind: "flags", createdBy: req.user!.id });
    });
    nudgeJobs();
    res.redirect(303, `/studies/${study.id}/quality?done=saved`);
  });

  router.post("/studies/:studyId/quality/recompute", researcher, async (req, res) => {
    const study = await studyFrom(db, req);
    await startJob(db, { teamId: study.teamId, studyId: study.id, kind: "flags", createdBy: req.user!.id });
    res.redirect(303, `/studies/${study.id}/quality`);
  });

  // ---------------------------------------------------------------- coding

  async function renderCoding(req: Request, res: Response, study: Study, status: number, form: { errors?: FieldErrors; values?: Record<string, unknown> } = {}) {
    const overview = await codingOverview(db, study, req.locale);
    const canDecide = can(req, "researcher");
    const rows = (overview.queue?.queue.groups ?? []).map((group, index) => ({ group, index }));
    const queueRowsHtml = await drawInPieces(rows, QUEUE_PIECE_SIZE, (piece) => renderView(res, "quality/_coding-queue-rows", { rows: piece, definitions: overview.definitions, canDecide, study }), breathe);
    const added = typeof req.query["added"] === "string" ? req.query["added"].slice(0, MAX_ALIAS_LENGTH) : "";
    const notice = added ? req.t("quality.coding.added", { alias: added }) : req.query["done"] === "removed" ? req.t("quality.coding.removed") : "";
    res.status(status).render("quality/coding", {
      study,
      overview,
      queueRowsHtml,
      canDecide,
      errors: form.errors ?? {},
      values: form.values ?? {},
      maxAlias: MAX_ALIAS_LENGTH,
      notice,
      ...(await jobsOf(req, study, ["recode"])),
    });
  }

  router.get("/studies/:studyId/quality/coding", viewer, async (req, res) => {
    await renderCoding(req, res, await studyFrom(db, req), 200);
  });

  router.post("/studies/:studyId/quality/coding/aliases", researcher, async (req, res) => {
    const study = await studyFrom(db, req);
    const form = parseForm(aliasForm, req.body, req.t);
    const values = { alias: typeof req.body?.alias === "string" ? req.body.alias : "", code: typeof req.body?.code === "string" ? req.body.code : "" };
    if (!form.ok) return renderCoding(req, res, study, 422, { errors: form.errors, values });
    const outcome = await addAlias(db, study, req.user!.id, form.data, req.locale);
    if ("field" in outcome) {
      const message =
        outcome.message === "required"
          ? req.t("quality.errors.aliasRequired")
          : outcome.message === "tooLong"
            ? req.t("quality.errors.aliasTooLong", { max: MAX_ALIAS_LENGTH })
            : outcome.message === "unknownCode"
              ? req.t("quality.errors.unknownCode")
              : req.t("quality.errors.aliasTaken", { alias: form.data.alias.trim(), owner: outcome.takenBy ?? "" });
      return renderCoding(req, res, study, 422, { errors: { [outcome.field]: message }, values });
    }
    const params = new URLSearchParams({ added: form.data.alias.trim() });
    res.redirect(303, `/studies/${study.id}/quality/coding?${params.toString()}`);
  });

  router.post("/studies/:studyId/quality/coding/aliases/:aliasId/delete", researcher, async (req, res) => {
    const study = await studyFrom(db, req);
    const id = idParam(req.params["aliasId"]);
    if (id === undefined || !(await removeAlias(db, study, req.user!.id, id))) throw new NotFoundError();
    res.redirect(303, `/studies/${study.id}/quality/coding?done=removed`);
  });

  router.post("/studies/:studyId/quality/coding/recode", researcher, async (req, res) => {
    const study = await studyFrom(db, req);
    await recodeAll(db, study, req.user!.id);
    res.redirect(303, `/studies/${study.id}/quality/coding`);
  });

  return router;
}
