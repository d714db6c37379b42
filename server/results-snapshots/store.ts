import { and, eq, sql } from "drizzle-orm";
import { first, type Executor } from "../../db/client.js";
import { resultSnapshots, type ResultSnapshot } from "../../db/schema.js";

/** A computed snapshot before it is stored: what it was computed from, as JSON text, and when. */
export interface ComputedSnapshot {
  studyId: number;
  variant: string;
  dataVersion: string;
  payload: string;
  /** When its data was read (milliseconds): "computed at" on the page. */
  computedAt: number;
  durationMs: number;
}

export async function findSnapshot(db: Executor, studyId: number, variant: string): Promise<ResultSnapshot | undefined> {
  return first(await db.select().from(resultSnapshots).where(and(eq(resultSnapshots.studyId, studyId), eq(resultSnapshots.variant, variant))));
}

/**
 * Stores a snapshot in place of the study's previous one of the same variant, unless that one was
 * read later (two computations finishing out of order: the newer reading stays).
 */
export async function saveSnapshot(db: Executor, s: ComputedSnapshot): Promise<void> {
  await db
    .insert(resultSnapshots)
    .values({ studyId: s.studyId, variant: s.variant, dataVersion: s.dataVersion, payload: s.payload, computedAt: new Date(s.computedAt), durationMs: s.durationMs })
    .onConflictDoUpdate({
      target: [resultSnapshots.studyId, resultSnapshots.variant],
      set: { dataVersion: sql`excluded.data_version`, payload: sql`excluded.payload`, computedAt: sql`excluded.computed_at`, durationMs: sql`excluded.duration_ms` },
      setWhere: sql`${resultSnapshots.computedAt} <= excluded.computed_at`,
    });
}
