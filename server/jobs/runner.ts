import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { DatabaseBusy, unitOfWork, type Db, type Executor } from "../../db/client.js";
import { claimNextJob, failJob, findLatestStudyJob, hasClaimableJob, releaseJob, saveJobStep, studiesWithUncheckedResponses } from "../../db/queries/jobs.js";
import type { Job } from "../../db/schema.js";
import { HttpError } from "../errors.js";
import { logger } from "../logger.js";
import type { RespondentTraffic } from "../respondent-traffic.js";
import type { JobHandlers, StepContext, StepResult } from "./contract.js";
import { JOB_HANDLERS } from "./kinds.js";
import { enqueueJob, onNudge } from "./queue.js";

export interface RunnerOptions {
  handlers?: JobHandlers;
  /** Who holds a lease (unique per runner: host, process, random). */
  owner?: string;
  /** How long a claimed job stays this runner's without a step saved; renewed by every step. */
  leaseMs?: number;
  /** How often a started runner looks for work without being nudged (another instance may have queued it). */
  pollMs?: number;
  /** After this long on one job, the runner gives it back if another waits, so one long job does not hold up the rest. */
  sliceMs?: number;
  /** Claims (crashes included) and failed steps a job gets before it is given up as failed. */
  maxAttempts?: number;
  /** Whether the runner queues the response checks of studies with unchecked responses (on by default). */
  checkResponses?: boolean;
  now?: () => Date;
  /**
   * Respondent requests to give way to (main.ts: this process's, server/respondent-traffic.ts):
   * no step starts while one is in flight, and while respondents are about each step is followed
   * by a rest as long as it took. Without it (tests, scripts) steps run back to back.
   */
  respondents?: RespondentTraffic;
  /** The longest the runner waits for respondents before a step (and rests after one): jobs go on under any traffic. */
  respondentWaitMs?: number;
  /** After each saved step but the last, with every lock free (tests pause, write or "crash" here). */
  afterStep?: (job: Job) => Promise<void> | void;
}

export const DEFAULT_LEASE_MS = 30_000;
export const DEFAULT_POLL_MS = 1_000;
export const DEFAULT_SLICE_MS = 1_000;
export const DEFAULT_MAX_ATTEMPTS = 3;
export const DEFAULT_RESPONDENT_WAIT_MS = 500;
/**
 * Respondents count as about for this long after their last request: between two page
 * submissions of a steady stream the runner still rests after each step (half the event loop and
 * of the database left to them), and on a server without respondents it runs at full pace.
 */
const RESPONDENTS_ABOUT_MS = 2_000;
/**
 * A step that wrote nothing (it did not save itself) is saved by the runner at most this often:
 * run again after a crash it gives the same result, and each save is a commit (on SQLite a sync).
 */
const SAVE_QUIET_STEPS_MS = 1_000;
/** A study whose response checks failed is not queued again for this long (its error stays visible). */
const FAILED_CHECKS_PAUSE_MS = 10 * 60_000;
/** Jobs runUntilIdle runs at most: more means work that never ends (a bug), not a busy test. */
const IDLE_GUARD = 10_000;

/** The step was saved by a runner that no longer holds the job's lease: its unit of work rolls back. */
export class LeaseLostError extends Error {
  constructor(readonly jobId: number) {
    super(`job ${jobId}: the lease was lost to another runner`);
    this.name = "LeaseLostError";
  }
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** The stable code of why a step failed, shown to researchers in their language. */
function errorCode(error: unknown): string {
  return error instanceof HttpError ? error.code : "internal";
}

/**
 * Runs background jobs one at a time: claims the longest-waiting job under a lease, runs its
 * kind's step again and again (each saved with the cursor and a renewed lease, the event loop
 * given back in between), and marks it done or, after `maxAttempts`, failed. `start()` polls and
 * listens for nudges (main.ts); `runOnce()` and `runUntilIdle()` run without any timer (tests,
 * benchmarks). Several runners, in one process or many, may share a database: a lease lets one of
 * them work on a job at a time, and an expired lease (a crashed runner) is taken over from the
 * last saved cursor.
 */
export class JobRunner {
  readonly owner: string;
  private readonly handlers: JobHandlers;
  private readonly leaseMs: number;
  private readonly pollMs: number;
  private readonly sliceMs: number;
  private readonly maxAttempts: number;
  private readonly respondentWaitMs: number;
  private readonly now: () => Date;
  private started = false;
  private stopping = false;
  private wanted = false;
  private timer: NodeJS.Timeout | undefined;
  private loop: Promise<void> | undefined;
  private unlisten: (() => void) | undefined;

