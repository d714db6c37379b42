/**
 * Benchmark: liftTable for 3 segments x 30 metrics (90 rows plus 30 stratified totals), the size of a
 * full brand-lift questionnaire, against a baseline measured in the same run: a plain loop computing
 * the 90 Wilson intervals of the post wave (the cheapest thing a results page could compute).
 * Target: under 5 ms per table.
 *
 * Run: npx tsx bench/stats-lift-table.ts   (or npm run bench, which runs every file in bench/)
 *
 * Input is deterministic (a fixed linear congruential generator), so runs differ only by machine
 * noise. Times are medians over batches after a warm-up, so JIT compilation is not measured.
 */
import { performance } from "node:perf_hooks";
import { liftTable, wilson } from "../stats/index.js";
import type { LiftTableCount, LiftTableInput } from "../stats/index.js";

const SEGMENTS = ["subscribers", "active_unsubscribed", "inactive"] as const;
const METRICS = 30;
const TARGET_MS = 5;

/** Deterministic uniform numbers in [0, 1) (Numerical Recipes LCG). */
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

function buildInput(): LiftTableInput {
  const random = generator(20240507);
  const counts: LiftTableCount[] = [];
  const metrics = Array.from({ length: METRICS }, (_, i) => ({ key: `metric_${i}`, label: `metric ${i}` }));
  for (const metric of metrics) {
    for (const segment of SEGMENTS) {
      // Mostly 300-1500 respondents per wave; every tenth cell small and rare, to exercise Fisher.
      const small = random() < 0.1;
      const p = small ? 0.03 : 0.05 + 0.6 * random();
      for (const [wave, shift] of [["pre", 0], ["post", 0.04 * random()]] as const) {
        const n = small ? 20 + Math.floor(30 * random()) : 300 + Math.floor(1200 * random());
        const x = Math.min(n, Math.round(n * (p + shift) + (random() - 0.5) * Math.sqrt(n)));
        counts.push({ metric: metric.key, segment, wave, x: Math.max(0, x), n });
      }
    }
  }
  return {
    metrics,
    segments: [
      { key: "subscribers", audienceSize: 20_000 },
      { key: "active_unsubscribed", audienceSize: 150_000 },
      { key: "inactive", audienceSize: 1_000_000 },
    ],
    waves: { pre: "pre", post: "post" },
    counts,
    campaign: { cost: 500_000, currency: "RUB" },
  };
}

/** Median milliseconds per call of `fn`, over `batches` batches of `perBatch` calls. */
function measure(fn: () => number, perBatch: number, batches: number): number {
  let sink = 0;
  for (let i = 0; i < perBatch * 3; i++) sink += fn(); // warm-up
  const times: number[] = [];
  for (let b = 0; b < batches; b++) {
    const start = performance.now();
    for (let i = 0; i < perBatch; i++) sink += fn();
    times.push((performance.now() - start) / perBatch);
  }
  if (Number.isNaN(sink)) console.log("unreachable"); // keeps the work observable
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

const input = buildInput();
const postCounts = input.counts.filter((c) => c.wave === "post");

const tableMs = measure(() => liftTable(input).rows.length, 20, 25);
const baselineMs = measure(() => {
  let s = 0;
  for (const c of postCounts) s += wilson(c.x, c.n).lower;
  return s;
}, 2000, 25);

const rows = liftTable(input).rows;
const changedRows = rows.filter((r) => r.verdict === "rise" || r.verdict === "fall").length;
const line = (label: string, value: string): void => console.log(`${label.padEnd(44)}${value}`);
line("table", `${SEGMENTS.length} segments x ${METRICS} metrics -> ${rows.length} rows (${changedRows} with a detected change)`);
line("baseline: 90 Wilson intervals", `${(baselineMs * 1000).toFixed(1)} us`);
line("liftTable", `${tableMs.toFixed(3)} ms per table`);
line("ratio liftTable / baseline", `${(tableMs / baselineMs).toFixed(0)}x`);
line(`target < ${TARGET_MS} ms`, tableMs < TARGET_MS ? "met" : "MISSED");
