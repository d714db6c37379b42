import type { ErrorRequestHandler, RequestHandler } from "express";
import { fromBodyParserError, HttpError, NotFoundError } from "../errors.js";
import { translator } from "../i18n/index.js";
import { logger } from "../logger.js";
import { redactPath } from "./request-log.js";

/** Everything no route claimed. */
export const notFound: RequestHandler = (_req, _res, next) => next(new NotFoundError());

/**
 * The one error handler: known errors keep their status and message; anything else is logged
 * with its stack and shown as a bare 500, never with its message or stack.
 * Under /api the answer is `{"error":{"code","message"}}`; elsewhere a localized page.
 */
export function errorHandler(): ErrorRequestHandler {
  return (error: unknown, req, res, next) => {
    if (res.headersSent) return next(error);
    const known = error instanceof HttpError ? error : fromBodyParserError(error);
    const status = known?.status ?? 500;
    const code = known?.code ?? "internal_error";
    const messageKey = known?.messageKey ?? "internal";
    // The path as the request log writes it: survey and share-link tokens masked.
    if (!known) logger.error("unhandled error", error, { method: req.method, path: redactPath(req.originalUrl) });

    // Errors can come before the locale middleware (e.g. a malformed URL); fall back to English.
    const t = req.t ?? translator("en");
    const title = t(`errors.${messageKey}.title`);
    const message = t(`errors.${messageKey}.message`);
    // An oversized body (an import, an API definition) says how much is allowed.
    const limit = status === 413 ? (error as { limit?: unknown }).limit : undefined;
    const details = typeof limit === "number" ? { body: t("safety.tooLargeLimit", { kb: Math.round(limit / 1024) }) } : known?.details;
    res.status(status);
    if (status === 401 && req.path.startsWith("/api")) res.set("WWW-Authenticate", 'Bearer realm="brand-lift"');

    if (req.originalUrl.startsWith("/api") || (!req.accepts("html") && req.accepts("json"))) {
      const body: { error: { code: string; message: string; details?: Record<string, string> } } = {
        error: { code, message },
      };
      if (details) body.error.details = details;
      return res.json(body);
    }
    res.render("error", { status, title, message, details: details ?? null, locale: req.locale ?? "en", t });
  };
}
