import type { LiftRow } from "../../stats/index.js";
import type { StudyResults } from "../services/results.js";

/**
 * "Reproduce in R": a short base-R script with the study's counts embedded that recomputes every
 * p-value (prop.test, fisher.test), the adjusted p-values (p.adjust over the same family as
 * stats/liftTable: every segment and total row of every metric; difference-in-differences as a
 * family of its own), the Wilson intervals, Newcombe's hybrid score interval (by hand), the
 * audience-weighted totals and difference-in-differences; prints a table and the largest absolute
 * difference from the numbers Brand Lift computed (embedded too).
 *
 * The script is pure ASCII: every text that comes from users (study, metric and segment labels)
 * is written as an R string literal with escapes, never into a comment or code, so a name such as
 * `"); system("…` stays a string.
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

/** `c(…)` wrapped to readable lines; typed empty vectors for no rows. */
function rVector(items: readonly string[], empty: "character(0)" | "numeric(0)" | "logical(0)", indent: string): string {
  if (items.length === 0) return empty;
  const lines: string[] = [];
  for (let i = 0; i < items.length; i += 6) lines.push(items.slice(i, i + 6).join(", "));
  return lines.length === 1 ? `c(${lines[0]})` : `c(\n${indent}  ${lines.join(`,\n${indent}  `)}\n${indent})`;
}

type Column = { name: string; type: "character(0)" | "numeric(0)" | "logical(0)"; values: string[] };

function rDataFrame(name: string, columns: Column[]): string {
  const body = columns.map((c) => `  ${c.name} = ${rVector(c.values, c.type, "  ")}`).join(",\n");
  return `${name} <- data.frame(\n${body},\n  stringsAsFactors = FALSE\n)\n`;
}

const str = (name: string, values: string[]): Column => ({ name, type: "character(0)", values: values.map(rString) });
const num = (name: string, values: Array<number | null>): Column => ({ name, type: "numeric(0)", values: values.map(rNumber) });

const R_ADJUST: Record<LiftRow["adjustment"], string> = { holm: "holm", bh: "BH", bonferroni: "bonferroni" };

export interface RScriptOptions {
  /**
   * Audience size per segment key, as given to liftTable (the post wave's sizes; only sizes > 0):
   * the weights of audience-weighted totals.
   */
  audience: ReadonlyMap<string, number>;
  generatedAt?: Date;
}

