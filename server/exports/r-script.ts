import type { LiftRow } from "../../stats/index.js";
import type { StudyResults } from "../services/results.js";
import type { WeightingCell } from "../services/weighted-results.js";

/**
 * "Reproduce in R": a base-R script with the study's counts embedded that recomputes the results
 * table by the procedure of stats/liftTable, written independently (R's own prop.test, uniroot,
 * p.adjust, lbeta): shares and their intervals, the lift and its interval, the measure (lift or
 * difference-in-differences), its p-value, the p-values adjusted within each family, the verdict
 * level, interval and verdict, relative and headroom lifts with MOVER-R intervals, and the
 * probability of a rise. It prints a table and the largest differences from Brand Lift's numbers
 * (embedded as `ours`), and exits with status 1 when anything disagrees.
 *
 * The script is pure ASCII: every text that comes from users (study, wave, metric and segment
 * names and keys) is written as an R string literal with escapes, never into a comment or code, so
 * a name such as `"); system("…` stays a string.
 */

/** An R string literal for any text: ASCII only, \u{…} escapes for the rest, no NUL. */
export function rString(value: string): string {
  let out = '"';
  for (const ch of value) {
    const code = ch.codePointAt(0)!;
    if (ch === "\\") out += "\\\\";
    else if (ch === '"') out += '\\"';
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (code === 0) continue;
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, "0")}`;
    else if (code < 0x7f) out += ch;
    else if (code <= 0xffff) out += `\\u{${code.toString(16).padStart(4, "0")}}`;
    else out += `\\U{${code.toString(16).padStart(8, "0")}}`;
  }
  return out + '"';
}

/** An R numeric literal that reads back as the same double (up to R's parser, within an ulp). */
export function rNumber(value: number | null | undefined): string {
  if (value === null || value === undefined) return "NA";
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

type RType = "character(0)" | "numeric(0)";

/** `c(…)` wrapped to readable lines; typed empty vectors for no rows. */
function rVector(items: readonly string[], empty: RType, indent: string): string {
  if (items.length === 0) return empty;
  const lines: string[] = [];
  for (let i = 0; i < items.length; i += 6) lines.push(items.slice(i, i + 6).join(", "));
  return lines.length === 1 ? `c(${lines[0]})` : `c(\n${indent}  ${lines.join(`,\n${indent}  `)}\n${indent})`;
}

type Column = { name: string; type: RType; values: string[] };

function rDataFrame(name: string, columns: Column[]): string {
  const body = columns.map((c) => `  ${c.name} = ${rVector(c.values, c.type, "  ")}`).join(",\n");
  return `${name} <- data.frame(\n${body},\n  stringsAsFactors = FALSE\n)\n`;
}

const str = (name: string, values: Array<string | null>): Column => ({
  name,
  type: "character(0)",
  values: values.map((v) => (v === null ? "NA_character_" : rString(v))),
});
const num = (name: string, values: Array<number | null | undefined>): Column => ({ name, type: "numeric(0)", values: values.map(rNumber) });

const R_ADJUST: Record<LiftRow["adjustment"], string> = { holm: "holm", bh: "BH", bonferroni: "bonferroni" };

export interface RScriptOptions {
  /**
   * Audience size per segment key, as given to liftTable (the post wave's sizes; only sizes > 0):
   * the weights of audience-weighted totals.
   */
  audience: ReadonlyMap<string, number>;
  /** The respondents and margins behind a weighted table (rWeightingData); required when it is weighted. */
  weighting?: RWeightingData;
  generatedAt?: Date;
}

/**
 * What the script needs to weight the waves itself with the survey package: respondents grouped by
 * everything that matters to raking (metric, segment, wave, outcome, profile answers) with a count,
 * and each segment's population margins per wave. Variables are named v1, v2, … in R (question
 * keys stay strings), so no user text ever becomes an R name or formula.
 */
export interface RWeightingData {
  variables: string[];
  respondents: Array<{ metric: string; segment: string; wave: "pre" | "post"; y: 0 | 1; count: number; levels: Array<string | null> }>;
  margins: Array<{ segment: string; wave: "pre" | "post"; variable: string; level: string; share: number }>;
}

/** The R script's weighting data from the cells the weighted table was computed from. */
export function rWeightingData(
  cells: readonly WeightingCell[],
  segmentKey: ReadonlyMap<number, string>,
  waves: { pre: number; post: number },
): RWeightingData {
  const variables = [...new Set(cells.flatMap((c) => Object.keys(c.margins)))];
  const waveName = (id: number): "pre" | "post" | null => (id === waves.pre ? "pre" : id === waves.post ? "post" : null);
  const groups = new Map<string, RWeightingData["respondents"][number]>();
  const margins: RWeightingData["margins"] = [];
  const seenMargins = new Set<string>();
  for (const cell of cells) {
    const wave = waveName(cell.waveId);
    const segment = segmentKey.get(cell.segmentId);
    if (wave === null || segment === undefined) continue;
    const marginsKey = `${segment}|${wave}`;
    if (!seenMargins.has(marginsKey)) {
      seenMargins.add(marginsKey);
      for (const [variable, shares] of Object.entries(cell.margins)) {
        for (const [level, share] of Object.entries(shares)) margins.push({ segment, wave, variable, level, share });
      }
    }
    cell.y.forEach((y, i) => {
      const levels = variables.map((v) => cell.profiles[i]![v] ?? null);
      const key = JSON.stringify([cell.metric, segment, wave, y, levels]);
      const group = groups.get(key);
      if (group) group.count += 1;
      else groups.set(key, { metric: cell.metric, segment, wave, y, count: 1, levels });
    });
  }
  return { variables, respondents: [...groups.values()], margins };
}

/** The parts of StudyResults the script reads (a lift table computed directly will do, too). */
export interface RScriptResults {
  study: Pick<StudyResults["study"], "name" | "brand">;
  pre: Pick<StudyResults["pre"], "label">;
  post: Pick<StudyResults["post"], "label">;
  /** In liftTable's order, with their roles. */
  segments: ReadonlyArray<Pick<StudyResults["segments"][number], "key" | "role">>;
  /** The counts given to liftTable. */
  counts: ReadonlyArray<StudyResults["counts"][number]>;
  table: StudyResults["table"];
}

export function resultsRScript(results: RScriptResults, options: RScriptOptions): string {
  const { table, study } = results;
  const rows = table.rows;
  const generatedAt = options.generatedAt ?? new Date();

  // The input of liftTable, not its rows: one line per metric x segment with responses in both
  // compared waves (0 of 0 means no responses, as in liftTable). The script derives the rows,
  // totals and families itself from these.
  const find = (metric: string, segment: string, wave: string) =>
    results.counts.find((c) => c.metric === metric && c.segment === segment && c.wave === wave && c.n > 0);
  const metrics = [...new Set([...rows.map((r) => r.metric), ...results.counts.map((c) => c.metric)])];
  const cells: Array<{ metric: string; segment: string; role: string; audience: number | null; x1: number; n1: number; x2: number; n2: number }> = [];
  for (const metric of metrics) {
    for (const segment of results.segments) {
      const pre = find(metric, segment.key, table.waves.pre);
      const post = find(metric, segment.key, table.waves.post);
      if (!pre || !post) continue;
      const audience = options.audience.get(segment.key);
      cells.push({
        metric,
        segment: segment.key,
        role: segment.role,
        audience: audience ?? null,
        x1: pre.x,
        n1: pre.n,
        x2: post.x,
        n2: post.n,
      });
    }
  }

  const weighted = results.counts.some((c) => c.weighted !== undefined);
  if (weighted && options.weighting === undefined) throw new Error("resultsRScript: a weighted table needs options.weighting");
  const did = (r: LiftRow) => r.differenceInDifferences;
  const meta = [
    `study <- ${rString(study.name)}`,
    `brand <- ${rString(study.brand)}`,
    `waves_compared <- c(pre = ${rString(results.pre.label)}, post = ${rString(results.post.label)})`,
    `generated_at <- ${rString(generatedAt.toISOString())}`,
    `conf_level <- ${rNumber(table.confidenceLevel)}`,
    `adjust_method <- ${rString(R_ADJUST[table.adjustment])}`,
    "# The study's design: how many exposed and control segments it has, with or without responses.",
    `design_exposed <- ${results.segments.filter((s) => s.role !== "control").length}`,
    `design_controls <- ${results.segments.filter((s) => s.role === "control").length}`,
    "# Weighted: every wave raked to its segment's population margins (needs the survey package).",
    `weighted <- ${weighted ? "TRUE" : "FALSE"}`,
    "",
  ].join("\n");

  const data = [
    "# ---------------------------------------------------------------- the counts",
    "# x1 of n1 respondents aware in the pre wave, x2 of n2 in the post wave, per metric and segment;",
    "# role \"control\" marks a segment the campaign does not reach; audience is the segment's audience",
    "# size (NA when not given), the weight of the total when every exposed segment has one.",
    rDataFrame("counts", [
      str("metric", cells.map((c) => c.metric)),
      str("segment", cells.map((c) => c.segment)),
      str("role", cells.map((c) => c.role)),
      num("audience", cells.map((c) => c.audience)),
      num("x1", cells.map((c) => c.x1)),
      num("n1", cells.map((c) => c.n1)),
      num("x2", cells.map((c) => c.x2)),
      num("n2", cells.map((c) => c.n2)),
    ]),
    "# ---------------------------------------------------------------- what Brand Lift computed",
    "# One line per row of the results table (NA: the row has no such number).",
    rDataFrame("ours", [
      str("id", rows.map((r) => r.id)),
      str("label", rows.map((r) => `${r.metricLabel} / ${r.segmentLabel}`)),
      str("kind", rows.map((r) => r.kind)),
      str("role", rows.map((r) => r.role)),
      str("total_method", rows.map((r) => r.totalMethod)),
      str("measure", rows.map((r) => r.measure)),
      str("family", rows.map((r) => r.family)),
      str("verdict", rows.map((r) => r.verdict)),
      num("family_size", rows.map((r) => r.familySize)),
      num("x1", rows.map((r) => r.pre.x)),
      num("n1", rows.map((r) => r.pre.n)),
      num("x2", rows.map((r) => r.post.x)),
      num("n2", rows.map((r) => r.post.n)),
      num("pre", rows.map((r) => r.pre.p)),
      num("pre_lower", rows.map((r) => r.pre.lower)),
      num("pre_upper", rows.map((r) => r.pre.upper)),
      num("post", rows.map((r) => r.post.p)),
      num("post_lower", rows.map((r) => r.post.lower)),
      num("post_upper", rows.map((r) => r.post.upper)),
      num("lift", rows.map((r) => r.absoluteLift.estimate)),
      num("lift_lower", rows.map((r) => r.absoluteLift.lower)),
      num("lift_upper", rows.map((r) => r.absoluteLift.upper)),
      num("p_value", rows.map((r) => r.pValue)),
      num("did", rows.map((r) => did(r)?.estimate)),
      num("did_lower", rows.map((r) => did(r)?.lower)),
      num("did_upper", rows.map((r) => did(r)?.upper)),
      num("did_p_value", rows.map((r) => did(r)?.pValue)),
      num("verdict_estimate", rows.map((r) => r.verdictEstimate)),
      num("verdict_p_value", rows.map((r) => r.verdictPValue)),
      num("adjusted_p_value", rows.map((r) => r.adjustedPValue)),
      num("verdict_level", rows.map((r) => r.verdictLevel)),
      num("verdict_lower", rows.map((r) => r.verdictInterval.lower)),
      num("verdict_upper", rows.map((r) => r.verdictInterval.upper)),
      num("relative", rows.map((r) => r.relativeLift?.estimate)),
      num("relative_lower", rows.map((r) => r.relativeLift?.lower)),
      num("relative_upper", rows.map((r) => r.relativeLift?.upper)),
      num("relative_level", rows.map((r) => r.relativeLift?.level)),
      num("headroom", rows.map((r) => r.headroomLift?.estimate)),
      num("headroom_lower", rows.map((r) => r.headroomLift?.lower)),
      num("headroom_upper", rows.map((r) => r.headroomLift?.upper)),
      num("headroom_level", rows.map((r) => r.headroomLift?.level)),
      num("probability_of_rise", rows.map((r) => r.probabilityOfRise)),
      num("pre_n_eff", rows.map((r) => r.pre.nEff)),
      num("post_n_eff", rows.map((r) => r.post.nEff)),
    ]),
    weighted ? weightingData(options.weighting!) : "",
  ].join("\n");

  return `${R_HEADER}${weighted ? R_WEIGHTED_HEADER : ""}\n${meta}\n${data}\n${weighted ? R_WEIGHTING : ""}${R_COMPUTATION}`;
}

function weightingData(w: RWeightingData): string {
  const names = w.variables.map((_, i) => `v${i + 1}`);
  const nameOf = new Map(w.variables.map((v, i) => [v, names[i]!]));
  return [
    "# ---------------------------------------------------------------- the weighting data",
    "# The profile questions weighted by, as named in the data below (v1, v2, ...).",
    `weighting_variables <- c(${w.variables.map((v, i) => `${names[i]} = ${rString(v)}`).join(", ")})`,
    "# Respondents of the compared waves: one line per metric, segment, wave, outcome y (1: aware) and",
    "# profile answers (NA: no answer), with how many respondents share them.",
    rDataFrame("respondents", [
      str("metric", w.respondents.map((r) => r.metric)),
      str("segment", w.respondents.map((r) => r.segment)),
      str("wave", w.respondents.map((r) => r.wave)),
      num("y", w.respondents.map((r) => r.y)),
      num("count", w.respondents.map((r) => r.count)),
      ...names.map((name, i) => str(name, w.respondents.map((r) => r.levels[i]!))),
    ]),
    "# Population margins: the share of each level of a variable in the segment's audience, per wave.",
    rDataFrame("population", [
      str("segment", w.margins.map((m) => m.segment)),
      str("wave", w.margins.map((m) => m.wave)),
      str("variable", w.margins.map((m) => nameOf.get(m.variable)!)),
      str("level", w.margins.map((m) => m.level)),
      num("share", w.margins.map((m) => m.share)),
    ]),
  ].join("\n");
}

const R_HEADER = `# Brand Lift: the results table of a study, reproduced with base R (a weighted table also needs survey).
# Run it with  Rscript results.R  (or source() it in R). From the counts below it recomputes every
# row of the results table and compares it with the numbers Brand Lift computed (embedded further
# down as \`ours\`). It prints the verdicts, the largest differences, and exits with status 1 when
# a number differs by more than the tolerance or a verdict differs at all.
#
# How Brand Lift decides, row by row (wave 1 = pre, x1 of n1 aware; wave 2 = post, x2 of n2):
# - Rows: one per metric and segment with responses in both waves; for a metric with two or more
#   exposed (non-control) segments, a total row of those segments.
# - Shares: x / n with the Wilson score interval (prop.test(x, n, correct = FALSE)). A total's share
#   is a weighted mean of its segments' shares with the same weights in both waves: audience sizes
#   when every segment has one, else each segment's share of the respondents of both waves together.
#   Its interval is Wald (+- z standard errors), clipped to [0, 1] for display.
# - Lift: post share minus pre share. A segment's interval is Newcombe's hybrid score interval
#   (Newcombe 1998, method 10, from the two Wilson intervals); a total's is Wald.
# - The measure the verdict is about: the lift, or for the exposed rows (segments and total) of a
#   metric that has control segments the difference-in-differences: the row's lift minus the lift
#   of the control segments pooled, with a Wald interval (unpooled standard errors).
# - Unadjusted p-value of the measure: for a segment's lift, the smallest 1 - level at which
#   Newcombe's interval excludes 0 (the interval inverted: uniroot finds the critical value where
#   its nearer limit touches 0), so p and interval cannot disagree; for a total or a
#   difference-in-differences, the two-sided Wald z-test.
# - Families: p-values are adjusted together (p.adjust, method below) within a family:
#     <metric>:segments  the exposed segments of one metric (all the study has: one without
#                        responses yet counts as p = 1, so missing data never loosens the others);
#     <metric>:total     the total row of one metric, on its own;
#     <metric>:control   the control segments of one metric (the market trend).
#   The script prints each family with its rows.
# - Verdict interval: the measure's interval at test level alpha * p / adjusted p when the row
#   passes (adjusted p < alpha = 1 - confidence), else at alpha / k (k = the family's size). The
#   verdict is read off it: "rise" when it lies above 0, "fall" when below, else "no_change", or
#   "not_enough_data" when a wave (or the pooled controls' wave) has fewer than 30 respondents.
# - Relative lift (post / pre - 1) and headroom lift ((post - pre) / (1 - pre)): MOVER-R intervals
#   (Donner & Zou 2012) from the two shares' limits, found here by uniroot on their defining
#   equations, at the verdict level (or for a difference-in-differences row at the table's level).
# - Probability of a rise: posterior probability that the measure is above 0 with uniform Beta(1, 1)
#   priors on every share: exact for a segment's lift (a closed-form sum), a normal approximation
#   to the posterior for totals and differences-in-differences.
# Not recomputed here: the minimum detectable lift, lifted users and cost per lifted user.
#
# Tolerances: 1e-9 absolute for every number, except the three p-values of the Newcombe test and
# its adjustment (p_value, verdict_p_value, adjusted_p_value), compared relative 1e-8 because both
# sides find its root numerically. Verdicts, measures, families and row kinds must match exactly.
`;

const R_WEIGHTED_HEADER = `#
# This table is WEIGHTED, so the script needs R's survey package (install.packages("survey")):
# - Each wave of each segment is raked to the segment's population margins, per metric (each metric
#   has its own base): survey::rake(svydesign(ids = ~1, weights = ~1, data), list(~v1, ...),
#   list(data.frame(v1 = levels, Freq = share * n), ...)), so the weights sum to the wave's n.
# - Respondents without a usable answer to a profile question (skipped, "prefer not to say", or a level
#   the margins do not name) keep their share of the sample: the variable gets a "(no answer)" level
#   at its sample share and the population shares of the other levels are scaled to the rest; a
#   variable nobody in the cell answered is left out.
# - A wave's share is svymean(~y, raked design) with its linearization standard error (SE), and its
#   Kish effective size n_eff = sum(w)^2 / sum(w^2).
# - Every row is then Wald on those shares: a wave's interval p +- z SE (clipped to [0, 1]); a
#   segment's lift p2 - p1 with Var = SE1^2 + SE2^2 and the z-test (instead of Wilson and Newcombe);
#   totals and pooled controls combine the weighted shares and variances with the same fixed weights
#   (pooled controls: each segment's share of the wave's respondents) and n_eff = 1 / sum(w^2 / n_eff);
#   the probability of a rise is the normal approximation; "not enough data" looks at n_eff.
# Weighted tolerances: 1e-8 absolute for every number, relative 1e-6 for the p-values and 1e-8 for
#   the effective sizes, because
#   both sides stop raking at a convergence tolerance (here rake's epsilon = 1e-13, in Brand Lift each
#   level's weighted share within 1e-10 of its target).
`;

/** Raking with the survey package: each compared cell's weighted share, SE and n_eff into `counts`. */
const R_WEIGHTING = String.raw`# ---------------------------------------------------------------- the weighting
suppressPackageStartupMessages(library(survey))
no_answer <- "(no answer)"
weigh_cell <- function(metric, segment, wave) {
  cell <- respondents[respondents$metric == metric & respondents$segment == segment & respondents$wave == wave, , drop = FALSE]
  d <- cell[rep(seq_len(nrow(cell)), cell$count), , drop = FALSE]
  n <- nrow(d)
  pop <- population[population$segment == segment & population$wave == wave, , drop = FALSE]
  sample_margins <- list(); population_margins <- list()
  for (v in unique(pop$variable)) {
    target <- pop[pop$variable == v, , drop = FALSE]
    answered <- !is.na(d[[v]]) & d[[v]] %in% target$level
    d[[v]][!answered] <- no_answer
    missing <- mean(!answered)
    if (missing == 1) next
    levels <- c(target$level, if (missing > 0) no_answer)
    freq <- n * c(target$share * (1 - missing), if (missing > 0) missing)
    present <- levels %in% d[[v]]
    if (any(freq > 0 & !present)) stop("a level with a population share has no respondents: ", metric, " / ", segment, " / ", wave)
    pm <- data.frame(level = levels[present], Freq = freq[present], stringsAsFactors = FALSE)
    names(pm)[1] <- v
    sample_margins[[length(sample_margins) + 1]] <- as.formula(paste0("~", v))
    population_margins[[length(population_margins) + 1]] <- pm
  }
  raked <- rake(svydesign(ids = ~1, weights = ~1, data = d), sample_margins, population_margins,
                control = list(maxit = 5000, epsilon = 1e-13))
  m <- svymean(~y, raked)
  w <- weights(raked)
  c(unname(coef(m)), unname(SE(m))[1], sum(w)^2 / sum(w^2))
}
if (nrow(counts) > 0) {
  for (wave in c("pre", "post")) {
    est <- t(vapply(seq_len(nrow(counts)), function(i) weigh_cell(counts$metric[i], counts$segment[i], wave), numeric(3)))
    k <- if (wave == "pre") 1 else 2
    counts[[paste0("p", k)]] <- est[, 1]; counts[[paste0("se", k)]] <- est[, 2]; counts[[paste0("neff", k)]] <- est[, 3]
  }
}

