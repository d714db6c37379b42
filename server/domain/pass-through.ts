import { hmac, safeEqual } from "./secrets.js";

/**
 * Pass-through parameters: what panels and ad links append to a survey URL (`rid`, `src`,
 * `utm_*`, and names allowed per link). Only these are kept, as short strings.
 */

const ALWAYS_ALLOWED = new Set(["rid", "src"]);
const UTM = /^utm_[a-z0-9_]{1,30}$/;
export const MAX_VALUE_LENGTH = 500;
const MAX_PARAMS = 30;
export const SIGNATURE_PARAM = "sig";

export function pickParams(query: Record<string, unknown>, allowedExtra: readonly string[] = [], first: readonly string[] = []): Record<string, string> {
  const allowed = new Set([...ALWAYS_ALLOWED, ...allowedExtra, ...first]);
  const params: Record<string, string> = {};
  let count = 0;
  // The signed names first, so that thirty utm_* in front of them cannot push them out.
  const names = [...new Set([...first.filter((n) => Object.hasOwn(query, n)), ...Object.keys(query)])];
  for (const name of names) {
    const raw = query[name];
    if (!(allowed.has(name) || UTM.test(name)) || typeof raw !== "string") continue;
    if (++count > MAX_PARAMS) break;
    params[name] = raw.slice(0, MAX_VALUE_LENGTH);
  }
  return params;
}

/**
 * The string a panel signs: the signed parameters present, sorted by name, as `a=1&b=2` with
 * names and values percent-encoded, so that `rid="1&src=2"` cannot sign the same as two parameters.
 */
export function canonicalSigned(params: Record<string, string>, signedNames: readonly string[]): string {
  return [...new Set(signedNames)]
    .filter((n) => Object.hasOwn(params, n))
    .sort()
    .map((n) => `${encodeURIComponent(n)}=${encodeURIComponent(params[n]!)}`)
    .join("&");
}

/** `sig`: HMAC-SHA256 keyed with the secret's text (its ASCII bytes, not decoded), base64url without padding. */
export function signParams(secret: string, params: Record<string, string>, signedNames: readonly string[]): string {
  return hmac(secret, canonicalSigned(params, signedNames));
}

/** What a link asks of its signed parameters (links.signed_params, links.require_signature). */
export interface SigningRule {
  signedParams: readonly string[] | null;
  requireSignature: boolean;
}

/**
 * Why a link was refused: a signed parameter or the signature is missing (only when the link
 * requires signing), one of them came twice (`?rid=a&rid=b`: which one would be the signed one?),
 * a signed value is longer than is kept, or the signature does not match.
 */
export type SignatureRefusal = "missing" | "repeated" | "too_long" | "invalid";

/**
 * Checks the signed parameters of a survey URL against the raw query (the query parser's
 * strings, or arrays for a repeated name), not against the kept parameters, so nothing dropped
 * on the way (a repeat, a 31st parameter) can make a signed parameter look absent.
 *
 * - A link that signs nothing needs nothing.
 * - A signed parameter or `sig` sent twice is always refused.
 * - When the link requires signing, every signed parameter and `sig` must be there; otherwise
 *   a link opened with none of its signed parameters passes (an organic visit), and any that are
 *   present must be signed.
 * - `sig` must equal HMAC-SHA256(secret, canonicalSigned(present values)), base64url.
 *
 * Returns undefined when the link may be answered.
 */
export function checkSignature(secret: string, query: Record<string, unknown>, rule: SigningRule): SignatureRefusal | undefined {
  const names = [...new Set(rule.signedParams ?? [])];
  if (names.length === 0) return undefined;
  const value = (name: string) => (Object.hasOwn(query, name) ? query[name] : undefined);
  const sent = value(SIGNATURE_PARAM);
  if ([...names, SIGNATURE_PARAM].some((n) => Array.isArray(value(n)))) return "repeated";
  const present: Record<string, string> = {};
  for (const n of names) {
    const v = value(n);
    if (typeof v === "string") present[n] = v;
    // Anything else (an object from another parser) is no value to sign.
    else if (v !== undefined) return "invalid";
  }
  const count = Object.keys(present).length;
  if (rule.requireSignature && (count < names.length || typeof sent !== "string")) return "missing";
  if (count === 0) return undefined;
  if (typeof sent !== "string") return "missing";
  // What is signed is what is stored: a value longer than is kept would be stored cut.
  if (Object.values(present).some((v) => v.length > MAX_VALUE_LENGTH)) return "too_long";
  return safeEqual(sent, signParams(secret, present, names)) ? undefined : "invalid";
}

/** Fills `{rid}` (and any other `{param}`) in a panel redirect template, URL-encoded. */
export function fillRedirect(template: string, params: Record<string, string>): string {
  return template.replace(/\{([a-z][a-z0-9_]{0,40})\}/g, (_m, name: string) => encodeURIComponent(params[name] ?? ""));
}
