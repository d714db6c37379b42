import { describe, expect, it } from "vitest";
import { headroomLift, newcombeDiff, relativeLift } from "../../stats/index.js";
import { errorTracker, loadFixture, num, type FixtureNumber } from "./helpers.js";

interface Expected {
  estimate: number;
  lower: number;
  upper: FixtureNumber;
}
interface Case {
  x1: number;
  n1: number;
  x2: number;
  n2: number;
  conf: number;
  relative: Expected | null;
  headroom: Expected | null;
}

// Expected values: the MOVER-R defining equations solved by uniroot in R 4.2.2 from prop.test's
// Wilson limits (generate.R), not the closed form stats/ratio-lift.ts uses.
const fixture = loadFixture<Case>("ratio-lift");

describe("relativeLift and headroomLift", () => {
  const check = errorTracker("ratio lifts vs R");

  it(`match R on ${fixture.cases.length} cases`, () => {
    for (const c of fixture.cases) {
      const args = [c.x1, c.n1, c.x2, c.n2, c.conf] as const;
      for (const [name, got, want] of [
        ["relativeLift", relativeLift(...args), c.relative],
        ["headroomLift", headroomLift(...args), c.headroom],
      ] as const) {
        const what = `${name}(${args.join(", ")})`;
        if (want === null) {
          expect(got, what).toBeNull();
          continue;
        }
        expect(got, what).not.toBeNull();
        check(got!.estimate, want.estimate, 1e-12, `${what}.estimate`);
        // Limits near 0 are 1 - a ratio near 1, where both the closed form (a discriminant near 0)
        // and uniroot (absolute tolerance) lose relative digits: compare those absolutely, to 1e-10.
        for (const f of ["lower", "upper"] as const) {
          const wanted = num(want[f]);
          if (!Number.isFinite(wanted)) expect(got![f], `${what}.${f}`).toBe(wanted);
          else if (Math.abs(wanted) < 1e-3) expect(Math.abs(got![f] - wanted), `${what}.${f}`).toBeLessThan(1e-10);
          else check(got![f], wanted, 1e-9, `${what}.${f}`);
        }
      }
    }
  });

  it("excludes 0 exactly when Newcombe's interval at the same level does", () => {
    for (const c of fixture.cases) {
      const ci = newcombeDiff(c.x1, c.n1, c.x2, c.n2, c.conf);
      const changed = ci.lower > 0 || ci.upper < 0;
      for (const lift of [relativeLift(c.x1, c.n1, c.x2, c.n2, c.conf), headroomLift(c.x1, c.n1, c.x2, c.n2, c.conf)]) {
        if (lift === null) continue;
        expect(lift.lower > 0 || lift.upper < 0, `${c.x1}/${c.n1} -> ${c.x2}/${c.n2} at ${c.conf}`).toBe(changed);
      }
    }
  });

  it("is null where the ratio is undefined", () => {
    expect(relativeLift(0, 50, 5, 50)).toBeNull();
    expect(headroomLift(50, 50, 45, 50)).toBeNull();
    expect(headroomLift(0, 50, 5, 50)!.estimate).toBeCloseTo(0.1, 15);
  });
});
