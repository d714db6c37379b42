import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { rNumber, rString } from "../../server/exports/r-script.js";
import { translator } from "../../server/i18n/index.js";
import { computeResults, resultsQuery } from "../../server/services/results.js";
import { exportsApp } from "../fixtures/exports/harness.js";
import { FORMULAS, XSS, seedExportStudy, type ExportStudyOptions } from "../fixtures/exports/study.js";
import { loggedInAgent } from "../helpers.js";

/** R is installed on developers' machines but not in CI: the tests that run it skip without it. */
const hasR = spawnSync("Rscript", ["--version"], { stdio: "ignore" }).status === 0;

async function script(options: ExportStudyOptions, query: Record<string, string> = {}) {
  const { app, db } = await exportsApp();
  const fixture = seedExportStudy(db, options);
  const agent = await loggedInAgent(app, "viewer@example.test");
  const res = await agent.get(`/studies/${fixture.study.id}/results.R?${new URLSearchParams({ lang: "en", ...query })}`).expect(200);
  const results = computeResults(db, fixture.study, resultsQuery.parse(query), "en", translator("en"));
  if (results === "no_waves") throw new Error("no waves");
  return { text: res.text, res, results, fixture };
}

function runR(source: string): { status: number | null; stdout: string; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), "brandlift-r-"));
  try {
    const file = join(dir, "results.R");
    writeFileSync(file, source);
    const run = spawnSync("Rscript", ["--vanilla", file], { cwd: dir, encoding: "utf8", timeout: 60_000 });
    return { status: run.status, stdout: run.stdout, stderr: run.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `max_abs_diff <quantity> <value>` lines of the script's output. */
function differences(stdout: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of stdout.matchAll(/^max_abs_diff(?:_all)? *(\S+)? +(\S+)$/gm)) out.set(m[1] ?? "all", Number(m[2]));
  return out;
}

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
    // The counts and our numbers are embedded.
    for (const row of results.table.rows) {
      expect(text).toContain(rString(row.id));
      expect(text).toContain(rNumber(row.pValue));
    }
    expect(text).toContain('adjust_method <- "holm"');
  });

  it("escapes strings and numbers for R", () => {
    expect(rString('a"b\\c\nd\r\te')).toBe('"a\\"b\\\\c\\nd\\r\\te"');
    expect(rString("Акме 🙂")).toBe('"\\u{0410}\\u{043a}\\u{043c}\\u{0435} \\U{0001f642}"');
    expect(rString("a\u0000b\u0007")).toBe('"ab\\x07"');
    expect([rNumber(null), rNumber(NaN), rNumber(Infinity), rNumber(-Infinity), rNumber(1e-20), rNumber(0.1)]).toEqual(["NA", "NaN", "Inf", "-Inf", "1e-20", "0.1"]);
  });
});

describe.skipIf(!hasR)("results.R run with Rscript", () => {
  it("reproduces every p-value, adjusted p-value and interval of the page within 1e-9 (Fisher row, pooled total)", async () => {
    const { text, results } = await script({});
    const rows = results.table.rows;
    expect(rows.some((r) => r.test === "fisher")).toBe(true);
    expect(rows.some((r) => r.kind === "total" && r.totalMethod === "pooled")).toBe(true);
    const run = runR(text);
    expect(run.stderr).not.toMatch(/Error/);
    expect(run.status).toBe(0);
    expect(run.stdout).toContain(`rows_compared ${rows.length}`);
    expect(run.stdout).toContain("test_rule_differs 0");
    const diffs = differences(run.stdout);
    for (const q of ["p_value", "adjusted_p_value", "lift_certainty", "pre_lower", "pre_upper", "post_lower", "post_upper", "lift_lower", "lift_upper", "wilson_vs_prop_test", "all"]) {
      expect(diffs.get(q), q).toBeDefined();
      expect(diffs.get(q)!, q).toBeLessThan(1e-9);
    }
    expect(run.stdout).toContain("All numbers agree within 1e-9.");
  });

  it("also for audience-weighted totals, difference-in-differences, 90% intervals and Benjamini-Hochberg", async () => {
    const { text, results } = await script({ control: true, audience: true }, { confidence: "0.9", adjustment: "bh", flagged: "0" });
    const rows = results.table.rows;
    expect(rows.some((r) => r.totalMethod === "stratified")).toBe(true);
    expect(rows.some((r) => r.differenceInDifferences !== null)).toBe(true);
    const run = runR(text);
    expect(run.status, run.stdout + run.stderr).toBe(0);
    const diffs = differences(run.stdout);
    for (const q of ["did", "did_lower", "did_upper", "did_p_value", "did_adjusted_p_value", "all"]) {
      expect(diffs.get(q)!, q).toBeLessThan(1e-9);
    }
  });

  it("reports a difference (and fails) when our numbers are wrong", async () => {
    const { text, results } = await script({});
    const row = results.table.rows.find((r) => r.test === "fisher")!;
    // Falsify the embedded p-value of the Fisher row only in `ours` (the counts stay right).
    const ours = text.indexOf("ours <- data.frame(");
    const tampered = text.slice(0, ours) + text.slice(ours).replace(rNumber(row.pValue), rNumber(row.pValue * 0.999));
    expect(tampered).not.toBe(text);
    const run = runR(tampered);
    expect(run.status).toBe(1);
    expect(run.stdout).toContain("DIFFERENCES FOUND");
    expect(differences(run.stdout).get("p_value")!).toBeGreaterThan(1e-6);
  });

  it("keeps a hostile study name a string: nothing in it runs", async () => {
    const { app, db } = await exportsApp();
    const fixture = seedExportStudy(db);
    const marker = join(tmpdir(), `brandlift-pwned-${process.pid}-${Date.now()}`);
    const { updateStudy } = await import("../../db/queries/studies.js");
    updateStudy(db, fixture.study.id, { name: `x")\nfile.create("${marker}")\n#\u2028"`, brand: `\\"); file.create("${marker}"); ("` });
    const agent = await loggedInAgent(app, "viewer@example.test");
    const res = await agent.get(`/studies/${fixture.study.id}/results.R`).expect(200);
    const run = runR(res.text);
    expect(run.status, run.stderr).toBe(0);
    expect(existsSync(marker)).toBe(false);
  });
});
