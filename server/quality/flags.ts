import type { QualityFlag, QuestionType } from "../../db/schema.js";
import { gibberishRule, hasContent } from "./gibberish.js";
import type { QualitySettings } from "./settings.js";

/**
 * Quality flags of responses, as pure functions of plain records (no SQL): the survey flow
 * flags one response as it completes, and a recompute flags the whole study with the same code.
 *
 * | code             | when                                                                            |
 * |------------------|---------------------------------------------------------------------------------|
 * | `speeder`        | duration < speederFraction × the wave's median (waves with ≥ speederMinResponses) |
 * | `straightlining` | ≥ straightlineMinQuestions scale questions answered, all with the same value     |
 * | `attention`      | an attention-check question answered without its correct option                  |
 * | `honeypot`       | the hidden field was filled (set by the survey flow; never recomputed)           |
 * | `duplicate`      | an earlier completed response has the same browser (or network + user agent)    |
 * |                  | hash, in the same wave or (duplicateAcrossWaves) another wave of the study       |
 * | `gibberish`      | a required open answer that reads as key mashing (see gibberish.ts)              |
 * | `empty_text`     | a required open answer without a letter or digit ("-", "...")                    |
 *
 * Details are machine-readable `key=value` pairs joined by `;`, localized when shown.
 */

export const FLAG_CODES = ["speeder", "straightlining", "attention", "honeypot", "duplicate", "gibberish", "empty_text"] as const;
export type FlagCode = (typeof FLAG_CODES)[number];

/** Codes this module derives from the answers; any other code on a response (honeypot) is kept as it is. */
export const COMPUTED_FLAG_CODES: ReadonlySet<string> = new Set(["speeder", "straightlining", "attention", "duplicate", "gibberish", "empty_text"]);

export interface FlagQuestion {
  id: number;
  key: string;
  type: QuestionType;
  required: boolean;
  /** Options that pass an attention check (empty for ordinary questions). */
  correctOptionIds: readonly number[];
}

export interface FlagAnswer {
  questionId: number;
  optionId: number | null;
  valueNumber: number | null;
  valueText: string | null;
}

/** What the study-wide checks (speeders, duplicates) need of each completed response. */
export interface ResponseTiming {
  id: number;
  waveId: number;
  /** Milliseconds since the epoch; the order in which "later" is judged (then id). */
  completedAt: number;
  durationMs: number | null;
  browserHash: string | null;
  networkHash: string | null;
  /** The respondent id (`rid`) a personal link carried: the same person across waves. */
  person?: string | null;
}

export interface FlagResponse extends ResponseTiming {
  /** Flags stored now: codes not computed here (honeypot) are kept. */
  flags: readonly QualityFlag[] | null;
  answers: readonly FlagAnswer[];
}

export interface DuplicateOf {
  of: number;
  by: "browser" | "network";
  scope: "wave" | "study";
}

/** Study-wide facts the per-response checks look up. */
export interface FlagContext {
  /** Median duration and number of timed completed responses per wave. */
  waves: ReadonlyMap<number, { median: number; count: number }>;
  duplicates: ReadonlyMap<number, DuplicateOf>;
}

/** Median of numbers (mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Wave medians and duplicates over the completed responses of a study. */
export function flagContext(timings: readonly ResponseTiming[], settings: QualitySettings): FlagContext {
  const durations = new Map<number, number[]>();
  for (const t of timings) {
    if (t.durationMs === null) continue;
    const list = durations.get(t.waveId);
    if (list) list.push(t.durationMs);
    else durations.set(t.waveId, [t.durationMs]);
  }
  const waves = new Map([...durations].map(([waveId, list]) => [waveId, { median: median(list), count: list.length }]));

  const ordered = [...timings].sort((a, b) => a.completedAt - b.completedAt || a.id - b.id);
  const first = new Map<string, ResponseTiming>();
  const duplicates = new Map<number, DuplicateOf>();
  for (const t of ordered) {
    const found = findEarlier(t, (key) => first.get(key), settings);
    if (found) duplicates.set(t.id, found);
    for (const key of hashKeys(t, settings)) if (!first.has(key)) first.set(key, t);
  }
  return { waves, duplicates };
}

