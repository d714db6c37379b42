// Public API of the statistics engine: re-exports only. See each module for the method and reference.
export type { Alternative, Counts, Interval } from "./types.js";
export { wilson } from "./wilson.js";
export { newcombeDiff } from "./newcombe.js";
export { newcombeTest } from "./newcombe-test.js";
export type { NewcombeTestResult } from "./newcombe-test.js";
export { headroomLift, relativeLift } from "./ratio-lift.js";
export type { RatioEstimate } from "./ratio-lift.js";
export { adjustedTestLevel, isChange, planningAlpha, probabilityDisagrees, SMALL_N, VERDICTS, verdictOf } from "./verdict.js";
export type { Verdict } from "./verdict.js";
export { twoProportionZTest } from "./z-test.js";
export type { ZTestOptions, ZTestResult } from "./z-test.js";
export { fisherExact } from "./fisher.js";
export type { FisherOptions, FisherResult } from "./fisher.js";
export { adjustPValues } from "./adjust.js";
export type { AdjustmentMethod } from "./adjust.js";
export { minimumDetectableLift, powerTwoProportions, sampleSizeTwoProportions } from "./power.js";
export type { MinimumDetectableLiftOptions, PowerOptions, SampleSizeOptions } from "./power.js";
export { probabilityOfLift } from "./bayes.js";
export { differenceInDifferences } from "./did.js";
export type { DidInput, DidOptions, DidResult } from "./did.js";
export { categoryTrend, netLift } from "./category-trend.js";
export type { NetLiftOptions, NetLiftResult, WaveSums } from "./category-trend.js";
export { normalCdf, normalQuantile, normalUpperTail } from "./distributions.js";
export { CONFIDENCE_LEVELS, costPerLiftedUserOf, liftedUsersOfLift, liftTable, PLANNING_POWER, UNBALANCED_RATIO } from "./lift-table.js";
export type {
  ConfidenceLevel,
  Estimate,
  LevelEstimate,
  LiftedUsersNote,
  LiftFamily,
  LiftRow,
  LiftTable,
  LiftTableCount,
  LiftTableInput,
  LiftTableMetric,
  LiftTableSegment,
  LiftWarningCode,
  OmittedRow,
  RowDifferenceInDifferences,
  SegmentRole,
  VerdictMeasure,
  WaveEstimate,
  WeightedShare,
} from "./lift-table.js";
export { describeRow } from "./describe.js";
export type { DescribeLocale } from "./describe.js";
export { chiSquareCdf, chiSquareUpperTail } from "./distributions.js";
export { chiSquareIndependence } from "./chi-square.js";
export type { ChiSquareResult } from "./chi-square.js";
export { kishEffectiveN, rake, RAKING_MAX_ITERATIONS, RAKING_TOLERANCE, rakedProportion, RakingDidNotConverge, SHARE_SUM_TOLERANCE } from "./raking.js";
export type { RakedProportion, RakeOptions, RakingMargins, RakingRow } from "./raking.js";
export { trendComparisons, trends } from "./trend.js";
export type { TrendChange, TrendFamily, TrendInput, TrendPoint, TrendSeries, Trends } from "./trend.js";
export { evaluateKpis, KPI_STATUSES, kpiStatusOf } from "./kpi.js";
export type { KpiEvaluation, KpiEvaluationInput, KpiInput, KpiStatus, KpiTarget } from "./kpi.js";
