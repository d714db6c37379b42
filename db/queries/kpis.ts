import { asc, eq } from "drizzle-orm";
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
