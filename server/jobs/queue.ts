import { isDeepStrictEqual } from "node:util";
import { unitOfWork, type Executor } from "../../db/client.js";
import { findLatestStudyJob, findStudyJobs, insertJob, requeueJob } from "../../db/queries/jobs.js";
import type { Job, JobKind } from "../../db/schema.js";

/** What a change asks to be done in the background. */
export interface JobSpec {
  teamId: number;
  studyId: number | null;
  kind: JobKind;
  params?: Record<string, unknown> | null;
  createdBy?: number | null;
}

/**
 * Kinds whose work reads everything it needs when it runs: a queued job that has not started yet
 * does what a second one would, so asking twice reuses it (with equal params).
 */
const COALESCED: ReadonlySet<JobKind> = new Set(["recode", "flags", "wave_close"]);

/**
 * Queues a job in the caller's unit of work (`tx`), so it exists exactly when the change that
 * needs it commits; call `nudgeJobs()` after the commit for this process's runner to start at
 * once (other instances poll). Coalesced kinds reuse an equal job still waiting to start.
 * "response_checks" keeps one row per study, queued again once it has finished: the responses
 * waiting for checks are found by their own column, not by the job.
 */
export async function enqueueJob(tx: Executor, spec: JobSpec, now = new Date()): Promise<Job> {
  const params = spec.params ?? null;
  if (spec.studyId !== null && spec.kind === "response_checks") {
    const latest = await findLatestStudyJob(tx, spec.studyId, spec.kind);
    if (latest && (latest.status === "queued" || latest.status === "running")) return latest;
    if (latest) return requeueJob(tx, latest.id, now);
  } else if (spec.studyId !== null && COALESCED.has(spec.kind)) {
    const waiting = (await findStudyJobs(tx, spec.studyId, spec.kind, ["queued"])).find((j) => isDeepStrictEqual(j.params ?? null, params));
    if (waiting) return waiting;
  }
  return insertJob(tx, { teamId: spec.teamId, studyId: spec.studyId, kind: spec.kind, params, createdBy: spec.createdBy ?? null }, now);
}

/** Queues one job on its own (nothing else changes with it) and wakes this process's runner. */
export async function startJob(db: Executor, spec: JobSpec): Promise<Job> {
  const job = await unitOfWork(db, (tx) => enqueueJob(tx, spec));
  nudgeJobs();
  return job;
}

const listeners = new Set<() => void>();

/**
 * Tells this process's runners that work was queued (after the commit): they look at once instead
 * of at their next poll. Runners of other instances find it by polling.
 */
export function nudgeJobs(): void {
  for (const listener of listeners) listener();
}

/** A runner listens for nudges while started; returns the function that stops listening. */
export function onNudge(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}
