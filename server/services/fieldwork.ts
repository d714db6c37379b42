import { z } from "zod";
import { isPostgres, unitOfWork, type Db, type Executor } from "../../db/client.js";
import { recordAudit } from "../../db/queries/audit.js";
import {
  countPersonalLinks,
  findLink,
  listOpenLinks,
  listWaves,
  listWaveSegments,
  setLinkDisabledAt,
  setWaveSegment,
  updateLinkSettings,
  waveProgress,
  type LinkSettings,
} from "../../db/queries/fieldwork.js";
import { loadQuestionnaire } from "../../db/queries/questionnaire.js";
import { findStudyJobs } from "../../db/queries/jobs.js";
import { findStudy, listSegments } from "../../db/queries/studies.js";
import { WAVE_KINDS, type Job, type Link, type Locale, type Segment, type Wave } from "../../db/schema.js";
import { SIGNATURE_PARAM } from "../domain/pass-through.js";
import { nextMonthLabel } from "../domain/periods.js";
import { translator } from "../i18n/index.js";
import { HttpError, NotFoundError } from "../errors.js";
import { cursorOf, type JobStep, type StepResult } from "../jobs/contract.js";
import { enqueueJob, nudgeJobs } from "../jobs/queue.js";
import { nextChunkSize, type ChunkOptions, type Chunking } from "./chunks.js";
import { closeWave, createPersonalLinks, createWave, insertPersonalLinks, openWave, PersonalLinksIncompleteError } from "./study-setup.js";

/** Fieldwork: waves, their targets and audience sizes, links and their settings, progress. */

export const MAX_PERSONAL_LINKS = 10_000;

const count = z.number().int().min(0).max(100_000_000);
export const waveInput = z
  .object({
    kind: z.enum(WAVE_KINDS),
    label: z.string().trim().min(1).max(100).optional(),
    /** Completes wanted per segment key. */
    targets: z.record(z.string(), count.nullable()).optional(),
    /** Audience size per segment key (for "lifted users"). */
    audience: z.record(z.string(), count.nullable()).optional(),
  })
  .strict();
export type WaveInput = z.infer<typeof waveInput>;

const httpUrlTemplate = z
  .string()
  .trim()
  .max(2000)
  .refine((u) => {
    try {
      const url = new URL(u.replace(/\{[a-z0-9_]+\}/g, "x"));
      return url.protocol === "https:" || url.protocol === "http:";
    } catch {
      return false;
    }
  }, "must be an http(s) address; {rid} is replaced by the respondent id");
const paramName = z.string().trim().regex(/^[a-z][a-z0-9_]{0,40}$/, "parameter names are lower-case letters, digits and _");

export const linkSettingsInput = z
  .object({
    sourceLabel: z.string().trim().max(200).nullable().optional(),
    redirectComplete: httpUrlTemplate.nullable().optional(),
    redirectScreenout: httpUrlTemplate.nullable().optional(),
    redirectQuotaFull: httpUrlTemplate.nullable().optional(),
    redirectQualityFail: httpUrlTemplate.nullable().optional(),
    passParams: z.array(paramName).max(20).nullable().optional(),
    signedParams: z
      .array(paramName.refine((n) => n !== SIGNATURE_PARAM, `"${SIGNATURE_PARAM}" carries the signature and cannot be signed`))
      .max(20)
      .nullable()
      .optional(),
    /** Refuse the link (403) unless every signed parameter comes, once, with a valid `sig`. */
    requireSignature: z.boolean().optional(),
  })
  .strict();
export type LinkSettingsInput = z.infer<typeof linkSettingsInput>;

/** "Require signed parameters" on a link that names none to sign. */
export class SignatureWithoutParamsError extends HttpError {
  constructor() {
    super(422, "signature_without_params", "validation");
  }
}

export class UnknownSegmentError extends HttpError {
  constructor(key: string) {
    super(422, "unknown_segment", "validation", { segment: key });
  }
}

/** A value of a JSON object by key, never one inherited from Object.prototype ("constructor"). */
function own<T>(record: Record<string, T> | undefined, key: string): T | undefined {
  return record && Object.hasOwn(record, key) ? record[key] : undefined;
}

function segmentByKey(segments: readonly Segment[], key: string): Segment {
  const s = segments.find((x) => x.key === key);
  if (!s) throw new UnknownSegmentError(key);
  return s;
}

/**
 * The name of a wave nobody named: a tracking wave is the next month (one wave a month by
 * default), any other its kind, numbered from the second ("До кампании 2"), never a bare "Pre".
 */
