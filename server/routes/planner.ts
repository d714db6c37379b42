import { Router } from "express";
import type { Db } from "../../db/client.js";
import { countRespondents } from "../../db/queries/aggregation.js";
import { listWaves } from "../../db/queries/fieldwork.js";
import { listSegments } from "../../db/queries/studies.js";
import type { Locale, Segment, Study, Wave } from "../../db/schema.js";
import { minimumDetectableLift, planningAlpha, sampleSizeTwoProportions } from "../../stats/index.js";
import { localize } from "../domain/questionnaire.js";
import { numberFormats } from "../presenters/results.js";
import type { FieldErrors } from "../forms.js";
import type { Translate } from "../i18n/index.js";
import { requireRole } from "../middleware/auth.js";
import { kpiViews, type KpiView } from "../presenters/tracking.js";
import { loadStudyResults } from "../results-snapshots/load.js";
import { resultsDataVersion } from "../results-snapshots/version.js";
import { resultsQuery } from "../services/results.js";
import { listKpis } from "../../db/queries/kpis.js";
import { studyFrom } from "./studies.js";

/**
 * The sample-size planner of a study (GET form, nothing stored): baseline share, lift to detect,
 * confidence and power → respondents needed per segment per wave (R's power.prop.test, rounded
 * up), and for every wave with responses the minimum detectable lift at its current counts.
 *
 * Everything is planned at the verdict's per-row level: alpha / k, k the exposed segments tested
 * together (one metric's family, by default the study's exposed segments), so a study planned
 * here detects the planned lift with the stated power at the level its verdict will use.
 */

export const PLANNER_CONFIDENCE_LEVELS = [80, 90, 95, 99] as const;
export const PLANNER_DEFAULTS = { baseline: "30", lift: "5", confidence: "95", power: "80", family: "3" } as const;
export const POWER_RANGE = { min: 50, max: 99 } as const;
export const BASELINE_RANGE = { min: 1, max: 99 } as const;
/** Segments a metric's verdicts are adjusted over; a study has at most 20 segments. */
export const FAMILY_RANGE = { min: 1, max: 20 } as const;
/** Smaller lifts need samples beyond any survey (and at the limit p2 rounds to p1). */
export const MIN_LIFT = 0.1;

export type PlannerField = keyof typeof PLANNER_DEFAULTS;
export type PlannerValues = Record<PlannerField, string>;

/** All in percent: baseline and lift as entered (pp), confidence and power as levels; family a count. */
export interface PlannerInput {
  baseline: number;
  lift: number;
  confidence: number;
  power: number;
  /** k: exposed segments whose verdicts are adjusted together (alpha / k per segment). */
  family: number;
}

export type PlannerParse = { ok: true; input: PlannerInput; values: PlannerValues } | { ok: false; errors: FieldErrors; values: PlannerValues };

/** A decimal as people type it: "30", "2.5" or "2,5" (decimal comma), nothing else. */
function decimal(text: string): number | undefined {
  const normalized = text.trim().replace(",", ".");
  return /^-?(\d+(\.\d*)?|\.\d+)$/.test(normalized) ? Number(normalized) : undefined;
}

/**
 * Parses the planner's query string; absent fields take the defaults (family: the study's exposed
 * segments when given), bad ones get a message each.
 */
export function parsePlannerQuery(query: Record<string, unknown>, t: Translate, locale: Locale, familyDefault?: number): PlannerParse {
  const defaults: PlannerValues = { ...PLANNER_DEFAULTS, ...(familyDefault !== undefined ? { family: String(familyDefault) } : {}) };
  const values = {} as PlannerValues;
  const numbers = {} as Partial<PlannerInput>;
  const errors: FieldErrors = {};
  for (const field of Object.keys(PLANNER_DEFAULTS) as PlannerField[]) {
    const raw = query[field];
    // A repeated parameter (?lift=1&lift=2) is not a number either; keep its first value on the page.
    values[field] = raw === undefined ? defaults[field] : typeof raw === "string" ? raw : String(Array.isArray(raw) ? (raw[0] ?? "") : "");
    const n = typeof raw === "string" || raw === undefined ? decimal(values[field]) : undefined;
    if (n === undefined || !Number.isFinite(n)) errors[field] = t("planner.errors.number");
    else numbers[field] = n;
  }
  const { baseline, lift, confidence, power, family } = numbers;
  if (baseline !== undefined && (baseline < BASELINE_RANGE.min || baseline > BASELINE_RANGE.max)) {
    errors["baseline"] = t("planner.errors.baseline", BASELINE_RANGE);
  }
  if (lift !== undefined && !errors["lift"]) {
    if (lift < MIN_LIFT) errors["lift"] = t("planner.errors.liftTooSmall", { min: formatDecimal(MIN_LIFT, locale) });
    else if (baseline !== undefined && !errors["baseline"] && baseline + lift > 100 + 1e-9) {
      errors["lift"] = t("planner.errors.liftTooLarge", { baseline: values.baseline.trim(), max: formatDecimal(100 - baseline, locale, 2) });
    }
  }
  if (confidence !== undefined && !(PLANNER_CONFIDENCE_LEVELS as readonly number[]).includes(confidence)) {
    errors["confidence"] = t("planner.errors.confidence");
  }
  if (power !== undefined && (power < POWER_RANGE.min || power > POWER_RANGE.max)) {
    errors["power"] = t("planner.errors.power", POWER_RANGE);
  }
  if (family !== undefined && !(Number.isInteger(family) && family >= FAMILY_RANGE.min && family <= FAMILY_RANGE.max)) {
    errors["family"] = t("planner.errors.family", FAMILY_RANGE);
  }
  if (Object.keys(errors).length) {
    // In the order of the form, so the summary at the top reads like the fields below it.
    const ordered: FieldErrors = {};
    for (const field of Object.keys(PLANNER_DEFAULTS)) if (errors[field]) ordered[field] = errors[field];
    return { ok: false, errors: ordered, values };
  }
  return { ok: true, input: numbers as PlannerInput, values };
}

