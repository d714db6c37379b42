import type { QualityFlag } from "../../db/schema.js";
import type { Translate } from "../i18n/index.js";
import { CROSS_WAVE_REASON, FLAG_CODES, parseDetail } from "./flags.js";

/** Quality flags in words, in the reader's language. */

const seconds = (ms: string | undefined) => String(Math.round(Number(ms ?? 0) / 1000));

/** A flag's name: "Speeder". */
export function flagLabel(code: string, t: Translate): string {
  return (FLAG_CODES as readonly string[]).includes(code) ? t(`quality.flags.${code}`) : code;
}

/** Why a response carries the flag: "Speeder: 41 s, the wave's median is 120 s". */
export function flagReason(flag: QualityFlag, t: Translate, questionLabel: (key: string) => string): string {
  const d = parseDetail(flag.detail);
  const question = d["question"] ? questionLabel(d["question"]) : "";
  switch (flag.code) {
    case "speeder":
      return t("quality.reasons.speeder", { duration: seconds(d["duration"]), median: seconds(d["median"]) });
    case "straightlining":
      return t("quality.reasons.straightlining", { value: d["value"] ?? "", count: Number(d["questions"] ?? 0) });
    case "attention":
      return t("quality.reasons.attention", { question });
    case "honeypot":
      return t("quality.reasons.honeypot");
    case "duplicate":
      return t(`quality.reasons.duplicate_${d["by"] === "network" ? "network" : "browser"}_${d["scope"] === "study" ? "study" : "wave"}`, { of: d["of"] ?? "" });
    case "gibberish":
      return t("quality.reasons.gibberish", { question, rule: t(`quality.gibberishRules.${d["rule"] ?? "repeated"}`) });
    case "empty_text":
      return t("quality.reasons.empty_text", { question });
    default:
      return flag.detail ? `${flag.code}: ${flag.detail}` : flag.code;
  }
}

/** Whether an exclusion reason is a code written by the system (not a researcher's text). */
export const isSystemReason = (reason: string | null | undefined): boolean => reason?.startsWith("auto:") ?? false;

/** An exclusion's reason for the reader: the system's codes in words, a researcher's text as written. */
export function exclusionReason(reason: string | null, t: Translate): string | null {
  if (reason === CROSS_WAVE_REASON) return t("quality.reasons.cross_wave");
  if (!reason?.startsWith(`${CROSS_WAVE_REASON};`)) return reason;
  const d = parseDetail(reason.slice(CROSS_WAVE_REASON.length + 1));
  return t(`quality.reasons.cross_wave_${d["by"] === "person" ? "person" : "browser"}`, { of: d["of"] ?? "" });
}
