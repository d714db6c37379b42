import { and, asc, eq, max } from "drizzle-orm";
import type { Executor } from "../client.js";
import { kpis, segments, type Kpi } from "../schema.js";

export type NewKpi = Omit<Kpi, "id" | "studyId">;

/** A study's KPIs in the definition's order, with their segment's key. */
export async function listKpis(db: Executor, studyId: number): Promise<Array<Kpi & { segmentKey: string }>> {
  return db
    .select({ id: kpis.id, studyId: kpis.studyId, position: kpis.position, metric: kpis.metric, segmentId: kpis.segmentId, segmentKey: segments.key, kind: kpis.kind, target: kpis.target, byWave: kpis.byWave })
    .from(kpis)
    .innerJoin(segments, eq(segments.id, kpis.segmentId))
    .where(eq(kpis.studyId, studyId))
    .orderBy(asc(kpis.position));
}

/** Stores a new study's KPIs; run inside the caller's unit of work. */
export async function insertKpis(db: Executor, studyId: number, rows: readonly NewKpi[]): Promise<void> {
  if (rows.length > 0) await db.insert(kpis).values(rows.map((r) => ({ studyId, ...r })));
}

/** Adds a KPI after the study's last; run inside the caller's unit of work. */
export async function appendKpi(db: Executor, studyId: number, row: Omit<NewKpi, "position">): Promise<Kpi> {
  const [last] = await db.select({ position: max(kpis.position) }).from(kpis).where(eq(kpis.studyId, studyId));
  const [kpi] = await db
    .insert(kpis)
    .values({ studyId, position: Number(last?.position ?? -1) + 1, ...row })
    .returning();
  return kpi!;
}

/** Removes a KPI of the study; false when the study has no KPI of that id. */
export async function deleteKpi(db: Executor, studyId: number, id: number): Promise<boolean> {
  const gone = await db.delete(kpis).where(and(eq(kpis.id, id), eq(kpis.studyId, studyId))).returning({ id: kpis.id });
  return gone.length > 0;
}

export async function countKpis(db: Executor, studyId: number): Promise<number> {
  return (await listKpis(db, studyId)).length;
}
