import { and, asc, eq, inArray, sql } from "drizzle-orm";
import { one, preparedQuery, type Executor } from "../client.js";
import { options, questions, type LocalizedText, type Question, type QuestionOption, type QuestionType } from "../schema.js";

export interface NewOption {
  key: string;
  text: LocalizedText;
  exclusive: boolean;
  pinned: boolean;
  attentionCheck: boolean;
}

export interface NewQuestion {
  key: string;
  type: QuestionType;
  text: LocalizedText;
  help?: LocalizedText | null;
  required: boolean;
  randomize: boolean;
  scaleMin?: number | null;
  scaleMax?: number | null;
  scaleMinLabel?: LocalizedText | null;
  scaleMaxLabel?: LocalizedText | null;
  maxLength?: number | null;
  metricName?: string | null;
  metricPositive?: Array<string | number> | null;
  metricMatch?: string[] | null;
  metricExclude?: string[] | null;
  /** Absent keeps what is stored (an edit that does not touch the break). */
  pageBreakAfter?: boolean;
  /** A profile variable (single-choice, never a metric): weighting and breakdowns. */
  profile?: boolean;
  options: NewOption[];
}

/** Appends questions (and their options) after the study's last question. Run inside a transaction. */
export async function insertQuestions(db: Executor, studyId: number, list: readonly NewQuestion[], startPosition = 0): Promise<void> {
  for (const [i, { options: opts, ...q }] of list.entries()) {
    const row = one(await db
      .insert(questions)
      .values({ ...q, studyId, position: startPosition + i })
      .returning({ id: questions.id }));
    for (const [position, o] of opts.entries()) {
      await db.insert(options).values({ ...o, questionId: row.id, position });
    }
  }
}

const questionsQuery = preparedQuery("questionnaire_questions", (db) =>
  db.select().from(questions).where(eq(questions.studyId, sql.placeholder("study"))).orderBy(asc(questions.position)),
);

const optionsQuery = preparedQuery("questionnaire_options", (db) =>
  db
    .select()
    .from(options)
    .where(inArray(options.questionId, db.select({ id: questions.id }).from(questions).where(eq(questions.studyId, sql.placeholder("study")))))
    .orderBy(asc(options.questionId), asc(options.position)),
);

/** The questionnaire in order, each question with its options in order: two queries. */
export async function loadQuestionnaire(db: Executor, studyId: number): Promise<Array<Question & { options: QuestionOption[] }>> {
  const qs = await questionsQuery(db).execute({ study: studyId });
  if (qs.length === 0) return [];
  const opts = await optionsQuery(db).execute({ study: studyId });
  const byQuestion = new Map<number, QuestionOption[]>();
  for (const o of opts) {
    const list = byQuestion.get(o.questionId);
    if (list) list.push(o);
    else byQuestion.set(o.questionId, [o]);
  }
  return qs.map((q) => ({ ...q, options: byQuestion.get(q.id) ?? [] }));
}

export async function deleteQuestionById(db: Executor, questionId: number): Promise<void> {
  await db.delete(questions).where(eq(questions.id, questionId));
}

/** Rewrites positions 0..n-1 in the given order of question ids. */
export async function setQuestionOrder(db: Executor, orderedIds: readonly number[]): Promise<void> {
  for (const [position, id] of orderedIds.entries()) {
    await db.update(questions).set({ position }).where(eq(questions.id, id));
  }
}

export async function setQuestionPageBreak(db: Executor, questionId: number, on: boolean): Promise<void> {
  await db.update(questions).set({ pageBreakAfter: on }).where(eq(questions.id, questionId));
}

/** Replaces a question's fields and options (only while no wave has opened: options carry no answers yet). */
export async function replaceQuestion(db: Executor, questionId: number, q: NewQuestion): Promise<void> {
  const { options: opts, ...fields } = q;
  await db.update(questions).set(fields).where(eq(questions.id, questionId));
  (await db.delete(options).where(eq(options.questionId, questionId)));
  for (const [position, o] of opts.entries()) {
    await db.insert(options).values({ ...o, questionId, position });
  }
}

/** Changes only wording: question texts and option texts by key. Structure and ids stay. */
export async function updateWording(
  db: Executor,
  questionId: number,
  wording: {
    text: LocalizedText;
    help: LocalizedText | null;
    scaleMinLabel: LocalizedText | null;
    scaleMaxLabel: LocalizedText | null;
    options: Array<{ key: string; text: LocalizedText }>;
  },
): Promise<void> {
  const { options: opts, ...fields } = wording;
  await db.update(questions).set(fields).where(eq(questions.id, questionId));
  for (const o of opts) {
    await db.update(options)
      .set({ text: o.text })
      .where(and(eq(options.questionId, questionId), eq(options.key, o.key)))
      ;
  }
}
