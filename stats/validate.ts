/**
 * Shared argument checks. Every public stats function validates its inputs up front and throws a
 * RangeError in one format, "FUNCTION: ARGUMENT must be ..., got VALUE", so that a wrong count coming
 * from SQL or a form is reported where it entered rather than surfacing later as a NaN in a report.
 */

function show(value: unknown): string {
  return typeof value === "number" ? String(value) : JSON.stringify(value) ?? String(value);
}

function isInteger(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value);
}

/** n must be a positive (safe) integer: a number of respondents. */
export function requireTrials(fn: string, name: string, n: unknown): asserts n is number {
  if (!isInteger(n) || n <= 0) {
    throw new RangeError(`${fn}: ${name} must be a positive integer, got ${show(n)}`);
  }
}

/** x must be an integer in [0, n]; call after `requireTrials` for n. */
export function requireSuccesses(
  fn: string,
  name: string,
  x: unknown,
  nName: string,
  n: number,
): asserts x is number {
  if (!isInteger(x) || x < 0 || x > n) {
    throw new RangeError(`${fn}: ${name} must be an integer from 0 to ${nName} (${n}), got ${show(x)}`);
  }
}

/** Checks one (x, n) pair: n first, because the bound on x depends on it. */
export function requireCounts(fn: string, xName: string, x: unknown, nName: string, n: unknown): void {
  requireTrials(fn, nName, n);
  requireSuccesses(fn, xName, x, nName, n);
}

/** A probability strictly inside (0, 1): alpha, a confidence level, a power. */
export function requireOpenUnit(fn: string, name: string, value: unknown): asserts value is number {
  if (typeof value !== "number" || !(value > 0 && value < 1)) {
    throw new RangeError(`${fn}: ${name} must be a number strictly between 0 and 1, got ${show(value)}`);
  }
}

/** A proportion in the closed interval [0, 1]. */
export function requireProportion(fn: string, name: string, value: unknown): asserts value is number {
  if (typeof value !== "number" || !(value >= 0 && value <= 1)) {
    throw new RangeError(`${fn}: ${name} must be a number from 0 to 1, got ${show(value)}`);
  }
}

/** A finite number greater than 0 (a sample size that need not be whole, a cost, an audience). */
export function requirePositive(fn: string, name: string, value: unknown): asserts value is number {
  if (typeof value !== "number" || !(value > 0) || !Number.isFinite(value)) {
    throw new RangeError(`${fn}: ${name} must be a finite number greater than 0, got ${show(value)}`);
  }
}
