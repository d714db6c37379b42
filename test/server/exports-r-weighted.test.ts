import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { findStudy } from "../../db/queries/studies.js";
import { createDemoStudy } from "../../server/demo/create.js";
import { DEFAULT_SEED } from "../../server/demo/generate.js";
import { seededRandom } from "../../server/demo/random.js";
import { resultsRScript, rNumber, rWeightingData } from "../../server/exports/r-script.js";
import { weightCell, type Margins } from "../../server/domain/weighting.js";
import { translator } from "../../server/i18n/index.js";
import { computeResults, resultsQuery } from "../../server/services/results.js";
import type { WeightingCell } from "../../server/services/weighted-results.js";
import { liftTable, type LiftTable, type LiftTableCount, type LiftTableInput } from "../../stats/index.js";
import { differences, runR as runRScript } from "../fixtures/exports/r-script.js";
import { addUser, freshApp, loggedInAgent } from "../helpers.js";

/**
 * The downloadable R script of a weighted table rakes every wave itself with the survey package
 * (svymean on rake()) from the respondents and margins it embeds, and must reproduce Brand Lift's
 * weighted rows: shares, SEs behind the Wald intervals, n_eff, lifts, verdicts. In CI a missing
 * Rscript or survey package fails these tests (never skips).
 */
const hasR = spawnSync("Rscript", ["-e", 'quit(status = !requireNamespace("survey", quietly = TRUE))'], { stdio: "ignore" }).status === 0;
const inCI = Boolean(process.env.CI);
if (!hasR && !inCI) console.warn("exports-r-weighted.test.ts: Rscript with the survey package not found, skipped (install r-base-core r-cran-survey)");

/** Raking every cell in R takes seconds: three minutes per script at most. */
const runR = (source: string) => runRScript(source, 180_000);

function maxDiff(stdout: string, quantity: string): number {
  const value = differences(stdout).get(quantity);
  if (value === undefined) throw new Error(`no max_abs_diff line for ${quantity}`);
  return value;
}

function expectWeightedAgreement(text: string, table: LiftTable): string {
  const run = runR(text);
  expect(run.status, run.stdout + run.stderr).toBe(0);
  expect(run.stdout).toContain("All numbers agree (within 1e-8; p-values within relative 1e-6) and every verdict is the same.");
  expect(run.stdout).toContain(`rows_compared ${table.rows.length}`);
  expect(run.stdout).toContain("verdicts_differ 0");
  for (const q of ["pre", "pre_lower", "post_upper", "lift", "lift_upper", "verdict_lower", "verdict_upper", "probability_of_rise"]) {
    expect(maxDiff(run.stdout, q), q).toBeLessThanOrEqual(1e-8);
  }
  return run.stdout;
}

// ---------------------------------------------------------------- a synthetic weighted table

const WAVES = { pre: 1, post: 2 } as const;
const SEGMENTS = [
  { id: 11, key: "subscribers", role: "exposed" as const, audienceSize: 40_000 },
  { id: 12, key: "active", role: "exposed" as const, audienceSize: 150_000 },
  { id: 13, key: "control", role: "control" as const, audienceSize: 20_000 },
];
const MARGINS: Margins = {
  gender: { female: 0.62, male: 0.38 },
  age: { young: 0.3, middle: 0.45, old: 0.25 },
};

/**
 * Respondents skewed away from the margins (young women over-represented after the campaign), a
 * tenth without a gender answer and some "prefer not to say" (a level the margins do not name).
 */
