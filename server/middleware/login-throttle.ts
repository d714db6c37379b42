import { randomBytes } from "node:crypto";
import type { Request, Response } from "express";
import type { Executor } from "../../db/client.js";
import { decrementRateLimit, deleteRateLimit, getRateLimit, takeRateLimit } from "../../db/queries/rate-limits.js";
import { hmac, safeEqual, sha256 } from "../domain/secrets.js";
import { accountLimitKey, clientAddressKey } from "./rate-limit.js";

/**
 * Failed logins are slowed down where they come from, never where they aim (OWASP's "device
 * cookies"; django-axes' username + address lockout), so strangers cannot lock an owner out:
 *
 * - one address on one account: LOGIN_LIMITS.pair failures per window;
 * - one address across all accounts (password spraying): LOGIN_LIMITS.address failures;
 * - a browser that has signed in to the account before carries a device cookie bound to that
 *   account: it is held only by its own failures (LOGIN_LIMITS.device), not by its address, so
 *   colleagues failing behind the same office address do not lock it out. Once those are spent,
 *   it is treated like any other browser.
 *
 * There is deliberately no counter per account: whatever it blocked, it would block the owner too.
 * While a limit is spent the attempt is refused before the password is checked, so a throttled
 * client learns nothing about the password. Only failures count: a successful login gives its
 * attempt back to the address and clears the account's own counter (pair or device), as only
 * someone holding the password can.
 */
export const LOGIN_WINDOW_MS = 15 * 60 * 1000;
export const LOGIN_LIMITS = { pair: 10, address: 20, device: 10 } as const;

export const DEVICE_COOKIE = "bl_device";
const DEVICE_TTL_MS = 365 * 24 * 3600 * 1000;
/** 16 random bytes, base64url; the stored key is made of it, so it must have this exact shape. */
const NONCE = /^[\w-]{22}$/;

/** Who is attempting: the counters' key material, all of bounded size. */
export interface LoginClient {
  /** clientAddressKey of the request: the address's keyed hash, never the address. */
  address: string;
  /** accountLimitKey of the posted email; undefined when it cannot be an account. */
  account?: string;
  /** The nonce of a valid device cookie for that account. */
  device?: string;
}

export type LoginAttempt =
  | { allowed: true; /** Call it when the password was right: the attempt does not count. */ succeeded: () => Promise<void> }
  | { allowed: false; retryAfterSeconds: number };

interface Counter {
  key: string;
  limit: number;
  /** Cleared by a successful login (the account's own counters), rather than given one back. */
  clears: boolean;
}

/** The counters a login attempt is taken from (address first: a refused spray leaves no row per account). */
function loginCounters(client: LoginClient): Counter[] {
  if (client.account !== undefined && client.device !== undefined) {
    return [{ key: `login-device:${client.device}`, limit: LOGIN_LIMITS.device, clears: true }];
  }
  const counters: Counter[] = [{ key: `login-ip:${client.address}`, limit: LOGIN_LIMITS.address, clears: false }];
  if (client.account !== undefined) {
    counters.push({ key: pairLimitKey(client.address, client.account), limit: LOGIN_LIMITS.pair, clears: true });
  }
  return counters;
}

/** The account + address counter's key: both hashed together, 75 characters whatever was posted. */
export function pairLimitKey(address: string, account: string): string {
  return `login-pair:${sha256(`${address}|${account}`)}`;
}

/**
 * Takes one attempt from every counter that applies, all or none: refused when one of them is
 * spent (a device whose own limit is spent falls back to the address limits).
 */
export async function takeLoginAttempt(db: Executor, client: LoginClient, now = new Date()): Promise<LoginAttempt> {
  const take = async (counters: Counter[]): Promise<LoginAttempt> => {
    const taken: Counter[] = [];
    for (const counter of counters) {
      const { key, limit } = counter;
      if (await takeRateLimit(db, key, now, LOGIN_WINDOW_MS, limit)) {
        taken.push(counter);
        continue;
      }
      for (const c of taken) await decrementRateLimit(db, c.key);
      const resetAt = (await getRateLimit(db, key))?.resetAt.getTime() ?? now.getTime() + LOGIN_WINDOW_MS;
      return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((resetAt - now.getTime()) / 1000)) };
    }
    return {
      allowed: true,
      succeeded: async () => {
        for (const c of taken) await (c.clears ? deleteRateLimit(db, c.key) : decrementRateLimit(db, c.key));
      },
    };
  };
  const attempt = await take(loginCounters(client));
  if (attempt.allowed || client.device === undefined) return attempt;
  return take(loginCounters({ ...client, device: undefined }));
}

/** The login client of a request posting `email`, with its device cookie when it is valid for that account. */
export function loginClient(req: Request, secret: string, email: unknown): LoginClient {
  const account = accountLimitKey(email);
  const client: LoginClient = { address: clientAddressKey(req, secret) };
  if (account === undefined) return client;
  client.account = account;
  const cookie: unknown = req.cookies?.[DEVICE_COOKIE];
  if (typeof cookie !== "string") return client;
  const [nonce = "", mac = ""] = cookie.split(".");
  if (NONCE.test(nonce) && safeEqual(mac, deviceMac(secret, account, nonce))) client.device = nonce;
  return client;
}

/** After a successful login: this browser is a known device of the account from now on. */
export function trustDevice(req: Request, res: Response, secret: string, email: unknown): void {
  const account = accountLimitKey(email);
  if (account === undefined) return;
  const nonce = randomBytes(16).toString("base64url");
  res.cookie(DEVICE_COOKIE, `${nonce}.${deviceMac(secret, account, nonce)}`, {
    httpOnly: true,
    sameSite: "lax",
    secure: req.secure,
    path: "/login",
    maxAge: DEVICE_TTL_MS,
  });
}

function deviceMac(secret: string, account: string, nonce: string): string {
  return hmac(secret, `login-device|${account}|${nonce}`);
}
