/**
 * Raking (iterative proportional fitting) of one wave's respondents to population margins, the Kish
 * effective sample size, and a weighted proportion with the standard error of a raked design.
 *
 * Everything here is checked against R's survey package (4.1.1 on R 4.2.2):
 *   d <- svydesign(ids = ~1, weights = ~1, data = d)
 *   r <- rake(d, list(~age, ~gender), list(age_totals, gender_totals))   # totals = share x n
 *   weights(r); coef(svymean(~y, r)); SE(svymean(~y, r))
 * (test/fixtures/stats/generate.R, fixture raking.json).
 *
 * Stopping rule: R's rake stops when a pass no longer changes the weighted cross-table (by default by
 * less than 1 respondent, at most 10 passes, then only a warning); here a pass must bring every
 * weighted share within `tolerance` (1e-10) of its target, else RakingDidNotConverge is thrown. The
 * difference matters when the margins cannot be met: R then settles on weights that miss a target
 * (by 0.233 in the fixture case "whose margins cannot be met") without a warning; here that throws.
 *
 * Not here: trimming (capping) of extreme weights, and the fallback weight of respondents who did
 * not answer a profile question; callers rake only the rows that have every profile answer.
 */

/** One respondent: profile variable -> level, e.g. `{ age: "25-34", gender: "female" }`. Other keys are ignored. */
export type RakingRow = Readonly<Record<string, string>>;

/** Profile variable -> level -> population share; the shares of one variable sum to 1. */
export type RakingMargins = Readonly<Record<string, Readonly<Record<string, number>>>>;

export interface RakeOptions {
  /** Full passes over all variables before giving up, default 100. */
  maxIterations?: number;
  /**
   * Converged when, after a full pass, every level's weighted share is within `tolerance` of its
   * target share (absolute difference of shares); default 1e-10.
   */
  tolerance?: number;
}

export interface RakedProportion {
  /** Weighted share of y = 1: sum(w y) / sum(w). */
  p: number;
  /** Linearization standard error of p for the raked design, as R's `SE(svymean(~y, rake(...)))`. */
  se: number;
  /** Kish effective sample size of the weights, (sum w)² / sum w². */
  nEff: number;
  /** The raking weights in row order, summing to the number of rows. */
  weights: number[];
}

/** Default largest number of full raking passes. */
export const RAKING_MAX_ITERATIONS = 100;
/** Default convergence tolerance on the weighted shares. */
export const RAKING_TOLERANCE = 1e-10;
/**
 * The shares of one variable may miss 1 by this much (floating-point rounding, e.g. shares computed
 * as counts / total); they are then rescaled to sum to 1. Percentages rounded by hand (0.333 x 3)
 * miss by more and are refused: the caller rescales them and says so.
 */
export const SHARE_SUM_TOLERANCE = 1e-9;

/**
 * Thrown by `rake` and `rakedProportion` when `maxIterations` full passes leave some level's weighted
 * share further than `tolerance` from its target. This happens when the margins cannot be met by
 * reweighting this sample — typically two variables whose levels almost coincide in the sample
 * (every respondent aged 18-24 is a student) but not in the targets — or, rarely, when convergence
 * is merely slow: then a larger `maxIterations` helps.
 */
export class RakingDidNotConverge extends Error {
  override readonly name = "RakingDidNotConverge";
  /** Full passes made (= maxIterations). */
  readonly iterations: number;
  /** Largest |weighted share - target share| after the last pass. */
  readonly maxDifference: number;
  /** The variable and level where that largest difference was. */
  readonly variable: string;
  readonly level: string;

  constructor(iterations: number, maxDifference: number, variable: string, level: string, tolerance: number) {
    super(
      `raking did not converge after ${iterations} iterations: the weighted share of ${variable} = ${level} ` +
        `is still ${maxDifference.toExponential(2)} from its target (tolerance ${tolerance})`,
    );
    this.iterations = iterations;
    this.maxDifference = maxDifference;
    this.variable = variable;
    this.level = level;
  }
}