`;

/** The fixed part of the script: computation, table and comparison (base R only). */
const R_COMPUTATION = String.raw`# ---------------------------------------------------------------- the computation
alpha <- round(1 - conf_level, 12)  # 0.05, not 0.050000000000000044
z <- qnorm((1 + conf_level) / 2)
small_n <- 30

# Wilson limits at critical value zz: prop.test's own where its conf.level keeps its digits, else
# the same closed form as prop.test's source (far tails, zz near 0).
wilson_z <- function(x, n, zz) {
  if (zz > 0.01 && zz < 4) {
    return(suppressWarnings(prop.test(x, n, correct = FALSE, conf.level = 1 - 2 * pnorm(-zz)))$conf.int[1:2])
  }
  p <- x / n; z22n <- zz^2 / (2 * n)
  half <- zz * sqrt(p * (1 - p) / n + z22n / (2 * n))
  c(if (p <= 0) 0 else max(0, (p + z22n - half) / (1 + 2 * z22n)),
    if (p >= 1) 1 else min(1, (p + z22n + half) / (1 + 2 * z22n)))
}

# Newcombe's hybrid score interval for p2 - p1 at critical value zz.
newcombe_z <- function(x1, n1, x2, n2, zz) {
  w1 <- wilson_z(x1, n1, zz); w2 <- wilson_z(x2, n2, zz)
  p1 <- x1 / n1; p2 <- x2 / n2; d <- p2 - p1
  c(d - sqrt((p2 - w2[1])^2 + (w1[2] - p1)^2), d + sqrt((w2[2] - p2)^2 + (p1 - w1[1])^2))
}

