import { describe, expect, it } from "vitest";
import { minimumDetectableLift, powerTwoProportions, sampleSizeTwoProportions } from "../../stats/index.js";
import { errorTracker, loadFixture, type MdlCase, type SampleSizeCase } from "./helpers.js";

interface PowerCase {
  p1: number;
  p2: number;
  n: number;
  alpha: number;
  power: number;
}

// Expected values: R 4.2.2 power.prop.test (generate.R): $power; $n with uniroot tol = 1e-12 (and
// with R's default tol); $p2 - p1 with tol = 1e-14, null when no p2 <= 1 reaches the power.
const powerFixture = loadFixture<PowerCase>("power");
const sampleSizeFixture = loadFixture<SampleSizeCase>("sample-size");
const mdlFixture = loadFixture<MdlCase>("minimum-detectable-lift");

describe("powerTwoProportions", () => {
  const check = errorTracker("powerTwoProportions vs R power.prop.test");

  it(`matches R on ${powerFixture.cases.length} cases`, () => {
    expect(powerFixture.cases.length).toBeGreaterThanOrEqual(60);
    for (const c of powerFixture.cases) {
      const power = powerTwoProportions({ p1: c.p1, p2: c.p2, n: c.n, alpha: c.alpha });
      check(power, c.power, 1e-9, `powerTwoProportions(${c.p1}, ${c.p2}, ${c.n}, ${c.alpha})`);
    }
  });

  it("doc example: > power.prop.test(n = 500, p1 = 0.3, p2 = 0.35)$power  0.392636698683428", () => {
    expect(powerTwoProportions({ p1: 0.3, p2: 0.35, n: 500 })).toBeCloseTo(0.392636698683428, 14);
  });

  it("is alpha/2 with no difference and increases with n", () => {
    expect(powerTwoProportions({ p1: 0.4, p2: 0.4, n: 100 })).toBe(0.025);
    let previous = 0;
    for (const n of [10, 100, 1000, 10_000]) {
      const power = powerTwoProportions({ p1: 0.3, p2: 0.33, n });
      expect(power).toBeGreaterThan(previous);
      previous = power;
    }
  });

  it("throws a RangeError naming the argument", () => {
    expect(() => powerTwoProportions({ p1: 1.2, p2: 0.3, n: 10 })).toThrow(new RangeError("powerTwoProportions: p1 must be a number from 0 to 1, got 1.2"));
    expect(() => powerTwoProportions({ p1: 0.2, p2: NaN, n: 10 })).toThrow(/p2/);
    expect(() => powerTwoProportions({ p1: 0.2, p2: 0.3, n: 0 })).toThrow(/powerTwoProportions: n must be a finite number greater than 0, got 0/);
    expect(() => powerTwoProportions({ p1: 0.2, p2: 0.3, n: 10, alpha: 1 })).toThrow(/alpha/);
  });
});

describe("sampleSizeTwoProportions", () => {
  const check = errorTracker("sampleSizeTwoProportions vs R power.prop.test (tol 1e-12)");

  it(`matches R on ${sampleSizeFixture.cases.length} cases`, () => {
    expect(sampleSizeFixture.cases.length).toBeGreaterThanOrEqual(60);
    for (const c of sampleSizeFixture.cases) {
      const n = sampleSizeTwoProportions({ p1: c.p1, p2: c.p2, alpha: c.alpha, power: c.power });
      const what = `sampleSizeTwoProportions(${c.p1}, ${c.p2}, ${c.alpha}, ${c.power})`;
      check(n, c.n, 1e-9, what);
      // R's default uniroot tolerance is .Machine$double.eps^0.25 = 1.22e-4 on n.
      expect(Math.abs(n - c.nDefaultTol), `${what} vs default tol`).toBeLessThan(1.3e-4);
    }
  });

  it("doc example: > power.prop.test(p1 = 0.3, p2 = 0.35, power = 0.8, tol = 1e-12)$n  1376.2988682907192", () => {
    expect(sampleSizeTwoProportions({ p1: 0.3, p2: 0.35 })).toBeCloseTo(1376.2988682907192, 9);
  });

  it("round-trips with powerTwoProportions and is symmetric in p1, p2", () => {
    for (const c of sampleSizeFixture.cases) {
      const n = sampleSizeTwoProportions(c);
      // With p1, p2 both 0 or 1 the power jumps from 0 to 1 at this n, so there is nothing to round-trip.
      if (c.p1 * (1 - c.p1) + c.p2 * (1 - c.p2) === 0) continue;
      expect(powerTwoProportions({ p1: c.p1, p2: c.p2, n, alpha: c.alpha })).toBeCloseTo(c.power, 12);
      expect(sampleSizeTwoProportions({ ...c, p1: c.p2, p2: c.p1 })).toBeCloseTo(n, 8);
    }
  });

  it("throws a RangeError naming the argument", () => {
    expect(() => sampleSizeTwoProportions({ p1: 0.3, p2: 0.3 })).toThrow(/p1 and p2 must differ/);
    expect(() => sampleSizeTwoProportions({ p1: 0.3, p2: 0.4, power: 1 })).toThrow(new RangeError("sampleSizeTwoProportions: power must be a number strictly between 0 and 1, got 1"));
    expect(() => sampleSizeTwoProportions({ p1: 0.3, p2: 0.4, alpha: 0 })).toThrow(/alpha/);
    expect(() => sampleSizeTwoProportions({ p1: -0.1, p2: 0.4 })).toThrow(/p1/);
  });
});

