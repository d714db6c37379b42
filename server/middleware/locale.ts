import type { Request, RequestHandler } from "express";
import { formatters, negotiateLocale, translator } from "../i18n/index.js";
import type { Locale } from "../i18n/index.js";

export const LOCALE_COOKIE = "bl_lang";
const ONE_YEAR_MS = 365 * 24 * 3600 * 1000;

/** Sets req.locale / req.t and the view helpers; `?lang=` is remembered in a cookie. */
export function localeMiddleware(defaultLocale: Locale): RequestHandler {
  return (req, res, next) => {
    const query = req.query["lang"];
    const locale = requestLocale(req, defaultLocale);
    if (query === locale && req.cookies?.[LOCALE_COOKIE] !== locale) {
      res.cookie(LOCALE_COOKIE, locale, {
        maxAge: ONE_YEAR_MS,
        sameSite: "lax",
        httpOnly: true,
        secure: req.secure,
      });
    }
    req.locale = locale;
    req.t = translator(locale);
    res.locals["locale"] = locale;
    res.locals["t"] = req.t;
    res.locals["fmt"] = formatters(locale);
    res.locals["path"] = req.path;
    // Both languages are always offered: the switch links keep the current path.
    res.locals["otherLocales"] = (["ru", "en"] as const).filter((l) => l !== locale);
    next();
  };
}

/** The language a request asks for: `?lang=`, the remembered choice, Accept-Language, else `defaultLocale`. */
export function requestLocale(req: Request, defaultLocale: Locale): Locale {
  return negotiateLocale({
    query: req.query["lang"],
    cookie: req.cookies?.[LOCALE_COOKIE],
    // Without the header (or with "*"), Express would answer the first offered language;
    // then DEFAULT_LOCALE must decide instead.
    acceptLanguage: /[a-z]/i.test(req.get("accept-language") ?? "") ? req.acceptsLanguages("ru", "en") : false,
    fallback: defaultLocale,
  });
}

/**
 * A study's pages show its times in the study's zone (default the server's): the route that
 * loads the study swaps the view's formatters, so every `fmt.dateTime` on the page follows.
 */
export function useStudyZone(req: Request, study: { timeZone: string | null }): void {
  if (req.res) req.res.locals["fmt"] = formatters(req.locale, study.timeZone);
}
