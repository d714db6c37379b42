import { and, asc, eq, inArray } from "drizzle-orm";
import type { Executor } from "../client.js";
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
export function insertQuestions(db: Executor, studyId: number, list: readonly NewQuestion[], startPosition = 0): void {
  list.forEach(({ options: opts, ...q }, i) => {
    const row = db
      .insert(questions)
      .values({ ...q, studyId, position: startPosition + i })
      .returning({ id: questions.id })
      .get();
    opts.forEach((o, position) => {
      db.insert(options).values({ ...o, questionId: row.id, position }).run();
    });
  });
}

/** The questionnaire in order, each question with its options in order: two queries. */
export function loadQuestionnaire(db: Executor, studyId: number): Array<Question & { options: QuestionOption[] }> {
  const qs = db.select().from(questions).where(eq(questions.studyId, studyId)).orderBy(asc(questions.position)).all();
  if (qs.length === 0) return [];
  const opts = db
    .select()
    .from(options)
    .where(inArray(options.questionId, qs.map((q) => q.id)))
    .orderBy(asc(options.questionId), asc(options.position))
    .all();
  const byQuestion = new Map<number, QuestionOption[]>();
  for (const o of opts) {
    const list = byQuestion.get(o.questionId);
    if (list) list.push(o);
    else byQuestion.set(o.questionId, [o]);
  }
  return qs.map((q) => ({ ...q, options: byQuestion.get(q.id) ?? [] }));
}

export function deleteQuestionById(db: Executor, questionId: number): void {
  db.delete(questions).where(eq(questions.id, questionId)).run();
}

/** Rewrites positions 0..n-1 in the given order of question ids. */
export function setQuestionOrder(db: Executor, orderedIds: readonly number[]): void {
  orderedIds.forEach((id, position) => {
    db.update(questions).set({ position }).where(eq(questions.id, id)).run();
  });
}

export function setQuestionPageBreak(db: Executor, questionId: number, on: boolean): void {
  db.update(questions).set({ pageBreakAfter: on }).where(eq(questions.id, questionId)).run();
}

/** Replaces a question's fields and options (only while no wave has opened: options carry no answers yet). */
export function replaceQuestion(db: Executor, questionId: number, q: NewQuestion): void {
  const { options: opts, ...fields } = q;
  db.update(questions).set(fields).where(eq(questions.id, questionId)).run();
  db.delete(options).where(eq(options.questionId, questionId)).run();
  opts.forEach((o, position) => {
    db.insert(options).values({ ...o, questionId, position }).run();
  });
}

/** Changes only wording: question texts and option texts by key. Structure and ids stay. */
export function updateWording(
  db: Executor,
  questionId: number,
  wording: {
    text: LocalizedText;
    help: LocalizedText | null;
    scaleMinLabel: LocalizedText | null;
    scaleMaxLabel: LocalizedText | null;
    options: Array<{ key: string; text: LocalizedText }>;
  },
): void {
  const { options: opts, ...fields } = wording;
  db.update(questions).set(fields).where(eq(questions.id, questionId)).run();
  for (const o of opts) {
    db.update(options)
      .set({ text: o.text })
      .where(and(eq(options.questionId, questionId), eq(options.key, o.key)))
      .run();
  }
}