  constructor(
    private readonly db: Db,
    private readonly options: RunnerOptions = {},
  ) {
    this.owner = options.owner ?? `${hostname()}:${process.pid}:${randomBytes(4).toString("hex")}`;
    this.handlers = options.handlers ?? JOB_HANDLERS;
    this.leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    this.pollMs = options.pollMs ?? DEFAULT_POLL_MS;
    this.sliceMs = options.sliceMs ?? DEFAULT_SLICE_MS;
    this.maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
    this.respondentWaitMs = options.respondentWaitMs ?? DEFAULT_RESPONDENT_WAIT_MS;
    this.now = options.now ?? (() => new Date());
  }

  /** Starts polling and listening for nudges; returns the runner. */
  start(): this {
    if (this.started) return this;
    this.started = true;
    this.unlisten = onNudge(() => this.nudge());
    this.kick();
    return this;
  }

  /** Work was queued in this process: look now (or right after the job in hand). */
  nudge(): void {
    if (!this.started || this.stopping) return;
    this.wanted = true;
    if (!this.loop) {
      clearTimeout(this.timer);
      this.kick();
    }
  }

  /**
   * Stops polling and waits for the step in hand; the job it was on is given back (not counted as
   * an attempt), so the next runner resumes it at once from its saved cursor.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.timer);
    this.unlisten?.();
    await this.loop;
  }

  private kick(): void {
    this.loop = this.drain()
      .catch((error: unknown) => logger.error("background jobs: the runner failed; it polls again", error))
      .finally(() => {
        this.loop = undefined;
        if (this.stopping) return;
        this.timer = setTimeout(() => this.kick(), this.wanted ? 0 : this.pollMs);
        // The schedule alone never keeps the process alive (main.ts closes the server and exits).
        this.timer.unref();
      });
  }

  private async drain(): Promise<void> {
    do {
      this.wanted = false;
      while (!this.stopping && (await this.runOnce())) await yieldToEventLoop();
    } while (this.wanted && !this.stopping);
  }

  /** Claims one job and works on it until it is finished, fails, or its slice ends; false when nothing waits. */
  async runOnce(): Promise<boolean> {
    await this.giveWay(0);
    let job = await this.claim();
    if (!job && this.options.checkResponses !== false && (await this.queueResponseChecks())) job = await this.claim();
    if (!job) return false;
    await this.work(job);
    return true;
  }

  /** Runs jobs until none waits and no response waits for its checks; returns how many claims it made. */
  async runUntilIdle(): Promise<number> {
    let claims = 0;
    while (await this.runOnce()) {
      if (++claims > IDLE_GUARD) throw new Error(`runUntilIdle: still busy after ${IDLE_GUARD} jobs`);
    }
    return claims;
  }

  private async claim(): Promise<Job | undefined> {
    const now = this.now();
    // A read first: an idle runner polling every second takes no write lock.
    if (!(await hasClaimableJob(this.db, now))) return undefined;
    return unitOfWork(this.db, (tx) => claimNextJob(tx, this.owner, now, this.leaseUntil(now)));
  }

  private leaseUntil(now: Date): Date {
    return new Date(now.getTime() + this.leaseMs);
  }

  /**
   * Queues the checks of studies whose responses wait for them (found by the responses' own
   * column, so a crash loses none), unless a runner is on them already or they failed just now.
   */
  private async queueResponseChecks(): Promise<boolean> {
    const now = this.now();
    let queued = false;
    for (const { studyId, teamId } of await studiesWithUncheckedResponses(this.db)) {
      const latest = await findLatestStudyJob(this.db, studyId, "response_checks");
      if (latest && (latest.status === "queued" || latest.status === "running")) continue;
      if (latest?.status === "failed" && latest.finishedAt && now.getTime() - latest.finishedAt.getTime() < FAILED_CHECKS_PAUSE_MS) continue;
      await unitOfWork(this.db, (tx) => enqueueJob(tx, { teamId, studyId, kind: "response_checks" }, now));
      queued = true;
    }
    return queued;
  }

