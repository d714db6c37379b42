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
// A decimal comma too: "-14,3" is a number to Excel with Russian settings, not a formula.
const isNumber = (s: string) => /^-?(\d+([.,]\d+)?|\.\d+)(e[+-]?\d+)?$/.test(s);

function expectNoLiveFormula(cells: readonly string[]): void {
  for (const cell of cells) {
    if (FORMULA_START.test(cell) && !isNumber(cell)) throw new Error(`formula not neutralised: ${JSON.stringify(cell)}`);
  }
}

async function setup(options: Parameters<typeof seedExportStudy>[1] = {}) {
  const { app, db, viewerToken } = await exportsApp();
  const fixture = await seedExportStudy(db, options);
  const viewer = await loggedInAgent(app, "viewer@example.test");
  // Without Accept-Language the app picks Russian; ?lang=en is remembered in a cookie.
  await viewer.get("/?lang=en");
  const results = async (query: Record<string, string> = {}, locale: "en" | "ru" = "en") => {
    const r = await computeResults(db, fixture.study, resultsQuery.parse(query), locale, translator(locale));
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

/** How the Excel dialects write each number: percent / percentage points to 0.1, p to 4 decimals, whole counts. */
const KIND: Partial<Record<keyof typeof EN, "percent" | "p" | "count">> = {
  preShare: "percent",
  preLower: "percent",
  preUpper: "percent",
  postShare: "percent",
  postLower: "percent",
  postUpper: "percent",
  lift: "percent",
  liftLower: "percent",
  liftUpper: "percent",
  relativeLift: "percent",
  headroomLift: "percent",
  verdictEstimate: "percent",
  verdictLower: "percent",
  verdictUpper: "percent",
  verdictLevel: "percent",
  pValue: "p",
  adjustedPValue: "p",
  probabilityOfRise: "percent",
  preX: "count",
  preN: "count",
  postX: "count",
  postN: "count",
  minimumDetectableLift: "percent",
};

interface Dialect {
  delimiter: "," | ";";
  decimal: "." | ",";
  /** Header of a column (the raw file keeps the fraction headers, the Excel ones name the unit). */
  header: (key: keyof typeof EN) => string;
  /** What a value of liftTable should read back as. */
  expected: (key: (typeof NUMBERS)[number][0], value: number) => number;
}

const RAW_EN: Dialect = { delimiter: ",", decimal: ".", header: (k) => EN[k], expected: (_k, v) => v };
const rounded = (key: (typeof NUMBERS)[number][0], v: number) => {
  const kind = KIND[key];
  if (kind === undefined) throw new Error(`no rounding rule for ${key}`);
  // The page's rounding (Intl: the double's decimal expansion, ties away from zero) is toFixed's.
  const r = kind === "percent" ? Number((v * 100).toFixed(1)) : kind === "p" ? Number(v.toFixed(4)) : Math.round(v);
  return r || 0;
};
const excelHeader = (columns: typeof EN, excel: Record<string, string>) => (k: keyof typeof EN) => excel[k] ?? columns[k];
const EXCEL_EN: Dialect = { delimiter: ",", decimal: ".", header: excelHeader(EN, messages.en.exports.excelColumns), expected: rounded };
const EXCEL_RU: Dialect = { delimiter: ";", decimal: ",", header: excelHeader(RU, messages.ru.exports.excelColumns), expected: rounded };

/** A number cell of a dialect: digits, one decimal mark of the dialect, no thousands separators. */
function readNumber(cell: string, decimal: "." | ","): number {
  const pattern = decimal === "," ? /^-?\d+(,\d+)?$/ : /^-?\d+(\.\d+)?(e-\d+)?$/;
  if (!pattern.test(cell)) throw new Error(`not a number with "${decimal}": ${JSON.stringify(cell)}`);
  return Number(cell.replace(",", "."));
}

/** Parses a CSV export (BOM first) and checks its rows against liftTable's, number by number. */
function expectRowsMatch(text: string, table: readonly LiftRow[], dialect: Dialect): string[][] {
  const rows = parseCsv(withoutBom(text), dialect.delimiter);
  const header = rows[0]!;
  const at = (key: keyof typeof EN) => {
    const i = header.indexOf(dialect.header(key));
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
      else expect(readNumber(cell, dialect.decimal), `${row.id} ${key}`).toBe(dialect.expected(key, expected));
    }
  });
  return rows;
}

