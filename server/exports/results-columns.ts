import type { Locale } from "../../db/schema.js";
import { describeRow, type LiftRow, type LiftTable } from "../../stats/index.js";
import type { Translate } from "../i18n/index.js";

/**
 * The columns of a results export, shared by CSV and XLSX so both say the same thing.
 *
 * Units (documented in the Methods sheet and the README of exports): shares, interval bounds,
 * absolute lifts and the minimum detectable lift are fractions 0..1 (0.07 = 7 percentage points),
 * written unrounded; relative and headroom lift are fractions too (0.25 = +25 %). Counts are
 * integers, p-values as computed. Text columns (labels, test, warnings, verdict, summary) are in
 * the reader's language.
 */

export type CellValue = string | number | null;

/** How XLSX shows a number (the stored value is the same in every format). */
export type ColumnFormat = "text" | "share" | "lift" | "ratio" | "p" | "count" | "money";

export interface ResultColumn {
  key: string;
  header: string;
  format: ColumnFormat;
  value: (row: LiftRow) => CellValue;
}

export interface ColumnOptions {
  /** Leading metric label and key columns (CSV holds every metric; an XLSX sheet holds one). */
  withMetric: boolean;
}

/** An unbounded ratio limit (the pre share's interval reaching 0) has no number: an empty cell. */
function finiteOrNull(value: number | undefined): number | null {
  return value === undefined || !Number.isFinite(value) ? null : value;
}

export function resultColumns(table: LiftTable, locale: Locale, t: Translate, options: ColumnOptions): ResultColumn[] {
  const col = (key: string, format: ColumnFormat, value: (row: LiftRow) => CellValue): ResultColumn => ({
    key,
    header: t(`exports.columns.${key}`),
    format,
    value,
  });
  const columns: ResultColumn[] = [];
  if (options.withMetric) {
    columns.push(
      col("metric", "text", (r) => r.metricLabel),
      col("metricKey", "text", (r) => r.metric),
    );
  }
  columns.push(
    col("segment", "text", (r) => r.segmentLabel),
    col("segmentKey", "text", (r) => r.segment),
    // The verdict and the interval printed with it: what every other place shows.
    col("verdict", "text", (r) => t(`verdict.labels.${r.verdict}`)),
    col("measure", "text", (r) => t(`verdict.measures.${r.measure}`)),
    col("verdictEstimate", "lift", (r) => r.verdictEstimate),
    col("verdictLower", "lift", (r) => r.verdictInterval.lower),
    col("verdictUpper", "lift", (r) => r.verdictInterval.upper),
    col("verdictLevel", "share", (r) => r.verdictLevel),
    col("familySize", "count", (r) => r.familySize),
    col("pValue", "p", (r) => r.verdictPValue),
    col("adjustedPValue", "p", (r) => r.adjustedPValue),
    col("preShare", "share", (r) => r.pre.p),
    col("preLower", "share", (r) => r.pre.lower),
    col("preUpper", "share", (r) => r.pre.upper),
    col("postShare", "share", (r) => r.post.p),
    col("postLower", "share", (r) => r.post.lower),
    col("postUpper", "share", (r) => r.post.upper),
    col("lift", "lift", (r) => r.absoluteLift.estimate),
    col("liftLower", "lift", (r) => r.absoluteLift.lower),
    col("liftUpper", "lift", (r) => r.absoluteLift.upper),
    col("relativeLift", "ratio", (r) => r.relativeLift?.estimate ?? null),
    col("relativeLower", "ratio", (r) => r.relativeLift?.lower ?? null),
    col("relativeUpper", "ratio", (r) => finiteOrNull(r.relativeLift?.upper)),
    col("headroomLift", "ratio", (r) => r.headroomLift?.estimate ?? null),
    col("headroomLower", "ratio", (r) => r.headroomLift?.lower ?? null),
    col("headroomUpper", "ratio", (r) => finiteOrNull(r.headroomLift?.upper)),
    col("ratioLevel", "share", (r) => r.relativeLift?.level ?? r.headroomLift?.level ?? null),
    col("probabilityOfRise", "share", (r) => r.probabilityOfRise),
    col("probabilityNote", "text", (r) =>
      r.probabilityDisagrees
        ? r.familySize > 1
          ? t("verdict.probabilityNote", { count: r.familySize, verdict: t(`verdict.labels.${r.verdict}`) })
          : t("verdict.probabilityNoteSingle", { level: `${Math.round(r.verdictLevel * 1000) / 10}%`, verdict: t(`verdict.labels.${r.verdict}`) })
        : null,
    ),
    col("preX", "count", (r) => r.pre.x),
    col("preN", "count", (r) => r.pre.n),
    col("postX", "count", (r) => r.post.x),
    col("postN", "count", (r) => r.post.n),
    col("minimumDetectableLift", "lift", (r) => r.minimumDetectableLift),
    col("planningAlpha", "p", (r) => r.planningAlpha),
    col("warnings", "text", (r) => r.warnings.map((w) => t(`exports.warnings.${w}`)).join("; ")),
    col("summary", "text", (r) => describeRow(r, locale)),
  );
  // Weighted tables: which shares are weighted, and how much the weighting costs in precision.
  if (table.rows.some((r) => r.weighted)) {
    columns.push(
      col("weighted", "text", (r) => t(r.weighted ? "exports.yes" : "exports.no")),
      col("preNEff", "count", (r) => r.pre.nEff ?? null),
      col("postNEff", "count", (r) => r.post.nEff ?? null),
      col("preDesignEffect", "ratio", (r) => r.pre.designEffect ?? null),
      col("postDesignEffect", "ratio", (r) => r.post.designEffect ?? null),
    );
  }
  if (table.rows.some((r) => r.differenceInDifferences !== null)) {
    columns.push(
      col("didEstimate", "lift", (r) => r.differenceInDifferences?.estimate ?? null),
      col("didLower", "lift", (r) => r.differenceInDifferences?.lower ?? null),
      col("didUpper", "lift", (r) => r.differenceInDifferences?.upper ?? null),
      col("didPValue", "p", (r) => r.differenceInDifferences?.pValue ?? null),
      col("marketTrend", "lift", (r) => r.differenceInDifferences?.marketTrend.estimate ?? null),
      col("marketTrendLower", "lift", (r) => r.differenceInDifferences?.marketTrend.lower ?? null),
      col("marketTrendUpper", "lift", (r) => r.differenceInDifferences?.marketTrend.upper ?? null),
    );
  }
  // Lifted users and cost: a number only for a detected rise, otherwise the reason, in every export.
  columns.push(
    col("liftedUsers", "count", (r) => r.liftedUsers?.estimate ?? null),
    col("liftedUsersLower", "count", (r) => r.liftedUsers?.lower ?? null),
    col("liftedUsersUpper", "count", (r) => r.liftedUsers?.upper ?? null),
    col("liftedUsersNote", "text", (r) => (r.liftedUsersNote === null ? null : t(`verdict.notes.${r.liftedUsersNote}`))),
    col("costPerLiftedUser", "money", (r) => r.costPerLiftedUser?.amount ?? null),
    col("costLower", "money", (r) => r.costPerLiftedUser?.lower ?? null),
    col("costUpper", "money", (r) => r.costPerLiftedUser?.upper ?? null),
    col("currency", "text", (r) => r.costPerLiftedUser?.currency ?? null),
    col("costNote", "text", (r) => (r.costNote === null ? null : t(`verdict.notes.${r.costNote}`))),
  );
  return columns;
}
