import type { Db } from "../../db/client.js";
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
}

export type JobStep = (db: Db, job: Job) => Promise<StepResult>;

export type JobHandlers = Partial<Record<JobKind, JobStep>>;
