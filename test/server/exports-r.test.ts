import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { resultsRScript, rNumber, rString } from "../../server/exports/r-script.js";
import { translator } from "../../server/i18n/index.js";
import { computeResults, resultsQuery } from "../../server/services/results.js";
import { liftTable, type LiftTable, type LiftTableInput } from "../../stats/index.js";
import { exportsApp } from "../fixtures/exports/harness.js";
import { differences, runR as runRScript } from "../fixtures/exports/r-script.js";
import { FORMULAS, XSS, seedExportStudy, type ExportStudyOptions } from "../fixtures/exports/study.js";
import { loggedInAgent } from "../helpers.js";

/**
 * The script is only worth shipping if it runs, so in CI (process.env.CI set) a missing Rscript
 * fails the suite; elsewhere the suite skips with a note (install r-base-core to run it).
 */
const hasR = spawnSync("Rscript", ["--version"], { stdio: "ignore" }).status === 0;
const inCI = Boolean(process.env.CI);
if (!hasR && !inCI) console.warn("exports-r.test.ts: Rscript not found, the tests that run results.R are skipped (install r-base-core)");

async function script(options: ExportStudyOptions, query: Record<string, string> = {}) {
  const { app, db } = await exportsApp();
  const fixture = await seedExportStudy(db, options);
  const agent = await loggedInAgent(app, "viewer@example.test");
  const res = await agent.get(`/studies/${fixture.study.id}/results.R?${new URLSearchParams({ lang: "en", ...query })}`).expect(200);
  const results = await computeResults(db, fixture.study, resultsQuery.parse(query), "en", translator("en"));
  if (results === "no_waves") throw new Error("no waves");
  return { text: res.text, res, results, table: results.table, fixture };
}

/** The script for a lift table computed directly from its input (no study behind it). */
function tableScript(input: LiftTableInput): { text: string; table: LiftTable } {
  const table = liftTable(input);
  const audience = new Map<string, number>();
  for (const s of input.segments) if (s.audienceSize !== undefined) audience.set(s.key, s.audienceSize);
  const text = resultsRScript(
    {
      study: { name: "Synthetic", brand: "Acme" },
      pre: { label: input.waves.pre },
      post: { label: input.waves.post },
      segments: input.segments.map((s) => ({ key: s.key, role: s.role ?? "exposed" })),
      counts: input.counts,
      table,
    },
    { audience, generatedAt: new Date(0) },
  );
  return { text, table };
}

/** Runs a script; a long one (large samples, R's root finding) gets two minutes. */
const runR = (source: string) => runRScript(source, 120_000);


const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** The verdict printed for a row in the script's table (R's own, not the embedded one). */
function printedVerdict(stdout: string, id: string): string | undefined {
  return new RegExp(`^ *${escapeRegExp(id)} +(rise|fall|no_change|not_enough_data) `, "m").exec(stdout)?.[1];
}

/** Runs the script and asserts it agrees with Brand Lift on every row and prints the same verdicts. */
function expectAgreement(text: string, table: LiftTable): string {
  const run = runR(text);
  expect(run.stderr).not.toMatch(/Error/);
  expect(run.status, run.stdout + run.stderr).toBe(0);
  expect(run.stdout).toContain("All numbers agree (within 1e-9; p-values within relative 1e-8) and every verdict is the same.");
  expect(run.stdout).toContain(`rows_compared ${table.rows.length}`);
  expect(run.stdout).toContain("verdicts_differ 0");
  expect(run.stdout).toContain("quantities_beyond_tolerance 0");
  for (const row of table.rows) expect(printedVerdict(run.stdout, row.id), row.id).toBe(row.verdict);
  const diffs = differences(run.stdout);
  for (const q of ["pre_lower", "post_upper", "lift_lower", "lift_upper", "verdict_level", "verdict_lower", "verdict_upper", "relative_lower", "headroom_upper", "probability_of_rise"]) {
    expect(diffs.get(q), q).toBeDefined();
    expect(diffs.get(q)!, q).toBeLessThanOrEqual(1e-9);
  }
  return run.stdout;
}

const cnt = (metric: string, segment: string, wave: string, x: number, n: number) => ({ metric, segment, wave, x, n });

