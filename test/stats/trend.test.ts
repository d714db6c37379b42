import { describe, expect, it } from "vitest";
import { liftTable, trendComparisons, trends } from "../../stats/index.js";
import type { ConfidenceLevel, LiftTableCount, TrendChange, TrendInput } from "../../stats/index.js";
import { errorTracker, loadFixture } from "./helpers.js";

interface Expected {
  shares: Array<{ segment: string; wave: string; x: number; n: number; p: number; lower: number; upper: number }>;
  changes: Array<{
    segment: string;
    from: string;
    to: string;
    familySize: number;
    change: { estimate: number; lower: number; upper: number };
    pValue: number;
    adjustedPValue: number;
    verdict: TrendChange["verdict"];
    verdictInterval: { lower: number; upper: number };
    verdictLevel: number;
  }>;
}
interface Case {
  input: {
    waves: string[];
    segments: Array<{ key: string; role?: "exposed" | "control" }>;
    counts: LiftTableCount[];
    confidenceLevel: ConfidenceLevel;
    adjustment: "holm" | "bh" | "bonferroni";
  };
  expected: Expected;
}

const fixture = loadFixture<Case>("trend");
const check = errorTracker("trends vs R");
const inputOf = (c: Case): TrendInput => ({ ...c.input, metrics: [{ key: "aided_awareness" }] });

describe("trends against R (test/fixtures/stats/trend.R)", () => {
  it("covers a grid: 2 to 6 waves, 1 to 3 segments, controls, weighted, gaps, every level and adjustment", () => {
    const waves = new Set(fixture.cases.map((c) => c.input.waves.length));
    expect([...waves].sort()).toEqual([2, 3, 4, 5, 6]);
    expect(fixture.cases.some((c) => c.input.counts[0]!.weighted)).toBe(true);
    expect(fixture.cases.some((c) => c.input.segments.some((s) => s.role === "control"))).toBe(true);
    const verdicts = new Set(fixture.cases.flatMap((c) => c.expected.changes.map((ch) => ch.verdict)));
    expect([...verdicts].sort()).toEqual(["fall", "no_change", "not_enough_data", "rise"]);
  });

  fixture.cases.forEach((c, i) => {
    it(`case ${i + 1}: ${c.input.waves.length} waves, ${c.input.segments.length} segments, ${c.input.adjustment} at ${c.input.confidenceLevel}`, () => {
      const result = trends(inputOf(c));
      for (const e of c.expected.shares) {
        const share = result.series.find((s) => s.segment === e.segment)!.points.find((p) => p.wave === e.wave)!.share!;
        expect([share.x, share.n]).toEqual([e.x, e.n]);
        for (const k of ["p", "lower", "upper"] as const) check(share[k], e[k], 1e-9, `case ${i + 1} ${e.segment} ${e.wave} ${k}`);
      }
      const changes = result.series.flatMap((s) =>
        s.points.flatMap((p) => {
          const list = [p.vsBaseline, p.vsPrevious].filter((ch): ch is TrendChange => ch !== null);
          return [...new Map(list.map((ch) => [`${ch.from}>${ch.to}`, { ...ch, segment: s.segment, familySize: s.familySize }])).values()];
        }),
      );
      expect(changes).toHaveLength(c.expected.changes.length);
      for (const e of c.expected.changes) {
        const what = `case ${i + 1} ${e.segment} ${e.from}>${e.to}`;
        const got = changes.find((ch) => ch.segment === e.segment && ch.from === e.from && ch.to === e.to);
        expect(got, what).toBeDefined();
        expect(got!.familySize, what).toBe(e.familySize);
        expect(got!.verdict, what).toBe(e.verdict);
        check(got!.change.estimate, e.change.estimate, 1e-12, `${what} estimate`);
        check(got!.change.lower, e.change.lower, 1e-9, `${what} lower`);
        check(got!.change.upper, e.change.upper, 1e-9, `${what} upper`);
        check(got!.pValue, e.pValue, 1e-6, `${what} p`);
        check(got!.adjustedPValue, e.adjustedPValue, 1e-6, `${what} adjusted p`);
        check(got!.verdictLevel, e.verdictLevel, 1e-6, `${what} verdict level`);
        check(got!.verdictInterval.lower, e.verdictInterval.lower, 1e-6, `${what} verdict lower`);
        check(got!.verdictInterval.upper, e.verdictInterval.upper, 1e-6, `${what} verdict upper`);
      }
    });
  });
});

describe("trends: the family and agreement with the lift table", () => {
  it("counts 2K - 3 comparisons per segment", () => {
    expect([1, 2, 3, 4, 5].map(trendComparisons)).toEqual([0, 1, 3, 5, 7]);
  });

  it("a change against the baseline is the lift table's lift of that pair; with two waves the verdict too", () => {
    for (const c of fixture.cases) {
      const exposedOnly = c.input.segments.every((s) => s.role !== "control");
      const result = trends(inputOf(c));
      const last = c.input.waves[c.input.waves.length - 1]!;
      const table = liftTable({ metrics: [{ key: "aided_awareness" }], segments: c.input.segments, counts: c.input.counts, waves: { pre: c.input.waves[0]!, post: last }, confidenceLevel: c.input.confidenceLevel, adjustment: c.input.adjustment });
      for (const row of table.rows.filter((r) => r.kind === "segment")) {
        const change = result.series.find((s) => s.segment === row.segment)!.points.at(-1)!.vsBaseline!;
        expect(change.change).toEqual(row.absoluteLift);
        expect(change.pValue).toBe(row.pValue);
        if (c.input.waves.length === 2 && exposedOnly) {
          expect(change.verdict).toBe(row.verdict);
          expect(change.verdictInterval).toEqual(row.verdictInterval);
        }
      }
    }
  });

  it("the first wave after the baseline has one change, shared by both columns", () => {
    const result = trends(inputOf(fixture.cases.find((c) => c.input.waves.length >= 3)!));
    const point = result.series[0]!.points[1]!;
    expect(point.vsPrevious).toBe(point.vsBaseline);
    expect(result.series[0]!.points[0]!.vsBaseline).toBeNull();
  });

  it("refuses fewer than two waves and mixed weighted counts", () => {
    const counts: LiftTableCount[] = [{ metric: "m", segment: "s", wave: "a", x: 1, n: 2 }];
    expect(() => trends({ metrics: [{ key: "m" }], segments: [{ key: "s" }], waves: ["a"], counts })).toThrow(RangeError);
    expect(() =>
      trends({ metrics: [{ key: "m" }], segments: [{ key: "s" }], waves: ["a", "b"], counts: [...counts, { metric: "m", segment: "s", wave: "b", x: 1, n: 2, weighted: { p: 0.5, se: 0.1, nEff: 2 } }] }),
    ).toThrow(RangeError);
  });
});
