import { describe, expect, it } from "vitest";
import { evaluateKpis, kpiStatusOf, wilson } from "../../stats/index.js";
import { sampleSizeTwoProportions } from "../../stats/power.js";
import type { ConfidenceLevel, KpiInput, KpiStatus } from "../../stats/index.js";
import { errorTracker, loadFixture } from "./helpers.js";

interface Cell {
  x: number;
  n: number;
  p?: number;
  se?: number;
  nEff?: number;
}
interface Case {
  kind: "lift" | "level";
  target: number;
  pre: Cell;
  post: Cell;
  k: number;
  confidenceLevel: ConfidenceLevel;
  expected: { status: KpiStatus; estimate: number; lower: number; upper: number; intervalLevel: number; targetShare: number; respondentsNeeded: number | null };
}

const fixture = loadFixture<Case>("kpi");
const check = errorTracker("KPIs vs R");
const sample = ({ x, n, p, se, nEff }: Cell) => (p === undefined ? { x, n } : { x, n, weighted: { p, se: se!, nEff: nEff! } });

function evaluate(c: Pick<Case, "kind" | "target" | "pre" | "post" | "k" | "confidenceLevel">) {
  const kpi: KpiInput = { metric: "m", segment: "s", target: { kind: c.kind, value: c.target }, by: "post" };
  const cells: Record<string, Cell> = { pre: c.pre, post: c.post };
  return evaluateKpis({
    kpis: Array.from({ length: c.k }, () => kpi),
    baseline: "pre",
    sample: (_m, _s, wave) => (cells[wave] ? sample(cells[wave]) : undefined),
    confidenceLevel: c.confidenceLevel,
  })[0]!;
}

describe("KPI statuses against R (test/fixtures/stats/trend.R)", () => {
  it("covers every decided status, lifts and levels, weighted and not, 1 to 5 KPIs", () => {
    expect(new Set(fixture.cases.map((c) => c.expected.status))).toEqual(new Set(["met", "not_met", "not_yet"]));
    expect(new Set(fixture.cases.map((c) => c.kind))).toEqual(new Set(["lift", "level"]));
    expect(fixture.cases.some((c) => c.pre.p !== undefined)).toBe(true);
  });

  fixture.cases.forEach((c, i) => {
    it(`case ${i + 1}: ${c.kind} ${c.target}, ${c.k} KPIs at ${c.confidenceLevel}${c.pre.p !== undefined ? ", weighted" : ""}`, () => {
      const got = evaluate(c);
      const e = c.expected;
      expect(got.status).toBe(e.status);
      expect(got.respondentsNeeded).toBe(e.respondentsNeeded);
      expect(got.respondents).toBe(c.post.n);
      check(got.estimate!, e.estimate, 1e-12, `case ${i + 1} estimate`);
      check(got.interval!.lower, e.lower, 1e-9, `case ${i + 1} lower`);
      check(got.interval!.upper, e.upper, 1e-9, `case ${i + 1} upper`);
      check(got.intervalLevel, e.intervalLevel, 1e-12, `case ${i + 1} level`);
      check(got.targetShare!, e.targetShare, 1e-12, `case ${i + 1} target share`);
    });
  });
});

