import type { Request, RequestHandler, Response } from "express";
import type { Db } from "../../db/client.js";
import { deleteSession, findSessionUser, insertSession, touchSession } from "../../db/queries/sessions.js";
import type { User } from "../../db/schema.js";
import { newSecretToken, sha256 } from "../domain/secrets.js";
import { toActor } from "./auth.js";

export const SESSION_COOKIE = "bl_session";
/** Sliding lifetime: a week without a visit ends the session. */
export const SESSION_TTL_MS = 7 * 24 * 3600 * 1000;
/** Refresh the expiry at most this often, to spare a write per request. */
const TOUCH_INTERVAL_MS = 5 * 60 * 1000;

function cookieOptions(req: Request) {
  return { httpOnly: true, sameSite: "lax" as const, secure: req.secure, path: "/" };
}

/** Loads the signed-in user from the session cookie; an unknown or expired cookie is cleared. */
export function sessionMiddleware(db: Db): RequestHandler {
  return async (req, res, next) => {
    const raw: unknown = req.cookies?.[SESSION_COOKIE];
    if (typeof raw !== "string" || raw.length === 0) return next();
    const idHash = sha256(raw);
    const now = new Date();
    const found = await findSessionUser(db, idHash, now);
    if (!found) {
      res.clearCookie(SESSION_COOKIE, cookieOptions(req));
      return next();
    }
    if (now.getTime() - found.lastSeenAt.getTime() > TOUCH_INTERVAL_MS) {
      await touchSession(db, idHash, now, new Date(now.getTime() + SESSION_TTL_MS));
      res.cookie(SESSION_COOKIE, raw, { ...cookieOptions(req), maxAge: SESSION_TTL_MS });
    }
    req.user = await toActor(db, found.user);
    req.sessionIdHash = idHash;
    res.locals["user"] = req.user;
    next();
  };
}

/**
 * Starts a session for `user` under a brand-new id (any previous one is deleted), so an id planted
 * before login (session fixation) is worthless after it.
 */
export async function startSession(db: Db, req: Request, res: Response, user: User): Promise<void> {
  if (req.sessionIdHash) await deleteSession(db, req.sessionIdHash);
  const raw = newSecretToken();
  const now = new Date();
  await insertSession(db, sha256(raw), user.id, now, new Date(now.getTime() + SESSION_TTL_MS));
  res.cookie(SESSION_COOKIE, raw, { ...cookieOptions(req), maxAge: SESSION_TTL_MS });
  req.user = await toActor(db, user);
  req.sessionIdHash = sha256(raw);
}

export async function endSession(db: Db, req: Request, res: Response): Promise<void> {
  if (req.sessionIdHash) await deleteSession(db, req.sessionIdHash);
  res.clearCookie(SESSION_COOKIE, cookieOptions(req));
  delete req.user;
  delete req.sessionIdHash;
}
