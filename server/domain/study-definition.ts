import { z } from "zod";
import { LOCALES, QUESTION_TYPES, SEGMENT_ROLES, WAVE_NOTE_KINDS } from "../../db/schema.js";
import { translator, type Translate } from "../i18n/index.js";
import { cellsFromEntries, marginEntry, marginErrorMessage, MARGINS_MAX_CELLS, validateMargins, type MarginError } from "./margins.js";
import { defaultSegments } from "./segments.js";

/**
 * The study definition (DESIGN.md "Study definition"): the JSON researchers import and export
 * and the API accepts. Everything a questionnaire is made of passes through this one schema.
 */

export const MAX_TEXT_ANSWER = 2000;

/**
 * Bounds of a definition. Every survey post codes text answers against the study's aliases (40k
 * of them made each post take over a second), and an import is held in memory whole; messages
 * are i18n keys under "safety.import." (definitionErrors translates them).
 */
export const MAX_ALIASES_PER_METRIC = 200;
export const MAX_ALIASES_PER_STUDY = 1000;
export const MAX_ALIAS_LENGTH = 100;
export const MAX_OPTIONS = 100;
export const MAX_QUESTIONS = 200;
export const MAX_SEGMENTS = 20;
const KEY = /^[a-z][a-z0-9_]{0,63}$/;

const key = z.string().regex(KEY, "must be lower-case letters, digits and _ (starting with a letter), at most 64");

export const localizedText = z
  .object({ ru: z.string().trim().min(1).max(2000).optional(), en: z.string().trim().min(1).max(2000).optional() })
  .strict()
  .refine((t) => t.ru !== undefined || t.en !== undefined, "needs text in at least one language");

export const optionDefinition = z
  .object({
    key,
    text: localizedText,
    exclusive: z.boolean().default(false),
    pinned: z.boolean().default(false),
    attentionCheck: z.boolean().default(false),
  })
  .strict();

export const metricDefinition = z
  .object({
    name: key,
    positive: z.array(z.union([z.string(), z.number().int()])).min(1).max(MAX_OPTIONS, "safety.import.tooManyValues").optional(),
    match: z
      .array(z.string().trim().min(1).max(MAX_ALIAS_LENGTH, "safety.import.aliasTooLong"))
      .min(1)
      .max(MAX_ALIASES_PER_METRIC, "safety.import.tooManyAliases")
      .optional(),
    /** Decoy option keys: a respondent who picks one is left out of this metric's base. */
    exclude: z.array(z.string()).min(1).max(MAX_OPTIONS, "safety.import.tooManyValues").optional(),
  })
  .strict();

