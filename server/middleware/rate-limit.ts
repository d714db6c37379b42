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

  get(key: string) {
    const row = getRateLimit(this.db, this.prefix + key);
    return row ? { totalHits: row.hits, resetTime: row.resetAt } : undefined;
  }

  increment(key: string) {
    const row = incrementRateLimit(this.db, this.prefix + key, new Date(), this.windowMs);
    return { totalHits: row.hits, resetTime: row.resetAt };
  }

  decrement(key: string): void {
    decrementRateLimit(this.db, this.prefix + key);
  }

  resetKey(key: string): void {
    deleteRateLimit(this.db, this.prefix + key);
  }

  resetAll(): void {
    deleteRateLimitsWithPrefix(this.db, this.prefix);
  }
}

export interface LimitSettings {
  /** Store key prefix, one per limiter. */
  name: string;
  windowMs: number;
  limit: number;
  key: (req: Request) => string;
  /** Count only failed attempts (status ≥ 400), as for logins. */
  onlyFailures?: boolean;
}

/** A limiter that answers 429 through the app's error handler (localized page or JSON). */
export function limiter(db: Db, s: LimitSettings): RequestHandler {
  return rateLimit({
    windowMs: s.windowMs,
    limit: s.limit,
    store: new SqliteRateLimitStore(db, `${s.name}:`),
    keyGenerator: s.key,
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