# Newcombe's interval inverted: the critical value at which the limit nearer 0 touches 0.
newcombe_p <- function(x1, n1, x2, n2) {
  d <- x2 / n2 - x1 / n1
  if (d == 0) return(1)
  f <- if (d > 0) function(zz) newcombe_z(x1, n1, x2, n2, zz)[1] else function(zz) -newcombe_z(x1, n1, x2, n2, zz)[2]
  hi <- 2
  while (f(hi) > 0 && hi < 64) hi <- hi * 2
  if (f(hi) > 0) return(0)  # beyond any p-value a double holds
  min(1, 2 * pnorm(-uniroot(f, c(0, hi), tol = 1e-15)$root))
}

wald_p <- function(d, v) if (v > 0) min(1, 2 * pnorm(-abs(d / sqrt(v)))) else if (d == 0) 1 else 0

# P(p2 > p1) for p ~ Beta(1 + x, 1 + n - x): the exact finite sum (Evan Miller 2015).
prob_rise_exact <- function(x1, n1, x2, n2) {
  a1 <- 1 + x1; b1 <- 1 + n1 - x1; b2 <- 1 + n2 - x2
  i <- 0:x2
  sum(exp(lbeta(a1 + i, b1 + b2) - log(b2 + i) - lbeta(1 + i, b2) - lbeta(a1, b1)))
}

