import ExcelJS from "exceljs";
import { and, eq, like } from "drizzle-orm";
import request from "supertest";
import { describe, expect, it } from "vitest";
import { auditLog } from "../../db/schema.js";
import { messages, translator } from "../../server/i18n/index.js";
import { computeResults, resultsQuery, type StudyResults } from "../../server/services/results.js";
import type { LiftRow } from "../../stats/index.js";
import { parseCsv, withoutBom } from "../fixtures/exports/csv.js";
import { binary, exportsApp } from "../fixtures/exports/harness.js";
import { COUNTS, FORMULAS, XSS, seedExportStudy } from "../fixtures/exports/study.js";
import { createStudyFromDefinition, createWave } from "../../server/services/study-setup.js";
import { brandLiftDefinition } from "../fixtures/surveys.js";
import { loggedInAgent } from "../helpers.js";


const EN = messages.en.exports.columns;
const RU = messages.ru.exports.columns;

/** The numbers of a row, by column key, read straight from liftTable's row (not from the exporter). */
const NUMBERS: Array<[keyof typeof EN, (r: LiftRow) => number | null]> = [
  ["preShare", (r) => r.pre.p],
  ["preLower", (r) => r.pre.lower],
  ["preUpper", (r) => r.pre.upper],
  ["postShare", (r) => r.post.p],
  ["postLower", (r) => r.post.lower],
  ["postUpper", (r) => r.post.upper],
  ["lift", (r) => r.absoluteLift.estimate],
  ["liftLower", (r) => r.absoluteLift.lower],
  ["liftUpper", (r) => r.absoluteLift.upper],
  ["relativeLift", (r) => r.relativeLift?.estimate ?? null],
  ["headroomLift", (r) => r.headroomLift?.estimate ?? null],
  ["verdictEstimate", (r) => r.verdictEstimate],
  ["verdictLower", (r) => r.verdictInterval.lower],
  ["verdictUpper", (r) => r.verdictInterval.upper],
  ["verdictLevel", (r) => r.verdictLevel],
  ["pValue", (r) => r.verdictPValue],
  ["adjustedPValue", (r) => r.adjustedPValue],
  ["probabilityOfRise", (r) => r.probabilityOfRise],
  ["preX", (r) => r.pre.x],
  ["preN", (r) => r.pre.n],
  ["postX", (r) => r.post.x],
  ["postN", (r) => r.post.n],
  ["minimumDetectableLift", (r) => r.minimumDetectableLift],
];

/** A text cell that a spreadsheet would run as a formula; numbers (e.g. a negative lift) are data. */
const FORMULA_START = /^[=+\-@\t\r]/;
const isNumber = (s: string) => /^-?(\d+(\.\d+)?|\.\d+)(e[+-]?\d+)?$/.test(s);

function expectNoLiveFormula(cells: readonly string[]): void {
  for (const cell of cells) {
    if (FORMULA_START.test(cell) && !isNumber(cell)) throw new Error(`formula not neutralised: ${JSON.stringify(cell)}`);
  }
}

async function setup(options: Parameters<typeof seedExportStudy>[1] = {}) {
  const { app, db, viewerToken } = await exportsApp();
  const fixture = seedExportStudy(db, options);
  const viewer = await loggedInAgent(app, "viewer@example.test");
  // Without Accept-Language the app picks Russian; ?lang=en is remembered in a cookie.
  await viewer.get("/?lang=en");
  const results = (query: Record<string, string> = {}, locale: "en" | "ru" = "en") => {
    const r = computeResults(db, fixture.study, resultsQuery.parse(query), locale, translator(locale));
    if (r === "no_waves") throw new Error("no waves");
    return r;
  };
  const api = (path: string) => request(app).get(path).set("Authorization", `Bearer ${viewerToken}`).set("Accept-Language", "en");
  return { app, db, fixture, viewer, results, api, base: `/studies/${fixture.study.id}` };
}

async function xlsx(req: request.Test): Promise<ExcelJS.Workbook> {
  const res = await req.buffer(true).parse(binary).expect(200);
  expect(res.headers["content-type"]).toContain("spreadsheetml");
  const workbook = new ExcelJS.Workbook();
  await workbook.xlsx.load(res.body as Parameters<typeof workbook.xlsx.load>[0]);
  return workbook;
}

