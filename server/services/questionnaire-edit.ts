import { unitOfWork, type Db, type Executor } from "../../db/client.js";
import { recordAudit } from "../../db/queries/audit.js";
import { deleteQuestionMargins } from "../../db/queries/margins.js";
import {
  deleteQuestionById,
  insertQuestions,
  loadQuestionnaire,
  replaceQuestion,
  setQuestionOrder,
  setQuestionPageBreak,
  updateWording,
} from "../../db/queries/questionnaire.js";
import { studyHasOpenedWave } from "../../db/queries/studies.js";
import { questionToDefinition } from "../domain/definition-export.js";
import type { SurveyQuestion } from "../domain/questionnaire.js";
import { questionDefinition, type QuestionDefinition } from "../domain/study-definition.js";
import { HttpError, NotFoundError } from "../errors.js";
import { questionFromDefinition } from "./study-setup.js";

/**
 * Questionnaire edits. Once a wave of the study has opened, pre and post must measure the same
 * thing: changes of structure (types, options, metrics, order) are refused; wording fixes stay
 * allowed and are written to the audit log.
 */

export class QuestionnaireFrozenError extends HttpError {
  constructor() {
    super(409, "questionnaire_frozen", "frozen");
  }
}

export class DuplicateKeyError extends HttpError {
  constructor(readonly key: string) {
    super(422, "duplicate_key", "validation", { key: "duplicate" });
  }
}

/**
 * Everything about a question except its wording: two questions with equal structure measure the
 * same thing. Being a profile variable is structure too: pre and post are weighted by the same variables.
 */
export function structureOf(q: QuestionDefinition): string {
  return JSON.stringify({
    key: q.key,
    type: q.type,
    required: q.required,
    randomize: q.randomize,
    min: q.min ?? null,
    max: q.max ?? null,
    maxLength: q.maxLength ?? null,
    metric: q.metric ?? null,
    profile: q.profile === true,
    options: (q.options ?? []).map((o) => [o.key, o.exclusive, o.pinned, o.attentionCheck]),
  });
}

async function findQuestion(db: Executor, studyId: number, key: string): Promise<SurveyQuestion> {
  const q = (await loadQuestionnaire(db, studyId)).find((x) => x.key === key);
  if (!q) throw new NotFoundError();
  return q;
}

export function isFrozen(db: Db, studyId: number): Promise<boolean> {
  return studyHasOpenedWave(db, studyId);
}

export async function addQuestion(db: Db, studyId: number, def: QuestionDefinition, actorId: number, pageBreakAfter = false): Promise<void> {
  const parsed = questionDefinition.parse(def);
  await unitOfWork(db, async (tx) => {
    if (await studyHasOpenedWave(tx, studyId)) throw new QuestionnaireFrozenError();
    const existing = await loadQuestionnaire(tx, studyId);
    if (existing.some((q) => q.key === parsed.key)) throw new DuplicateKeyError(parsed.key);
    await insertQuestions(tx, studyId, [{ ...questionFromDefinition(parsed), pageBreakAfter }], existing.length);
    await recordAudit(tx, { userId: actorId, action: "question.add", entityType: "study", entityId: studyId, details: { key: parsed.key } });
  });
}

/**
 * Saves an edited question. Wording-only changes are always allowed; anything else only while
 * no wave has opened. A page break after the question (undefined: as stored) is structure too:
 * it changes what respondents see beside what. Returns what kind of change was made.
 */
