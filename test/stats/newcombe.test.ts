import { describe, expect, it } from "vitest";
import { newcombeDiff } from "../../stats/index.js";
import { errorTracker, loadFixture } from "./helpers.js";

interface Case {
  x1: number;
  n1: number;
  x2: number;
  n2: number;
  conf: number;
  lower: number;
  upper: number;
}

// Expected values: Newcombe's method-10 formula applied in R 4.2.2 to
// prop.test(x, n, correct = FALSE, conf.level = conf)$conf.int of each wave (generate.R).
const fixture = loadFixture<Case>("newcombe");

describe("newcombeDiff", () => {
  const check = errorTracker("newcombeDiff vs R");

  it(`matches R on ${fixture.cases.length} cases`, () => {
    expect(fixture.cases.length).toBeGreaterThanOrEqual(60);
    for (const c of fixture.cases) {
      const ci = newcombeDiff(c.x1, c.n1, c.x2, c.n2, c.conf);
      const what = `newcombeDiff(${c.x1}, ${c.n1}, ${c.x2}, ${c.n2}, ${c.conf})`;
      check(ci.lower, c.lower, 1e-9, `${what}.lower`);
      check(ci.upper, c.upper, 1e-9, `${what}.upper`);
    }
  });

  // Newcombe (1998), Statistics in Medicine 17, 873-890, Table II, method 10, printed to 4 decimals.
  // The paper writes the difference as pA - pB; here wave 2 is A and wave 1 is B.
  const published: Array<[string, number, number, number, number, number, number]> = [
    ["(a) 56/70 - 48/80", 48, 80, 56, 70, 0.0524, 0.3339],
    ["(b) 9/10 - 3/10", 3, 10, 9, 10, 0.1705, 0.809],
    ["(c) 6/7 - 2/7", 2, 7, 6, 7, 0.0582, 0.8062],
    ["(d) 5/56 - 0/29", 0, 29, 5, 56, -0.0381, 0.1926],
    ["(e) 0/10 - 0/20", 0, 20, 0, 10, -0.1611, 0.2775],
    ["(f) 0/10 - 0/10", 0, 10, 0, 10, -0.2775, 0.2775],
    ["(g) 10/10 - 0/20", 0, 20, 10, 10, 0.6791, 1],
    ["(h) 10/10 - 0/10", 0, 10, 10, 10, 0.6075, 1],
  ];
  it.each(published)("reproduces Newcombe (1998) Table II example %s", (_, x1, n1, x2, n2, lower, upper) => {
    const ci = newcombeDiff(x1, n1, x2, n2);
    expect(Math.abs(ci.lower - lower)).toBeLessThanOrEqual(5e-5);
    expect(Math.abs(ci.upper - upper)).toBeLessThanOrEqual(5e-5);
  });

  it("contains the observed difference, stays in [-1, 1], and flips sign when the waves swap", () => {
    for (const c of fixture.cases) {
      const ci = newcombeDiff(c.x1, c.n1, c.x2, c.n2, c.conf);
      const d = c.x2 / c.n2 - c.x1 / c.n1;
      expect(ci.lower).toBeLessThanOrEqual(d + 1e-15);
      expect(ci.upper).toBeGreaterThanOrEqual(d - 1e-15);
      expect(ci.lower).toBeGreaterThanOrEqual(-1 - 1e-15);
      expect(ci.upper).toBeLessThanOrEqual(1 + 1e-15);
      const swapped = newcombeDiff(c.x2, c.n2, c.x1, c.n1, c.conf);
      expect(swapped.lower).toBeCloseTo(-ci.upper, 14);
      expect(swapped.upper).toBeCloseTo(-ci.lower, 14);
    }
  });

  it("throws a RangeError naming the argument", () => {
    expect(() => newcombeDiff(1, 0, 1, 10)).toThrow(new RangeError("newcombeDiff: n1 must be a positive integer, got 0"));
    expect(() => newcombeDiff(1, 10, 11, 10)).toThrow(/newcombeDiff: x2 must be an integer from 0 to n2 \(10\), got 11/);
    expect(() => newcombeDiff(-1, 10, 1, 10)).toThrow(/x1/);
    expect(() => newcombeDiff(1, 10, 1, 10.5)).toThrow(/n2/);
    expect(() => newcombeDiff(1, 10, 1, 10, 1.2)).toThrow(/conf/);
  });
});
