import express, { Router, type Request, type Response } from "express";
import type { Db } from "../../db/client.js";
import type { LinkContext } from "../../db/queries/fieldwork.js";
import type { Locale, Study } from "../../db/schema.js";
import { checkSignature, pickParams } from "../domain/pass-through.js";
import { localize } from "../domain/questionnaire.js";
import { newSecretToken } from "../domain/secrets.js";
import { formatters, isLocale, translator } from "../i18n/index.js";
import { clientAddress, limiter } from "../middleware/rate-limit.js";
import { respondentTitle } from "../presenters/priming.js";
import { questionViews } from "../presenters/survey.js";
import {
  errorMessages,
  existingResponse,
  exitRedirect,
  loadSurvey,
  newFormToken,
  optionOrders,
  quotaFull,
  readFormToken,
  resolveLink,
  respondentHashes,
  resumedFormToken,
  rotationSeed,
  submitPage,
  surveyPage,
  type FormToken,
  type Respondent,
  type SurveyPage,
} from "../services/respond.js";

/** Survey bodies: generous for many long text answers, bounded all the same (413 beyond). */
export const SURVEY_BODY_LIMIT = "256kb";
const BROWSER_COOKIE = "bl_rid";
const ONE_YEAR_MS = 365 * 24 * 3600 * 1000;

type MessageKind = "thanks" | "already" | "quotaFull" | "closed" | "notFound" | "badSignature" | "unsigned" | "expired";

/**
 * The respondent's pages: `/s/:token` shows the questionnaire (or the page reached), a POST
 * stores a page, `/s/:token/thanks` ends. No JavaScript, no session, no CSRF token: the signed
 * per-render nonce is what makes a post count once.
 */
