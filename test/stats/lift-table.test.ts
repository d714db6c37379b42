import { describe, expect, it } from "vitest";
import { liftTable } from "../../stats/index.js";
import type { LiftRow, LiftTableCount, LiftTableInput } from "../../stats/index.js";
import { errorTracker, loadFixture, num, relativeError, type FixtureNumber } from "./helpers.js";

type Num = number | null;
interface ExpectedEstimate {
  estimate: number;
  lower: number;
  upper: number;
}
/** A ratio interval's upper limit is Infinity when the pre share's lower limit is 0. */
interface ExpectedRatio {
  estimate: number;
  lower: number;
  upper: FixtureNumber;
}
interface ExpectedRow {
  id: string;
  kind: "segment" | "total";
  totalMethod: "audience" | "sample" | null;
  pre: { x: number; n: number; p: number; lower: number; upper: number };
  post: { x: number; n: number; p: number; lower: number; upper: number };
  absoluteLift: ExpectedEstimate;
  pValue: number;
  relativeLift: ExpectedRatio | null;
  headroomLift: ExpectedRatio | null;
  ratioLevel: number;
  measure: "lift" | "did";
  family: string;
  familySize: number;
  verdict: LiftRow["verdict"];
  verdictEstimate: number;
  verdictInterval: { lower: number; upper: number };
  verdictLevel: number;
  verdictPValue: number;
  adjustedPValue: number;
  probabilityOfRise: number;
  minimumDetectableLift: Num;
  planningAlpha: number;
  liftedUsers: ExpectedEstimate | null;
  costPerLiftedUser: { amount: number; lower: number; upper: number } | null;
  differenceInDifferences: (ExpectedEstimate & { se: number; z: number; pValue: number; marketTrend: ExpectedEstimate }) | null;
}
interface TableCase {
  name: string;
  input: LiftTableInput;
  rows: ExpectedRow[];
}

