import type { RequestHandler } from "express";

/**
 * Respondent requests (the survey pages: server/routes/respond.ts) in flight in this process, so
 * that background work can give way to them (server/jobs/runner.ts waits before each step).
 *
 * Per process: with several instances behind a load balancer each one counts only its own
 * respondents, and its runner gives way only to them. That is what matters for the event loop (a
 * runner's steps run on the loop of its own process); the database they share is not covered: an
 * instance with no respondents of its own runs its jobs at full pace while others serve theirs.
 */
export class RespondentTraffic {
  private inFlight = 0;
  private lastSeen = Number.NEGATIVE_INFINITY;
  private waiters: Array<() => void> = [];

  constructor(private readonly clock: () => number = () => performance.now()) {}

  /** A respondent request started; the returned function ends it (once, however often it is called). */
  enter(): () => void {
    this.inFlight++;
    this.lastSeen = this.clock();
    let left = false;
    return () => {
      if (left) return;
      left = true;
      this.inFlight--;
      this.lastSeen = this.clock();
      if (this.inFlight === 0) this.wakeAll();
    };
  }

  /** Respondent requests being served now. */
  get count(): number {
    return this.inFlight;
  }

  /** Whether a respondent request is in flight or ended less than `windowMs` ago. */
  recent(windowMs: number): boolean {
    return this.inFlight > 0 || this.clock() - this.lastSeen < windowMs;
  }

  /**
   * Resolves once no respondent request is in flight, or after `maxWaitMs` whatever the traffic
   * (whoever waits is never starved by a steady stream of respondents). True when it had to wait.
   */
  async quiet(maxWaitMs: number): Promise<boolean> {
    if (this.inFlight === 0) return false;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== done);
        resolve();
      };
      const timer = setTimeout(done, maxWaitMs);
      this.waiters.push(done);
    });
    return true;
  }

  private wakeAll(): void {
    for (const wake of [...this.waiters]) wake();
  }
}

/** This process's respondent traffic: counted by the survey routes, read by the job runner (main.ts). */
export const respondentTraffic = new RespondentTraffic();

/** Counts a request from its arrival until its response is finished or the connection closes. */
export function countRespondentRequests(traffic: RespondentTraffic = respondentTraffic): RequestHandler {
  return (_req, res, next) => {
    const leave = traffic.enter();
    res.once("finish", leave);
    res.once("close", leave);
    next();
  };
}
