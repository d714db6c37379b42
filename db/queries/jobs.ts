import { and, asc, desc, eq, gt, inArray, isNotNull, isNull, lt, ne, or, sql } from "drizzle-orm";
import { affectedRows, first, one, rawRows, type Executor } from "../client.js";
import { jobs, responses, studies, waves, type Job, type JobKind } from "../schema.js";

/**
 * Background jobs (server/jobs/): queued in the unit of work of the change that needs them,
 * claimed under a lease by one runner at a time, advanced step by step.
 */

export interface NewJob {
  teamId: number;
  studyId: number | null;
  kind: JobKind;
  params: Record<string, unknown> | null;
  createdBy: number | null;
}

export async function insertJob(db: Executor, job: NewJob, now: Date): Promise<Job> {
  return one(await db.insert(jobs).values({ ...job, status: "queued", createdAt: now, updatedAt: now }).returning());
}

/** Jobs of a study and kind in the given states, oldest first. */
export async function findStudyJobs(db: Executor, studyId: number, kind: JobKind, statuses: ReadonlyArray<Job["status"]>): Promise<Job[]> {
  return db
    .select()
    .from(jobs)
    .where(and(eq(jobs.studyId, studyId), eq(jobs.kind, kind), inArray(jobs.status, [...statuses])))
    .orderBy(asc(jobs.id));
}

/** The study's one job of a kind, whatever its state (kinds kept as one row per study). */
export async function findLatestStudyJob(db: Executor, studyId: number, kind: JobKind): Promise<Job | undefined> {
  return first(await db.select().from(jobs).where(and(eq(jobs.studyId, studyId), eq(jobs.kind, kind))).orderBy(desc(jobs.id)).limit(1));
}

/** Puts a finished job back in the queue from the start (a kind kept as one row per study). */
export async function requeueJob(db: Executor, id: number, now: Date): Promise<Job> {
  return one(
    await db
      .update(jobs)
      .set({ status: "queued", cursor: null, done: 0, total: null, attempts: 0, leaseOwner: null, leaseUntil: null, error: null, finishedAt: null, createdAt: now, updatedAt: now })
      .where(eq(jobs.id, id))
      .returning(),
  );
}

/** Queued, or running with a lease that has run out (its runner stopped or crashed). */
const claimable = (now: Date) => and(inArray(jobs.status, ["queued", "running"]), or(isNull(jobs.leaseUntil), lt(jobs.leaseUntil, now)));

/** Whether any job waits for a runner (a read, so an idle runner takes no write lock to find out). */
export async function hasClaimableJob(db: Executor, now: Date, exceptId?: number): Promise<boolean> {
  const where = exceptId === undefined ? claimable(now) : and(claimable(now), ne(jobs.id, exceptId));
  return (await db.select({ id: jobs.id }).from(jobs).where(where).limit(1)).length > 0;
}

/**
 * Takes the job that has waited longest under a lease of `owner` until `leaseUntil`: one
 * statement whose condition is checked again on the row it updates, so of two runners racing for
 * it only one gets a row back (SQLite: one writer at a time; PostgreSQL: the loser's serializable
 * transaction fails and, retried, sees the lease taken).
 */
export async function claimNextJob(db: Executor, owner: string, now: Date, leaseUntil: Date): Promise<Job | undefined> {
  const next = db.select({ id: jobs.id }).from(jobs).where(claimable(now)).orderBy(asc(jobs.updatedAt), asc(jobs.id)).limit(1);
  return first(
    await db
      .update(jobs)
      .set({ status: "running", leaseOwner: owner, leaseUntil, attempts: sql`${jobs.attempts} + 1`, updatedAt: now })
      .where(and(inArray(jobs.id, next), claimable(now)))
      .returning(),
  );
}

