import { Router, type Request } from "express";
import { z } from "zod";
import type { Db } from "../../db/client.js";
import { countUsers } from "../../db/queries/users.js";
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from "../domain/passwords.js";
import { NotFoundError } from "../errors.js";
import { formText, parseForm } from "../forms.js";
import { loginClient, takeLoginAttempt, trustDevice } from "../middleware/login-throttle.js";
import { endSession, startSession } from "../middleware/session.js";
import { authenticate, createFirstAdmin } from "../services/accounts.js";

export const passwordField = z
  .string("validation.required")
  .min(MIN_PASSWORD_LENGTH, "validation.tooShort")
  .max(MAX_PASSWORD_LENGTH, "validation.tooLong");

export const emailField = z.string("validation.required").trim().pipe(z.email("validation.email").max(254));

const setupForm = z
  .object({
    name: formText(z, 200),
    email: emailField,
    password: passwordField,
    confirm: z.string("validation.required"),
  })
  .refine((f) => f.password === f.confirm, { path: ["confirm"], message: "validation.mismatch" });

const loginForm = z.object({
  email: z.string().trim().max(254).default(""),
  password: z.string().max(MAX_PASSWORD_LENGTH).default(""),
  next: z.string().max(2000).optional(),
});

/** Only same-site paths: `next` must never send a user to another origin after login. */
export function safeNextPath(next: unknown): string {
  if (typeof next !== "string" || !next.startsWith("/") || next.startsWith("//") || next.startsWith("/\\")) {
    return "/";
  }
  return next;
}

/** `secret` signs the device cookies that keep a known browser out of its address's login limits. */
export function authRoutes(db: Db, secret: string): Router {
  const router = Router();

  // /setup exists only while there is no user at all; afterwards it is a plain 404.
  const setupOpen = async (_req: Request, _res: unknown, next: (e?: unknown) => void) =>
    (await countUsers(db)) === 0 ? next() : next(new NotFoundError());

  router.get("/setup", setupOpen, (_req, res) => {
    res.render("auth/setup", { values: {}, errors: {}, minPassword: MIN_PASSWORD_LENGTH });
  });

  router.post("/setup", setupOpen, async (req, res) => {
    const form = parseForm(setupForm, req.body, req.t);
    if (!form.ok) {
      return res.status(422).render("auth/setup", {
        values: { name: req.body?.name, email: req.body?.email },
        errors: form.errors,
        minPassword: MIN_PASSWORD_LENGTH,
      });
    }
    const user = await createFirstAdmin(db, form.data);
    if (!user) throw new NotFoundError();
    await startSession(db, req, res, user);
    res.redirect(303, "/studies");
  });

  router.get("/login", async (req, res) => {
    if ((await countUsers(db)) === 0) return res.redirect(303, "/setup");
    if (req.user) return res.redirect(303, safeNextPath(req.query["next"]));
    res.render("auth/login", {
      values: {},
      failed: false,
      next: safeNextPath(req.query["next"]),
      notice: req.query["bye"] === "1" ? req.t("login.loggedOut") : "",
    });
  });

  // Failures are throttled per address and account + address, never per account alone (see
  // login-throttle.ts); a throttled attempt is refused before its password is checked.
  router.post("/login", async (req, res) => {
    const parsed = loginForm.safeParse(req.body ?? {});
    const form = parsed.success ? parsed.data : { email: "", password: "", next: "/" };
    const attempt = await takeLoginAttempt(db, loginClient(req, secret, req.body?.email));
    if (!attempt.allowed) {
      res.set("Retry-After", String(attempt.retryAfterSeconds));
      return res.status(429).render("auth/login", {
        values: { email: form.email },
        failed: false,
        throttled: req.t("safety.loginThrottled", { minutes: Math.ceil(attempt.retryAfterSeconds / 60) }),
        next: safeNextPath(form.next),
        notice: "",
      });
    }
    const user = form.email && form.password ? await authenticate(db, form.email, form.password) : undefined;
    if (!user) {
      return res.status(401).render("auth/login", {
        values: { email: form.email },
        failed: true,
        next: safeNextPath(form.next),
        notice: "",
      });
    }
    await attempt.succeeded();
    trustDevice(req, res, secret, form.email);
    await startSession(db, req, res, user);
    res.redirect(303, safeNextPath(form.next));
  });

  router.post("/logout", async (req, res) => {
    await endSession(db, req, res);
    res.redirect(303, "/login?bye=1");
  });

  return router;
}
