import type { Locale, LocalizedText, Segment } from "../../db/schema.js";
import { messages, type Translate } from "../i18n/index.js";
import { localize } from "./questionnaire.js";

/** The three audiences every study measures (see README glossary). */
export const DEFAULT_SEGMENT_KEYS = ["subscribers", "active_unsubscribed", "inactive"] as const;

export function defaultSegments(): Array<{ key: string; label: LocalizedText; role: "exposed" }> {
  return DEFAULT_SEGMENT_KEYS.map((key) => ({
    key,
    label: { ru: messages.ru.segments[key], en: messages.en.segments[key] },
    role: "exposed",
  }));
}

/** A segment's name for readers: its label in their language, else the catalogue's name for its key. */
export function segmentName(segment: Pick<Segment, "key" | "label">, locale: Locale, fallback: Locale, t: Translate): string {
  return localize(segment.label, locale, fallback) || t(`segments.${segment.key}`);
}