# P(sum of weight * share > 0), each share's posterior Beta(1 + x, 1 + n - x), by the normal
# distribution with the sum's exact mean and variance. terms: list of c(weight, x, n).
prob_rise_normal <- function(terms) {
  m <- 0; v <- 0
  for (t in terms) {
    a <- 1 + t[2]; b <- 1 + t[3] - t[2]; s <- a + b
    m <- m + t[1] * a / s
    v <- v + t[1]^2 * a * b / (s^2 * (s + 1))
  }
  if (v == 0) return(if (m > 0) 1 else if (m < 0) 0 else 0.5)
  pnorm(m / sqrt(v))
}

# MOVER-R interval of p2 / p1 from each share's (p, lower, upper), solving its defining equations
#   lower L: p2 - L p1 = sqrt((p2 - l2)^2 + L^2 (u1 - p1)^2)
#   upper U: p2 - U p1 = -sqrt((u2 - p2)^2 + U^2 (p1 - l1)^2)
mover_ratio <- function(s1, s2) {
  p1 <- s1[1]; l1 <- s1[2]; u1 <- s1[3]; p2 <- s2[1]; l2 <- s2[2]; u2 <- s2[3]
  g <- function(t) p2 - t * p1 - sqrt((p2 - l2)^2 + t^2 * (u1 - p1)^2)
  h <- function(t) p2 - t * p1 + sqrt((u2 - p2)^2 + t^2 * (p1 - l1)^2)
  lower <- if (l2 <= 0 || g(0) <= 0) 0 else {
    hi <- 1; while (g(hi) > 0) hi <- hi * 2
    uniroot(g, c(0, hi), tol = 1e-15)$root
  }
  upper <- if (l1 <= 0) Inf else {
    hi <- max(1, 2 * p2 / p1); while (h(hi) > 0) hi <- hi * 2
    uniroot(h, c(0, hi), tol = 1e-15)$root
  }
  c(lower, upper)
}
relative_lift <- function(s1, s2) {
  if (s1[1] == 0) return(c(NA, NA, NA))
  r <- mover_ratio(s1, s2)
  c(s2[1] / s1[1] - 1, r - 1)
}
# Headroom lift = 1 - q2 / q1 for the unaware shares q = 1 - p.
headroom_lift <- function(s1, s2) {
  if (s1[1] == 1) return(c(NA, NA, NA))
  r <- mover_ratio(1 - s1[c(1, 3, 2)], 1 - s2[c(1, 3, 2)])
  c((s2[1] - s1[1]) / (1 - s1[1]), 1 - r[2], 1 - r[1])
}

