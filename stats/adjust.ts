export type AdjustmentMethod = "holm" | "bh" | "bonferroni";

const METHODS: readonly AdjustmentMethod[] = ["holm", "bh", "bonferroni"];

/**
 * Adjusts p-values for multiple comparisons, as R's `p.adjust(p, method)` with method "holm",
 * "BH" (here "bh") or "bonferroni". Results keep the input order.
 *
 * - Bonferroni: min(1, m p).
 * - Holm (1979) step-down, controls the family-wise error rate: sorted ascending,
 *   p_(i) * (m - i + 1), made non-decreasing by a running maximum, capped at 1.
 * - Benjamini & Hochberg (1995) step-up, controls the false discovery rate: sorted descending,
 *   p_(i) * m / i, made non-increasing by a running minimum, capped at 1.
 *
 * References: S. Holm (1979), Scand. J. Statist. 6, 65-70; Y. Benjamini, Y. Hochberg (1995),
 * JRSS B 57, 289-300; R source of stats::p.adjust.
 *
 * @example adjustPValues([0.01, 0.04, 0.03], "holm") // [0.03, 0.06, 0.06]
 *   (R: p.adjust(c(0.01, 0.04, 0.03), "holm") = 0.03 0.06 0.06)
 */
export function adjustPValues(p: readonly number[], method: AdjustmentMethod): number[] {
  const fn = "adjustPValues";
  if (!Array.isArray(p)) throw new RangeError(`${fn}: p must be an array of numbers from 0 to 1`);
  if (!METHODS.includes(method)) {
    throw new RangeError(`${fn}: method must be "holm", "bh" or "bonferroni", got ${String(method)}`);
  }
  p.forEach((value, i) => {
    if (typeof value !== "number" || !(value >= 0 && value <= 1)) {
      throw new RangeError(`${fn}: p[${i}] must be a number from 0 to 1, got ${String(value)}`);
    }
  });
  const m = p.length;
  const adjusted = new Array<number>(m);
  if (method === "bonferroni") {
    for (let i = 0; i < m; i++) adjusted[i] = Math.min(1, m * p[i]!);
    return adjusted;
  }
  // Array.prototype.sort is stable, as R's order(); ties end up equal either way.
  const order = p.map((_, i) => i);
  if (method === "holm") {
    order.sort((a, b) => p[a]! - p[b]!);
    let running = 0;
    order.forEach((index, rank) => {
      running = Math.max(running, (m - rank) * p[index]!);
      adjusted[index] = Math.min(1, running);
    });
  } else {
    order.sort((a, b) => p[b]! - p[a]!);
    let running = Infinity;
    order.forEach((index, rank) => {
      // rank 0 is the largest p-value, whose BH multiplier is m / m.
      running = Math.min(running, (m / (m - rank)) * p[index]!);
      adjusted[index] = Math.min(1, running);
    });
  }
  return adjusted;
}
