import { describe, expect, it } from "vitest";
import { categoryTrend, netLift } from "../../stats/index.js";
import type { WaveSums } from "../../stats/index.js";
import { errorTracker, loadFixture } from "./helpers.js";

type Case = {
  variable: "d" | "c";
  K: number;
  conf: number;
  pre: WaveSums;
  post: WaveSums;
  estimate: number;
  se: number;
  z: number;
  pValue: number;
  lower: number;
  upper: number;
};

// Expected values: R 4.2.2 (generate.R) on simulated respondents, y = b - C/K or C/K:
// tt <- t.test(y_post, y_pre, var.equal = FALSE); estimate = tt$estimate[1] - tt$estimate[2],
// se = tt$stderr, z = est/se, p = 2 * pnorm(-|z|), interval est +- qnorm((1 + conf)/2) * se.
// The input is what SQL hands over: each wave's n, sum(y) and sum(y^2).
const fixture = loadFixture<Case>("category-trend");

describe("netLift", () => {
  const check = errorTracker("netLift vs R t.test");

  it(`matches R on ${fixture.cases.length} cases`, () => {
    expect(fixture.cases.length).toBe(40);
    for (const [i, c] of fixture.cases.entries()) {
      const r = netLift(c.pre, c.post, { conf: c.conf });
      const what = `case ${i} (${c.variable}, K = ${c.K})`;
      // Differences of means of values in [-1, 1]: compare on that scale.
      expect(Math.abs(r.estimate - c.estimate), `${what}.estimate`).toBeLessThan(1e-14);
      check(r.se, c.se, 1e-11, `${what}.se`);
      check(r.z, c.z, 1e-10, `${what}.z`);
      check(r.pValue, c.pValue, 1e-9, `${what}.pValue`);
      expect(Math.abs(r.lower - c.lower), `${what}.lower`).toBeLessThan(1e-13);
      expect(Math.abs(r.upper - c.upper), `${what}.upper`).toBeLessThan(1e-13);
    }
  });

  it("first fixture case by hand: d = b - C/2, 400 respondents per wave", () => {
    // > R: est 0.026250000000000002, se 0.038094031446272186, at conf 0.8
    //   lower -0.022569465637875374, upper 0.075069465637875379
    const r = netLift({ n: 400, sum: -4, sumSquares: 110.5 }, { n: 400, sum: 6.5, sumSquares: 121.25 }, { conf: 0.8 });
    expect(r.estimate).toBeCloseTo(0.02625, 15);
    expect(r.se).toBeCloseTo(0.038094031446272186, 15);
    expect(r.lower).toBeCloseTo(-0.022569465637875374, 15);
    expect(r.upper).toBeCloseTo(0.075069465637875379, 15);
    expect(r.pre).toEqual({ mean: -0.01, variance: (110.5 - 16 / 400) / 399 });
  });

  it("changes sign when the waves swap; constant waves give se = 0", () => {
    for (const c of fixture.cases) {
      const r = netLift(c.pre, c.post);
      const swapped = netLift(c.post, c.pre);
      expect(swapped.estimate).toBeCloseTo(-r.estimate, 14);
      expect(swapped.se).toBe(r.se);
    }
    const flat = netLift({ n: 10, sum: 5, sumSquares: 2.5 }, { n: 20, sum: 10, sumSquares: 5 });
    expect(flat).toMatchObject({ estimate: 0, se: 0, z: 0, pValue: 1, lower: 0, upper: 0 });
    const jump = netLift({ n: 10, sum: 0, sumSquares: 0 }, { n: 10, sum: 10, sumSquares: 10 });
    expect(jump).toMatchObject({ estimate: 1, se: 0, z: Infinity, pValue: 0 });
  });

  it("throws a RangeError naming the argument", () => {
    const ok = { n: 10, sum: 3, sumSquares: 3 };
    expect(() => netLift({ n: 1, sum: 0, sumSquares: 0 }, ok)).toThrow(new RangeError("netLift: pre.n must be an integer of at least 2, got 1"));
    expect(() => netLift(ok, { n: 10, sum: Number.NaN, sumSquares: 1 })).toThrow(/post\.sum must be a finite number/);
    expect(() => netLift(ok, { n: 10, sum: 5, sumSquares: 1 })).toThrow(/post\.sumSquares must be a finite number of at least sum²\/n \(2\.5\), got 1/);
    expect(() => netLift(ok, ok, { conf: 1 })).toThrow(/netLift: conf must be a number strictly between 0 and 1/);
    expect(() => netLift(ok, undefined as unknown as WaveSums)).toThrow(/post must be an object/);
  });
});

describe("categoryTrend", () => {
  it("needs the brand to rise, the competitors to rise, and no detectable lead over them", () => {
    const up = { lower: 0.02, upper: 0.12 };
    const zero = { lower: -0.05, upper: 0.04 };
    expect(categoryTrend("rise", up, zero)).toBe(true);
    expect(categoryTrend("no_change", up, zero)).toBe(false);
    expect(categoryTrend("rise", { lower: -0.01, upper: 0.1 }, zero)).toBe(false);
    expect(categoryTrend("rise", up, { lower: 0.01, upper: 0.2 })).toBe(false);
    expect(() => categoryTrend("rise", { lower: 1, upper: 0 }, zero)).toThrow(new RangeError('categoryTrend: competitorLift must be an interval {lower, upper} with lower <= upper, got {"lower":1,"upper":0}'));
  });
});
