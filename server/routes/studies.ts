import { randomBytes } from "node:crypto";
import { Router, type Request } from "express";
import { z } from "zod";
import { unitOfWork, type Db } from "../../db/client.js";
import { recordAudit } from "../../db/queries/audit.js";
import { listWaves } from "../../db/queries/fieldwork.js";
import { listKpis } from "../../db/queries/kpis.js";
import { listWaveNotes } from "../../db/queries/wave-notes.js";
import { listMargins } from "../../db/queries/margins.js";
import { loadQuestionnaire } from "../../db/queries/questionnaire.js";
import { findStudy, insertSegment, insertStudy, listSegments, listStudySummaries, studyHasOpenedWave, updateStudy } from "../../db/queries/studies.js";
import { LOCALES, SEGMENT_ROLES, type Locale, type Study } from "../../db/schema.js";
import { localize } from "../domain/questionnaire.js";
import { toDefinition } from "../domain/definition-export.js";
import { defaultSegments } from "../domain/segments.js";
import { definitionErrors, isTimeZone, RESERVED_SEGMENT_KEYS, studyDefinition } from "../domain/study-definition.js";
import { brandLiftTemplate, MAX_ADVANTAGES, MAX_COMPETITORS } from "../domain/template.js";
import { OTHER_ZONES, RUSSIAN_ZONES, utcOffset } from "../domain/time-zones.js";
import { serverTimeZone, zoneName, type Formatters, type Translate } from "../i18n/index.js";
import { NotFoundError } from "../errors.js";
import { formText, parseForm, type FieldErrors } from "../forms.js";
import { can, requireRole } from "../middleware/auth.js";
import { monthList } from "../presenters/monthly.js";
import { monthWaves } from "../services/monthly.js";
import { useStudyZone } from "../middleware/locale.js";
import { auditEntries } from "../services/audit-view.js";
import { isFrozen, QuestionnaireFrozenError } from "../services/questionnaire-edit.js";
import { rotateSigningSecret, signingGuide } from "../services/signing.js";
import { createStudyFromDefinition } from "../services/study-setup.js";
import { addKpi, parseKpiForm, removeKpi } from "../services/kpi-edit.js";
import { metricLabel } from "../services/results.js";
import { kpiTargetText } from "../presenters/tracking.js";
import { chooseTeam, creatableTeams } from "../services/teams.js";
import { visibleTeamIds } from "../domain/access.js";
import { nextMonthLabel } from "../domain/periods.js";

const newStudyForm = z.object({
  name: formText(z, 200),
  brand: formText(z, 200),
  locale: z.enum(LOCALES, "validation.oneOf"),
});

/** Non-empty trimmed lines of a textarea. */
export const lines = (value: unknown) =>
  typeof value === "string"
    ? value
        .split(/\r?\n/)
        .map((l) => l.trim())
        .filter(Boolean)
    : [];

const templateForm = z.object({
  studyName: formText(z, 200),
  brand: formText(z, 100),
  category: z.string().trim().max(100, "validation.tooLong").default(""),
  locale: z.enum(LOCALES, "validation.oneOf"),
  competitors: z.preprocess(lines, z.array(z.string().max(100, "validation.tooLong")).max(MAX_COMPETITORS, "validation.tooMany")),
  advantages: z.preprocess(lines, z.array(z.string().max(200, "validation.tooLong")).max(MAX_ADVANTAGES, "validation.tooMany")),
});

const optionalNumber = (schema: z.ZodNumber) =>
  z.preprocess((v) => (typeof v === "string" && v.trim() === "" ? null : v), z.coerce.number("validation.number").pipe(schema).nullable());

/**
 * The target lift as people type it, in percentage points ("5", "2,5"); empty or absent: none.
 * Stored as a fraction (5 -> 0.05), hence the open interval (0, 100).
 */
const targetLiftPp = z.preprocess(
  (v) => (v === undefined || (typeof v === "string" && v.trim() === "") ? null : typeof v === "string" ? v.trim().replace(",", ".") : v),
  z
    .string("fieldwork.errors.targetLift")
    .regex(/^(\d+(\.\d*)?|\.\d+)$/, "fieldwork.errors.targetLift")
    .transform(Number)
    .pipe(z.number().gt(0, "fieldwork.errors.targetLift").lt(100, "fieldwork.errors.targetLift"))
    .nullable(),
);

