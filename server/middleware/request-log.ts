import type { RequestHandler } from "express";
import { logger } from "../logger.js";

/**
 * One JSON line per request. Only the path is logged, never the query string or body, with the
 * token segment of survey links masked: answers, passwords and tokens never reach the log.
 */
export function requestLog(): RequestHandler {
  return (req, res, next) => {
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
  return path.replace(/^\/s\/[^/]+/, "/s/:token").slice(0, 200);
}