export function resultsRScript(results: StudyResults, options: RScriptOptions): string {
  const { table, study } = results;
  const rows = table.rows;
  const generatedAt = options.generatedAt ?? new Date();
  const countOf = (metric: string, segment: string, wave: string) => {
    const c = results.counts.find((k) => k.metric === metric && k.segment === segment && k.wave === wave);
    if (!c) throw new Error(`resultsRScript: no counts for ${metric}/${segment}/${wave}`);
    return c;
  };

  const strata: Array<{ row: string; segment: string; audience: number; x1: number; n1: number; x2: number; n2: number }> = [];
  for (const row of rows) {
    if (row.totalMethod !== "stratified") continue;
    for (const segment of row.segments) {
      const pre = countOf(row.metric, segment, table.waves.pre);
      const post = countOf(row.metric, segment, table.waves.post);
      strata.push({ row: row.id, segment, audience: options.audience.get(segment) ?? NaN, x1: pre.x, n1: pre.n, x2: post.x, n2: post.n });
    }
  }

  const did = (r: LiftRow) => r.differenceInDifferences;
  const header = [
    "# Brand Lift: the results table of a study, reproduced with base R (no packages).",
    "# Run it with  Rscript results.R  (or source() it in R). It recomputes every p-value, adjusted",
    "# p-value and interval from the counts below and compares them with the numbers Brand Lift",
    "# computed (embedded further down as `ours`), printing the largest absolute differences.",
    "#",
    "# Methods (same as Brand Lift's stats/ module):",
    "# - test \"z\": two-sided pooled z-test, prop.test(c(x2, x1), c(n2, n1), correct = FALSE);",
    "#   test \"fisher\": fisher.test(matrix(c(x1, n1 - x1, x2, n2 - x2), 2)), used when the smallest",
    "#   expected cell count is below 5. Wave 1 = pre (x1 of n1), wave 2 = post (x2 of n2).",
    "# - lift certainty: 1 - one-sided p-value for a rise (prop.test / fisher.test, one-sided).",
    "# - p.adjust over every row of the table (all metrics, segments and totals) at once;",
    "#   difference-in-differences p-values are adjusted as a separate family.",
    "# - Wilson score interval per wave (by hand; equals prop.test(x, n, correct = FALSE)$conf.int),",
    "#   Newcombe's hybrid score interval for the lift (Newcombe 1998, method 10, by hand).",
    "# - total rows: counts pooled over the exposed segments (method \"sample\"), or weighted by",
    "#   audience size (method \"stratified\": Wald interval and z-test on the stratified variance).",
    "# - difference-in-differences: (pE2 - pE1) - (pC2 - pC1), control segments pooled per wave,",
    "#   unpooled standard error, normal p-value and Wald interval.",
    "# Not recomputed here: P(lift > 0) (Beta posteriors) and the minimum detectable lift.",
    "",
  ].join("\n");

  const meta = [
    `study <- ${rString(study.name)}`,
    `brand <- ${rString(study.brand)}`,
    `waves_compared <- c(pre = ${rString(results.pre.label)}, post = ${rString(results.post.label)})`,
    `generated_at <- ${rString(generatedAt.toISOString())}`,
    `conf_level <- ${rNumber(table.confidenceLevel)}`,
    `adjust_method <- ${rString(R_ADJUST[table.adjustment])}`,
    "",
  ].join("\n");

  const data = [
    "# ---------------------------------------------------------------- the counts",
    "# One line per row of the results table. For a total row x and n are summed over its segments.",
    rDataFrame("rows", [
      str("id", rows.map((r) => r.id)),
      str("metric", rows.map((r) => r.metric)),
      str("metric_label", rows.map((r) => r.metricLabel)),
      str("segment", rows.map((r) => r.segment)),
      str("segment_label", rows.map((r) => r.segmentLabel)),
      str("kind", rows.map((r) => r.kind)),
      str("role", rows.map((r) => r.role)),
      str("method", rows.map((r) => (r.totalMethod === "stratified" ? "stratified" : "sample"))),
      str("test", rows.map((r) => r.test)),
      num("x1", rows.map((r) => r.pre.x)),
      num("n1", rows.map((r) => r.pre.n)),
      num("x2", rows.map((r) => r.post.x)),
      num("n2", rows.map((r) => r.post.n)),
    ]),
    "# Segments of the audience-weighted total rows, with the audience sizes used as weights.",
    rDataFrame("strata", [
      str("row", strata.map((s) => s.row)),
      str("segment", strata.map((s) => s.segment)),
      num("audience", strata.map((s) => s.audience)),
      num("x1", strata.map((s) => s.x1)),
      num("n1", strata.map((s) => s.n1)),
      num("x2", strata.map((s) => s.x2)),
      num("n2", strata.map((s) => s.n2)),
    ]),
    "# ---------------------------------------------------------------- what Brand Lift computed",
    rDataFrame("ours", [
      str("id", rows.map((r) => r.id)),
      num("p_value", rows.map((r) => r.pValue)),
      num("adjusted_p_value", rows.map((r) => r.adjustedPValue)),
      num("lift_certainty", rows.map((r) => r.liftCertainty)),
      num("pre", rows.map((r) => r.pre.p)),
      num("pre_lower", rows.map((r) => r.pre.lower)),
      num("pre_upper", rows.map((r) => r.pre.upper)),
      num("post", rows.map((r) => r.post.p)),
      num("post_lower", rows.map((r) => r.post.lower)),
      num("post_upper", rows.map((r) => r.post.upper)),
      num("lift", rows.map((r) => r.absoluteLift.estimate)),
      num("lift_lower", rows.map((r) => r.absoluteLift.lower)),
      num("lift_upper", rows.map((r) => r.absoluteLift.upper)),
      num("did", rows.map((r) => did(r)?.estimate ?? null)),
      num("did_lower", rows.map((r) => did(r)?.lower ?? null)),
      num("did_upper", rows.map((r) => did(r)?.upper ?? null)),
      num("did_p_value", rows.map((r) => did(r)?.pValue ?? null)),
      num("did_adjusted_p_value", rows.map((r) => did(r)?.adjustedPValue ?? null)),
    ]),
  ].join("\n");

  return `${header}\n${meta}\n${data}\n${R_COMPUTATION}`;
}

