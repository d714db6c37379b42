import type { LocalizedText } from "../../db/schema.js";
import { messages } from "../i18n/index.js";

/** The three audiences every study measures (see README glossary). */
export const DEFAULT_SEGMENT_KEYS = ["subscribers", "active_unsubscribed", "inactive"] as const;

export function defaultSegments(): Array<{ key: string; label: LocalizedText; role: "exposed" }> {
  return DEFAULT_SEGMENT_KEYS.map((key) => ({
    key,
    label: { ru: messages.ru.segments[key], en: messages.en.segments[key] },
    role: "exposed",
  }));
}