/**
 * The planning quantities in the stats functions' terms: proportions, and alpha the per-segment
 * level alpha / k that the verdict uses (familyAlpha = 1 − confidence, for the whole family).
 */
export function planParameters(input: PlannerInput) {
  // (100 − 95) / 100 is exactly 0.05, where 1 − 0.95 is not.
  const familyAlpha = (100 - input.confidence) / 100;
  return {
    p1: input.baseline / 100,
    p2: Math.min(1, (input.baseline + input.lift) / 100),
    familyAlpha,
    alpha: planningAlpha(familyAlpha, input.family),
    power: input.power / 100,
  };
}

/** Respondents per segment per wave, rounded up. */
export function respondentsNeeded(input: PlannerInput): number {
  const { p1, p2, alpha, power } = planParameters(input);
  return Math.ceil(sampleSizeTwoProportions({ p1, p2, alpha, power }));
}

function formatDecimal(value: number, locale: Locale, digits = 1): string {
  return new Intl.NumberFormat(locale === "ru" ? "ru-RU" : "en-GB", { maximumFractionDigits: digits }).format(value);
}

export interface SegmentDetectable {
  segment: Segment;
  label: string;
  /** Completed, not excluded responses. */
  n: number;
  /** Minimum detectable lift as a proportion; null when none up to 100% (or no responses). */
  lift: number | null;
  /** Whether the planned lift is at or above the minimum detectable one. */
  enough: boolean;
  /** Respondents still missing to the planned number. */
  remaining: number;
}

export interface WaveDetectable {
  wave: Wave;
  segments: SegmentDetectable[];
}

/** Minimum detectable lift per segment for every wave of the study that has responses. */
export async function detectableByWave(db: Db, studyId: number, input: PlannerInput, needed: number, locale: Locale, fallback: Locale): Promise<WaveDetectable[]> {
  const waves = await listWaves(db, studyId);
  const segments = await listSegments(db, studyId);
  const counts = await countRespondents(db, { waveIds: waves.map((w) => w.id), includeFlagged: true });
  const nBy = new Map(counts.map((c) => [`${c.waveId}|${c.segmentId}`, c.n]));
  const { p1, alpha, power } = planParameters(input);
  return waves
    .filter((w) => segments.some((s) => (nBy.get(`${w.id}|${s.id}`) ?? 0) > 0))
    .map((wave) => ({
      wave,
      segments: segments.map((segment) => {
        const n = nBy.get(`${wave.id}|${segment.id}`) ?? 0;
        const lift = n > 0 ? minimumDetectableLift({ p1, n, alpha, power }) : null;
        return {
          segment,
          label: localize(segment.label, locale, fallback) || segment.key,
          n,
          lift,
          // Compared in pp with a little slack, so a planned 5 pp meets a detectable 4.99999999 pp.
          enough: lift !== null && lift * 100 <= input.lift + 1e-9,
          remaining: Math.max(0, needed - n),
        };
      }),
    }));
}

/**
 * The wave size that would decide each KPI not decided yet (stats/kpi.ts respondentsNeeded), read
 * from the results as the results page shows them by default; null for a study without KPIs.
 */
export async function kpiWaveSizes(db: Db, study: Study, locale: Locale, t: Translate): Promise<{ computing: boolean; kpis: KpiView[] } | null> {
  if ((await listKpis(db, study.id)).length === 0) return null;
  const results = await loadStudyResults(db, study, await resultsDataVersion(db, study.id), resultsQuery.parse({}), locale, t);
  if (results === "computing") return { computing: true, kpis: [] };
  if (results === "no_waves") return { computing: false, kpis: [] };
  return { computing: false, kpis: kpiViews(results, locale, t).filter((k) => k.needed !== null) };
}

export function plannerRoutes(db: Db): Router {
  const router = Router();

  router.get("/studies/:studyId/planner", requireRole("viewer"), async (req, res) => {
    const study = await studyFrom(db, req);
    const segments = await listSegments(db, study.id);
    const exposed = segments.filter((s) => s.role === "exposed").length;
    const parsed = parsePlannerQuery(req.query as Record<string, unknown>, req.t, req.locale, Math.max(1, exposed));
    const pp = (proportion: number) => formatDecimal(proportion * 100, req.locale);
    const common = {
      study,
      values: parsed.values,
      confidenceLevels: PLANNER_CONFIDENCE_LEVELS,
      pp,
      decimal: (value: number) => formatDecimal(value, req.locale, 2),
      kpiSizes: await kpiWaveSizes(db, study, req.locale, req.t),
    };
    if (!parsed.ok) {
      return res.status(422).render("planner/index", { ...common, errors: parsed.errors, plan: null, waves: [] });
    }
    const { input } = parsed;
    const perSegment = respondentsNeeded(input);
    const segmentCount = segments.length || 3;
    const { p1, p2, familyAlpha, alpha } = planParameters(input);
    const f = numberFormats(req.locale);
    // The same sentence as the results' "lift detectable yet?", so both say which level they use.
    const alphaText = req.t("fieldwork.alpha", { count: input.family, alpha: f.alpha(familyAlpha), level: f.alpha(alpha) });
    const plan = { ...input, p1, p2, alpha, alphaText, perSegment, segments: segmentCount, total: perSegment * segmentCount * 2 };
    const waves = await detectableByWave(db, study.id, input, perSegment, req.locale, study.defaultLocale);
    res.render("planner/index", { ...common, errors: {}, plan, waves });
  });

  return router;
}
