import type { Translate } from "../i18n/index.js";
import { localize, type SurveyQuestion } from "../domain/questionnaire.js";
import { NO_ANSWER } from "../domain/weighting.js";
import { segmentName } from "../domain/segments.js";
import type { Locale, Segment, Wave } from "../../db/schema.js";
import type { StudyResults } from "../services/results.js";
import type { WaveShift } from "../services/comparability.js";
import { numberFormats } from "./results.js";

export interface WeightingView {
  /** One sentence: weighted to what, or why not. */
  note: string;
  /** How the weighting works, when applied (behind a disclosure). */
  detail: string | null;
  /** Cells that could not be weighted, for people (labels, never keys); at most MAX_PROBLEMS. */
  problems: string[];
  /** The results can be switched between weighted and unweighted. */
  canToggle: boolean;
  /** This table is weighted (the options line says so; the note then stays out of the way). */
  applied: boolean;
}

const MAX_PROBLEMS = 6;

/** What the results say about weighting, in the reader's language (page, report, exports' methods). */
export function weightingView(results: Pick<StudyResults, "weighting" | "questions" | "segments" | "waves" | "study">, locale: Locale, t: Translate): WeightingView {
  const w = results.weighting;
  if (w === null) return { note: t("weightedResults.none"), detail: null, problems: [], canToggle: false, applied: false };
  const fallback = results.study.defaultLocale;
  const question = (key: string): SurveyQuestion | undefined => results.questions.find((q) => q.key === key);
  const variableLabel = (key: string) => {
    const q = question(key);
    return q ? localize(q.text, locale, fallback) || t("weightedResults.noAnswer") : t("weightedResults.noAnswer");
  };
  if (w.applied) {
    return { note: t("weightedResults.applied", { variables: w.variables.map(variableLabel).join(", ") }), detail: t("weightedResults.appliedDetail"), problems: [], canToggle: true, applied: true };
  }
  if (w.available) return { note: t("weightedResults.offAvailable"), detail: null, problems: [], canToggle: true, applied: false };
  const segment = (id: number): string => {
    const s: Segment | undefined = results.segments.find((x) => x.id === id);
    return s ? segmentName(s, locale, fallback, t) : "";
  };
  const wave = (id: number): string => results.waves.find((x: Wave) => x.id === id)?.label ?? "";
  const levelLabel = (variable: string, level: string) => {
    if (level === NO_ANSWER) return t("weightedResults.noAnswer");
    const option = question(variable)?.options.find((o) => o.key === level);
    return option ? localize(option.text, locale, fallback) || level : level;
  };
  // One line per segment and wave: every metric of a cell fails for the same reason.
  const seen = new Set<string>();
  const lines: string[] = [];
  for (const p of w.problems) {
    const key = `${p.segmentId}|${p.waveId}|${p.problem.kind}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const detail = "variable" in p.problem ? { variable: variableLabel(p.problem.variable), level: levelLabel(p.problem.variable, p.problem.level) } : {};
    lines.push(t(`weightedResults.problems.${p.problem.kind}`, { segment: segment(p.segmentId), wave: wave(p.waveId), ...detail }));
  }
  const shown = lines.slice(0, MAX_PROBLEMS);
  if (lines.length > MAX_PROBLEMS) shown.push(t("weightedResults.more", { count: lines.length - MAX_PROBLEMS }));
  return { note: t("weightedResults.unavailable"), detail: null, problems: shown, canToggle: false, applied: false };
}

/** The waves' differences in make-up, as sentences to read before any lift (page and report). */
export function shiftsView(shifts: readonly WaveShift[], results: Pick<StudyResults, "weighting" | "segments" | "study">, locale: Locale, t: Translate): { lines: string[]; note: string } | null {
  if (shifts.length === 0) return null;
  const f = numberFormats(locale);
  const fallback = results.study.defaultLocale;
  // One sentence per segment, its shifted variables side by side.
  const lines: string[] = [];
  for (const segment of results.segments) {
    const mine = shifts.filter((s) => s.segmentId === segment.id);
    if (mine.length === 0) continue;
    const changes = mine.map((s) => {
      const option = s.variable.options.find((o) => o.key === s.result.shift.level);
      return t("weightedResults.shiftChange", {
        variable: localize(s.variable.text, locale, fallback),
        level: option ? localize(option.text, locale, fallback) : s.result.shift.level,
        pre: f.percent(s.result.shift.pre),
        post: f.percent(s.result.shift.post),
        // "p < 0.001" reads as it is; otherwise "p = 0.012".
        p: s.result.pValue < 0.001 ? `p ${f.pValue(s.result.pValue)}` : `p = ${f.pValue(s.result.pValue)}`,
        small: s.result.smallExpected ? t("weightedResults.shiftSmall") : "",
      });
    });
    lines.push(t("weightedResults.shift", { segment: segmentName(segment, locale, fallback, t), changes: changes.join("; ") }));
  }
  return { lines, note: t(results.weighting?.applied ? "weightedResults.shiftWeighted" : "weightedResults.shiftUnweighted") };
}
