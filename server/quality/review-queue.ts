import { databaseLocation, unitOfWork, type Db, type Executor } from "../../db/client.js";
import { listWaves } from "../../db/queries/fieldwork.js";
import { listAnswersForReview, listMentionsOf, listTextAliases } from "../../db/queries/quality.js";
import { loadQuestionnaire } from "../../db/queries/questionnaire.js";
import { findStudy } from "../../db/queries/studies.js";
import type { TextAlias } from "../../db/schema.js";
import type { SurveyQuestion } from "../domain/questionnaire.js";
import { backgroundSettled, runInBackground } from "../results-snapshots/background.js";
import { isSmall } from "../results-snapshots/load.js";
import { snapshotSettings } from "../results-snapshots/refresh.js";
import { findSnapshot, saveSnapshot, type ComputedSnapshot } from "../results-snapshots/store.js";
import { resultsDataVersion } from "../results-snapshots/version.js";
import { computeReviewQueueInWorker } from "../results-snapshots/worker-pool.js";
import { codedQuestions, reviewQueueBuilder, studyCodebooks, type ReviewQueue } from "./coding.js";

/**
 * The coding page's review queue: every text answer of the coded questions matched against the
 * codebooks, grouped by what they name that no code knows; and the answers per code (and named
 * first) of the same answers, from their coded mentions. That grows with the study (seconds of
 * CPU at 60,000 answers), so it is kept in result_snapshots under REVIEW_QUEUE_VARIANT, current while
 * the results' data version and the aliases are the same. A small study's queue is computed on the
 * request; a larger one's in the background, in the results worker thread (its matching held the
 * event loop that serves respondents for seconds, and its last sort of every group for ~250 ms at
 * 60,000 answers), while the page shows the last queue marked as updating. A database the worker
 * cannot open (one in memory) computes it here, in batches of BACKGROUND_BATCH answers with the
 * event loop given back between them.
 */

export const REVIEW_QUEUE_VARIANT = "coding-queue";
/** Groups kept: more than the page lists. */
export const REVIEW_QUEUE_LIMIT = 100;
/** Answers matched between two turns of the event loop in the background (~10 ms). */
const BACKGROUND_BATCH = 50;
/** Answers read per query on the request (a small study) and in the worker thread. */
const INLINE_BATCH = 1000;

/** Coded answers per code, and how many named it first (rank 0). */
export type MentionCounts = Map<string, { n: number; first: number }>;

/** What the snapshot holds: the queue, and the mention counts as [code, n, first]. */
type QueuePayload = ReviewQueue & { mentions: Array<[code: string, n: number, first: number]> };

export interface ReviewQueueRead {
  queue: ReviewQueue;
  mentions: MentionCounts;
  computedAt: Date;
  /** False while a newer queue is being computed. */
  current: boolean;
}

export interface ReviewQueueInput {
  studyId: number;
  /** The questionnaire: its coded questions' answers are matched against their codebooks with these aliases. */
  questions: readonly SurveyQuestion[];
  aliases: readonly TextAlias[];
  waveIds: readonly number[];
}

/** The payload's shape: a snapshot stored in another (one without mention counts) is not current. */
const PAYLOAD_FORMAT = "m1";