// Expected values: every field recomputed in R 4.2.2 by lift_table_r() in generate.R from
// prop.test's Wilson limits, uniroot (Newcombe's interval inverted; MOVER-R), p.adjust,
// power.prop.test (tol 1e-14), the closed-form Beta sum and the normal posterior.
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
        // Differences of proportions can be exactly 0 in one language and 1e-17 in the other.
        const near = (actual: number, wanted: number, field: string): void => {
          expect(Math.abs(actual - wanted), at(field)).toBeLessThan(1e-11);
        };
        expect(row.kind, at("kind")).toBe(expected.kind);
        expect(row.totalMethod, at("totalMethod")).toBe(expected.totalMethod);
        expect(row.measure, at("measure")).toBe(expected.measure);
        expect(row.family, at("family")).toBe(expected.family);
        expect(row.familySize, at("familySize")).toBe(expected.familySize);
        expect(row.verdict, at("verdict")).toBe(expected.verdict);
        for (const wave of ["pre", "post"] as const) {
          expect(row[wave].x).toBe(expected[wave].x);
          expect(row[wave].n).toBe(expected[wave].n);
          for (const field of ["p", "lower", "upper"] as const) close(row[wave][field], expected[wave][field], `${wave}.${field}`);
        }
        for (const field of ["estimate", "lower", "upper"] as const) near(row.absoluteLift[field], expected.absoluteLift[field], `absoluteLift.${field}`);
        close(row.pValue, expected.pValue, "pValue", 1e-7);
        close(row.verdictPValue, expected.verdictPValue, "verdictPValue", 1e-7);
        close(row.adjustedPValue, expected.adjustedPValue, "adjustedPValue", 1e-7);
        close(row.verdictLevel, expected.verdictLevel, "verdictLevel", 1e-9);
        near(row.verdictEstimate, expected.verdictEstimate, "verdictEstimate");
        near(row.verdictInterval.lower, expected.verdictInterval.lower, "verdictInterval.lower");
        near(row.verdictInterval.upper, expected.verdictInterval.upper, "verdictInterval.upper");
        for (const name of ["relativeLift", "headroomLift"] as const) {
          const want = expected[name];
          if (want === null) expect(row[name], at(name)).toBeNull();
          else {
            for (const f of ["estimate", "lower", "upper"] as const) {
              const wanted = num(want[f]);
              if (Number.isFinite(wanted)) close(row[name]![f], wanted, `${name}.${f}`, 1e-8);
              else expect(row[name]![f], at(`${name}.${f}`)).toBe(wanted);
            }
            close(row[name]!.level, expected.ratioLevel, `${name}.level`);
          }
        }
        close(row.probabilityOfRise, expected.probabilityOfRise, "probabilityOfRise");
        close(row.minimumDetectableLift, expected.minimumDetectableLift, "minimumDetectableLift");
        close(row.planningAlpha, expected.planningAlpha, "planningAlpha");
        if (expected.liftedUsers === null) expect(row.liftedUsers, at("liftedUsers")).toBeNull();
        else for (const f of ["estimate", "lower", "upper"] as const) close(row.liftedUsers?.[f], expected.liftedUsers[f], `liftedUsers.${f}`);
        if (expected.costPerLiftedUser === null) expect(row.costPerLiftedUser, at("costPerLiftedUser")).toBeNull();
        else for (const f of ["amount", "lower", "upper"] as const) close(row.costPerLiftedUser?.[f], expected.costPerLiftedUser[f], `cost.${f}`);
        const did = expected.differenceInDifferences;
        if (did === null) expect(row.differenceInDifferences, at("differenceInDifferences")).toBeNull();
        else {
          const got = row.differenceInDifferences!;
          expect(got, at("differenceInDifferences")).not.toBeNull();
          for (const f of ["estimate", "lower", "upper"] as const) near(got[f], did[f], `did.${f}`);
          for (const f of ["se", "z", "pValue"] as const) close(got[f], did[f], `did.${f}`);
          for (const f of ["estimate", "lower", "upper"] as const) near(got.marketTrend[f], did.marketTrend[f], `marketTrend.${f}`);
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
    // The test Newcombe's interval implies (newcombe-test.json: uniroot over prop.test's limits).
    expect(r.pValue).toBeCloseTo(0.0009907884681700275, 12);
    expect(r.verdict).toBe("rise");
    expect(r.verdictInterval).toEqual({ lower: r.absoluteLift.lower, upper: r.absoluteLift.upper }); // a family of one: tested at alpha itself
    expect(single.rows).toHaveLength(1); // one exposed segment: no total row
  });

  it("flips lifts, verdicts and probabilities when the waves are swapped", () => {
    const forward = liftTable(base);
    const backward = liftTable({ ...base, waves: { pre: "post", post: "pre" } });
    forward.rows.forEach((f, i) => {
      const b = backward.rows[i]!;
      expect(b.absoluteLift.estimate).toBeCloseTo(-f.absoluteLift.estimate, 14);
      expect(b.absoluteLift.lower).toBeCloseTo(-f.absoluteLift.upper, 14);
      expect(b.pValue).toBeCloseTo(f.pValue, 12);
      expect(b.verdictInterval.lower).toBeCloseTo(-f.verdictInterval.upper, 12);
      expect(b.probabilityOfRise).toBeCloseTo(1 - f.probabilityOfRise, 12);
      const flipped = { rise: "fall", fall: "rise", no_change: "no_change", not_enough_data: "not_enough_data" } as const;
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
        expect(r.adjustedPValue).toBeGreaterThanOrEqual(r.verdictPValue);
        expect(r.verdict === "rise" || r.verdict === "fall").toBe(r.adjustedPValue < r.alpha);
      }
    }
  });

  it("returns null relative lift at p1 = 0 and null headroom lift at p1 = 1", () => {
    const table = liftTable({ ...base, counts: [...counts("aided", "subscribers", [0, 50], [5, 50]), ...counts("aided", "active", [60, 60], [55, 60])] });
    expect(row(table, "aided:subscribers").relativeLift).toBeNull();
    expect(row(table, "aided:subscribers").headroomLift!.estimate).toBeCloseTo(0.1, 15);
    expect(row(table, "aided:active").headroomLift).toBeNull();
    expect(row(table, "aided:active").relativeLift!.estimate).toBeCloseTo(-5 / 60, 15);
  });

  it("warns about small and unbalanced waves", () => {
    const table = liftTable({ ...base, counts: [...counts("aided", "subscribers", [5, 29], [10, 40]), ...counts("aided", "active", [100, 300], [250, 700])] });
    expect(row(table, "aided:subscribers").warnings).toEqual(["small_n"]);
    expect(row(table, "aided:active").warnings).toEqual(["unbalanced_waves"]);
  });

  it("weights the total by audience size, else by sample shares, the same weights in both waves", () => {
    const byAudience = row(liftTable(base), "aided:total");
    expect(byAudience.totalMethod).toBe("audience");
    expect(byAudience.liftInterval).toBe("wald");
    // p = sum N_s p_s / sum N_s with N = 20000, 150000, 1e6.
    expect(byAudience.pre.p).toBeCloseTo((20_000 * 0.31 + 150_000 * 0.2 + 1_000_000 * 0.15) / 1_170_000, 15);

    const partial = liftTable({ ...base, segments: base.segments.map((s, i) => (i === 1 ? { key: s.key } : s)) });
    expect(row(partial, "aided:total").totalMethod).toBe("sample");
    expect(row(partial, "aided:total").warnings).toContain("audience_size_missing");
    expect(row(partial, "aided:total").pre).toMatchObject({ x: 490, n: 2000 });
    // Weights (1000 + 1000, 600 + 650, 400 + 420) / 4070 for both waves.
    expect(row(partial, "aided:total").pre.p).toBeCloseTo((2000 * 0.31 + 1250 * 0.2 + 820 * 0.15) / 4070, 15);

    const none = liftTable({ ...base, segments: base.segments.map((s) => ({ key: s.key })) });
    expect(row(none, "aided:total").totalMethod).toBe("sample");
    expect(row(none, "aided:total").warnings).not.toContain("audience_size_missing");
  });

  it("cannot reverse its segments: two flat segments whose mix flips give a flat total (Simpson)", () => {
    // Subscribers 40/100 -> 360/900 and inactive 90/900 -> 10/100: pooled counts would read
    // 13% -> 37%, "significant". Fixed sample-share weights (1/2, 1/2) give 25% in both waves.
    const simpson = liftTable({
      metrics: [{ key: "aided" }],
      segments: [{ key: "subscribers" }, { key: "inactive" }],
      waves: { pre: "pre", post: "post" },
      counts: [...counts("aided", "subscribers", [40, 100], [360, 900]), ...counts("aided", "inactive", [90, 900], [10, 100])],
    });
    const total = row(simpson, "aided:total");
    expect(total.pre.p).toBeCloseTo(0.25, 15);
    expect(total.post.p).toBeCloseTo(0.25, 15);
    expect(total.verdictEstimate).toBeCloseTo(0, 15);
    expect(total.verdict).toBe("no_change");
    expect(total.verdictInterval.lower).toBeLessThan(0);
    expect(total.verdictInterval.upper).toBeGreaterThan(0);
    expect(simpson.rows.map((r) => r.verdict)).toEqual(["no_change", "no_change", "no_change"]);
  });

  it("puts the exposed segments of a metric in one family, the total and the controls in their own", () => {
    const table = liftTable({
      ...base,
      segments: [...base.segments, { key: "control", role: "control" }],
      counts: [...base.counts, ...counts("aided", "control", [100, 500], [104, 500])],
    });
    expect(table.families.map((f) => [f.key, f.kind, f.measure, f.rowIds.length, f.planningAlpha])).toEqual([
      ["aided:segments", "segments", "did", 3, 0.05 / 3],
      ["aided:control", "control", "lift", 1, 0.05],
      ["aided:total", "total", "did", 1, 0.05],
    ]);
    expect(row(table, "aided:subscribers").familySize).toBe(3);
    // A non-significant member is shown at the Bonferroni level 1 - alpha/k.
    for (const r of table.rows.filter((r) => r.verdict === "no_change")) expect(r.verdictLevel).toBeCloseTo(1 - 0.05 / r.familySize, 12);
  });

  it("computes lifted users and cost per lifted user only for a detected rise, ranged by the verdict interval", () => {
    const table = liftTable({ ...base, campaign: { cost: 500_000, currency: "RUB" } });
    const subscribers = row(table, "aided:subscribers");
    expect(subscribers.verdict).toBe("rise");
    expect(subscribers.liftedUsers!.estimate).toBeCloseTo(0.07 * 20_000, 9);
    expect(subscribers.liftedUsers!.lower).toBeCloseTo(subscribers.verdictInterval.lower * 20_000, 9);
    expect(subscribers.liftedUsers!.upper).toBeCloseTo(subscribers.verdictInterval.upper * 20_000, 9);
    expect(subscribers.costPerLiftedUser).toBeNull(); // the campaign cost is not per segment
    expect(subscribers.costNote).toBe("not_whole_campaign");
    const total = row(table, "aided:total");
    expect(total.verdict).toBe("rise");
    expect(total.liftedUsers!.estimate).toBeCloseTo(total.verdictEstimate * 1_170_000, 6);
    expect(total.costPerLiftedUser!.amount).toBeCloseTo(500_000 / total.liftedUsers!.estimate, 9);
    expect(total.costPerLiftedUser!.upper).toBeCloseTo(500_000 / total.liftedUsers!.lower, 9);
    expect(total.costPerLiftedUser!.currency).toBe("RUB");

    for (const r of table.rows.filter((r) => r.verdict !== "rise")) {
      expect(r.liftedUsers).toBeNull();
      expect(r.liftedUsersNote).toBe("not_detected");
    }
    const falling = liftTable({ ...base, campaign: { cost: 1, currency: "RUB" }, waves: { pre: "post", post: "pre" } });
    expect(row(falling, "aided:total").costPerLiftedUser).toBeNull();
    expect(row(falling, "aided:total").costNote).toBe("not_detected");
    const unsized = liftTable({ ...base, segments: base.segments.map((s) => ({ key: s.key })) });
    expect(row(unsized, "aided:subscribers").liftedUsersNote).toBe("no_audience_size");
  });

  it("leaves control segments out of the total and adds difference-in-differences", () => {
    const table = liftTable({
      ...base,
      segments: [...base.segments, { key: "control", role: "control", audienceSize: 50_000 }],
      counts: [...base.counts, ...counts("aided", "control", [1000, 5000], [1040, 5000])],
    });
    expect(row(table, "aided:total").segments).toEqual(["subscribers", "active", "inactive"]);
    expect(row(table, "aided:control").differenceInDifferences).toBeNull();
    expect(row(table, "aided:control").liftedUsers).toBeNull();
    expect(row(table, "aided:control").liftedUsersNote).toBe("control_segment");
    expect(row(table, "aided:control").measure).toBe("lift");
    const subscribers = row(table, "aided:subscribers");
    const did = subscribers.differenceInDifferences!;
    expect(did.controlSegments).toEqual(["control"]);
    expect(did.estimate).toBeCloseTo(0.07 - 0.008, 15);
    expect(did.marketTrend.estimate).toBeCloseTo(0.008, 15);
    // The control leads: the verdict and lifted users are net of the market trend.
    expect(subscribers.measure).toBe("did");
    expect(subscribers.verdictEstimate).toBeCloseTo(0.062, 15);
    expect(subscribers.liftedUsers!.estimate).toBeCloseTo(0.062 * 20_000, 9);
    expect(row(table, "aided:total").differenceInDifferences).not.toBeNull();
    expect(row(table, "aided:total").measure).toBe("did");
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