function syntheticCells(seed: number): WeightingCell[] {
  const random = seededRandom(seed);
  const pick = <T,>(items: readonly T[], weights: readonly number[]): T => {
    let u = random.next() * weights.reduce((a, b) => a + b, 0);
    for (let i = 0; i < items.length; i++) if ((u -= weights[i]!) < 0) return items[i]!;
    return items[items.length - 1]!;
  };
  const cells: WeightingCell[] = [];
  for (const metric of ["aided", "fav"]) {
    for (const segment of SEGMENTS) {
      for (const waveId of [WAVES.pre, WAVES.post]) {
        const n = segment.role === "control" ? 160 : 240 + 40 * segment.id;
        const post = waveId === WAVES.post;
        const y: Array<0 | 1> = [];
        const profiles: Array<Record<string, string>> = [];
        for (let i = 0; i < n; i++) {
          const gender = pick(["female", "male", "prefer_not", "none"], post ? [0.6, 0.25, 0.05, 0.1] : [0.45, 0.4, 0.05, 0.1]);
          const age = pick(["young", "middle", "old"], post ? [0.5, 0.35, 0.15] : [0.3, 0.4, 0.3]);
          const p = (metric === "aided" ? 0.3 : 0.5) + (age === "young" ? 0.15 : 0) + (post && segment.role === "exposed" ? 0.06 : 0);
          y.push(random.next() < p ? 1 : 0);
          profiles.push(gender === "none" ? { age } : { gender, age });
        }
        cells.push({ metric, segmentId: segment.id, waveId, margins: MARGINS, y, profiles });
      }
    }
  }
  return cells;
}

function syntheticScript(seed: number, settings: Pick<LiftTableInput, "confidenceLevel" | "adjustment">) {
  const cells = syntheticCells(seed);
  const segmentKey = new Map(SEGMENTS.map((s) => [s.id, s.key]));
  const counts: LiftTableCount[] = cells.map((cell) => {
    const result = weightCell(cell.y, cell.profiles, cell.margins);
    if (!result.ok) throw new Error(`cell not weightable: ${JSON.stringify(result.problem)}`);
    const { p, se, nEff } = result.estimate;
    const x = cell.y.filter((v) => v === 1).length;
    return { metric: cell.metric, segment: segmentKey.get(cell.segmentId)!, wave: String(cell.waveId), x, n: cell.y.length, weighted: { p, se, nEff } };
  });
  const input: LiftTableInput = {
    metrics: [{ key: "aided" }, { key: "fav" }],
    segments: SEGMENTS.map(({ key, role, audienceSize }) => ({ key, role, audienceSize })),
    waves: { pre: String(WAVES.pre), post: String(WAVES.post) },
    counts,
    ...settings,
  };
  const table = liftTable(input);
  const text = resultsRScript(
    {
      study: { name: "Synthetic weighted", brand: "Acme" },
      pre: { label: "before" },
      post: { label: "after" },
      segments: SEGMENTS.map((s) => ({ key: s.key, role: s.role })),
      counts,
      table,
    },
    {
      audience: new Map(SEGMENTS.map((s) => [s.key, s.audienceSize])),
      weighting: rWeightingData(cells, segmentKey, WAVES),
      generatedAt: new Date(0),
    },
  );
  return { text, table };
}

