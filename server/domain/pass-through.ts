import { hmac, safeEqual } from "./secrets.js";

/**
 * Pass-through parameters: what panels and ad links append to a survey URL (`rid`, `src`,
 * `utm_*`, and names allowed per link). Only these are kept, as short strings.
 */

const ALWAYS_ALLOWED = new Set(["rid", "src"]);
const UTM = /^utm_[a-z0-9_]{1,30}$/;
const MAX_VALUE_LENGTH = 500;
const MAX_PARAMS = 30;
export const SIGNATURE_PARAM = "sig";

export function pickParams(query: Record<string, unknown>, allowedExtra: readonly string[] = []): Record<string, string> {
  const allowed = new Set([...ALWAYS_ALLOWED, ...allowedExtra]);
  const params: Record<string, string> = {};
  let count = 0;
  for (const [name, raw] of Object.entries(query)) {
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
  return [...signedNames]
    .filter((n) => params[n] !== undefined)
    .sort()
    .map((n) => `${encodeURIComponent(n)}=${encodeURIComponent(params[n]!)}`)
    .join("&");
}

export function signParams(secret: string, params: Record<string, string>, signedNames: readonly string[]): string {
  return hmac(secret, canonicalSigned(params, signedNames));
}

/**
 * True when the link needs no signature, or none of its signed parameters is present, or the
 * `sig` parameter is HMAC-SHA256(study secret, canonical string), base64url.
 */
export function signatureValid(
  secret: string,
  query: Record<string, unknown>,
  params: Record<string, string>,
  signedNames: readonly string[] | null,
): boolean {
  if (!signedNames?.length || !signedNames.some((n) => params[n] !== undefined)) return true;
  const sent = query[SIGNATURE_PARAM];
  return typeof sent === "string" && safeEqual(sent, signParams(secret, params, signedNames));
}

/** Fills `{rid}` (and any other `{param}`) in a panel redirect template, URL-encoded. */
export function fillRedirect(template: string, params: Record<string, string>): string {
  return template.replace(/\{([a-z][a-z0-9_]{0,40})\}/g, (_m, name: string) => encodeURIComponent(params[name] ?? ""));
}
