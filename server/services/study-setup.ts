import { randomBytes } from "node:crypto";
import { nanoid } from "nanoid";
import { unitOfWork, type Db, type Executor } from "../../db/client.js";
import { recordAudit, type Acting } from "../../db/queries/audit.js";
import { findOpenLinkFor, insertLink, insertLinks, insertWave, setWaveStatus } from "../../db/queries/fieldwork.js";
import { insertKpis } from "../../db/queries/kpis.js";
import { replaceMargins } from "../../db/queries/margins.js";
import { insertQuestions, loadQuestionnaire, type NewQuestion } from "../../db/queries/questionnaire.js";
import { insertStudy, listSegments } from "../../db/queries/studies.js";
import { LOCALES, type Link, type Study, type Wave } from "../../db/schema.js";
import { cellsFromEntries, parseShare, type MarginEntry } from "../domain/margins.js";
import { defaultSegments } from "../domain/segments.js";
import type { DefinedQuestion, KpiDefinition, StudyDefinition } from "../domain/study-definition.js";
import { HttpError } from "../errors.js";
import { runChunks, type ChunkOptions } from "./chunks.js";
import { insertDefinedNotes } from "./wave-notes.js";

/**
 * Link tokens: nanoid's 21 characters of a 64-letter alphabet carry 126 random bits. A token
 * never starts with "-" or "_": in a CSV a leading "-" reads as a formula to spreadsheets (and
 * would be neutralised with a quote), and some chat apps cut a link before a leading "_".
 */
export function newLinkToken(): string {
  for (;;) {
    const token = nanoid(21);
    if (/^[A-Za-z0-9]/.test(token)) return token;
  }
}

export function questionFromDefinition(q: DefinedQuestion): NewQuestion {
  return {
    key: q.key,
    type: q.type,
    text: q.text,
    help: q.help ?? null,
    required: q.required,
    randomize: q.randomize,
    scaleMin: q.type === "scale" ? (q.min ?? null) : null,
    scaleMax: q.type === "scale" ? (q.max ?? null) : null,
    scaleMinLabel: q.minLabel ?? null,
    scaleMaxLabel: q.maxLabel ?? null,
    maxLength: q.maxLength ?? null,
    metricName: q.metric?.name ?? null,
    metricPositive: q.metric?.positive ?? null,
    metricMatch: q.metric?.match ?? null,
    metricExclude: q.metric?.exclude ?? null,
    profile: q.profile === true,
    ...(q.pageBreakAfter !== undefined ? { pageBreakAfter: q.pageBreakAfter } : {}),
    options: (q.options ?? []).map((o) => ({ ...o })),
  };
}

/**
 * A study with the default segments and the whole questionnaire, in one transaction. `actorId`
 * created it, for `options.teamId` (the default team when not given); `options` may also name a
 * system actor in the audit instead (the demo) and date it.
 */
export async function createStudyFromDefinition(db: Db, def: StudyDefinition, actorId: number | null, options: Acting & { teamId?: number } = {}): Promise<Study> {
  const { teamId, ...acting } = options;
  return unitOfWork(db, async (tx) => {
    const study = await insertStudy(tx, {
      ...(teamId !== undefined ? { teamId } : {}),
      name: def.name,
      brand: def.brand,
      category: def.category ?? null,
      defaultLocale: def.locale,
      locales: def.locales ?? [def.locale, ...LOCALES.filter((l) => l !== def.locale)],
      signingSecret: randomBytes(32).toString("base64url"),
      createdBy: actorId,
      segments: def.segments ?? defaultSegments(),
      pageSize: def.pageSize ?? null,
      publicTitle: def.publicTitle ?? null,
      targetLift: def.targetLift ?? null,
      timeZone: def.timeZone ?? null,
      campaignCost: def.campaignCost ?? null,
      costCurrency: def.currency ?? null,
    }, acting);
    await insertQuestions(tx, study.id, def.questions.map(questionFromDefinition));
    if (def.margins?.length) await insertDefinedMargins(tx, study.id, def.margins);
    if (def.kpis?.length) await insertDefinedKpis(tx, study.id, def.kpis);
    if (def.waveNotes?.length) await insertDefinedNotes(tx, study.id, def.waveNotes);
    return study;
  });
}

/** A definition's margins (checked by studyDefinition: every wave, known keys, sums of 1) for the new study. */
async function insertDefinedMargins(tx: Executor, studyId: number, entries: readonly MarginEntry[]): Promise<void> {
  const segmentIds = new Map((await listSegments(tx, studyId)).map((s) => [s.key, s.id]));
  const questionIds = new Map((await loadQuestionnaire(tx, studyId)).map((q) => [q.key, q.id]));
  const rows = cellsFromEntries(entries).map((c) => ({
    segmentId: segmentIds.get(c.segment.trim())!,
    waveId: null,
    questionId: questionIds.get(c.variable.trim())!,
    optionKey: c.level.trim(),
    share: parseShare(c.share)!,
  }));
  await replaceMargins(tx, studyId, [], rows);
}

