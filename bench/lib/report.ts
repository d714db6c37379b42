/**
 * Output helpers shared by the benchmarks: every benchmark prints one table with our measurement,
 * the baseline measured in the same run, the ratio and the target with met/MISSED, so RESULTS.md
 * can quote them line by line.
 */
import { cpus, loadavg } from "node:os";

export interface Row {
  /** What was measured. */
  name: string;
  ours: string;
  baseline: string;
  ratio: string;
  target: string;
  /** true met, false MISSED, null when the row is informational. */
  met: boolean | null;
}

export function printTable(title: string, rows: readonly Row[]): void {
  const lines = rows.map((r) => [r.name, r.ours, r.baseline, r.ratio, r.target, r.met === null ? "info" : r.met ? "met" : "MISSED"]);
  printGrid(title, ["measurement", "ours", "baseline", "ratio", "target", "result"], lines);
}

/** A Markdown table with any columns, padded for reading in a terminal. */
export function printGrid(title: string, header: readonly string[], rows: ReadonlyArray<readonly string[]>): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const fmt = (cells: readonly string[]) => "| " + widths.map((w, i) => (cells[i] ?? "").padEnd(w)).join(" | ") + " |";
  console.log(`\n${title}`);
  console.log(fmt(header));
  console.log("|" + widths.map((w) => "-".repeat(w + 2)).join("|") + "|");
  for (const r of rows) console.log(fmt(r));
  console.log("");
}

/**
 * One line describing the machine, printed by every benchmark so a pasted table carries it; the
 * load average says how much else was running (other processes share the cores and the disk).
 */
export function machineLine(): string {
  const cpu = cpus()[0]?.model.trim() ?? "unknown CPU";
  const load = loadavg().map((l) => l.toFixed(1)).join(" ");
  return `machine: ${cpus().length} cores (${cpu}), node ${process.version}, ${process.platform}/${process.arch}, load average ${load}`;
}

export const fmtInt = (n: number) => Math.round(n).toLocaleString("en-US");
/** Milliseconds; autocannon reports whole milliseconds, so 0 means under one. */
export const fmtMs = (ms: number) => (ms === 0 ? "< 1 ms" : (ms >= 100 ? fmtInt(ms) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2)) + " ms");
export const fmtRatio = (r: number) => r.toFixed(2);
export const fmtMb = (bytes: number) => (bytes / 1024 / 1024).toFixed(0) + " MB";

/** `--quick` (or BENCH_QUICK=1): shorter measurements and smaller data, for a smoke run. */
export const QUICK = process.argv.includes("--quick") || process.env["BENCH_QUICK"] === "1";

export function log(message: string): void {
  process.stderr.write(`  ${message}\n`);
}

/** A cost figure against its baseline: how many times the baseline's (2.0× = twice the baseline). */
export const fmtTimes = (ours: number, baseline: number) => (baseline > 0 && Number.isFinite(ours / baseline) ? `${(ours / baseline).toFixed(1)}×` : "-");

/** One server under load, as the comparison rows need it. */
export interface Measured {
  /** Units (requests, respondents, …) per second. */
  rate: number;
  p50: number;
  p99: number;
  /** Server CPU per unit in microseconds, when measured. */
  cpuUs: number | undefined;
}

/**
 * The rows every throughput comparison prints, ours against one baseline measured in the same run:
 * the rate (with its target), latency p50 and p99, and the server's CPU per unit (the figure least
 * disturbed by other load on the machine: it does not count time spent waiting for a core).
 */
export function comparisonRows(o: { unit: string; ours: Measured; baseline: Measured; target?: number; latencyOf?: string }): Row[] {
  const ratio = o.ours.rate / o.baseline.rate;
  const latency = o.latencyOf ? ` (${o.latencyOf})` : "";
  const cpu = (m: Measured) => (m.cpuUs === undefined ? "-" : `${fmtInt(m.cpuUs)} us`);
  return [
    {
      name: `${o.unit}/s`,
      ours: fmtInt(o.ours.rate),
      baseline: fmtInt(o.baseline.rate),
      ratio: fmtRatio(ratio),
      target: o.target === undefined ? "-" : `>= ${o.target}`,
      met: o.target === undefined ? null : ratio >= o.target,
    },
    { name: `latency p50${latency}`, ours: fmtMs(o.ours.p50), baseline: fmtMs(o.baseline.p50), ratio: fmtTimes(o.ours.p50, o.baseline.p50), target: "-", met: null },
    { name: `latency p99${latency}`, ours: fmtMs(o.ours.p99), baseline: fmtMs(o.baseline.p99), ratio: fmtTimes(o.ours.p99, o.baseline.p99), target: "reported", met: null },
    {
      name: `server CPU per ${o.unit.replace(/s$/, "")}`,
      ours: cpu(o.ours),
      baseline: cpu(o.baseline),
      ratio: o.ours.cpuUs === undefined || o.baseline.cpuUs === undefined ? "-" : fmtTimes(o.ours.cpuUs, o.baseline.cpuUs),
      target: "-",
      met: null,
    },
  ];
}

/** The run with the highest rate of a few alternating rounds: filters out a noisy neighbour. */
export function bestOf<T>(runs: readonly T[], rate: (run: T) => number): T {
  return runs.reduce((a, b) => (rate(b) > rate(a) ? b : a));
}
