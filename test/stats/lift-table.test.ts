import { describe, expect, it } from "vitest";
import { liftTable } from "../../stats/index.js";
import type { LiftRow, LiftTableCount, LiftTableInput } from "../../stats/index.js";
import { errorTracker, loadFixture, relativeError } from "./helpers.js";

type Num = number | null;
interface ExpectedEstimate {
  estimate: number;
  lower: number;
  upper: number;
}
interface ExpectedRow {
  id: string;
  kind: "segment" | "total";
  totalMethod?: "stratified" | "pooled";
  pre: { x: number; n: number; p: number; lower: number; upper: number };
  post: { x: number; n: number; p: number; lower: number; upper: number };
  absoluteLift: ExpectedEstimate;
  relativeLift: Num;
  headroomLift: Num;
  test: "z" | "fisher";
  pValue: number;
  liftCertainty: number;
  probabilityOfLift: Num;
  minimumDetectableLift: Num;
  liftedUsers: ExpectedEstimate | null;
  costPerLiftedUser?: { amount: number; lower: number; upper: Num } | null;
  adjustedPValue: number;
  verdict: LiftRow["verdict"];
  differenceInDifferences?: ExpectedEstimate & { se: number; z: number; pValue: number; adjustedPValue: number };
}
interface TableCase {
  name: string;
  input: LiftTableInput;
  rows: ExpectedRow[];
}

// Expected values: every field recomputed in R 4.2.2 by lift_table_r() in generate.R from
// prop.test, fisher.test, p.adjust, power.prop.test (tol 1e-14), the closed-form Bayes sum and the
// difference-in-differences of did.test.ts.
const fixture = loadFixture<TableCase>("lift-table");

describe("liftTable against R", () => {
  const check = errorTracker("liftTable fields vs R");

  for (const table of fixture.cases) {
    it(`reproduces "${table.name}" (${table.rows.length} rows)`, () => {
      const result = liftTable(table.input);
      expect(result.rows.map((r) => r.id)).toEqual(table.rows.map((r) => r.id));
      for (const [i, expected] of table.rows.entries()) {
        const row = result.rows[i]!;
        const at = (field: string): string => `${table.name} / ${row.id} / ${field}`;
        const close = (actual: number | null | undefined, wanted: Num | undefined, field: string, tolerance = 1e-9): void => {
          if (wanted === null || wanted === undefined) {
            expect(actual ?? null, at(field)).toBeNull();
            return;
          }
          expect(actual, at(field)).not.toBeNull();
          check(actual!, wanted, tolerance, at(field));
        };
        expect(row.kind, at("kind")).toBe(expected.kind);
        expect(row.totalMethod, at("totalMethod")).toBe(expected.totalMethod ?? null);
        expect(row.test, at("test")).toBe(expected.test);
        expect(row.verdict, at("verdict")).toBe(expected.verdict);
        for (const wave of ["pre", "post"] as const) {
          expect(row[wave].x).toBe(expected[wave].x);
          expect(row[wave].n).toBe(expected[wave].n);
          for (const field of ["p", "lower", "upper"] as const) close(row[wave][field], expected[wave][field], `${wave}.${field}`);
        }
        for (const field of ["estimate", "lower", "upper"] as const) {
          // Differences of proportions can be exactly 0 in one language and 1e-17 in the other.
          expect(Math.abs(row.absoluteLift[field] - expected.absoluteLift[field]), at(`absoluteLift.${field}`)).toBeLessThan(1e-12);
        }
        close(row.relativeLift, expected.relativeLift, "relativeLift");
        close(row.headroomLift, expected.headroomLift, "headroomLift");
        close(row.pValue, expected.pValue, "pValue");
        close(row.adjustedPValue, expected.adjustedPValue, "adjustedPValue");
        // R computes 1 - p, so a certainty near 0 carries R's cancellation: compare absolutely.
        expect(Math.abs(row.liftCertainty - expected.liftCertainty), at("liftCertainty")).toBeLessThan(1e-12);
        close(row.probabilityOfLift, expected.probabilityOfLift, "probabilityOfLift");
        close(row.minimumDetectableLift, expected.minimumDetectableLift, "minimumDetectableLift");
        if (expected.liftedUsers === null) expect(row.liftedUsers, at("liftedUsers")).toBeNull();
        else for (const f of ["estimate", "lower", "upper"] as const) close(row.liftedUsers?.[f], expected.liftedUsers[f], `liftedUsers.${f}`);
        if (expected.costPerLiftedUser === undefined || expected.costPerLiftedUser === null) {
          expect(row.costPerLiftedUser, at("costPerLiftedUser")).toBeNull();
        } else {
          close(row.costPerLiftedUser?.amount, expected.costPerLiftedUser.amount, "costPerLiftedUser.amount");
          close(row.costPerLiftedUser?.lower, expected.costPerLiftedUser.lower, "costPerLiftedUser.lower");
          close(row.costPerLiftedUser?.upper ?? null, expected.costPerLiftedUser.upper, "costPerLiftedUser.upper");
        }
        const did = expected.differenceInDifferences;
        if (did === undefined) {
          expect(row.differenceInDifferences, at("differenceInDifferences")).toBeNull();
        } else {
          const got = row.differenceInDifferences!;
          expect(got, at("differenceInDifferences")).not.toBeNull();
          for (const f of ["estimate", "lower", "upper"] as const) expect(Math.abs(got[f] - did[f]), at(`did.${f}`)).toBeLessThan(1e-12);
          for (const f of ["se", "z", "pValue", "adjustedPValue"] as const) close(got[f], did[f], `did.${f}`);
        }
      }
    });
  }
});