/** Checks parsed results rows (header first) against liftTable's rows, number by number. */
function expectRowsMatch(rows: string[][], table: readonly LiftRow[], headers: typeof EN) {
  const header = rows[0]!;
  const at = (key: keyof typeof EN) => {
    const i = header.indexOf(headers[key]);
    expect(i, `column ${key}`).toBeGreaterThanOrEqual(0);
    return i;
  };
  expect(rows.length - 1).toBe(table.length);
  table.forEach((row, k) => {
    const cells = rows[k + 1]!;
    expect(cells.length).toBe(header.length);
    expect(cells[at("metricKey")]).toBe(row.metric);
    expect(cells[at("segmentKey")]).toBe(row.segment);
    for (const [key, value] of NUMBERS) {
      const cell = cells[at(key)]!;
      const expected = value(row);
      if (expected === null) expect(cell, `${row.id} ${key}`).toBe("");
      else expect(Number(cell), `${row.id} ${key}`).toBe(expected);
    }
  });
}

describe("results exports", () => {
  it("the fixture has what the exports must cope with: a small-cell row, a total row, a fall, a flagged and an excluded response", async () => {
    const { results } = await setup();
    const r = results();
    const rows = r.table.rows;
    expect(rows.some((x) => x.warnings.includes("small_n"))).toBe(true);
    expect(rows.some((x) => x.kind === "total")).toBe(true);
    expect(rows.some((x) => x.absoluteLift.estimate < 0)).toBe(true);
    const aided = rows.find((x) => x.id === "aided_awareness:subscribers")!;
    expect([aided.pre.x, aided.pre.n]).toEqual([COUNTS.subscribers!.pre.aware, COUNTS.subscribers!.pre.n]);
    const active = rows.find((x) => x.id === "aided_awareness:active_unsubscribed")!;
    expect(active.post.n).toBe(COUNTS.active_unsubscribed!.post.n + 1); // the flagged one counts by default
    expect(r.respondents.reduce((s, x) => s + x.excluded, 0)).toBe(1);
  });

  it("CSV: BOM, RFC 4180, comma or semicolon, numbers equal to liftTable's, headers in the user's language", async () => {
    const { viewer, results, base } = await setup();
    const table = results().table.rows;

    const comma = await viewer.get(`${base}/results.csv`).expect(200);
    expect(comma.headers["content-type"]).toBe("text/csv; charset=utf-8");
    expect(comma.headers["content-disposition"]).toMatch(/^attachment; filename="?study-\d+-results\.csv"?$/);
    const commaRows = parseCsv(withoutBom(comma.text), ",");
    expectRowsMatch(commaRows, table, EN);
    expectNoLiveFormula(commaRows.flat());

    const semi = await viewer.get(`${base}/results.csv?delimiter=semicolon&lang=ru`).expect(200);
    const semiRows = parseCsv(withoutBom(semi.text), ";");
    expect(semiRows[0]![0]).toBe(RU.metric);
    expectRowsMatch(semiRows, results({}, "ru").table.rows, RU);
    // The same numbers whatever the delimiter: plain decimals with a point.
    const share = semiRows[0]!.indexOf(RU.preShare);
    expect(semiRows.slice(1).map((r) => r[share])).toEqual(commaRows.slice(1).map((r) => r[commaRows[0]!.indexOf(EN.preShare)]));
    expect(semiRows[1]![share]).toMatch(/^0\.\d+$/);
    expect(semi.text).toContain("Подписчики");
  });

  it("CSV follows the query: waves, confidence, adjustment, flagged", async () => {
    const { viewer, results, base, fixture } = await setup();
    const query = { pre: String(fixture.pre.id), post: String(fixture.post.id), confidence: "0.9", adjustment: "bh", flagged: "0" };
    const res = await viewer.get(`${base}/results.csv?${new URLSearchParams(query)}`).expect(200);
    const expected = results(query).table;
    expect(expected.confidenceLevel).toBe(0.9);
    expect(expected.rows.find((r) => r.id === "aided_awareness:active_unsubscribed")!.post.n).toBe(COUNTS.active_unsubscribed!.post.n);
    expectRowsMatch(parseCsv(withoutBom(res.text), ","), expected.rows, EN);
  });

  it("neutralises formula payloads in labels and keeps negative numbers numeric", async () => {
    const { viewer, base } = await setup();
    const rows = parseCsv(withoutBom((await viewer.get(`${base}/results.csv`).expect(200)).text), ",");
    const cells = rows.flat();
    expect(cells).toContain(`'${FORMULAS[1]} Whose slogan is it?`); // a metric label from the question text
    expect(cells).toContain("'+1 active");
    expect(cells).toContain(`'-1 inactive ${XSS}`);
    const lift = rows[0]!.indexOf(EN.lift);
    expect(rows.slice(1).some((r) => r[lift]!.startsWith("-") && isNumber(r[lift]!))).toBe(true);
  });

  it("XLSX: one sheet per metric with the same numbers (as numbers), and a Methods sheet", async () => {
    const { viewer, results, base } = await setup();
    const r = results();
    const workbook = await xlsx(viewer.get(`${base}/results.xlsx`));
    const names = workbook.worksheets.map((w) => w.name);
    expect(names.length).toBe(Object.keys(r.metricLabels).length + 1);
    expect(names[0]).toBe("Aided awareness");
    expect(names.at(-1)).toBe("Methods");
    expect(names[1]).toBe("@SUM(1) Whose slogan is it"); // "?" is not allowed in a sheet name

    Object.keys(r.metricLabels).forEach((metric, m) => {
      const sheet = workbook.worksheets[m]!;
      const header = (sheet.getRow(1).values as unknown[]).slice(1) as string[];
      const expected = r.table.rows.filter((row) => row.metric === metric);
      expect(sheet.rowCount - 1).toBe(expected.length);
      expected.forEach((row, k) => {
        const values = (sheet.getRow(k + 2).values as unknown[]).slice(1);
        expect(values[header.indexOf(EN.segmentKey)]).toBe(row.segment);
        for (const [key, value] of NUMBERS) {
          const cell = values[header.indexOf(EN[key])];
          const want = value(row);
          if (want === null) expect(cell ?? null, `${row.id} ${key}`).toBeNull();
          else expect(cell, `${row.id} ${key}`).toBe(want); // a number, not a formatted string
        }
      });
    });
    expectNoFormulaCells(workbook);

    const methods = workbook.getWorksheet("Methods")!;
    const text = methodsText(methods);
    expect(text).toContain("Confidence level\t95%");
    expect(text).toContain("Holm");
    expect(text).toContain("1 excluded response left out");
    expect(text).toContain("1 flagged response (counted)");
    expect(text).toContain(`Pre wave\tPre «до» (pre, id ${r.pre.id}; not opened)`);
  });

  it("JSON: valid JSON with the LiftTable exactly and the study and wave metadata", async () => {
    const { viewer, results, base, fixture } = await setup();
    const res = await viewer.get(`${base}/results.json`).expect(200);
    expect(res.headers["content-type"]).toContain("application/json");
    expect(res.headers["content-disposition"]).toContain("attachment");
    const body = JSON.parse(res.text) as Record<string, any>;
    const r = results();
    expect(body["table"]).toEqual(JSON.parse(JSON.stringify(r.table)));
    expect(body["study"]).toMatchObject({ id: fixture.study.id, name: fixture.study.name, brand: "@SUM(1) Акме" });
    expect(body["waves"]["pre"]).toMatchObject({ id: fixture.pre.id, kind: "pre", label: "Pre «до»" });
    expect(body["waves"]["post"]).toMatchObject({ id: fixture.post.id, kind: "post" });
    expect(body["options"]).toEqual({ confidence: 0.95, adjustment: "holm", flagged: true });
    expect(body["counts"]).toEqual(r.counts);
    // The XSS payload is data in JSON: escaped by JSON's rules only, and served as JSON (not HTML).
    expect(body["study"]["name"]).toContain(XSS);
  });
});

