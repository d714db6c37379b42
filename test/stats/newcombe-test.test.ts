import { describe, expect, it } from "vitest";
import { newcombeDiff, newcombeTest } from "../../stats/index.js";
import { errorTracker, loadFixture, num, type FixtureNumber } from "./helpers.js";

interface Case {
  x1: number;
  n1: number;
  x2: number;
  n2: number;
  z: FixtureNumber;
  pValue: number;
}

// Expected values: uniroot over z of the Newcombe limit nearest 0, each limit from R 4.2.2's
// prop.test(x, n, correct = FALSE, conf.level = 1 - 2 * pnorm(-z))$conf.int (generate.R).
const fixture = loadFixture<Case>("newcombe-test");

describe("newcombeTest", () => {
  const check = errorTracker("newcombeTest vs R");

  it(`matches R on ${fixture.cases.length} cases`, () => {
    expect(fixture.cases.length).toBeGreaterThanOrEqual(100);
    for (const c of fixture.cases) {
      const got = newcombeTest(c.x1, c.n1, c.x2, c.n2);
      const what = `newcombeTest(${c.x1}, ${c.n1}, ${c.x2}, ${c.n2})`;
      const z = num(c.z);
      if (Number.isFinite(z)) check(got.z, z, 1e-9, `${what}.z`);
      else expect(got.z, what).toBe(z);
      // uniroot stops at tol 1e-14 in z; p = 2 pnorm(-z) then differs relatively by about z * 1e-14.
      check(got.pValue, c.pValue, 1e-8, `${what}.pValue`);
    }
  });

  it("is the level at which Newcombe's interval touches 0", () => {
    // > newcombe at conf = 1 - p: the nearer limit is 0 (generate.R checks it with uniroot).
    for (const [x1, n1, x2, n2] of [
      [310, 1000, 380, 1000],
      [2, 20, 9, 25],
      [9, 25, 2, 20],
      [0, 29, 5, 56],
    ] as const) {
      const { pValue } = newcombeTest(x1, n1, x2, n2);
      const ci = newcombeDiff(x1, n1, x2, n2, 1 - pValue);
      const nearer = x2 / n2 > x1 / n1 ? ci.lower : ci.upper;
      expect(Math.abs(nearer)).toBeLessThan(1e-12);
      // Slightly wider: contains 0; slightly narrower: excludes it.
      const wider = newcombeDiff(x1, n1, x2, n2, 1 - pValue * 0.999);
      const narrower = newcombeDiff(x1, n1, x2, n2, 1 - pValue * 1.001);
      expect(wider.lower <= 0 && wider.upper >= 0).toBe(true);
      expect(narrower.lower > 0 || narrower.upper < 0).toBe(true);
    }
  });

  it("gives p = 1 for equal shares, is symmetric in the waves and in aware/unaware", () => {
    expect(newcombeTest(0, 30, 0, 30)).toEqual({ z: 0, pValue: 1 });
    expect(newcombeTest(15, 30, 10, 20)).toEqual({ z: 0, pValue: 1 });
    expect(newcombeTest(2, 20, 9, 25).pValue).toBeCloseTo(newcombeTest(9, 25, 2, 20).pValue, 14);
    expect(newcombeTest(2, 20, 9, 25).pValue).toBeCloseTo(newcombeTest(18, 20, 16, 25).pValue, 14);
  });

  it("throws a RangeError naming the argument", () => {
    expect(() => newcombeTest(5, 4, 1, 2)).toThrow(new RangeError("newcombeTest: x1 must be an integer from 0 to n1 (4), got 5"));
    expect(() => newcombeTest(1, 2, 1, 0)).toThrow(/n2 must be a positive integer/);
  });
});
