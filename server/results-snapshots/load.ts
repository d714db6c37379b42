import { count, eq, inArray, sql } from "drizzle-orm";
import { first, type Db } from "../../db/client.js";
import { responses, waves, type Locale, type ResultSnapshot, type Study } from "../../db/schema.js";
import type { Translate } from "../i18n/index.js";
import { breakdownFrom, type Breakdown } from "../services/breakdown.js";
import { baselineFrom, baselineScope, type BaselineCounts, type BaselineData } from "../services/fieldwork-results.js";
import { assembleResults, resultsScope, type ResultsFreshness, type ResultsProblem, type ResultsQuery, type StudyResults } from "../services/results.js";
import { breakdownVariables, type BreakdownCounts } from "./breakdown.js";
import { variantOf, type SnapshotRequest } from "./compute.js";
import type { ResultsData } from "./gather.js";
import { refreshSnapshot, snapshotSettings, triggerResultsRefresh } from "./refresh.js";
import { findSnapshot, type ComputedSnapshot } from "./store.js";

/**
 * How pages, exports and the API get the aggregates of a study's results: from the snapshot of
 * the current data version when there is one (a few index lookups and one row); else
 * - a small study (at most `syncLimit` responses) is computed now, on the request, and stored;
 * - a larger one gets its last snapshot marked as not current while a recomputation runs in the
 *   background, or "computing" when it has none yet (the page says so and reloads).
 */

/** A snapshot's aggregates with how fresh they are, or "computing" (a large study's first computation is running). */
export type SnapshotRead<T> = { data: T; freshness: ResultsFreshness } | "computing";

/** Whether the study has at most `limit` responses: counts no further than limit + 1. */
export async function isSmall(db: Db, studyId: number, limit: number): Promise<boolean> {
  const some = db
    .select({ one: sql`1` })
    .from(responses)
    .where(inArray(responses.waveId, db.select({ id: waves.id }).from(waves).where(eq(waves.studyId, studyId))))
    .limit(limit + 1)
    .as("some");
  return (first(await db.select({ n: count() }).from(some))?.n ?? 0) <= limit;
}

function read<T>(row: Pick<ResultSnapshot, "payload" | "computedAt"> | ComputedSnapshot, current: boolean): { data: T; freshness: ResultsFreshness } {
  const data = JSON.parse(row.payload) as T & { responses: number };
  const computedAt = row.computedAt instanceof Date ? row.computedAt : new Date(row.computedAt);
  return { data, freshness: { computedAt, responses: data.responses, current } };
}

/**
 * The snapshot of `request`, current when made from `version` (resultsDataVersion, read by the
 * caller: a results page reads it with its key, pageInputs, so a view reads it once).
 */
export async function readSnapshot<T>(db: Db, studyId: number, version: string, request: SnapshotRequest): Promise<SnapshotRead<T>> {
  const row = await findSnapshot(db, studyId, variantOf(request));
  if (row && row.dataVersion === version) return read<T>(row, true);
  if (await isSmall(db, studyId, snapshotSettings(db).syncLimit)) {
    const computed = await refreshSnapshot(db, studyId, request, "inline");
    if (computed) return read<T>(computed, true);
  } else {
    triggerResultsRefresh(db, studyId, request);
  }
  return row ? read<T>(row, false) : "computing";
}

/**
 * The results of a study as every page, export and the API show them: the aggregates of the
 * snapshot (see readSnapshot) assembled for these options in the reader's language, with their
 * freshness. "no_waves" without two waves to compare; "computing" while a large study's first
 * snapshot is being computed. `version`: the study's results data version (resultsDataVersion),
 * read by the caller, which may need it for more than this.
 */
export async function loadStudyResults(db: Db, study: Study, version: string, options: ResultsQuery, locale: Locale, t: Translate): Promise<StudyResults | ResultsProblem | "computing"> {
  const scope = await resultsScope(db, study, options);
  if (scope === "no_waves") return scope;
  const snapshot = await readSnapshot<ResultsData>(db, study.id, version, { kind: "results", pre: scope.pre.id, post: scope.post.id, flagged: options.flagged });
  if (snapshot === "computing") return snapshot;
  return assembleResults(db, scope, snapshot.data, options, snapshot.freshness, locale, t);
}

/** The baseline levels of a study with one wave so far (see baselineFrom), from its snapshot (`version` as loadStudyResults); with its freshness. */
export async function loadBaseline(
  db: Db,
  study: Study,
  version: string,
  options: Pick<ResultsQuery, "confidence" | "flagged">,
  locale: Locale,
  t: Translate,
): Promise<{ baseline: BaselineData | null; freshness: ResultsFreshness } | null | "computing"> {
  const scope = await baselineScope(db, study);
  if (!scope) return null;
  const snapshot = await readSnapshot<BaselineCounts>(db, study.id, version, { kind: "baseline", wave: scope.wave.id, flagged: options.flagged });
  if (snapshot === "computing") return snapshot;
  return { baseline: baselineFrom(scope, snapshot.data, options, locale, t), freshness: snapshot.freshness };
}

/**
 * The breakdown of `results` by a profile question (see breakdownFrom), from the snapshot of its
 * counts (one per compared waves and flagged filter, every profile question in it); with its
 * freshness (`version` as loadStudyResults). Null without profile questions; "computing" while a
 * large study's counts are first computed (or lack a question added since).
 */
export async function loadBreakdown(
  db: Db,
  results: StudyResults,
  version: string,
  variableKey: string | undefined,
  locale: Locale,
  t: Translate,
): Promise<{ breakdown: Breakdown; freshness: ResultsFreshness } | null | "computing"> {
  if (breakdownVariables(results.questions).length === 0) return null;
  const request = { kind: "breakdown", pre: results.pre.id, post: results.post.id, flagged: results.options.flagged } as const;
  const snapshot = await readSnapshot<BreakdownCounts>(db, results.study.id, version, request);
  if (snapshot === "computing") return snapshot;
  const breakdown = breakdownFrom(results, snapshot.data, variableKey, locale, t);
  if (breakdown === "not_counted") return "computing";
  return breakdown && { breakdown, freshness: snapshot.freshness };
}