/** A stored target lift (fraction) as the form shows it, in pp without float noise: 0.07 -> "7". */
export const targetLiftText = (fraction: number | null) => (fraction === null ? "" : String(Number((fraction * 100).toPrecision(12))));

const settingsForm = z
  .object({
    name: formText(z, 200),
    brand: formText(z, 200),
    category: z.string().trim().max(200, "validation.tooLong").default(""),
    publicTitle: z.string().trim().max(200, "validation.tooLong").default(""),
    targetLift: targetLiftPp,
    defaultLocale: z.enum(LOCALES, "validation.oneOf"),
    locales: z.preprocess((v) => (Array.isArray(v) ? v : v ? [v] : []), z.array(z.enum(LOCALES, "validation.oneOf")).min(1, "validation.required")),
    pageSize: optionalNumber(z.number().int("validation.number").min(1, "validation.number").max(100, "validation.number")),
    campaignCost: optionalNumber(z.number().min(0, "validation.number")),
    costCurrency: z
      .string()
      .trim()
      .toUpperCase()
      .regex(/^([A-Z]{3})?$/, "validation.currency")
      .default(""),
    // Empty: the server's zone. Any valid IANA zone passes (an imported study may carry one not listed).
    timeZone: z
      .string()
      .trim()
      .default("")
      .refine((v) => v === "" || isTimeZone(v), "time.invalid"),
  })
  .refine((f) => f.locales.includes(f.defaultLocale), { path: ["defaultLocale"], message: "validation.defaultLocale" });

const segmentForm = z.object({
  key: z
    .string()
    .trim()
    .regex(/^[a-z][a-z0-9_]{0,63}$/, "validation.key")
    .refine((k) => !RESERVED_SEGMENT_KEYS.includes(k), "validation.duplicateKey"),
  labelRu: formText(z, 100),
  labelEn: formText(z, 100),
  role: z.enum(SEGMENT_ROLES, "validation.oneOf"),
});

/** The settings' zone list: Russia's zones, then others, each "Москва (UTC+3)"; the server's own zone is the empty choice. */
function zoneChoices(t: Translate, locale: Locale) {
  const option = (zone: string) => ({ value: zone, label: t("time.option", { city: t(`time.cities.${zone.replace(/\//g, "_")}`), offset: utcOffset(zone) }) });
  return {
    server: t("time.serverZone", { name: zoneName(serverTimeZone(), locale) }),
    groups: [
      { label: t("time.groupRussia"), zones: RUSSIAN_ZONES.map(option) },
      { label: t("time.groupOther"), zones: OTHER_ZONES.map(option) },
    ],
  };
}

/** The study named in the URL, or a 404; its pages then show times in its zone. */
export async function studyFrom(db: Db, req: Request): Promise<Study> {
  const id = Number(req.params["studyId"]);
  const study = Number.isSafeInteger(id) ? await findStudy(db, id) : undefined;
  if (!study) throw new NotFoundError();
  useStudyZone(req, study);
  return study;
}