describe("results exports", () => {
  it("the fixture has what the exports must cope with: a small-cell row, a total row, a fall, a flagged and an excluded response", async () => {
    const { results } = await setup();
    const r = await results();
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

  it("CSV for an English reader by default: ',' and '.', rounded (percent and pp to 0.1, p to 4 decimals), units in the headers", async () => {
    const { viewer, results, base } = await setup();
    const table = (await results()).table.rows;
    const res = await viewer.get(`${base}/results.csv`).expect(200);
    expect(res.headers["content-type"]).toBe("text/csv; charset=utf-8");
    expect(res.headers["content-disposition"]).toMatch(/^attachment; filename="?study-\d+-results-excel-en\.csv"?$/);
    const rows = expectRowsMatch(res.text, table, EXCEL_EN);
    expectNoLiveFormula(rows.flat());
    expect(rows[0]).toContain("Lift, pp");
    expect(rows[0]).toContain("Pre: share aware, %");
    // The verdict interval in percentage points to 0.1, as the page prints it.
    const lower = rows[0]!.indexOf(EXCEL_EN.header("verdictLower"));
    table.forEach((row, k) => {
      const cell = rows[k + 1]![lower]!;
      expect(cell).toMatch(/^-?\d+(\.\d)?$/);
      expect(Math.abs(Number(cell) - row.verdictInterval.lower * 100)).toBeLessThanOrEqual(0.05 + 1e-9);
    });
  });

  it("CSV for a Russian reader by default: ';' and a decimal comma, Russian headers with units; the same rounded numbers", async () => {
    const { viewer, results, base } = await setup();
    const res = await viewer.get(`${base}/results.csv?lang=ru`).expect(200);
    expect(res.headers["content-disposition"]).toMatch(/study-\d+-results-excel-ru\.csv/);
    const rows = expectRowsMatch(res.text, (await results({}, "ru")).table.rows, EXCEL_RU);
    expectNoLiveFormula(rows.flat());
    expect(rows[0]![0]).toBe(RU.metric);
    expect(rows[0]).toContain("Прирост, п. п.");
    expect(res.text).toContain("Подписчики");
    // Shares are percentages with a decimal comma: no decimal point anywhere in a number.
    const share = rows[0]!.indexOf(EXCEL_RU.header("preShare"));
    expect(rows.slice(1).every((r) => /^\d+(,\d)?$/.test(r[share]!))).toBe(true);
    expect(rows.slice(1).some((r) => r[share]!.includes(","))).toBe(true);
    // A fall stays a number: a minus and a comma, not an apostrophe.
    const lift = rows[0]!.indexOf(EXCEL_RU.header("lift"));
    expect(rows.slice(1).some((r) => /^-\d+(,\d)?$/.test(r[lift]!))).toBe(true);
    // The same figures as the English file, only written differently.
    const en = parseCsv(withoutBom((await viewer.get(`${base}/results.csv?lang=en`).expect(200)).text), ",");
    const enShare = en[0]!.indexOf(EXCEL_EN.header("preShare"));
    expect(rows.slice(1).map((r) => r[share]!.replace(",", "."))).toEqual(en.slice(1).map((r) => r[enShare]));
  });

  it("CSV dialects are selectable whatever the language (?format=excel-ru|excel-en|raw), each with its own file name", async () => {
    const { viewer, results, base } = await setup();
    const names = new Set<string>();
    for (const [format, dialect] of [["excel-ru", { ...EXCEL_RU, header: excelHeader(EN, messages.en.exports.excelColumns) }], ["excel-en", EXCEL_EN], ["raw", RAW_EN]] as const) {
      const res = await viewer.get(`${base}/results.csv?format=${format}`).expect(200);
      expect(res.headers["content-disposition"]).toContain(`-results-${format}.csv`);
      names.add(String(res.headers["content-disposition"]));
      expectRowsMatch(res.text, (await results()).table.rows, dialect);
    }
    expect(names.size).toBe(3);
    // A Russian reader can ask for the English Excel dialect: commas and points, Russian headers.
    const ru = await viewer.get(`${base}/results.csv?lang=ru&format=excel-en`).expect(200);
    expectRowsMatch(ru.text, (await results({}, "ru")).table.rows, { ...EXCEL_EN, header: excelHeader(RU, messages.ru.exports.excelColumns) });
  });

  it("raw CSV keeps full precision: the numbers of liftTable exactly, fractions 0..1", async () => {
    const { viewer, results, base } = await setup();
    const table = (await results()).table.rows;
    const res = await viewer.get(`${base}/results.csv?format=raw`).expect(200);
    const rows = expectRowsMatch(res.text, table, RAW_EN);
    const lower = rows[0]!.indexOf(EN.verdictLower);
    expect(rows.slice(1).every((r) => r[lower] === "" || /^-?0\.\d{10,}$/.test(r[lower]!))).toBe(true);
  });

  it("the API answers the raw file unless a format is asked for (its callers are programs), whatever the language", async () => {
    const { api, viewer, base, fixture } = await setup();
    const raw = (await viewer.get(`${base}/results.csv?format=raw`).expect(200)).text;
    const id = fixture.study.id;
    const plain = await api(`/api/studies/${id}/results.csv`).expect(200);
    expect(plain.text).toBe(raw);
    expect(plain.headers["content-disposition"]).toContain("-results-raw.csv");
    const ru = await api(`/api/studies/${id}/responses.csv`).set("Accept-Language", "ru").expect(200);
    expect(ru.headers["content-disposition"]).toContain("-responses-raw.csv");
    const excel = await api(`/api/studies/${id}/results.csv?format=excel-ru`).expect(200);
    expect(excel.headers["content-disposition"]).toContain("-results-excel-ru.csv");
    expect(excel.text).toBe((await viewer.get(`${base}/results.csv?format=excel-ru`).expect(200)).text);
  });

  it("old links keep working: delimiter=comma is the raw file, delimiter=semicolon the Russian Excel one", async () => {
    const { viewer, base } = await setup();
    const raw = await viewer.get(`${base}/results.csv?format=raw`).expect(200);
    const comma = await viewer.get(`${base}/results.csv?delimiter=comma`).expect(200);
    expect(comma.text).toBe(raw.text);
    expect(comma.headers["content-disposition"]).toContain("-results-raw.csv");
    const excelRu = await viewer.get(`${base}/results.csv?format=excel-ru`).expect(200);
    const semi = await viewer.get(`${base}/results.csv?delimiter=semicolon`).expect(200);
    expect(semi.text).toBe(excelRu.text);
    expect(semi.headers["content-disposition"]).toContain("-results-excel-ru.csv");
    // format wins over the old parameter.
    const both = await viewer.get(`${base}/results.csv?delimiter=semicolon&format=raw`).expect(200);
    expect(both.text).toBe(raw.text);
  });

  it("CSV follows the query: waves, confidence, adjustment, flagged", async () => {
    const { viewer, results, base, fixture } = await setup();
    const query = { pre: String(fixture.pre.id), post: String(fixture.post.id), confidence: "0.9", adjustment: "bh", flagged: "0" };
    const expected = (await results(query)).table;
    expect(expected.confidenceLevel).toBe(0.9);
    expect(expected.rows.find((r) => r.id === "aided_awareness:active_unsubscribed")!.post.n).toBe(COUNTS.active_unsubscribed!.post.n);
    const raw = await viewer.get(`${base}/results.csv?${new URLSearchParams({ ...query, format: "raw" })}`).expect(200);
    expectRowsMatch(raw.text, expected.rows, RAW_EN);
    const excel = await viewer.get(`${base}/results.csv?${new URLSearchParams({ ...query, format: "excel-ru" })}`).expect(200);
    expectRowsMatch(excel.text, expected.rows, { ...EXCEL_RU, header: EXCEL_EN.header });
  });

  it("neutralises formula payloads in labels and keeps negative numbers numeric", async () => {
    const { viewer, base } = await setup();
    for (const [format, delimiter] of [["excel-en", ","], ["excel-ru", ";"], ["raw", ","]] as const) {
      const rows = parseCsv(withoutBom((await viewer.get(`${base}/results.csv?format=${format}`).expect(200)).text), delimiter);
      const cells = rows.flat();
      expect(cells).toContain(`'${FORMULAS[1]} Whose slogan is it?`); // a metric label from the question text
      expect(cells).toContain("'+1 active");
      expect(cells).toContain(`'-1 inactive ${XSS}`);
      const lift = rows[0]!.indexOf(format === "raw" ? EN.lift : messages.en.exports.excelColumns.lift);
      expect(rows.slice(1).some((r) => r[lift]!.startsWith("-") && isNumber(r[lift]!))).toBe(true);
      // Only numbers may start with a minus unneutralised.
      expect(cells.filter((c) => FORMULA_START.test(c) && !isNumber(c))).toEqual([]);
    }
  });

  it("XLSX: one sheet per metric with the same numbers (as numbers), and a Methods sheet", async () => {
    const { viewer, results, base } = await setup();
    const r = await results();
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
    const r = await results();
    expect(body["table"]).toEqual(JSON.parse(JSON.stringify(r.table)));
    expect(body["study"]).toMatchObject({ id: fixture.study.id, name: fixture.study.name, brand: "@SUM(1) Акме" });
    expect(body["waves"]["pre"]).toMatchObject({ id: fixture.pre.id, kind: "pre", label: "Pre «до»" });
    expect(body["waves"]["post"]).toMatchObject({ id: fixture.post.id, kind: "post" });
    expect(body["options"]).toEqual({ confidence: 0.95, adjustment: "holm", flagged: true, weighted: false });
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

describe("the results page's export links", () => {
  it("lists each CSV dialect with a plain label in the reader's language, the reader's default first, and every link downloads", async () => {
    const { viewer, base } = await setup();
    for (const locale of ["ru", "en"] as const) {
      const html = (await viewer.get(`${base}/results?lang=${locale}`).expect(200)).text;
      const list = /<ul class="actions exports">([\s\S]*?)<\/ul>/.exec(html)![1]!;
      const links = [...list.matchAll(/<a href="([^"]+)">([^<]+)<\/a>/g)].map((m) => ({ href: m[1]!.replace(/&amp;/g, "&"), label: m[2]! }));
      const labels = messages[locale].exports.links;
      const csv = links.filter((l) => l.href.includes("/results.csv?"));
      expect(csv.map((l) => new URL(l.href, "http://x").searchParams.get("format"))).toEqual(
        locale === "ru" ? ["excel-ru", "excel-en", "raw"] : ["excel-en", "excel-ru", "raw"],
      );
      expect(csv.map((l) => l.label)).toEqual(csv.map((l) => labels.results_csv[new URL(l.href, "http://x").searchParams.get("format") as "raw"]));
      expect(links.filter((l) => l.href.includes("/responses.csv?")).map((l) => l.label)).toEqual(
        (locale === "ru" ? (["excel-ru", "excel-en", "raw"] as const) : (["excel-en", "excel-ru", "raw"] as const)).map((f) => labels.responses_csv[f]),
      );
      // Labels, not file names.
      expect(links.every((l) => !/\.(csv|xlsx|json|R)$/.test(l.label))).toBe(true);
      if (locale === "ru") {
        for (const l of links) {
          const res = await viewer.get(l.href).buffer(true).parse(binary).expect(200);
          expect(res.headers["content-disposition"], l.href).toContain("attachment");
        }
      }
    }
  });
});

describe("export routes: query validation and studies without waves", () => {
  it("answers 422 validation_failed to bad parameters (API) and a 422 page (web)", async () => {
    const { viewer, api, fixture, base } = await setup();
    const id = fixture.study.id;
    for (const query of ["confidence=0.5", "adjustment=none", "pre=abc", "delimiter=tab", "format=tsv", "format=excel", "pre=999999", `pre=${fixture.pre.id}&post=${fixture.pre.id}`]) {
      const res = await api(`/api/studies/${id}/results.csv?${query}`).expect(422);
      expect(res.body.error.code, query).toBe("validation_failed");
    }
    const details = (await api(`/api/studies/${id}/results?pre=999999`).expect(422)).body.error.details;
    expect(details).toEqual({ pre: "is not a wave of this study" });
    await viewer.get(`${base}/results.xlsx?confidence=2`).expect(422);
    await api(`/api/studies/${id}/responses.csv?delimiter=pipe`).expect(422);
    const format = (await api(`/api/studies/${id}/responses.csv?format=excel-de`).expect(422)).body.error.details;
    expect(format).toEqual({ format: "must be excel-ru, excel-en or raw" });
  });

  it("answers 409 no_waves for a study without two waves", async () => {
    const { app, db, viewerToken } = await exportsApp();
    // One wave only: nothing to compare.
    const empty = await createStudyFromDefinition(db, brandLiftDefinition(), null);
    await createWave(db, empty.id, "pre", "Pre");
    const res = await request(app).get(`/api/studies/${empty.id}/results`).set("Authorization", `Bearer ${viewerToken}`).expect(409);
    expect(res.body.error.code).toBe("no_waves");
    const agent = await loggedInAgent(app, "viewer@example.test");
    const page = await agent.get(`/studies/${empty.id}/results.R`).set("Accept-Language", "en").expect(409);
    expect(page.text).toContain("Nothing to export yet");
    // Raw responses need no waves to compare: an empty export with the header row (Russian by default: ';').
    const raw = await agent.get(`/studies/${empty.id}/responses.csv?lang=ru`).expect(200);
    const rows = parseCsv(withoutBom(raw.text), ";");
    expect(rows.length).toBe(1);
    expect(rows[0]!.slice(0, 2)).toEqual(["response_id", "wave_id"]);
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

    const entries = await db
      .select()
      .from(auditLog)
      .where(and(like(auditLog.action, "study.export.%"), eq(auditLog.entityId, String(fixture.study.id))));
    const kinds = entries.map((e) => `${e.action} ${String(e.details?.["via"])}`).sort();
    const expected = ["results_csv", "results_xlsx", "results_json", "results_r", "responses_csv", "responses_xlsx", "codebook_csv"].flatMap((k) => [
      `study.export.${k} api`,
      `study.export.${k} web`,
    ]);
    expect(kinds).toEqual([...expected, "study.export.results_json api"].sort());
    const csv = entries.find((e) => e.action === "study.export.results_csv")!;
    expect(csv.details).toMatchObject({ pre: fixture.pre.id, post: fixture.post.id, confidence: 0.95, adjustment: "holm", flagged: true, format: "excel-en" });
    expect(csv.userId).not.toBeNull();
  });

  it("API /results equals the page's numbers for the same parameters", async () => {
    const { api, results, fixture } = await setup();
    const query = { confidence: "0.99", adjustment: "bonferroni" };
    const body = (await api(`/api/studies/${fixture.study.id}/results?${new URLSearchParams(query)}`).expect(200)).body as { table: StudyResults["table"] };
    expect(body.table).toEqual(JSON.parse(JSON.stringify((await results(query)).table)));
  });
});
