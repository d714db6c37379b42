import { z } from "zod";
import { unitOfWork, type Db } from "../../db/client.js";
import { recordAudit } from "../../db/queries/audit.js";
import { listWaves } from "../../db/queries/fieldwork.js";
import { countFlags, countLedgerCells, existingResponseIds, findQualitySettings, listAnswersOf, listLedger, qualityAudit, setExclusion, userEmails } from "../../db/queries/quality.js";
import { loadQuestionnaire } from "../../db/queries/questionnaire.js";
import { listSegments } from "../../db/queries/studies.js";
import type { Locale, QualityFlag, Segment, Study, Wave } from "../../db/schema.js";
import { localize, type SurveyQuestion } from "../domain/questionnaire.js";
import type { Translate } from "../i18n/index.js";
import { FLAG_CODES } from "./flags.js";
import { exclusionReason, flagLabel, flagReason, isSystemReason } from "./presenter.js";
import { readQualitySettings, type QualitySettings } from "./settings.js";
import { exclusionWarnings, type RateCell, type RateWarning } from "./warnings.js";
import { markResultsStale } from "../results-snapshots/version.js";

/** The exclusion ledger: flagged responses with their reasons and answers; exclude and restore. */

export const LEDGER_PAGE_SIZE = 50;
export const MAX_EXCLUSION_BATCH = 1000;
export const MAX_REASON_LENGTH = 500;

const optionalId = z.preprocess((v) => (v === "" || v === "0" || v === undefined ? undefined : v), z.coerce.number().int().positive().max(2 ** 31).optional());

/** Query of the ledger page: what to list. Unknown parameters (lang) are ignored. */
export const ledgerQuery = z.object({
  state: z.enum(["flagged", "excluded", "all"]).default("flagged"),
  flag: z.preprocess((v) => (v === "" ? undefined : v), z.enum(FLAG_CODES).optional()),
  wave: optionalId,
  segment: optionalId,
  page: z.preprocess((v) => (v === "" ? undefined : v), z.coerce.number().int().min(1).max(1_000_000).default(1)),
});
export type LedgerQuery = z.infer<typeof ledgerQuery>;

const idList = z.preprocess(
  (v) => (v === undefined || v === "" ? [] : Array.isArray(v) ? v : [v]),
  z.array(z.coerce.number("quality.errors.badIds").int("quality.errors.badIds").positive("quality.errors.badIds").max(2 ** 31, "quality.errors.badIds")).max(MAX_EXCLUSION_BATCH, "quality.errors.tooMany"),
);

/**
 * The ledger form: checked `ids` and a bulk `action`, or a row button `one` = "exclude:12";
 * a reason is required either way.
 */
export const exclusionForm = z
  .object({
    ids: idList,
    action: z.enum(["exclude", "restore"], "quality.errors.badAction").optional(),
    one: z
      .string()
      .regex(/^(exclude|restore):\d{1,10}$/, "quality.errors.badAction")
      .optional(),
    reason: z.string("quality.errors.reasonRequired").trim().min(1, "quality.errors.reasonRequired").max(MAX_REASON_LENGTH, "validation.tooLong"),
  })
  .transform((f, ctx) => {
    const [action, id] = f.one ? (f.one.split(":") as ["exclude" | "restore", string]) : [f.action, undefined];
    const ids = id ? [Number(id)] : [...new Set(f.ids)];
    if (!action) ctx.addIssue({ code: "custom", path: ["action"], message: "quality.errors.badAction" });
    if (ids.length === 0) ctx.addIssue({ code: "custom", path: ["ids"], message: "quality.errors.noneSelected" });
    return { excluded: action === "exclude", ids, reason: f.reason };
  });
export type ExclusionChange = z.output<typeof exclusionForm>;

export type ExclusionOutcome = { ok: true; changed: number[] } | { ok: false; unknown: number[] };

/**
 * Excludes or restores responses of the study with a reason, in one transaction with the audit
 * entry (who, when, which responses, why). Ids that are not completed responses of this study
 * refuse the whole change.
 */