// ------------------------------------------------------------------------------------------------
// Behaviour, on small hand-made tables.
// ------------------------------------------------------------------------------------------------

function counts(metric: string, segment: string, pre: [number, number], post: [number, number]): LiftTableCount[] {
  return [
    { metric, segment, wave: "pre", x: pre[0], n: pre[1] },
    { metric, segment, wave: "post", x: post[0], n: post[1] },
  ];
}

const base: LiftTableInput = {
  metrics: [{ key: "aided", label: "aided awareness" }],
  segments: [
    { key: "subscribers", label: "subscribers", audienceSize: 20_000 },
    { key: "active", label: "active non-subscribers", audienceSize: 150_000 },
    { key: "inactive", label: "inactive", audienceSize: 1_000_000 },
  ],
  waves: { pre: "pre", post: "post" },
  counts: [
    ...counts("aided", "subscribers", [310, 1000], [380, 1000]),
    ...counts("aided", "active", [120, 600], [150, 650]),
    ...counts("aided", "inactive", [60, 400], [84, 420]),
  ],
};

function row(table: ReturnType<typeof liftTable>, id: string): LiftRow {
  const found = table.rows.find((r) => r.id === id);
  if (found === undefined) throw new Error(`no row ${id}`);
  return found;
}

describe("liftTable behaviour", () => {
  it("lists segment rows in input order, then the total, per metric", () => {
    const table = liftTable(base);
    expect(table.rows.map((r) => r.id)).toEqual(["aided:subscribers", "aided:active", "aided:inactive", "aided:total"]);
    expect(row(table, "aided:total").segments).toEqual(["subscribers", "active", "inactive"]);
    expect(table).toMatchObject({ confidenceLevel: 0.95, alpha: 0.05, adjustment: "holm", omitted: [] });
  });

  it("matches the documented example: 31% -> 38% of 1000 each", () => {
    // > prop.test(c(380, 310), c(1000, 1000), correct = FALSE)$p.value  0.0009922847
    const single = liftTable({ ...base, segments: [base.segments[0]!], counts: base.counts.slice(0, 2) });
    const r = single.rows[0]!;
    expect(r.absoluteLift.estimate).toBeCloseTo(0.07, 15);
    expect(r.absoluteLift.lower).toBeCloseTo(0.028338934914503705, 14);
    expect(r.absoluteLift.upper).toBeCloseTo(0.11132274965099083, 14);
    expect(r.pValue).toBeCloseTo(0.000992284716453785, 15);
    expect(r.verdict).toBe("rise");
    expect(single.rows).toHaveLength(1); // one exposed segment: no total row
  });

  it("flips lifts and certainties when the waves are swapped", () => {
    const forward = liftTable(base);
    const backward = liftTable({ ...base, waves: { pre: "post", post: "pre" } });
    forward.rows.forEach((f, i) => {
      const b = backward.rows[i]!;
      expect(b.absoluteLift.estimate).toBeCloseTo(-f.absoluteLift.estimate, 14);
      expect(b.absoluteLift.lower).toBeCloseTo(-f.absoluteLift.upper, 14);
      expect(b.pValue).toBeCloseTo(f.pValue, 14);
      expect(b.liftCertainty).toBeCloseTo(1 - f.liftCertainty, 12);
      if (f.probabilityOfLift !== null) expect(b.probabilityOfLift).toBeCloseTo(1 - f.probabilityOfLift, 12);
      const flipped = { rise: "fall", fall: "rise", no_change: "no_change" } as const;
      expect(b.verdict).toBe(flipped[f.verdict]);
    });
  });

  it("keeps every interval around its estimate and adjusted p-values at or above raw ones", () => {
    for (const table of fixture.cases.map((c) => liftTable(c.input))) {
      for (const r of table.rows) {
        for (const w of [r.pre, r.post]) {
          expect(w.lower).toBeLessThanOrEqual(w.p + 1e-15);
          expect(w.upper).toBeGreaterThanOrEqual(w.p - 1e-15);
        }
        expect(r.absoluteLift.lower).toBeLessThanOrEqual(r.absoluteLift.estimate + 1e-15);
        expect(r.absoluteLift.upper).toBeGreaterThanOrEqual(r.absoluteLift.estimate - 1e-15);
        expect(r.adjustedPValue).toBeGreaterThanOrEqual(r.pValue);
        expect(r.verdict === "no_change").toBe(r.adjustedPValue >= r.alpha);
      }
    }
  });

  it("uses Fisher's test when an expected count is below 5 and says so", () => {
    const table = liftTable({ ...base, counts: [...counts("aided", "subscribers", [0, 40], [3, 45]), ...base.counts.slice(2)] });
    expect(row(table, "aided:subscribers").test).toBe("fisher");
    expect(row(table, "aided:active").test).toBe("z");
  });

  it("returns null relative lift at p1 = 0 and null headroom lift at p1 = 1", () => {
    const table = liftTable({ ...base, counts: [...counts("aided", "subscribers", [0, 50], [5, 50]), ...counts("aided", "active", [60, 60], [55, 60])] });
    expect(row(table, "aided:subscribers").relativeLift).toBeNull();
    expect(row(table, "aided:subscribers").headroomLift).toBeCloseTo(0.1, 15);
    expect(row(table, "aided:active").headroomLift).toBeNull();
    expect(row(table, "aided:active").relativeLift).toBeCloseTo(-5 / 60, 15);
  });

  it("warns about small and unbalanced waves", () => {
    const table = liftTable({ ...base, counts: [...counts("aided", "subscribers", [5, 29], [10, 40]), ...counts("aided", "active", [100, 300], [250, 700])] });
    expect(row(table, "aided:subscribers").warnings).toEqual(["small_n"]);
    expect(row(table, "aided:active").warnings).toEqual(["unbalanced_waves"]);
  });

  it("stratifies the total by audience size, or pools counts and says why", () => {
    const stratified = row(liftTable(base), "aided:total");
    expect(stratified.totalMethod).toBe("stratified");
    expect(stratified.liftInterval).toBe("wald");
    expect(stratified.probabilityOfLift).toBeNull();
    // p = sum N_s p_s / sum N_s with N = 20000, 150000, 1e6.
    expect(stratified.pre.p).toBeCloseTo((20_000 * 0.31 + 150_000 * 0.2 + 1_000_000 * 0.15) / 1_170_000, 15);

    const partial = liftTable({ ...base, segments: base.segments.map((s, i) => (i === 1 ? { key: s.key } : s)) });
    expect(row(partial, "aided:total").totalMethod).toBe("pooled");
    expect(row(partial, "aided:total").warnings).toContain("audience_size_missing");
    expect(row(partial, "aided:total").pre).toMatchObject({ x: 490, n: 2000 });

    const none = liftTable({ ...base, segments: base.segments.map((s) => ({ key: s.key })) });
    expect(row(none, "aided:total").totalMethod).toBe("pooled");
    expect(row(none, "aided:total").warnings).not.toContain("audience_size_missing");
  });

  it("computes lifted users and cost per lifted user only where they mean something", () => {
    const table = liftTable({ ...base, campaign: { cost: 500_000, currency: "RUB" } });
    const subscribers = row(table, "aided:subscribers");
    expect(subscribers.liftedUsers!.estimate).toBeCloseTo(0.07 * 20_000, 9);
    expect(subscribers.liftedUsers!.lower).toBeCloseTo(subscribers.absoluteLift.lower * 20_000, 9);
    expect(subscribers.costPerLiftedUser).toBeNull(); // the campaign cost is not per segment
    const total = row(table, "aided:total");
    expect(total.liftedUsers!.estimate).toBeCloseTo(total.absoluteLift.estimate * 1_170_000, 6);
    // Fixed weights make the total's lifted users the sum of the segments'.
    const sumOfSegments = ["subscribers", "active", "inactive"].reduce((s, k) => s + row(table, `aided:${k}`).liftedUsers!.estimate, 0);
    expect(total.liftedUsers!.estimate).toBeCloseTo(sumOfSegments, 6);
    expect(total.costPerLiftedUser!.amount).toBeCloseTo(500_000 / total.liftedUsers!.estimate, 9);
    expect(total.costPerLiftedUser!.currency).toBe("RUB");

    const falling = liftTable({ ...base, campaign: { cost: 1, currency: "RUB" }, waves: { pre: "post", post: "pre" } });
    expect(row(falling, "aided:total").costPerLiftedUser).toBeNull();
  });

  it("leaves control segments out of the total and adds difference-in-differences", () => {
    const table = liftTable({
      ...base,
      segments: [...base.segments, { key: "control", role: "control", audienceSize: 50_000 }],
      counts: [...base.counts, ...counts("aided", "control", [100, 500], [104, 500])],
    });
    expect(row(table, "aided:total").segments).toEqual(["subscribers", "active", "inactive"]);
    expect(row(table, "aided:control").differenceInDifferences).toBeNull();
    expect(row(table, "aided:control").liftedUsers).toBeNull();
    const did = row(table, "aided:subscribers").differenceInDifferences!;
    expect(did.controlSegments).toEqual(["control"]);
    expect(did.estimate).toBeCloseTo(0.07 - 0.008, 15);
    expect(row(table, "aided:total").differenceInDifferences).not.toBeNull();
  });

  it("omits combinations without responses in a compared wave, including 0 of 0, and flags the total", () => {
    const table = liftTable({
      ...base,
      counts: [...base.counts.slice(0, 4), { metric: "aided", segment: "inactive", wave: "pre", x: 0, n: 0 }, ...base.counts.slice(5)],
    });
    expect(table.omitted).toEqual([{ metric: "aided", segment: "inactive", reason: "no_pre_responses" }]);
    expect(row(table, "aided:total").warnings).toContain("incomplete_total");
    expect(row(table, "aided:total").segments).toEqual(["subscribers", "active"]);
  });

  it("ignores counts of other waves", () => {
    const table = liftTable({ ...base, counts: [...base.counts, { metric: "aided", segment: "subscribers", wave: "tracking-3", x: 1, n: 1 }] });
    expect(table.rows).toHaveLength(4);
  });

  it("computes 3 segments x 30 metrics quickly", () => {
    const metrics = Array.from({ length: 30 }, (_, i) => ({ key: `m${i}` }));
    const big: LiftTableInput = {
      ...base,
      metrics,
      counts: metrics.flatMap((m, i) => [
        ...counts(m.key, "subscribers", [300 + i, 1000], [350 + i, 1000]),
        ...counts(m.key, "active", [100 + i, 600], [120, 650]),
        ...counts(m.key, "inactive", [3, 40], [9, 45]),
      ]),
    };
    liftTable(big);
    const start = performance.now();
    for (let k = 0; k < 20; k++) liftTable(big);
    // The benchmark (bench/stats-lift-table.ts) measures this properly; here only a loose ceiling.
    expect((performance.now() - start) / 20).toBeLessThan(50);
  });

  it("throws a RangeError naming the offending input", () => {
    expect(() => liftTable({ ...base, confidenceLevel: 0.97 as 0.95 })).toThrow(
      new RangeError("liftTable: confidenceLevel must be one of 0.8, 0.9, 0.95, 0.99, got 0.97"),
    );
    expect(() => liftTable({ ...base, waves: { pre: "pre", post: "pre" } })).toThrow(/waves must name two different waves/);
    expect(() => liftTable({ ...base, adjustment: "fdr" as "bh" })).toThrow(/adjustment/);
    expect(() => liftTable({ ...base, counts: [{ metric: "nope", segment: "subscribers", wave: "pre", x: 1, n: 2 }] })).toThrow(
      /counts\[0\]\.metric "nope" is not in metrics/,
    );
    expect(() => liftTable({ ...base, counts: [{ metric: "aided", segment: "ghost", wave: "pre", x: 1, n: 2 }] })).toThrow(/segment "ghost"/);
    expect(() => liftTable({ ...base, counts: [...base.counts, base.counts[0]!] })).toThrow(/counts\[6\] repeats metric "aided"/);
    expect(() => liftTable({ ...base, counts: [{ metric: "aided", segment: "subscribers", wave: "pre", x: 5, n: 4 }] })).toThrow(
      new RangeError("liftTable: counts[0].x must be an integer from 0 to counts[0].n (4), got 5"),
    );
    expect(() => liftTable({ ...base, counts: [{ metric: "aided", segment: "subscribers", wave: "pre", x: 1, n: 2.5 }] })).toThrow(
      /counts\[0\]\.n must be a positive integer, got 2.5/,
    );
    expect(() => liftTable({ ...base, segments: [...base.segments, { key: "subscribers" }] })).toThrow(/segments\[3\]\.key "subscribers" is a duplicate/);
    expect(() => liftTable({ ...base, segments: [{ key: "s", audienceSize: -1 }] })).toThrow(/segments\[0\]\.audienceSize/);
    expect(() => liftTable({ ...base, segments: [{ key: "total" }] })).toThrow(/segments\[0\]\.key "total" is reserved/);
    expect(() => liftTable({ ...base, segments: [{ key: "s", role: "treated" as "exposed" }] })).toThrow(/segments\[0\]\.role/);
    expect(() => liftTable({ ...base, campaign: { cost: NaN, currency: "RUB" } })).toThrow(/campaign\.cost/);
    expect(() => liftTable({ ...base, campaign: { cost: 10, currency: "" } })).toThrow(/campaign\.currency/);
  });
});

describe("relativeError helper", () => {
  it("treats an exact expected zero by absolute error", () => {
    expect(relativeError(0, 0)).toBe(0);
    expect(relativeError(1e-300, 0)).toBe(1e-300);
    expect(relativeError(1.1, 1)).toBeCloseTo(0.1, 15);
  });
});
