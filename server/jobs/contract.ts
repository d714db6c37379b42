import type { Db, Executor } from "../../db/client.js";
import type { Job, JobKind } from "../../db/schema.js";

/**
 * What a kind of background job does, as the runner (server/jobs/runner.ts) drives it: one
 * bounded step at a time (~20 ms of event loop and of any write lock), the cursor it returns saved
 * with the job after every step, so a crash or a restart resumes from the last saved cursor.
 * A step must therefore be idempotent for the cursor it is given.
 */
export interface StepResult {
  /** Where the next step starts; null when the job is finished. */
  cursor: Record<string, unknown> | null;
  /** Units done so far and in all (progress shown to researchers); total null while unknown. */
  done: number;
  total: number | null;
  /** When finished: what the job did (counts shown to researchers), kept in the job's cursor column. */
  result?: Record<string, unknown>;
}

/**
 * What the runner lends a step. A step that writes saves its result with `save` inside its own
 * unit of work, after its writes: the chunk and the cursor past it commit together, and a runner
 * that has lost its lease meanwhile (another took the job over) rolls the chunk back. A step that
 * does not call it is saved by the runner after it returns (fine for reads and idempotent writes).
 */
export interface StepContext {
  save(tx: Executor, result: StepResult): Promise<void>;
}

export type JobStep = (db: Db, job: Job, run: StepContext) => Promise<StepResult>;

export type JobHandlers = Partial<Record<JobKind, JobStep>>;

/** A job's cursor as a step reads it: null before the first step. */
export function cursorOf<T extends object>(job: Pick<Job, "cursor">): Partial<T> {
  return (job.cursor ?? {}) as Partial<T>;
}
