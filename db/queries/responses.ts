import { and, desc, eq, inArray } from "drizzle-orm";
import type { Executor } from "../client.js";
import { answers, responses, textMentions, type NewResponse, type SurveyResponse } from "../schema.js";

export interface AnswerInsert {
  questionId: number;
  optionId: number | null;
  valueNumber: number | null;
  valueText: string | null;
}

export class DuplicateNonceError extends Error {
  constructor() {
    super("duplicate_nonce");
  }
}

/** Inserts a response; a nonce seen before (a retry, a double click) raises DuplicateNonceError. */
export function insertResponse(db: Executor, response: NewResponse): SurveyResponse {
  try {
    return db.insert(responses).values(response).returning().get();
  } catch (error) {
    if ((error as { code?: string }).code === "SQLITE_CONSTRAINT_UNIQUE") throw new DuplicateNonceError();
    throw error;
  }
}

export function findResponseByNonce(db: Executor, nonce: string): SurveyResponse | undefined {
  return db.select().from(responses).where(eq(responses.nonce, nonce)).get();
}

/** This browser's latest response to a wave, if any (open links). */
export function findBrowserResponse(db: Executor, waveId: number, browserHash: string): SurveyResponse | undefined {
  return db
    .select()
    .from(responses)
    .where(and(eq(responses.waveId, waveId), eq(responses.browserHash, browserHash)))
    .orderBy(desc(responses.id))
    .get();
}

/** The response started on a personal link, if any. */
export function findLinkResponse(db: Executor, linkId: number): SurveyResponse | undefined {
  return db.select().from(responses).where(eq(responses.linkId, linkId)).orderBy(desc(responses.id)).get();
}

/** Replaces the answers of the given questions (a page re-submitted replaces, never duplicates). */
export function replaceAnswers(
  db: Executor,
  responseId: number,
  questionIds: number[],
  rows: readonly AnswerInsert[],
): Array<{ id: number; questionId: number; valueText: string | null }> {
  if (questionIds.length) {
    db.delete(answers).where(and(eq(answers.responseId, responseId), inArray(answers.questionId, questionIds))).run();
  }
  if (!rows.length) return [];
  return db
    .insert(answers)
    .values(rows.map((r) => ({ ...r, responseId })))
    .returning({ id: answers.id, questionId: answers.questionId, valueText: answers.valueText })
    .all();
}

export function insertMentions(db: Executor, answerId: number, mentions: ReadonlyArray<{ code: string; rank: number }>): void {
  if (mentions.length) db.insert(textMentions).values(mentions.map((m) => ({ answerId, ...m }))).run();
}

export function updateResponse(db: Executor, id: number, fields: Partial<NewResponse>): void {
  db.update(responses).set(fields).where(eq(responses.id, id)).run();
}

export function listAnswers(db: Executor, responseId: number) {
  return db.select().from(answers).where(eq(answers.responseId, responseId)).all();
}
