/**
 * Open-loop arrivals: new respondents start at a steady rate whatever the server does, as real
 * ones do; a slow server makes them pile up rather than arrive later (which would hide the wait).
 * Each respondent has a connection of its own, kept alive between its pages as a browser keeps it,
 * and closed when it is done (a pool shared by all would hand a socket that sat idle past the
 * server's keep-alive timeout to the next respondent, and fail it for the client's own reason).
 */
import { Agent } from "node:http";
import type { LatencyBook } from "./latency.js";
import { respondOnce } from "./respondent.js";

export class Arrivals {
  private readonly running = new Set<Promise<boolean>>();
  private timer: NodeJS.Timeout | undefined;
  started = 0;
  completed = 0;
  failed = 0;

  constructor(
    private readonly base: string,
    private readonly path: string,
    private readonly pages: number,
  ) {}

  /** Starts `perSecond` respondents a second into `latencies` until stop(). */
  start(perSecond: number, latencies: LatencyBook): void {
    const begun = performance.now();
    let launched = 0;
    // Catches up after a late tick of this process's own timers: the count follows the clock.
    this.timer = setInterval(() => {
      const due = Math.floor(((performance.now() - begun) / 1000) * perSecond) + 1;
      for (; launched < due; launched++) {
        this.started++;
        const agent = new Agent({ keepAlive: true, maxSockets: 1 });
        const one = respondOnce(agent, this.base, { path: this.path, pages: this.pages, latencies }).then((done) => {
          agent.destroy();
          if (done) this.completed++;
          else this.failed++;
          return done;
        });
        this.running.add(one);
        void one.finally(() => this.running.delete(one));
      }
    }, 5);
  }

  /** No more arrivals; waits for the respondents already started to finish. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all([...this.running]);
  }
}
