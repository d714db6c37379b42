import { and, desc, eq, inArray, isNotNull, isNull, type SQL } from "drizzle-orm";
import { type Executor } from "../client.js";
import { answers, responses } from "../schema.js";

export interface FeedbackFilter {
  questionIds: readonly number[];
  waveIds: readonly number[];
  waveId?: number | undefined;
  segmentId?: number | undefined;
  limit: number;
}

/**
 * Text answers to the given questions that count: from completed responses of the waves that
 * are not excluded (nor flagged, unless those are included). Shared by the feedback list and themes.
 */
export function countedTextAnswers(f: { questionIds: readonly number[]; waveIds: readonly number[]; includeFlagged?: boolean }): SQL[] {
  const conditions: SQL[] = [
    inArray(answers.questionId, [...f.questionIds]),
    isNotNull(answers.valueText),
    inArray(responses.waveId, [...f.waveIds]),
    eq(responses.status, "completed"),
    eq(responses.excluded, false),
  ];
  if (f.includeFlagged === false) conditions.push(isNull(responses.qualityFlags));
  return conditions;
}

/** Open-text answers, most recent first, from completed responses that are not excluded. */
export async function listFeedback(db: Executor, f: FeedbackFilter) {
  if (f.questionIds.length === 0 || f.waveIds.length === 0) return [];
  const conditions = countedTextAnswers(f);
  if (f.waveId) conditions.push(eq(responses.waveId, f.waveId));
  if (f.segmentId) conditions.push(eq(responses.segmentId, f.segmentId));
  return db
    .select({
      answerId: answers.id,
      text: answers.valueText,
      questionId: answers.questionId,
      waveId: responses.waveId,
      segmentId: responses.segmentId,
      completedAt: responses.completedAt,
    })
    .from(answers)
    .innerJoin(responses, eq(responses.id, answers.responseId))
    .where(and(...conditions))
    .orderBy(desc(responses.completedAt), desc(answers.id))
    .limit(f.limit);
}
