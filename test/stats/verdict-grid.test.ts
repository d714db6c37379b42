import { describe, expect, it } from "vitest";
import { decideVerdict, segmentMeasure } from "../../stats/lift-table.js";
import { headroomLiftOf, relativeLiftOf } from "../../stats/ratio-lift.js";
import { probabilityDisagrees, SMALL_N } from "../../stats/verdict.js";

/**
 * Every 2 x 2 table with n1, n2 <= 120 (all x), through the same per-row code liftTable uses, as
 * the only member of its family and as the most significant member of a family of three (its
 * adjusted p = min(1, 3p), Bonferroni's and Holm's first step). On each table:
 * - the verdict interval excludes 0 exactly when the verdict is rise or fall;
 * - the adjusted p-value is below alpha exactly then;
 * - the relative and headroom lifts' intervals exclude 0 exactly then;
 * - rise and fall point the way the estimate does;
 * - the probability of a rise agrees with the verdict, or the row is marked to explain why not;
 * - "not enough data" only with a wave under SMALL_N.
 * Both the large- and the small-cell regimes (an expected count under 5, where Fisher's test used
 * to take over) are in the grid, and the test counts that it met both.
 *
 * Two symmetries of the procedure halve the walk twice: swapping the waves mirrors a table, and so
 * does swapping aware and unaware; the second test below checks both on every table with n <= 30,
 * so the walk covers n1 <= n2 and the half of the x1 range at or below n1/2.
 */
const N_MAX = 120;
const ALPHA = 0.05;
const FAMILIES = [1, 3] as const;

function mismatch(x1: number, n1: number, x2: number, n2: number, k: number, what: string): string {
  return `${x1}/${n1} -> ${x2}/${n2}, family of ${k}: ${what}`;
}

describe("verdict grid", () => {
  it(`agrees with itself on every table with n1, n2 <= ${N_MAX}`, { timeout: 600_000 }, () => {
    const problems: string[] = [];
    let tables = 0;
    let smallCell = 0;
    let changed = 0;
    let explained = 0;
    for (let n1 = 1; n1 <= N_MAX; n1++) {
      for (let n2 = n1; n2 <= N_MAX; n2++) {
        for (let x1 = 0; 2 * x1 <= n1; x1++) {
          for (let x2 = 0; x2 <= n2; x2++) {
            tables++;
            const pooled = (x1 + x2) / (n1 + n2);
            if (Math.min(n1, n2) * Math.min(pooled, 1 - pooled) < 5) smallCell++;
            const measure = segmentMeasure({ x: x1, n: n1 }, { x: x2, n: n2 });
            for (const k of FAMILIES) {
              const adjusted = Math.min(1, k * measure.pValue);
              const d = decideVerdict(measure, adjusted, k, ALPHA);
              const isChange = d.verdict === "rise" || d.verdict === "fall";
              const excludes = d.verdictInterval.lower > 0 || d.verdictInterval.upper < 0;
              if (isChange !== excludes) problems.push(mismatch(x1, n1, x2, n2, k, `${d.verdict} beside ${JSON.stringify(d.verdictInterval)}`));
              if (isChange !== adjusted < ALPHA) problems.push(mismatch(x1, n1, x2, n2, k, `${d.verdict} beside adjusted p ${adjusted}`));
              if (d.verdict === "rise" && !(measure.estimate > 0)) problems.push(mismatch(x1, n1, x2, n2, k, "rise with a lift <= 0"));
              if (d.verdict === "fall" && !(measure.estimate < 0)) problems.push(mismatch(x1, n1, x2, n2, k, "fall with a lift >= 0"));
              if (d.verdict === "not_enough_data" && Math.min(n1, n2) >= SMALL_N) problems.push(mismatch(x1, n1, x2, n2, k, "not enough data"));
              const shares = measure.sharesAt(d.z);
              for (const ratio of [relativeLiftOf(shares.pre, shares.post), headroomLiftOf(shares.pre, shares.post)]) {
                if (ratio !== null && (ratio.lower > 0 || ratio.upper < 0) !== isChange) {
                  problems.push(mismatch(x1, n1, x2, n2, k, `${d.verdict} beside a ratio interval ${ratio.lower}..${ratio.upper}`));
                }
              }
              const p = measure.probabilityOfRise;
              const agrees = d.verdict === "rise" ? p > 0.5 : d.verdict === "fall" ? p < 0.5 : p > ALPHA / 2 && p < 1 - ALPHA / 2;
              const marked = probabilityDisagrees(d.verdict, p, ALPHA);
              if (agrees === marked) problems.push(mismatch(x1, n1, x2, n2, k, `P(rise) ${p} beside ${d.verdict}, marked ${marked}`));
              if (isChange) changed++;
              if (marked) explained++;
            }
            if (problems.length > 20) throw new Error(problems.join("\n"));
          }
        }
      }
    }
    expect(problems).toEqual([]);
    // Walked: sum over n1 <= n2 of (floor(n1/2) + 1)(n2 + 1) tables; both regimes met; changes found.
    let expected = 0;
    for (let n1 = 1; n1 <= N_MAX; n1++) for (let n2 = n1; n2 <= N_MAX; n2++) expected += (Math.floor(n1 / 2) + 1) * (n2 + 1);
    expect(tables).toBe(expected);
    expect(smallCell).toBeGreaterThan(100_000);
    expect(tables - smallCell).toBeGreaterThan(100_000);
    expect(changed).toBeGreaterThan(100_000);
    console.info(`verdict grid: ${tables} tables x ${FAMILIES.length} families, ${smallCell} small-cell, ${changed} changes, ${explained} probability notes`);
  });

  it("is symmetric in the waves and in aware/unaware, on every table with n <= 30", { timeout: 300_000 }, () => {
    const flip = { rise: "fall", fall: "rise", no_change: "no_change", not_enough_data: "not_enough_data" } as const;
    const problems: string[] = [];
    for (let n1 = 1; n1 <= 30; n1++) {
      for (let n2 = 1; n2 <= 30; n2++) {
        for (let x1 = 0; x1 <= n1; x1++) {
          for (let x2 = 0; x2 <= n2; x2++) {
            const base = segmentMeasure({ x: x1, n: n1 }, { x: x2, n: n2 });
            const swapped = segmentMeasure({ x: x2, n: n2 }, { x: x1, n: n1 });
            const mirrored = segmentMeasure({ x: n1 - x1, n: n1 }, { x: n2 - x2, n: n2 });
            for (const k of FAMILIES) {
              const verdict = (m: typeof base) => decideVerdict(m, Math.min(1, k * m.pValue), k, ALPHA).verdict;
              const v = verdict(base);
              if (verdict(swapped) !== flip[v]) problems.push(`${x1}/${n1} -> ${x2}/${n2}, waves swapped`);
              if (verdict(mirrored) !== flip[v]) problems.push(`${x1}/${n1} -> ${x2}/${n2}, aware/unaware swapped`);
            }
          }
        }
      }
    }
    expect(problems).toEqual([]);
  });
});
