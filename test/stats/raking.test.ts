import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { kishEffectiveN, rake, rakedProportion, RakingDidNotConverge } from "../../stats/index.js";
import type { RakingMargins, RakingRow } from "../../stats/index.js";
import { errorTracker, loadFixture, relativeError } from "./helpers.js";

type Case = {
  label: string;
  n: number;
  /** false: R's rake stopped (its table no longer changed) with the margins unmet by rMaxDifference. */
  converged: boolean;
  margins: Record<string, Record<string, number>>;
  /** Per variable, each row's level as an index into that variable's levels in `margins`. */
  columns: Record<string, number[]>;
  y: number[];
  weights?: number[];
  p?: number;
  se?: number;
  nEff?: number;
  rMaxDifference?: number;
};

// Expected values: R 4.2.2, survey 4.1.1 (generate.R, raking section):
//   r <- rake(svydesign(ids = ~1, weights = ~1, data = d), list(~v1, ...),
//             list(data.frame(v1 = levels, Freq = share * n), ...), control = list(maxit = 5000, epsilon = 1e-13))
//   weights(r); coef(svymean(~y, r)); SE(svymean(~y, r)); nEff = sum(w)^2 / sum(w^2)
// n = 20, 50, 200, 2000 with 1-3 variables of 2-5 levels, samples tilted away from the margins
// (weights up to 33), plus unit weights, a level of share 0, y = 1 for all, and margins that cannot be met.
const fixture = loadFixture<Case>("raking");

function rowsOf(c: Case): RakingRow[] {
  const variables = Object.keys(c.margins);
  return Array.from({ length: c.n }, (_, i) =>
    Object.fromEntries(variables.map((v) => [v, Object.keys(c.margins[v]!)[c.columns[v]![i]!]!])),
  );
}

