import type { Locale, Wave } from "../../db/schema.js";

/**
 * Reporting periods of a tracking study: one wave a month by default, named by its month in the
 * researcher's language and the study's time zone ("October 2026" / "Октябрь 2026"). Any label
 * typed replaces the default; these only name a wave nobody named.
 */

const TAGS: Record<Locale, string> = { ru: "ru-RU", en: "en-GB" };

/** "October 2026" / "Октябрь 2026" (the month in the nominative, capitalised, without "г."). */
export function monthLabel(at: Date, locale: Locale, timeZone: string | null): string {
  const zone = timeZone || undefined;
  const month = new Intl.DateTimeFormat(TAGS[locale], { month: "long", timeZone: zone }).format(at);
  const year = new Intl.DateTimeFormat(TAGS[locale], { year: "numeric", timeZone: zone }).format(at).replace(/\D/g, "");
  return `${month.charAt(0).toLocaleUpperCase(TAGS[locale])}${month.slice(1)} ${year}`;
}

/** The same day-of-month `months` later, kept inside the target month (31 Jan + 1 → 28/29 Feb). */
function addMonths(at: Date, months: number): Date {
  const d = new Date(at.getTime());
  const day = d.getUTCDate();
  d.setUTCDate(1);
  d.setUTCMonth(d.getUTCMonth() + months);
  const last = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
  d.setUTCDate(Math.min(day, last));
  return d;
}

/**
 * The label of the next monthly wave: the month after the last wave's (the month it opened in, or
 * was created in if it has not opened), or the current month for a study's first wave; a month
 * some wave is already labelled with is skipped, so two waves never share a label.
 */
export function nextMonthLabel(waves: ReadonlyArray<Pick<Wave, "label" | "openedAt" | "createdAt">>, locale: Locale, timeZone: string | null, now: Date = new Date()): string {
  const last = waves.at(-1);
  let at = last ? addMonths(last.openedAt ?? last.createdAt, 1) : now;
  const taken = new Set(waves.map((w) => w.label));
  for (let i = 0; i < 120 && taken.has(monthLabel(at, locale, timeZone)); i++) at = addMonths(at, 1);
  return monthLabel(at, locale, timeZone);
}
