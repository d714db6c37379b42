import type { Locale, WaveNote } from "../../db/schema.js";
import type { Translate } from "../i18n/index.js";

/**
 * Wave notes for readers: the wave page, the trends section and the monthly report show them
 * alike. Dates are calendar days (no time zone: a note's day is the day the researcher typed).
 */

export interface NoteView {
  id: number;
  kind: WaveNote["kind"];
  /** "Campaign", "Spend", "Post" in the reader's language. */
  kindLabel: string;
  text: string;
  /** "3 Mar 2027"; empty without a date. */
  date: string;
  /** "150,000.50 RUB"; empty without an amount. */
  amount: string;
  /** The note as one sentence: "Campaign, 3 Mar 2027: Spring posts — 150,000.50 RUB". */
  sentence: string;
  /** The stored values as the edit form shows them. */
  form: { kind: string; text: string; date: string; amount: string; currency: string };
}

const dayFormats = new Map<Locale, Intl.DateTimeFormat>();
const moneyFormats = new Map<Locale, Intl.NumberFormat>();

/** A YYYY-MM-DD day in the reader's language ("3 мар. 2027 г."), read as that calendar day. */
export function formatDay(day: string, locale: Locale): string {
  let format = dayFormats.get(locale);
  if (!format) dayFormats.set(locale, (format = new Intl.DateTimeFormat(locale === "ru" ? "ru-RU" : "en-GB", { dateStyle: "medium", timeZone: "UTC" })));
  return format.format(new Date(`${day}T00:00:00Z`));
}

/** An amount with its ISO currency code: "150 000,5 RUB" (up to two decimals, as typed). */
export function formatMoney(amount: number, currency: string, locale: Locale): string {
  let format = moneyFormats.get(locale);
  if (!format) moneyFormats.set(locale, (format = new Intl.NumberFormat(locale === "ru" ? "ru-RU" : "en-GB", { maximumFractionDigits: 2 })));
  return `${format.format(amount)}\u00a0${currency}`;
}

export function noteView(n: WaveNote, locale: Locale, t: Translate): NoteView {
  const kindLabel = t(`tracking.notes.kinds.${n.kind}`);
  const date = n.date ? formatDay(n.date, locale) : "";
  const amount = n.amount !== null && n.currency ? formatMoney(n.amount, n.currency, locale) : "";
  return {
    id: n.id,
    kind: n.kind,
    kindLabel,
    text: n.text,
    date,
    amount,
    sentence: t(`tracking.notes.sentence.${date ? "dated" : "undated"}${amount ? "Amount" : ""}`, { kind: kindLabel, date, text: n.text, amount }),
    form: {
      kind: n.kind,
      text: n.text,
      date: n.date ?? "",
      amount: n.amount === null ? "" : String(n.amount).replace(".", locale === "ru" ? "," : "."),
      currency: n.currency ?? "",
    },
  };
}

export function noteViews(notes: readonly WaveNote[], locale: Locale, t: Translate): NoteView[] {
  return notes.map((n) => noteView(n, locale, t));
}
