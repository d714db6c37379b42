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
    col("preShare", "share", (r) => r.pre.p),
    col("preLower", "share", (r) => r.pre.lower),
    col("preUpper", "share", (r) => r.pre.upper),
    col("postShare", "share", (r) => r.post.p),
    col("postLower", "share", (r) => r.post.lower),
    col("postUpper", "share", (r) => r.post.upper),
    col("lift", "lift", (r) => r.absoluteLift.estimate),
    col("liftLower", "lift", (r) => r.absoluteLift.lower),
    col("liftUpper", "lift", (r) => r.absoluteLift.upper),
    col("relativeLift", "ratio", (r) => r.relativeLift),
    col("headroomLift", "ratio", (r) => r.headroomLift),
    col("test", "text", (r) => t(`exports.tests.${r.test}`)),
    col("pValue", "p", (r) => r.pValue),
    col("adjustedPValue", "p", (r) => r.adjustedPValue),
    col("liftCertainty", "share", (r) => r.liftCertainty),
    col("probabilityOfLift", "share", (r) => r.probabilityOfLift),
    col("preX", "count", (r) => r.pre.x),
    col("preN", "count", (r) => r.pre.n),
    col("postX", "count", (r) => r.post.x),
    col("postN", "count", (r) => r.post.n),
    col("minimumDetectableLift", "lift", (r) => r.minimumDetectableLift),
    col("warnings", "text", (r) => r.warnings.map((w) => t(`exports.warnings.${w}`)).join("; ")),
    col("verdict", "text", (r) => t(`exports.verdicts.${r.verdict}`)),
    col("summary", "text", (r) => describeRow(r, locale)),
  );
  if (table.rows.some((r) => r.differenceInDifferences !== null)) {
    columns.push(
      col("didEstimate", "lift", (r) => r.differenceInDifferences?.estimate ?? null),
      col("didLower", "lift", (r) => r.differenceInDifferences?.lower ?? null),
      col("didUpper", "lift", (r) => r.differenceInDifferences?.upper ?? null),
      col("didPValue", "p", (r) => r.differenceInDifferences?.pValue ?? null),
      col("didAdjustedPValue", "p", (r) => r.differenceInDifferences?.adjustedPValue ?? null),
    );
  }
  if (table.rows.some((r) => r.liftedUsers !== null)) {
    columns.push(
      col("liftedUsers", "count", (r) => r.liftedUsers?.estimate ?? null),
      col("liftedUsersLower", "count", (r) => r.liftedUsers?.lower ?? null),
      col("liftedUsersUpper", "count", (r) => r.liftedUsers?.upper ?? null),
    );
  }
  if (table.rows.some((r) => r.costPerLiftedUser !== null)) {
    columns.push(
      col("costPerLiftedUser", "money", (r) => r.costPerLiftedUser?.amount ?? null),
      col("currency", "text", (r) => r.costPerLiftedUser?.currency ?? null),
    );
  }
  return columns;
}