export const questionDefinition = z
  .object({
    key,
    type: z.enum(QUESTION_TYPES),
    text: localizedText,
    help: localizedText.optional(),
    required: z.boolean().default(true),
    randomize: z.boolean().default(false),
    options: z.array(optionDefinition).max(MAX_OPTIONS, "safety.import.tooManyOptions").optional(),
    min: z.number().int().optional(),
    max: z.number().int().optional(),
    minLabel: localizedText.optional(),
    maxLabel: localizedText.optional(),
    maxLength: z.number().int().min(1).max(MAX_TEXT_ANSWER).optional(),
    metric: metricDefinition.optional(),
    /**
     * A profile variable (gender, age group): used to weight waves and break results down. Only a
     * single-choice question, and never a metric. Absent means false (and export omits false).
     */
    profile: z.boolean().optional(),
  })
  .strict()
  .superRefine((q, ctx) => {
    const issue = (path: PropertyKey[], message: string) => ctx.addIssue({ code: "custom", path, message });
    const choice = q.type === "single" || q.type === "multi";
    // Messages are i18n keys (definitionErrors and the builder translate them).
    if (q.profile && q.type !== "single") issue(["profile"], "weighting.definition.profileNotSingle");
    else if (q.profile && q.metric) issue(["profile"], "weighting.definition.profileMetric");
    if (choice) {
      if (!q.options || q.options.length < 2) issue(["options"], "a choice question needs at least 2 options");
      const seen = new Set<string>();
      q.options?.forEach((o, i) => {
        if (seen.has(o.key)) issue(["options", i, "key"], `duplicate option key "${o.key}"`);
        seen.add(o.key);
      });
      if (q.type === "single" && q.options?.some((o) => o.exclusive)) {
        issue(["options"], "exclusive options only make sense in multi questions");
      }
    } else if (q.options?.length) {
      issue(["options"], `a ${q.type} question has no options`);
    }
    if (q.type === "scale") {
      if (q.min === undefined || q.max === undefined) issue(["min"], "a scale needs min and max");
      else if (q.max <= q.min || q.max - q.min > 20) issue(["max"], "max must be above min, by at most 20");
    }
    const metric = q.metric;
    if (metric) {
      if (q.type === "text") {
        if (!metric.match) issue(["metric", "match"], "a text metric needs brand aliases in match");
      } else if (!metric.positive) {
        issue(["metric", "positive"], "a metric needs its positive options or scale values");
      } else if (choice) {
        const keys = new Set(q.options?.map((o) => o.key));
        metric.positive.forEach((p, i) => {
          if (typeof p !== "string" || !keys.has(p)) issue(["metric", "positive", i], `"${p}" is not an option key`);
        });
      } else if (q.type === "scale") {
        metric.positive.forEach((p, i) => {
          if (typeof p !== "number" || p < (q.min ?? 0) || p > (q.max ?? 0)) issue(["metric", "positive", i], "not a scale value");
        });
      }
      if (metric.exclude) {
        if (!choice) issue(["metric", "exclude"], "only a choice question's options can be excluded (decoys)");
        const keys = new Set(q.options?.map((o) => o.key));
        const positive = new Set((metric.positive ?? []).map(String));
        metric.exclude.forEach((k, i) => {
          if (!choice) return;
          if (!keys.has(k)) issue(["metric", "exclude", i], `"${k}" is not an option key`);
          else if (positive.has(k)) issue(["metric", "exclude", i], `"${k}" is positive: a decoy cannot also count as aware`);
        });
      }
    }
  });

/**
 * A page break: an element of the `questions` array, `{"type": "page_break"}`, that ends the
 * page after the question before it. Stored as that question's `pageBreakAfter`.
 */
export const PAGE_BREAK = "page_break" as const;
export const pageBreakDefinition = z.object({ type: z.literal(PAGE_BREAK) }).strict();

/** A question as a study definition carries it: the question, and whether a page break follows it. */
export type DefinedQuestion = QuestionDefinition & { pageBreakAfter?: boolean };

/**
 * The `questions` array: questions and page breaks. A break must follow a question (not lead
 * the list, not repeat: both are refused so a typo is not silently reinterpreted); one after
 * the last question ends nothing and is dropped. Question keys are unique.
 */
