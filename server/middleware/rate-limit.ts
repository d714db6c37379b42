import type { Request, RequestHandler } from "express";
import { ipKeyGenerator, rateLimit, type Options, type Store } from "express-rate-limit";
import type { Db } from "../../db/client.js";
import {
  decrementRateLimit,
  deleteRateLimit,
  deleteRateLimitsWithPrefix,
  getRateLimit,
  incrementRateLimit,
} from "../../db/queries/rate-limits.js";
import { normalizeEmail } from "../../db/queries/users.js";
import { sha256 } from "../domain/secrets.js";
import { TooManyRequestsError } from "../errors.js";

/**
 * express-rate-limit store backed by the rate_limits table: counters outlive restarts and are
 * shared by every instance on the same database (DESIGN: no such state in process memory).
 */
export class SqliteRateLimitStore implements Store {
  localKeys = false;
  private windowMs = 60_000;

  constructor(
    private readonly db: Db,
    readonly prefix: string,
  ) {}

  init(options: Options): void {
    this.windowMs = options.windowMs;
  }

  async get(key: string) {
    const row = await getRateLimit(this.db, this.prefix + key);
    return row ? { totalHits: row.hits, resetTime: row.resetAt } : undefined;
  }

  async increment(key: string) {
    const row = await incrementRateLimit(this.db, this.prefix + key, new Date(), this.windowMs);
    return { totalHits: row.hits, resetTime: row.resetAt };
  }

  async decrement(key: string): Promise<void> {
    await decrementRateLimit(this.db, this.prefix + key);
  }

  async resetKey(key: string): Promise<void> {
    await deleteRateLimit(this.db, this.prefix + key);
  }

  async resetAll(): Promise<void> {
    await deleteRateLimitsWithPrefix(this.db, this.prefix);
  }
}

export interface LimitSettings {
  /** Store key prefix, one per limiter. */
  name: string;
  windowMs: number;
  limit: number;
  /** The counter's key; undefined leaves the request to the other limiters (nothing is stored). */
  key: (req: Request) => string | undefined;
  /** Count only failed attempts (status ≥ 400), as for logins. */
  onlyFailures?: boolean;
}

/** A limiter that answers 429 through the app's error handler (localized page or JSON). */
export function limiter(db: Db, s: LimitSettings): RequestHandler {
  return rateLimit({
    windowMs: s.windowMs,
    limit: s.limit,
    store: new SqliteRateLimitStore(db, `${s.name}:`),
    keyGenerator: (req) => s.key(req) ?? "",
    skip: (req) => s.key(req) === undefined,
    skipSuccessfulRequests: s.onlyFailures ?? false,
    standardHeaders: "draft-7",
    legacyHeaders: false,
    handler: (_req, _res, next) => next(new TooManyRequestsError()),
  });
}

/** The client address as Express resolved it (honouring TRUST_PROXY), IPv6 grouped by /56. */
export function clientAddress(req: Request): string {
  return ipKeyGenerator(req.ip ?? "unknown");
}

/** Longest email an account can have (RFC 5321 path limit); the login form refuses longer ones. */
export const MAX_EMAIL_LENGTH = 254;

/**
 * The account part of the login throttle's keys (login-throttle.ts): a SHA-256 of the normalised
 * email, so every key has the same small size whatever an anonymous client posts. An email that
 * cannot be an account (not text, empty, or longer than MAX_EMAIL_LENGTH once trimmed) gets no
 * key: it is limited per address only.
 */
export function accountLimitKey(email: unknown): string | undefined {
  if (typeof email !== "string") return undefined;
  const normalized = normalizeEmail(email);
  if (normalized.length === 0 || normalized.length > MAX_EMAIL_LENGTH) return undefined;
  return sha256(normalized);
}