  private async work(claimed: Job): Promise<void> {
    let job = claimed;
    if (job.attempts > this.maxAttempts) {
      // Claimed again and again without finishing: its runners stopped or crashed each time.
      await unitOfWork(this.db, (tx) => failJob(tx, job.id, this.owner, "interrupted", this.now()));
      logger.warn("background job given up after repeated interruptions", { job: job.id, kind: job.kind, attempts: job.attempts });
      return;
    }
    const handler = this.handlers[job.kind];
    if (!handler) {
      await unitOfWork(this.db, (tx) => failJob(tx, job.id, this.owner, "unknown_kind", this.now()));
      return;
    }
    const sliceEnd = performance.now() + this.sliceMs;
    let savedAt = performance.now();
    /** A step's result not saved yet (a quiet step, see SAVE_QUIET_STEPS_MS). */
    let unsaved = false;
    /** How long the last step took (its save included): the rest it is owed while respondents are about. */
    let stepMs = 0;
    for (;;) {
      if (this.stopping) {
        await this.giveBack(job, unsaved);
        return;
      }
      const saved = { done: false };
      const run: StepContext = {
        save: async (tx, result) => {
          await this.save(tx, job, result);
          saved.done = true;
        },
      };
      let result: StepResult;
      await this.giveWay(stepMs);
      const began = performance.now();
      try {
        result = await handler(this.db, job, run);
        const due = result.cursor === null || performance.now() - savedAt >= SAVE_QUIET_STEPS_MS;
        if (!saved.done && due) await unitOfWork(this.db, (tx) => run.save(tx, result));
        if (saved.done) savedAt = performance.now();
        unsaved = !saved.done;
        stepMs = performance.now() - began;
      } catch (error) {
        await this.stepFailed(job, error);
        return;
      }
      const finished = result.cursor === null;
      job = { ...job, cursor: finished ? (result.result ?? null) : result.cursor, done: result.done, total: result.total, status: finished ? "done" : "running" };
      if (finished) return;
      await this.options.afterStep?.(job);
      await yieldToEventLoop();
      if (performance.now() > sliceEnd && (await hasClaimableJob(this.db, this.now(), job.id))) {
        await this.giveBack(job, unsaved);
        return;
      }
    }
  }

  /**
   * Respondents first: after a step of `stepMs` while respondents are about, rests as long (a duty
   * cycle of at most one half, which leaves the event loop and the database to them), then waits
   * until none of their requests is in flight. Each wait is bounded by respondentWaitMs, so a steady
   * stream of respondents slows the jobs down but never stops them.
   */
  private async giveWay(stepMs: number): Promise<void> {
    const respondents = this.options.respondents;
    if (!respondents) return;
    if (stepMs > 0 && respondents.recent(RESPONDENTS_ABOUT_MS)) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(stepMs, this.respondentWaitMs)));
    }
    await respondents.quiet(this.respondentWaitMs);
  }

  /** The step's result with the job, in the step's unit of work, while this runner holds the lease. */
  private async save(tx: Executor, job: Job, result: StepResult): Promise<void> {
    const now = this.now();
    const finished = result.cursor === null;
    const ok = await saveJobStep(tx, job.id, this.owner, {
      cursor: finished ? (result.result ?? null) : result.cursor,
      done: result.done,
      total: result.total,
      status: finished ? "done" : "running",
      leaseOwner: finished ? null : this.owner,
      leaseUntil: finished ? null : this.leaseUntil(now),
      finishedAt: finished ? now : null,
      updatedAt: now,
      // A step that failed before and has now gone through leaves no error behind.
      error: null,
    });
    if (!ok) throw new LeaseLostError(job.id);
  }

  private async stepFailed(job: Job, error: unknown): Promise<void> {
    if (error instanceof LeaseLostError) {
      logger.warn("background job taken over by another runner", { job: job.id, kind: job.kind });
      return;
    }
    const now = this.now();
    if (error instanceof DatabaseBusy) {
      // Not the job's fault: again in a moment, without counting an attempt.
      await this.release(job, { retryAt: new Date(now.getTime() + 1_000), countAttempt: false });
      return;
    }
    logger.error("background job step failed", error, { job: job.id, kind: job.kind, attempt: job.attempts });
    try {
      if (job.attempts >= this.maxAttempts) {
        await unitOfWork(this.db, (tx) => failJob(tx, job.id, this.owner, errorCode(error), now));
      } else {
        // Retried from its last saved cursor after a pause that grows with each attempt.
        await this.release(job, { retryAt: new Date(now.getTime() + 5_000 * job.attempts), countAttempt: true, error: errorCode(error) });
      }
    } catch (writeError) {
      logger.error("background job: could not record a failed step", writeError, { job: job.id });
    }
  }

  /** Hands a job back before its end (stopping, or another job's turn), with the cursor it reached. */
  private async giveBack(job: Job, unsaved: boolean): Promise<void> {
    await unitOfWork(this.db, async (tx) => {
      if (unsaved) await this.save(tx, job, { cursor: job.cursor, done: job.done, total: job.total });
      await releaseJob(tx, job.id, this.owner, { retryAt: null, countAttempt: false, now: this.now() });
    });
  }

  private async release(job: Job, how: { retryAt: Date | null; countAttempt: boolean; error?: string }): Promise<void> {
    await unitOfWork(this.db, (tx) => releaseJob(tx, job.id, this.owner, { ...how, now: this.now() }));
  }
}

/** Runs every queued job (and the checks of unchecked responses) to the end, without timers: tests and scripts. */
export function runJobsUntilIdle(db: Db, options: RunnerOptions = {}): Promise<number> {
  return new JobRunner(db, options).runUntilIdle();
}