const questionList = z
  .array(z.discriminatedUnion("type", [questionDefinition, pageBreakDefinition]))
  // Page breaks are elements too: twice the questions, so the question count below is what binds.
  .max(MAX_QUESTIONS * 2, "safety.import.tooManyQuestions")
  .superRefine((list, ctx) => {
    const questions = list.filter((item) => item.type !== PAGE_BREAK);
    if (questions.length > MAX_QUESTIONS) ctx.addIssue({ code: "too_big", origin: "array", maximum: MAX_QUESTIONS, inclusive: true, message: "safety.import.tooManyQuestions" });
    const aliases = questions.reduce((n, q) => n + (q.metric?.match?.length ?? 0), 0);
    if (aliases > MAX_ALIASES_PER_STUDY) ctx.addIssue({ code: "too_big", origin: "array", maximum: MAX_ALIASES_PER_STUDY, inclusive: true, message: "safety.import.tooManyAliasesTotal" });
    const seen = new Set<string>();
    list.forEach((item, i) => {
      if (item.type === PAGE_BREAK) {
        if (i === 0) ctx.addIssue({ code: "custom", path: [i], message: "a page break must follow a question: remove it from the start" });
        else if (list[i - 1]?.type === PAGE_BREAK) ctx.addIssue({ code: "custom", path: [i], message: "two page breaks in a row: remove one" });
        return;
      }
      if (seen.has(item.key)) ctx.addIssue({ code: "custom", path: [i, "key"], message: `duplicate question key "${item.key}"` });
      seen.add(item.key);
    });
  })
  .transform((list): DefinedQuestion[] => {
    const out: DefinedQuestion[] = [];
    list.forEach((item, i) => {
      if (item.type !== PAGE_BREAK) out.push(item);
      else if (out.length && i < list.length - 1) out[out.length - 1] = { ...out[out.length - 1]!, pageBreakAfter: true };
    });
    return out;
  });

/** "total" names the all-segments row of the lift table, so no segment may take it. */
export const RESERVED_SEGMENT_KEYS = ["total"];

export const segmentDefinition = z
  .object({
    key: key.refine((k) => !RESERVED_SEGMENT_KEYS.includes(k), "is reserved for the total row"),
    label: localizedText,
    role: z.enum(SEGMENT_ROLES).default("exposed"),
  })
  .strict();

export const MAX_KPIS = 50;

/** A target share or lift: a fraction strictly between 0 and 1. */
const kpiFraction = z.number().gt(0, "tracking.definition.fraction").lt(1, "tracking.definition.fraction");

/**
 * A KPI agreed up front: a metric of the questionnaire in a segment, a target lift against the
 * baseline or a target level (fractions), by the wave of that label (which need not exist yet).
 * Metric and segment are checked against the rest of the definition (studyDefinition).
 */
export const kpiDefinition = z
  .object({
    metric: z.string(),
    segment: z.string(),
    lift: kpiFraction.optional(),
    level: kpiFraction.optional(),
    by: z.string().trim().min(1).max(100),
  })
  .strict()
  .refine((k) => (k.lift === undefined) !== (k.level === undefined), { message: "tracking.definition.liftOrLevel", path: ["lift"] });

/** Where a KPI's metric and segment are checked: the questionnaire's metric names and the study's segment keys. */
export interface KpiScope {
  metrics: ReadonlySet<string>;
  segments: ReadonlySet<string>;
}

/**
 * A KPI's metric and segment against the study, as i18n keys by field (empty: both known): the
 * one check behind the definition import, the API and the settings page.
 */
export function kpiScopeIssues(kpi: Pick<KpiDefinition, "metric" | "segment">, scope: KpiScope): Array<{ field: "metric" | "segment"; message: string }> {
  return [
    ...(scope.metrics.has(kpi.metric) ? [] : [{ field: "metric" as const, message: "tracking.definition.unknownMetric" }]),
    ...(scope.segments.has(kpi.segment) ? [] : [{ field: "segment" as const, message: "tracking.definition.unknownSegment" }]),
  ];
}

export const MAX_WAVE_NOTES = 500;
export const MAX_NOTE_TEXT = 500;

/** A calendar day as YYYY-MM-DD (a real day: 2027-02-30 is refused). */
export function isIsoDay(value: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) return false;
  const d = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === value;
}

/** A note's own fields (see db/schema.ts waveNotes): the wave page's form and the definition share them. */
const waveNoteShape = {
  kind: z.enum(WAVE_NOTE_KINDS, "tracking.notes.errors.kind"),
  text: z.string("tracking.notes.errors.text").trim().min(1, "tracking.notes.errors.text").max(MAX_NOTE_TEXT, "tracking.notes.errors.textTooLong"),
  date: z.string().refine(isIsoDay, "tracking.notes.errors.date").optional(),
  amount: z.number("tracking.notes.errors.amount").nonnegative("tracking.notes.errors.amount").max(1e15, "tracking.notes.errors.amount").optional(),
  currency: z.string().regex(/^[A-Z]{3}$/, "tracking.notes.errors.currency").optional(),
};