/** The fixed part of the script: computation, table and comparison (base R only). */
const R_COMPUTATION = String.raw`# ---------------------------------------------------------------- the computation
z <- qnorm((1 + conf_level) / 2)

# Wilson score interval, as in the source of prop.test (one sample, correct = FALSE).
wilson <- function(x, n) {
  p <- x / n
  z22n <- z^2 / (2 * n)
  half <- z * sqrt(p * (1 - p) / n + z22n / (2 * n))
  lower <- if (p <= 0) 0 else (p + z22n - half) / (1 + 2 * z22n)
  upper <- if (p >= 1) 1 else (p + z22n + half) / (1 + 2 * z22n)
  c(max(lower, 0), min(upper, 1))
}

# Newcombe's hybrid score interval for p2 - p1 (Newcombe 1998, method 10).
newcombe <- function(x1, n1, x2, n2) {
  p1 <- x1 / n1; p2 <- x2 / n2
  w1 <- wilson(x1, n1); w2 <- wilson(x2, n2)
  d <- p2 - p1
  c(d - sqrt((p2 - w2[1])^2 + (w1[2] - p1)^2), d + sqrt((w2[2] - p2)^2 + (p1 - w1[1])^2))
}

# Two-sided p-value and lift certainty (1 - one-sided p for a rise) of the row's test.
two_waves <- function(x1, n1, x2, n2, test) {
  if (test == "fisher") {
    m <- matrix(c(x1, n1 - x1, x2, n2 - x2), 2)
    return(c(fisher.test(m)$p.value, 1 - fisher.test(m, alternative = "less")$p.value))
  }
  pooled <- (x1 + x2) / (n1 + n2)
  # Nobody or everybody aware in both waves: R returns NaN; no evidence of a change (z = 0).
  if (pooled == 0 || pooled == 1) return(c(1, 0.5))
  suppressWarnings(c(
    prop.test(c(x2, x1), c(n2, n1), correct = FALSE)$p.value,
    prop.test(c(x2, x1), c(n2, n1), correct = FALSE, alternative = "less")$p.value
  ))
}

normal_p <- function(estimate, se) {
  zz <- if (se > 0) estimate / se else if (estimate == 0) 0 else sign(estimate) * Inf
  c(p = min(1, 2 * pnorm(-abs(zz))), certainty = pnorm(zz))
}

# Audience-weighted total: weights N_s / sum N_s in both waves, Wald intervals clipped to [0, 1].
stratified <- function(id) {
  s <- strata[strata$row == id, ]
  w <- s$audience / sum(s$audience)
  wave <- function(x, n) { ps <- x / n; c(p = sum(w * ps), v = sum(w^2 * ps * (1 - ps) / n)) }
  a <- wave(s$x1, s$n1); b <- wave(s$x2, s$n2)
  clip <- function(v) pmin(1, pmax(0, v))
  lift <- b[["p"]] - a[["p"]]
  variance <- a[["v"]] + b[["v"]]
  se <- sqrt(variance)
  list(pre = c(a[["p"]], clip(a[["p"]] + c(-1, 1) * z * sqrt(a[["v"]]))),
       post = c(b[["p"]], clip(b[["p"]] + c(-1, 1) * z * sqrt(b[["v"]]))),
       lift = c(lift, lift - z * se, lift + z * se),
       test = normal_p(lift, se), variance = variance)
}

k <- nrow(rows)
r <- data.frame(id = rows$id, test = rows$test, stringsAsFactors = FALSE)
for (col in c("p_value", "lift_certainty", "pre", "pre_lower", "pre_upper", "post", "post_lower",
              "post_upper", "lift", "lift_lower", "lift_upper", "variance", "wilson_vs_prop_test")) r[[col]] <- rep(NA_real_, k)
test_rule_differs <- 0
for (i in seq_len(k)) {
  x1 <- rows$x1[i]; n1 <- rows$n1[i]; x2 <- rows$x2[i]; n2 <- rows$n2[i]
  if (rows$method[i] == "stratified") {
    s <- stratified(rows$id[i])
    r[i, c("pre", "pre_lower", "pre_upper")] <- s$pre
    r[i, c("post", "post_lower", "post_upper")] <- s$post
    r[i, c("lift", "lift_lower", "lift_upper")] <- s$lift
    r[i, c("p_value", "lift_certainty")] <- s$test
    r$variance[i] <- s$variance
    next
  }
  w1 <- wilson(x1, n1); w2 <- wilson(x2, n2)
  r[i, c("pre", "pre_lower", "pre_upper")] <- c(x1 / n1, w1)
  r[i, c("post", "post_lower", "post_upper")] <- c(x2 / n2, w2)
  r[i, c("lift", "lift_lower", "lift_upper")] <- c(x2 / n2 - x1 / n1, newcombe(x1, n1, x2, n2))
  r[i, c("p_value", "lift_certainty")] <- two_waves(x1, n1, x2, n2, rows$test[i])
  r$variance[i] <- (x1 / n1) * (1 - x1 / n1) / n1 + (x2 / n2) * (1 - x2 / n2) / n2
  by_prop_test <- suppressWarnings(c(prop.test(x1, n1, conf.level = conf_level, correct = FALSE)$conf.int,
                                     prop.test(x2, n2, conf.level = conf_level, correct = FALSE)$conf.int))
  r$wilson_vs_prop_test[i] <- max(abs(by_prop_test - c(w1, w2)))
  pooled <- (x1 + x2) / (n1 + n2)
  rule <- if (min(n1, n2) * min(pooled, 1 - pooled) < 5) "fisher" else "z"
  if (rule != rows$test[i]) test_rule_differs <- test_rule_differs + 1
}
r$adjusted_p_value <- p.adjust(r$p_value, method = adjust_method)

# Difference-in-differences: exposed rows of metrics with control segments, controls pooled per wave.
for (col in c("did", "did_lower", "did_upper", "did_p_value")) r[[col]] <- rep(NA_real_, k)
for (i in seq_len(k)) {
  controls <- rows[rows$metric == rows$metric[i] & rows$role == "control" & rows$kind == "segment", ]
  if (rows$role[i] != "exposed" || nrow(controls) == 0) next
  c1 <- sum(controls$x1) / sum(controls$n1); c2 <- sum(controls$x2) / sum(controls$n2)
  estimate <- r$lift[i] - (c2 - c1)
  se <- sqrt(r$variance[i] + c1 * (1 - c1) / sum(controls$n1) + c2 * (1 - c2) / sum(controls$n2))
  r[i, c("did", "did_lower", "did_upper")] <- c(estimate, estimate - z * se, estimate + z * se)
  r$did_p_value[i] <- normal_p(estimate, se)[["p"]]
}
has_did <- !is.na(r$did_p_value)
r$did_adjusted_p_value <- rep(NA_real_, k)
r$did_adjusted_p_value[has_did] <- p.adjust(r$did_p_value[has_did], method = adjust_method)

# ---------------------------------------------------------------- the table
cat("Brand Lift results reproduced in R:", study, "/", brand, "\n")
cat("Waves compared:", waves_compared[["pre"]], "->", waves_compared[["post"]],
    " confidence:", conf_level, " adjustment:", adjust_method, "\n\n")
pct <- function(v) sprintf("%.1f", 100 * v)
shown <- data.frame(
  row = r$id, test = r$test,
  pre = paste0(pct(r$pre), " [", pct(r$pre_lower), ", ", pct(r$pre_upper), "]"),
  post = paste0(pct(r$post), " [", pct(r$post_lower), ", ", pct(r$post_upper), "]"),
  lift_pp = paste0(pct(r$lift), " [", pct(r$lift_lower), ", ", pct(r$lift_upper), "]"),
  p = signif(r$p_value, 4), p_adjusted = signif(r$adjusted_p_value, 4),
  stringsAsFactors = FALSE
)
old_options <- options(width = 250)
print(shown, row.names = FALSE, right = FALSE)
options(old_options)

# ---------------------------------------------------------------- the comparison
max_abs_diff <- function(a, b) {
  if (length(a) == 0) return(0)
  if (any(is.na(a) != is.na(b))) return(Inf)
  d <- abs(a - b)[!is.na(a)]
  if (length(d) == 0) 0 else max(d)
}
cat("\nLargest absolute difference from Brand Lift's numbers:\n")
quantities <- setdiff(names(ours), "id")
stopifnot(identical(ours$id, r$id))
diffs <- vapply(quantities, function(q) max_abs_diff(r[[q]], ours[[q]]), numeric(1))
for (q in quantities) cat(sprintf("max_abs_diff %-22s %.3e\n", q, diffs[[q]]))
cat(sprintf("max_abs_diff %-22s %.3e\n", "wilson_vs_prop_test", max(c(0, r$wilson_vs_prop_test), na.rm = TRUE)))
overall <- max(c(0, diffs))
cat(sprintf("rows_compared %d\n", k))
cat(sprintf("test_rule_differs %d\n", test_rule_differs))
cat(sprintf("max_abs_diff_all %.3e\n", overall))
if (overall <= 1e-9 && test_rule_differs == 0) {
  cat("All numbers agree within 1e-9.\n")
} else {
  cat("DIFFERENCES FOUND: please report them.\n")
  if (!interactive()) quit(status = 1)
}
`;