prob_rise_wald <- function(d, v) if (v > 0) pnorm(d / sqrt(v)) else if (d > 0) 1 else if (d < 0) 0 else 0.5
# A weighted wave's share with Wald limits at zz, clipped to [0, 1].
wald_share <- function(p, se, zz) c(p, max(0, p - zz * se), min(1, p + zz * se))

# A weighted segment's row: raked shares, Wald lift and z-test, normal probability of a rise.
weighted_segment_row <- function(s) {
  d <- s$p2 - s$p1; v <- s$se1^2 + s$se2^2
  list(id = paste0(s$metric, ":", s$segment), metric = s$metric, kind = "segment", role = s$role,
       total_method = NA_character_, x1 = s$x1, n1 = s$n1, x2 = s$x2, n2 = s$n2,
       pre = wald_share(s$p1, s$se1, z), post = wald_share(s$p2, s$se2, z),
       n_eff = c(s$neff1, s$neff2),
       estimate = d, p_value = wald_p(d, v),
       interval_at = function(zz) c(d - zz * sqrt(v), d + zz * sqrt(v)),
       shares_at = function(zz) list(wald_share(s$p1, s$se1, zz), wald_share(s$p2, s$se2, zz)),
       variance = v, probability = prob_rise_wald(d, v),
       enough = min(s$neff1, s$neff2) >= small_n,
       family = paste0(s$metric, if (s$role == "control") ":control" else ":segments"))
}