function expectNoFormulaCells(workbook: ExcelJS.Workbook): void {
  const texts: string[] = [];
  workbook.eachSheet((sheet) =>
    sheet.eachRow((row) =>
      row.eachCell((cell) => {
        expect(cell.type).not.toBe(ExcelJS.ValueType.Formula);
        if (typeof cell.value === "string") texts.push(cell.value);
      }),
    ),
  );
  expectNoLiveFormula(texts);
}

function methodsText(sheet: ExcelJS.Worksheet): string {
  const lines: string[] = [];
  sheet.eachRow((row) => lines.push((row.values as unknown[]).slice(1).map(String).join("\t")));
  return lines.join("\n");
}

describe("results exports: the study name reaches the Methods sheet neutralised", () => {
  it("prefixes the study name's formula with an apostrophe", async () => {
    const { viewer, base, fixture } = await setup();
    const workbook = await xlsx(viewer.get(`${base}/results.xlsx`));
    const text = methodsText(workbook.getWorksheet("Methods")!);
    expect(text).toContain(`Study\t'${fixture.study.name}`);
    expect(text).toContain("Brand\t'@SUM(1) Акме");
  });
});

describe("export routes: query validation and studies without waves", () => {
  it("answers 422 validation_failed to bad parameters (API) and a 422 page (web)", async () => {
    const { viewer, api, fixture, base } = await setup();
    const id = fixture.study.id;
    for (const query of ["confidence=0.5", "adjustment=none", "pre=abc", "delimiter=tab", "pre=999999", `pre=${fixture.pre.id}&post=${fixture.pre.id}`]) {
      const res = await api(`/api/studies/${id}/results.csv?${query}`).expect(422);
      expect(res.body.error.code, query).toBe("validation_failed");
    }
    const details = (await api(`/api/studies/${id}/results?pre=999999`).expect(422)).body.error.details;
    expect(details).toEqual({ pre: "is not a wave of this study" });
    await viewer.get(`${base}/results.xlsx?confidence=2`).expect(422);
    await api(`/api/studies/${id}/responses.csv?delimiter=pipe`).expect(422);
  });

  it("answers 409 no_waves for a study without two waves", async () => {
    const { app, db, viewerToken } = await exportsApp();
    // One wave only: nothing to compare.
    const empty = createStudyFromDefinition(db, brandLiftDefinition(), null);
    createWave(db, empty.id, "pre", "Pre");
    const res = await request(app).get(`/api/studies/${empty.id}/results`).set("Authorization", `Bearer ${viewerToken}`).expect(409);
    expect(res.body.error.code).toBe("no_waves");
    const agent = await loggedInAgent(app, "viewer@example.test");
    const page = await agent.get(`/studies/${empty.id}/results.R`).set("Accept-Language", "en").expect(409);
    expect(page.text).toContain("Nothing to export yet");
    // Raw responses need no waves to compare: an empty export with the header row.
    const raw = await agent.get(`/studies/${empty.id}/responses.csv`).expect(200);
    expect(parseCsv(withoutBom(raw.text), ",").length).toBe(1);
  });

  it("404 for an unknown study", async () => {
    const { viewer, api } = await setup();
    await viewer.get(`/studies/999999/results.csv`).expect(404);
    await api(`/api/studies/999999/results.csv`).expect(404);
    await api(`/api/studies/abc/responses.csv`).expect(404);
  });
});