/** An amount comes with its currency and a currency with an amount; a spend note has an amount. */
function noteMoneyIssues(n: { kind: string; amount?: number | undefined; currency?: string | undefined }, ctx: z.RefinementCtx): void {
  if (n.amount !== undefined && n.currency === undefined) ctx.addIssue({ code: "custom", path: ["currency"], message: "tracking.notes.errors.currencyMissing" });
  if (n.amount === undefined && n.currency !== undefined) ctx.addIssue({ code: "custom", path: ["amount"], message: "tracking.notes.errors.amountMissing" });
  if (n.kind === "spend" && n.amount === undefined && n.currency === undefined) ctx.addIssue({ code: "custom", path: ["amount"], message: "tracking.notes.errors.spendAmount" });
}

/** A note as the wave page edits it (its wave is the page's). */
export const waveNoteFields = z.object(waveNoteShape).strict().superRefine(noteMoneyIssues);
export type WaveNoteFields = z.output<typeof waveNoteFields>;

/** A note in the definition: its wave by label, as a KPI's `by` (the wave need not exist yet). */
export const waveNoteDefinition = z
  .object({ wave: z.string().trim().min(1).max(100), ...waveNoteShape })
  .strict()
  .superRefine(noteMoneyIssues);
export type WaveNoteDefinition = z.output<typeof waveNoteDefinition>;

/** An IANA zone name the runtime knows ("Europe/Moscow", "UTC"). */
export function isTimeZone(value: string): boolean {
  try {
    new Intl.DateTimeFormat("en", { timeZone: value });
    return true;
  } catch {
    return false;
  }
}

