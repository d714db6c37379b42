import type { Db } from "../../db/client.js";
import { studyAudit } from "../../db/queries/audit.js";
import { findLink, listWaves } from "../../db/queries/fieldwork.js";
import { listTextAliases } from "../../db/queries/quality.js";
import { loadQuestionnaire } from "../../db/queries/questionnaire.js";
import { findStudy, listSegments } from "../../db/queries/studies.js";
import type { Locale, LocalizedText, Study } from "../../db/schema.js";
import { localize } from "../domain/questionnaire.js";
import type { Formatters, Translate } from "../i18n/index.js";
import { codedQuestions, codeDefinitions } from "../quality/coding.js";

/** One detail of an entry: a field named in the reader's language (or, unknown, by its key) and its value. */
export interface AuditDetail {
  label: string;
  /** True when `label` is a stored key with no name yet: the view shows it as code. */
  raw: boolean;
  value: string;
}

export interface AuditLine {
  at: Date;
  /** The user's e-mail, or the system actor's name. */
  who: string;
  sentence: string;
  details: AuditDetail[];
}

const MAX_VALUE = 300;
const clip = (s: string) => (s.length > MAX_VALUE ? `${s.slice(0, MAX_VALUE - 1)}…` : s);
const ISO_DATE = /^\d{4}-\d\d-\d\dT\d\d:\d\d/;
const isLocalized = (v: unknown): v is LocalizedText => !!v && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length > 0 && Object.keys(v).every((k) => k === "ru" || k === "en");

/**
 * The study's journal as sentences in the reader's language: each action says what it did to
 * which study, wave, segment or question (by name, never by id or key), and its details follow
 * as named fields with readable values (dates in the study's zone, yes/no, lists), never JSON.
 */