/**
 * Raking weights for `rows` so that each variable's weighted shares equal `margins`: iterative
 * proportional fitting (Deming & Stephan 1940). Weights start at 1; one pass adjusts the variables in
 * the order of `margins`' keys, multiplying the weights of each level by target share x n / current
 * weighted total of the level; passes repeat until every weighted share is within `tolerance` of its
 * target (the convergence rule of `RakeOptions`), else `RakingDidNotConverge` is thrown. The weights
 * sum to `rows.length`.
 *
 * A level with share 0 and no respondents is ignored (as R's postStratify drops it). Bad input throws
 * a RangeError naming the argument: a row without a level of a variable, a level not in the margins,
 * shares that are negative or do not sum to 1 within 1e-9, a level with a positive share but no
 * respondents (an empty cell cannot be weighted up), respondents in a level whose share is 0.
 *
 * Reference: W. E. Deming, F. F. Stephan (1940), Ann. Math. Statist. 11(4), 427-444; R survey::rake.
 *
 * @example rake([{ g: "f" }, { g: "m" }, { g: "m" }, { g: "m" }], { g: { f: 0.5, m: 0.5 } })
 *   // [2, 0.6666666666666666, 0.6666666666666666, 0.6666666666666666]
 */
export function rake(rows: readonly RakingRow[], margins: RakingMargins, options: RakeOptions = {}): number[] {
  const design = prepare("rake", rows, margins, options);
  return Array.from(fit(design));
}

/**
 * Kish's effective sample size of a set of weights, (sum w)² / sum w²: the number of equally
 * weighted respondents that would give a mean the same variance (for an outcome unrelated to the
 * weights). Equals n for equal weights and is smaller otherwise; n / nEff is Kish's design effect.
 *
 * Reference: L. Kish (1965), Survey Sampling, sec. 11.7.
 *
 * @example kishEffectiveN([2, 2 / 3, 2 / 3, 2 / 3]) // 2.999999999999999 (exactly 4² / (16/3) = 3)
 */
export function kishEffectiveN(weights: readonly number[]): number {
  const fn = "kishEffectiveN";
  if (!Array.isArray(weights) || weights.length === 0) {
    throw new RangeError(`${fn}: weights must be a non-empty array, got ${show(weights)}`);
  }
  let largest = 0;
  for (const [i, w] of weights.entries()) {
    if (typeof w !== "number" || !Number.isFinite(w) || w < 0) {
      throw new RangeError(`${fn}: weights[${i}] must be a finite number of at least 0, got ${show(w)}`);
    }
    largest = Math.max(largest, w);
  }
  if (largest === 0) throw new RangeError(`${fn}: weights must not all be 0`);
  // Scaled by the largest weight so that squares neither overflow nor underflow.
  let sum = 0;
  let sumSquares = 0;
  for (const w of weights) {
    sum += w / largest;
    sumSquares += (w / largest) ** 2;
  }
  return (sum * sum) / sumSquares;
}

/**
 * The raked share of y = 1 among `rows` with its linearization standard error, as R's survey
 * package computes it for `svymean(~y, rake(svydesign(ids = ~1, weights = ~1, data), ...))`:
 *
 * 1. w = rake(rows, margins), p = sum(w y) / sum(w);
 * 2. influence values z_i = w_i (y_i - p) / sum(w);
 * 3. z is made orthogonal to the raking margins by exactly 10 rounds of backfitting (survey's
 *    svyrecvar for a "raking" calibration): for each variable in turn,
 *    z_i <- z_i - w_i * mean(z_j / w_j over the rows j in i's level) (an unweighted mean within
 *    the level). survey uses the weights right after that variable's step in rake's last pass;
 *    rake stops when a pass changes nothing, so those are the final weights w (to the convergence
 *    tolerance), which are used here;
 * 4. se² = n / (n - 1) * sum (z_i - mean z)², the with-replacement variance of a one-stage design
 *    with every respondent as its own sampling unit.
 *
 * Without the step 3 (ignoring the raking) the standard error would be that of fixed weights;
 * raking usually makes it smaller for outcomes related to the raking variables.
 * Needs at least 2 rows; `y` holds one 0 or 1 per row. Errors as in `rake`, and RangeErrors for `y`.
 *
 * Reference: T. Lumley (2010), Complex Surveys, sec. 7.3-7.4; R survey::svyrecvar.
 *
 * @example rakedProportion([1, 0, 0, 1], [{ g: "f" }, { g: "f" }, { g: "m" }, { g: "m" }], { g: { f: 0.3, m: 0.7 } })
 *   // { p: 0.5000000000000001, se: 0.3109126351029605, nEff: 3.448275862068965, weights: [0.6, 0.6, 1.4, 1.4] }
 *   // (R: coef 0.5, SE 0.31091263510296047, weights 0.6 0.6 1.4 1.4)
 */
