import { randomBytes } from "node:crypto";
import type { Request, RequestHandler } from "express";
import { hmac, safeEqual } from "../domain/secrets.js";
import { CsrfError } from "../errors.js";

export const CSRF_COOKIE = "bl_csrf";
export const CSRF_FIELD = "_csrf";
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * Synchronizer tokens without server state: each browser gets a random cookie, and forms carry
 * HMAC(secret, cookie + session). A forged cross-site post cannot read either, and a token minted
 * before login stops working after it because the session part changes.
 */
export function csrfProtection(secret: string): RequestHandler {
  return (req, res, next) => {
    let browserKey: unknown = req.cookies?.[CSRF_COOKIE];
    if (typeof browserKey !== "string" || !/^[A-Za-z0-9_-]{22,64}$/.test(browserKey)) {
      browserKey = randomBytes(18).toString("base64url");
      res.cookie(CSRF_COOKIE, browserKey, { httpOnly: true, sameSite: "lax", secure: req.secure, path: "/" });
      req.cookies = { ...req.cookies, [CSRF_COOKIE]: browserKey };
    }
    res.locals["csrfToken"] = csrfTokenFor(secret, req);
    res.locals["csrfField"] = CSRF_FIELD;
    if (SAFE_METHODS.has(req.method)) return next();
    const sent = submittedToken(req);
    if (!sent || !safeEqual(sent, csrfTokenFor(secret, req))) return next(new CsrfError());
    next();
  };
}

export function csrfTokenFor(secret: string, req: Request): string {
  return hmac(secret, `csrf|${String(req.cookies?.[CSRF_COOKIE])}|${req.sessionIdHash ?? ""}`);
}

function submittedToken(req: Request): string | undefined {
  const body: unknown = req.body;
  if (body && typeof body === "object" && CSRF_FIELD in body) {
    const value = (body as Record<string, unknown>)[CSRF_FIELD];
    if (typeof value === "string") return value;
  }
  const header = req.get("x-csrf-token");
  return header || undefined;
}
