import type { Locale } from "../../db/schema.js";
import type { Translate } from "../i18n/index.js";
import { localize } from "../domain/questionnaire.js";
import type { Breakdown } from "../services/breakdown.js";
import type { StudyResults } from "../services/results.js";
import { numberFormats, verdictText } from "./results.js";

/** The breakdown page's tables: per metric, a row per segment x category with the verdict of the results page's rules. */
export function breakdownView(breakdown: Breakdown, results: StudyResults, locale: Locale, t: Translate) {
  const f = numberFormats(locale);
  const fallback = results.study.defaultLocale;
  return {
    variable: breakdown.variable.key,
    variableLabel: localize(breakdown.variable.text, locale, fallback),
    variables: breakdown.variables.map((q) => ({ key: q.key, label: localize(q.text, locale, fallback) })),
    metrics: Object.entries(results.metricLabels).map(([key, label]) => {
      const rows = breakdown.table.rows.filter((r) => r.metric === key);
      const family = breakdown.table.families.find((fam) => fam.metric === key && fam.kind === "segments");
      return {
        key,
        label,
        family: family ? t("breakdown.family", { count: family.size, method: t(`resultsPage.adjustments.${family.adjustment}`) }) : "",
        rows: rows.map((row) => {
          const cell = breakdown.cells.get(row.segment)!;
          const v = verdictText(row, locale, t);
          return {
            segment: cell.segment,
            level: cell.level,
            verdictClass: row.verdict,
            verdict: v.verdict,
            pre: f.percent(row.pre.p),
            post: f.percent(row.post.p),
            lift: v.lift,
            interval: v.interval,
            level_: v.level,
            n: `${f.integer(row.pre.n)} / ${f.integer(row.post.n)}`,
            smallN: row.warnings.includes("small_n"),
          };
        }),
      };
    }),
  };
}
