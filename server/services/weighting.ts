import { unitOfWork, type Db, type Executor } from "../../db/client.js";
import { recordAudit } from "../../db/queries/audit.js";
import { listWaves } from "../../db/queries/fieldwork.js";
import { deleteMarginVariable, hasMarginVariable, listMargins, replaceMargins } from "../../db/queries/margins.js";
import { loadQuestionnaire } from "../../db/queries/questionnaire.js";
import { listSegments } from "../../db/queries/studies.js";
import type { ProfileMargin, Segment, Study, Wave } from "../../db/schema.js";
import { toMarginEntries, validateMargins, type MarginCell, type MarginEntry, type MarginError, type MarginScope } from "../domain/margins.js";
import type { SurveyQuestion } from "../domain/questionnaire.js";
import { NotFoundError } from "../errors.js";

/**
 * Weighting targets of a study: what margins may name, importing them (all or nothing, audited),
 * deleting one variable's, and reading them back in the import's own JSON shape.
 */

export interface StudyMarginContext {
  segments: Segment[];
  waves: Wave[];
  questions: SurveyQuestion[];
  scope: MarginScope;
}

export async function marginContext(db: Executor, studyId: number): Promise<StudyMarginContext> {
  const segments = await listSegments(db, studyId);
  const waves = await listWaves(db, studyId);
  const questions = await loadQuestionnaire(db, studyId);
  return {
    segments,
    waves,
    questions,
    scope: {
      segments: segments.map((s) => s.key),
      waves: waves.map((w) => ({ id: w.id, label: w.label })),
      questions: questions.map((q) => ({ key: q.key, profile: q.profile, options: q.options.map((o) => o.key) })),
    },
  };
}

export type MarginImport = { ok: true; rows: number; removed: number } | { ok: false; errors: MarginError[] };

/**
 * Checks margins against the study and, when every one is good, replaces the margins of each
 * (segment, wave) they name, with the audit entry, in one transaction; nothing is written otherwise.
 */
export function importMargins(db: Db, study: Study, cells: readonly MarginCell[], actorId: number, how: { format: "csv" | "json"; via: "web" | "api" }): Promise<MarginImport> {
  return unitOfWork(db, async (tx): Promise<MarginImport> => {
    const context = await marginContext(tx, study.id);
    const checked = validateMargins(cells, context.scope);
    if (!checked.ok) return checked;
    const segmentId = new Map(context.segments.map((s) => [s.key, s.id]));
    const questionId = new Map(context.questions.map((q) => [q.key, q.id]));
    const waveLabel = (id: number | null) => (id === null ? null : (context.waves.find((w) => w.id === id)?.label ?? null));
    const removed = await replaceMargins(
      tx,
      study.id,
      checked.groups.map((g) => ({ segmentId: segmentId.get(g.segment)!, waveId: g.waveId })),
      checked.margins.map((m) => ({ segmentId: segmentId.get(m.segment)!, waveId: m.waveId, questionId: questionId.get(m.variable)!, optionKey: m.level, share: m.share })),
    );
    await recordAudit(tx, {
      userId: actorId,
      action: "margins.import",
      entityType: "study",
      entityId: study.id,
      details: { ...how, rows: checked.margins.length, removed, replaced: checked.groups.map((g) => ({ segment: g.segment, wave: waveLabel(g.waveId) })) },
    });
    return { ok: true, rows: checked.margins.length, removed };
  });
}

/** Deletes one variable's margins of one (segment, wave); a 404 when there are none. */
export async function deleteMargins(db: Db, study: Study, target: { segmentId: number; waveId: number | null; questionId: number }, actorId: number): Promise<void> {
  await unitOfWork(db, async (tx) => {
    const scope = { segmentId: target.segmentId, waveId: target.waveId };
    if (!(await hasMarginVariable(tx, study.id, scope, target.questionId))) throw new NotFoundError();
    const context = await marginContext(tx, study.id);
    const removed = await deleteMarginVariable(tx, study.id, scope, target.questionId);
    await recordAudit(tx, {
      userId: actorId,
      action: "margins.delete",
      entityType: "study",
      entityId: study.id,
      details: {
        segment: context.segments.find((s) => s.id === target.segmentId)?.key ?? null,
        wave: context.waves.find((w) => w.id === target.waveId)?.label ?? null,
        variable: context.questions.find((q) => q.id === target.questionId)?.key ?? null,
        removed,
      },
    });
  });
}

/**
 * A study's margins, sorted as the study is (segments, then every-wave before each wave in order,
 * questions, options), with what they name resolved: the rows the page and the API show.
 */
export function resolvedMargins(context: StudyMarginContext, margins: readonly ProfileMargin[]) {
  const segmentAt = new Map(context.segments.map((s, i) => [s.id, i]));
  const waveAt = new Map(context.waves.map((w, i) => [w.id, i]));
  const questionAt = new Map(context.questions.map((q, i) => [q.id, i]));
  return margins
    .filter((m) => segmentAt.has(m.segmentId) && questionAt.has(m.questionId))
    .map((m) => {
      const question = context.questions[questionAt.get(m.questionId)!]!;
      return {
        margin: m,
        segment: context.segments[segmentAt.get(m.segmentId)!]!,
        wave: m.waveId === null ? null : (context.waves[waveAt.get(m.waveId)!] ?? null),
        question,
        option: question.options.find((o) => o.key === m.optionKey) ?? null,
        order: [segmentAt.get(m.segmentId)!, m.waveId === null ? -1 : (waveAt.get(m.waveId) ?? 0), questionAt.get(m.questionId)!, question.options.findIndex((o) => o.key === m.optionKey)],
      };
    })
    .sort((a, b) => a.order.reduce((d, x, i) => d || x - b.order[i]!, 0));
}

export type ResolvedMargin = ReturnType<typeof resolvedMargins>[number];

/** `{"margins": [...]}` exactly as an import takes it back: waves by label, every-wave as null. */
export async function marginsDocumentOf(db: Executor, studyId: number): Promise<{ margins: MarginEntry[] }> {
  const context = await marginContext(db, studyId);
  const rows = resolvedMargins(context, await listMargins(db, studyId));
  return {
    margins: toMarginEntries(rows.map((r) => ({ segment: r.segment.key, wave: r.wave?.label ?? null, variable: r.question.key, level: r.margin.optionKey, share: r.margin.share }))),
  };
}