describe("KPI status at its boundaries", () => {
  it("reads met, not_met and not_yet off the interval, exactly at the bounds", () => {
    expect(kpiStatusOf({ lower: 0.05, upper: 0.09 }, 0.05)).toBe("met"); // lower bound = target
    expect(kpiStatusOf({ lower: 0.0499999999, upper: 0.09 }, 0.05)).toBe("not_yet");
    expect(kpiStatusOf({ lower: 0.01, upper: 0.05 }, 0.05)).toBe("not_yet"); // upper bound = target: reaching it is met
    expect(kpiStatusOf({ lower: 0.01, upper: 0.0499999999 }, 0.05)).toBe("not_met");
    expect(kpiStatusOf({ lower: 0.4, upper: 0.4 }, 0.4)).toBe("met");
    expect(kpiStatusOf({ lower: -0.02, upper: 0.2 }, 0)).toBe("not_yet");
  });

  it("a level whose Wilson lower bound equals the target is met, one just above it is not yet", () => {
    const { lower } = wilson(60, 100, 0.95);
    const at = evaluate({ kind: "level", target: lower, pre: { x: 1, n: 2 }, post: { x: 60, n: 100 }, k: 1, confidenceLevel: 0.95 });
    expect(at.interval!.lower).toBe(lower);
    expect(at.status).toBe("met");
    const above = evaluate({ kind: "level", target: lower + 1e-12, pre: { x: 1, n: 2 }, post: { x: 60, n: 100 }, k: 1, confidenceLevel: 0.95 });
    expect(above.status).toBe("not_yet");
    expect(above.respondentsNeeded).toBeGreaterThan(100);
  });

  it("a level whose upper bound equals the target is not yet; just below it, not met", () => {
    const { upper } = wilson(60, 100, 0.95);
    expect(evaluate({ kind: "level", target: upper, pre: { x: 1, n: 2 }, post: { x: 60, n: 100 }, k: 1, confidenceLevel: 0.95 }).status).toBe("not_yet");
    expect(evaluate({ kind: "level", target: upper + 1e-12, pre: { x: 1, n: 2 }, post: { x: 60, n: 100 }, k: 1, confidenceLevel: 0.95 }).status).toBe("not_met");
  });

  it("an estimate exactly on the target cannot be decided by any sample size", () => {
    const got = evaluate({ kind: "level", target: 0.5, pre: { x: 1, n: 2 }, post: { x: 50, n: 100 }, k: 1, confidenceLevel: 0.95 });
    expect(got.status).toBe("not_yet");
    expect(got.respondentsNeeded).toBeNull();
  });

  it("more KPIs widen the interval (alpha / k), so a KPI met alone can be not yet among five", () => {
    const c = { kind: "lift" as const, target: 0.05, pre: { x: 300, n: 1000 }, post: { x: 400, n: 1000 }, confidenceLevel: 0.95 as const };
    const one = evaluate({ ...c, k: 1 });
    const five = evaluate({ ...c, k: 5 });
    expect(five.interval!.lower).toBeLessThan(one.interval!.lower);
    expect(one.intervalLevel).toBeCloseTo(0.95, 12);
    expect(five.intervalLevel).toBeCloseTo(0.99, 12);
  });

  it("says wave_missing without the by wave, no_data without responses or for a lift by the baseline", () => {
    const base = { metric: "m", segment: "s", target: { kind: "lift" as const, value: 0.05 } };
    const results = evaluateKpis({
      kpis: [
        { ...base, by: null },
        { ...base, by: "empty" },
        { ...base, by: "pre" },
      ],
      baseline: "pre",
      sample: (_m, _s, wave) => (wave === "pre" ? { x: 30, n: 100 } : undefined),
    });
    expect(results.map((r) => r.status)).toEqual(["wave_missing", "no_data", "no_data"]);
    expect(results[2]!.respondents).toBe(100);
  });

  it("plans the size of a wave not run yet from the baseline's share, as the not-yet case does from the observed one", () => {
    const evaluate = (target: { kind: "lift" | "level"; value: number }, pre: { x: number; n: number } | undefined) =>
      evaluateKpis({
        kpis: [
          { metric: "m", segment: "s", target, by: null },
          { metric: "m", segment: "s", target, by: "later" },
        ],
        baseline: "pre",
        sample: (_m, _s, wave) => (wave === "pre" ? pre : undefined),
      });
    // Two KPIs: each at alpha / 2, power 0.8, the formula respondentsNeeded uses.
    const lift = evaluate({ kind: "lift", value: 0.05 }, { x: 30, n: 100 });
    const expected = Math.ceil(sampleSizeTwoProportions({ p1: 0.35, p2: 0.3, alpha: 0.025, power: 0.8 }));
    expect(lift.map((r) => [r.status, r.plannedRespondents, r.respondentsNeeded])).toEqual([
      ["wave_missing", expected, null],
      ["no_data", expected, null],
    ]);
    expect(lift[0]!.targetShare).toBeCloseTo(0.35, 12);
    const level = evaluate({ kind: "level", value: 0.4 }, { x: 30, n: 100 });
    expect(level[0]!.plannedRespondents).toBe(Math.ceil(sampleSizeTwoProportions({ p1: 0.4, p2: 0.3, alpha: 0.025, power: 0.8 })));
    // On the target already, or without a baseline: nothing to plan from.
    expect(evaluate({ kind: "level", value: 0.3 }, { x: 30, n: 100 })[0]!.plannedRespondents).toBeNull();
    expect(evaluate({ kind: "lift", value: 0.05 }, undefined).map((r) => r.plannedRespondents)).toEqual([null, null]);
  });
});