export async function auditEntries(db: Db, study: Study, t: Translate, locale: Locale, fmt: Formatters): Promise<AuditLine[]> {
  const fallback = study.defaultLocale;
  const waves = await listWaves(db, study.id);
  const segments = await listSegments(db, study.id);
  const questions = await loadQuestionnaire(db, study.id);
  const waveName = (id: unknown) => waves.find((w) => String(w.id) === String(id))?.label ?? t("audit.none");
  const segmentName = (key: unknown) => {
    const s = segments.find((x) => x.key === key || String(x.id) === String(key));
    return s ? localize(s.label, locale, fallback) || s.key : String(key ?? t("audit.none"));
  };
  const questionName = (key: unknown) => {
    const q = questions.find((x) => x.key === key);
    const text = q ? localize(q.text, locale, fallback) : "";
    return text ? (text.length > 80 ? `${text.slice(0, 79)}…` : text) : String(key ?? "");
  };
  const aliases = await listTextAliases(db, study.id);
  let codeLabels: Map<string, string> | undefined;
  const codeName = (code: unknown) => {
    codeLabels ??= new Map(
      codeDefinitions(codedQuestions(questions)[0], questions, aliases, study.brand, locale, fallback).map((d) => [d.code, d.label]),
    );
    return codeLabels.get(String(code)) ?? String(code);
  };

  /** A stored value as a person reads it. */
  const show = (field: string, v: unknown): string => {
    if (v === null || v === undefined || v === "") return t("audit.none");
    if (typeof v === "boolean") return v ? t("audit.yes") : t("audit.no");
    if (field === "pre" || field === "post") return waveName(v);
    if (field === "segment") return segmentName(v);
    if (field === "kind") return t(`study.kinds.${String(v)}`, { defaultValue: String(v) });
    if (field === "role") return t(`study.roles.${String(v)}`, { defaultValue: String(v) });
    if (field === "code") return codeName(v);
    if (field === "adjustment") return t(`resultsPage.adjustments.${String(v)}`, { defaultValue: String(v) });
    if (field === "defaultLocale" || field === "locale") return t(`locales.${String(v)}`, { defaultValue: String(v) });
    if (field === "locales" && Array.isArray(v)) return v.map((l) => t(`locales.${String(l)}`, { defaultValue: String(l) })).join(", ");
    if (field === "via") return t(`audit.via.${String(v)}`, { defaultValue: String(v) });
    if (field === "confidence" && typeof v === "number") return fmt.percent(v);
    if (field === "targetLift" && typeof v === "number") return `${fmt.number(v * 100)} п. п.`.replace("п. п.", locale === "ru" ? "п. п." : "pp");
    if (field === "timeZone") return t(`time.cities.${String(v).replace(/\//g, "_")}`, { defaultValue: String(v) });
    if (typeof v === "number") return Number.isInteger(v) ? fmt.number(v) : String(v).replace(".", locale === "ru" ? "," : ".");
    if (typeof v === "string") return ISO_DATE.test(v) ? fmt.dateTime(new Date(v)) : clip(v);
    if (isLocalized(v)) return clip(localize(v, locale, fallback));
    if (Array.isArray(v)) return clip(v.map((x) => show(field, x)).join(", "));
    if (typeof v === "object") {
      // Per-segment maps (targets, audience) read "Подписчики: 300"; other objects as named fields.
      const entries = Object.entries(v as Record<string, unknown>);
      const bySegment = entries.every(([k]) => segments.some((s) => s.key === k));
      return clip(entries.map(([k, x]) => `${bySegment ? segmentName(k) : fieldName(k).label}: ${show(k, x)}`).join("; "));
    }
    return clip(String(v));
  };
  const fieldName = (key: string): { label: string; raw: boolean } => {
    const label = t(`audit.fields.${key}`, { defaultValue: "" });
    return label ? { label, raw: false } : { label: key, raw: true };
  };

  /** The details not already said by the sentence. */
  const detailsOf = (action: string, d: Record<string, unknown>): AuditDetail[] => {
    const said = new Set(["key", "newKey", "studyId", "shareId", "from", "alias", "code", "direction", "on", "responseIds", "via"]);
    if (action === "wave.create") said.add("label");
    if (action === "link.personal") said.add("segment");
    const out: AuditDetail[] = [];
    if (Array.isArray(d["responseIds"]) && d["responseIds"].length) {
      out.push({ label: t("audit.fields.responses"), raw: false, value: clip(t("audit.responseIds", { ids: (d["responseIds"] as unknown[]).join(", ") })) });
    }
    if (action === "quality.settings" && d["before"] && d["after"]) {
      const before = d["before"] as Record<string, unknown>;
      const after = d["after"] as Record<string, unknown>;
      for (const k of Object.keys(after)) {
        if (JSON.stringify(before[k]) === JSON.stringify(after[k])) continue;
        out.push({ ...fieldName(k), value: t("audit.change", { before: show(k, before[k]), after: show(k, after[k]) }) });
      }
      return out;
    }
    if (action === "question.wording") {
      const before = (d["before"] as { text?: LocalizedText } | undefined)?.text;
      const after = (d["after"] as { text?: LocalizedText } | undefined)?.text;
      // Each language whose text changed, so a fix in one language shows whichever language is read.
      for (const l of ["ru", "en"] as const) {
        if (!before || !after || (before[l] ?? "") === (after[l] ?? "")) continue;
        out.push({ label: `${t("audit.fields.text")} (${t(`locales.${l}`)})`, raw: false, value: clip(t("audit.wording", { before: before[l] ?? "", after: after[l] ?? "" })) });
      }
      return out;
    }
    for (const [k, v] of Object.entries(d)) {
      if (said.has(k)) continue;
      out.push({ ...fieldName(k), value: show(k, v) });
    }
    // Downloads say "format: through the API"; other actions done either way say "where".
    if (d["via"]) out.push({ label: t(action.startsWith("study.export") ? "audit.fields.format" : "audit.fields.via"), raw: false, value: show("via", d["via"]) });
    return out;
  };

  const lines: AuditLine[] = [];
  for (const { entry, email } of await studyAudit(db, study.id)) {
    const d = (entry.details ?? {}) as Record<string, unknown>;
    const link = entry.entityType === "link" ? await findLink(db, Number(entry.entityId)) : undefined;
    const exportKind = /^study\.export\.(.+)$/.exec(entry.action)?.[1];
    const format = exportKind ? (d["format"] ? t(`exports.links.${exportKind}.${String(d["format"])}`, { defaultValue: "" }) : "") || t(`audit.formats.${exportKind}`, { defaultValue: exportKind }) : "";
    const values = {
      study: entry.entityType === "study" ? ((await findStudy(db, Number(entry.entityId)))?.name ?? study.name) : study.name,
      // Only entries that copied a study carry "from"; PostgreSQL refuses NaN as an id where SQLite found nothing.
      from: (d["from"] != null && Number.isSafeInteger(Number(d["from"])) ? (await findStudy(db, Number(d["from"])))?.name : undefined) ?? t("audit.none"),
      wave: link ? waveName(link.waveId) : waveName(entry.entityId),
      segment: link ? segmentName(link.segmentId) : segmentName(d["key"]),
      question: questionName(d["key"]),
      alias: String(d["alias"] ?? ""),
      target: codeName(d["code"]),
      direction: d["direction"] === "up" ? t("audit.up") : t("audit.down"),
      pageBreak: d["on"] ? t("audit.pageBreakOn") : t("audit.pageBreakOff"),
      format,
    };
    const action = exportKind ? "study.exportData" : entry.action;
    const sentence = t(`audit.actions.${action}`, { ...values, defaultValue: "" }) || t("audit.actions.other");
    // Entries of exports carry the export's options: the dialect is said by the sentence already.
    const details = detailsOf(entry.action, exportKind ? Object.fromEntries(Object.entries(d).filter(([k]) => k !== "format")) : d);
    const who = email ?? t(`audit.actors.${entry.systemActor ?? "system"}`, { defaultValue: t("audit.actors.system") });
    lines.push({ at: entry.at, who, sentence, details });
  }
  return lines;
}
