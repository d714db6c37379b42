import { chiSquareIndependence } from "../../stats/index.js";

/** Below this p-value the waves' samples are said to differ in a profile variable. */
export const COMPARABILITY_ALPHA = 0.05;
/** Expected counts below this make the chi-square approximation rough: the check says so. */
export const MIN_EXPECTED = 5;

export interface ProfileShift {
  /** The category that moved most (largest standardized residual). */
  level: string;
  pre: number;
  post: number;
}

export type Comparability =
  | { kind: "differs"; pValue: number; statistic: number; df: number; shift: ProfileShift; smallExpected: boolean }
  | { kind: "similar"; pValue: number; statistic: number; df: number; smallExpected: boolean }
  | { kind: "not_testable" };

/**
 * Whether the pre and post samples of a segment differ in one profile variable: Pearson's
 * chi-square test of wave x category (no continuity correction, as chisq.test(correct = FALSE)),
 * over the categories anyone chose; respondents without an answer are not a category. Names the
 * category whose share moved most, so the warning can say what changed.
 */
export function compareWaves(pre: Readonly<Record<string, number>>, post: Readonly<Record<string, number>>): Comparability {
  const levels = [...new Set([...Object.keys(pre), ...Object.keys(post)])].filter((l) => (pre[l] ?? 0) + (post[l] ?? 0) > 0);
  const nPre = levels.reduce((s, l) => s + (pre[l] ?? 0), 0);
  const nPost = levels.reduce((s, l) => s + (post[l] ?? 0), 0);
  if (levels.length < 2 || nPre === 0 || nPost === 0) return { kind: "not_testable" };
  const test = chiSquareIndependence([levels.map((l) => pre[l] ?? 0), levels.map((l) => post[l] ?? 0)]);
  const smallExpected = test.minExpected < MIN_EXPECTED;
  const base = { pValue: test.pValue, statistic: test.statistic, df: test.df, smallExpected };
  if (!(test.pValue < COMPARABILITY_ALPHA)) return { kind: "similar", ...base };
  let most = 0;
  levels.forEach((_, j) => {
    if (Math.abs(test.stdres[1]![j]!) > Math.abs(test.stdres[1]![most]!)) most = j;
  });
  const level = levels[most]!;
  return { kind: "differs", ...base, shift: { level, pre: (pre[level] ?? 0) / nPre, post: (post[level] ?? 0) / nPost } };
}