# A segment's row: Wilson shares, Newcombe's interval and the test it implies, the exact posterior.
segment_row <- function(s) {
  if (weighted) return(weighted_segment_row(s))
  x1 <- s$x1; n1 <- s$n1; x2 <- s$x2; n2 <- s$n2; p1 <- x1 / n1; p2 <- x2 / n2
  list(id = paste0(s$metric, ":", s$segment), metric = s$metric, kind = "segment", role = s$role,
       total_method = NA_character_, x1 = x1, n1 = n1, x2 = x2, n2 = n2,
       pre = c(p1, wilson_z(x1, n1, z)), post = c(p2, wilson_z(x2, n2, z)),
       estimate = p2 - p1, p_value = newcombe_p(x1, n1, x2, n2),
       interval_at = function(zz) newcombe_z(x1, n1, x2, n2, zz),
       shares_at = function(zz) list(c(p1, wilson_z(x1, n1, zz)), c(p2, wilson_z(x2, n2, zz))),
       variance = p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2,
       terms = list(c(1, x2, n2), c(-1, x1, n1)),
       probability = prob_rise_exact(x1, n1, x2, n2),
       enough = min(n1, n2) >= small_n,
       family = paste0(s$metric, if (s$role == "control") ":control" else ":segments"))
}

# The total of a metric's exposed segments: the same fixed weights in both waves, Wald.
total_row <- function(ex) {
  by_audience <- all(!is.na(ex$audience)) && sum(ex$audience) > 0
  w <- if (by_audience) ex$audience / sum(ex$audience) else (ex$n1 + ex$n2) / sum(ex$n1 + ex$n2)
  wave <- function(x, n) { ps <- x / n; c(p = sum(w * ps), v = sum(w^2 * ps * (1 - ps) / n)) }
  weighted_wave <- function(p, se, neff) c(p = sum(w * p), v = sum(w^2 * se^2), n_eff = 1 / sum(w^2 / neff))
  a <- if (weighted) weighted_wave(ex$p1, ex$se1, ex$neff1) else wave(ex$x1, ex$n1)
  b <- if (weighted) weighted_wave(ex$p2, ex$se2, ex$neff2) else wave(ex$x2, ex$n2)
  d <- b[["p"]] - a[["p"]]; v <- a[["v"]] + b[["v"]]
  limits <- function(s, zz) c(s[["p"]], s[["p"]] - zz * sqrt(s[["v"]]), s[["p"]] + zz * sqrt(s[["v"]]))
  clip <- function(s) c(s[1], pmin(1, pmax(0, s[2:3])))
  terms <- list()
  for (i in seq_len(nrow(ex))) terms <- c(terms, list(c(w[i], ex$x2[i], ex$n2[i]), c(-w[i], ex$x1[i], ex$n1[i])))
  list(id = paste0(ex$metric[1], ":total"), metric = ex$metric[1], kind = "total", role = "exposed",
       total_method = if (by_audience) "audience" else "sample",
       x1 = sum(ex$x1), n1 = sum(ex$n1), x2 = sum(ex$x2), n2 = sum(ex$n2),
       pre = clip(limits(a, z)), post = clip(limits(b, z)),
       estimate = d, p_value = wald_p(d, v),
       interval_at = function(zz) c(d - zz * sqrt(v), d + zz * sqrt(v)),
       shares_at = function(zz) list(limits(a, zz), limits(b, zz)),
       n_eff = if (weighted) c(a[["n_eff"]], b[["n_eff"]]) else NULL,
       variance = v, terms = terms, probability = if (weighted) prob_rise_wald(d, v) else prob_rise_normal(terms),
       enough = min(sum(ex$n1), sum(ex$n2), if (weighted) c(a[["n_eff"]], b[["n_eff"]])) >= small_n,
       family = paste0(ex$metric[1], ":total"))
}