/** What the queue is computed from: the results' data version (answers, coding, exclusions) and the aliases. */
async function queueVersion(db: Executor, input: ReviewQueueInput): Promise<string> {
  const aliases = input.aliases.map((a) => a.id).sort((a, b) => a - b).join(",");
  return `${await resultsDataVersion(db, input.studyId)}|a${aliases}|${PAYLOAD_FORMAT}`;
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

async function computeQueue(db: Executor, input: ReviewQueueInput, version: string, batch: number, yieldBetween: boolean): Promise<ComputedSnapshot> {
  const started = Date.now();
  const queue = reviewQueueBuilder(studyCodebooks(input.questions, input.aliases));
  const questionIds = codedQuestions(input.questions).map((q) => q.id);
  const mentions: MentionCounts = new Map();
  for (let after = 0; ; ) {
    const rows = await listAnswersForReview(db, questionIds, input.waveIds, after, batch);
    if (rows.length === 0) break;
    for (const row of rows) queue.add(row);
    // Only text answers carry mentions (coding reads their text), so these are every counted one.
    for (const m of await listMentionsOf(db, rows.map((r) => r.id))) {
      const c = mentions.get(m.code) ?? { n: 0, first: 0 };
      c.n += 1;
      if (m.rank === 0) c.first += 1;
      mentions.set(m.code, c);
    }
    after = rows[rows.length - 1]!.id;
    if (yieldBetween) await yieldToEventLoop();
  }
  const payload: QueuePayload = { ...queue.result(REVIEW_QUEUE_LIMIT), mentions: [...mentions].map(([code, c]) => [code, c.n, c.first]) };
  return {
    studyId: input.studyId,
    variant: REVIEW_QUEUE_VARIANT,
    dataVersion: version,
    payload: JSON.stringify(payload),
    computedAt: started,
    durationMs: Date.now() - started,
  };
}

/**
 * The study's queue computed from the database alone, its inputs (questionnaire, aliases, waves,
 * data version) read with its answers: what the worker thread runs inside one consistent read.
 * Null when the study is gone.
 */
export async function computeStudyReviewQueue(db: Executor, studyId: number): Promise<ComputedSnapshot | null> {
  if (!(await findStudy(db, studyId))) return null;
  const input: ReviewQueueInput = {
    studyId,
    questions: await loadQuestionnaire(db, studyId),
    aliases: await listTextAliases(db, studyId),
    waveIds: (await listWaves(db, studyId)).map((w) => w.id),
  };
  return computeQueue(db, input, await queueVersion(db, input), INLINE_BATCH, false);
}

/** Starts computing a study's queue in the background unless it is being computed already. */
function refreshInBackground(db: Db, input: ReviewQueueInput, version: string): void {
  const location = databaseLocation(db);
  runInBackground(
    db,
    `${input.studyId}|${REVIEW_QUEUE_VARIANT}`,
    async () => {
      const snapshot = location ? await computeReviewQueueInWorker(location, input.studyId) : await computeQueue(db, input, version, BACKGROUND_BATCH, true);
      if (snapshot) await unitOfWork(db, (tx) => saveSnapshot(tx, snapshot));
    },
    { studyId: input.studyId, variant: REVIEW_QUEUE_VARIANT },
  );
}

/** Resolves when every background queue computation on this database has ended (tests). */
export const reviewQueuesSettled = backgroundSettled;

/** A stored payload as the page reads it; undefined for one of an older shape (no mention counts). */
function readPayload(payload: string, computedAt: Date, current: boolean): ReviewQueueRead | undefined {
  const { mentions, ...queue } = JSON.parse(payload) as Partial<QueuePayload> & ReviewQueue;
  if (!Array.isArray(mentions)) return undefined;
  return { queue, mentions: new Map(mentions.map(([code, n, first]) => [code, { n, first }])), computedAt, current };
}

/** The study's review queue and mention counts as the coding page shows them (see above); null while a large study's first ones are computed. */
export async function loadReviewQueue(db: Db, input: ReviewQueueInput): Promise<ReviewQueueRead | null> {
  const version = await queueVersion(db, input);
  const row = await findSnapshot(db, input.studyId, REVIEW_QUEUE_VARIANT);
  const stored = row && readPayload(row.payload, row.computedAt, row.dataVersion === version);
  if (stored?.current) return stored;
  if (await isSmall(db, input.studyId, snapshotSettings(db).syncLimit)) {
    const computed = await computeQueue(db, input, version, INLINE_BATCH, false);
    await unitOfWork(db, (tx) => saveSnapshot(tx, computed));
    return readPayload(computed.payload, new Date(computed.computedAt), true)!;
  }
  refreshInBackground(db, input, version);
  return stored ?? null;
}