export async function changeExclusion(db: Db, study: Study, userId: number, change: ExclusionChange, now = new Date()): Promise<ExclusionOutcome> {
  const waveIds = (await listWaves(db, study.id)).map((w) => w.id);
  const found = new Set(await existingResponseIds(db, waveIds, change.ids));
  const unknown = change.ids.filter((id) => !found.has(id));
  if (unknown.length) return { ok: false, unknown };
  return unitOfWork(db, async (tx) => {
      const changed = await setExclusion(tx, change.ids, change.excluded ? { excluded: true, reason: change.reason, by: userId, at: now } : { excluded: false });
      if (changed.length) await markResultsStale(tx, study.id);
      await recordAudit(tx, {
        userId,
        action: change.excluded ? "quality.exclude" : "quality.restore",
        entityType: "study",
        entityId: study.id,
        details: { responseIds: changed, requested: change.ids.length, reason: change.reason },
      });
      return { ok: true as const, changed };
    }
  );
}

export interface LedgerAnswer {
  /** The question's key (as in exports), its text shortened, and a few words of it to label the answer. */
  key: string;
  question: string;
  short: string;
  value: string;
}

export interface LedgerRow {
  id: number;
  wave: string;
  segment: string;
  completedAt: Date | null;
  durationSeconds: number | null;
  flags: Array<{ code: string; label: string; reason: string }>;
  answers: LedgerAnswer[];
  excluded: boolean;
  excludedReason: string | null;
  excludedBy: string | null;
  excludedAt: Date | null;
}

export interface RateRow {
  wave: Wave;
  segment: Segment;
  completed: number;
  excluded: number;
  flagged: number;
  rate: number | null;
}

export interface LedgerPage {
  query: LedgerQuery;
  rows: LedgerRow[];
  total: number;
  pages: number;
  waves: Wave[];
  segments: Segment[];
  flagCounts: Array<{ code: string; label: string; n: number; excluded: number }>;
  rates: RateRow[];
  warnings: string[];
  settings: QualitySettings;
  flagsComputedAt: Date | null;
  history: Array<{ at: Date; who: string | null; action: string; count: number; reason: string }>;
}

const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/** A question as the ledger labels its answers: texts localized once per page, not once per row. */
interface LabelledQuestion {
  question: SurveyQuestion;
  key: string;
  title: string;
  short: string;
  options: Map<number, string>;
}

function labelQuestions(questions: readonly SurveyQuestion[], locale: Locale, fallback: Locale): LabelledQuestion[] {
  return questions.map((q) => {
    const text = localize(q.text, locale, fallback) || q.key;
    return { question: q, key: q.key, title: clip(text, 80), short: clip(text, 28), options: new Map(q.options.map((o) => [o.id, localize(o.text, locale, fallback)])) };
  });
}

type AnswerOf = Awaited<ReturnType<typeof listAnswersOf>>[number];

/** The text of a response's answers (grouped by question, in id order), question by question in questionnaire order. */
function answerTexts(questions: readonly LabelledQuestion[], byQuestion: ReadonlyMap<number, AnswerOf[]> | undefined): LedgerAnswer[] {
  const out: LedgerAnswer[] = [];
  if (!byQuestion) return out;
  for (const l of questions) {
    const mine = byQuestion.get(l.question.id);
    if (!mine) continue;
    const type = l.question.type;
    const value =
      type === "single" || type === "multi"
        ? mine.map((a) => (a.optionId === null ? "" : (l.options.get(a.optionId) ?? ""))).join(", ")
        : type === "scale"
          ? mine.map((a) => String(a.valueNumber ?? "")).join(", ")
          : clip(mine.map((a) => a.valueText ?? "").join(" "), 300);
    out.push({ key: l.key, question: l.title, short: l.short, value });
  }
  return out;
}

