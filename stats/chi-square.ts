import { chiSquareUpperTail } from "./distributions.js";

export interface ChiSquareResult {
  /** Pearson's X² = sum over cells of (observed - expected)² / expected. */
  statistic: number;
  /** (rows - 1) (columns - 1). */
  df: number;
  /** P[chi-square(df) > statistic]: the upper tail, without continuity correction. */
  pValue: number;
  /** Expected counts under independence, row total x column total / grand total, in the table's shape. */
  expected: number[][];
  /** The smallest expected count. R's chisq.test warns "Chi-squared approximation may be incorrect" below 5. */
  minExpected: number;
  /** Pearson residuals (observed - expected) / sqrt(expected) (R's `$residuals`). */
  residuals: number[][];
  /**
   * Standardized residuals (observed - expected) / sqrt(V), V = expected (1 - row share)(1 - column
   * share) (R's `$stdres`): approximately standard normal per cell, so |stdres| > 2 points at the
   * categories whose share moved between waves.
   */
  stdres: number[][];
}

/**
 * Pearson's chi-square test of independence for a contingency table of counts, e.g. waves (rows) x
 * categories of a profile variable (columns): did the make-up of the sample change between waves?
 * Equals R's `chisq.test(table, correct = FALSE)` — statistic, parameter (df), p.value, expected,
 * residuals and stdres — for any table of at least 2 x 2 (for a 2 x 2 table R's default would apply
 * Yates' correction; `correct = FALSE` is the plain Pearson statistic used here for every shape).
 *
 * Every row and every column needs a count: a category that nobody chose in any wave has no expected
 * count (R returns NaN); leave it out of the table. Small expected counts are reported, not refused:
 * the caller shows `minExpected` (R's warning is for any expected count below 5).
 *
 * Reference: K. Pearson (1900); A. Agresti (2013), Categorical Data Analysis, 3rd ed., sec. 3.2.
 *
 * @example chiSquareIndependence([[30, 50, 20], [45, 40, 15]])
 *   // statistic 4.825396825396825, df 2, pValue 0.08957326253887982, minExpected 17.5, ...
 *   // (R: chisq.test(rbind(c(30, 50, 20), c(45, 40, 15)), correct = FALSE):
 *   //  X-squared 4.8253968253968251, df 2, p-value 0.089573262538879969)
 */
export function chiSquareIndependence(table: readonly (readonly number[])[]): ChiSquareResult {
  const fn = "chiSquareIndependence";
  if (!Array.isArray(table) || table.length < 2) {
    throw new RangeError(`${fn}: table must be an array of at least 2 rows, got ${describe(table)}`);
  }
  const first = table[0];
  const columns = Array.isArray(first) ? first.length : 0;
  if (columns < 2) throw new RangeError(`${fn}: table[0] must be an array of at least 2 counts, got ${describe(first)}`);
  for (const [i, row] of table.entries()) {
    if (!Array.isArray(row) || row.length !== columns) {
      throw new RangeError(`${fn}: table[${i}] must be an array of ${columns} counts like table[0], got ${describe(row)}`);
    }
    for (const [j, count] of row.entries()) {
      if (typeof count !== "number" || !Number.isSafeInteger(count) || count < 0) {
        throw new RangeError(`${fn}: table[${i}][${j}] must be a non-negative integer count, got ${describe(count)}`);
      }
    }
  }
  const rowTotals = table.map((row) => row.reduce((s: number, c: number) => s + c, 0));
  const columnTotals = Array.from({ length: columns }, (_, j) => table.reduce((s, row) => s + row[j]!, 0));
  for (const [i, total] of rowTotals.entries()) {
    if (total === 0) throw new RangeError(`${fn}: table[${i}] has no counts (a row needs at least one)`);
  }
  for (const [j, total] of columnTotals.entries()) {
    if (total === 0) throw new RangeError(`${fn}: column ${j} of table has no counts (leave an unchosen category out)`);
  }
  const n = rowTotals.reduce((s, c) => s + c, 0);
  let statistic = 0;
  let minExpected = Infinity;
  const expected: number[][] = [];
  const residuals: number[][] = [];
  const stdres: number[][] = [];
  for (const [i, row] of table.entries()) {
    const r = rowTotals[i]!;
    const e: number[] = [];
    const res: number[] = [];
    const std: number[] = [];
    for (const [j, observed] of row.entries()) {
      const c = columnTotals[j]!;
      // The same operations as R: E <- outer(sr, sc) / n; V <- c r (n - r)(n - c) / n^3.
      const eij = (r * c) / n;
      const vij = (c * r * (n - r) * (n - c)) / n ** 3;
      statistic += (observed - eij) ** 2 / eij;
      minExpected = Math.min(minExpected, eij);
      e.push(eij);
      res.push((observed - eij) / Math.sqrt(eij));
      std.push((observed - eij) / Math.sqrt(vij));
    }
    expected.push(e);
    residuals.push(res);
    stdres.push(std);
  }
  const df = (table.length - 1) * (columns - 1);
  return { statistic, df, pValue: chiSquareUpperTail(statistic, df), expected, minExpected, residuals, stdres };
}

function describe(value: unknown): string {
  return typeof value === "number" ? String(value) : (JSON.stringify(value) ?? String(value));
}
