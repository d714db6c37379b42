import cookieParser from "cookie-parser";
import express, { Router, type ErrorRequestHandler, type NextFunction, type Request, type RequestHandler, type Response } from "express";
import type { Db } from "../../db/client.js";
import type { LinkContext, QuotaState } from "../../db/queries/fieldwork.js";
import type { Locale, Study } from "../../db/schema.js";
import { checkSignature, pickParams } from "../domain/pass-through.js";
import { localize } from "../domain/questionnaire.js";
import { newSecretToken } from "../domain/secrets.js";
import { TooManyRequestsError } from "../errors.js";
import { isLocale, translator } from "../i18n/index.js";
import { Lru } from "../lru.js";
import { requestLocale } from "../middleware/locale.js";
import { clientAddress, clientAddressKey, SurveyPostLimit } from "../middleware/rate-limit.js";
import { fillSkeleton, renderToString, skeletonOf, standIn, type Skeleton } from "../presenters/page-skeleton.js";
import { respondentTitle } from "../presenters/priming.js";
import { countRespondentRequests } from "../respondent-traffic.js";
import { optionValues, questionViews, standInViews } from "../presenters/survey.js";
import {
  errorMessages,
  existingResponse,
  exitRedirect,
  linkContextCache,
  newFormToken,
  optionOrders,
  questionnaireCache,
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
const POST_WINDOW_MS = 60_000;
/** Rendered survey pages kept per process (a page is a few kilobytes: per study version, page and language). */
const PAGES_KEPT = 500;

type MessageKind = "thanks" | "already" | "quotaFull" | "closed" | "notFound" | "badSignature" | "unsigned" | "expired";

/** A link or post turned away before any survey page: the message page to answer with. */
interface Refusal {
  status: number;
  kind: MessageKind;
  study?: Pick<Study, "publicTitle">;
}

/**
 * The respondent's pages: `/s/:token` shows the questionnaire (or the page reached), a POST
 * stores a page, `/s/:token/thanks` ends. No JavaScript, no session, no CSRF token: the signed
 * per-render nonce is what makes a post count once.
 * Mounted ahead of the researchers' middleware (app.ts): these pages parse their own cookies and
 * take their language from the study, negotiating it (as the locale middleware does, from
 * `defaultLocale`) only for a page with no study to speak for it.
 */
export function respondRoutes(db: Db, secret: string, postLimitPerMinute: number, defaultLocale: Locale = "ru"): Router {
  const router = Router();
  const questionnaires = questionnaireCache(db);
  const contexts = linkContextCache();
  const skeletons = new Lru<string, Skeleton>(PAGES_KEPT);
  const postLimit = new SurveyPostLimit(db, POST_WINDOW_MS, postLimitPerMinute);
  // Background jobs wait while these are in flight (server/jobs/runner.ts).
  router.use("/s", countRespondentRequests(), cookieParser());

  /** The study's language unless the respondent chose another of the study's languages. */
  function useSurveyLocale(req: Request, res: Response, study: Pick<Study, "locales" | "defaultLocale"> | undefined, chosenBefore?: unknown): Locale {
    const offered = study?.locales ?? ["ru", "en"];
    const candidates = [req.query["lang"], chosenBefore];
    const chosen = candidates.find((c): c is Locale => isLocale(c) && offered.includes(c));
    const locale = chosen ?? study?.defaultLocale ?? requestLocale(req, defaultLocale);
    req.locale = locale;
    req.t = translator(locale);
    res.locals["locale"] = locale;
    res.locals["t"] = req.t;
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

  /** The browser id the request carries, if it carries a well-formed one. */
  function knownBrowserId(req: Request): string | undefined {
    const current: unknown = req.cookies?.[BROWSER_COOKIE];
    return typeof current === "string" && /^[A-Za-z0-9_-]{43}$/.test(current) ? current : undefined;
  }

  /** A long-lived random browser id (stored only as a salted hash): resumes and "already answered". */
  function browserId(req: Request, res: Response): { id: string; isNew: boolean } {
    const current = knownBrowserId(req);
    if (current) return { id: current, isNew: false };
    const id = newSecretToken();
    res.cookie(BROWSER_COOKIE, id, { httpOnly: true, sameSite: "lax", secure: req.secure, path: "/s", maxAge: ONE_YEAR_MS });
    return { id, isNew: true };
  }

  function respondent(req: Request, res: Response): Respondent {
    const browser = browserId(req, res);
    return respondentHashes(secret, browser.id, clientAddress(req), req.get("user-agent") ?? "", browser.isNew);
  }

  /**
   * Resolves the link, or says why not (404/410, a refused signature); also checks signed
   * pass-through parameters. `quota`: read the segment's quota with the link (resolveLink).
   */
  async function load(
    req: Request,
    res: Response,
    options: { quota?: boolean } = {},
  ): Promise<{ ctx: LinkContext; quota?: QuotaState; params: Record<string, string> } | { refusal: Refusal }> {
    res.set("Cache-Control", "no-store");
    const resolved = await resolveLink(db, String(req.params["token"]), { ...options, contexts });
    if (resolved.kind !== "open") {
      useSurveyLocale(req, res, resolved.kind === "closed" ? resolved.ctx.study : undefined, req.body?._l);
      return { refusal: resolved.kind === "closed" ? { status: 410, kind: "closed", study: resolved.ctx.study } : { status: 404, kind: "notFound" } };
    }
    const found = resolved.ctx;
    useSurveyLocale(req, res, found.study, req.body?._l);
    const query = req.query as Record<string, unknown>;
    // Checked before anything is read or written for this visitor: a refused link stores nothing.
    const refusal = checkSignature(found.study.signingSecret, query, found.link);
    if (refusal) return { refusal: { status: 403, kind: refusal === "missing" ? "unsigned" : "badSignature", study: found.study } };
    // A signed parameter is passed through even when not listed among the link's others.
    const signed = found.link.signedParams ?? [];
    const params = pickParams(query, [...(found.link.passParams ?? []), ...signed], signed);
    return { ctx: found, ...(resolved.quota ? { quota: resolved.quota } : {}), params };
  }

  function refuse(res: Response, refusal: Refusal) {
    message(res, refusal.status, refusal.kind, refusal.study);
  }

  function tooManyPosts(res: Response, next: NextFunction) {
    res.set("Retry-After", String(Math.ceil(postLimit.windowMs / 1000)));
    next(new TooManyRequestsError());
  }

  /** A post turned away before its unit of work still counts against its sender's limit. */
  async function refusePost(req: Request, res: Response, next: NextFunction, refusal: Refusal) {
    if (!(await postLimit.takeAlone(clientAddressKey(req, secret)))) return tooManyPosts(res, next);
    refuse(res, refusal);
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

  /** What page.ejs shows besides the questions: the links to the study's other languages, the form's address. */
  function pageChrome(req: Request, ctx: LinkContext) {
    const locale = req.locale;
    const langLinks = ctx.study.locales
      .filter((l) => l !== locale)
      .map((l) => {
        const search = new URLSearchParams(req.originalUrl.split("?")[1] ?? "");
        search.set("lang", l);
        return { locale: l, href: `/s/${ctx.link.token}?${search.toString()}` };
      });
    return { studyTitle: respondentTitle(ctx.study, req.t), langLinks, action: `/s/${ctx.link.token}${queryString(req, ["lang"])}` };
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
    res.status(status).render("respond/page", {
      ...pageChrome(req, ctx),
      page,
      questions: questionViews(page, req.locale, ctx.study.defaultLocale, kept, errors),
      form,
      notice,
    });
  }

  /**
   * A survey page as first shown (nothing kept, no errors), from the page's skeleton kept per
   * study version, page and language: only the form token, the addresses and the order of
   * options are the respondent's own. The first request for a skeleton renders the page as usual.
   */
  async function showPage(req: Request, res: Response, ctx: LinkContext, page: SurveyPage, form: FormToken) {
    const key = `${ctx.study.id}|${ctx.study.version}|${page.index}|${req.locale}`;
    const chrome = pageChrome(req, ctx);
    const skeleton = skeletons.get(key);
    if (!skeleton) {
      const html = await renderToString(res, "respond/page", {
        studyTitle: chrome.studyTitle,
        langLinks: chrome.langLinks.map((l) => ({ ...l, href: standIn(`lang.${l.locale}`) })),
        action: standIn("action"),
        page,
        questions: standInViews(questionViews(page, req.locale, ctx.study.defaultLocale, {}, {})),
        form: { nonce: standIn("nonce"), startedAt: standIn("startedAt"), signature: standIn("signature") },
        notice: "",
      });
      skeletons.set(key, skeletonOf(html));
      return renderPage(req, res, ctx, page, form);
    }
    const values = new Map<string, string>([
      ["nonce", form.nonce],
      ["startedAt", String(form.startedAt)],
      ["signature", form.signature],
      ["action", chrome.action],
    ]);
    for (const l of chrome.langLinks) values.set(`lang.${l.locale}`, l.href);
    optionValues(page, req.locale, ctx.study.defaultLocale, values);
    res.type("html").send(fillSkeleton(skeleton, values));
  }

  router.get("/s/:token", async (req, res) => {
    // A browser without our cookie has no response to resume on an open link: its first page
    // depends on the quota alone, read with the link.
    const loaded = await load(req, res, { quota: knownBrowserId(req) === undefined });
    if ("refusal" in loaded) return refuse(res, loaded.refusal);
    const { ctx, params } = loaded;
    const who = respondent(req, res);
    const questions = await questionnaires(ctx.study);
    const existing = await existingResponse(db, ctx, who);
    // A response the quota stopped at its last page (a personal link stays used) sees the quota-full exit again.
    if (existing?.status === "quota_full") return quotaFullExit(res, ctx, { ...params, ...(existing.params ?? {}) });
    if (existing && existing.status !== "partial") return message(res, 200, "already", ctx.study);
    if (existing) {
      // Resume in the language the respondent chose, unless they switch again.
      useSurveyLocale(req, res, ctx.study, existing.locale);
      const page = surveyPage(questions, ctx.study.pageSize, existing.currentPage, existing.optionOrder ?? {});
      return showPage(req, res, ctx, page, resumedFormToken(secret, ctx.link.token, existing));
    }
    if (await quotaFull(db, ctx, loaded.quota)) return quotaFullExit(res, ctx, params);
    // Only the first page's options are ordered here: the same seed orders the rest as the first page is stored.
    const first = surveyPage(questions, ctx.study.pageSize, 0, {});
    const page = { ...first, order: optionOrders(first.questions, rotationSeed(ctx, who)) };
    await showPage(req, res, ctx, page, newFormToken(secret, ctx.link.token));
  });

  const parseBody = express.urlencoded({ extended: false, limit: SURVEY_BODY_LIMIT, parameterLimit: 2000 });
  /** The form body; one refused (too large, malformed) still counts as a post. */
  const body: RequestHandler = (req, res, next) =>
    parseBody(req, res, (error?: unknown) => {
      if (!error) return next();
      postLimit.takeAlone(clientAddressKey(req, secret)).then((allowed) => (allowed ? next(error) : tooManyPosts(res, next)), next);
    });

  router.post("/s/:token", body, async (req, res, next) => {
    const address = clientAddressKey(req, secret);
    const loaded = await load(req, res);
    if ("refusal" in loaded) return refusePost(req, res, next, loaded.refusal);
    const { ctx, params } = loaded;
    const form = readFormToken(secret, ctx.link.token, req.body ?? {});
    if (!form) return refusePost(req, res, next, { status: 400, kind: "expired", study: ctx.study });
    const who = respondent(req, res);
    const questions = await questionnaires(ctx.study);
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
      countPost: (tx) => postLimit.take(tx, address),
    });

    switch (outcome.kind) {
      case "rate_limited":
        return tooManyPosts(res, next);
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
    const resolved = await resolveLink(db, String(req.params["token"]), { contexts });
    // The thank-you page stays reachable after the wave closes: a respondent may reload it.
    if (resolved.kind === "not_found") {
      useSurveyLocale(req, res, undefined);
      return message(res, 404, "notFound");
    }
    useSurveyLocale(req, res, resolved.ctx.study);
    message(res, 200, "thanks", resolved.ctx.study);
  });

  /** An error page in the language negotiated for the request, when it failed before its study was known. */
  const speakTheError: ErrorRequestHandler = (error, req, res, next) => {
    if (!req.t) useSurveyLocale(req, res, undefined);
    next(error);
  };
  router.use("/s", speakTheError);

  return router;
}
