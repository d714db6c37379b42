import type { Request } from "express";
import { ipKeyGenerator } from "express-rate-limit";
import { lightWrite, type Db, type Executor } from "../../db/client.js";
import { takeRateLimit } from "../../db/queries/rate-limits.js";
import { normalizeEmail } from "../../db/queries/users.js";
import { hmac, sha256 } from "../domain/secrets.js";

/**
 * The survey post limit: posts per client address per window, counted in the rate_limits table
 * under the address's keyed hash (clientAddressKey),
 * so every instance on the database shares the count (DESIGN: no such state in process memory).
 * A stored page's post counts as the first write of the submission's own unit of work, which
 * commits both at once: one statement more, no commit (and on PostgreSQL no round trips) of its
 * own. There, at READ COMMITTED, concurrent posts from one address (an office, a carrier's NAT)
 * take turns on the counter row, each until the one before commits: a few milliseconds a post,
 * far more posts per second than any sensible limit per minute lets through. Only a post refused
 * before its unit of work (an unknown link, an expired form, an unreadable body) counts alone, in
 * a light write (db/client.ts: on PostgreSQL no flush to wait for).
 * A refused post does not count (takeRateLimit), so knocking on does not move the window's end.
 */
export class SurveyPostLimit {
  constructor(
    private readonly db: Db,
    readonly windowMs: number,
    readonly limit: number,
  ) {}

  /** Counts a post from `address` (a clientAddressKey) on `db` (the submission's unit of work, or the database); false: over the limit. */
  async take(db: Executor, address: string, now = new Date()): Promise<boolean> {
    return (await takeRateLimit(db, `survey-post:${address}`, now, this.windowMs, this.limit)) !== undefined;
  }

  /** Counts a post that has no unit of work of its own to count in. */
  takeAlone(address: string, now = new Date()): Promise<boolean> {
    return lightWrite(this.db, (tx) => this.take(tx, address, now));
  }
}

/** The client address as Express resolved it (honouring TRUST_PROXY), IPv6 grouped by /56. */
export function clientAddress(req: Request): string {
  return ipKeyGenerator(req.ip ?? "unknown");
}

/**
 * What the rate limits store for a client address: its HMAC under the instances' shared secret, so
 * the rate_limits table (and its backups) holds no address, and one cannot be found again by hashing
 * the 2^32 IPv4 addresses, as a plain hash would allow. Every instance shares the secret, so they
 * agree on the key.
 */
export function clientAddressKey(req: Request, secret: string): string {
  return hmac(secret, `rate-limit-address|${clientAddress(req)}`);
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
