import { afterAll, describe, expect, it } from "vitest";
import { probabilityOfLift } from "../../stats/index.js";
import { errorTracker, loadFixture } from "./helpers.js";

interface Case {
  x1: number;
  n1: number;
  x2: number;
  n2: number;
  probability: number;
  integral: number;
}

// Expected values (generate.R, R 4.2.2): `probability` is Evan Miller's closed-form sum over all
// x2 + 1 terms with R's lbeta(), summed by sum(); `integral` is integrate() of
// dbeta(t, 1 + x2, 1 + n2 - x2) * pbeta(t, 1 + x1, 1 + n1 - x1), rel.tol 1e-12, split at Beta
// quantiles. The script stops if the two differ by more than 1e-8.
const fixture = loadFixture<Case>("bayes");

describe("probabilityOfLift", () => {
  const checkSum = errorTracker("probabilityOfLift vs R full closed-form sum");
  let worstAbsoluteVsIntegral = 0;
  afterAll(() => console.log(`[accuracy] probabilityOfLift vs R integrate(): max absolute error ${worstAbsoluteVsIntegral.toExponential(2)}`));

  it(`matches R on ${fixture.cases.length} cases (n up to 10^6)`, () => {
    expect(fixture.cases.length).toBeGreaterThanOrEqual(60);
    for (const c of fixture.cases) {
      const p = probabilityOfLift(c.x1, c.n1, c.x2, c.n2);
      const what = `probabilityOfLift(${c.x1}, ${c.n1}, ${c.x2}, ${c.n2})`;
      checkSum(p, c.probability, 1e-9, what);
      // Numerical integration: the 1e-6 absolute requirement.
      const absolute = Math.abs(p - c.integral);
      worstAbsoluteVsIntegral = Math.max(worstAbsoluteVsIntegral, absolute);
      expect(absolute, `${what} vs integrate()`).toBeLessThan(1e-6);
    }
  });

  it("doc example: > integrate(function(t) dbeta(t, 39, 63) * pbeta(t, 32, 70), 0, 1)  0.8496689", () => {
    expect(probabilityOfLift(31, 100, 38, 100)).toBeCloseTo(0.849668935144072, 12);
  });

  it("is 1/2 for identical data and complements when the waves swap", () => {
    for (const [x, n] of [[0, 1], [3, 10], [500, 1000], [123_456, 1_000_000], [1_000_000, 1_000_000]] as const) {
      // Log-beta values near -1.4e6 carry ~1e-10 absolute rounding, hence 1e-9 rather than 1e-15.
      expect(Math.abs(probabilityOfLift(x, n, x, n) - 0.5)).toBeLessThan(1e-9);
    }
    for (const c of fixture.cases) {
      const forward = probabilityOfLift(c.x1, c.n1, c.x2, c.n2);
      const backward = probabilityOfLift(c.x2, c.n2, c.x1, c.n1);
      expect(Math.abs(forward + backward - 1)).toBeLessThan(1e-9);
    }
  });

  it("knows small cases in closed form", () => {
    // Beta(1, 2) vs Beta(2, 1): P(p2 > p1) = 5/6 (direct integration of 2t * (1 - (1 - t)^2)).
    expect(probabilityOfLift(0, 1, 1, 1)).toBeCloseTo(5 / 6, 14);
    expect(probabilityOfLift(1, 1, 0, 1)).toBeCloseTo(1 / 6, 14);
  });

  it("is fast at n = 10^6 (under 20 ms per call, typically well under 1 ms)", () => {
    const start = performance.now();
    const calls = [
      [300_000, 1_000_000, 301_000, 1_000_000],
      [500_000, 1_000_000, 500_000, 1_000_000],
      [999_999, 1_000_000, 1_000_000, 1_000_000],
      [12, 40, 250_000, 1_000_000],
    ] as const;
    for (const [x1, n1, x2, n2] of calls) probabilityOfLift(x1, n1, x2, n2);
    expect((performance.now() - start) / calls.length).toBeLessThan(20);
  });

  it("throws a RangeError naming the argument", () => {
    expect(() => probabilityOfLift(1, 0, 1, 1)).toThrow(new RangeError("probabilityOfLift: n1 must be a positive integer, got 0"));
    expect(() => probabilityOfLift(1, 10, 11, 10)).toThrow(/probabilityOfLift: x2 must be an integer from 0 to n2 \(10\), got 11/);
    expect(() => probabilityOfLift(1, 10, 1, 1e20)).toThrow(/n2/);
  });
});