/** Lookup keys of a response's hashes: per wave, and per study when duplicates across waves count. */
function hashKeys(t: Pick<ResponseTiming, "waveId" | "browserHash" | "networkHash">, settings: QualitySettings): string[] {
  const keys: string[] = [];
  const hashes: Array<[string, string | null]> = [["b", t.browserHash], ["n", settings.duplicateByNetwork ? t.networkHash : null]];
  for (const [kind, hash] of hashes) {
    if (!hash) continue;
    keys.push(`w${t.waveId}|${kind}|${hash}`);
    if (settings.duplicateAcrossWaves) keys.push(`s|${kind}|${hash}`);
  }
  return keys;
}

/** The earlier response this one repeats: same wave before other waves, browser before network. */
export function findEarlier(
  t: Pick<ResponseTiming, "waveId" | "browserHash" | "networkHash">,
  lookup: (key: string) => Pick<ResponseTiming, "id" | "waveId"> | undefined,
  settings: QualitySettings,
): DuplicateOf | undefined {
  for (const k of earlierKeys(t, settings)) {
    const earlier = lookup(k.key);
    if (earlier) return duplicateOf(t, k, earlier);
  }
  return undefined;
}

export interface EarlierKey {
  key: string;
  by: DuplicateOf["by"];
  scope: DuplicateOf["scope"];
}

/** The keys findEarlier looks up, in its order (for a lookup that has to be awaited). */
export function earlierKeys(t: Pick<ResponseTiming, "waveId" | "browserHash" | "networkHash">, settings: QualitySettings): EarlierKey[] {
  const keys: EarlierKey[] = [];
  const scopes: Array<["wave" | "study", string]> = [["wave", `w${t.waveId}`]];
  if (settings.duplicateAcrossWaves) scopes.push(["study", "s"]);
  for (const [scope, prefix] of scopes) {
    const hashes: Array<["browser" | "network", string | null]> = [["browser", t.browserHash], ["network", settings.duplicateByNetwork ? t.networkHash : null]];
    for (const [by, hash] of hashes) {
      if (hash) keys.push({ key: `${prefix}|${by === "browser" ? "b" : "n"}|${hash}`, by, scope });
    }
  }
  return keys;
}

/** The duplicate `earlier`, found under `k`, makes of `t`. */
export function duplicateOf(t: Pick<ResponseTiming, "waveId">, k: EarlierKey, earlier: Pick<ResponseTiming, "id" | "waveId">): DuplicateOf {
  return { of: earlier.id, by: k.by, scope: k.scope === "study" && earlier.waveId === t.waveId ? "wave" : k.scope };
}

/** An earlier wave's completed response that a later wave's response repeats. */
export interface CrossWaveDuplicate {
  of: number;
  by: "browser" | "person";
}

/**
 * Responses of a later wave whose browser id, or personal-link respondent, already completed an
 * earlier wave of the study (waves ordered by `wavePosition`): the same person answering again,
 * primed by the first wave's brand list. These are excluded by the system, not only flagged; a
 * network match alone is too weak for that (shared addresses) and stays a flag.
 */
export function crossWaveDuplicates(timings: readonly ResponseTiming[], wavePosition: ReadonlyMap<number, number>): Map<number, CrossWaveDuplicate> {
  const position = (t: ResponseTiming) => wavePosition.get(t.waveId) ?? 0;
  const ordered = [...timings].sort((a, b) => position(a) - position(b) || a.completedAt - b.completedAt || a.id - b.id);
  const first = new Map<string, ResponseTiming>();
  const out = new Map<number, CrossWaveDuplicate>();
  for (const t of ordered) {
    const keys: Array<[CrossWaveDuplicate["by"], string | null | undefined]> = [["browser", t.browserHash], ["person", t.person]];
    for (const [by, value] of keys) {
      const earlier = value ? first.get(`${by}|${value}`) : undefined;
      if (earlier && position(earlier) < position(t)) {
        out.set(t.id, { of: earlier.id, by });
        break;
      }
    }
    for (const [by, value] of keys) if (value && !first.has(`${by}|${value}`)) first.set(`${by}|${value}`, t);
  }
  return out;
}

/**
 * The `excluded_reason` the system writes for a cross-wave duplicate (researchers write free
 * text; this code is localized when shown): `auto:cross_wave_duplicate;of=12;by=browser`.
 */