export function studyRoutes(db: Db): Router {
  const router = Router();
  router.use("/studies", requireRole("viewer"));
  const researcher = requireRole("researcher");

  const listPage = async (req: Request, values: Record<string, unknown>, errors: FieldErrors, notice = "") => ({
    studies: await listStudySummaries(db, visibleTeamIds(req.user!)),
    showTeams: req.user!.isAdmin || req.user!.memberships.length > 1,
    teams: await creatableTeams(db, req.user!),
    canCreate: can(req, "researcher"),
    values,
    errors,
    notice,
  });

  router.get("/studies", async (req, res) => {
    const created = typeof req.query["created"] === "string" ? req.query["created"] : "";
    res.render("studies/index", await listPage(req, {}, {}, created ? req.t("studies.created", { name: created }) : ""));
  });

  const newPage = async (req: Request, values: Record<string, unknown> = {}, errors: FieldErrors = {}, importErrors: Array<{ path: string; message: string }> = []) => ({
    teams: await creatableTeams(db, req.user!),
    values,
    errors,
    importErrors,
    maxCompetitors: MAX_COMPETITORS,
    maxAdvantages: MAX_ADVANTAGES,
  });

  router.get("/studies/new", researcher, async (req, res) => res.render("studies/new", await newPage(req)));

  /** The team a form asks for, or the form's field error saying why it cannot be used. */
  const teamFor = async (req: Request): Promise<{ teamId: number; errors?: undefined } | { teamId?: undefined; errors: FieldErrors }> => {
    const choice = await chooseTeam(db, req.user!, req.body?.team);
    return choice.ok ? { teamId: choice.teamId } : { errors: { team: req.t(`teams.${choice.reason}`) } };
  };

  router.post("/studies", researcher, async (req, res) => {
    const form = parseForm(newStudyForm, req.body, req.t);
    const team = await teamFor(req);
    if (!form.ok || team.errors) {
      const errors = { ...(form.ok ? {} : form.errors), ...team.errors };
      return res.status(422).render("studies/index", await listPage(req, { name: req.body?.name, brand: req.body?.brand, team: req.body?.team }, errors));
    }
    const { name, brand, locale } = form.data;
    const study = await insertStudy(db, {
      teamId: team.teamId,
      name,
      brand,
      defaultLocale: locale,
      locales: [locale, ...LOCALES.filter((l) => l !== locale)],
      signingSecret: randomBytes(32).toString("base64url"),
      createdBy: req.user!.id,
      segments: defaultSegments(),
    });
    res.redirect(303, `/studies/${study.id}`);
  });

  router.post("/studies/template", researcher, async (req, res) => {
    const form = parseForm(templateForm, req.body, req.t);
    const team = await teamFor(req);
    if (!form.ok || team.errors) return res.status(422).render("studies/new", await newPage(req, req.body ?? {}, { ...(form.ok ? {} : form.errors), ...team.errors }));
    const study = await createStudyFromDefinition(db, brandLiftTemplate(form.data), req.user!.id, { teamId: team.teamId });
    res.redirect(303, `/studies/${study.id}/questions`);
  });

  router.post("/studies/import", researcher, async (req, res) => {
    const raw = typeof req.body?.definition === "string" ? req.body.definition : "";
    const team = await teamFor(req);
    if (team.errors) return res.status(422).render("studies/new", await newPage(req, { definition: raw }, team.errors));
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch (error) {
      const detail = (error as Error).message;
      return res.status(422).render("studies/new", await newPage(req, { definition: raw, team: req.body?.team }, { definition: req.t("newStudy.invalidJson", { detail }) }));
    }
    const parsed = studyDefinition.safeParse(json);
    if (!parsed.success) {
      return res.status(422).render("studies/new", await newPage(req, { definition: raw, team: req.body?.team }, {}, definitionErrors(parsed.error, req.t)));
    }
    const study = await createStudyFromDefinition(db, parsed.data, req.user!.id, { teamId: team.teamId });
    res.redirect(303, `/studies/${study.id}`);
  });

  /** Everything the study page renders; the segment form's errors and values when it is shown again. */
  async function studyPage(req: Request, study: Study, form: { errors: Record<string, string>; values: Record<string, unknown> } = { errors: {}, values: {} }) {
    const waves = await listWaves(db, study.id);
    return {
      study,
      segments: await listSegments(db, study.id),
      waves,
      nextMonth: nextMonthLabel(waves, req.locale, study.timeZone),
      months: monthList(monthWaves(waves), req.locale, study.timeZone, req.t),
      frozen: await isFrozen(db, study.id),
      canEdit: can(req, "researcher"),
      notice: req.query["duplicated"] === "1" ? req.t("study.duplicated", { name: study.name }) : "",
      ...form,
    };
  }

  router.get("/studies/:studyId", async (req, res) => {
    res.render("studies/show", await studyPage(req, await studyFrom(db, req)));
  });

  router.get("/studies/:studyId/export.json", async (req, res) => {
    const study = await studyFrom(db, req);
    const def = toDefinition(study, await listSegments(db, study.id), await loadQuestionnaire(db, study.id), await listMargins(db, study.id), await listKpis(db, study.id), await listWaveNotes(db, study.id));
    await recordAudit(db, { userId: req.user!.id, action: "study.export", entityType: "study", entityId: study.id });
    res.attachment(`study-${study.id}.json`).type("application/json").send(JSON.stringify(def, null, 2));
  });

  router.post("/studies/:studyId/duplicate", researcher, async (req, res) => {
    const study = await studyFrom(db, req);
    const def = toDefinition(study, await listSegments(db, study.id), await loadQuestionnaire(db, study.id), await listMargins(db, study.id), await listKpis(db, study.id), await listWaveNotes(db, study.id));
    const copy = await createStudyFromDefinition(db, studyDefinition.parse({ ...def, name: `${study.name} (copy)`.slice(0, 200) }), req.user!.id, { teamId: study.teamId });
    await recordAudit(db, { userId: req.user!.id, action: "study.duplicate", entityType: "study", entityId: copy.id, details: { from: study.id } });
    res.redirect(303, `/studies/${copy.id}?duplicated=1`);
  });

  router.post("/studies/:studyId/archive", researcher, async (req, res) => {
    const study = await studyFrom(db, req);
    // The form says which way: a double submit must not archive and then restore.
    const status = req.body?.to === "active" ? "active" : "archived";
    if (study.status === status) return res.redirect(303, `/studies/${study.id}`);
    await unitOfWork(db, async (tx) => {
      await updateStudy(tx, study.id, { status });
      await recordAudit(tx, { userId: req.user!.id, action: `study.${status === "archived" ? "archive" : "restore"}`, entityType: "study", entityId: study.id });
    });
    res.redirect(303, `/studies/${study.id}`);
  });

  /** The settings page's KPI section: the study's KPIs in words, and the add form's choices. */
  const kpiPanel = async (req: Request, study: Study, values: Record<string, unknown> = {}, errors: FieldErrors = {}) => {
    const segments = await listSegments(db, study.id);
    const questions = await loadQuestionnaire(db, study.id);
    const segmentLabel = (key: string) => localize(segments.find((s) => s.key === key)?.label ?? {}, req.locale, study.defaultLocale) || key;
    const metrics = questions.flatMap((q) => (q.metricName ? [{ value: q.metricName, label: metricLabel(req.t, q.metricName, q, req.locale, study.defaultLocale) }] : []));
    const label = new Map(metrics.map((m) => [m.value, m.label]));
    return {
      kpis: (await listKpis(db, study.id)).map((k) => ({ id: k.id, metric: label.get(k.metric) ?? k.metric, segment: segmentLabel(k.segmentKey), target: kpiTargetText(k, req.locale, req.t) })),
      metrics,
      segments: segments.map((s) => ({ value: s.key, label: segmentLabel(s.key) })),
      waveLabels: [...new Set((await listWaves(db, study.id)).map((w) => w.label))],
      values,
      errors,
    };
  };

  router.post("/studies/:studyId/kpis", researcher, async (req, res) => {
    const study = await studyFrom(db, req);
    const form = await parseKpiForm(db, study, req.body, req.t);
    const errors = form.ok ? await addKpi(db, study, form.kpi, req.user!.id, req.t) : form.errors;
    if (errors) {
      return res.status(422).render("studies/settings", { ...(await settingsPage(req, study)), kpiPanel: await kpiPanel(req, study, req.body ?? {}, errors) });
    }
    res.redirect(303, `/studies/${study.id}/settings?done=kpiAdded#kpis`);
  });

  router.post("/studies/:studyId/kpis/:kpiId/delete", researcher, async (req, res) => {
    const study = await studyFrom(db, req);
    const id = Number(req.params["kpiId"]);
    if (!Number.isSafeInteger(id)) throw new NotFoundError();
    await removeKpi(db, study, id, req.user!.id);
    res.redirect(303, `/studies/${study.id}/settings?done=kpiRemoved#kpis`);
  });

  const settingsPage = async (req: Request, study: Study) => ({
    study,
    values: { ...study, targetLift: targetLiftText(study.targetLift), timeZone: study.timeZone ?? "" },
    errors: {},
    notice: "",
    zones: zoneChoices(req.t, req.locale),
    frozen: await isFrozen(db, study.id),
    signing: signingGuide(study),
  });

  // The settings page is for researchers only: it shows the signing secret, which viewers never see.
  router.get("/studies/:studyId/settings", researcher, async (req, res) => {
    const study = await studyFrom(db, req);
    const notices: Record<string, string> = { saved: req.t("settingsPage.saved"), rotated: req.t("signing.rotated"), kpiAdded: req.t("tracking.settings.added"), kpiRemoved: req.t("tracking.settings.removed") };
    const done = req.query["saved"] === "1" ? "saved" : String(req.query["done"] ?? "");
    res.render("studies/settings", { ...(await settingsPage(req, study)), notice: notices[done] ?? "", kpiPanel: await kpiPanel(req, study) });
  });

  router.post("/studies/:studyId/signing-secret/rotate", researcher, async (req, res) => {
    const study = await studyFrom(db, req);
    await rotateSigningSecret(db, study, req.user!.id, "web");
    res.redirect(303, `/studies/${study.id}/settings?done=rotated#signing`);
  });

  router.post("/studies/:studyId/settings", researcher, async (req, res) => {
    const study = await studyFrom(db, req);
    const form = parseForm(settingsForm, req.body, req.t);
    if (!form.ok) {
      const locales = Array.isArray(req.body?.locales) ? req.body.locales : [req.body?.locales];
      return res.status(422).render("studies/settings", { study, values: { ...req.body, locales }, errors: form.errors, notice: "", zones: zoneChoices(req.t, req.locale), frozen: await isFrozen(db, study.id), signing: signingGuide(study), kpiPanel: await kpiPanel(req, study) });
    }
    const { category, costCurrency, publicTitle, targetLift, timeZone, ...rest } = form.data;
    // pp in the form, a fraction in the table (5 -> 0.05; 100 is exact, so 7 stays 0.07).
    const fields = { ...rest, category: category || null, costCurrency: costCurrency || null, publicTitle: publicTitle || null, targetLift: targetLift === null ? null : targetLift / 100, timeZone: timeZone || null };
    await unitOfWork(db, async (tx) => {
      // The page size decides which questions share a page: respondents half-way through would
      // find their pages moved (and skip required questions), so it is structure, frozen with the rest.
      const current = await findStudy(tx, study.id);
      if (current && current.pageSize !== fields.pageSize && (await studyHasOpenedWave(tx, study.id))) throw new QuestionnaireFrozenError();
      await updateStudy(tx, study.id, fields);
      await recordAudit(tx, { userId: req.user!.id, action: "study.settings", entityType: "study", entityId: study.id, details: fields });
    });
    res.redirect(303, `/studies/${study.id}/settings?saved=1`);
  });

  router.post("/studies/:studyId/segments", researcher, async (req, res) => {
    const study = await studyFrom(db, req);
    const form = parseForm(segmentForm, req.body, req.t);
    const segments = await listSegments(db, study.id);
    const errors = form.ok ? {} : form.errors;
    if (form.ok && segments.some((s) => s.key === form.data.key)) errors["key"] = req.t("validation.duplicateKey");
    if (!form.ok || Object.keys(errors).length) return res.status(422).render("studies/show", await studyPage(req, study, { errors, values: req.body ?? {} }));
    const { key, labelRu, labelEn, role } = form.data;
    await unitOfWork(db, async (tx) => {
      await insertSegment(tx, { studyId: study.id, key, label: { ru: labelRu, en: labelEn }, role });
      await recordAudit(tx, { userId: req.user!.id, action: "segment.add", entityType: "study", entityId: study.id, details: { key, role } });
    });
    res.redirect(303, `/studies/${study.id}#segments`);
  });

  router.get("/studies/:studyId/audit", async (req, res) => {
    const study = await studyFrom(db, req);
    res.render("studies/audit", { study, entries: await auditEntries(db, study, req.t, req.locale, res.locals["fmt"] as Formatters) });
  });

  return router;
}