/**
 * A control segment (difference-in-differences is the measure of the exposed rows), totals by
 * audience sizes, small cells (not_enough_data), empty and full shares (no relative or headroom lift).
 */
const CONTROL_TABLE: LiftTableInput = {
  metrics: [{ key: "aided" }, { key: "small" }, { key: "edge" }],
  segments: [
    { key: "subscribers", audienceSize: 40_000 },
    { key: "active", audienceSize: 150_000 },
    { key: "inactive", audienceSize: 900_000 },
    { key: "control", role: "control", audienceSize: 10_000 },
  ],
  waves: { pre: "pre", post: "post" },
  confidenceLevel: 0.95,
  adjustment: "holm",
  campaign: { cost: 90_000, currency: "RUB" },
  counts: [
    cnt("aided", "subscribers", "pre", 300, 1000), cnt("aided", "subscribers", "post", 420, 1000),
    cnt("aided", "active", "pre", 120, 600), cnt("aided", "active", "post", 150, 650),
    cnt("aided", "inactive", "pre", 60, 400), cnt("aided", "inactive", "post", 84, 420),
    cnt("aided", "control", "pre", 150, 500), cnt("aided", "control", "post", 160, 500),
    cnt("small", "subscribers", "pre", 2, 20), cnt("small", "subscribers", "post", 9, 25),
    cnt("small", "active", "pre", 1, 8), cnt("small", "active", "post", 3, 9),
    cnt("small", "control", "pre", 1, 12), cnt("small", "control", "post", 1, 14),
    cnt("edge", "subscribers", "pre", 0, 12), cnt("edge", "subscribers", "post", 0, 15),
    cnt("edge", "active", "pre", 50, 50), cnt("edge", "active", "post", 48, 50),
    cnt("edge", "inactive", "pre", 1, 1), cnt("edge", "inactive", "post", 0, 1),
    cnt("edge", "control", "pre", 0, 30), cnt("edge", "control", "post", 1, 30),
  ],
};

/** Totals by sample shares (one segment lacks an audience size), 90%, Benjamini-Hochberg, no control. */
const SAMPLE_TABLE: LiftTableInput = {
  metrics: [{ key: "aided" }, { key: "fav" }, { key: "rare" }],
  segments: [{ key: "subscribers", audienceSize: 5000 }, { key: "active" }, { key: "inactive", audienceSize: 90_000 }],
  waves: { pre: "w1", post: "w2" },
  confidenceLevel: 0.9,
  adjustment: "bh",
  counts: [
    cnt("aided", "subscribers", "w1", 310, 1000), cnt("aided", "subscribers", "w2", 380, 1000),
    cnt("aided", "active", "w1", 200, 800), cnt("aided", "active", "w2", 170, 760),
    cnt("aided", "inactive", "w1", 90, 900), cnt("aided", "inactive", "w2", 130, 950),
    cnt("fav", "subscribers", "w1", 40, 100), cnt("fav", "subscribers", "w2", 360, 900),
    cnt("fav", "active", "w1", 50, 100), cnt("fav", "active", "w2", 50, 100),
    cnt("fav", "inactive", "w1", 90, 900), cnt("fav", "inactive", "w2", 10, 100),
    cnt("rare", "subscribers", "w1", 0, 40), cnt("rare", "subscribers", "w2", 3, 45),
    cnt("rare", "active", "w1", 1, 25), cnt("rare", "active", "w2", 0, 20),
    cnt("rare", "inactive", "w1", 2, 300), cnt("rare", "inactive", "w2", 9, 310),
    // Another wave's counts are not read.
    cnt("aided", "subscribers", "w3", 999, 1000),
  ],
};

