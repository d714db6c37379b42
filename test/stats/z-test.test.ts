import { describe, expect, it } from "vitest";
import { twoProportionZTest } from "../../stats/index.js";
import type { Alternative } from "../../stats/index.js";
import { errorTracker, loadFixture, num } from "./helpers.js";
import type { FixtureNumber } from "./helpers.js";

type Key = `${"uncorrected" | "corrected"}_${"twoSided" | "greater" | "less"}`;
type Case = { x1: number; n1: number; x2: number; n2: number } & Record<`${Key}_xsquared` | `${Key}_p`, FixtureNumber>;

// Expected values: R 4.2.2 prop.test(c(x2, x1), c(n2, n1), correct, alternative) statistic and
// p.value (generate.R); z is sign(p2 - p1) * sqrt(X-squared), as prop.test computes it internally.
const fixture = loadFixture<Case>("z-test");
const alternatives: Array<[Alternative, "twoSided" | "greater" | "less"]> = [
  ["two-sided", "twoSided"],
  ["greater", "greater"],
  ["less", "less"],
];

describe("twoProportionZTest", () => {
  const checkZ = errorTracker("twoProportionZTest z vs R prop.test");
  const checkP = errorTracker("twoProportionZTest p-value vs R prop.test");

  it(`matches R on ${fixture.cases.length} tables x 3 alternatives x continuity on/off`, () => {
    expect(fixture.cases.length).toBeGreaterThanOrEqual(60);
    for (const c of fixture.cases) {
      for (const continuity of [false, true]) {
        for (const [alternative, key] of alternatives) {
          const field = `${continuity ? "corrected" : "uncorrected"}_${key}` as const;
          const xsquared = num(c[`${field}_xsquared`]);
          const pR = num(c[`${field}_p`]);
          const result = twoProportionZTest(c.x1, c.n1, c.x2, c.n2, { alternative, continuity });
          const what = `twoProportionZTest(${c.x1}, ${c.n1}, ${c.x2}, ${c.n2}, ${alternative}, continuity ${continuity})`;
          if (Number.isNaN(xsquared)) {
            // R returns NaN when the pooled proportion is 0 or 1; documented choice here: z = 0, and
            // the p-values of z = 0 (1 two-sided, 0.5 one-sided).
            const pooled = (c.x1 + c.x2) / (c.n1 + c.n2);
            expect(pooled === 0 || pooled === 1, what).toBe(true);
            expect(result).toEqual({ z: 0, pValue: alternative === "two-sided" ? 1 : 0.5 });
            continue;
          }
          const zR = Math.sign(c.x2 / c.n2 - c.x1 / c.n1) * Math.sqrt(xsquared);
          checkZ(result.z, zR, 1e-9, `${what}.z`);
          checkP(result.pValue, pR, 1e-9, `${what}.pValue`);
        }
      }
    }
  });

  it("doc example: > prop.test(c(380, 310), c(1000, 1000), correct = FALSE)  X-squared = 10.842, p-value = 0.0009923", () => {
    const { z, pValue } = twoProportionZTest(310, 1000, 380, 1000);
    expect(z).toBeCloseTo(3.29270516302773, 13);
    expect(pValue).toBeCloseTo(0.000992284716453785, 16);
  });

  it("tests both directions of each one-sided alternative", () => {
    // A rise (31% -> 38%): "greater" is small, "less" is its complement; a fall mirrors it.
    const rise = { greater: twoProportionZTest(310, 1000, 380, 1000, { alternative: "greater" }).pValue,
      less: twoProportionZTest(310, 1000, 380, 1000, { alternative: "less" }).pValue };
    expect(rise.greater).toBeCloseTo(0.000992284716453785 / 2, 16);
    expect(rise.greater + rise.less).toBeCloseTo(1, 15);
    const fall = { greater: twoProportionZTest(380, 1000, 310, 1000, { alternative: "greater" }).pValue,
      less: twoProportionZTest(380, 1000, 310, 1000, { alternative: "less" }).pValue };
    expect(fall.less).toBeCloseTo(rise.greater, 16);
    expect(fall.greater).toBeCloseTo(rise.less, 15);
  });

  it("flips the sign of z when the waves swap, keeping the two-sided p-value", () => {
    for (const c of fixture.cases) {
      const forward = twoProportionZTest(c.x1, c.n1, c.x2, c.n2);
      const backward = twoProportionZTest(c.x2, c.n2, c.x1, c.n1);
      expect(backward.z).toBeCloseTo(-forward.z, 12);
      expect(backward.pValue).toBeCloseTo(forward.pValue, 15);
    }
  });

  it("throws a RangeError naming the argument", () => {
    expect(() => twoProportionZTest(1, 10, 1, 0)).toThrow(new RangeError("twoProportionZTest: n2 must be a positive integer, got 0"));
    expect(() => twoProportionZTest(12, 10, 1, 10)).toThrow(/twoProportionZTest: x1 must be an integer from 0 to n1 \(10\), got 12/);
    expect(() => twoProportionZTest(1, 10, 0.5, 10)).toThrow(/x2/);
    expect(() => twoProportionZTest(1, 10, 1, 10, { alternative: "up" as Alternative })).toThrow(/alternative/);
  });
});