export async function defaultWaveLabel(db: Executor, studyId: number, waves: readonly Wave[], kind: Wave["kind"], locale: Locale): Promise<string> {
  if (kind === "tracking") return nextMonthLabel(waves, locale, (await findStudy(db, studyId))?.timeZone ?? null);
  const existing = waves.filter((w) => w.kind === kind).length;
  return `${translator(locale)(`study.defaultLabels.${kind}`)}${existing ? ` ${existing + 1}` : ""}`;
}

/**
 * Adds a wave after the study's last one, with targets and audience sizes per segment key.
 * Without a label typed, it is named by defaultWaveLabel in `locale` (the researcher's language;
 * the study's default through the API).
 */
export async function addWave(db: Db, studyId: number, input: WaveInput, actorId: number, locale: Locale): Promise<Wave> {
  const segments = await listSegments(db, studyId);
  const keys = new Set([...Object.keys(input.targets ?? {}), ...Object.keys(input.audience ?? {})]);
  for (const key of keys) segmentByKey(segments, key);
  return unitOfWork(db, async (tx) => {
    const waves = await listWaves(tx, studyId);
    const label = input.label ?? (await defaultWaveLabel(tx, studyId, waves, input.kind, locale));
    const wave = await createWave(tx, studyId, input.kind, label);
    for (const s of segments) {
      const target = own(input.targets, s.key) ?? null;
      const audienceSize = own(input.audience, s.key) ?? null;
      if (target !== null || audienceSize !== null) await setWaveSegment(tx, wave.id, s.id, { target, audienceSize });
    }
    await recordAudit(tx, { userId: actorId, action: "wave.create", entityType: "wave", entityId: wave.id, details: { studyId, kind: input.kind, label } });
    return wave;
  });
}

export async function setWaveTargets(db: Db, wave: Wave, input: Pick<WaveInput, "targets" | "audience">, actorId: number): Promise<void> {
  const segments = await listSegments(db, wave.studyId);
  await unitOfWork(db, async (tx) => {
    const current = new Map((await listWaveSegments(tx, wave.id)).map((r) => [r.segmentId, r]));
    for (const s of segments) {
      const before = current.get(s.id);
      const target = input.targets && Object.hasOwn(input.targets, s.key) ? (own(input.targets, s.key) ?? null) : (before?.target ?? null);
      const audienceSize =
        input.audience && Object.hasOwn(input.audience, s.key) ? (own(input.audience, s.key) ?? null) : (before?.audienceSize ?? null);
      await setWaveSegment(tx, wave.id, s.id, { target, audienceSize });
    }
    await recordAudit(tx, { userId: actorId, action: "wave.targets", entityType: "wave", entityId: wave.id, details: input });
  });
}

export class EmptyQuestionnaireError extends HttpError {
  constructor() {
    super(409, "empty_questionnaire", "emptyQuestionnaire");
  }
}

export class WaveNotOpenError extends HttpError {
  constructor() {
    super(409, "wave_not_open", "waveNotOpen");
  }
}

/** Opens a wave (again): refused while the questionnaire is empty; an open wave keeps its opening time. */
export async function open(db: Db, wave: Wave, actorId: number): Promise<Link[]> {
  if ((await loadQuestionnaire(db, wave.studyId)).length === 0) throw new EmptyQuestionnaireError();
  return openWave(db, wave, actorId);
}

/**
 * Closes an open wave, and queues in the same transaction the recompute of the study's flags
 * (the "wave_close" job): speeders are judged against each wave's median, final now.
 */
export async function close(db: Db, wave: Wave, actorId: number): Promise<void> {
  if (wave.status !== "open") throw new WaveNotOpenError();
  await unitOfWork(db, async (tx) => {
    const study = await findStudy(tx, wave.studyId);
    await closeWave(tx, wave, actorId);
    if (study) await enqueueJob(tx, { teamId: study.teamId, studyId: study.id, kind: "wave_close", params: { waveId: wave.id }, createdBy: actorId });
  });
  nudgeJobs();
}

export async function saveLinkSettings(db: Db, link: Link, input: LinkSettingsInput, actorId: number): Promise<void> {
  const settings: LinkSettings = {
    sourceLabel: input.sourceLabel === undefined ? link.sourceLabel : input.sourceLabel || null,
    redirectComplete: input.redirectComplete === undefined ? link.redirectComplete : input.redirectComplete || null,
    redirectScreenout: input.redirectScreenout === undefined ? link.redirectScreenout : input.redirectScreenout || null,
    redirectQuotaFull: input.redirectQuotaFull === undefined ? link.redirectQuotaFull : input.redirectQuotaFull || null,
    redirectQualityFail: input.redirectQualityFail === undefined ? link.redirectQualityFail : input.redirectQualityFail || null,
    passParams: input.passParams === undefined ? link.passParams : input.passParams?.length ? input.passParams : null,
    signedParams: input.signedParams === undefined ? link.signedParams : input.signedParams?.length ? input.signedParams : null,
    requireSignature: input.requireSignature ?? link.requireSignature,
  };
  // Requiring a signature over nothing would let every visit through while looking protected.
  if (settings.requireSignature && !settings.signedParams?.length) throw new SignatureWithoutParamsError();
  await unitOfWork(db, async (tx) => {
    await updateLinkSettings(tx, link.id, settings);
    await recordAudit(tx, { userId: actorId, action: "link.settings", entityType: "link", entityId: link.id, details: settings });
  });
}

