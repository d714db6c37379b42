import { and, asc, count, eq, isNull, type SQL } from "drizzle-orm";
import { affectedRows, first, type Executor } from "../client.js";
import { profileMargins, type ProfileMargin } from "../schema.js";

/** A margin to store: one level's population share in a segment, for one wave or (null) every wave. */
export interface NewMargin {
  segmentId: number;
  waveId: number | null;
  questionId: number;
  optionKey: string;
  share: number;
}

/** A (segment, wave) of a study; `waveId` null: its margins for every wave. */
export interface MarginScopeKey {
  segmentId: number;
  waveId: number | null;
}

const waveIs = (waveId: number | null): SQL => (waveId === null ? isNull(profileMargins.waveId) : eq(profileMargins.waveId, waveId));

/** Every margin of a study, by id (the order they were written in). */
export async function listMargins(db: Executor, studyId: number): Promise<ProfileMargin[]> {
  return db.select().from(profileMargins).where(eq(profileMargins.studyId, studyId)).orderBy(asc(profileMargins.id));
}

/**
 * Replaces the margins of the (segment, wave) pairs named with `rows`: those pairs' other margins
 * (any variable) go. Returns how many were removed. Run inside the caller's transaction.
 */
export async function replaceMargins(db: Executor, studyId: number, scopes: readonly MarginScopeKey[], rows: readonly NewMargin[]): Promise<number> {
  let removed = 0;
  for (const s of scopes) {
    removed += affectedRows(await db
      .delete(profileMargins)
      .where(and(eq(profileMargins.studyId, studyId), eq(profileMargins.segmentId, s.segmentId), waveIs(s.waveId)))
      );
  }
  for (const r of rows) (await db.insert(profileMargins).values({ studyId, ...r }));
  return removed;
}

/** Removes one variable's margins of one (segment, wave); returns how many rows went. */
export async function deleteMarginVariable(db: Executor, studyId: number, scope: MarginScopeKey, questionId: number): Promise<number> {
  return affectedRows(await db
    .delete(profileMargins)
    .where(and(eq(profileMargins.studyId, studyId), eq(profileMargins.segmentId, scope.segmentId), waveIs(scope.waveId), eq(profileMargins.questionId, questionId)))
    );
}

/** Removes every margin of a question (it stopped being a profile variable or its levels changed). */
export async function deleteQuestionMargins(db: Executor, questionId: number): Promise<number> {
  return affectedRows(await db.delete(profileMargins).where(eq(profileMargins.questionId, questionId)));
}

/** Whether a study has margins of this (segment, wave, question): what a delete form names must exist. */
export async function hasMarginVariable(db: Executor, studyId: number, scope: MarginScopeKey, questionId: number): Promise<boolean> {
  return (
    first(await db
      .select({ n: count() })
      .from(profileMargins)
      .where(and(eq(profileMargins.studyId, studyId), eq(profileMargins.segmentId, scope.segmentId), waveIs(scope.waveId), eq(profileMargins.questionId, questionId)))
      )!.n > 0
  );
}
