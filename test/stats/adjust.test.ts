import { describe, expect, it } from "vitest";
import { adjustPValues } from "../../stats/index.js";
import type { AdjustmentMethod } from "../../stats/index.js";
import { errorTracker, loadFixture } from "./helpers.js";

interface Case {
  p: number[];
  holm: number[];
  bh: number[];
  bonferroni: number[];
}

// Expected values: R 4.2.2 p.adjust(p, "holm" | "BH" | "bonferroni") (generate.R).
const fixture = loadFixture<Case>("adjust");
const methods: AdjustmentMethod[] = ["holm", "bh", "bonferroni"];

describe("adjustPValues", () => {
  const check = errorTracker("adjustPValues vs R p.adjust");

  it(`matches R on ${fixture.cases.length} vectors x 3 methods`, () => {
    expect(fixture.cases.length).toBeGreaterThanOrEqual(60);
    for (const [i, c] of fixture.cases.entries()) {
      for (const method of methods) {
        const adjusted = adjustPValues(c.p, method);
        expect(adjusted).toHaveLength(c.p.length);
        adjusted.forEach((value, j) => check(value, c[method][j]!, 1e-12, `case ${i} ${method}[${j}]`));
      }
    }
  });

  it("doc example: > p.adjust(c(0.01, 0.04, 0.03), \"holm\")  0.03 0.06 0.06", () => {
    expect(adjustPValues([0.01, 0.04, 0.03], "holm")).toEqual([0.03, 0.06, 0.06]);
  });

  it("gives adjusted p-values >= raw, <= 1, and in the same order as the raw ones", () => {
    for (const c of fixture.cases) {
      for (const method of methods) {
        const adjusted = adjustPValues(c.p, method);
        const order = c.p.map((_, i) => i).sort((a, b) => c.p[a]! - c.p[b]!);
        for (let k = 0; k < order.length; k++) {
          const i = order[k]!;
          expect(adjusted[i]).toBeGreaterThanOrEqual(c.p[i]!);
          expect(adjusted[i]).toBeLessThanOrEqual(1);
          if (k > 0) expect(adjusted[i]).toBeGreaterThanOrEqual(adjusted[order[k - 1]!]!);
        }
      }
    }
  });

  it("orders the methods: BH <= Holm <= Bonferroni", () => {
    for (const c of fixture.cases) {
      const holm = adjustPValues(c.p, "holm");
      const bh = adjustPValues(c.p, "bh");
      const bonferroni = adjustPValues(c.p, "bonferroni");
      holm.forEach((h, i) => {
        expect(bh[i]).toBeLessThanOrEqual(h + 1e-15);
        expect(h).toBeLessThanOrEqual(bonferroni[i]! + 1e-15);
      });
    }
  });

  it("returns an empty array for no p-values and does not mutate its input", () => {
    expect(adjustPValues([], "holm")).toEqual([]);
    const p = [0.3, 0.01];
    adjustPValues(p, "bh");
    expect(p).toEqual([0.3, 0.01]);
  });

  it("throws a RangeError naming the argument", () => {
    expect(() => adjustPValues([0.1, 1.2], "holm")).toThrow(new RangeError("adjustPValues: p[1] must be a number from 0 to 1, got 1.2"));
    expect(() => adjustPValues([NaN], "holm")).toThrow(/p\[0\].*NaN/);
    expect(() => adjustPValues([-0.1], "bh")).toThrow(/p\[0\]/);
    expect(() => adjustPValues([0.1], "BH" as AdjustmentMethod)).toThrow(/method/);
  });
});
