import { describe, expect, it } from "vitest";
import { liftTable, rakedProportion } from "../../stats/index.js";
import type { LiftTableCount, LiftTableInput, RakingRow } from "../../stats/index.js";
import { errorTracker, loadFixture } from "./helpers.js";

interface ExpectedWave {
  x: number;
  n: number;
  p: number;
  lower: number;
  upper: number;
  nEff: number;
  designEffect: number;
}
interface Interval {
  estimate?: number;
  lower: number;
  upper: number;
}
interface ExpectedRow {
  id: string;
  pre: ExpectedWave;
  post: ExpectedWave;
  absoluteLift: Required<Interval>;
  pValue: number;
  measure: "lift" | "did";
  family: string;
  familySize: number;
  verdict: string;
  verdictEstimate: number;
  verdictInterval: Interval;
  verdictLevel: number;
  verdictPValue: number;
  adjustedPValue: number;
  probabilityOfRise: number;
  differenceInDifferences: null | { estimate: number; lower: number; upper: number; se: number; pValue: number; marketTrend: Required<Interval> };
}
interface Case {
  label: string;
  confidenceLevel: 0.8 | 0.9 | 0.95 | 0.99;
  adjustment: "holm" | "bh" | "bonferroni";
  margins: Record<string, Record<string, number>>;
  segments: Array<{ key: string; role: "exposed" | "control" }>;
  data: Array<{ segment: string; wave: "pre" | "post"; columns: Record<string, number[]>; y: number[] }>;
  rows: ExpectedRow[];
}

// Expected values: R 4.2.2 + survey (generate.R, "weighted lift tables"): every segment and wave
// raked with survey::rake and svymean(~y, .), then the Wald lift, the fixed-sample-share total, the
// difference-in-differences against the control and the verdict rules, recomputed in R.
const fixture = loadFixture<Case>("weighted-lift-table");

/** The whole path the results service takes: respondents -> rakedProportion per segment and wave -> liftTable. */
function tableOf(c: Case) {
  const variables = Object.keys(c.margins);
  const counts: LiftTableCount[] = c.data.map((d) => {
    const rows: RakingRow[] = d.y.map((_, i) => Object.fromEntries(variables.map((v) => [v, Object.keys(c.margins[v]!)[d.columns[v]![i]!]!])));
    const { p, se, nEff } = rakedProportion(d.y, rows, c.margins);
    return { metric: "aided", segment: d.segment, wave: d.wave, x: d.y.reduce((a, b) => a + b, 0), n: d.y.length, weighted: { p, se, nEff } };
  });
  const input: LiftTableInput = {
    metrics: [{ key: "aided" }],
    segments: c.segments,
    counts,
    waves: { pre: "pre", post: "post" },
    confidenceLevel: c.confidenceLevel,
    adjustment: c.adjustment,
  };
  return liftTable(input);
}