describe("export routes: authorization and audit", () => {
  const PATHS = ["results.csv", "results.xlsx", "results.json", "results.R", "responses.csv", "responses.xlsx", "codebook.csv"];

  it("sends anonymous visitors to the login page and API callers without a token away with 401", async () => {
    const { app, base, fixture } = await setup();
    for (const path of PATHS) {
      const res = await request(app).get(`${base}/${path}`).expect(303);
      expect(res.headers["location"]).toBe(`/login?next=${encodeURIComponent(`${base}/${path}`)}`);
      await request(app).get(`/api/studies/${fixture.study.id}/${path}`).expect(401);
      await request(app).get(`/api/studies/${fixture.study.id}/${path}`).set("Authorization", "Bearer not-a-real-token-at-all-0000").expect(401);
    }
    await request(app).get(`/api/studies/${fixture.study.id}/results`).expect(401);
  });

  it("lets a viewer download everything, on the pages and through the API, and logs each export", async () => {
    const { viewer, api, base, fixture, db } = await setup();
    for (const path of PATHS) {
      await viewer.get(`${base}/${path}`).buffer(true).parse(binary).expect(200);
      await api(`/api/studies/${fixture.study.id}/${path}`).buffer(true).parse(binary).expect(200);
    }
    const inline = await api(`/api/studies/${fixture.study.id}/results`).expect(200);
    expect(inline.headers["content-disposition"]).toBeUndefined();
    expect(inline.body.table.rows.length).toBeGreaterThan(0);

    const entries = db
      .select()
      .from(auditLog)
      .where(and(like(auditLog.action, "study.export.%"), eq(auditLog.entityId, String(fixture.study.id))))
      .all();
    const kinds = entries.map((e) => `${e.action} ${String(e.details?.["via"])}`).sort();
    const expected = ["results_csv", "results_xlsx", "results_json", "results_r", "responses_csv", "responses_xlsx", "codebook_csv"].flatMap((k) => [
      `study.export.${k} api`,
      `study.export.${k} web`,
    ]);
    expect(kinds).toEqual([...expected, "study.export.results_json api"].sort());
    const csv = entries.find((e) => e.action === "study.export.results_csv")!;
    expect(csv.details).toMatchObject({ pre: fixture.pre.id, post: fixture.post.id, confidence: 0.95, adjustment: "holm", flagged: true });
    expect(csv.userId).not.toBeNull();
  });

  it("API /results equals the page's numbers for the same parameters", async () => {
    const { api, results, fixture } = await setup();
    const query = { confidence: "0.99", adjustment: "bonferroni" };
    const body = (await api(`/api/studies/${fixture.study.id}/results?${new URLSearchParams(query)}`).expect(200)).body as { table: StudyResults["table"] };
    expect(body.table).toEqual(JSON.parse(JSON.stringify(results(query).table)));
  });
});
