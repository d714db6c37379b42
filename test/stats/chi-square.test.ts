import { describe, expect, it } from "vitest";
import { chiSquareIndependence } from "../../stats/index.js";
import { errorTracker, loadFixture } from "./helpers.js";

type Matrix = number[][];
type Case = { table: Matrix; statistic: number; df: number; pValue: number; expected: Matrix; residuals: Matrix; stdres: Matrix };

// Expected values: R 4.2.2 (generate.R) ct <- chisq.test(table, correct = FALSE):
// ct$statistic, ct$parameter, ct$p.value, ct$expected, ct$residuals, ct$stdres, for waves x categories
// tables from 2 x 2 to 3 x 6, identical make-up to strong shifts, expected counts below 5 to 10^5.
const fixture = loadFixture<Case>("chi-square-independence");

describe("chiSquareIndependence", () => {
  const check = errorTracker("chiSquareIndependence vs R chisq.test(correct = FALSE)");

  it(`matches R on ${fixture.cases.length} tables`, () => {
    expect(fixture.cases.length).toBe(36);
    for (const [i, c] of fixture.cases.entries()) {
      const r = chiSquareIndependence(c.table);
      const what = `case ${i} (${c.table.length} x ${c.table[0]!.length})`;
      expect(r.df, `${what}.df`).toBe(c.df);
      check(r.statistic, c.statistic, 1e-12, `${what}.statistic`);
      check(r.pValue, c.pValue, 1e-10, `${what}.pValue`);
      let minExpected = Infinity;
      for (const [j, row] of c.expected.entries()) {
        for (const [k, e] of row.entries()) {
          check(r.expected[j]![k]!, e, 1e-14, `${what}.expected[${j}][${k}]`);
          check(r.residuals[j]![k]!, c.residuals[j]![k]!, 1e-12, `${what}.residuals[${j}][${k}]`);
          check(r.stdres[j]![k]!, c.stdres[j]![k]!, 1e-12, `${what}.stdres[${j}][${k}]`);
          minExpected = Math.min(minExpected, e);
        }
      }
      expect(r.minExpected).toBeCloseTo(minExpected, 12);
    }
    // Both sides of R's warning "Chi-squared approximation may be incorrect" (an expected count below 5) occur.
    expect(fixture.cases.some((c) => c.expected.flat().some((e) => e < 5))).toBe(true);
    expect(fixture.cases.some((c) => c.pValue < 1e-100)).toBe(true);
  });

  it("first fixture case by hand", () => {
    // > chisq.test(rbind(c(30, 50, 20), c(45, 40, 15)), correct = FALSE)
    // X-squared = 4.8253968253968251, df = 2, p-value = 0.089573262538879969
    const r = chiSquareIndependence([[30, 50, 20], [45, 40, 15]]);
    expect(r.statistic).toBeCloseTo(4.8253968253968251, 14);
    expect(r.df).toBe(2);
    expect(r.pValue).toBeCloseTo(0.089573262538879969, 15);
    expect(r.expected).toEqual([[37.5, 45, 17.5], [37.5, 45, 17.5]]);
    expect(r.minExpected).toBe(17.5);
  });

  it("is the same for the transposed table; a 2 x 2 table gives the square of the pooled z", () => {
    for (const c of fixture.cases) {
      const transposed = c.table[0]!.map((_, k) => c.table.map((row) => row[k]!));
      const r = chiSquareIndependence(transposed);
      expect(Math.abs(r.statistic - c.statistic)).toBeLessThanOrEqual(1e-12 * c.statistic);
      expect(r.df).toBe(c.df);
    }
    // 10/20 vs 20/20 aware: z = (0.5 - 1) / sqrt(0.75 * 0.25 * (1/20 + 1/20)) = -3.6514837167011076
    expect(chiSquareIndependence([[10, 10], [20, 0]]).statistic).toBeCloseTo(3.6514837167011076 ** 2, 12);
  });

  it("throws a RangeError naming the argument", () => {
    const fn = chiSquareIndependence;
    expect(() => fn([[1, 2]])).toThrow(new RangeError("chiSquareIndependence: table must be an array of at least 2 rows, got [[1,2]]"));
    expect(() => fn([[1], [2]])).toThrow(new RangeError("chiSquareIndependence: table[0] must be an array of at least 2 counts, got [1]"));
    expect(() => fn([[1, 2], [3]])).toThrow(/table\[1\] must be an array of 2 counts like table\[0\], got \[3\]/);
    expect(() => fn([[1, 2], [3, -1]])).toThrow(new RangeError("chiSquareIndependence: table[1][1] must be a non-negative integer count, got -1"));
    expect(() => fn([[1, 2], [3, 0.5]])).toThrow(/table\[1\]\[1\] must be a non-negative integer count, got 0.5/);
    expect(() => fn([[1, 2], [0, 0]])).toThrow(new RangeError("chiSquareIndependence: table[1] has no counts (a row needs at least one)"));
    expect(() => fn([[1, 0, 2], [3, 0, 1]])).toThrow(
      new RangeError("chiSquareIndependence: column 1 of table has no counts (leave an unchosen category out)"),
    );
  });
});
