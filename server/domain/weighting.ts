import { rakedProportion, RakingDidNotConverge, type RakedProportion } from "../../stats/index.js";

/**
 * Weighting one cell (a metric's base in one segment and wave) to the segment's population
 * margins. No Express, no SQL: respondents come in as their outcome and profile answers.
 *
 * Respondents without an answer to a profile variable (skipped, "prefer not to say", or a level
 * the margins do not name) keep their share of the sample as a group: the variable gets a
 * "no answer" level whose target is its sample share, and the population shares of the other levels
 * are scaled to the rest. So weighting never invents who did not answer, weights still sum to n,
 * and the same margins reproduce the numbers in R (the R script writes them out).
 */

/** Internal level of respondents without a usable answer; never shown (views say "no answer"). */
export const NO_ANSWER = "\u0000no_answer";

/** variable → level → population share (a variable's shares sum to 1). */
export type Margins = Record<string, Record<string, number>>;

export type CellProblem =
  | { kind: "empty_level"; variable: string; level: string }
  | { kind: "not_converged"; variable: string; level: string }
  | { kind: "too_few" }
  | { kind: "no_profile_answers" }
  | { kind: "no_margins" };

export type CellWeighting = { ok: true; estimate: RakedProportion; margins: Margins } | { ok: false; problem: CellProblem };

/**
 * The margins actually raked to for these respondents: the "no answer" group added per variable
 * at its sample share; a variable nobody answered is left out (nothing to weight it by).
 */
export function effectiveMargins(profiles: ReadonlyArray<Record<string, string | undefined>>, margins: Margins): Margins {
  const out: Margins = {};
  const n = profiles.length;
  for (const [variable, shares] of Object.entries(margins)) {
    const missing = profiles.filter((p) => !isTargetLevel(p[variable], shares)).length;
    if (missing === n) continue;
    const answered = 1 - missing / n;
    const scaled: Record<string, number> = {};
    for (const [level, share] of Object.entries(shares)) scaled[level] = share * answered;
    if (missing > 0) scaled[NO_ANSWER] = missing / n;
    out[variable] = scaled;
  }
  return out;
}

function isTargetLevel(level: string | undefined, shares: Record<string, number>): level is string {
  return level !== undefined && Object.hasOwn(shares, level);
}

/** Each respondent's levels as raked: their answer when the margins name it, else NO_ANSWER. */
export function rakingRows(profiles: ReadonlyArray<Record<string, string | undefined>>, margins: Margins): Array<Record<string, string>> {
  return profiles.map((p) => Object.fromEntries(Object.keys(margins).map((v) => [v, isTargetLevel(p[v], margins[v]!) ? p[v]! : NO_ANSWER])));
}

/** The weighted share of one cell, or why it cannot be weighted. */
export function weightCell(y: readonly (0 | 1)[], profiles: ReadonlyArray<Record<string, string | undefined>>, margins: Margins): CellWeighting {
  if (y.length < 2) return { ok: false, problem: { kind: "too_few" } };
  const used = effectiveMargins(profiles, margins);
  if (Object.keys(used).length === 0) return { ok: false, problem: { kind: "no_profile_answers" } };
  const rows = rakingRows(profiles, used);
  // A level with a population share but nobody in the sample cannot be weighted up from nothing.
  for (const [variable, shares] of Object.entries(used)) {
    for (const [level, share] of Object.entries(shares)) {
      if (share > 0 && !rows.some((r) => r[variable] === level)) return { ok: false, problem: { kind: "empty_level", variable, level } };
    }
  }
  try {
    return { ok: true, estimate: rakedProportion([...y], rows, used), margins: used };
  } catch (error) {
    if (error instanceof RakingDidNotConverge) return { ok: false, problem: { kind: "not_converged", variable: error.variable, level: error.level } };
    throw error;
  }
}