/** What a runner writes after a step: only while it still holds the lease (false: another runner took it). */
export async function saveJobStep(
  db: Executor,
  id: number,
  owner: string,
  fields: Pick<Job, "cursor" | "done" | "total" | "status" | "leaseUntil" | "finishedAt" | "updatedAt"> & { leaseOwner?: string | null; error?: string | null },
): Promise<boolean> {
  return affectedRows(await db.update(jobs).set(fields).where(and(eq(jobs.id, id), eq(jobs.leaseOwner, owner)))) > 0;
}

/** Gives a job back before it is finished: another runner (or this one) claims it once `retryAt` has passed. */
export async function releaseJob(db: Executor, id: number, owner: string, fields: { retryAt: Date | null; countAttempt: boolean; error?: string | null; now: Date }): Promise<boolean> {
  return (
    affectedRows(
      await db
        .update(jobs)
        .set({
          leaseOwner: null,
          leaseUntil: fields.retryAt,
          ...(fields.countAttempt ? {} : { attempts: sql`${jobs.attempts} - 1` }),
          ...(fields.error !== undefined ? { error: fields.error } : {}),
          updatedAt: fields.now,
        })
        .where(and(eq(jobs.id, id), eq(jobs.leaseOwner, owner))),
    ) > 0
  );
}

/** Ends a job as failed, with the code of why (translated when shown). */
export async function failJob(db: Executor, id: number, owner: string, error: string, now: Date): Promise<boolean> {
  return (
    affectedRows(
      await db
        .update(jobs)
        .set({ status: "failed", error, leaseOwner: null, leaseUntil: null, finishedAt: now, updatedAt: now })
        .where(and(eq(jobs.id, id), eq(jobs.leaseOwner, owner))),
    ) > 0
  );
}

export async function findJob(db: Executor, id: number): Promise<Job | undefined> {
  return first(await db.select().from(jobs).where(eq(jobs.id, id)));
}

/** A study's jobs that are queued or running, or finished since `since`, newest first. */
export async function listRecentStudyJobs(db: Executor, studyId: number, kinds: readonly JobKind[], since: Date, limit = 10): Promise<Job[]> {
  if (kinds.length === 0) return [];
  return db
    .select()
    .from(jobs)
    .where(and(eq(jobs.studyId, studyId), inArray(jobs.kind, [...kinds]), or(inArray(jobs.status, ["queued", "running"]), gt(jobs.finishedAt, since))))
    .orderBy(desc(jobs.id))
    .limit(limit);
}

/**
 * Studies with responses whose background checks have not run (the partial index on unchecked
 * responses: a short read while they are few), with their team.
 */
export async function studiesWithUncheckedResponses(db: Executor): Promise<Array<{ studyId: number; teamId: number }>> {
  const rows = await rawRows<{ studyId: number; teamId: number }>(
    db,
    sql`SELECT DISTINCT ${waves.studyId} AS "studyId", ${studies.teamId} AS "teamId"
        FROM (SELECT DISTINCT ${responses.waveId} AS wave_id FROM ${responses} WHERE ${responses.checkedAt} IS NULL) AS unchecked
        JOIN ${waves} ON ${waves.id} = unchecked.wave_id
        JOIN ${studies} ON ${studies.id} = ${waves.studyId}`,
  );
  return rows.map((r) => ({ studyId: Number(r.studyId), teamId: Number(r.teamId) }));
}

/** Whether a study has unchecked responses (the same partial index). */
export async function hasUncheckedResponses(db: Executor, waveIds: readonly number[]): Promise<boolean> {
  if (waveIds.length === 0) return false;
  return (await db.select({ id: responses.id }).from(responses).where(and(inArray(responses.waveId, [...waveIds]), isNull(responses.checkedAt))).limit(1)).length > 0;
}

/** Jobs a runner holds (tests, shutdown). */
export async function leasedJobs(db: Executor, owner: string): Promise<Job[]> {
  return db.select().from(jobs).where(and(eq(jobs.leaseOwner, owner), isNotNull(jobs.leaseUntil)));
}