/** Answers by response, then by question (each list in id order, as read). */
function answersByResponse(answers: readonly AnswerOf[]): Map<number, Map<number, AnswerOf[]>> {
  const out = new Map<number, Map<number, AnswerOf[]>>();
  for (const a of answers) {
    let mine = out.get(a.responseId);
    if (!mine) out.set(a.responseId, (mine = new Map()));
    const list = mine.get(a.questionId);
    if (list) list.push(a);
    else mine.set(a.questionId, [a]);
  }
  return out;
}

/** Sentences for exclusion-rate warnings ("Pre and Post differ by 15 pp among Subscribers"). */
export function warningSentences(warnings: readonly RateWarning[], waves: readonly Wave[], segmentLabel: (id: number) => string, t: Translate, locale: Locale): string[] {
  const tag = locale === "ru" ? "ru-RU" : "en-GB";
  const percent = new Intl.NumberFormat(tag, { style: "percent", maximumFractionDigits: 1 });
  const points = new Intl.NumberFormat(tag, { maximumFractionDigits: 1 });
  const waveLabel = (id: number) => waves.find((w) => w.id === id)?.label ?? String(id);
  return warnings.map((w) =>
    t(`quality.warnings.${w.kind}`, {
      within: w.kind === "waves" ? segmentLabel(w.within) : waveLabel(w.within),
      low: w.kind === "waves" ? waveLabel(w.low.id) : segmentLabel(w.low.id),
      high: w.kind === "waves" ? waveLabel(w.high.id) : segmentLabel(w.high.id),
      lowRate: percent.format(w.low.rate),
      highRate: percent.format(w.high.rate),
      difference: points.format(w.differencePp),
    }),
  );
}

/**
 * Gives the event loop a turn between the page's statements: on SQLite each runs on the thread that
 * serves respondents, and awaiting one alone does not let anyone else in (its promise is settled).
 */
export const breathe = (): Promise<void> => new Promise<void>((resolve) => setImmediate(resolve));

/** The ledger's rows are read and described this many at a time, the event loop given a turn between pieces. */
export const LEDGER_PIECE_SIZE = 10;

