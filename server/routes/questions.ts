import { Router, type Request, type Response } from "express";
import type { Db } from "../../db/client.js";
import { loadQuestionnaire } from "../../db/queries/questionnaire.js";
import { isUnaided, localize } from "../domain/questionnaire.js";
import { questionDefinition } from "../domain/study-definition.js";
import { NotFoundError } from "../errors.js";
import { can, requireRole } from "../middleware/auth.js";
import { primingWarnings, respondentTitle } from "../presenters/priming.js";
import { formErrors, formFromBody, formFromQuestion, pageBreakFromForm, questionFromForm, type QuestionFormValues } from "../presenters/question-form.js";
import { questionViews } from "../presenters/survey.js";
import { profileWarnings } from "../presenters/weighting.js";
import { addQuestion, DuplicateKeyError, deleteQuestion, isFrozen, moveQuestion, saveQuestion, setPageBreak } from "../services/questionnaire-edit.js";
import { newFormToken, optionOrders, type SurveyPage } from "../services/respond.js";
import { studyFrom } from "./studies.js";
import { metricLabel } from "../services/results.js";

/** The questionnaire builder: list, add, edit, reorder, delete, preview. */
export function questionRoutes(db: Db, secret: string): Router {
  const router = Router();
  const researcher = requireRole("researcher");

  router.get("/studies/:studyId/questions", requireRole("viewer"), async (req, res) => {
    const study = await studyFrom(db, req);
    const notices: Record<string, string> = {
      saved: req.t("builder.saved"),
      wording: req.t("builder.savedWording"),
      deleted: req.t("builder.deleted"),
    };
    const questions = await loadQuestionnaire(db, study.id);
    res.render("questions/index", {
      study,
      questions,
      warnings: primingWarnings(study, questions, req.t, req.locale),
      profileWarnings: profileWarnings(study.defaultLocale, questions, req.t, req.locale),
      isUnaided,
      frozen: await isFrozen(db, study.id),
      canEdit: can(req, "researcher"),
      notice: notices[String(req.query["done"])] ?? "",
      localize,
      // The metric as results name it (the question's text for a custom one), not its code.
      metricTitle: (q: (typeof questions)[number]) => (q.metricName ? metricLabel(req.t, q.metricName, q, req.locale, study.defaultLocale) : ""),
    });
  });

  const editor = (study: { id: number; name: string }, values: QuestionFormValues, errors: Record<string, string>, frozen: boolean, editingKey: string | null) => ({
    study,
    values,
    errors,
    frozen,
    editingKey,
    action: editingKey ? `/studies/${study.id}/questions/${editingKey}` : `/studies/${study.id}/questions`,
  });

  router.get("/studies/:studyId/questions/new", researcher, async (req, res) => {
    const study = await studyFrom(db, req);
    res.render("questions/edit", editor(study, formFromQuestion(undefined), {}, await isFrozen(db, study.id), null));
  });

  router.get("/studies/:studyId/questions/:key/edit", researcher, async (req, res) => {
    const study = await studyFrom(db, req);
    const q = (await loadQuestionnaire(db, study.id)).find((x) => x.key === req.params["key"]);
    if (!q) throw new NotFoundError();
    res.render("questions/edit", editor(study, formFromQuestion(q), {}, await isFrozen(db, study.id), q.key));
  });

  /** Parses the editor form; on errors re-renders it (422) with every value kept. */
  async function parseEditor(req: Request, res: Response, study: { id: number; name: string }, editingKey: string | null) {
    const parsed = questionDefinition.safeParse(questionFromForm(req.body ?? {}));
    if (parsed.success) return parsed.data;
    res.status(422).render("questions/edit", editor(study, formFromBody(req.body ?? {}), formErrors(parsed.error.issues, req.t), await isFrozen(db, study.id), editingKey));
    return undefined;
  }

  async function duplicateKey(req: Request, res: Response, study: { id: number; name: string }, editingKey: string | null) {
    res.status(422).render("questions/edit", editor(study, formFromBody(req.body ?? {}), { key: req.t("validation.duplicateKey") }, await isFrozen(db, study.id), editingKey));
  }

  router.post("/studies/:studyId/questions", researcher, async (req, res) => {
    const study = await studyFrom(db, req);
    const def = await parseEditor(req, res, study, null);
    if (!def) return;
    try {
      await addQuestion(db, study.id, def, req.user!.id, pageBreakFromForm(req.body ?? {}));
    } catch (error) {
      if (error instanceof DuplicateKeyError) return duplicateKey(req, res, study, null);
      throw error;
    }
    res.redirect(303, `/studies/${study.id}/questions?done=saved`);
  });

  router.post("/studies/:studyId/questions/:key", researcher, async (req, res) => {
    const study = await studyFrom(db, req);
    const key = String(req.params["key"]);
    const def = await parseEditor(req, res, study, key);
    if (!def) return;
    let change;
    try {
      change = await saveQuestion(db, study.id, key, def, req.user!.id, pageBreakFromForm(req.body ?? {}));
    } catch (error) {
      if (error instanceof DuplicateKeyError) return duplicateKey(req, res, study, key);
      throw error;
    }
    res.redirect(303, `/studies/${study.id}/questions?done=${change === "wording" ? "wording" : "saved"}`);
  });

  router.post("/studies/:studyId/questions/:key/move", researcher, async (req, res) => {
    const study = await studyFrom(db, req);
    await moveQuestion(db, study.id, String(req.params["key"]), req.body?.direction === "up" ? "up" : "down", req.user!.id);
    res.redirect(303, `/studies/${study.id}/questions`);
  });

  router.post("/studies/:studyId/questions/:key/page-break", researcher, async (req, res) => {
    const study = await studyFrom(db, req);
    await setPageBreak(db, study.id, String(req.params["key"]), req.body?.on === "1", req.user!.id);
    res.redirect(303, `/studies/${study.id}/questions`);
  });

  router.post("/studies/:studyId/questions/:key/delete", researcher, async (req, res) => {
    const study = await studyFrom(db, req);
    await deleteQuestion(db, study.id, String(req.params["key"]), req.user!.id);
    res.redirect(303, `/studies/${study.id}/questions?done=deleted`);
  });

  // The respondent's page exactly as rendered for a survey, every question on one page, inert.
  router.get("/studies/:studyId/preview", requireRole("viewer"), async (req, res) => {
    const study = await studyFrom(db, req);
    const questions = await loadQuestionnaire(db, study.id);
    const locale = study.locales.includes(req.locale) ? req.locale : study.defaultLocale;
    const page: SurveyPage = { questions, index: 0, count: 1, firstNumber: 1, total: questions.length, order: optionOrders(questions, `preview|${Date.now()}`) };
    res.render("respond/page", {
      locale,
      t: req.t,
      studyTitle: respondentTitle(study, req.t),
      page,
      questions: questionViews(page, locale, study.defaultLocale, {}, {}),
      form: newFormToken(secret, "preview"),
      action: "#",
      langLinks: study.locales.filter((l) => l !== locale).map((l) => ({ locale: l, href: `/studies/${study.id}/preview?lang=${l}` })),
      preview: { backUrl: `/studies/${study.id}/questions` },
    });
  });

  return router;
}