/**
 * Stops a link (a leaked or misused one: its respondents get "not found", answers already given
 * stay) or lets it answer again. False when it already is so.
 */
export async function setLinkDisabled(db: Db, link: Link, disabled: boolean, actorId: number): Promise<boolean> {
  if (Boolean(link.disabledAt) === disabled) return false;
  await unitOfWork(db, async (tx) => {
    await setLinkDisabledAt(tx, link.id, disabled ? new Date() : null);
    await recordAudit(tx, { userId: actorId, action: disabled ? "link.disable" : "link.enable", entityType: "link", entityId: link.id });
  });
  return true;
}

function checkPersonalLinkCount(n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > MAX_PERSONAL_LINKS) {
    throw new HttpError(422, "invalid_count", "validation", { count: `1..${MAX_PERSONAL_LINKS}` });
  }
}

const recordPersonalLinks = (tx: Executor, actorId: number | null, waveId: number, segmentKey: string, count: number, requested?: number) =>
  recordAudit(tx, {
    userId: actorId,
    ...(actorId === null ? { systemActor: "system" as const } : {}),
    action: "link.personal",
    entityType: "wave",
    entityId: waveId,
    details: { segment: segmentKey, count, ...(requested ? { requested } : {}) },
  });

/**
 * N personal links made at once, committed in chunks (createPersonalLinks) with the audit entry in
 * the last: the API, whose caller gets the links in its answer. Stopped part-way, the request
 * fails with PersonalLinksIncompleteError (a 503 saying so) and the links made so far are audited
 * with their own count, when the database allows it by then. The researcher pages queue a job
 * instead (queuePersonalLinks).
 */
export async function addPersonalLinks(db: Db, wave: Wave, segmentKey: string, n: number, actorId: number, options: ChunkOptions<number> = {}): Promise<Link[]> {
  checkPersonalLinkCount(n);
  const segment = segmentByKey(await listSegments(db, wave.studyId), segmentKey);
  try {
    return await createPersonalLinks(db, wave.id, segment.id, n, { ...options, lastChunk: (tx) => recordPersonalLinks(tx, actorId, wave.id, segmentKey, n) });
  } catch (error) {
    if (error instanceof PersonalLinksIncompleteError) {
      try {
        await recordPersonalLinks(db, actorId, wave.id, segmentKey, error.created, n);
      } catch {
        // Still busy: the links stay unaudited; the user is told about them all the same.
      }
    }
    throw error;
  }
}

/** What a "personal_links" job makes. */
interface PersonalLinksParams {
  waveId: number;
  segmentId: number;
  segment: string;
  count: number;
}

/**
 * Queues N personal links for a segment of the wave (the "personal_links" job); refused at once
 * (422) for a count outside 1..MAX_PERSONAL_LINKS or an unknown segment.
 */
export async function queuePersonalLinks(db: Db, wave: Wave, segmentKey: string, n: number, actorId: number): Promise<Job> {
  checkPersonalLinkCount(n);
  const segment = segmentByKey(await listSegments(db, wave.studyId), segmentKey);
  const study = await findStudy(db, wave.studyId);
  if (!study) throw new NotFoundError();
  const params: PersonalLinksParams = { waveId: wave.id, segmentId: segment.id, segment: segment.key, count: n };
  const job = await unitOfWork(db, (tx) => enqueueJob(tx, { teamId: study.teamId, studyId: study.id, kind: "personal_links", params: { ...params }, createdBy: actorId }));
  nudgeJobs();
  return job;
}

/** The wave's personal links are still being made: its list, downloaded now, would be part of them. */
export class PersonalLinksInProgressError extends HttpError {
  constructor() {
    super(409, "personal_links_in_progress", "personalLinksInProgress");
  }
}

/** Whether a personal-links job of this wave is waiting or running (its list is not whole yet). */
export async function personalLinksBeingMade(db: Db, wave: Wave): Promise<boolean> {
  const pending = await findStudyJobs(db, wave.studyId, "personal_links", ["queued", "running"]);
  return pending.some((job) => job.params?.["waveId"] === wave.id);
}

