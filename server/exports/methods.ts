import type { Locale, Wave } from "../../db/schema.js";
import { localize } from "../domain/questionnaire.js";
import type { Translate } from "../i18n/index.js";
import type { StudyResults } from "../services/results.js";

/** `2024-05-01` (UTC) or an empty string. */
const isoDate = (d: Date | null | undefined) => (d ? d.toISOString().slice(0, 10) : "");

function waveLine(t: Translate, wave: Wave): string {
  const dates = wave.openedAt ? `${isoDate(wave.openedAt)} – ${isoDate(wave.closedAt) || "…"}` : t("exports.methods.notOpened");
  return t("exports.methods.waveLine", { label: wave.label, kind: wave.kind, id: wave.id, dates });
}

/**
 * The methods note of a results export as (item, value) lines in the reader's language: what was
 * compared, how (tests, intervals, adjustment, confidence), who was left out, and the units.
 */
export function methodsLines(results: StudyResults, locale: Locale, t: Translate, generatedAt: Date): Array<[string, string]> {
  const { study, table, options } = results;
  const m = (key: string, params?: Record<string, unknown>) => t(`exports.methods.${key}`, params ?? {});
  const excluded = results.respondents.reduce((sum, r) => sum + r.excluded, 0);
  const flagged = results.respondents.reduce((sum, r) => sum + r.flagged, 0);
  const segmentLabel = (id: number) => {
    const s = results.segments.find((x) => x.id === id);
    return s ? localize(s.label, locale, study.defaultLocale) || s.key : String(id);
  };
  const waveLabel = (id: number) => results.waves.find((w) => w.id === id)?.label ?? String(id);
  const lines: Array<[string, string]> = [
    [m("study"), study.name],
    [m("brand"), study.brand],
    [m("preWave"), waveLine(t, results.pre)],
    [m("postWave"), waveLine(t, results.post)],
    [m("confidence"), `${Math.round(table.confidenceLevel * 100)}%`],
    [m("adjustment"), `${m(`adjustments.${table.adjustment}`)}. ${m("adjustmentFamily")}`],
    [m("tests"), m("testsText")],
    [m("intervals"), m("intervalsText")],
    [m("totals"), m("totalsText")],
    [m("certainty"), m("certaintyText")],
    [m("mdl"), m("mdlText")],
    [m("exclusions"), `${m("exclusionsText")} ${m("excludedCount", { count: excluded })}.`],
    [m("flagged"), m("flaggedCount", { count: flagged, state: options.flagged ? m("flaggedIncluded") : m("flaggedExcluded") })],
  ];
  for (const r of results.respondents) {
    lines.push([
      m("respondents", { wave: waveLabel(r.waveId), segment: segmentLabel(r.segmentId) }),
      m("respondentsLine", { n: r.n, excluded: r.excluded, flagged: r.flagged }),
    ]);
  }
  for (const o of table.omitted) {
    lines.push([m("omitted"), m("omittedLine", { metric: results.metricLabels[o.metric] ?? o.metric, segment: o.segment, reason: m(`omittedReasons.${o.reason}`) })]);
  }
  lines.push(
    [m("units"), m("unitsText")],
    [m("reproduce"), m("reproduceText")],
    [m("generated"), generatedAt.toISOString()],
    // As the page says it: from which snapshot, and whether it is being updated (a large study's, after a change).
    [m("freshness"), m(results.freshness.current ? "freshnessCurrent" : "freshnessStale", { at: results.freshness.computedAt.toISOString(), count: results.freshness.responses })],
  );
  return lines;
}
