import { describe, expect, it } from "vitest";
import { minimumDetectableLift, sampleSizeTwoProportions, wilson } from "../../stats/index.js";
import { baselineLevels, detectability, type FieldworkCount } from "../../server/services/fieldwork-status.js";

/**
 * The pure part of "results during fieldwork": baseline shares with Wilson intervals, and "lift
 * detectable yet?" at the verdict's per-row level alpha / k. Checked against the R-verified stats
 * functions and, where noted, against R itself.
 */

const a3 = 0.05 / 3;
const c = (metric: string, segment: string, x: number, n: number): FieldworkCount => ({ metric, segment, x, n });

describe("baselineLevels", () => {
  it("gives each metric × segment its share and Wilson interval, in order, leaving out empty cells", () => {
    const cells = baselineLevels(["aware", "fav"], ["subs", "active", "inactive"], [c("fav", "subs", 20, 40), c("aware", "active", 1, 10), c("aware", "subs", 12, 40), c("aware", "inactive", 0, 0)], 0.95);
    expect(cells.map((x) => `${x.metric}:${x.segment}`)).toEqual(["aware:subs", "aware:active", "fav:subs"]);
    const subs = cells[0]!;
    expect(subs).toMatchObject({ x: 12, n: 40, share: 0.3 });
    // R: prop.test(12, 40, correct = FALSE)$conf.int = 0.18074845229746531 0.45430018818144935
    expect(subs.lower).toBeCloseTo(0.18074845229746531, 14);
    expect(subs.upper).toBeCloseTo(0.45430018818144935, 14);
    expect(cells[1]).toMatchObject(wilson(1, 10, 0.95));
    expect(baselineLevels(["aware"], ["subs"], [c("aware", "subs", 12, 40)], 0.8)[0]).toMatchObject(wilson(12, 40, 0.8));
  });
});

describe("detectability", () => {
  const base = { alpha: 0.05, familySize: 3, metrics: ["aware"], segments: ["subs"] } as const;

  it("plans at alpha / k: not yet, with the respondents per wave sampleSizeTwoProportions gives at that level", () => {
    const d = detectability({ ...base, targetLift: 0.05, pre: [c("aware", "subs", 12, 40)], post: [c("aware", "subs", 5, 10)] });
    expect(d.planningAlpha).toBe(a3);
    expect(d.power).toBe(0.8);
    const row = d.rows[0]!;
    const needed = Math.ceil(sampleSizeTwoProportions({ p1: 0.3, p2: 0.35, alpha: a3, power: 0.8 }));
    // R: power.prop.test(p1 = 0.3, p2 = 0.35, power = 0.8, sig.level = 0.05/3, tol = 1e-12)$n = 1835.9672214778006
    expect(needed).toBe(1836);
    expect(row).toMatchObject({ status: "not_yet", neededPerWave: 1836, morePerWave: 1836 - 10, preN: 40, postN: 10, baseline: 0.3, harmonicN: 16 });
    // R: power.prop.test(n = 16, p1 = 0.3, power = 0.8, sig.level = 0.05/3, tol = 1e-14)$p2 - 0.3 = 0.54212189063550853
    expect(row.minimumDetectableLift).toBeCloseTo(0.54212189063550853, 9);
    // At the unadjusted 0.05 fewer would do: the status is stricter than a per-test plan.
    expect(Math.ceil(sampleSizeTwoProportions({ p1: 0.3, p2: 0.35 }))).toBeLessThan(needed);
  });

  it("says yes once the minimum detectable lift at alpha / k is at or below the target", () => {
    const d = detectability({ ...base, targetLift: 0.25, pre: [c("aware", "subs", 30, 100)], post: [c("aware", "subs", 40, 100)] });
    const row = d.rows[0]!;
    // R: power.prop.test(n = 100, p1 = 0.3, power = 0.8, sig.level = 0.05/3, tol = 1e-14)$p2 - 0.3 = 0.22367438284447888
    expect(row.minimumDetectableLift).toBeCloseTo(0.22367438284447888, 9);
    expect(row.minimumDetectableLift).toBe(minimumDetectableLift({ p1: 0.3, n: 100, alpha: a3 }));
    // R: power.prop.test(p1 = 0.3, p2 = 0.55, power = 0.8, sig.level = 0.05/3, tol = 1e-12)$n = 80.49025710251918
    expect(row).toMatchObject({ status: "yes", neededPerWave: 81, morePerWave: null });
    // The boundary: just below the needed n per wave it is not yet, at it yes.
    const at = (n: number) => detectability({ ...base, targetLift: 0.25, pre: [c("aware", "subs", 0.3 * 1000, 1000)], post: [c("aware", "subs", 1, n)] });
    const hm = (n: number) => 2 / (1 / 1000 + 1 / n);
    const justBelow = [...Array(200).keys()].find((n) => n > 0 && hm(n + 1) >= 80.49025710251918)!;
    expect(at(justBelow).rows[0]!.status).toBe("not_yet");
    expect(at(justBelow + 1).rows[0]!.status).toBe("yes");
  });

  it("uses the family size given: one segment plans at alpha itself", () => {
    const d = detectability({ ...base, familySize: 1, targetLift: 0.05, pre: [c("aware", "subs", 12, 40)], post: [] });
    expect(d.planningAlpha).toBe(0.05);
    expect(d.rows[0]).toMatchObject({ status: "not_yet", postN: 0, harmonicN: 0, minimumDetectableLift: null, neededPerWave: Math.ceil(sampleSizeTwoProportions({ p1: 0.3, p2: 0.35 })) });
    expect(d.rows[0]!.morePerWave).toBe(d.rows[0]!.neededPerWave);
  });

  it("without a target gives the lift detectable now; without a baseline or past 100% it says why", () => {
    const none = detectability({ ...base, targetLift: null, pre: [c("aware", "subs", 30, 100)], post: [c("aware", "subs", 40, 100)] });
    expect(none.rows[0]).toMatchObject({ status: "no_target", neededPerWave: null, morePerWave: null });
    expect(none.rows[0]!.minimumDetectableLift).toBe(minimumDetectableLift({ p1: 0.3, n: 100, alpha: a3 }));
    const empty = detectability({ ...base, segments: ["subs", "other"], targetLift: 0.05, pre: [c("aware", "subs", 30, 100)], post: [] });
    expect(empty.rows.map((r) => r.status)).toEqual(["not_yet", "no_baseline"]);
    const high = detectability({ ...base, targetLift: 0.2, pre: [c("aware", "subs", 90, 100)], post: [c("aware", "subs", 90, 100)] });
    expect(high.rows[0]!.status).toBe("out_of_range");
  });
});