/**
 * Personal links made per step of a job. On SQLite (a synchronous driver) a step's insert is one
 * task on the event loop that serves respondents, so its size follows the time the last step took
 * rather than a count (100 links took up to 53 ms on a loaded machine, bench/heavy-pages.ts); the
 * job's cursor carries it. On PostgreSQL the insert waits off the loop: the steps grow to `max`.
 */
export const PERSONAL_LINKS_CHUNKING: Chunking = { first: 100, min: 20, max: 500, budgetMs: 15 };

/**
 * One step of a "personal_links" job: a chunk of links (sized by time, PERSONAL_LINKS_CHUNKING)
 * and the job's cursor in one unit of work, so a crash never makes a chunk twice; the audit entry
 * of the whole batch commits with the last links. The links are listed, and downloaded, on the
 * wave page. `now`: the clock a step's hold is measured by (tests inject one).
 */
export const personalLinksJobStep = (chunking: Chunking = PERSONAL_LINKS_CHUNKING, now: () => number = () => performance.now()): JobStep => async (db, job, run) => {
  const p = job.params as unknown as PersonalLinksParams;
  const cursor = cursorOf<{ made: number; size: number }>(job);
  const made = cursor.made ?? 0;
  const chunk = cursor.size ?? chunking.first;
  return unitOfWork(db, async (tx) => {
    const from = now();
    const size = Math.min(chunk, p.count - made);
    await insertPersonalLinks(tx, p.waveId, p.segmentId, size);
    const heldMs = isPostgres(db) ? 0 : now() - from;
    const done = made + size;
    const finished = done >= p.count;
    if (finished) await recordPersonalLinks(tx, job.createdBy, p.waveId, p.segment, p.count);
    const result: StepResult = finished
      ? { cursor: null, done, total: p.count, result: { count: done } }
      : { cursor: { made: done, size: nextChunkSize(chunk, heldMs, chunking) }, done, total: p.count };
    await run.save(tx, result);
    return result;
  });
};

export function linkUrl(baseUrl: string, token: string): string {
  return `${baseUrl}/s/${token}`;
}

export async function findLinkOfWave(db: Db, wave: Wave, linkId: number): Promise<Link> {
  const link = await findLink(db, linkId);
  if (!link || link.waveId !== wave.id) throw new NotFoundError();
  return link;
}

export interface SegmentStatus {
  segment: Segment;
  link: (Link & { url: string }) | null;
  target: number | null;
  audienceSize: number | null;
  completed: number;
  partial: number;
  excluded: number;
  /** completed / target, 0..1 (may pass 1); null without a target. */
  progress: number | null;
  medianDurationMs: number | null;
  lastCompletedAt: Date | null;
  personalLinks: { total: number; used: number };
}

/** Everything the wave page and the progress API show, per segment. */
export async function waveStatus(db: Db, wave: Wave, baseUrl: string): Promise<SegmentStatus[]> {
  const segments = await listSegments(db, wave.studyId);
  const settings = new Map((await listWaveSegments(db, wave.id)).map((r) => [r.segmentId, r]));
  const progress = new Map((await waveProgress(db, wave.id)).map((p) => [p.segmentId, p]));
  const links = new Map((await listOpenLinks(db, wave.id)).map((l) => [l.segmentId, l]));
  const personal = new Map((await countPersonalLinks(db, wave.id)).map((p) => [p.segmentId, p]));
  return segments.map((segment) => {
    const p = progress.get(segment.id);
    const target = settings.get(segment.id)?.target ?? null;
    const link = links.get(segment.id);
    const completed = p?.completed ?? 0;
    return {
      segment,
      link: link ? { ...link, url: linkUrl(baseUrl, link.token) } : null,
      target,
      audienceSize: settings.get(segment.id)?.audienceSize ?? null,
      completed,
      partial: p?.partial ?? 0,
      excluded: p?.excluded ?? 0,
      progress: target ? completed / target : null,
      medianDurationMs: p?.medianDurationMs ?? null,
      lastCompletedAt: p?.lastCompletedAt ?? null,
      personalLinks: { total: personal.get(segment.id)?.total ?? 0, used: personal.get(segment.id)?.used ?? 0 },
    };
  });
}

/** Per-segment progress as JSON (the wave page's poller and the API share it); dates as ISO strings. */
export function progressJson(statuses: readonly SegmentStatus[]) {
  return statuses.map((s) => ({
    segment: s.segment.key,
    target: s.target,
    completed: s.completed,
    partial: s.partial,
    excluded: s.excluded,
    progress: s.progress,
    medianDurationMs: s.medianDurationMs,
    lastCompletedAt: s.lastCompletedAt?.toISOString() ?? null,
  }));
}
