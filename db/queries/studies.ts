import { and, count, desc, eq, inArray, isNotNull, max, sql } from "drizzle-orm";
import { one, first, unitOfWork, type Executor } from "../client.js";
import { responses, segments, studies, teams, waves, type Locale, type LocalizedText, type Study } from "../schema.js";
import { recordAudit, type Acting } from "./audit.js";
import { defaultTeam } from "./teams.js";

export interface NewStudy {
  /** The owning team; the default team when not given (the demo, fixtures). */
  teamId?: number;
  name: string;
  brand: string;
  category?: string | null;
  defaultLocale: Locale;
  locales: Locale[];
  signingSecret: string;
  createdBy: number | null;
  pageSize?: number | null;
  publicTitle?: string | null;
  targetLift?: number | null;
  timeZone?: string | null;
  campaignCost?: number | null;
  costCurrency?: string | null;
  segments: Array<{ key: string; label: LocalizedText; role: "exposed" | "control" }>;
}

/**
 * Creates a study with its segments and the audit entry, all or nothing. The audit names the
 * creator, or `acting.systemActor` when a system actor created it for them (the demo), at `acting.at`.
 */
export async function insertStudy(db: Executor, input: NewStudy, acting: Acting = {}): Promise<Study> {
  return unitOfWork(db, async (tx) => {
    const { segments: segmentList, teamId, ...fields } = input;
    const dated = acting.at ? { createdAt: acting.at, updatedAt: acting.at } : {};
    const study = one(await tx
      .insert(studies)
      .values({ ...fields, ...dated, teamId: teamId ?? (await defaultTeam(tx)).id })
      .returning());
    for (const [position, s] of segmentList.entries()) {
      await tx.insert(segments).values({ studyId: study.id, position, ...s });
    }
    await recordAudit(tx, {
      userId: acting.systemActor ? null : input.createdBy,
      ...acting,
      action: "study.create",
      entityType: "study",
      entityId: study.id,
      details: { name: study.name, brand: study.brand, teamId: study.teamId },
    });
    return study;
  });
}

export interface StudySummary {
  id: number;
  name: string;
  brand: string;
  status: Study["status"];
  teamName: string;
  createdAt: Date;
  waves: number;
  completedResponses: number;
}

/**
 * Studies of the given teams (all when `teamIds` is null), newest first, with their team, wave
 * count and completed-response count (computed in SQL).
 */
export async function listStudySummaries(db: Executor, teamIds: number[] | null): Promise<StudySummary[]> {
  const waveCounts = db
    .select({ studyId: waves.studyId, n: count().as("wave_n") })
    .from(waves)
    .groupBy(waves.studyId)
    .as("wave_counts");
  const responseCounts = db
    .select({ studyId: waves.studyId, n: count().as("response_n") })
    .from(responses)
    .innerJoin(waves, eq(waves.id, responses.waveId))
    .where(eq(responses.status, "completed"))
    .groupBy(waves.studyId)
    .as("response_counts");
  return db
    .select({
      id: studies.id,
      name: studies.name,
      brand: studies.brand,
      status: studies.status,
      teamName: teams.name,
      createdAt: studies.createdAt,
      waves: sql<number>`coalesce(${waveCounts.n}, 0)`,
      completedResponses: sql<number>`coalesce(${responseCounts.n}, 0)`,
    })
    .from(studies)
    .innerJoin(teams, eq(teams.id, studies.teamId))
    .leftJoin(waveCounts, eq(waveCounts.studyId, studies.id))
    .leftJoin(responseCounts, eq(responseCounts.studyId, studies.id))
    .where(teamIds === null ? undefined : inArray(studies.teamId, teamIds.length > 0 ? teamIds : [-1]))
    .orderBy(desc(studies.id));
}

export async function findStudy(db: Executor, id: number): Promise<Study | undefined> {
  return first(await db.select().from(studies).where(eq(studies.id, id)));
}

export async function listSegments(db: Executor, studyId: number) {
  return db.select().from(segments).where(eq(segments.studyId, studyId)).orderBy(segments.position);
}

export async function updateStudy(db: Executor, id: number, fields: Partial<Omit<Study, "id" | "createdAt">>): Promise<void> {
  await db.update(studies).set({ ...fields, updatedAt: new Date() }).where(eq(studies.id, id));
}

/** True once any wave of the study has been opened: the questionnaire structure is then frozen. */
export async function studyHasOpenedWave(db: Executor, studyId: number): Promise<boolean> {
  return (
    first(await db
      .select({ id: waves.id })
      .from(waves)
      .where(and(eq(waves.studyId, studyId), isNotNull(waves.openedAt)))
      .limit(1)) !== undefined
  );
}

export async function insertSegment(db: Executor, segment: { studyId: number; key: string; label: LocalizedText; role: "exposed" | "control" }) {
  const last = first(await db.select({ p: max(segments.position) }).from(segments).where(eq(segments.studyId, segment.studyId)))?.p;
  return one(await db.insert(segments).values({ ...segment, position: (last ?? -1) + 1 }).returning());
}
