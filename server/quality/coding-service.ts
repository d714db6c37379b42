import { unitOfWork, type Db, type Executor } from "../../db/client.js";
import { recordAudit } from "../../db/queries/audit.js";
import { listWaves } from "../../db/queries/fieldwork.js";
import {
  countMentions,
  deleteMentionsOfQuestions,
  deleteTextAlias,
  insertMentionRows,
  insertTextAlias,
  listAnswersForReview,
  listTextAliases,
  listTextAnswers,
} from "../../db/queries/quality.js";
import { loadQuestionnaire } from "../../db/queries/questionnaire.js";
import type { Locale, Study, TextAlias } from "../../db/schema.js";
import type { SurveyQuestion } from "../domain/questionnaire.js";
import { codeText, type Codebook } from "../domain/text-coding.js";
import { aliasForm, codebookOf, codedQuestions, codeDefinitions, reviewQueueBuilder, type CodeDefinition, type ReviewQueue } from "./coding.js";

/** Coding of text answers against the study's codes: at submission, for the whole study, and the review queue. */

export const CODING_BATCH_SIZE = 1000;
export const MAX_ALIAS_LENGTH = 100;

/** A codebook per coded question. */
export function studyCodebooks(questions: readonly SurveyQuestion[], aliases: readonly TextAlias[]): Map<number, Codebook> {
  return new Map(codedQuestions(questions).map((q) => [q.id, codebookOf(codeDefinitions(q, questions, aliases, "", "ru", "ru"))]));
}

/** Codes answers just stored by the survey flow (same transaction): brand and competitors. */
export async function codeStoredAnswers(
  tx: Executor,
  studyId: number,
  questions: readonly SurveyQuestion[],
  stored: ReadonlyArray<{ id: number; questionId: number; valueText: string | null }>,
): Promise<void> {
  const coded = new Set(codedQuestions(questions).map((q) => q.id));
  const toCode = stored.filter((a) => a.valueText !== null && coded.has(a.questionId));
  if (toCode.length === 0) return;
  const codebooks = studyCodebooks(questions, await listTextAliases(tx, studyId));
  const rows = toCode.flatMap((a) => codeText(a.valueText!, codebooks.get(a.questionId)!).map((m) => ({ answerId: a.id, ...m })));
  await insertMentionRows(tx, rows);
}

/**
 * Codes every text answer of the study's coded questions again: deletes their mentions and
 * inserts the new ones, in batches, inside the caller's transaction (so readers see the old
 * coding or the new, never half).
 */
export async function recodeStudy(tx: Executor, studyId: number): Promise<{ answers: number; mentions: number }> {
  const questions = await loadQuestionnaire(tx, studyId);
  const codebooks = studyCodebooks(questions, await listTextAliases(tx, studyId));
  const questionIds = [...codebooks.keys()];
  await deleteMentionsOfQuestions(tx, questionIds);
  let answers = 0;
  let mentions = 0;
  for (let after = 0; ; ) {
    const batch = await listTextAnswers(tx, questionIds, after, CODING_BATCH_SIZE);
    if (batch.length === 0) break;
    const rows = batch.flatMap((a) => codeText(a.valueText ?? "", codebooks.get(a.questionId)!).map((m) => ({ answerId: a.id, ...m })));
    await insertMentionRows(tx, rows);
    answers += batch.length;
    mentions += rows.length;
    after = batch[batch.length - 1]!.id;
  }
  return { answers, mentions };
}

export interface CodingOverview {
  questions: SurveyQuestion[];
  /** Codes of the first coded question (competitors are the same for every question). */
  definitions: CodeDefinition[];
  /** Answers per code, and how often it was named first. */
  counts: Map<string, { n: number; first: number }>;
  queue: ReviewQueue;
}

/** The coding page: codes with their aliases and counts, and the review queue. */
export async function codingOverview(db: Db, study: Study, locale: Locale, queueLimit = 100): Promise<CodingOverview> {
  const questions = await loadQuestionnaire(db, study.id);
  const coded = codedQuestions(questions);
  const aliases = await listTextAliases(db, study.id);
  const definitions = codeDefinitions(coded[0], questions, aliases, study.brand, locale, study.defaultLocale);
  const waveIds = (await listWaves(db, study.id)).map((w) => w.id);
  const questionIds = coded.map((q) => q.id);
  const counts = new Map((await countMentions(db, questionIds, waveIds)).map((c) => [c.code, { n: c.n, first: c.first ?? 0 }]));
  const codebooks = studyCodebooks(questions, aliases);
  const queue = reviewQueueBuilder(codebooks);
  for (let after = 0; ; ) {
    const batch = await listAnswersForReview(db, questionIds, waveIds, after, CODING_BATCH_SIZE);
    if (batch.length === 0) break;
    for (const item of batch) queue.add(item);
    after = batch[batch.length - 1]!.id;
  }
  return { questions: coded, definitions, counts, queue: queue.result(queueLimit) };
}

export type AliasProblem = { field: "alias" | "code"; message: "required" | "tooLong" | "unknownCode" | "taken"; takenBy?: string };

/**
 * Adds a researcher alias to a code and recodes the study, in one transaction with its audit
 * entry. Refused when the alias is empty, too long, or already stands for a code (any source).
 */
export async function addAlias(db: Db, study: Study, userId: number, input: { alias: string; code: string }, locale: Locale): Promise<AliasProblem | { recoded: number }> {
  const alias = input.alias.trim();
  const form = aliasForm(alias);
  if (!form) return { field: "alias", message: "required" };
  if (alias.length > MAX_ALIAS_LENGTH) return { field: "alias", message: "tooLong" };
  const questions = await loadQuestionnaire(db, study.id);
  const definitions = codeDefinitions(codedQuestions(questions)[0], questions, await listTextAliases(db, study.id), study.brand, locale, study.defaultLocale);
  const target = definitions.find((d) => d.code === input.code);
  if (!target) return { field: "code", message: "unknownCode" };
  const owner = definitions.find((d) => d.aliases.some((a) => aliasForm(a.text) === form));
  if (owner) return { field: "alias", message: "taken", takenBy: owner.label };
  return unitOfWork(db, async (tx) => {
      await insertTextAlias(tx, { studyId: study.id, code: target.code, alias, normalized: form, createdBy: userId });
      const recoded = await recodeStudy(tx, study.id);
      await recordAudit(tx, {
        userId,
        action: "quality.alias.add",
        entityType: "study",
        entityId: study.id,
        details: { code: target.code, alias, answers: recoded.answers, mentions: recoded.mentions },
      });
      return { recoded: recoded.answers };
    }
  );
}

/** Removes a researcher alias and recodes the study; false when the study has no such alias. */
export function removeAlias(db: Db, study: Study, userId: number, aliasId: number): Promise<boolean> {
  return unitOfWork(db, async (tx) => {
      const removed = await deleteTextAlias(tx, study.id, aliasId);
      if (!removed) return false;
      const recoded = await recodeStudy(tx, study.id);
      await recordAudit(tx, {
        userId,
        action: "quality.alias.remove",
        entityType: "study",
        entityId: study.id,
        details: { code: removed.code, alias: removed.alias, answers: recoded.answers, mentions: recoded.mentions },
      });
      return true;
    }
  );
}
