import i18next, { type TFunction } from "i18next";
import { LOCALES, type Locale } from "../../db/schema.js";
import { utcOffset } from "../domain/time-zones.js";
import { Lru } from "../lru.js";
import * as audienceArea from "./areas/audience.js";
import * as competitorsArea from "./areas/competitors.js";
import * as coreArea from "./areas/core.js";
import * as demoArea from "./areas/demo.js";
import * as exportsArea from "./areas/exports.js";
import * as fieldworkArea from "./areas/fieldwork.js";
import * as plannerArea from "./areas/planner.js";
import * as primingArea from "./areas/priming.js";
import * as qualityArea from "./areas/quality.js";
import * as timeArea from "./areas/time.js";
import * as auditArea from "./areas/audit.js";
import * as verdictArea from "./areas/verdict.js";
import * as safetyArea from "./areas/safety.js";
import * as signingArea from "./areas/signing.js";
import * as teamsArea from "./areas/teams.js";
import * as weightedResultsArea from "./areas/weighted-results.js";
import * as breakdownArea from "./areas/breakdown.js";
import * as accountsArea from "./areas/accounts.js";
import * as weightingArea from "./areas/weighting.js";
import * as jobsArea from "./areas/jobs.js";
import * as freshnessArea from "./areas/freshness.js";
import * as trackingArea from "./areas/tracking.js";
import * as monthlyArea from "./areas/monthly.js";

export type Translate = TFunction;
export { LOCALES, type Locale };

/**
 * Every catalogue is an area in areas/<name>.ts with both languages side by side (so a key is
 * added in both at once, and parallel work does not collide on one file); the core area lands at
 * the top level, each other area under its own key.
 */
const en = { ...coreArea.en, audience: audienceArea.en, exports: exportsArea.en, planner: plannerArea.en, demo: demoArea.en, quality: qualityArea.en, priming: primingArea.en, verdict: verdictArea.en, fieldwork: fieldworkArea.en, competitors: competitorsArea.en, time: timeArea.en, audit: auditArea.en, safety: safetyArea.en, signing: signingArea.en, teams: teamsArea.en, accounts: accountsArea.en, weighting: weightingArea.en, weightedResults: weightedResultsArea.en, breakdown: breakdownArea.en, jobs: jobsArea.en, freshness: freshnessArea.en, tracking: trackingArea.en, monthly: monthlyArea.en };
const ru = { ...coreArea.ru, audience: audienceArea.ru, exports: exportsArea.ru, planner: plannerArea.ru, demo: demoArea.ru, quality: qualityArea.ru, priming: primingArea.ru, verdict: verdictArea.ru, fieldwork: fieldworkArea.ru, competitors: competitorsArea.ru, time: timeArea.ru, audit: auditArea.ru, safety: safetyArea.ru, signing: signingArea.ru, teams: teamsArea.ru, accounts: accountsArea.ru, weighting: weightingArea.ru, weightedResults: weightedResultsArea.ru, breakdown: breakdownArea.ru, jobs: jobsArea.ru, freshness: freshnessArea.ru, tracking: trackingArea.ru, monthly: monthlyArea.ru };

export const messages = { en, ru } as const;

/**
 * One i18next instance for the process, initialised synchronously from the bundled messages.
 * i18next picks plural forms with Intl.PluralRules, so Russian gets one/few/many
 * (1 ответ, 2 ответа, 5 ответов) from the `_one/_few/_many` keys.
 * Interpolated values are not escaped here: every template escapes on output (`<%= %>`),
 * and escaping twice would show `&amp;` to users.
 */
const instance = i18next.createInstance();
void instance.init({
  resources: { en: { translation: en }, ru: { translation: ru } },
  supportedLngs: [...LOCALES],
  fallbackLng: "en",
  initAsync: false,
  interpolation: { escapeValue: false },
  returnNull: false,
  showSupportNotice: false,
});

// `{{count, grouped}}`: a plural's count with the language's digit grouping ("2 874 ответа",
// "2,874 responses"); a count some caller has already formatted as text passes as it is.
const grouped = { ru: new Intl.NumberFormat("ru-RU", { maximumFractionDigits: 0 }), en: new Intl.NumberFormat("en-GB", { maximumFractionDigits: 0 }) };
instance.services.formatter!.add("grouped", (value: unknown, lng: string | undefined) =>
  typeof value === "number" && Number.isFinite(value) ? (lng === "ru" ? grouped.ru : grouped.en).format(value) : String(value),
);

/** Messages remembered per language: every distinct (key, values) a page asks for, bounded. */
const TRANSLATIONS_KEPT = 20_000;

/**
 * The key a call is remembered by, or undefined for a call that is not: a single key with no
 * options or options of plain values only (objects, arrays and functions may carry anything).
 */
