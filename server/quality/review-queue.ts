import { unitOfWork, type Db, type Executor } from "../../db/client.js";
import { listAnswersForReview } from "../../db/queries/quality.js";
import type { TextAlias } from "../../db/schema.js";
import type { Codebook } from "../domain/text-coding.js";
import { backgroundSettled, runInBackground } from "../results-snapshots/background.js";
import { isSmall } from "../results-snapshots/load.js";
import { snapshotSettings } from "../results-snapshots/refresh.js";
import { findSnapshot, saveSnapshot, type ComputedSnapshot } from "../results-snapshots/store.js";
import { resultsDataVersion } from "../results-snapshots/version.js";
import { reviewQueueBuilder, type ReviewQueue } from "./coding.js";

/**
 * The coding page's review queue: every text answer of the coded questions matched against the
 * codebooks, grouped by what they name that no code knows. That grows with the study (seconds of
 * CPU at 60,000 answers), so it is kept in result_snapshots under REVIEW_QUEUE_VARIANT, current while
 * the results' data version and the aliases are the same. A small study's queue is computed on the
 * request; a larger one's in the background, in batches of BACKGROUND_BATCH answers with the event
 * loop given back between them, while the page shows the last queue marked as updating.
 */

export const REVIEW_QUEUE_VARIANT = "coding-queue";
/** Groups kept: more than the page lists. */
export const REVIEW_QUEUE_LIMIT = 100;
/** Answers matched between two turns of the event loop in the background (~10 ms). */
const BACKGROUND_BATCH = 50;
/** Answers read per query on the request (a small study). */
const INLINE_BATCH = 1000;

export interface ReviewQueueRead {
  queue: ReviewQueue;
  computedAt: Date;
  /** False while a newer queue is being computed. */
  current: boolean;
}

export interface ReviewQueueInput {
  studyId: number;
  aliases: readonly TextAlias[];
  /** The coded questions' codebooks, with these aliases. */
  codebooks: ReadonlyMap<number, Codebook>;
  questionIds: readonly number[];
  waveIds: readonly number[];
}

/** What the queue is computed from: the results' data version (answers, coding, exclusions) and the aliases. */
async function queueVersion(db: Executor, input: ReviewQueueInput): Promise<string> {
  const aliases = input.aliases.map((a) => a.id).sort((a, b) => a - b).join(",");
  return `${await resultsDataVersion(db, input.studyId)}|a${aliases}`;
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

async function computeQueue(db: Db, input: ReviewQueueInput, version: string, batch: number, yieldBetween: boolean): Promise<ComputedSnapshot> {
  const started = Date.now();
  const queue = reviewQueueBuilder(input.codebooks);
  for (let after = 0; ; ) {
    const rows = await listAnswersForReview(db, input.questionIds, input.waveIds, after, batch);
    if (rows.length === 0) break;
    for (const row of rows) queue.add(row);
    after = rows[rows.length - 1]!.id;
    if (yieldBetween) await yieldToEventLoop();
  }
  return {
    studyId: input.studyId,
    variant: REVIEW_QUEUE_VARIANT,
    dataVersion: version,
    payload: JSON.stringify(queue.result(REVIEW_QUEUE_LIMIT)),
    computedAt: started,
    durationMs: Date.now() - started,
  };
}

/** Starts computing a study's queue in the background unless it is being computed already. */
function refreshInBackground(db: Db, input: ReviewQueueInput, version: string): void {
  runInBackground(
    db,
    `${input.studyId}|${REVIEW_QUEUE_VARIANT}`,
    async () => {
      const snapshot = await computeQueue(db, input, version, BACKGROUND_BATCH, true);
      await unitOfWork(db, (tx) => saveSnapshot(tx, snapshot));
    },
    { studyId: input.studyId, variant: REVIEW_QUEUE_VARIANT },
  );
}

/** Resolves when every background queue computation on this database has ended (tests). */
export const reviewQueuesSettled = backgroundSettled;

/** The study's review queue as the coding page shows it (see above); null while a large study's first one is computed. */
export async function loadReviewQueue(db: Db, input: ReviewQueueInput): Promise<ReviewQueueRead | null> {
  const version = await queueVersion(db, input);
  const row = await findSnapshot(db, input.studyId, REVIEW_QUEUE_VARIANT);
  const read = (payload: string, computedAt: Date, current: boolean) => ({ queue: JSON.parse(payload) as ReviewQueue, computedAt, current });
  if (row && row.dataVersion === version) return read(row.payload, row.computedAt, true);
  if (await isSmall(db, input.studyId, snapshotSettings(db).syncLimit)) {
    const computed = await computeQueue(db, input, version, INLINE_BATCH, false);
    await unitOfWork(db, (tx) => saveSnapshot(tx, computed));
    return read(computed.payload, new Date(computed.computedAt), true);
  }
  refreshInBackground(db, input, version);
  return row ? read(row.payload, row.computedAt, false) : null;
}