export function respondRoutes(db: Db, secret: string, postLimitPerMinute: number): Router {
  const router = Router();

  /** The study's language unless the respondent chose another of the study's languages. */
  function useSurveyLocale(req: Request, res: Response, study: Pick<Study, "locales" | "defaultLocale"> | undefined, chosenBefore?: unknown): Locale {
    const offered = study?.locales ?? ["ru", "en"];
    const candidates = [req.query["lang"], chosenBefore];
    const chosen = candidates.find((c): c is Locale => isLocale(c) && offered.includes(c));
    const locale = chosen ?? study?.defaultLocale ?? req.locale;
    req.locale = locale;
    req.t = translator(locale);
    res.locals["locale"] = locale;
    res.locals["t"] = req.t;
    res.locals["fmt"] = formatters(locale);
    return locale;
  }

  /** A message page; its tab title is the study's neutral public title (never its name or brand). */
  function message(res: Response, status: number, kind: MessageKind, study?: Pick<Study, "publicTitle">) {
    res.status(status).render("respond/message", {
      pageTitle: respondentTitle(study, res.locals["t"]),
      title: res.locals["t"](`survey.${kind}.title`),
      message: res.locals["t"](`survey.${kind}.message`),
    });
  }

  /** A long-lived random browser id (stored only as a salted hash): resumes and "already answered". */
  function browserId(req: Request, res: Response): string {
    const current: unknown = req.cookies?.[BROWSER_COOKIE];
    if (typeof current === "string" && /^[A-Za-z0-9_-]{43}$/.test(current)) return current;
    const id = newSecretToken();
    res.cookie(BROWSER_COOKIE, id, { httpOnly: true, sameSite: "lax", secure: req.secure, path: "/s", maxAge: ONE_YEAR_MS });
    return id;
  }

  function respondent(req: Request, res: Response): Respondent {
    return respondentHashes(secret, browserId(req, res), clientAddress(req), req.get("user-agent") ?? "");
  }

  /** Resolves the link or answers 404/410 itself; also checks signed pass-through parameters. */
  async function load(req: Request, res: Response): Promise<{ ctx: LinkContext; params: Record<string, string> } | undefined> {
    res.set("Cache-Control", "no-store");
    const resolved = await resolveLink(db, String(req.params["token"]));
    if (resolved.kind !== "open") {
      useSurveyLocale(req, res, resolved.kind === "closed" ? resolved.ctx.study : undefined, req.body?._l);
      if (resolved.kind === "closed") message(res, 410, "closed", resolved.ctx.study);
      else message(res, 404, "notFound");
      return undefined;
    }
    const found = resolved.ctx;
    useSurveyLocale(req, res, found.study, req.body?._l);
    const query = req.query as Record<string, unknown>;
    // Checked before anything is read or written for this visitor: a refused link stores nothing.
    const refusal = checkSignature(found.study.signingSecret, query, found.link);
    if (refusal) {
      message(res, 403, refusal === "missing" ? "unsigned" : "badSignature", found.study);
      return undefined;
    }
    // A signed parameter is passed through even when not listed among the link's others.
    const signed = found.link.signedParams ?? [];
    const params = pickParams(query, [...(found.link.passParams ?? []), ...signed], signed);
    return { ctx: found, params };
  }

  /** The quota-full exit, the same at the start, at the last page and on a revisit: the panel's redirect or our page. */
  function quotaFullExit(res: Response, ctx: LinkContext, params: Record<string, string>) {
    const target = exitRedirect(ctx, "quota_full", params);
    return target ? res.redirect(303, target) : message(res, 200, "quotaFull", ctx.study);
  }

  function queryString(req: Request, drop: string[] = []): string {
    const search = new URLSearchParams(req.originalUrl.split("?")[1] ?? "");
    for (const name of drop) search.delete(name);
    const s = search.toString();
    return s ? `?${s}` : "";
  }

  function renderPage(
    req: Request,
    res: Response,
    ctx: LinkContext,
    page: SurveyPage,
    form: FormToken,
    status = 200,
    kept: Record<string, string[]> = {},
    errors: Record<string, string> = {},
    notice = "",
  ) {
    const locale = req.locale;
    const langLinks = ctx.study.locales
      .filter((l) => l !== locale)
      .map((l) => {
        const search = new URLSearchParams(req.originalUrl.split("?")[1] ?? "");
        search.set("lang", l);
        return { locale: l, href: `/s/${ctx.link.token}?${search.toString()}` };
      });
    res.status(status).render("respond/page", {
      studyTitle: respondentTitle(ctx.study, req.t),
      page,
      questions: questionViews(page, locale, ctx.study.defaultLocale, kept, errors),
      form,
      action: `/s/${ctx.link.token}${queryString(req, ["lang"])}`,
      langLinks,
      notice,
    });
  }

  router.get("/s/:token", async (req, res) => {
    const loaded = await load(req, res);
    if (!loaded) return;
    const { ctx, params } = loaded;
    const who = respondent(req, res);
    const questions = await loadSurvey(db, ctx);
    const existing = await existingResponse(db, ctx, who);
    // A response the quota stopped at its last page (a personal link stays used) sees the quota-full exit again.
    if (existing?.status === "quota_full") return quotaFullExit(res, ctx, { ...params, ...(existing.params ?? {}) });
    if (existing && existing.status !== "partial") return message(res, 200, "already", ctx.study);
    if (existing) {
      // Resume in the language the respondent chose, unless they switch again.
      useSurveyLocale(req, res, ctx.study, existing.locale);
      const page = surveyPage(questions, ctx.study.pageSize, existing.currentPage, existing.optionOrder ?? {});
      return renderPage(req, res, ctx, page, resumedFormToken(secret, ctx.link.token, existing));
    }
    if (await quotaFull(db, ctx)) return quotaFullExit(res, ctx, params);
    const page = surveyPage(questions, ctx.study.pageSize, 0, optionOrders(questions, rotationSeed(ctx, who)));
    renderPage(req, res, ctx, page, newFormToken(secret, ctx.link.token));
  });

  const postLimit = limiter(db, { name: "survey-post", windowMs: 60_000, limit: postLimitPerMinute, key: clientAddress });
  const body = express.urlencoded({ extended: false, limit: SURVEY_BODY_LIMIT, parameterLimit: 2000 });

  router.post("/s/:token", postLimit, body, async (req, res) => {
    const loaded = await load(req, res);
    if (!loaded) return;
    const { ctx, params } = loaded;
    const form = readFormToken(secret, ctx.link.token, req.body ?? {});
    if (!form) return message(res, 400, "expired", ctx.study);
    const who = respondent(req, res);
    const questions = await loadSurvey(db, ctx);
    const honeypot = req.body?.website;
    const outcome = await submitPage(db, questions, {
      ctx,
      who,
      form,
      body: req.body ?? {},
      params,
      locale: req.locale,
      // Absent is fine (tools post the form contract directly); anything typed in it is a bot's mark.
      honeypotFilled: typeof honeypot === "string" ? honeypot.trim() !== "" : honeypot !== undefined,
      now: new Date(),
    });

    switch (outcome.kind) {
      case "invalid": {
        const errors = errorMessages(outcome.validation.errors, outcome.page.questions, req.t, (q, key) =>
          localize(q.options.find((o) => o.key === key)?.text, req.locale, ctx.study.defaultLocale),
        );
        return renderPage(req, res, ctx, outcome.page, form, 422, outcome.validation.kept, errors);
      }
      case "incomplete": {
        const errors = errorMessages(outcome.errors, outcome.page.questions, req.t, () => "");
        return renderPage(req, res, ctx, outcome.page, form, 422, {}, errors, req.t("safety.incomplete"));
      }
      case "next_page":
        return res.redirect(303, `/s/${ctx.link.token}${queryString(req)}`);
      case "completed": {
        const flagged = outcome.response.qualityFlags?.some((f) => f.code === "honeypot");
        const target = exitRedirect(ctx, flagged ? "quality_fail" : "complete", { ...params, ...(outcome.response.params ?? {}) });
        // The thank-you page speaks the language the respondent answered in.
        return res.redirect(303, target ?? `/s/${ctx.link.token}/thanks?lang=${req.locale}`);
      }
      case "already_answered":
        return message(res, 409, "already", ctx.study);
      case "quota_full":
        return quotaFullExit(res, ctx, { ...params, ...(outcome.response?.params ?? {}) });
      case "expired":
        return message(res, 400, "expired", ctx.study);
    }
  });

  router.get("/s/:token/thanks", async (req, res) => {
    res.set("Cache-Control", "no-store");
    const resolved = await resolveLink(db, String(req.params["token"]));
    // The thank-you page stays reachable after the wave closes: a respondent may reload it.
    if (resolved.kind === "not_found") {
      useSurveyLocale(req, res, undefined);
      return message(res, 404, "notFound");
    }
    useSurveyLocale(req, res, resolved.ctx.study);
    message(res, 200, "thanks", resolved.ctx.study);
  });

  return router;
}