/** A definition's KPIs (metric and segment checked by studyDefinition) for the new study. */
async function insertDefinedKpis(tx: Executor, studyId: number, list: readonly KpiDefinition[]): Promise<void> {
  const segmentIds = new Map((await listSegments(tx, studyId)).map((s) => [s.key, s.id]));
  await insertKpis(
    tx,
    studyId,
    list.map((k, position) => ({
      position,
      metric: k.metric,
      segmentId: segmentIds.get(k.segment)!,
      kind: k.lift !== undefined ? "lift" : "level",
      target: k.lift ?? k.level!,
      byWave: k.by,
    })),
  );
}

export function createWave(db: Executor, studyId: number, kind: Wave["kind"], label: string, targets?: Record<number, number | null>): Promise<Wave> {
  return insertWave(db, { studyId, kind, label, ...(targets ? { targets } : {}) });
}

/**
 * Opens a wave: one open link per segment is created the first time (reopening keeps them).
 * `acting.at` dates the opening (the demo's waves ran in the past); `acting.systemActor` acts instead of a user.
 */
export function openWave(db: Db, wave: Wave, actorId: number | null, acting: Acting = {}): Promise<Link[]> {
  return unitOfWork(db, async (tx) => {
    if (wave.status !== "open") await setWaveStatus(tx, wave.id, "open", acting.at ?? new Date());
    const result: Link[] = [];
    for (const segment of await listSegments(tx, wave.studyId)) {
      result.push(
        (await findOpenLinkFor(tx, wave.id, segment.id)) ??
          (await insertLink(tx, { token: newLinkToken(), waveId: wave.id, segmentId: segment.id, kind: "open", ...(acting.at ? { createdAt: acting.at } : {}) })),
      );
    }
    await recordAudit(tx, { userId: acting.systemActor ? null : actorId, ...acting, action: "wave.open", entityType: "wave", entityId: wave.id });
    return result;
  });
}

/** Closes a wave at `acting.at` (default now), by the user or `acting.systemActor`. */
export async function closeWave(db: Executor, wave: Wave, actorId: number | null, acting: Acting = {}): Promise<void> {
  await unitOfWork(db, async (tx) => {
    await setWaveStatus(tx, wave.id, "closed", acting.at ?? new Date());
    await recordAudit(tx, { userId: acting.systemActor ? null : actorId, ...acting, action: "wave.close", entityType: "wave", entityId: wave.id });
  });
}

/** Personal links inserted per unit of work: one chunk holds the write lock well under 50 ms (bench/write-locks.ts). */
export const PERSONAL_LINKS_CHUNK = 100;

/** `n` new personal links of a wave's segment (one statement: callers keep `n` to a chunk). */
export function insertPersonalLinks(tx: Executor, waveId: number, segmentId: number, n: number): Promise<Link[]> {
  return insertLinks(tx, Array.from({ length: n }, () => ({ token: newLinkToken(), waveId, segmentId, kind: "personal" as const })));
}

/**
 * Generation stopped after some chunks had committed (the database stayed busy): `created` links
 * exist and the request is answered with this error, so the user never takes part of a batch for
 * all of it.
 */
export class PersonalLinksIncompleteError extends HttpError {
  constructor(
    readonly created: number,
    readonly requested: number,
    override readonly cause: unknown,
  ) {
    super(503, "personal_links_incomplete", "personalLinksIncomplete");
  }
}

/**
 * N single-use links for one segment of a wave, PERSONAL_LINKS_CHUNK per unit of work; `lastChunk`
 * runs inside the last one (the audit entry of the whole batch commits with its last links).
 * The chunks already committed are kept when a later one fails: an unused personal link is inert
 * (it only lets one respondent answer), the wave page counts every link there is, and deleting
 * them again would need the very write lock that was not to be had (and a crash could not undo
 * them anyway). The caller gets PersonalLinksIncompleteError with the count instead.
 */
export async function createPersonalLinks(
  db: Executor,
  waveId: number,
  segmentId: number,
  n: number,
  options: ChunkOptions<number> & { lastChunk?: (tx: Executor) => Promise<void> } = {},
): Promise<Link[]> {
  const created: Link[] = [];
  try {
    await runChunks(
      n,
      (remaining) =>
        unitOfWork(db, async (tx) => {
          const size = Math.min(remaining, PERSONAL_LINKS_CHUNK);
          const links = await insertPersonalLinks(tx, waveId, segmentId, size);
          if (size === remaining) await options.lastChunk?.(tx);
          return { links, next: size === remaining ? null : remaining - size };
        }),
      (step) => created.push(...step.links),
      options,
    );
  } catch (error) {
    if (created.length === 0) throw error;
    throw new PersonalLinksIncompleteError(created.length, n, error);
  }
  return created;
}