describe("rake and rakedProportion against R's survey package", () => {
  const checkWeights = errorTracker("rake weights vs survey::rake");
  const checkSe = errorTracker("rakedProportion se vs SE(svymean(~y, rake(...)))");
  const checkP = errorTracker("rakedProportion p vs coef(svymean(~y, rake(...)))");
  const checkNEff = errorTracker("kishEffectiveN of the raked weights");

  it(`matches R on all ${fixture.cases.length} cases, with the default convergence rule`, () => {
    expect(fixture.cases.length).toBe(26);
    expect(new Set(fixture.cases.map((c) => c.n))).toEqual(new Set([20, 50, 200, 2000, 12, 8]));
    for (const c of fixture.cases.filter((c) => c.converged)) {
      const rows = rowsOf(c);
      const r = rakedProportion(c.y, rows, c.margins);
      expect(r.weights).toHaveLength(c.n);
      for (const [i, w] of r.weights.entries()) checkWeights(w, c.weights![i]!, 1e-8, `${c.label}: weights[${i}]`);
      checkSe(r.se, c.se!, 1e-6, `${c.label}: se`);
      checkP(r.p, c.p!, 1e-9, `${c.label}: p`);
      checkNEff(r.nEff, c.nEff!, 1e-8, `${c.label}: nEff`);
      expect(rake(rows, c.margins)).toEqual(r.weights);
    }
  });

  it("throws RakingDidNotConverge where R's rake stops with the margins unmet", () => {
    const unmet = fixture.cases.filter((c) => !c.converged);
    expect(unmet).toHaveLength(1);
    for (const c of unmet) {
      // R stopped because its table stopped changing, 0.233 from the device margin, without a warning.
      let error: unknown;
      try {
        rake(rowsOf(c), c.margins);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(RakingDidNotConverge);
      const e = error as RakingDidNotConverge;
      expect(e.iterations).toBe(100);
      expect(e.variable).toBe("device");
      expect(relativeError(e.maxDifference, c.rMaxDifference!)).toBeLessThan(1e-9);
      expect(() => rakedProportion(c.y, rowsOf(c), c.margins)).toThrow(RakingDidNotConverge);
    }
  });

  it("first documented example by hand", () => {
    // > d <- data.frame(g = c("f", "f", "m", "m"), y = c(1, 0, 0, 1))
    // > r <- rake(svydesign(ids = ~1, weights = ~1, data = d), list(~g), list(data.frame(g = c("f", "m"), Freq = c(.3, .7) * 4)))
    // > weights(r): 0.6 0.6 1.4 1.4; coef(svymean(~y, r)): 0.5; SE: 0.31091263510296047
    const r = rakedProportion([1, 0, 0, 1], [{ g: "f" }, { g: "f" }, { g: "m" }, { g: "m" }], { g: { f: 0.3, m: 0.7 } });
    expect(r.weights).toEqual([0.6, 0.6, 1.4, 1.4]);
    expect(r.p).toBeCloseTo(0.5, 15);
    expect(relativeError(r.se, 0.31091263510296047)).toBeLessThan(1e-14);
    expect(r.nEff).toBeCloseTo(16 / 4.64, 13);
    expect(rake([{ g: "f" }, { g: "m" }, { g: "m" }, { g: "m" }], { g: { f: 0.5, m: 0.5 } })).toEqual([2, 2 / 3, 2 / 3, 2 / 3]);
  });
});

// ---------------------------------------------------------------- properties
const VARIABLES = ["age", "gender", "region"] as const;

/**
 * A random raking problem: 1-3 variables of 2-5 levels with random positive shares; the rows hold
 * every combination of levels once (so the margins can always be met) and up to 150 random rows more.
 */
const problem = fc
  .record({
    levels: fc.array(fc.integer({ min: 2, max: 5 }), { minLength: 1, maxLength: 3 }),
    shares: fc.array(fc.array(fc.integer({ min: 1, max: 100 }), { minLength: 5, maxLength: 5 }), { minLength: 3, maxLength: 3 }),
    extra: fc.array(fc.array(fc.nat(), { minLength: 3, maxLength: 3 }), { maxLength: 150 }),
    bits: fc.array(fc.boolean(), { minLength: 275, maxLength: 275 }),
  })
  .map(({ levels, shares, extra, bits }) => {
    const margins: Record<string, Record<string, number>> = {};
    levels.forEach((k, v) => {
      const raw = shares[v]!.slice(0, k);
      const total = raw.reduce((s, x) => s + x, 0);
      margins[VARIABLES[v]!] = Object.fromEntries(raw.map((x, g) => [`L${g}`, x / total]));
    });
    let combos: number[][] = [[]];
    for (const k of levels) combos = combos.flatMap((c) => Array.from({ length: k }, (_, g) => [...c, g]));
    const cells = [...combos, ...extra.map((e) => levels.map((k, v) => e[v]! % k))];
    const rows: RakingRow[] = cells.map((c) => Object.fromEntries(c.map((g, v) => [VARIABLES[v]!, `L${g}`])));
    const y = rows.map((_, i) => (bits[i] ? 1 : 0));
    return { margins, rows, y };
  });

function weightedShares(rows: readonly RakingRow[], weights: readonly number[], variable: string): Map<string, number> {
  const total = weights.reduce((s, w) => s + w, 0);
  const shares = new Map<string, number>();
  rows.forEach((row, i) => shares.set(row[variable]!, (shares.get(row[variable]!) ?? 0) + weights[i]! / total));
  return shares;
}

describe("rake: properties", () => {
  it("weights are positive, sum to n, and meet every margin within the tolerance", () => {
    fc.assert(
      fc.property(problem, ({ margins, rows }) => {
        const weights = rake(rows, margins);
        expect(weights.every((w) => w > 0)).toBe(true);
        const n = rows.length;
        expect(Math.abs(weights.reduce((s, w) => s + w, 0) - n)).toBeLessThan(1e-9 * n);
        for (const [variable, targets] of Object.entries(margins)) {
          const shares = weightedShares(rows, weights, variable);
          for (const [level, target] of Object.entries(targets)) {
            expect(Math.abs(shares.get(level)! - target)).toBeLessThan(1e-10);
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  it("gives unit weights when the sample already has the margins' make-up", () => {
    fc.assert(
      fc.property(problem, ({ margins, rows }) => {
        const own: Record<string, Record<string, number>> = {};
        for (const variable of Object.keys(margins)) {
          own[variable] = Object.fromEntries(weightedShares(rows, rows.map(() => 1), variable));
        }
        for (const w of rake(rows, own)) expect(Math.abs(w - 1)).toBeLessThan(1e-12);
      }),
      { numRuns: 100 },
    );
  });

  it("does not depend on the order of the rows", () => {
    fc.assert(
      fc.property(problem, ({ margins, rows, y }) => {
        const r = rakedProportion(y, rows, margins);
        const reversed = rakedProportion([...y].reverse(), [...rows].reverse(), margins);
        reversed.weights.reverse().forEach((w, i) => expect(relativeError(w, r.weights[i]!)).toBeLessThan(1e-12));
        expect(Math.abs(reversed.p - r.p)).toBeLessThan(1e-13);
        expect(Math.abs(reversed.se - r.se)).toBeLessThan(1e-13);
      }),
      { numRuns: 100 },
    );
  });

  it("rakedProportion: p is the weighted share, se is finite, 1 <= nEff <= n", () => {
    fc.assert(
      fc.property(problem, ({ margins, rows, y }) => {
        const r = rakedProportion(y, rows, margins);
        const total = r.weights.reduce((s, w) => s + w, 0);
        const p = r.weights.reduce((s, w, i) => s + w * y[i]!, 0) / total;
        expect(Math.abs(r.p - p)).toBeLessThan(1e-13);
        expect(Number.isFinite(r.se) && r.se >= 0).toBe(true);
        expect(r.nEff).toBeGreaterThanOrEqual(1);
        expect(r.nEff).toBeLessThanOrEqual(rows.length * (1 + 1e-12));
        expect(r.nEff).toBe(kishEffectiveN(r.weights));
      }),
      { numRuns: 100 },
    );
  });
});

describe("rake: convergence rule and RakingDidNotConverge", () => {
  // Age and student status coincide in this sample (every 18-24 is a student and no one else),
  // so no weights can give 40% aged 18-24 and 20% students.
  const rows: RakingRow[] = [
    ...Array.from({ length: 5 }, () => ({ age: "18-24", student: "yes" })),
    ...Array.from({ length: 15 }, () => ({ age: "25+", student: "no" })),
  ];
  const margins: RakingMargins = { age: { "18-24": 0.4, "25+": 0.6 }, student: { yes: 0.2, no: 0.8 } };

  it("throws after maxIterations passes, naming the level furthest from its target", () => {
    let error: unknown;
    try {
      rake(rows, margins, { maxIterations: 30 });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(RakingDidNotConverge);
    expect(error).toBeInstanceOf(Error);
    const e = error as RakingDidNotConverge;
    expect(e.name).toBe("RakingDidNotConverge");
    expect(e.iterations).toBe(30);
    // After a pass the student margin (adjusted last) is met, age is off by 0.2.
    expect(e.variable).toBe("age");
    expect(e.maxDifference).toBeCloseTo(0.2, 12);
    expect(e.message).toMatch(/raking did not converge after 30 iterations: the weighted share of age = (18-24|25\+) is still 2\.00e-1 from its target \(tolerance 1e-10\)/);
  });

  it("one variable converges in one pass; several need more, and a tolerance tighter than double precision cannot be met", () => {
    expect(rake(rows, { age: margins.age! }, { maxIterations: 1 })).toEqual([...Array(5).fill(1.6), ...Array(15).fill(0.8)]);
    const rows2: RakingRow[] = [
      { a: "x", b: "u" }, { a: "x", b: "u" }, { a: "x", b: "v" }, { a: "y", b: "u" }, { a: "y", b: "v" }, { a: "y", b: "v" },
    ];
    const margins2 = { a: { x: 0.3, y: 0.7 }, b: { u: 0.6, v: 0.4 } };
    expect(() => rake(rows2, margins2, { maxIterations: 1 })).toThrow(RakingDidNotConverge);
    const weights = rake(rows2, margins2);
    expect(weights.reduce((s, w) => s + w, 0)).toBeCloseTo(6, 12);
    expect(() => rake(rows2, margins2, { tolerance: 1e-30 })).toThrow(/after 100 iterations/);
  });

  it("rescales shares that miss 1 by less than 1e-9 (rounded percentages)", () => {
    const r = rake(rows, { age: { "18-24": 0.4 + 5e-10, "25+": 0.6 } });
    expect(r.reduce((s, w) => s + w, 0)).toBeCloseTo(20, 12);
    expect(() => rake(rows, { age: { "18-24": 0.4 + 2e-9, "25+": 0.6 } })).toThrow(RangeError);
  });

  it("ignores a level with share 0 and no respondents, and keys of the rows that are not margins", () => {
    const withExtra = rows.map((row, i) => ({ ...row, region: i % 2 ? "north" : "south" }));
    expect(rake(withExtra, { age: { "18-24": 0.4, "25+": 0.6, unknown: 0 } })).toEqual(rake(rows, { age: margins.age! }));
  });
});

describe("kishEffectiveN", () => {
  it("is n for equal weights, whatever their size, and at most n otherwise", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5000 }), fc.double({ min: 1e-3, max: 1e3, noNaN: true }), (n, w) => {
        expect(relativeError(kishEffectiveN(Array(n).fill(w)), n)).toBeLessThan(1e-12);
      }),
    );
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 100, noNaN: true }), { minLength: 1, maxLength: 300 }), (weights) => {
        fc.pre(weights.some((w) => w > 0));
        const nEff = kishEffectiveN(weights);
        expect(nEff).toBeLessThanOrEqual(weights.length * (1 + 1e-12));
        expect(relativeError(kishEffectiveN(weights.map((w) => w * 7)), nEff)).toBeLessThan(1e-12);
      }),
    );
  });

  it("example: one weight 2 and three 2/3", () => {
    // (2 + 3 * 2/3)² / (4 + 3 * 4/9) = 16 / (16/3) = 3
    expect(kishEffectiveN([2, 2 / 3, 2 / 3, 2 / 3])).toBeCloseTo(3, 14);
  });

  it("throws a RangeError naming the argument", () => {
    expect(() => kishEffectiveN([])).toThrow(new RangeError("kishEffectiveN: weights must be a non-empty array, got []"));
    expect(() => kishEffectiveN([1, -1])).toThrow(new RangeError("kishEffectiveN: weights[1] must be a finite number of at least 0, got -1"));
    expect(() => kishEffectiveN([1, Number.NaN])).toThrow(/weights\[1\] must be a finite number/);
    expect(() => kishEffectiveN([0, 0])).toThrow(new RangeError("kishEffectiveN: weights must not all be 0"));
  });
});

