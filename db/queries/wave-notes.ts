import { and, asc, eq, inArray, sql } from "drizzle-orm";
import { first, type Executor } from "../client.js";
import { waveNotes, waveSegments, type WaveNote } from "../schema.js";

export type NewWaveNote = Pick<WaveNote, "waveLabel" | "kind" | "text" | "date" | "amount" | "currency">;

/** Notes of a study in the order they are shown: by wave label, then by day (undated last), then as added. */
export async function listWaveNotes(db: Executor, studyId: number): Promise<WaveNote[]> {
  return db
    .select()
    .from(waveNotes)
    .where(eq(waveNotes.studyId, studyId))
    .orderBy(asc(waveNotes.waveLabel), sql`${waveNotes.date} IS NULL`, asc(waveNotes.date), asc(waveNotes.id));
}

/** The notes of one wave label of a study (see waveNotes: a wave's notes are those of its label). */
export async function listNotesOfLabel(db: Executor, studyId: number, waveLabel: string): Promise<WaveNote[]> {
  return db
    .select()
    .from(waveNotes)
    .where(and(eq(waveNotes.studyId, studyId), eq(waveNotes.waveLabel, waveLabel)))
    .orderBy(sql`${waveNotes.date} IS NULL`, asc(waveNotes.date), asc(waveNotes.id));
}

/** A note by id, only when it belongs to the study and label given (else undefined: a 404 for the caller). */
export async function findNoteOfLabel(db: Executor, studyId: number, waveLabel: string, id: number): Promise<WaveNote | undefined> {
  return first(await db.select().from(waveNotes).where(and(eq(waveNotes.id, id), eq(waveNotes.studyId, studyId), eq(waveNotes.waveLabel, waveLabel))));
}

/** Stores notes; run inside the caller's unit of work. */
export async function insertWaveNotes(db: Executor, studyId: number, rows: readonly NewWaveNote[]): Promise<WaveNote[]> {
  if (rows.length === 0) return [];
  return db
    .insert(waveNotes)
    .values(rows.map((r) => ({ studyId, ...r })))
    .returning();
}

export async function updateWaveNote(db: Executor, id: number, fields: Omit<NewWaveNote, "waveLabel">): Promise<void> {
  await db.update(waveNotes).set(fields).where(eq(waveNotes.id, id));
}

export async function deleteWaveNote(db: Executor, id: number): Promise<void> {
  await db.delete(waveNotes).where(eq(waveNotes.id, id));
}

/** Audience sizes of the waves given, by wave id then segment id (for the cost per lifted user of each period). */
export async function audienceSizesOf(db: Executor, waveIds: readonly number[]): Promise<Map<number, Map<number, number | null>>> {
  const out = new Map<number, Map<number, number | null>>();
  if (waveIds.length === 0) return out;
  const rows = await db.select({ waveId: waveSegments.waveId, segmentId: waveSegments.segmentId, size: waveSegments.audienceSize }).from(waveSegments).where(inArray(waveSegments.waveId, [...waveIds]));
  for (const r of rows) {
    if (!out.has(r.waveId)) out.set(r.waveId, new Map());
    out.get(r.waveId)!.set(r.segmentId, r.size);
  }
  return out;
}