export const CROSS_WAVE_REASON = "auto:cross_wave_duplicate";
export const crossWaveReason = (d: CrossWaveDuplicate) => `${CROSS_WAVE_REASON};of=${d.of};by=${d.by}`;

const detail = (pairs: Record<string, string | number>) =>
  Object.entries(pairs)
    .map(([k, v]) => `${k}=${v}`)
    .join(";");

/** `key=value;…` back to an object (for showing a flag). */
export function parseDetail(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (text ?? "").split(";")) {
    const i = part.indexOf("=");
    if (i > 0) out[part.slice(0, i)] = part.slice(i + 1);
  }
  return out;
}

/** The flags a completed response should carry: kept codes first, then computed ones in FLAG_CODES order. */
export function responseFlags(r: FlagResponse, questions: readonly FlagQuestion[], ctx: FlagContext, settings: QualitySettings): QualityFlag[] {
  const computed: QualityFlag[] = [];
  const byQuestion = new Map<number, FlagAnswer[]>();
  for (const a of r.answers) {
    const list = byQuestion.get(a.questionId);
    if (list) list.push(a);
    else byQuestion.set(a.questionId, [a]);
  }

  const wave = ctx.waves.get(r.waveId);
  if (wave && r.durationMs !== null && wave.count >= settings.speederMinResponses && r.durationMs < settings.speederFraction * wave.median) {
    computed.push({ code: "speeder", detail: detail({ duration: r.durationMs, median: Math.round(wave.median) }) });
  }

  const scaleValues = questions
    .filter((q) => q.type === "scale")
    .map((q) => byQuestion.get(q.id)?.find((a) => a.valueNumber !== null)?.valueNumber)
    .filter((v): v is number => v !== undefined && v !== null);
  if (scaleValues.length >= settings.straightlineMinQuestions && scaleValues.every((v) => v === scaleValues[0])) {
    computed.push({ code: "straightlining", detail: detail({ value: scaleValues[0]!, questions: scaleValues.length }) });
  }

  for (const q of questions) {
    if (q.correctOptionIds.length === 0) continue;
    const chosen = (byQuestion.get(q.id) ?? []).map((a) => a.optionId).filter((id): id is number => id !== null);
    if (chosen.length === 0 && !q.required) continue;
    if (!chosen.some((id) => q.correctOptionIds.includes(id))) computed.push({ code: "attention", detail: detail({ question: q.key }) });
  }

  const duplicate = ctx.duplicates.get(r.id);
  if (duplicate) computed.push({ code: "duplicate", detail: detail({ of: duplicate.of, by: duplicate.by, scope: duplicate.scope }) });

  for (const q of questions) {
    if (q.type !== "text" || !q.required) continue;
    const text = byQuestion.get(q.id)?.find((a) => a.valueText !== null)?.valueText ?? "";
    if (!hasContent(text)) {
      computed.push({ code: "empty_text", detail: detail({ question: q.key }) });
      continue;
    }
    const rule = gibberishRule(text);
    if (rule) computed.push({ code: "gibberish", detail: detail({ question: q.key, rule }) });
  }

  const kept = (r.flags ?? []).filter((f) => !COMPUTED_FLAG_CODES.has(f.code));
  const order = (code: string) => {
    const i = (FLAG_CODES as readonly string[]).indexOf(code);
    return i < 0 ? FLAG_CODES.length : i;
  };
  return [...kept, ...computed].sort((a, b) => order(a.code) - order(b.code));
}

/** Flags of every completed response of a study, by response id (the whole study at once). */
export function studyFlags(responses: readonly FlagResponse[], questions: readonly FlagQuestion[], settings: QualitySettings): Map<number, QualityFlag[]> {
  const ctx = flagContext(responses, settings);
  return new Map(responses.map((r) => [r.id, responseFlags(r, questions, ctx, settings)]));
}

/** Whether two flag lists are the same (stored null and [] are the same). */
export function sameFlags(a: readonly QualityFlag[] | null, b: readonly QualityFlag[] | null): boolean {
  const x = a ?? [];
  const y = b ?? [];
  return x.length === y.length && x.every((f, i) => f.code === y[i]!.code && (f.detail ?? "") === (y[i]!.detail ?? ""));
}
