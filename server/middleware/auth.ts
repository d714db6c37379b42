import type { RequestHandler } from "express";
import type { Db } from "../../db/client.js";
import { findUserByApiToken, markApiTokenUsed } from "../../db/queries/api-tokens.js";
import type { Role } from "../../db/schema.js";
import { sha256 } from "../domain/secrets.js";
import { ForbiddenError, UnauthorizedError } from "../errors.js";

/** Each role can do everything the roles after it can. */
const RANK: Record<Role, number> = { admin: 3, researcher: 2, viewer: 1 };

export function hasRole(userRole: Role, required: Role): boolean {
  return RANK[userRole] >= RANK[required];
}

/**
 * The one place roles are enforced. Anonymous visitors of pages go to the login page (and come
 * back afterwards); API callers and signed-in users without the role get an error.
 */
export function requireRole(required: Role): RequestHandler {
  return (req, res, next) => {
    if (!req.user) {
      // Scripts (the API, the progress poller) get a 401 they can read; people get the login page.
      if (req.baseUrl.startsWith("/api") || !req.accepts("html")) return next(new UnauthorizedError());
      const back = req.method === "GET" ? req.originalUrl : "/";
      return res.redirect(303, `/login?next=${encodeURIComponent(back)}`);
    }
    if (!hasRole(req.user.role, required)) return next(new ForbiddenError());
    next();
  };
}

/** `Authorization: Bearer <token>` for the JSON API; a missing or wrong token is a 401. */
export function bearerToken(db: Db): RequestHandler {
  return (req, _res, next) => {
    const match = /^Bearer ([A-Za-z0-9_-]{20,200})$/.exec(req.get("authorization") ?? "");
    if (!match) return next(new UnauthorizedError("invalid_token", "invalidToken"));
    const found = findUserByApiToken(db, sha256(match[1]!));
    if (!found) return next(new UnauthorizedError("invalid_token", "invalidToken"));
    markApiTokenUsed(db, found.tokenId, new Date());
    req.user = found.user;
    next();
  };
}
