import { count, and, eq } from "drizzle-orm";
import { unitOfWork, type Db, type Executor } from "../../db/client.js";
import { recordAudit } from "../../db/queries/audit.js";
import { deleteWaveNote, insertWaveNotes, updateWaveNote, type NewWaveNote } from "../../db/queries/wave-notes.js";
import { waveNotes, type Wave, type WaveNote } from "../../db/schema.js";
import { waveNoteFields, type WaveNoteDefinition, type WaveNoteFields } from "../domain/study-definition.js";
import { HttpError } from "../errors.js";
import { parseForm, type FormResult } from "../forms.js";
import type { Translate } from "../i18n/index.js";

/**
 * Notes on the work of a wave's period (db/schema.ts waveNotes). They are read beside the results
 * snapshot (as KPIs and audience sizes are), so a change needs no recomputation of the results.
 */

/** Notes one wave label may carry: a period's work in a few dozen lines, not a post log. */
export const MAX_NOTES_PER_WAVE = 100;

/** The wave already has MAX_NOTES_PER_WAVE notes (the caller words it for the reader). */
export class TooManyNotesError extends HttpError {
  constructor() {
    super(422, "too_many_notes", "validation");
  }
}

/**
 * The note form's strings as the note's fields: amounts typed as people type them ("150 000,50",
 * "1,5"), the currency in any case, empty fields absent; then the definition's own rules.
 */
export function parseNoteForm(body: Record<string, unknown> | undefined, t: Translate): FormResult<WaveNoteFields> {
  const text = (name: string) => {
    const v = body?.[name];
    return typeof v === "string" ? v.trim() : "";
  };
  const amountText = text("amount").replace(/[\s\u00a0\u202f]/g, "").replace(",", ".");
  const amount = amountText === "" ? undefined : /^\d{1,15}(\.\d{1,4})?$/.test(amountText) ? Number(amountText) : Number.NaN;
  const currency = text("currency").toUpperCase();
  const date = text("date");
  return parseForm(
    waveNoteFields,
    { kind: text("kind"), text: text("text"), ...(date ? { date } : {}), ...(amount !== undefined ? { amount } : {}), ...(currency ? { currency } : {}) },
    t,
  );
}

/** The row's fields for a note: absent fields as nulls. */
export function noteRow(fields: WaveNoteFields): Omit<NewWaveNote, "waveLabel"> {
  return { kind: fields.kind, text: fields.text, date: fields.date ?? null, amount: fields.amount ?? null, currency: fields.currency ?? null };
}

/** A definition's notes for a new study; run inside the caller's unit of work. */
export async function insertDefinedNotes(tx: Executor, studyId: number, notes: readonly WaveNoteDefinition[]): Promise<void> {
  await insertWaveNotes(tx, studyId, notes.map(({ wave, ...fields }) => ({ waveLabel: wave, ...noteRow(fields) })));
}

export async function addNote(db: Db, wave: Wave, fields: WaveNoteFields, actorId: number): Promise<WaveNote> {
  return unitOfWork(db, async (tx) => {
    const [{ n } = { n: 0 }] = await tx
      .select({ n: count() })
      .from(waveNotes)
      .where(and(eq(waveNotes.studyId, wave.studyId), eq(waveNotes.waveLabel, wave.label)));
    if (Number(n) >= MAX_NOTES_PER_WAVE) throw new TooManyNotesError();
    const [note] = await insertWaveNotes(tx, wave.studyId, [{ waveLabel: wave.label, ...noteRow(fields) }]);
    await recordAudit(tx, { userId: actorId, action: "wave.note_add", entityType: "wave", entityId: wave.id, details: { text: fields.text } });
    return note!;
  });
}

export async function editNote(db: Db, wave: Wave, note: WaveNote, fields: WaveNoteFields, actorId: number): Promise<void> {
  await unitOfWork(db, async (tx) => {
    await updateWaveNote(tx, note.id, noteRow(fields));
    await recordAudit(tx, { userId: actorId, action: "wave.note_edit", entityType: "wave", entityId: wave.id, details: { text: fields.text } });
  });
}

export async function removeNote(db: Db, wave: Wave, note: WaveNote, actorId: number): Promise<void> {
  await unitOfWork(db, async (tx) => {
    await deleteWaveNote(tx, note.id);
    await recordAudit(tx, { userId: actorId, action: "wave.note_delete", entityType: "wave", entityId: wave.id, details: { text: note.text } });
  });
}
