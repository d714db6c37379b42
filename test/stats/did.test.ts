import { describe, expect, it } from "vitest";
import { differenceInDifferences } from "../../stats/index.js";
import type { DidInput } from "../../stats/index.js";
import { errorTracker, loadFixture, num } from "./helpers.js";
import type { FixtureNumber } from "./helpers.js";

type Case = DidInput & {
  conf: number;
  estimate: number;
  se: number;
  z: FixtureNumber;
  pValue: number;
  lower: number;
  upper: number;
};

// Expected values: R 4.2.2 (generate.R), est = (pE2 - pE1) - (pC2 - pC1), se = sqrt(sum p(1 - p)/n),
// p = 2 * pnorm(-|z|), interval est +- qnorm((1 + conf)/2) * se; for every case the script asserts
// that the interaction coefficient of y ~ e * t fitted by weighted least squares on the cell means,
// with the HC0 sandwich variance (what lm() + sandwich::vcovHC(type = "HC0") give on
// respondent-level data), has the same estimate (1e-10) and standard error (1e-10 relative).
const fixture = loadFixture<Case>("did");

describe("differenceInDifferences", () => {
  const check = errorTracker("differenceInDifferences vs R");

  it(`matches R on ${fixture.cases.length} cases`, () => {
    expect(fixture.cases.length).toBeGreaterThanOrEqual(60);
    for (const [i, c] of fixture.cases.entries()) {
      const r = differenceInDifferences({ exposed: c.exposed, control: c.control }, { conf: c.conf });
      const what = `case ${i}`;
      // Differences of proportions: compare on the scale of the proportions.
      expect(Math.abs(r.estimate - c.estimate), `${what}.estimate`).toBeLessThan(1e-15);
      check(r.se, c.se, 1e-9, `${what}.se`);
      if (c.se > 0 && Math.abs(c.estimate) > 1e-9) check(r.z, num(c.z), 1e-9, `${what}.z`);
      if (c.se > 0 && Math.abs(c.estimate) > 1e-9) check(r.pValue, c.pValue, 1e-9, `${what}.pValue`);
      if (c.se === 0) expect(r.z).toBe(num(c.z));
      expect(Math.abs(r.lower - c.lower), `${what}.lower`).toBeLessThan(1e-14);
      expect(Math.abs(r.upper - c.upper), `${what}.upper`).toBeLessThan(1e-14);
    }
  });

  it("doc example: 30% -> 38% exposed, 31% -> 32% control, n = 1000 each", () => {
    // > e <- 0.08 - 0.01; se <- sqrt(.3*.7/1000 + .38*.62/1000 + .31*.69/1000 + .32*.68/1000)
    // > c(e, se, e/se, 2*pnorm(-e/se), e - qnorm(.975)*se, e + qnorm(.975)*se)
    // 0.0700000000000000 0.0296158741218286 2.3635972962353278 0.0180984736029768 0.0119539533505441 0.1280460466494560
    const r = differenceInDifferences({
      exposed: { pre: { x: 300, n: 1000 }, post: { x: 380, n: 1000 } },
      control: { pre: { x: 310, n: 1000 }, post: { x: 320, n: 1000 } },
    });
    expect(r.estimate).toBeCloseTo(0.07, 15);
    expect(r.se).toBeCloseTo(0.0296158741218286, 15);
    expect(r.z).toBeCloseTo(2.3635972962353278, 13);
    expect(r.pValue).toBeCloseTo(0.0180984736029768, 15);
    expect(r.lower).toBeCloseTo(0.0119539533505441, 15);
    expect(r.upper).toBeCloseTo(0.128046046649456, 15);
  });

  it("changes sign when exposed and control swap, and contains the estimate", () => {
    for (const c of fixture.cases) {
      const r = differenceInDifferences({ exposed: c.exposed, control: c.control });
      const swapped = differenceInDifferences({ exposed: c.control, control: c.exposed });
      expect(swapped.estimate).toBeCloseTo(-r.estimate, 14);
      expect(swapped.pValue).toBeCloseTo(r.pValue, 12);
      expect(r.lower).toBeLessThanOrEqual(r.estimate);
      expect(r.upper).toBeGreaterThanOrEqual(r.estimate);
    }
  });

  it("throws a RangeError naming the argument", () => {
    const ok = { x: 1, n: 10 };
    expect(() => differenceInDifferences({ exposed: { pre: ok, post: { x: 1, n: 0 } }, control: { pre: ok, post: ok } })).toThrow(
      new RangeError("differenceInDifferences: exposed.post.n must be a positive integer, got 0"),
    );
    expect(() => differenceInDifferences({ exposed: { pre: ok, post: ok }, control: { pre: { x: 11, n: 10 }, post: ok } })).toThrow(
      /control\.pre\.x must be an integer from 0 to control\.pre\.n \(10\), got 11/,
    );
    expect(() => differenceInDifferences({ exposed: { pre: ok, post: ok }, control: { pre: ok, post: ok } }, { conf: 2 })).toThrow(/conf/);
    expect(() => differenceInDifferences({ exposed: { pre: ok, post: ok } } as unknown as DidInput)).toThrow(/control\.pre must be an object/);
  });
});