/** Large samples at 99% with Bonferroni: every total by audience, tiny p-values. */
const AUDIENCE_TABLE: LiftTableInput = {
  metrics: [{ key: "aided" }, { key: "fav" }],
  segments: [{ key: "a", audienceSize: 120_000 }, { key: "b", audienceSize: 800_000 }, { key: "c", audienceSize: 5e6 }],
  waves: { pre: "pre", post: "post" },
  confidenceLevel: 0.99,
  adjustment: "bonferroni",
  counts: [
    cnt("aided", "a", "pre", 30_000, 100_000), cnt("aided", "a", "post", 36_000, 100_000),
    cnt("aided", "b", "pre", 21_000, 70_000), cnt("aided", "b", "post", 21_400, 71_000),
    cnt("aided", "c", "pre", 9_000, 60_000), cnt("aided", "c", "post", 8_950, 61_000),
    cnt("fav", "a", "pre", 500, 2000), cnt("fav", "a", "post", 520, 2000),
    cnt("fav", "b", "pre", 40, 200), cnt("fav", "b", "post", 58, 210),
    cnt("fav", "c", "pre", 7, 35), cnt("fav", "c", "post", 12, 31),
  ],
};

describe("results.R: the script itself", () => {
  it("is ASCII-only base R with user text only inside escaped string literals", async () => {
    const { text, res, results } = await script({ control: true, audience: true });
    expect(res.headers["content-type"]).toBe("text/plain; charset=utf-8");
    expect(res.headers["content-disposition"]).toMatch(/study-\d+-results\.R/);
    expect(/^[\x20-\x7e\n]*$/.test(text)).toBe(true);
    expect(text).not.toMatch(/library\(|require\(/);
    // Names are there, escaped, never raw (no line of code or comment starts from a user's text).
    expect(text).toContain(`study <- ${rString(results.study.name)}`);
    expect(text).not.toContain(XSS);
    expect(text).not.toContain(FORMULAS[0]);
    // The counts and our numbers are embedded; the fields that no longer exist are gone.
    for (const row of results.table.rows) {
      expect(text).toContain(rString(row.id));
      expect(text).toContain(rNumber(row.pValue));
      expect(text).toContain(rNumber(row.adjustedPValue));
    }
    expect(text).not.toMatch(/lift_certainty|fisher|liftCertainty/);
    expect(text).toContain('adjust_method <- "holm"');
  });

  it("escapes strings and numbers for R", () => {
    expect(rString('a"b\\c\nd\r\te')).toBe('"a\\"b\\\\c\\nd\\r\\te"');
    expect(rString("Акме 🙂")).toBe('"\\u{0410}\\u{043a}\\u{043c}\\u{0435} \\U{0001f642}"');
    expect(rString("a\u0000b\u0007")).toBe('"ab\\x07"');
    expect([rNumber(null), rNumber(NaN), rNumber(Infinity), rNumber(-Infinity), rNumber(1e-20), rNumber(0.1)]).toEqual(["NA", "NaN", "Inf", "-Inf", "1e-20", "0.1"]);
  });
});

describe.skipIf(!hasR && !inCI)("results.R run with Rscript", () => {
  it("finds Rscript (required when CI is set)", () => {
    expect(hasR, "Rscript is required in CI: install r-base-core").toBe(true);
  });

  it("reproduces the exports study: totals by sample shares, small cells, a not_enough_data row", async () => {
    const { text, table } = await script({});
    expect(table.rows.some((r) => r.kind === "total" && r.totalMethod === "sample")).toBe(true);
    expect(table.rows.some((r) => r.verdict === "not_enough_data")).toBe(true);
    expect(table.rows.some((r) => Math.min(r.pre.n, r.post.n) < 10)).toBe(true);
    expectAgreement(text, table);
  });

  it("reproduces it with a control segment, totals by audience, 90% and Benjamini-Hochberg", async () => {
    const { text, table } = await script({ control: true, audience: true }, { confidence: "0.9", adjustment: "bh", flagged: "0" });
    expect(table.rows.some((r) => r.totalMethod === "audience")).toBe(true);
    expect(table.rows.some((r) => r.measure === "did")).toBe(true);
    expect(table.rows.some((r) => r.role === "control" && r.family.endsWith(":control"))).toBe(true);
    const stdout = expectAgreement(text, table);
    const diffs = differences(stdout);
    for (const q of ["did", "did_lower", "did_upper", "did_p_value"]) expect(diffs.get(q)!, q).toBeLessThanOrEqual(1e-9);
  });

  it("reproduces a table with a control segment, small cells, empty and full shares", () => {
    const { text, table } = tableScript(CONTROL_TABLE);
    expect(table.rows.some((r) => r.id === "aided:total" && r.totalMethod === "audience" && r.measure === "did")).toBe(true);
    expect(table.rows.some((r) => r.verdict === "not_enough_data")).toBe(true);
    expect(table.rows.some((r) => r.relativeLift === null)).toBe(true);
    expect(table.rows.some((r) => r.headroomLift === null)).toBe(true);
    expect(table.rows.some((r) => r.verdict === "rise")).toBe(true);
    expectAgreement(text, table);
  });

  it("reproduces totals by sample shares (a segment without an audience size), a reversed segment mix", () => {
    const { text, table } = tableScript(SAMPLE_TABLE);
    expect(table.rows.filter((r) => r.kind === "total").every((r) => r.totalMethod === "sample")).toBe(true);
    expect(table.rows.some((r) => r.verdict === "fall" || r.verdict === "rise")).toBe(true);
    expectAgreement(text, table);
  });

  it("reproduces totals by audience with large samples at 99% and Bonferroni", () => {
    const { text, table } = tableScript(AUDIENCE_TABLE);
    expect(table.rows.filter((r) => r.kind === "total").every((r) => r.totalMethod === "audience")).toBe(true);
    expect(table.rows.some((r) => r.pValue < 1e-100)).toBe(true);
    expectAgreement(text, table);
  });

  it("runs on a table with no rows yet (no responses in a wave)", () => {
    const { text, table } = tableScript({ ...SAMPLE_TABLE, counts: SAMPLE_TABLE.counts.filter((c) => c.wave === "w1") });
    expect(table.rows).toEqual([]);
    expectAgreement(text, table);
  });

  it("reports a difference (and fails) when one of our p-values is wrong", async () => {
    const { text, table } = await script({});
    const row = table.rows.find((r) => r.kind === "segment" && r.pValue < 1)!;
    // Falsify the embedded p-value in `ours` only (the counts stay right).
    const ours = text.indexOf("ours <- data.frame(");
    const tampered = text.slice(0, ours) + text.slice(ours).replace(rNumber(row.pValue), rNumber(row.pValue * (1 + 1e-6)));
    expect(tampered).not.toBe(text);
    const run = runR(tampered);
    expect(run.status).toBe(1);
    expect(run.stdout).toContain("DIFFERENCES FOUND");
    expect(run.stdout).toMatch(/quantities_beyond_tolerance [1-9]/);
    expect(differences(run.stdout).get("p_value")!).toBeGreaterThan(1e-9);
  });

  it("fails on a verdict that differs, whatever the numbers", async () => {
    const { text, table } = await script({});
    const row = table.rows.find((r) => r.verdict === "not_enough_data")!;
    const i = table.rows.indexOf(row);
    // The verdict column lists one literal per row in row order: change the row's.
    const tampered = text.replace(/verdict = c\(([\s\S]*?)\n?\s*\),?\n/, (all: string) => {
      let k = -1;
      return all.replace(/"(rise|fall|no_change|not_enough_data)"/g, (m) => (++k === i ? '"no_change"' : m));
    });
    expect(tampered).not.toBe(text);
    const run = runR(tampered);
    expect(run.status).toBe(1);
    expect(run.stdout).toContain("verdicts_differ 1");
    expect(run.stdout).toContain(`DIFFERENT verdict of ${row.id}: R not_enough_data, Brand Lift no_change`);
  });

  it("keeps a hostile study name a string: nothing in it runs", async () => {
    const { app, db } = await exportsApp();
    const fixture = await seedExportStudy(db);
    const marker = join(tmpdir(), `brandlift-pwned-${process.pid}-${Date.now()}`);
    const { updateStudy } = await import("../../db/queries/studies.js");
    await updateStudy(db, fixture.study.id, { name: `x")\nfile.create("${marker}")\n#\u2028"`, brand: `\\"); file.create("${marker}"); ("` });
    const agent = await loggedInAgent(app, "viewer@example.test");
    const res = await agent.get(`/studies/${fixture.study.id}/results.R`).expect(200);
    const run = runR(res.text);
    expect(run.status, run.stderr).toBe(0);
    expect(existsSync(marker)).toBe(false);
  });
});