function callKey(key: unknown, options: unknown): string | undefined {
  if (typeof key !== "string") return undefined;
  if (options === undefined) return key;
  if (typeof options !== "object" || options === null) return undefined;
  for (const value of Object.values(options)) {
    if (value !== null && value !== undefined && typeof value !== "string" && typeof value !== "number" && typeof value !== "boolean") return undefined;
  }
  return `${key}\u0000${JSON.stringify(options)}`;
}

/**
 * A language's translate function that remembers what it returned. i18next resolves the language
 * hierarchy, the key path and the interpolation anew on every call (a sixth of a results page's
 * CPU, several thousand calls per page); the messages never change after start, so the same call
 * always gives the same string.
 */
function remembering(t: Translate): Translate {
  const kept = new Lru<string, string>(TRANSLATIONS_KEPT);
  const call = t as unknown as (key: unknown, options?: unknown) => unknown;
  const remembered = (key: unknown, options?: unknown): unknown => {
    const at = callKey(key, options);
    if (at === undefined) return call(key, options);
    const known = kept.get(at);
    if (known !== undefined) return known;
    const value = call(key, options);
    if (typeof value === "string") kept.set(at, value);
    return value;
  };
  return Object.assign(remembered, t) as unknown as Translate;
}

const fixed = new Map<Locale, Translate>(LOCALES.map((l) => [l, remembering(instance.getFixedT(l))]));

export function translator(locale: Locale): Translate {
  return fixed.get(locale)!;
}

export function isLocale(value: unknown): value is Locale {
  return typeof value === "string" && (LOCALES as readonly string[]).includes(value);
}

export interface LocaleSources {
  query?: unknown;
  cookie?: unknown;
  /** The best Accept-Language match among LOCALES, as `req.acceptsLanguages` gives it. */
  acceptLanguage?: string | false;
  fallback: Locale;
}

/** Locale precedence: `?lang=`, then the cookie, then Accept-Language, then DEFAULT_LOCALE. */
export function negotiateLocale(s: LocaleSources): Locale {
  if (isLocale(s.query)) return s.query;
  if (isLocale(s.cookie)) return s.cookie;
  const accepted = typeof s.acceptLanguage === "string" ? s.acceptLanguage.slice(0, 2).toLowerCase() : undefined;
  if (isLocale(accepted)) return accepted;
  return s.fallback;
}

let serverZone: { tz: string | undefined; zone: string } | undefined;

/** The server's own zone (the TZ environment variable, else the system's): pages outside a study use it. */
export function serverTimeZone(): string {
  // Asking Intl costs more than the rest of a survey request's formatting: once per TZ value.
  const tz = process.env["TZ"];
  if (serverZone?.tz !== tz || !serverZone) serverZone = { tz, zone: Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC" };
  return serverZone.zone;
}

/**
 * Numbers, percentages and dates the way each locale writes them (decimal comma in Russian).
 * Times are shown in `timeZone` (a study's zone, default the server's) with the zone named,
 * so a reader never has to guess whose 14:05 it is.
 */
export function formatters(locale: Locale, timeZone?: string | null): Formatters {
  const zone = timeZone || serverTimeZone();
  const key = `${locale}|${zone}`;
  let cached = formatterCache.get(key);
  if (!cached) {
    cached = buildFormatters(locale, zone);
    formatterCache.set(key, cached);
  }
  return cached;
}

export type Formatters = ReturnType<typeof buildFormatters>;

/** A zone's short name for readers: a city for the zones offered in study settings, else its UTC offset. */
export function zoneName(zone: string, locale: Locale, at: Date = new Date()): string {
  const named = translator(locale)(`time.cities.${zone.replace(/\//g, "_")}`, { defaultValue: "" });
  if (named) return named;
  return utcOffset(zone, at);
}

// Intl objects are costly to build; one set per locale and zone serves every request.
function buildFormatters(locale: Locale, timeZone: string) {
  const tag = locale === "ru" ? "ru-RU" : "en-GB";
  const integer = new Intl.NumberFormat(tag, { maximumFractionDigits: 0 });
  const percent = new Intl.NumberFormat(tag, { style: "percent", maximumFractionDigits: 0 });
  const dateTime = new Intl.DateTimeFormat(tag, { dateStyle: "medium", timeStyle: "short", timeZone });
  const date = new Intl.DateTimeFormat(tag, { dateStyle: "medium", timeZone });
  const name = zoneName(timeZone, locale);
  return {
    number: (n: number) => integer.format(n),
    percent: (share: number) => percent.format(share),
    dateTime: (d: Date | null | undefined) => (d ? `${dateTime.format(d)} (${name})` : ""),
    /** The calendar day in the zone, without the time. */
    date: (d: Date | null | undefined) => (d ? date.format(d) : ""),
    timeZone,
    zoneName: name,
  };
}

const formatterCache = new Map<string, Formatters>();