export const studyDefinition = z
  .object({
    name: z.string().trim().min(1).max(200),
    brand: z.string().trim().min(1).max(200),
    category: z.string().trim().max(200).nullable().optional(),
    locale: z.enum(LOCALES),
    locales: z.array(z.enum(LOCALES)).min(1).optional(),
    pageSize: z.number().int().min(1).max(100).nullable().optional(),
    campaignCost: z.number().nonnegative().nullable().optional(),
    currency: z.string().trim().regex(/^[A-Z]{3}$/, "must be an ISO 4217 code such as RUB or USD").nullable().optional(),
    /** The study's segments; the three default ones when absent. */
    segments: z.array(segmentDefinition).min(1).max(MAX_SEGMENTS, "safety.import.tooManySegments").optional(),
    /** Title respondents see (tab, heading): neutral, never the brand; null or absent: a generic "Survey". */
    publicTitle: z.string().trim().min(1).max(200).nullable().optional(),
    /** Smallest absolute lift worth detecting, a fraction (0.05 = 5 pp); null or absent: none. */
    timeZone: z.string().refine(isTimeZone, "must be an IANA time zone, e.g. Europe/Moscow").nullable().optional(),
    targetLift: z.number().gt(0, "must be a fraction above 0, e.g. 0.05 for 5 pp").lt(1, "must be a fraction below 1, e.g. 0.05 for 5 pp").nullable().optional(),
    questions: questionList,
    /**
     * Population margins for every wave (weighting targets), as the Weighting page's JSON writes
     * them (server/domain/margins.ts). A definition has no waves, so no entry names one.
     */
    margins: z.array(marginEntry).max(MARGINS_MAX_CELLS, "safety.import.tooManyValues").optional(),
    /** KPIs agreed up front (see kpiDefinition). */
    kpis: z.array(kpiDefinition).max(MAX_KPIS, "tracking.definition.tooMany").optional(),
    /** Notes on the work of each wave's period (campaigns, spend, posts), by wave label. */
    waveNotes: z.array(waveNoteDefinition).max(MAX_WAVE_NOTES, "tracking.notes.errors.tooMany").optional(),
  })
  .strict()
  .superRefine((d, ctx) => {
    if (d.margins?.length) {
      const checked = validateMargins(cellsFromEntries(d.margins), {
        segments: (d.segments ?? defaultSegments()).map((s) => s.key),
        waves: null,
        questions: d.questions.map((q) => ({ key: q.key, profile: q.profile === true, options: (q.options ?? []).map((o) => o.key) })),
      });
      if (!checked.ok) {
        for (const error of checked.errors) {
          const at = error.at?.kind === "entry" ? error.at : null;
          const path = at ? ["margins", at.entry - 1, ...(at.level !== undefined ? ["shares", at.level] : [])] : ["margins"];
          ctx.addIssue({ code: "custom", path, message: `weighting.errors.${error.code}`, params: { marginError: error } });
        }
      }
    }
    const unique = (list: Array<{ key: string }>, path: string, what: string) => {
      const seen = new Set<string>();
      list.forEach((item, i) => {
        if (seen.has(item.key)) ctx.addIssue({ code: "custom", path: [path, i, "key"], message: `duplicate ${what} key "${item.key}"` });
        seen.add(item.key);
      });
    };
    unique(d.segments ?? [], "segments", "segment");
    const metrics = new Set(d.questions.flatMap((q) => (q.metric ? [q.metric.name] : [])));
    const segmentKeys = new Set((d.segments ?? defaultSegments()).map((s) => s.key));
    d.kpis?.forEach((k, i) => {
      for (const issue of kpiScopeIssues(k, { metrics, segments: segmentKeys })) ctx.addIssue({ code: "custom", path: ["kpis", i, issue.field], message: issue.message });
    });
    if (d.locales && !d.locales.includes(d.locale)) {
      ctx.addIssue({ code: "custom", path: ["locales"], message: "must include the study's locale" });
    }
  });

export type StudyDefinition = z.output<typeof studyDefinition>;
export type QuestionDefinition = z.output<typeof questionDefinition>;
export type KpiDefinition = z.output<typeof kpiDefinition>;
/** The definition as JSON carries it (page breaks as elements of `questions`): what export writes. */
export type StudyDefinitionJson = z.input<typeof studyDefinition>;

/** A message that is an i18n key ("safety.import.tooManyAliases"), translated with its bound. */
export const MESSAGE_KEY = /^(safety|weighting|tracking)\.[\w.]+$/;

/** An issue's message in the reader's language: i18n keys translated (with their bound, or the margin error they carry). */
export function issueMessage(i: z.core.$ZodIssue, t: Translate): string {
  const marginError = (i as { params?: { marginError?: MarginError } }).params?.marginError;
  if (marginError) return marginErrorMessage(marginError, t, false);
  return MESSAGE_KEY.test(i.message) ? t(i.message, { max: "maximum" in i ? Number(i.maximum) : undefined }) : i.message;
}

/**
 * Definition errors as `{ path: "questions[2].options[0].key", message }`, for import screens and
 * the API; the bounds' messages in the reader's language (English without a translator).
 */
export function definitionErrors(error: z.ZodError, t: Translate = translator("en")): Array<{ path: string; message: string }> {
  return error.issues.flatMap((i) => {
    // An unknown key is reported at the key itself, so the path points at what to remove.
    const paths = i.code === "unrecognized_keys" ? i.keys.map((k) => [...i.path, k]) : [i.path];
    const message = i.code === "unrecognized_keys" ? "unknown field" : issueMessage(i, t);
    return paths.map((p) => ({ path: jsonPath(p), message }));
  });
}

function jsonPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (acc, part) => (typeof part === "number" ? `${acc}[${part}]` : acc ? `${acc}.${String(part)}` : String(part)),
    "",
  );
}