export async function saveQuestion(
  db: Db,
  studyId: number,
  key: string,
  def: QuestionDefinition,
  actorId: number,
  pageBreakAfter?: boolean,
): Promise<"wording" | "structure" | "none"> {
  const parsed = questionDefinition.parse(def);
  return unitOfWork(db, async (tx) => {
    const current = await findQuestion(tx, studyId, key);
    const before = questionToDefinition(current);
    const breakAfter = pageBreakAfter ?? current.pageBreakAfter;
    const structural = structureOf(before) !== structureOf(parsed) || breakAfter !== current.pageBreakAfter;
    if (structural) {
      if (await studyHasOpenedWave(tx, studyId)) throw new QuestionnaireFrozenError();
      if (parsed.key !== key && (await loadQuestionnaire(tx, studyId)).some((q) => q.key === parsed.key)) {
        throw new DuplicateKeyError(parsed.key);
      }
      await replaceQuestion(tx, current.id, { ...questionFromDefinition(parsed), pageBreakAfter: breakAfter });
      // Weighting targets describe the variable as it was: no longer a profile question, or other
      // levels, and they would no longer add up (levels are option keys; a renamed key is another level).
      const sameLevels = JSON.stringify(current.options.map((o) => o.key).sort()) === JSON.stringify((parsed.options ?? []).map((o) => o.key).sort());
      const marginsRemoved = parsed.profile === true && sameLevels ? 0 : await deleteQuestionMargins(tx, current.id);
      await recordAudit(tx, {
        userId: actorId,
        action: "question.edit",
        entityType: "study",
        entityId: studyId,
        details: { key, newKey: parsed.key, ...(marginsRemoved ? { marginsRemoved } : {}) },
      });
      return "structure";
    }
    if (JSON.stringify(before) === JSON.stringify(parsed)) return "none";
    await updateWording(tx, current.id, {
      text: parsed.text,
      help: parsed.help ?? null,
      scaleMinLabel: parsed.minLabel ?? null,
      scaleMaxLabel: parsed.maxLabel ?? null,
      options: (parsed.options ?? []).map((o) => ({ key: o.key, text: o.text })),
    });
    await recordAudit(tx, {
      userId: actorId,
      action: "question.wording",
      entityType: "study",
      entityId: studyId,
      details: { key, before: { text: before.text, options: before.options?.map((o) => o.text) }, after: { text: parsed.text } },
    });
    return "wording";
  });
}

export async function deleteQuestion(db: Db, studyId: number, key: string, actorId: number): Promise<void> {
  await unitOfWork(db, async (tx) => {
    if (await studyHasOpenedWave(tx, studyId)) throw new QuestionnaireFrozenError();
    const q = await findQuestion(tx, studyId, key);
    await deleteQuestionById(tx, q.id);
    await setQuestionOrder(tx, (await loadQuestionnaire(tx, studyId)).map((x) => x.id));
    await recordAudit(tx, { userId: actorId, action: "question.delete", entityType: "study", entityId: studyId, details: { key } });
  });
}

/** Adds or removes the page break after a question (structure: refused once a wave has opened). */
export async function setPageBreak(db: Db, studyId: number, key: string, on: boolean, actorId: number): Promise<void> {
  await unitOfWork(db, async (tx) => {
    if (await studyHasOpenedWave(tx, studyId)) throw new QuestionnaireFrozenError();
    const q = await findQuestion(tx, studyId, key);
    if (q.pageBreakAfter === on) return;
    await setQuestionPageBreak(tx, q.id, on);
    await recordAudit(tx, { userId: actorId, action: "question.page_break", entityType: "study", entityId: studyId, details: { key, on } });
  });
}

export async function moveQuestion(db: Db, studyId: number, key: string, direction: "up" | "down", actorId: number): Promise<void> {
  await unitOfWork(db, async (tx) => {
    if (await studyHasOpenedWave(tx, studyId)) throw new QuestionnaireFrozenError();
    const list = await loadQuestionnaire(tx, studyId);
    const i = list.findIndex((q) => q.key === key);
    if (i < 0) throw new NotFoundError();
    const j = direction === "up" ? i - 1 : i + 1;
    if (j < 0 || j >= list.length) return;
    [list[i], list[j]] = [list[j]!, list[i]!];
    await setQuestionOrder(tx, list.map((q) => q.id));
    await recordAudit(tx, { userId: actorId, action: "question.move", entityType: "study", entityId: studyId, details: { key, direction } });
  });
}
