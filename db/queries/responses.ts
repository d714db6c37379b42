import { and, desc, eq, inArray } from "drizzle-orm";
import { isUniqueViolation, one, first, type Executor } from "../client.js";
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
export async function insertResponse(db: Executor, response: NewResponse): Promise<SurveyResponse> {
  try {
    return one(await db.insert(responses).values(response).returning());
  } catch (error) {
    if (isUniqueViolation(error)) throw new DuplicateNonceError();
    throw error;
  }
}

export async function findResponseByNonce(db: Executor, nonce: string): Promise<SurveyResponse | undefined> {
  return first(await db.select().from(responses).where(eq(responses.nonce, nonce)));
}

/** This browser's latest response to a wave, if any (open links). */
export async function findBrowserResponse(db: Executor, waveId: number, browserHash: string): Promise<SurveyResponse | undefined> {
  return first(await db
    .select()
    .from(responses)
    .where(and(eq(responses.waveId, waveId), eq(responses.browserHash, browserHash)))
    .orderBy(desc(responses.id)));
}

/** The response started on a personal link, if any. */
export async function findLinkResponse(db: Executor, linkId: number): Promise<SurveyResponse | undefined> {
  return first(await db.select().from(responses).where(eq(responses.linkId, linkId)).orderBy(desc(responses.id)));
}

/** Replaces the answers of the given questions (a page re-submitted replaces, never duplicates). */
export async function replaceAnswers(
  db: Executor,
  responseId: number,
  questionIds: number[],
  rows: readonly AnswerInsert[],
): Promise<Array<{ id: number; questionId: number; valueText: string | null }>> {
  if (questionIds.length) {
    await db.delete(answers).where(and(eq(answers.responseId, responseId), inArray(answers.questionId, questionIds)));
  }
  if (!rows.length) return [];
  return db
    .insert(answers)
    .values(rows.map((r) => ({ ...r, responseId })))
    .returning({ id: answers.id, questionId: answers.questionId, valueText: answers.valueText });
}

export async function insertMentions(db: Executor, answerId: number, mentions: ReadonlyArray<{ code: string; rank: number }>): Promise<void> {
  if (mentions.length) (await db.insert(textMentions).values(mentions.map((m) => ({ answerId, ...m }))));
}

export async function updateResponse(db: Executor, id: number, fields: Partial<NewResponse>): Promise<void> {
  await db.update(responses).set(fields).where(eq(responses.id, id));
}

export async function listAnswers(db: Executor, responseId: number) {
  return db.select().from(answers).where(eq(answers.responseId, responseId));
}