describe("bad input throws a RangeError naming the argument", () => {
  const rows: RakingRow[] = [
    { gender: "female", device: "mobile" },
    { gender: "male", device: "mobile" },
    { gender: "male", device: "desktop" },
    { gender: "female", device: "desktop" },
  ];
  const margins: RakingMargins = { gender: { female: 0.5, male: 0.5 }, device: { mobile: 0.7, desktop: 0.3 } };
  const y = [1, 0, 0, 1];

  it("rows", () => {
    expect(() => rake([], margins)).toThrow(new RangeError("rake: rows must be a non-empty array of respondents, got []"));
    expect(() => rake([...rows, { gender: "other", device: "mobile" }], margins)).toThrow(
      new RangeError('rake: rows[4].gender is "other", which is not a level of margins.gender ("female", "male")'),
    );
    expect(() => rake([...rows, { gender: "male" }], margins)).toThrow(
      new RangeError("rake: rows[4].device must be a level of margins.device, got undefined"),
    );
    expect(() => rake([...rows, null as unknown as RakingRow], margins)).toThrow(/rake: rows\[4\] must be an object/);
    // Inherited properties are not levels.
    expect(() => rake([{}], { toString: { a: 1 } })).toThrow(/rake: rows\[0\]\.toString must be a level of margins\.toString, got undefined/);
  });

  it("margins", () => {
    expect(() => rake(rows, {})).toThrow(new RangeError("rake: margins must name at least one variable"));
    expect(() => rake(rows, { ...margins, device: { mobile: 0.7, desktop: 0.2 } })).toThrow(
      /^rake: the shares of margins\.device must sum to 1, got 0\.8999/,
    );
    expect(() => rake(rows, { ...margins, device: { mobile: 1.2, desktop: -0.2 } })).toThrow(
      new RangeError('rake: margins.device["desktop"] must be a share from 0 to 1, got -0.2'),
    );
    expect(() => rake(rows, { ...margins, device: { mobile: 0.5, desktop: 0.3, tablet: 0.2 } })).toThrow(
      new RangeError(
        'rake: margins.device["tablet"] is 0.2 but no row has that level (an empty cell cannot be weighted up: merge the level with a neighbour or leave the variable out)',
      ),
    );
    expect(() => rake(rows, { ...margins, device: { mobile: 1, desktop: 0 } })).toThrow(
      new RangeError('rake: margins.device["desktop"] is 0 but 2 row(s) have that level (a population share of 0 cannot hold respondents)'),
    );
    expect(() => rake(rows, { gender: [0.5, 0.5] as unknown as Record<string, number> })).toThrow(/margins\.gender must be an object level -> share/);
    expect(() => rake(rows, null as unknown as RakingMargins)).toThrow(/rake: margins must be an object/);
  });

  it("options", () => {
    expect(() => rake(rows, margins, { maxIterations: 0 })).toThrow(new RangeError("rake: options.maxIterations must be a positive integer, got 0"));
    expect(() => rake(rows, margins, { maxIterations: 2.5 })).toThrow(/options\.maxIterations/);
    expect(() => rake(rows, margins, { tolerance: 0 })).toThrow(new RangeError("rake: options.tolerance must be a finite number greater than 0, got 0"));
  });

  it("y and the rows of rakedProportion", () => {
    expect(rakedProportion(y, rows, margins).p).toBeCloseTo(0.5, 15);
    expect(() => rakedProportion([1, 0, 0.5, 1], rows, margins)).toThrow(new RangeError("rakedProportion: y[2] must be 0 or 1, got 0.5"));
    expect(() => rakedProportion([1, 0, true as unknown as number, 1], rows, margins)).toThrow(/y\[2\] must be 0 or 1, got true/);
    expect(() => rakedProportion([1, 0, 0], rows, margins)).toThrow(
      new RangeError("rakedProportion: y must have one value per row: y has 3, rows has 4"),
    );
    expect(() => rakedProportion([1], [rows[0]!], { gender: { female: 1 } })).toThrow(
      new RangeError("rakedProportion: rows must have at least 2 respondents for a standard error, got 1"),
    );
    expect(() => rakedProportion(y, rows, { gender: { female: 0.5, male: 0.5, other: 0.1 } })).toThrow(/^rakedProportion: the shares of margins\.gender/);
  });
});