describe("weighted lift tables against R's survey package", () => {
  const check = errorTracker("weighted liftTable vs R (survey::rake + Wald + verdict rules)");
  for (const c of fixture.cases) {
    it(c.label, () => {
      const table = tableOf(c);
      expect(table.rows.map((r) => r.id).sort()).toEqual(c.rows.map((r) => r.id).sort());
      for (const want of c.rows) {
        const row = table.rows.find((r) => r.id === want.id)!;
        const at = (what: string) => `${c.label} / ${want.id} / ${what}`;
        expect(row.weighted, at("weighted")).toBe(true);
        expect(row.liftInterval, at("liftInterval")).toBe("wald");
        for (const wave of ["pre", "post"] as const) {
          expect([row[wave].x, row[wave].n], at(`${wave} counts`)).toEqual([want[wave].x, want[wave].n]);
          for (const field of ["p", "lower", "upper", "nEff", "designEffect"] as const) check(row[wave][field]!, want[wave][field], 1e-6, at(`${wave}.${field}`));
        }
        for (const field of ["estimate", "lower", "upper"] as const) check(row.absoluteLift[field], want.absoluteLift[field], 1e-6, at(`absoluteLift.${field}`));
        check(row.pValue, want.pValue, 1e-5, at("pValue"));
        expect([row.measure, row.family, row.familySize, row.verdict], at("verdict")).toEqual([want.measure, want.family, want.familySize, want.verdict]);
        check(row.verdictEstimate, want.verdictEstimate, 1e-6, at("verdictEstimate"));
        check(row.verdictInterval.lower, want.verdictInterval.lower, 1e-6, at("verdictInterval.lower"));
        check(row.verdictInterval.upper, want.verdictInterval.upper, 1e-6, at("verdictInterval.upper"));
        check(row.verdictLevel, want.verdictLevel, 1e-6, at("verdictLevel"));
        check(row.adjustedPValue, want.adjustedPValue, 1e-5, at("adjustedPValue"));
        check(row.probabilityOfRise, want.probabilityOfRise, 1e-6, at("probabilityOfRise"));
        if (want.differenceInDifferences === null) {
          expect(row.differenceInDifferences, at("did")).toBeNull();
        } else {
          const did = row.differenceInDifferences!;
          for (const field of ["estimate", "lower", "upper", "se"] as const) check(did[field], want.differenceInDifferences[field], 1e-6, at(`did.${field}`));
          check(did.pValue, want.differenceInDifferences.pValue, 1e-5, at("did.pValue"));
          for (const field of ["estimate", "lower", "upper"] as const) check(did.marketTrend[field], want.differenceInDifferences.marketTrend[field], 1e-6, at(`did.marketTrend.${field}`));
        }
        // One truth on the row: the verdict interval excludes 0 exactly when the verdict is a change
        // and exactly when the adjusted p is below alpha.
        const change = row.verdict === "rise" || row.verdict === "fall";
        expect(row.verdictInterval.lower > 0 || row.verdictInterval.upper < 0, at("interval vs verdict")).toBe(change);
        expect(row.adjustedPValue < row.alpha, at("adjusted p vs verdict")).toBe(change);
      }
    });
  }

  it("refuses a table that mixes weighted and unweighted counts, and weighted shares out of range", () => {
    const base = { metrics: [{ key: "m" }], segments: [{ key: "s" }], waves: { pre: "a", post: "b" } };
    const w = { p: 0.4, se: 0.05, nEff: 80 };
    expect(() => liftTable({ ...base, counts: [{ metric: "m", segment: "s", wave: "a", x: 40, n: 100, weighted: w }, { metric: "m", segment: "s", wave: "b", x: 50, n: 100 }] })).toThrow(
      /all carry weighted shares or none/,
    );
    expect(() => liftTable({ ...base, counts: [{ metric: "m", segment: "s", wave: "a", x: 40, n: 100, weighted: { ...w, nEff: 120 } }, { metric: "m", segment: "s", wave: "b", x: 50, n: 100, weighted: w }] })).toThrow(
      RangeError,
    );
    expect(() => liftTable({ ...base, counts: [{ metric: "m", segment: "s", wave: "a", x: 40, n: 100, weighted: { ...w, p: 1.2 } }, { metric: "m", segment: "s", wave: "b", x: 50, n: 100, weighted: w }] })).toThrow(
      /weighted\.p/,
    );
  });

  it("with weights all 1 gives the shares of the counts and the binomial standard errors' Wald row", () => {
    const counts = [
      { wave: "a", x: 40, n: 100 },
      { wave: "b", x: 60, n: 100 },
    ].map((c) => {
      const p = c.x / c.n;
      return { metric: "m", segment: "s", ...c, weighted: { p, se: Math.sqrt((p * (1 - p)) / c.n), nEff: c.n } };
    });
    const [row] = liftTable({ metrics: [{ key: "m" }], segments: [{ key: "s" }], waves: { pre: "a", post: "b" }, counts }).rows;
    expect(row!.pre.p).toBe(0.4);
    expect(row!.pre.designEffect).toBe(1);
    const se = Math.sqrt(0.24 / 100 + 0.24 / 100);
    expect(row!.absoluteLift.upper - row!.absoluteLift.estimate).toBeCloseTo(1.959963984540054 * se, 12);
  });
});