describe("minimumDetectableLift", () => {
  const check = errorTracker("minimumDetectableLift vs R power.prop.test (tol 1e-14)");

  it(`matches R on ${mdlFixture.cases.length} cases`, () => {
    expect(mdlFixture.cases.length).toBeGreaterThanOrEqual(60);
    for (const c of mdlFixture.cases) {
      const lift = minimumDetectableLift({ p1: c.p1, n: c.n, alpha: c.alpha, power: c.power });
      const what = `minimumDetectableLift(${c.p1}, ${c.n}, ${c.alpha}, ${c.power})`;
      if (c.lift === null) {
        expect(lift, what).toBeNull();
      } else {
        expect(lift, what).not.toBeNull();
        check(lift!, c.lift as number, 1e-9, what);
      }
    }
  });

  it("doc example: > power.prop.test(n = 1000, p1 = 0.3, power = 0.8)$p2 - 0.3  0.05885254", () => {
    expect(minimumDetectableLift({ p1: 0.3, n: 1000 })).toBeCloseTo(0.058852537025756, 13);
  });

  it("gives exactly the requested power at p1 + lift, and shrinks as n grows", () => {
    for (const p1 of [0, 0.05, 0.3, 0.5, 0.9]) {
      let previous = Infinity;
      for (const n of [50, 200, 1000, 10_000, 100_000]) {
        const lift = minimumDetectableLift({ p1, n });
        if (lift === null) continue;
        expect(powerTwoProportions({ p1, p2: p1 + lift, n })).toBeCloseTo(0.8, 12);
        expect(lift).toBeLessThan(previous);
        previous = lift;
      }
    }
  });

  it("finds the smallest detectable lift: power rises monotonically in p2 on (p1, 1]", () => {
    // Grid check of the assumption behind a bracketing root search.
    for (const p1 of [0, 0.01, 0.2, 0.5, 0.8, 0.97]) {
      for (const n of [2, 10, 100, 10_000]) {
        let previous = 0;
        for (let k = 1; k <= 400; k++) {
          const p2 = p1 + ((1 - p1) * k) / 400;
          const power = powerTwoProportions({ p1, p2, n });
          expect(power).toBeGreaterThanOrEqual(previous - 1e-15);
          previous = power;
        }
      }
    }
  });

  it("returns null when even p2 = 1 is not detectable, or p1 = 1", () => {
    expect(minimumDetectableLift({ p1: 0.9, n: 10 })).toBeNull(); // R: p2 = 1.061723 with a warning
    expect(minimumDetectableLift({ p1: 1, n: 1000 })).toBeNull();
  });

  it("throws a RangeError naming the argument", () => {
    expect(() => minimumDetectableLift({ p1: 0.3, n: -5 })).toThrow(new RangeError("minimumDetectableLift: n must be a finite number greater than 0, got -5"));
    expect(() => minimumDetectableLift({ p1: 0.3, n: 100, power: 0.02 })).toThrow(/power must exceed alpha\/2/);
    expect(() => minimumDetectableLift({ p1: 2, n: 100 })).toThrow(/p1/);
  });
});