describe("results.R of a weighted table: what it carries", () => {
  it("embeds respondents grouped with counts, the margins, and says it needs the survey package", () => {
    const { text, table } = syntheticScript(3, { confidenceLevel: 0.95, adjustment: "holm" });
    expect(table.rows.every((r) => r.weighted)).toBe(true);
    expect(text).toContain("weighted <- TRUE");
    expect(text).toContain("library(survey)");
    expect(text).toContain('weighting_variables <- c(v1 = "gender", v2 = "age")');
    expect(text).toMatch(/respondents <- data\.frame\(\n {2}metric = /);
    expect(text).toMatch(/population <- data\.frame\(/);
    // Respondents without a gender answer travel as NA, "prefer not to say" as its own level.
    expect(text).toContain("NA_character_");
    expect(text).toContain('"prefer_not"');
    // 2 metrics x 3 segments x 2 waves of 240 to 680 respondents, grouped: far fewer lines.
    const groups = /respondents <- data\.frame\([\s\S]*?count = c\(([\s\S]*?)\)/.exec(text)![1]!.split(",").length;
    expect(groups).toBeLessThan(300);
    expect(/^[\x20-\x7e\n]*$/.test(text)).toBe(true);
  });

  it("an unweighted table's script stays base R", () => {
    const counts: LiftTableCount[] = [
      { metric: "aided", segment: "s", wave: "a", x: 30, n: 100 },
      { metric: "aided", segment: "s", wave: "b", x: 40, n: 100 },
    ];
    const table = liftTable({ metrics: [{ key: "aided" }], segments: [{ key: "s" }], waves: { pre: "a", post: "b" }, counts });
    const text = resultsRScript(
      { study: { name: "x", brand: "y" }, pre: { label: "a" }, post: { label: "b" }, segments: [{ key: "s", role: "exposed" }], counts, table },
      { audience: new Map() },
    );
    expect(text).toContain("weighted <- FALSE");
    expect(text).not.toContain("library(survey)");
  });
});

// Each case runs Rscript, which rakes every cell: seconds here, far longer on a loaded CI machine.
describe.skipIf(!hasR && !inCI)("results.R of a weighted table run with Rscript and survey", { timeout: 180_000 }, () => {
  it("finds Rscript with the survey package (required when CI is set)", () => {
    expect(hasR, "Rscript with the survey package is required in CI: install r-base-core r-cran-survey").toBe(true);
  });

  it("reproduces a weighted table with a control segment, totals by audience and a no-answer group (Holm, 95%)", () => {
    const { text, table } = syntheticScript(3, { confidenceLevel: 0.95, adjustment: "holm" });
    expect(table.rows.some((r) => r.kind === "total" && r.totalMethod === "audience")).toBe(true);
    expect(table.rows.some((r) => r.measure === "did")).toBe(true);
    expect(table.rows.some((r) => (r.pre.designEffect ?? 1) > 1.05)).toBe(true);
    const stdout = expectWeightedAgreement(text, table);
    for (const q of ["did", "did_lower", "did_p_value", "pre_n_eff", "post_n_eff"]) expect(maxDiff(stdout, q), q).toBeLessThan(1e-6);
  });

  it("reproduces another sample at 90% with Benjamini-Hochberg", () => {
    const { text, table } = syntheticScript(17, { confidenceLevel: 0.9, adjustment: "bh" });
    expectWeightedAgreement(text, table);
  });

  it("fails when a population share is changed: the script rakes, it does not copy our numbers", () => {
    const { text } = syntheticScript(3, { confidenceLevel: 0.95, adjustment: "holm" });
    const at = text.indexOf("population <- data.frame(");
    const tampered = text.slice(0, at) + text.slice(at).replace(`${rNumber(0.62)}, ${rNumber(0.38)}`, `${rNumber(0.6)}, ${rNumber(0.4)}`);
    expect(tampered).not.toBe(text);
    const run = runR(tampered);
    expect(run.status).toBe(1);
    expect(run.stdout).toContain("DIFFERENCES FOUND");
    expect(maxDiff(run.stdout, "pre")).toBeGreaterThan(1e-6);
  });

  it("reproduces the demo study as downloaded (weighted by default), and its unweighted table too", async () => {
    const { app, db } = freshApp();
    await addUser(db, "viewer");
    const demo = await createDemoStudy(db, { seed: DEFAULT_SEED, locale: "en", actorId: null });
    const study = (await findStudy(db, demo.studyId))!;
    const agent = await loggedInAgent(app, "viewer@example.test");
    const weighted = await agent.get(`/studies/${study.id}/results.R?lang=en`).expect(200);
    const results = await computeResults(db, study, resultsQuery.parse({}), "en", translator("en"));
    if (results === "no_waves") throw new Error("no waves");
    expect(results.options.weighted).toBe(true);
    expect(weighted.text).toContain("weighted <- TRUE");
    expectWeightedAgreement(weighted.text, results.table);

    const plain = await agent.get(`/studies/${study.id}/results.R?lang=en&weighted=0`).expect(200);
    expect(plain.text).toContain("weighted <- FALSE");
    const run = runR(plain.text);
    expect(run.status, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain("All numbers agree (within 1e-9; p-values within relative 1e-8)");
  });
});
