import { describe, expect, it } from "vitest";
import { chiSquareCdf, chiSquareUpperTail, logBeta, logGamma, normalCdf, normalQuantile, normalUpperTail } from "../../stats/distributions.js";
import { errorTracker, loadFixture, relativeError } from "./helpers.js";

// Expected values printed by R 4.2.2 with options(digits = 17).
describe("normalCdf / normalUpperTail (port of R's pnorm)", () => {
  const cases: Array<[number, number, number]> = [
    // x, > pnorm(x), > pnorm(x, lower.tail = FALSE)
    [-1, 1.5865525393145705e-1, 8.4134474606854293e-1],
    [-3, 1.3498980316300946e-3, 9.986501019683699e-1],
    [-5, 2.8665157187919391e-7, 9.9999971334842808e-1],
    [-8, 6.2209605742717849e-16, 9.9999999999999933e-1],
    [-10, 7.6198530241605269e-24, 1],
    [-20, 2.7536241186062337e-89, 1],
    [-37, 5.7255712225245771e-300, 1],
    [0.3, 6.1791142218895267e-1, 3.8208857781104733e-1],
    [2, 9.7724986805182079e-1, 2.2750131948179212e-2],
    [9, 1, 1.1285884059538408e-19],
  ];
  it.each(cases)("x = %d", (x, lower, upper) => {
    expect(relativeError(normalCdf(x), lower)).toBeLessThan(1e-14);
    expect(relativeError(normalUpperTail(x), upper)).toBeLessThan(1e-14);
  });
  it("is exactly 0 / 1 far out and at infinities", () => {
    expect(normalCdf(-38)).toBe(0); // R: pnorm(-38) = 0
    expect(normalUpperTail(-Infinity)).toBe(1);
    expect(normalCdf(Infinity)).toBe(1);
    expect(normalCdf(NaN)).toBeNaN();
  });
});

describe("normalQuantile (AS 241, as R's qnorm)", () => {
  const cases: Array<[number, number]> = [
    // p, > qnorm(p)
    [0.975, 1.95996398454005361],
    [0.995, 2.57582930354889994],
    [0.9, 1.28155156554460081],
    [0.8, 0.84162123357291441],
    [0.025, -1.95996398454005383],
    [1e-10, -6.3613409024040557],
    [1e-20, -9.26234008979840517],
    [0.5, 0],
  ];
  it.each(cases)("p = %d", (p, q) => {
    expect(relativeError(normalQuantile(p), q)).toBeLessThan(1e-15);
  });
  it("inverts normalCdf", () => {
    for (const p of [1e-300, 1e-12, 0.001, 0.3, 0.5, 0.77, 0.999999]) {
      expect(relativeError(normalCdf(normalQuantile(p)), p)).toBeLessThan(1e-13);
    }
  });
  it("returns infinities at 0 and 1 and NaN outside", () => {
    expect(normalQuantile(0)).toBe(-Infinity);
    expect(normalQuantile(1)).toBe(Infinity);
    expect(normalQuantile(1.5)).toBeNaN();
  });
});

describe("logGamma / logBeta", () => {
  it("match R's lgamma and lbeta", () => {
    // > lgamma(c(1e6, 10.5, 0.5, 3.3, 9.99, 10))
    const lgammaCases: Array<[number, number]> = [
      [1e6, 1.2815504569147611e7],
      [10.5, 1.3940625219403763e1],
      [0.5, 5.7236494292470008e-1],
      [3.3, 9.8709857789473443e-1],
      [9.99, 1.2779315214350193e1],
      [10, 1.2801827480081469e1],
    ];
    for (const [x, expected] of lgammaCases) expect(relativeError(logGamma(x), expected)).toBeLessThan(1e-14);
    // > lbeta(3, 4); lbeta(1e6, 1e6); lbeta(2, 1e5); lbeta(0.5, 0.5); lbeta(12, 1e6)
    const lbetaCases: Array<[number, number, number]> = [
      [3, 4, -4.0943445622221004],
      [1e6, 1e6, -1.3863000033629211e6],
      [2, 1e5, -2.302586092989046e1],
      [0.5, 0.5, 1.1447298858494004],
      [12, 1e6, -1.4828388484944443e2],
    ];
    for (const [a, b, expected] of lbetaCases) expect(relativeError(logBeta(a, b), expected)).toBeLessThan(1e-14);
  });
});

// Expected values: R 4.2.2 (generate.R) pchisq(x, df) and pchisq(x, df, lower.tail = FALSE), df 1 to
// 1000 and x from 1e-4 x df to 30 x df, down to upper tails of 1e-294.
const chiSquareFixture = loadFixture<{ x: number; df: number; lower: number; upper: number }>("chi-square-distribution");

describe("chiSquareCdf / chiSquareUpperTail (regularized incomplete gamma)", () => {
  const check = errorTracker("chiSquareCdf / chiSquareUpperTail vs R pchisq");

  it(`match R's pchisq in both tails on ${chiSquareFixture.cases.length} cases`, () => {
    expect(chiSquareFixture.cases.length).toBe(209);
    for (const c of chiSquareFixture.cases) {
      check(chiSquareCdf(c.x, c.df), c.lower, 1e-10, `pchisq(${c.x}, ${c.df})`);
      check(chiSquareUpperTail(c.x, c.df), c.upper, 1e-10, `pchisq(${c.x}, ${c.df}, lower.tail = FALSE)`);
    }
    expect(chiSquareFixture.cases.some((c) => c.upper < 1e-290)).toBe(true);
  });

  it("handles 0, infinity and NaN, and refuses df <= 0", () => {
    expect(chiSquareCdf(0, 3)).toBe(0);
    expect(chiSquareUpperTail(0, 3)).toBe(1);
    expect(chiSquareUpperTail(Infinity, 3)).toBe(0);
    expect(chiSquareCdf(Number.NaN, 3)).toBeNaN();
    // > sprintf("%.17g", pchisq(3.841458820694124, 1, lower.tail = FALSE))  [1] "0.049999999999999975"
    expect(relativeError(chiSquareUpperTail(3.841458820694124, 1), 0.049999999999999975)).toBeLessThan(1e-14);
    expect(() => chiSquareUpperTail(1, 0)).toThrow(new RangeError("chiSquareUpperTail: df must be a finite number greater than 0, got 0"));
  });
});
