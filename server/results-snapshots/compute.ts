import type { Executor } from "../../db/client.js";
import { findStudy } from "../../db/queries/studies.js";
import { baselineScope, gatherBaselineCounts } from "../services/fieldwork-results.js";
import { resultsScope } from "../services/results.js";
import { gatherBreakdownCounts } from "./breakdown.js";
import { gatherResultsData } from "./gather.js";
import { resultsDataVersion } from "./version.js";
import type { ComputedSnapshot } from "./store.js";

/**
 * Which results a snapshot holds (its variant): the lift table of two compared waves, the
 * breakdown of their lifts by the profile questions (server/results-snapshots/breakdown.ts), or the
 * baseline of a study with one wave so far; each with or without flagged responses. Confidence
 * level, adjustment, weighting on or off and the reader's language are not part of it: they are
 * applied to the stored aggregates on every view (cheap), so one snapshot serves them all.
 */
export type SnapshotRequest =
  | { kind: "results" | "breakdown"; pre: number; post: number; flagged: boolean }
  | { kind: "baseline"; wave: number; flagged: boolean };

export function variantOf(request: SnapshotRequest): string {
  const flagged = request.flagged ? "flagged" : "clean";
  return request.kind === "baseline" ? `baseline:${request.wave}:${flagged}` : `${request.kind}:${request.pre}:${request.post}:${flagged}`;
}

/** A request as stored in a job's params, checked (the params are ours, but a job row outlives a deploy). */
export function snapshotRequestOf(params: unknown): SnapshotRequest | null {
  const p = (params ?? {}) as Record<string, unknown>;
  const id = (v: unknown) => (typeof v === "number" && Number.isSafeInteger(v) && v > 0 ? v : null);
  if (typeof p["flagged"] !== "boolean") return null;
  if ((p["kind"] === "results" || p["kind"] === "breakdown") && id(p["pre"]) && id(p["post"])) return { kind: p["kind"], pre: id(p["pre"])!, post: id(p["post"])!, flagged: p["flagged"] };
  if (p["kind"] === "baseline" && id(p["wave"])) return { kind: "baseline", wave: id(p["wave"])!, flagged: p["flagged"] };
  return null;
}

/**
 * Reads and computes one snapshot: the data version first, then every aggregate, so whatever
 * changes meanwhile leaves the snapshot with an older version (recomputed at the next view), never
 * newer numbers under an older version. Run inside readConsistently where it can (the worker),
 * so all its queries see one state. Null when the study or the requested waves are gone.
 */
export async function computeSnapshot(db: Executor, studyId: number, request: SnapshotRequest): Promise<ComputedSnapshot | null> {
  const computedAt = Date.now();
  const started = performance.now();
  const dataVersion = await resultsDataVersion(db, studyId);
  const study = await findStudy(db, studyId);
  if (!study) return null;
  let payload: string;
  if (request.kind !== "baseline") {
    const scope = await resultsScope(db, study, request);
    if (scope === "no_waves" || scope.pre.id !== request.pre || scope.post.id !== request.post) return null;
    payload = JSON.stringify(request.kind === "results" ? await gatherResultsData(db, scope) : await gatherBreakdownCounts(db, scope));
  } else {
    const scope = await baselineScope(db, study);
    if (!scope || scope.wave.id !== request.wave) return null;
    payload = JSON.stringify(await gatherBaselineCounts(db, scope, request.flagged));
  }
  return { studyId, variant: variantOf(request), dataVersion, payload, computedAt, durationMs: Math.round(performance.now() - started) };
}
