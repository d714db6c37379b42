import { unitOfWork, type Db } from "../../db/client.js";
import { recordAudit } from "../../db/queries/audit.js";
import { appendKpi, countKpis, deleteKpi } from "../../db/queries/kpis.js";
import { loadQuestionnaire } from "../../db/queries/questionnaire.js";
import { listSegments } from "../../db/queries/studies.js";
import type { Study } from "../../db/schema.js";
import { issueMessage, kpiDefinition, kpiScopeIssues, MAX_KPIS, type KpiDefinition } from "../domain/study-definition.js";
import { NotFoundError } from "../errors.js";
import type { FieldErrors } from "../forms.js";
import type { Translate } from "../i18n/index.js";

/**
 * KPIs edited on the study's settings page: the definition's own validator (kpiDefinition and
 * kpiScopeIssues), so the page refuses what an import refuses, with the same messages. The form
 * takes percent (5 for a lift of 5 pp, 40 for a level of 40%); the table keeps fractions. KPIs
 * are read beside the results snapshot, so a change shows at once without a recomputation.
 */

/** The form's field for each field of a KPI definition (errors are shown at the form's fields). */
const FIELD: Record<string, string> = { metric: "kpiMetric", segment: "kpiSegment", lift: "kpiValue", level: "kpiValue", by: "kpiBy" };

/** A typed percent ("5", "4,5", "40 %") as a fraction; NaN when it is not a number. */
function percentToFraction(raw: unknown): number {
  const text = typeof raw === "string" ? raw.replace(/[\s\u00a0%]/g, "").replace(",", ".") : "";
  return /^-?\d+(\.\d+)?$/.test(text) ? Number(text) / 100 : Number.NaN;
}

export type KpiFormResult = { ok: true; kpi: KpiDefinition } | { ok: false; errors: FieldErrors };

/** The add-KPI form as a definition KPI, checked as an import checks it, against the study's metrics and segments. */
export async function parseKpiForm(db: Db, study: Study, body: Record<string, unknown> | undefined, t: Translate): Promise<KpiFormResult> {
  const str = (name: string) => (typeof body?.[name] === "string" ? (body[name] as string).trim() : "");
  const kind = str("kpiKind") === "level" ? "level" : "lift";
  const candidate = { metric: str("kpiMetric"), segment: str("kpiSegment"), [kind]: percentToFraction(body?.["kpiValue"]), by: str("kpiBy") };
  const errors: FieldErrors = Object.create(null);
  const parsed = kpiDefinition.safeParse(candidate);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const field = FIELD[String(issue.path[0])] ?? "kpiValue";
      // The form takes percent: its range is said in percent (the definition's message speaks of fractions).
      errors[field] ??= field === "kpiValue" ? t("tracking.settings.valueRange") : field === "kpiBy" ? t("tracking.settings.byRequired") : issueMessage(issue, t);
    }
  }
  const metrics = new Set((await loadQuestionnaire(db, study.id)).flatMap((q) => (q.metricName ? [q.metricName] : [])));
  const segments = new Set((await listSegments(db, study.id)).map((s) => s.key));
  for (const issue of kpiScopeIssues(candidate, { metrics, segments })) errors[FIELD[issue.field]!] ??= t(issue.message);
  if (Object.keys(errors).length || !parsed.success) return { ok: false, errors };
  return { ok: true, kpi: parsed.data };
}

export async function addKpi(db: Db, study: Study, kpi: KpiDefinition, actorId: number, t: Translate): Promise<FieldErrors | null> {
  return unitOfWork(db, async (tx) => {
    if ((await countKpis(tx, study.id)) >= MAX_KPIS) return { kpiMetric: t("tracking.definition.tooMany", { max: MAX_KPIS }) };
    const segment = (await listSegments(tx, study.id)).find((s) => s.key === kpi.segment)!;
    const kind = kpi.lift !== undefined ? "lift" : "level";
    await appendKpi(tx, study.id, { metric: kpi.metric, segmentId: segment.id, kind, target: kpi.lift ?? kpi.level!, byWave: kpi.by });
    await recordAudit(tx, { userId: actorId, action: "study.kpi_add", entityType: "study", entityId: study.id, details: { by: kpi.by } });
    return null;
  });
}

export async function removeKpi(db: Db, study: Study, id: number, actorId: number): Promise<void> {
  await unitOfWork(db, async (tx) => {
    if (!(await deleteKpi(tx, study.id, id))) throw new NotFoundError();
    await recordAudit(tx, { userId: actorId, action: "study.kpi_remove", entityType: "study", entityId: study.id });
  });
}
