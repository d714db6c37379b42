import { describe, expect, it } from "vitest";
import { fisherExact } from "../../stats/index.js";
import { errorTracker, loadFixture } from "./helpers.js";

interface Case {
  x1: number;
  n1: number;
  x2: number;
  n2: number;
  twoSided: number;
  rLess: number;
  rGreater: number;
}

// Expected values: R 4.2.2 fisher.test(matrix(c(x1, n1 - x1, x2, n2 - x2), 2), alternative)$p.value
// (generate.R). In that matrix a rise (p2 > p1) is an odds ratio below 1, so our "greater" is R's "less".
const fixture = loadFixture<Case>("fisher");

describe("fisherExact", () => {
  const check = errorTracker("fisherExact vs R fisher.test");

  it(`matches R on ${fixture.cases.length} tables, two-sided and both one-sided`, () => {
    expect(fixture.cases.length).toBeGreaterThanOrEqual(60);
    for (const c of fixture.cases) {
      const what = `fisherExact(${c.x1}, ${c.n1}, ${c.x2}, ${c.n2})`;
      check(fisherExact(c.x1, c.n1, c.x2, c.n2).pValue, c.twoSided, 1e-9, what);
      check(fisherExact(c.x1, c.n1, c.x2, c.n2, { alternative: "greater" }).pValue, c.rLess, 1e-9, `${what} greater`);
      check(fisherExact(c.x1, c.n1, c.x2, c.n2, { alternative: "less" }).pValue, c.rGreater, 1e-9, `${what} less`);
    }
  });

  it("doc example: > fisher.test(matrix(c(3, 7, 9, 1), 2))$p.value  0.01976661", () => {
    expect(fisherExact(3, 10, 9, 10).pValue).toBeCloseTo(0.0197666110978804, 15);
  });

  it("tests both directions: a rise has a small 'greater' and a large 'less' p-value, a fall the reverse", () => {
    // > fisher.test(matrix(c(3, 7, 9, 1), 2), alternative = "less")$p.value     0.0098833055489402199
    // > fisher.test(matrix(c(3, 7, 9, 1), 2), alternative = "greater")$p.value  0.99964277208859253
    const rise = fisherExact(3, 10, 9, 10, { alternative: "greater" }).pValue;
    const riseLess = fisherExact(3, 10, 9, 10, { alternative: "less" }).pValue;
    expect(rise).toBeCloseTo(0.0098833055489402199, 15);
    expect(riseLess).toBeCloseTo(0.99964277208859253, 15);
    expect(fisherExact(9, 10, 3, 10, { alternative: "less" }).pValue).toBeCloseTo(rise, 15);
    expect(fisherExact(9, 10, 3, 10, { alternative: "greater" }).pValue).toBeCloseTo(riseLess, 15);
  });

  it("is symmetric in the waves (two-sided) and never exceeds 1", () => {
    for (const c of fixture.cases) {
      const forward = fisherExact(c.x1, c.n1, c.x2, c.n2).pValue;
      expect(fisherExact(c.x2, c.n2, c.x1, c.n1).pValue).toBeCloseTo(forward, 12);
      expect(forward).toBeLessThanOrEqual(1);
    }
  });

  it("handles n = 10^6 in well under a second", () => {
    const start = performance.now();
    const { pValue } = fisherExact(300_000, 1_000_000, 301_000, 1_000_000);
    expect(performance.now() - start).toBeLessThan(1000);
    expect(pValue).toBeGreaterThan(0);
    expect(pValue).toBeLessThan(1);
  });

  it("throws a RangeError naming the argument", () => {
    expect(() => fisherExact(0, 0, 1, 1)).toThrow(new RangeError("fisherExact: n1 must be a positive integer, got 0"));
    expect(() => fisherExact(1, 1, 2, 1)).toThrow(/fisherExact: x2 must be an integer from 0 to n2 \(1\), got 2/);
  });
});
