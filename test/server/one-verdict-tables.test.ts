import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { liftDots } from "../../server/presenters/charts.js";
import { resultColumns } from "../../server/exports/results-columns.js";
import { translator } from "../../server/i18n/index.js";
import { describeRow, liftTable, type LiftRow, type LiftTableInput } from "../../stats/index.js";

/**
 * The same agreement as one-verdict.test.ts, over many generated tables (fast-check, fixed seed):
 * one to three metrics, one to four exposed segments, with or without control segments, audience
 * sizes and a campaign cost, counts from tiny to large. Every row's verdict, its interval, the
 * chart, the sentence, the export columns, lifted users and cost agree.
 */

const counts = fc.integer({ min: 1, max: 1500 }).chain((n) => fc.tuple(fc.integer({ min: 0, max: n }), fc.constant(n)));

const tableInput = fc
  .record({
    metrics: fc.integer({ min: 1, max: 3 }),
    exposed: fc.integer({ min: 1, max: 4 }),
    controls: fc.integer({ min: 0, max: 2 }),
    sized: fc.boolean(),
    cost: fc.option(fc.integer({ min: 1, max: 10_000_000 }), { nil: undefined }),
    confidenceLevel: fc.constantFrom(0.8, 0.9, 0.95, 0.99),
    adjustment: fc.constantFrom("holm", "bh", "bonferroni"),
  })
  .chain((shape) => {
    const segments = [
      ...Array.from({ length: shape.exposed }, (_, i) => ({ key: `e${i}`, label: `exposed ${i}` })),
      ...Array.from({ length: shape.controls }, (_, i) => ({ key: `c${i}`, label: `control ${i}`, role: "control" as const })),
    ];
    const cells = shape.metrics * segments.length;
    return fc.tuple(fc.constant(shape), fc.constant(segments), fc.array(fc.tuple(counts, counts), { minLength: cells, maxLength: cells }), fc.array(fc.integer({ min: 1000, max: 5_000_000 }), { minLength: segments.length, maxLength: segments.length }));
  })
  .map(([shape, segments, cellCounts, sizes]): LiftTableInput => {
    const metrics = Array.from({ length: shape.metrics }, (_, i) => ({ key: `m${i}`, label: `metric ${i}` }));
    return {
      metrics,
      segments: segments.map((s, i) => (shape.sized ? { ...s, audienceSize: sizes[i]! } : s)),
      waves: { pre: "pre", post: "post" },
      confidenceLevel: shape.confidenceLevel as LiftTableInput["confidenceLevel"],
      adjustment: shape.adjustment as LiftTableInput["adjustment"],
      ...(shape.cost !== undefined ? { campaign: { cost: shape.cost, currency: "RUB" } } : {}),
      counts: metrics.flatMap((m, mi) =>
        segments.flatMap((s, si) => {
          const [[x1, n1], [x2, n2]] = cellCounts[mi * segments.length + si]!;
          return [
            { metric: m.key, segment: s.key, wave: "pre", x: x1, n: n1 },
            { metric: m.key, segment: s.key, wave: "post", x: x2, n: n2 },
          ];
        }),
      ),
    };
  });

const isChange = (r: LiftRow) => r.verdict === "rise" || r.verdict === "fall";
const excludesZero = (i: { lower: number; upper: number }) => i.lower > 0 || i.upper < 0;

describe("one verdict per row, over generated tables", () => {
  it("agrees in the row, the chart, the sentence and the export columns", () => {
    const t = translator("en");
    fc.assert(
      fc.property(tableInput, (input) => {
        const table = liftTable(input);
        const svg = liftDots(table.rows, { title: "t", description: "d", pre: "pre", post: "post", percent: String, pp: String });
        // Both layouts (wide, and narrow for phones) draw one dot per row, in row order.
        for (const layout of ["chart-wide", "chart-narrow"]) {
          const part = new RegExp(`<div class="${layout}">([\\s\\S]*?)</div>`).exec(svg)![1]!;
          const dots = [...part.matchAll(/<circle [^>]*data-verdict="([a-z_]+)"/g)].map((m) => ({ verdict: m[1], filled: !m[0].includes('fill="#fff"') }));
          expect(dots.map((d) => d.verdict)).toEqual(table.rows.map((r) => r.verdict));
          expect(dots.map((d) => d.filled)).toEqual(table.rows.map(isChange));
        }
        const columns = resultColumns(table, "en", t, { withMetric: true });
        const column = (key: string) => columns.find((c) => c.key === key)!;
        for (const r of table.rows) {
          expect(isChange(r), r.id).toBe(excludesZero(r.verdictInterval));
          expect(isChange(r), r.id).toBe(r.adjustedPValue < r.alpha);
          if (r.verdict === "rise") expect(r.verdictEstimate).toBeGreaterThan(0);
          if (r.verdict === "fall") expect(r.verdictEstimate).toBeLessThan(0);
          if (r.measure === "lift") {
            for (const ratio of [r.relativeLift, r.headroomLift]) if (ratio !== null) expect(excludesZero(ratio), `${r.id} ratio`).toBe(isChange(r));
          }
          // Control segments lead: every exposed row of a metric with controls is judged net of them.
          const metricHasControl = table.rows.some((q) => q.metric === r.metric && q.role === "control");
          expect(r.measure === "did").toBe(r.role === "exposed" && metricHasControl);
          // Lifted users and cost: only for a detected rise, inside the verdict interval's range.
          if (r.liftedUsers !== null) {
            expect(r.verdict).toBe("rise");
            expect(r.liftedUsers.lower).toBeGreaterThan(0);
          } else expect(r.liftedUsersNote).not.toBeNull();
          if (r.costPerLiftedUser !== null) {
            expect(r.verdict).toBe("rise");
            expect(r.costPerLiftedUser.lower).toBeLessThanOrEqual(r.costPerLiftedUser.amount);
            expect(r.costPerLiftedUser.upper).toBeGreaterThanOrEqual(r.costPerLiftedUser.amount);
          }
          if (r.probabilityDisagrees === false) {
            const p = r.probabilityOfRise;
            if (r.verdict === "rise") expect(p).toBeGreaterThan(0.5);
            if (r.verdict === "fall") expect(p).toBeLessThan(0.5);
            if (!isChange(r)) expect(p > r.alpha / 2 && p < 1 - r.alpha / 2).toBe(true);
          }
          expect(column("verdict").value(r)).toBe(t(`verdict.labels.${r.verdict}`));
          expect(column("verdictLower").value(r)).toBe(r.verdictInterval.lower);
          expect(column("verdictUpper").value(r)).toBe(r.verdictInterval.upper);
          expect(column("liftedUsers").value(r)).toBe(r.liftedUsers?.estimate ?? null);
          expect(column("liftedUsersNote").value(r) === null).toBe(r.liftedUsersNote === null);
          const sentence = describeRow(r, "en");
          const verb = { rise: "rose", fall: "fell", no_change: "no detectable change", not_enough_data: "cannot be judged yet" }[r.verdict];
          expect(sentence).toContain(verb);
        }
        // Totals cannot reverse their segments: with every segment flat in both waves the total is flat.
        for (const total of table.rows.filter((r) => r.kind === "total")) {
          const parts = table.rows.filter((r) => r.metric === total.metric && r.kind === "segment" && total.segments.includes(r.segment));
          if (parts.every((p) => p.pre.p === p.post.p)) expect(Math.abs(total.absoluteLift.estimate)).toBeLessThan(1e-12);
        }
      }),
      { seed: 20261130, numRuns: 400 },
    );
  });
});
