import i18next, { type TFunction } from "i18next";
import { LOCALES, type Locale } from "../../db/schema.js";
import * as audienceArea from "./areas/audience.js";
import * as competitorsArea from "./areas/competitors.js";
import * as demoArea from "./areas/demo.js";
import * as exportsArea from "./areas/exports.js";
import * as fieldworkArea from "./areas/fieldwork.js";
import * as plannerArea from "./areas/planner.js";
import * as primingArea from "./areas/priming.js";
import * as qualityArea from "./areas/quality.js";
import * as verdictArea from "./areas/verdict.js";
import { en as enCore } from "./en.js";
import { ru as ruCore } from "./ru.js";

export type Translate = TFunction;
export { LOCALES, type Locale };

/**
 * Areas keep their messages in areas/<name>.ts (so parallel work does not collide on one file);
 * each lands under its own top-level key.
 */
const en = { ...enCore, audience: audienceArea.en, exports: exportsArea.en, planner: plannerArea.en, demo: demoArea.en, quality: qualityArea.en, priming: primingArea.en, verdict: verdictArea.en, fieldwork: fieldworkArea.en, competitors: competitorsArea.en };
const ru = { ...ruCore, audience: audienceArea.ru, exports: exportsArea.ru, planner: plannerArea.ru, demo: demoArea.ru, quality: qualityArea.ru, priming: primingArea.ru, verdict: verdictArea.ru, fieldwork: fieldworkArea.ru, competitors: competitorsArea.ru };

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

const fixed = new Map<Locale, Translate>(LOCALES.map((l) => [l, instance.getFixedT(l)]));

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

/** Numbers, percentages and dates the way each locale writes them (decimal comma in Russian). */
export function formatters(locale: Locale): Formatters {
  return formatterCache.get(locale)!;
}

export type Formatters = ReturnType<typeof buildFormatters>;

// Intl objects are costly to build; one set per locale serves every request.
function buildFormatters(locale: Locale) {
  const tag = locale === "ru" ? "ru-RU" : "en-GB";
  const integer = new Intl.NumberFormat(tag, { maximumFractionDigits: 0 });
  const percent = new Intl.NumberFormat(tag, { style: "percent", maximumFractionDigits: 0 });
  const dateTime = new Intl.DateTimeFormat(tag, { dateStyle: "medium", timeStyle: "short", timeZone: "UTC" });
  return {
    number: (n: number) => integer.format(n),
    percent: (share: number) => percent.format(share),
    dateTime: (d: Date | null | undefined) => (d ? `${dateTime.format(d)} UTC` : ""),
  };
}

const formatterCache = new Map<Locale, Formatters>(LOCALES.map((l) => [l, buildFormatters(l)]));
