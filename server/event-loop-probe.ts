import { renameSync, writeFileSync } from "node:fs";
import { monitorEventLoopDelay, type Histogram } from "node:perf_hooks";

/**
 * Benchmark hook (bench/heavy-pages.ts), off unless BENCH_EVENT_LOOP_FILE is set: how long this
 * process's event loop was late, which is how long any request arriving meanwhile waited. Only the
 * server itself can measure it; the benchmark reads it from the file.
 */

/** One report, in milliseconds; `seq` counts the reports this process wrote. */
export interface EventLoopReport {
  seq: number;
  samples: number;
  p50: number;
  p99: number;
  max: number;
  mean: number;
}

/** Histograms count nanoseconds. */
const MS = 1e6;

export function eventLoopReport(histogram: Histogram, seq: number): EventLoopReport {
  const ms = (ns: number) => (Number.isFinite(ns) ? ns / MS : 0);
  return {
    seq,
    samples: histogram.count,
    p50: ms(histogram.percentile(50)),
    p99: ms(histogram.percentile(99)),
    max: ms(histogram.max),
    mean: ms(histogram.mean),
  };
}

/** Written whole (temp file, then rename): the reader never sees half a report. */
export function writeEventLoopReport(file: string, report: EventLoopReport): void {
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, JSON.stringify(report));
  renameSync(temp, file);
}

/**
 * Samples the event loop every 10 ms. SIGUSR2 writes what was measured since the last SIGUSR2 (or
 * the start) to `file` and starts over, so the benchmark can measure one phase; the process's exit
 * writes once more.
 */
export function startEventLoopProbe(file: string): () => void {
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  let seq = 0;
  const report = () => {
    writeEventLoopReport(file, eventLoopReport(histogram, ++seq));
    histogram.reset();
  };
  process.on("SIGUSR2", report);
  process.on("exit", report);
  return () => {
    histogram.disable();
    process.off("SIGUSR2", report);
    process.off("exit", report);
  };
}
