/**
 * Shared helpers for the stats suites: loading the R fixtures written by
 * test/fixtures/stats/generate.R, and comparing numbers by relative error.
 */
import { readFileSync } from "node:fs";
import { afterAll, expect } from "vitest";

export interface Fixture<Case> {
  generatedBy: string;
  r: string;
  source: string;
  cases: Case[];
}

export function loadFixture<Case>(name: string): Fixture<Case> {
  const url = new URL(`../fixtures/stats/${name}.json`, import.meta.url);
  return JSON.parse(readFileSync(url, "utf8")) as Fixture<Case>;
}

/** A fixture number: R's NaN/NA is stored as null, infinities as strings. */
export type FixtureNumber = number | null | "Infinity" | "-Infinity";

/** power.prop.test cases, shared by the stats suite and the planner page's tests. */
export interface SampleSizeCase {
  p1: number;
  p2: number;
  alpha: number;
  power: number;
  n: number;
  nDefaultTol: number;
}
export interface MdlCase {
  p1: number;
  n: number;
  alpha: number;
  power: number;
  lift: FixtureNumber;
}

export function num(value: FixtureNumber): number {
  if (value === null) return NaN;
  if (value === "Infinity") return Infinity;
  if (value === "-Infinity") return -Infinity;
  return value;
}

/**
 * |actual - expected| / |expected|; for an expected exact 0 the absolute error (so 0 vs 0 is 0 and a
 * spurious 1e-300 is tiny rather than infinite), and 0 for equal infinities.
 */
export function relativeError(actual: number, expected: number): number {
  if (actual === expected) return 0;
  if (expected === 0) return Math.abs(actual);
  return Math.abs(actual - expected) / Math.abs(expected);
}

/**
 * Tracks the largest relative error a suite saw and prints it when the suite ends, so the accuracy
 * achieved (not only the tolerance) is visible in the test log.
 */
export function errorTracker(label: string): (actual: number, expected: number, tolerance: number, what: string) => void {
  let worst = 0;
  let worstWhat = "";
  afterAll(() => {
    console.log(`[accuracy] ${label}: max relative error ${worst.toExponential(2)} (${worstWhat})`);
  });
  return (actual, expected, tolerance, what) => {
    const error = relativeError(actual, expected);
    if (error > worst || Number.isNaN(error)) {
      worst = error;
      worstWhat = what;
    }
    expect(error, `${what}: got ${actual}, R gives ${expected}`).toBeLessThanOrEqual(tolerance);
  };
}
