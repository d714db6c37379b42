import type { Request, RequestHandler } from "express";
import type { Db } from "../../db/client.js";
import { findUserByApiToken, markApiTokenUsed } from "../../db/queries/api-tokens.js";
import { membershipsOf, studyTeam, waveTeam } from "../../db/queries/teams.js";
import type { TeamRole, User } from "../../db/schema.js";
import { atLeast, hasRoleSomewhere, roleInTeam, type Actor } from "../domain/access.js";
import { sha256 } from "../domain/secrets.js";
import { ForbiddenError, NotFoundError, UnauthorizedError } from "../errors.js";

/** The user with their team memberships, read once per request. */
export async function toActor(db: Db, user: User): Promise<Actor> {
  return { ...user, memberships: await membershipsOf(db, user.id) };
}

/** What the request may do with the study its path names (set by `studyScope`). */
export interface StudyAccess {
  studyId: number;
  teamId: number;
  role: TeamRole;
}

/** `/studies/12…` and `/waves/34…`, relative to where the router is mounted (the web root or `/api`). */
const STUDY_PATH = /^\/studies\/(\d+)(?:\/|$)/;
const WAVE_PATH = /^\/waves\/(\d+)(?:\/|$)/;

/**
 * The one gate between a signed-in user and a study: every path under `/studies/:id` and
 * `/waves/:id` resolves to its study's team here, before any route runs. A study of a team the
 * user does not belong to is a 404, exactly like a study that does not exist, so ids reveal nothing.
 * Routes then only say which role they need (`requireRole`), which reads the role found here.
 */
export function studyScope(db: Db): RequestHandler {
  return async (req, res, next) => {
    if (!req.user) return next();
    const study = STUDY_PATH.exec(req.path);
    const wave = study ? null : WAVE_PATH.exec(req.path);
    if (!study && !wave) return next();
    const id = Number((study ?? wave)![1]);
    const found = Number.isSafeInteger(id) ? await (study ? studyTeam(db, id) : waveTeam(db, id)) : undefined;
    const role = found ? roleInTeam(req.user, found.teamId) : null;
    if (!found || !role) return next(new NotFoundError());
    req.studyAccess = { studyId: found.studyId, teamId: found.teamId, role };
    res.locals["studyRole"] = role;
    next();
  };
}

/** Whether the request may act as `required`: on the study in its path, else in some team of the user. */
export function can(req: Request, required: TeamRole): boolean {
  if (!req.user) return false;
  if (req.studyAccess) return atLeast(req.studyAccess.role, required);
  return hasRoleSomewhere(req.user, required);
}

/**
 * The one place roles are enforced. Anonymous visitors of pages go to the login page (and come
 * back afterwards); API callers and signed-in users without the role get an error. `admin` is the
 * install's administrator; the team roles are checked against the study in the path (`studyScope`)
 * or, on pages about no study (the list, "new study"), against the user's strongest team role.
 */
export function requireRole(required: TeamRole | "admin"): RequestHandler {
  return (req, res, next) => {
    if (!req.user) {
      // Scripts (the API, the progress poller) get a 401 they can read; people get the login page.
      if (req.baseUrl.startsWith("/api") || !req.accepts("html")) return next(new UnauthorizedError());
      const back = req.method === "GET" ? req.originalUrl : "/";
      return res.redirect(303, `/login?next=${encodeURIComponent(back)}`);
    }
    const allowed = required === "admin" ? req.user.isAdmin : required === "viewer" && !req.studyAccess ? true : can(req, required);
    if (!allowed) return next(new ForbiddenError());
    next();
  };
}

/** `Authorization: Bearer <token>` for the JSON API; a missing or wrong token is a 401. */
export function bearerToken(db: Db): RequestHandler {
  return async (req, _res, next) => {
    const match = /^Bearer ([A-Za-z0-9_-]{20,200})$/.exec(req.get("authorization") ?? "");
    if (!match) return next(new UnauthorizedError("invalid_token", "invalidToken"));
    const found = await findUserByApiToken(db, sha256(match[1]!));
    if (!found) return next(new UnauthorizedError("invalid_token", "invalidToken"));
    await markApiTokenUsed(db, found.tokenId, new Date());
    req.user = await toActor(db, found.user);
    next();
  };
}
