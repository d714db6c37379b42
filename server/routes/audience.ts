import { Router, type Request } from "express";
import { unitOfWork, type Db } from "../../db/client.js";
import { deleteAudienceSeries, listAudienceSeriesSummaries, upsertAudiencePoints } from "../../db/queries/audience.js";
import { recordAudit } from "../../db/queries/audit.js";
import { listSegments } from "../../db/queries/studies.js";
import { AUDIENCE_MEASURES, type AudienceMeasure, type Study } from "../../db/schema.js";
import { AUDIENCE_CSV_MAX_CHARS, AUDIENCE_CSV_MAX_ROWS, parseAudienceCsv, type AudienceCsvError } from "../domain/audience-csv.js";
import { localize } from "../domain/questionnaire.js";
import type { Translate } from "../i18n/index.js";
import { can, requireRole } from "../middleware/auth.js";
import { audienceFormats, audienceView } from "../presenters/audience.js";
import { loadAudienceGrowth } from "../services/audience-growth.js";
import { studyFrom } from "./studies.js";

/** Per-line messages for a pasted CSV, in the reader's language. */
export function audienceCsvMessages(errors: readonly AudienceCsvError[], measure: AudienceMeasure, t: Translate, integer: (n: number) => string): string[] {
  return errors.map((e) =>
    t(`audience.errors.${e.code}`, {
      line: e.line,
      value: e.code === "moreErrors" ? integer(Number(e.value)) : e.value,
      firstLine: e.firstLine,
      measure: t(`audience.measureInLabel.${measure}`),
      max: integer(e.code === "tooLarge" ? AUDIENCE_CSV_MAX_CHARS : AUDIENCE_CSV_MAX_ROWS),
    }),
  );
}

const isMeasure = (v: unknown): v is AudienceMeasure => typeof v === "string" && (AUDIENCE_MEASURES as readonly string[]).includes(v);

/** A segment's audience over time: import from community statistics, what is stored, delete. */
export function audienceRoutes(db: Db): Router {
  const router = Router();
  const researcher = requireRole("researcher");

  async function page(req: Request, study: Study, values: Record<string, string> = {}, errors: Record<string, string> = {}, csvErrors: string[] = []) {
    const segments = await listSegments(db, study.id);
    const label = (id: number) => {
      const s = segments.find((x) => x.id === id);
      return s ? localize(s.label, req.locale, study.defaultLocale) || s.key : "";
    };
    const key = (id: number) => segments.find((x) => x.id === id)?.key ?? "";
    const f = audienceFormats(req.locale);
    const answer = await loadAudienceGrowth(db, study, segments.map((s) => s.id));
    return {
      study,
      segments: segments.map((s) => ({ id: s.id, label: label(s.id) })),
      measures: AUDIENCE_MEASURES.map((m) => ({ key: m, label: req.t(`audience.measures.${m}`) })),
      stored: (await listAudienceSeriesSummaries(db, study.id)).map((r) => ({
        ...r,
        segment: label(r.segmentId),
        measureLabel: req.t(`audience.measures.${r.measure}`),
        firstDay: r.firstDay ? f.day(r.firstDay) : "",
        lastDay: r.lastDay ? f.day(r.lastDay) : "",
      })),
      answer: audienceView(answer, { segmentLabel: label, segmentKey: key }, req.locale, req.t),
      canEdit: can(req, "researcher"),
      notice: notice(req, label),
      values,
      errors,
      csvErrors,
    };
  }

  function notice(req: Request, label: (id: number) => string): string {
    const measure = req.query["m"];
    const segment = Number(req.query["s"]);
    if (!isMeasure(measure) || !Number.isSafeInteger(segment)) return "";
    const names = { segment: label(segment), measure: req.t(`audience.measureInLabel.${measure}`) };
    if (typeof req.query["imported"] === "string") return req.t("audience.page.imported", { ...names, days: audienceFormats(req.locale).integer(Number(req.query["imported"]) || 0) });
    if (req.query["deleted"] === "1") return req.t("audience.page.deleted", names);
    return "";
  }

  /** The segment and measure a form names; field errors when either is not the study's. */
  async function target(req: Request, study: Study) {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const segmentId = Number(body["segment"]);
    const measure = body["measure"];
    const errors: Record<string, string> = {};
    if (!(await listSegments(db, study.id)).some((s) => s.id === segmentId)) errors["segment"] = req.t("audience.errors.segment");
    if (!isMeasure(measure)) errors["measure"] = req.t("audience.errors.measure");
    return { segmentId, measure: isMeasure(measure) ? measure : "subscribers", errors };
  }

  router.get("/studies/:studyId/audience", requireRole("viewer"), async (req, res) => {
    res.render("audience/index", await page(req, await studyFrom(db, req)));
  });

  router.post("/studies/:studyId/audience", researcher, async (req, res) => {
    const study = await studyFrom(db, req);
    const { segmentId, measure, errors } = await target(req, study);
    const csv = typeof req.body?.csv === "string" ? req.body.csv : "";
    const replace = req.body?.replace === "1";
    const values = { segment: String(req.body?.segment ?? ""), measure: String(req.body?.measure ?? ""), csv, replace: replace ? "1" : "" };
    if (Object.keys(errors).length > 0) return res.status(422).render("audience/index", await page(req, study, values, errors));
    const parsed = parseAudienceCsv(csv, measure);
    if (!parsed.ok) {
      const messages = audienceCsvMessages(parsed.errors, measure, req.t, audienceFormats(req.locale).integer);
      return res.status(422).render("audience/index", await page(req, study, values, { csv: req.t("audience.errors.heading") }, messages));
    }
    // The points and their audit entry commit together, or neither does.
    await unitOfWork(db, async (tx) => {
      await upsertAudiencePoints(tx, { studyId: study.id, segmentId, measure }, parsed.points, { replace });
      await recordAudit(tx, {
        userId: req.user!.id,
        action: "audience.import",
        entityType: "study",
        entityId: study.id,
        details: { segmentId, measure, days: parsed.points.length, from: parsed.points[0]!.day, to: parsed.points.at(-1)!.day, replace },
      });
    });
    res.redirect(303, `/studies/${study.id}/audience?imported=${parsed.points.length}&s=${segmentId}&m=${measure}`);
  });

  router.post("/studies/:studyId/audience/delete", researcher, async (req, res) => {
    const study = await studyFrom(db, req);
    const { segmentId, measure, errors } = await target(req, study);
    if (Object.keys(errors).length > 0) return res.status(422).render("audience/index", await page(req, study, {}, errors));
    await unitOfWork(db, async (tx) => {
      const removed = await deleteAudienceSeries(tx, { studyId: study.id, segmentId, measure });
      await recordAudit(tx, { userId: req.user!.id, action: "audience.delete", entityType: "study", entityId: study.id, details: { segmentId, measure, days: removed } });
    });
    res.redirect(303, `/studies/${study.id}/audience?deleted=1&s=${segmentId}&m=${measure}`);
  });

  return router;
}
