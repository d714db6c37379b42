/**
 * Reads the app server's own event-loop delay (server/event-loop-probe.ts, on when the server has
 * BENCH_EVENT_LOOP_FILE): SIGUSR2 makes it write what it measured since the last signal and start
 * over, so a benchmark signals at the start of a phase (discarding what came before) and at its end.
 */
import { existsSync, readFileSync } from "node:fs";
import type { EventLoopReport } from "../../server/event-loop-probe.js";
import type { RunningServer } from "./servers.js";

/** A server blocked for longer than this is a finding in itself, but the benchmark stops waiting. */
const WAIT_MS = 600_000;

export class EventLoopProbe {
  private seq = 0;

  constructor(
    private readonly server: RunningServer,
    readonly file: string,
  ) {}

  private read(): EventLoopReport | undefined {
    if (!existsSync(this.file)) return undefined;
    return JSON.parse(readFileSync(this.file, "utf8")) as EventLoopReport;
  }

  /** What the server measured since the last call (or its start); it starts over. */
  async take(): Promise<EventLoopReport> {
    this.server.signal("SIGUSR2");
    const deadline = performance.now() + WAIT_MS;
    // The server answers when its event loop gets to the signal: as late as it is busy.
    for (;;) {
      const report = this.read();
      if (report && report.seq > this.seq) {
        this.seq = report.seq;
        return report;
      }
      if (performance.now() > deadline) throw new Error(`the server wrote no event-loop report to ${this.file} within ${WAIT_MS / 1000} s`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}