# Difference-in-differences of an exposed row against the pooled control segments.
did_of <- function(r, controls) {
  cx1 <- sum(controls$x1); cn1 <- sum(controls$n1); cx2 <- sum(controls$x2); cn2 <- sum(controls$n2)
  if (weighted) {
    # Pooled controls: each control segment weighted by its share of the wave's respondents.
    pool <- function(p, se, neff, n) { w <- n / sum(n); c(p = sum(w * p), v = sum(w^2 * se^2), n_eff = 1 / sum(w^2 / neff)) }
    a <- pool(controls$p1, controls$se1, controls$neff1, controls$n1)
    b <- pool(controls$p2, controls$se2, controls$neff2, controls$n2)
    estimate <- r$estimate - (b[["p"]] - a[["p"]])
    v <- r$variance + a[["v"]] + b[["v"]]
    probability <- prob_rise_wald(estimate, v)
    enough <- r$enough && min(a[["n_eff"]], b[["n_eff"]]) >= small_n
  } else {
    c1 <- cx1 / cn1; c2 <- cx2 / cn2
    estimate <- r$estimate - (c2 - c1)
    v <- r$variance + c1 * (1 - c1) / cn1 + c2 * (1 - c2) / cn2
    probability <- prob_rise_normal(c(r$terms, list(c(-1, cx2, cn2), c(1, cx1, cn1))))
    enough <- r$enough && min(cn1, cn2) >= small_n
  }
  list(estimate = estimate, p_value = wald_p(estimate, v),
       interval_at = function(zz) c(estimate - zz * sqrt(v), estimate + zz * sqrt(v)),
       probability = probability, enough = enough)
}

rows <- list()
for (metric in unique(counts$metric)) {
  cm <- counts[counts$metric == metric, , drop = FALSE]
  mrows <- lapply(seq_len(nrow(cm)), function(i) segment_row(cm[i, ]))
  exposed <- cm[cm$role == "exposed", , drop = FALSE]
  if (nrow(exposed) >= 2) mrows[[length(mrows) + 1]] <- total_row(exposed)
  controls <- cm[cm$role == "control", , drop = FALSE]
  if (nrow(controls) > 0) {
    for (i in seq_along(mrows)) if (mrows[[i]]$role == "exposed") mrows[[i]]$did <- did_of(mrows[[i]], controls)
  }
  rows <- c(rows, mrows)
}
measure_of <- function(r) if (is.null(r$did)) r else r$did

# p.adjust within each family.
family <- vapply(rows, function(r) r$family, "")
p_measure <- vapply(rows, function(r) measure_of(r)$p_value, 0)
p_adjusted <- numeric(length(rows))
# A family is the design's: a segment without responses yet enters p.adjust as p = 1.
declared <- function(f) if (endsWith(f, ":segments")) design_exposed else if (endsWith(f, ":control")) design_controls else 1
for (f in unique(family)) {
  present <- p_measure[family == f]
  p_adjusted[family == f] <- p.adjust(c(present, rep(1, declared(f) - length(present))), method = adjust_method)[seq_along(present)]
}

finish <- function(i) {
  r <- rows[[i]]; m <- measure_of(r); k <- declared(r$family); p <- m$p_value; pa <- p_adjusted[i]
  # The level the row was tested at after the adjustment; alpha / k when it does not pass.
  test_level <- if (pa < alpha && p > 0 && pa > 0) alpha * min(1, max(1 / k, p / pa)) else alpha / k
  zv <- qnorm(1 - test_level / 2)
  vi <- m$interval_at(zv)
  verdict <- if (vi[1] > 0) "rise" else if (vi[2] < 0) "fall" else if (m$enough) "no_change" else "not_enough_data"
  # Ratio lifts describe the row's own change: at the verdict level when the verdict is about it.
  ratio_z <- if (is.null(r$did)) zv else z
  ratio_level <- if (is.null(r$did)) 1 - test_level else conf_level
  shares <- r$shares_at(ratio_z)
  rel <- relative_lift(shares[[1]], shares[[2]]); head <- headroom_lift(shares[[1]], shares[[2]])
  lift_ci <- r$interval_at(z)
  did_ci <- if (is.null(r$did)) c(NA, NA) else r$did$interval_at(z)
  data.frame(
    id = r$id, kind = r$kind, role = r$role, total_method = r$total_method,
    measure = if (is.null(r$did)) "lift" else "did", family = r$family, verdict = verdict,
    family_size = k, x1 = r$x1, n1 = r$n1, x2 = r$x2, n2 = r$n2,
    pre = r$pre[1], pre_lower = r$pre[2], pre_upper = r$pre[3],
    post = r$post[1], post_lower = r$post[2], post_upper = r$post[3],
    lift = r$estimate, lift_lower = lift_ci[1], lift_upper = lift_ci[2], p_value = r$p_value,
    did = if (is.null(r$did)) NA else r$did$estimate, did_lower = did_ci[1], did_upper = did_ci[2],
    did_p_value = if (is.null(r$did)) NA else r$did$p_value,
    verdict_estimate = m$estimate, verdict_p_value = p, adjusted_p_value = pa,
    verdict_level = 1 - test_level, verdict_lower = vi[1], verdict_upper = vi[2],
    relative = rel[1], relative_lower = rel[2], relative_upper = rel[3],
    relative_level = if (is.na(rel[1])) NA else ratio_level,
    headroom = head[1], headroom_lower = head[2], headroom_upper = head[3],
    headroom_level = if (is.na(head[1])) NA else ratio_level,
    probability_of_rise = m$probability,
    pre_n_eff = if (is.null(r$n_eff)) NA else r$n_eff[1],
    post_n_eff = if (is.null(r$n_eff)) NA else r$n_eff[2],
    stringsAsFactors = FALSE
  )
}
r <- if (length(rows) > 0) do.call(rbind, lapply(seq_along(rows), finish)) else ours[0, setdiff(names(ours), "label")]

