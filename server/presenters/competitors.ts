import type { Locale } from "../../db/schema.js";
import { localize } from "../domain/questionnaire.js";
import type { Translate } from "../i18n/index.js";
import type { CompetitorShare, NetEstimate } from "../services/competitors.js";
import type { StudyResults } from "../services/results.js";
import { numberFormats } from "./results.js";

/**
 * The "Competitors" table under an awareness metric (views/partials/competitors.ejs), and the
 * "category trend" note on the brand's verdict. Rows are brands (the study's brand first), columns
 * the segments; a cell reads "30.0% → 40.0%" with the change below, so the table stays narrow
 * enough for 1280 px with four segments and stacks per brand on a phone.
 */

export interface CompetitorCellView {
  /** "30.0% → 40.0%", or "no responses". */
  shares: string;
  /** The change in pp ("" without both waves). */
  change: string;
  /** Both shares with their intervals (title attribute). */
  title: string;
}

export interface CompetitorsMetricView {
  metric: string;
  hint: string;
  method: string;
  segments: Array<{ key: string; label: string }>;
  brands: Array<{ label: string; isBrand: boolean; cells: CompetitorCellView[] }>;
  /** Per segment column: the average competitor's lift, and the brand's lift net of it (null: not computed). */
  average: Array<string | null>;
  net: Array<{ value: string; categoryTrend: boolean } | null>;
  netLabel: string;
  /** Lift table row id → the note on that row's verdict. */
  notes: Record<string, string>;
}

export function competitorsView(results: StudyResults, locale: Locale, t: Translate): Record<string, CompetitorsMetricView> {
  const f = numberFormats(locale);
  const interval = (lower: number, upper: number, format: (x: number) => string) => `[${format(lower)}; ${format(upper)}]`;
  const withInterval = (e: NetEstimate) => `${f.pp(e.estimate)} ${interval(e.lower, e.upper, f.pp)}`;
  const out: Record<string, CompetitorsMetricView> = {};

  for (const check of results.competitors) {
    const level = f.percentWhole(check.confidenceLevel);
    // Columns: segments with respondents in either wave.
    const brand = check.brands.find((b) => b.isBrand)!;
    const shown = results.segments.filter((s) => brand.segments.some((c) => c.segment === s.key && (c.pre || c.post)));
    const cell = (pre: CompetitorShare | null, post: CompetitorShare | null): CompetitorCellView => {
      const show = (s: CompetitorShare | null) => (s ? f.percent(s.p) : "—");
      const bounds = (s: CompetitorShare | null) => (s ? interval(s.lower, s.upper, f.percent) : "");
      return {
        shares: pre || post ? t("competitors.cell", { pre: show(pre), post: show(post) }) : t("competitors.noData"),
        change: pre && post ? f.pp(post.p - pre.p) : "",
        title: t("competitors.cellTitle", { pre: show(pre), preInterval: bounds(pre), post: show(post), postInterval: bounds(post), level }),
      };
    };
    const netOf = (segment: string) => check.net.find((n) => n.segment === segment);
    const notes: Record<string, string> = {};
    for (const n of check.net) {
      if (!n.categoryTrend) continue;
      notes[`${check.metric}:${n.segment}`] = t("competitors.note", {
        net: f.pp(n.netLift.estimate),
        interval: interval(n.netLift.lower, n.netLift.upper, f.pp),
        level,
      });
    }
    out[check.metric] = {
      metric: check.metric,
      hint: t(check.source === "aided" ? "competitors.hintAided" : "competitors.hintUnaided"),
      method: t("competitors.method", { level }),
      segments: shown.map((s) => ({ key: s.key, label: localize(s.label, locale, results.study.defaultLocale) || s.key })),
      brands: check.brands.map((b) => ({
        label: b.label,
        isBrand: b.isBrand,
        cells: shown.map((s) => {
          const c = b.segments.find((x) => x.segment === s.key);
          return cell(c?.pre ?? null, c?.post ?? null);
        }),
      })),
      average: shown.map((s) => {
        const n = netOf(s.key);
        return n ? withInterval(n.competitorLift) : null;
      }),
      net: shown.map((s) => {
        const n = netOf(s.key);
        return n ? { value: withInterval(n.netLift), categoryTrend: n.categoryTrend } : null;
      }),
      netLabel: t("competitors.net", { brand: brand.label }),
      notes,
    };
  }
  return out;
}