export function rakedProportion(
  y: readonly number[],
  rows: readonly RakingRow[],
  margins: RakingMargins,
  options: RakeOptions = {},
): RakedProportion {
  const fn = "rakedProportion";
  if (!Array.isArray(y)) throw new RangeError(`${fn}: y must be an array of 0 and 1, got ${show(y)}`);
  if (Array.isArray(rows) && y.length !== rows.length) {
    throw new RangeError(`${fn}: y must have one value per row: y has ${y.length}, rows has ${rows.length}`);
  }
  for (const [i, v] of y.entries()) {
    if (v !== 0 && v !== 1) throw new RangeError(`${fn}: y[${i}] must be 0 or 1, got ${show(v)}`);
  }
  if (Array.isArray(rows) && rows.length < 2) {
    throw new RangeError(`${fn}: rows must have at least 2 respondents for a standard error, got ${rows.length}`);
  }
  const design = prepare(fn, rows, margins, options);
  const weights = fit(design);
  const n = design.n;

  let total = 0;
  let weightedY = 0;
  for (let i = 0; i < n; i++) {
    total += weights[i]!;
    weightedY += weights[i]! * y[i]!;
  }
  const p = weightedY / total;

  const z = new Float64Array(n);
  for (let i = 0; i < n; i++) z[i] = ((y[i]! - p) * weights[i]!) / total;
  for (let round = 0; round < BACKFITTING_ROUNDS; round++) {
    for (const variable of design.variables) {
      const sums = new Float64Array(variable.levels.length);
      for (let i = 0; i < n; i++) {
        const g = variable.level[i]!;
        sums[g] = sums[g]! + z[i]! / weights[i]!;
      }
      for (let i = 0; i < n; i++) {
        const g = variable.level[i]!;
        z[i] = z[i]! - weights[i]! * (sums[g]! / variable.counts[g]!);
      }
    }
  }
  let mean = 0;
  for (let i = 0; i < n; i++) mean += z[i]!;
  mean /= n;
  let sumSquares = 0;
  for (let i = 0; i < n; i++) sumSquares += (z[i]! - mean) ** 2;
  const se = Math.sqrt((n / (n - 1)) * sumSquares);

  const weightList = Array.from(weights);
  return { p, se, nEff: kishEffectiveN(weightList), weights: weightList };
}

/** survey::svyrecvar backfits the influence values on the raking margins a fixed 10 times. */
const BACKFITTING_ROUNDS = 10;

interface Variable {
  name: string;
  /** Levels that take part (share > 0), in the order of the margins. */
  levels: string[];
  /** Target share of each level, rescaled so that they sum to exactly 1 (up to rounding). */
  shares: number[];
  /** Level index of each row. */
  level: Int32Array;
  /** Respondents per level. */
  counts: number[];
}

interface Design {
  n: number;
  variables: Variable[];
  maxIterations: number;
  tolerance: number;
}

