import { describe, expect, it } from "vitest";
import { wilson } from "../../stats/index.js";
import { errorTracker, loadFixture } from "./helpers.js";

interface Case {
  x: number;
  n: number;
  conf: number;
  lower: number;
  upper: number;
}

// Expected values: R 4.2.2 prop.test(x, n, correct = FALSE, conf.level = conf)$conf.int,
// written by test/fixtures/stats/generate.R.
const fixture = loadFixture<Case>("wilson");

describe("wilson", () => {
  const check = errorTracker("wilson vs R prop.test");

  it(`matches R on ${fixture.cases.length} cases`, () => {
    expect(fixture.cases.length).toBeGreaterThanOrEqual(60);
    for (const c of fixture.cases) {
      const ci = wilson(c.x, c.n, c.conf);
      const what = `wilson(${c.x}, ${c.n}, ${c.conf})`;
      check(ci.lower, c.lower, 1e-9, `${what}.lower`);
      check(ci.upper, c.upper, 1e-9, `${what}.upper`);
    }
  });

  it("doc example: > prop.test(31, 100, correct = FALSE)$conf.int  0.2277970 0.4062606", () => {
    // > print(prop.test(31, 100, correct = FALSE)$conf.int, digits = 17)  0.22779697212376041 0.40626055719489407
    const ci = wilson(31, 100);
    expect(ci.lower).toBeCloseTo(0.22779697212376041, 15);
    expect(ci.upper).toBeCloseTo(0.40626055719489407, 15);
  });

  it("contains the point estimate and stays in [0, 1]; 0 and 1 are exact at x = 0 and x = n", () => {
    for (const c of fixture.cases) {
      const ci = wilson(c.x, c.n, c.conf);
      expect(ci.lower).toBeLessThanOrEqual(c.x / c.n);
      expect(ci.upper).toBeGreaterThanOrEqual(c.x / c.n);
      expect(ci.lower).toBeGreaterThanOrEqual(0);
      expect(ci.upper).toBeLessThanOrEqual(1);
    }
    expect(wilson(0, 7).lower).toBe(0);
    expect(wilson(7, 7).upper).toBe(1);
  });

  it("widens with the confidence level", () => {
    const levels = [0.5, 0.8, 0.9, 0.95, 0.99];
    const widths = levels.map((conf) => {
      const ci = wilson(12, 40, conf);
      return ci.upper - ci.lower;
    });
    for (let i = 1; i < widths.length; i++) expect(widths[i]).toBeGreaterThan(widths[i - 1]!);
  });

  it("throws a RangeError naming the argument", () => {
    expect(() => wilson(0, 0)).toThrow(new RangeError("wilson: n must be a positive integer, got 0"));
    expect(() => wilson(1, -3)).toThrow(/wilson: n must be a positive integer, got -3/);
    expect(() => wilson(1, 2.5)).toThrow(/wilson: n must be a positive integer, got 2.5/);
    expect(() => wilson(1, NaN)).toThrow(/wilson: n must be a positive integer, got NaN/);
    expect(() => wilson(-1, 10)).toThrow(new RangeError("wilson: x must be an integer from 0 to n (10), got -1"));
    expect(() => wilson(11, 10)).toThrow(/wilson: x must be an integer from 0 to n \(10\), got 11/);
    expect(() => wilson(1.5, 10)).toThrow(RangeError);
    expect(() => wilson(NaN, 10)).toThrow(/got NaN/);
    expect(() => wilson(1, 10, 0)).toThrow(/wilson: conf must be a number strictly between 0 and 1, got 0/);
    expect(() => wilson(1, 10, 1)).toThrow(/conf/);
    expect(() => wilson(1, 10, 95)).toThrow(/conf/);
    expect(() => wilson(1, 10, NaN)).toThrow(/conf/);
  });
});