/** `items` in consecutive pieces of at most `size` (the last may be shorter). */
export function pieces<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * The ledger page, counted live over indexes at every view (the partial indexes of flagged and
 * excluded responses, the covering (wave, segment, status) index per cell), so an exclusion shows
 * in its rows and counts at once. Between statements, and between pieces of LEDGER_PIECE_SIZE
 * rows (each piece's answers read and described in a task of its own), `between` gives the event
 * loop a turn: on SQLite every statement runs on the thread that serves respondents.
 */
export async function ledgerPage(db: Db, study: Study, query: LedgerQuery, locale: Locale, t: Translate, between: () => Promise<void> = breathe): Promise<LedgerPage> {
  const waves = await listWaves(db, study.id);
  const segments = await listSegments(db, study.id);
  const questions = await loadQuestionnaire(db, study.id);
  const waveIds = waves.map((w) => w.id);
  const settingsRow = await findQualitySettings(db, study.id);
  const settings = readQualitySettings(settingsRow?.settings);
  const segmentLabels = new Map(segments.map((s) => [s.id, localize(s.label, locale, study.defaultLocale) || s.key]));
  const segmentLabel = (id: number) => segmentLabels.get(id) ?? String(id);
  const waveLabels = new Map(waves.map((w) => [w.id, w.label]));
  const labelled = labelQuestions(questions, locale, study.defaultLocale);
  const questionLabels = new Map<string, string>();
  // The first question of a key names it, as a search of the questionnaire would find it.
  for (const l of labelled) if (!questionLabels.has(l.key)) questionLabels.set(l.key, clip(localize(l.question.text, locale, study.defaultLocale) || l.key, 50));
  const questionLabel = (key: string) => questionLabels.get(key) ?? key;
  const flagLabels = new Map(FLAG_CODES.map((code) => [code as string, flagLabel(code, t)]));
  const systemName = t("quality.ledger.system");

  await between();
  const { rows, total } = await listLedger(db, {
    waveIds,
    state: query.state,
    flag: query.flag,
    waveId: query.wave,
    segmentId: query.segment,
    limit: LEDGER_PAGE_SIZE,
    offset: (query.page - 1) * LEDGER_PAGE_SIZE,
  });
  const emails = await userEmails(db, [...new Set(rows.map((r) => r.excludedBy).filter((id): id is number => id !== null))]);
  const describe = (flags: QualityFlag[] | null) => (flags ?? []).map((f) => ({ code: f.code, label: flagLabels.get(f.code) ?? flagLabel(f.code, t), reason: flagReason(f, t, questionLabel) }));
  const ledgerRows: LedgerRow[] = [];
  for (const piece of pieces(rows, LEDGER_PIECE_SIZE)) {
    await between();
    const answers = answersByResponse(
      await listAnswersOf(
        db,
        piece.map((r) => r.id),
      ),
    );
    for (const r of piece) {
      ledgerRows.push({
        id: r.id,
        wave: waveLabels.get(r.waveId) ?? "",
        segment: segmentLabel(r.segmentId),
        completedAt: r.completedAt,
        durationSeconds: r.durationMs === null ? null : Math.round(r.durationMs / 1000),
        flags: describe(r.qualityFlags),
        answers: answerTexts(labelled, answers.get(r.id)),
        excluded: r.excluded,
        excludedReason: exclusionReason(r.excludedReason, t),
        // No user and a system code: the system excluded it (a deleted user leaves a researcher's text).
        excludedBy: r.excludedBy === null ? (isSystemReason(r.excludedReason) ? systemName : null) : (emails.get(r.excludedBy) ?? null),
        excludedAt: r.excludedAt,
      });
    }
  }

  const counts = await countLedgerCells(
    db,
    waveIds,
    segments.map((s) => s.id),
    between,
  );
  const rates: RateRow[] = [];
  for (const wave of waves) {
    for (const segment of segments) {
      const c = counts.find((x) => x.waveId === wave.id && x.segmentId === segment.id);
      if (!c) continue;
      rates.push({ wave, segment, completed: c.completed, excluded: c.excluded, flagged: c.flagged, rate: c.excluded / c.completed });
    }
  }
  await between();
  const flagCounts = await countFlags(db, waveIds);
  const cells: RateCell[] = rates.map((r) => ({ waveId: r.wave.id, segmentId: r.segment.id, completed: r.completed, leftOut: r.excluded }));
  await between();
  const history = await qualityAudit(db, study.id, 20);

  return {
    query,
    rows: ledgerRows,
    total,
    pages: Math.max(1, Math.ceil(total / LEDGER_PAGE_SIZE)),
    waves,
    segments,
    flagCounts: FLAG_CODES.map((code) => {
      const c = flagCounts.find((x) => x.code === code);
      return { code, label: flagLabels.get(code)!, n: c?.n ?? 0, excluded: c?.excluded ?? 0 };
    }),
    rates,
    warnings: warningSentences(exclusionWarnings(cells, settings.exclusionMarginPp), waves, segmentLabel, t, locale),
    settings,
    flagsComputedAt: settingsRow?.flagsComputedAt ?? null,
    history: history
      .filter(({ entry }) => entry.action === "quality.exclude" || entry.action === "quality.restore" || entry.action === "quality.auto_exclude")
      .map(({ entry, email }) => ({
        at: entry.at,
        // The demo generator and the command line are named; the system's own reads as "the system" (who: null).
        who: email ?? (entry.systemActor && entry.systemActor !== "system" ? t(`audit.actors.${entry.systemActor}`) : null),
        action: entry.action === "quality.auto_exclude" ? "quality.exclude" : entry.action,
        count: Array.isArray(entry.details?.["responseIds"]) ? (entry.details["responseIds"] as unknown[]).length : 0,
        reason: typeof entry.details?.["reason"] === "string" ? (exclusionReason(entry.details["reason"], t) ?? "") : "",
      })),
  };
}