function prepare(fn: string, rows: readonly RakingRow[], margins: RakingMargins, options: RakeOptions): Design {
  if (!Array.isArray(rows) || rows.length === 0) {
    throw new RangeError(`${fn}: rows must be a non-empty array of respondents, got ${show(rows)}`);
  }
  if (typeof margins !== "object" || margins === null || Array.isArray(margins)) {
    throw new RangeError(`${fn}: margins must be an object variable -> level -> share, got ${show(margins)}`);
  }
  const names = Object.keys(margins);
  if (names.length === 0) throw new RangeError(`${fn}: margins must name at least one variable`);
  const maxIterations = options.maxIterations ?? RAKING_MAX_ITERATIONS;
  if (!Number.isSafeInteger(maxIterations) || maxIterations < 1) {
    throw new RangeError(`${fn}: options.maxIterations must be a positive integer, got ${show(maxIterations)}`);
  }
  const tolerance = options.tolerance ?? RAKING_TOLERANCE;
  if (typeof tolerance !== "number" || !(tolerance > 0) || !Number.isFinite(tolerance)) {
    throw new RangeError(`${fn}: options.tolerance must be a finite number greater than 0, got ${show(tolerance)}`);
  }

  const n = rows.length;
  const variables: Variable[] = [];
  for (const name of names) {
    const margin = margins[name];
    if (typeof margin !== "object" || margin === null || Array.isArray(margin)) {
      throw new RangeError(`${fn}: margins.${name} must be an object level -> share, got ${show(margin)}`);
    }
    const entries = Object.entries(margin);
    if (entries.length === 0) throw new RangeError(`${fn}: margins.${name} must have at least one level`);
    let sum = 0;
    for (const [level, share] of entries) {
      if (typeof share !== "number" || !Number.isFinite(share) || share < 0) {
        throw new RangeError(`${fn}: margins.${name}[${JSON.stringify(level)}] must be a share from 0 to 1, got ${show(share)}`);
      }
      sum += share;
    }
    if (Math.abs(sum - 1) > SHARE_SUM_TOLERANCE) {
      throw new RangeError(`${fn}: the shares of margins.${name} must sum to 1, got ${sum}`);
    }
    // Count respondents per level (all levels, including share 0, to tell the errors apart).
    const index = new Map<string, number>(entries.map(([level], k) => [level, k]));
    const all = new Int32Array(n);
    const counts = new Array<number>(entries.length).fill(0);
    for (let i = 0; i < n; i++) {
      const row = rows[i];
      if (typeof row !== "object" || row === null) throw new RangeError(`${fn}: rows[${i}] must be an object, got ${show(row)}`);
      const value = Object.hasOwn(row, name) ? row[name] : undefined;
      if (typeof value !== "string") {
        throw new RangeError(`${fn}: rows[${i}].${name} must be a level of margins.${name}, got ${show(value)}`);
      }
      const k = index.get(value);
      if (k === undefined) {
        throw new RangeError(
          `${fn}: rows[${i}].${name} is ${JSON.stringify(value)}, which is not a level of margins.${name} ` +
            `(${entries.map(([level]) => JSON.stringify(level)).join(", ")})`,
        );
      }
      all[i] = k;
      counts[k]! += 1;
    }
    // Keep the levels with a positive share; renumber the rows' levels accordingly.
    const renumber = new Int32Array(entries.length).fill(-1);
    const levels: string[] = [];
    const shares: number[] = [];
    const keptCounts: number[] = [];
    for (const [k, [level, share]] of entries.entries()) {
      if (share === 0) {
        if (counts[k]! > 0) {
          throw new RangeError(
            `${fn}: margins.${name}[${JSON.stringify(level)}] is 0 but ${counts[k]} row(s) have that level (a population share of 0 cannot hold respondents)`,
          );
        }
        continue;
      }
      if (counts[k] === 0) {
        throw new RangeError(
          `${fn}: margins.${name}[${JSON.stringify(level)}] is ${share} but no row has that level ` +
            `(an empty cell cannot be weighted up: merge the level with a neighbour or leave the variable out)`,
        );
      }
      renumber[k] = levels.length;
      levels.push(level);
      shares.push(share / sum);
      keptCounts.push(counts[k]!);
    }
    const level = new Int32Array(n);
    for (let i = 0; i < n; i++) level[i] = renumber[all[i]!]!;
    variables.push({ name, levels, shares, level, counts: keptCounts });
  }
  return { n, variables, maxIterations, tolerance };
}

/** Iterative proportional fitting, as documented at `rake`. */
function fit(design: Design): Float64Array {
  const { n, variables, maxIterations, tolerance } = design;
  const weights = new Float64Array(n).fill(1);
  let worst = { difference: Infinity, variable: "", level: "" };
  for (let iteration = 1; iteration <= maxIterations; iteration++) {
    for (const variable of variables) {
      // Population total of each level (share x n, as R's population margins) over its current
      // weighted total; after this step the weights sum to n.
      const factors = levelTotals(variable, weights).map((t, g) => (variable.shares[g]! * n) / t);
      for (let i = 0; i < n; i++) weights[i] = weights[i]! * factors[variable.level[i]!]!;
    }
    worst = largestDifference(variables, weights);
    if (worst.difference < tolerance) return weights;
  }
  throw new RakingDidNotConverge(maxIterations, worst.difference, worst.variable, worst.level, tolerance);
}

function levelTotals(variable: Variable, weights: Float64Array): number[] {
  const totals = new Array<number>(variable.levels.length).fill(0);
  for (let i = 0; i < weights.length; i++) totals[variable.level[i]!]! += weights[i]!;
  return totals;
}

function largestDifference(variables: Variable[], weights: Float64Array): { difference: number; variable: string; level: string } {
  let worst = { difference: 0, variable: "", level: "" };
  let sum = 0;
  for (const w of weights) sum += w;
  for (const variable of variables) {
    for (const [g, total] of levelTotals(variable, weights).entries()) {
      const difference = Math.abs(total / sum - variable.shares[g]!);
      if (difference > worst.difference || Number.isNaN(difference)) {
        worst = { difference, variable: variable.name, level: variable.levels[g]! };
      }
    }
  }
  return worst;
}

function show(value: unknown): string {
  return typeof value === "number" ? String(value) : (JSON.stringify(value) ?? String(value));
}
