import type { Kpi, ProfileMargin, Segment, Study, WaveNote } from "../../db/schema.js";
import { toMarginEntries, type MarginEntry } from "./margins.js";
import type { SurveyQuestion } from "./questionnaire.js";
import { PAGE_BREAK, type QuestionDefinition, type StudyDefinitionJson, type WaveNoteDefinition } from "./study-definition.js";

/** A wave note as the definition and the API carry it: absent fields left out. */
export function noteDefinition(n: Pick<WaveNote, "waveLabel" | "kind" | "text" | "date" | "amount" | "currency">): WaveNoteDefinition {
  return {
    wave: n.waveLabel,
    kind: n.kind,
    text: n.text,
    ...(n.date !== null ? { date: n.date } : {}),
    ...(n.amount !== null && n.currency !== null ? { amount: n.amount, currency: n.currency } : {}),
  };
}

/**
 * The study definition of a stored study: what "export", "duplicate" and the API return.
 * Importing it again gives the same questionnaire and settings (tested round trip). A page
 * break is written as its own element after its question (none after the last: it ends nothing).
 * `margins` given, the weighting targets for every wave come along (`margins`, when there are
 * any); a wave's own targets do not: a definition has no waves.
 */
export function toDefinition(
  study: Study,
  segments: readonly Segment[],
  questions: readonly SurveyQuestion[],
  margins: readonly ProfileMargin[] = [],
  kpis: ReadonlyArray<Pick<Kpi, "metric" | "kind" | "target" | "byWave"> & { segmentKey: string }> = [],
  notes: ReadonlyArray<Pick<WaveNote, "waveLabel" | "kind" | "text" | "date" | "amount" | "currency">> = [],
): StudyDefinitionJson {
  const entries = studyWideMargins(segments, questions, margins);
  return {
    name: study.name,
    brand: study.brand,
    category: study.category,
    locale: study.defaultLocale,
    locales: study.locales,
    pageSize: study.pageSize,
    campaignCost: study.campaignCost,
    currency: study.costCurrency,
    publicTitle: study.publicTitle,
    timeZone: study.timeZone,
    targetLift: study.targetLift,
    segments: segments.map((s) => ({ key: s.key, label: s.label, role: s.role })),
    questions: questions.flatMap((q, i) =>
      q.pageBreakAfter && i < questions.length - 1 ? [questionToDefinition(q), { type: PAGE_BREAK }] : [questionToDefinition(q)],
    ),
    ...(entries.length ? { margins: entries } : {}),
    ...(kpis.length ? { kpis: kpis.map((k) => ({ metric: k.metric, segment: k.segmentKey, [k.kind]: k.target, by: k.byWave })) } : {}),
    ...(notes.length ? { waveNotes: notes.map(noteDefinition) } : {}),
  };
}

/**
 * Margins for every wave as definition entries, in the order of segments, questions and options
 * (not of writing), so the same targets always export the same way.
 */
export function studyWideMargins(segments: readonly Segment[], questions: readonly SurveyQuestion[], margins: readonly ProfileMargin[]): MarginEntry[] {
  const segmentAt = new Map(segments.map((s, i) => [s.id, i]));
  const questionAt = new Map(questions.map((q, i) => [q.id, i]));
  const optionAt = (m: ProfileMargin) => questions[questionAt.get(m.questionId)!]!.options.findIndex((o) => o.key === m.optionKey);
  const rows = margins
    .filter((m) => m.waveId === null && segmentAt.has(m.segmentId) && questionAt.has(m.questionId))
    .sort((a, b) => segmentAt.get(a.segmentId)! - segmentAt.get(b.segmentId)! || questionAt.get(a.questionId)! - questionAt.get(b.questionId)! || optionAt(a) - optionAt(b));
  return toMarginEntries(
    rows.map((m) => ({ segment: segments[segmentAt.get(m.segmentId)!]!.key, wave: null, variable: questions[questionAt.get(m.questionId)!]!.key, level: m.optionKey, share: m.share })),
  );
}

export function questionToDefinition(q: SurveyQuestion): QuestionDefinition {
  const def: QuestionDefinition = {
    key: q.key,
    type: q.type,
    text: q.text,
    required: q.required,
    randomize: q.randomize,
  };
  if (q.help) def.help = q.help;
  if (q.type === "single" || q.type === "multi") {
    def.options = q.options.map((o) => ({
      key: o.key,
      text: o.text,
      exclusive: o.exclusive,
      pinned: o.pinned,
      attentionCheck: o.attentionCheck,
    }));
  }
  if (q.type === "scale") {
    if (q.scaleMin !== null) def.min = q.scaleMin;
    if (q.scaleMax !== null) def.max = q.scaleMax;
    if (q.scaleMinLabel) def.minLabel = q.scaleMinLabel;
    if (q.scaleMaxLabel) def.maxLabel = q.scaleMaxLabel;
  }
  if (q.maxLength !== null) def.maxLength = q.maxLength;
  if (q.profile) def.profile = true;
  if (q.metricName) {
    def.metric = { name: q.metricName };
    if (q.metricPositive) def.metric.positive = q.metricPositive;
    if (q.metricMatch) def.metric.match = q.metricMatch;
    if (q.metricExclude?.length) def.metric.exclude = q.metricExclude;
  }
  return def;
}
