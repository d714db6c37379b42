import { describe, expect, it } from "vitest";
import { compareWaves } from "../../../server/domain/comparability.js";

describe("comparable waves", () => {
  it("flags a shift in the make-up of the sample and names the category that moved most", () => {
    // R: chisq.test(rbind(c(60, 40), c(35, 65)), correct = FALSE): X-squared = 12.531, p-value = 0.0004002
    const result = compareWaves({ female: 60, male: 40 }, { female: 35, male: 65 });
    expect(result.kind).toBe("differs");
    if (result.kind !== "differs") return;
    expect(result.statistic).toBeCloseTo(12.531328, 5);
    expect(result.pValue).toBeCloseTo(0.0004002, 6);
    expect(result.shift.level === "female" || result.shift.level === "male").toBe(true);
    expect(Math.abs(result.shift.post - result.shift.pre)).toBeCloseTo(0.25, 12);
  });

  it("says 'similar' when the mix barely moved, and marks small expected counts", () => {
    const similar = compareWaves({ a: 50, b: 50 }, { a: 52, b: 48 });
    expect(similar.kind).toBe("similar");
    const small = compareWaves({ a: 3, b: 2, c: 1 }, { a: 2, b: 3, c: 2 });
    expect(small.kind !== "not_testable" && small.smallExpected).toBe(true);
  });

  it("leaves out categories nobody chose and cannot test one category or an empty wave", () => {
    expect(compareWaves({ a: 10, b: 0 }, { a: 12 }).kind).toBe("not_testable");
    expect(compareWaves({ a: 10, b: 5 }, {}).kind).toBe("not_testable");
    expect(compareWaves({ a: 10, b: 5, c: 0 }, { a: 10, b: 5 }).kind).toBe("similar");
  });
});
