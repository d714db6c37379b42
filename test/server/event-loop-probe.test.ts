import { mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHistogram } from "node:perf_hooks";
import { describe, expect, it } from "vitest";
import { eventLoopReport, startEventLoopProbe, writeEventLoopReport, type EventLoopReport } from "../../server/event-loop-probe.js";

const read = (file: string) => JSON.parse(readFileSync(file, "utf8")) as EventLoopReport;

describe("event-loop probe (benchmark hook)", () => {
  it("reports a histogram of nanoseconds in milliseconds", () => {
    const histogram = createHistogram();
    for (let i = 0; i < 98; i++) histogram.record(2_000_000);
    histogram.record(40_000_000);
    histogram.record(300_000_000);
    const report = eventLoopReport(histogram, 3);
    expect(report.seq).toBe(3);
    expect(report.samples).toBe(100);
    // HDR histograms keep 3 significant digits.
    expect(report.p50).toBeCloseTo(2, 1);
    expect(report.p99).toBeCloseTo(40, 0);
    expect(report.max).toBeCloseTo(300, -1);
    expect(report.mean).toBeCloseTo((98 * 2 + 40 + 300) / 100, 0);
  });

  it("reports zeros, not NaN or Infinity, for an empty histogram", () => {
    const report = eventLoopReport(createHistogram(), 1);
    expect(report).toEqual({ seq: 1, samples: 0, p50: 0, p99: 0, max: 0, mean: 0 });
  });

  it("writes the file whole and leaves no temp file", () => {
    const dir = mkdtempSync(join(tmpdir(), "bl-loop-"));
    const file = join(dir, "loop.json");
    writeEventLoopReport(file, { seq: 1, samples: 5, p50: 1, p99: 2, max: 3, mean: 1.5 });
    writeEventLoopReport(file, { seq: 2, samples: 6, p50: 1, p99: 2, max: 4, mean: 1.5 });
    expect(read(file)).toMatchObject({ seq: 2, max: 4 });
    expect(readdirSync(dir)).toEqual(["loop.json"]);
  });

  it("writes a numbered report on each SIGUSR2 and stops listening when stopped", () => {
    const file = join(mkdtempSync(join(tmpdir(), "bl-loop-")), "loop.json");
    const before = process.listenerCount("SIGUSR2");
    const stop = startEventLoopProbe(file);
    try {
      process.emit("SIGUSR2", "SIGUSR2");
      expect(read(file).seq).toBe(1);
      process.emit("SIGUSR2", "SIGUSR2");
      const second = read(file);
      expect(second.seq).toBe(2);
      expect(Object.keys(second).sort()).toEqual(["max", "mean", "p50", "p99", "samples", "seq"]);
    } finally {
      stop();
    }
    expect(process.listenerCount("SIGUSR2")).toBe(before);
  });
});
