/**
 * Differential exclusion: when one wave (or segment) loses many more responses to exclusions
 * than another, pre and post no longer describe the same kind of respondent, and a lift may be
 * an artefact of cleaning. A warning names the cells with the lowest and highest rates.
 *
 * Rates are compared between the waves of each segment, and between the segments of each wave.
 * Cells with fewer than `minCompleted` completed responses are left out: with 5 responses one
 * exclusion is 20 points.
 */

export interface RateCell {
  waveId: number;
  segmentId: number;
  completed: number;
  /** Responses left out of the results (excluded, and flagged ones when those are left out). */
  leftOut: number;
}

export interface RateWarning {
  /** "waves": the waves of one segment differ; "segments": the segments of one wave differ. */
  kind: "waves" | "segments";
  /** The segment (kind waves) or wave (kind segments) compared within. */
  within: number;
  low: { id: number; rate: number };
  high: { id: number; rate: number };
  /** high.rate − low.rate in percentage points. */
  differencePp: number;
}

export const MIN_COMPLETED_FOR_RATE = 10;

function compare(kind: RateWarning["kind"], within: number, cells: readonly RateCell[], marginPp: number, minCompleted: number): RateWarning | undefined {
  const rated = cells
    .filter((c) => c.completed >= minCompleted)
    .map((c) => ({ id: kind === "waves" ? c.waveId : c.segmentId, rate: c.leftOut / c.completed }));
  if (rated.length < 2) return undefined;
  let low = rated[0]!;
  let high = rated[0]!;
  for (const r of rated) {
    if (r.rate < low.rate) low = r;
    if (r.rate > high.rate) high = r;
  }
  const differencePp = (high.rate - low.rate) * 100;
  // A hair of tolerance: 0.3 − 0.2 is not more than 10 points.
  return differencePp > marginPp + 1e-9 ? { kind, within, low, high, differencePp } : undefined;
}

/** Warnings in the order of the cells given: first per segment across waves, then per wave across segments. */
export function exclusionWarnings(cells: readonly RateCell[], marginPp: number, minCompleted = MIN_COMPLETED_FOR_RATE): RateWarning[] {
  const segments = [...new Set(cells.map((c) => c.segmentId))];
  const waves = [...new Set(cells.map((c) => c.waveId))];
  const out: RateWarning[] = [];
  for (const s of segments) {
    const w = compare("waves", s, cells.filter((c) => c.segmentId === s), marginPp, minCompleted);
    if (w) out.push(w);
  }
  for (const wave of waves) {
    const w = compare("segments", wave, cells.filter((c) => c.waveId === wave), marginPp, minCompleted);
    if (w) out.push(w);
  }
  return out;
}
