import type { Executor } from "../../db/client.js";
import { listRecentStudyJobs } from "../../db/queries/jobs.js";
import type { Job, JobKind } from "../../db/schema.js";
import type { Translate } from "../i18n/index.js";

/**
 * Background work shown where a researcher started it (the quality and coding pages, the wave
 * page): what is waiting or running, with its progress, and what finished in the last minutes,
 * with its outcome or, for a failed job, that it failed and why, in the reader's language. Never an
 * id. While something is under way the page reloads itself (a meta refresh: no script needed).
 */

/** How long a finished job stays on its page. */
export const RECENT_JOBS_MS = 10 * 60_000;
/** Seconds between reloads of a page with work under way. */
export const JOBS_REFRESH_SECONDS = 3;

export interface JobItem {
  state: "waiting" | "running" | "done" | "failed";
  text: string;
}

export interface JobsPanel {
  items: JobItem[];
  /** Something is waiting or running: the page reloads itself. */
  active: boolean;
}

/** The count a finished job reports, by kind (what its done-message says). */
function outcome(job: Job): number {
  const result = job.cursor ?? {};
  const value = job.kind === "recode" ? result["answers"] : job.kind === "flags" || job.kind === "wave_close" ? result["changed"] : job.kind === "personal_links" ? result["count"] : job.done;
  return typeof value === "number" ? value : job.done;
}

/** Codes a failed job may carry that have a message of their own; any other reads as "internal". */
const KNOWN_ERRORS = new Set(["internal", "interrupted", "unknown_kind"]);

export function jobItem(job: Job, t: Translate, number: (n: number) => string): JobItem {
  switch (job.status) {
    case "queued":
      return { state: "waiting", text: t(`jobs.waiting.${job.kind}`) };
    case "running":
      return job.total === null
        ? { state: "running", text: t(`jobs.runningSoFar.${job.kind}`, { done: number(job.done) }) }
        : { state: "running", text: t(`jobs.running.${job.kind}`, { done: number(job.done), total: number(job.total) }) };
    case "done":
      return { state: "done", text: t(`jobs.done.${job.kind}`, { count: outcome(job), n: number(outcome(job)) }) };
    case "failed": {
      const code = job.error && KNOWN_ERRORS.has(job.error) ? job.error : "internal";
      return { state: "failed", text: `${t(`jobs.failed.${job.kind}`)} ${t(`jobs.errors.${code}`)}` };
    }
  }
}

/** The panel of a study's jobs of these kinds (optionally only those `which` keeps). */
export async function jobsPanel(
  db: Executor,
  studyId: number,
  kinds: readonly JobKind[],
  t: Translate,
  number: (n: number) => string,
  which: (job: Job) => boolean = () => true,
  now = new Date(),
): Promise<JobsPanel> {
  const jobs = (await listRecentStudyJobs(db, studyId, kinds, new Date(now.getTime() - RECENT_JOBS_MS))).filter(which);
  return { items: jobs.map((j) => jobItem(j, t, number)), active: jobs.some((j) => j.status === "queued" || j.status === "running") };
}