# ---------------------------------------------------------------- the table
cat("Brand Lift results reproduced in R:", study, "/", brand, "\n")
cat("Waves compared:", waves_compared[["pre"]], "->", waves_compared[["post"]],
    " confidence:", conf_level, " adjustment:", adjust_method, "\n\n")
if (nrow(r) > 0) {
  pp <- function(v) sprintf("%+.1f", 100 * v)
  shown <- data.frame(
    row = r$id, verdict = r$verdict, measure = r$measure,
    change_pp = paste0(pp(r$verdict_estimate), " [", pp(r$verdict_lower), ", ", pp(r$verdict_upper), "]"),
    level = sprintf("%.2f%%", 100 * r$verdict_level),
    p_adjusted = sprintf("%.3g", r$adjusted_p_value),
    family = r$family,
    stringsAsFactors = FALSE
  )
  old_options <- options(width = 250)
  print(shown, row.names = FALSE, right = FALSE)
  options(old_options)
  cat("\nchange_pp: the measure (lift, or difference-in-differences \"did\") in percentage points with\n")
  cat("its verdict interval, whose confidence level is 'level'; p_adjusted is adjusted within 'family'.\n")
  cat("\nFamilies (p-values adjusted together, ", adjust_method, "):\n", sep = "")
  for (f in unique(r$family)) cat(sprintf("  %s: %s\n", f, paste(r$id[r$family == f], collapse = ", ")))
}

# ---------------------------------------------------------------- the comparison
# Effective sizes are counts in the hundreds: compared relative.
relative_tolerance <- if (weighted) c(p_value = 1e-6, verdict_p_value = 1e-6, adjusted_p_value = 1e-6, pre_n_eff = 1e-8, post_n_eff = 1e-8) else c(p_value = 1e-8, verdict_p_value = 1e-8, adjusted_p_value = 1e-8)
absolute_tolerance <- if (weighted) 1e-8 else 1e-9
exact <- c("kind", "role", "total_method", "measure", "family", "verdict")
only_in_r <- setdiff(r$id, ours$id)
only_in_ours <- setdiff(ours$id, r$id)
both <- ours$id[ours$id %in% r$id]
a <- r[match(both, r$id), , drop = FALSE]
b <- ours[match(both, ours$id), , drop = FALSE]

# Difference in units of the tolerance: <= 1 agrees; a number against NA (or Inf against a
# number) is Inf.
scaled <- function(q, x, y) {
  out <- numeric(length(x))
  for (j in seq_along(x)) {
    if (is.na(x[j]) || is.na(y[j])) { out[j] <- if (is.na(x[j]) && is.na(y[j])) 0 else Inf; next }
    if (x[j] == y[j]) next
    d <- abs(x[j] - y[j])
    out[j] <- if (q %in% names(relative_tolerance)) d / (relative_tolerance[[q]] * max(abs(x[j]), abs(y[j])))
              else d / absolute_tolerance
  }
  out
}
quantities <- setdiff(names(ours), c("id", "label", exact))
cat("\nLargest differences from Brand Lift's numbers, per quantity:\n")
worst <- data.frame(row = character(0), quantity = character(0), r = numeric(0), brand_lift = numeric(0),
                    scaled = numeric(0), stringsAsFactors = FALSE)
for (q in quantities) {
  s <- scaled(q, a[[q]], b[[q]])
  d <- abs(a[[q]] - b[[q]]); d[is.na(d)] <- 0
  d[is.infinite(s)] <- Inf
  tolerance <- if (q %in% names(relative_tolerance)) sprintf("relative %g", relative_tolerance[[q]]) else sprintf("%g", absolute_tolerance)
  cat(sprintf("max_abs_diff %-20s %.3e  (tolerance %s)\n", q, if (length(d)) max(d) else 0, tolerance))
  if (length(s) && max(s) > 0) {
    j <- which.max(s)
    worst[nrow(worst) + 1, ] <- list(both[j], q, a[[q]][j], b[[q]][j], s[j])
  }
}
if (nrow(worst) > 0) {
  worst <- worst[order(-worst$scaled), , drop = FALSE]
  cat("\nLargest differences (scaled: difference / tolerance; above 1 disagrees):\n")
  old_options <- options(width = 250)
  print(head(worst, 10), row.names = FALSE, digits = 17)
  options(old_options)
}
mismatches <- 0
for (q in exact) {
  differ <- which(!(a[[q]] == b[[q]] | (is.na(a[[q]]) & is.na(b[[q]]))) | is.na(a[[q]]) != is.na(b[[q]]))
  if (q == "verdict") cat(sprintf("verdicts_differ %d\n", length(differ)))
  for (j in differ) cat(sprintf("DIFFERENT %s of %s: R %s, Brand Lift %s\n", q, both[j], a[[q]][j], b[[q]][j]))
  mismatches <- mismatches + length(differ)
}
for (id in only_in_r) cat("ROW ONLY IN R:", id, "\n")
for (id in only_in_ours) cat("ROW ONLY IN BRAND LIFT:", id, "\n")
numbers_disagree <- sum(worst$scaled > 1)
cat(sprintf("rows_compared %d\n", length(both)))
cat(sprintf("quantities_beyond_tolerance %d\n", numbers_disagree))
if (numbers_disagree == 0 && mismatches == 0 && length(only_in_r) == 0 && length(only_in_ours) == 0) {
  cat("All numbers agree (within", if (weighted) "1e-8; p-values within relative 1e-6)" else "1e-9; p-values within relative 1e-8)", "and every verdict is the same.\n")
} else {
  cat("DIFFERENCES FOUND: please report them.\n")
  if (!interactive()) quit(status = 1)
}
`;
