import { describe, expect, it } from "vitest";
import { rakedProportion } from "../../../stats/index.js";
import { effectiveMargins, NO_ANSWER, rakingRows, weightCell } from "../../../server/domain/weighting.js";

const margins = { gender: { female: 0.55, male: 0.45 }, age: { young: 0.4, old: 0.6 } };

describe("weighting one cell to its segment's margins", () => {
  it("gives respondents without a usable answer their sample share as a group and scales the targets to the rest", () => {
    const profiles = [
      { gender: "female", age: "young" },
      { gender: "male", age: "old" },
      { gender: "prefer_not", age: "old" },
      { age: "young" },
      { gender: "female", age: "old" },
    ];
    const used = effectiveMargins(profiles, margins);
    expect(used["gender"]![NO_ANSWER]).toBeCloseTo(2 / 5, 15);
    expect(used["gender"]!["female"]).toBeCloseTo(0.55 * 0.6, 15);
    expect(used["gender"]!["male"]).toBeCloseTo(0.45 * 0.6, 15);
    expect(used["age"]).toEqual({ young: 0.4, old: 0.6 });
    expect(rakingRows(profiles, used).map((r) => r["gender"])).toEqual(["female", "male", NO_ANSWER, NO_ANSWER, "female"]);
    // Shares of every variable still sum to 1.
    for (const shares of Object.values(used)) expect(Object.values(shares).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
  });

  it("is rakedProportion on those margins: the same p, se and effective n", () => {
    const profiles = Array.from({ length: 60 }, (_, i) => ({ gender: i % 3 === 0 ? "male" : i % 7 === 0 ? "prefer_not" : "female", age: i % 4 === 0 ? "young" : "old" }));
    const y = profiles.map((_, i) => ((i * 7) % 5 < 2 ? 1 : 0) as 0 | 1);
    const cell = weightCell(y, profiles, margins);
    expect(cell.ok).toBe(true);
    if (!cell.ok) return;
    const direct = rakedProportion(y, rakingRows(profiles, cell.margins), cell.margins);
    expect(cell.estimate).toEqual(direct);
    expect(cell.estimate.weights.reduce((a, b) => a + b, 0)).toBeCloseTo(60, 9);
  });

  it("says why a cell cannot be weighted: a targeted level nobody is in, too few respondents, no profile answers", () => {
    const onlyWomen = Array.from({ length: 10 }, () => ({ gender: "female", age: "old" }));
    expect(weightCell(onlyWomen.map(() => 1 as const), onlyWomen, margins)).toEqual({ ok: false, problem: { kind: "empty_level", variable: "gender", level: "male" } });
    expect(weightCell([1], [{ gender: "female" }], margins)).toEqual({ ok: false, problem: { kind: "too_few" } });
    expect(weightCell([1, 0], [{}, {}], margins)).toEqual({ ok: false, problem: { kind: "no_profile_answers" } });
  });

  it("leaves out a variable nobody answered and weights by the others", () => {
    const profiles = Array.from({ length: 20 }, (_, i) => ({ age: i < 5 ? "young" : "old" }));
    const cell = weightCell(profiles.map((_, i) => (i % 2) as 0 | 1), profiles, margins);
    expect(cell.ok && Object.keys(cell.margins)).toEqual(["age"]);
  });
});
