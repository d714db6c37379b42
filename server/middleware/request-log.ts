import type { RequestHandler } from "express";
import { logger } from "../logger.js";

/**
 * One JSON line per request. Only the path is logged, never the query string or body, with the
 * token segment of survey (/s/) and share (/r/) links masked: answers, passwords and tokens never
 * reach the log.
 */
export function requestLog(): RequestHandler {
  return (req, res, next) => {
    if (logger.silent) return next();
    const start = process.hrtime.bigint();
    res.on("finish", () => {
      logger.info("request", {
        method: req.method,
        path: redactPath(req.originalUrl),
        status: res.statusCode,
        durationMs: Number((process.hrtime.bigint() - start) / 1000n) / 1000,
        ...(req.user ? { userId: req.user.id } : {}),
      });
    });
    next();
  };
}

export function redactPath(url: string): string {
  const path = url.split("?")[0] ?? "";
  // Routing ignores case and repeated slashes ("/S//token" reaches /s/:token): so does the mask.
  return path.replace(/^\/+([sr])\/+[^/]+/i, (_, kind: string) => `/${kind.toLowerCase()}/:token`).slice(0, 200);
}
