import request from "supertest";
import { beforeAll, describe, expect, it } from "vitest";
import type { Express } from "express";
import { createDemoStudy } from "../../server/demo/create.js";
import { DEFAULT_SEED } from "../../server/demo/generate.js";
import { messages } from "../../server/i18n/index.js";
import { createApiToken } from "../../server/services/accounts.js";
import type { LiftRow, LiftTable } from "../../stats/index.js";
import { parseCsv, withoutBom } from "../fixtures/exports/csv.js";
import { addUser, freshApp, loggedInAgent } from "../helpers.js";
import { unescapeHtml } from "../support/page-text.js";

/**
 * One truth per verdict: for the demo study under a grid of settings (confidence level ×
 * adjustment × language), every place that shows a row — the results page (table, sentence,
 * chart), the printable report, the CSV export, the JSON export and the API — shows the verdict
 * and the interval that liftTable computed for that row, and nothing else on the page contradicts
 * them. The JSON export is the reference; the API must equal it.
 */

const SETTINGS = [
  { confidence: "0.95", adjustment: "holm" },
  { confidence: "0.9", adjustment: "bh" },
  { confidence: "0.99", adjustment: "bonferroni" },
  { confidence: "0.8", adjustment: "holm" },
] as const;
const LOCALES = ["en", "ru"] as const;
const SLOW = 120_000;

let app: Express;
let studyId: number;
let token: string;
let viewer: Awaited<ReturnType<typeof loggedInAgent>>;

beforeAll(async () => {
  const made = freshApp();
  app = made.app;
  const user = await addUser(made.db, "viewer");
  token = (await createApiToken(made.db, user.id, "one-verdict")).token;
  studyId = (await createDemoStudy(made.db, { seed: DEFAULT_SEED, locale: "ru", actorId: null })).studyId;
  viewer = await loggedInAgent(app, "viewer@example.test");
}, SLOW);

/** The rows' verdicts in document order: table rows of the metric sections, their sentences, the lift chart's dots. */
function pageVerdicts(html: string) {
  const sections = [...html.matchAll(/<section class="metric"[\s\S]*?<\/section>/g)].map((m) => m[0]);
  return {
    table: sections.flatMap((s) => [...s.matchAll(/<tr class="verdict-([a-z_]+)/g)].map((m) => m[1]!)),
    sentences: sections.flatMap((s) => [...s.matchAll(/<li class="verdict-([a-z_]+)">([\s\S]*?)<\/li>/g)].map((m) => ({ verdict: m[1]!, text: m[2]! }))),
    intervals: sections.flatMap((s) => [...s.matchAll(/<span class="interval">([^<]*)<\/span>/g)].map((m) => m[1]!)),
    // The lift chart's wide layout (the narrow one for phones draws the same dots).
    dots: [...(/<figure class="chart lift-chart"[\s\S]*?<div class="chart-wide">([\s\S]*?)<\/div>/.exec(html)?.[1] ?? "").matchAll(/<circle [^>]*data-verdict="([a-z_]+)"/g)].map((m) => ({
      verdict: m[1]!,
      hollow: m[0].includes('fill="#fff"'),
    })),
    narrowDots: [...(/<div class="chart-narrow">([\s\S]*?)<\/div>/.exec(html.slice(html.indexOf('class="chart lift-chart"')))?.[1] ?? "").matchAll(/data-verdict="([a-z_]+)"/g)].map((m) => m[1]!),
  };
}

const isChange = (r: LiftRow) => r.verdict === "rise" || r.verdict === "fall";

describe("one verdict in every place", () => {
  for (const locale of LOCALES) {
    for (const setting of SETTINGS) {
      const query = new URLSearchParams({ ...setting, lang: locale }).toString();
      it(`agrees across page, report, CSV, JSON and API at ${setting.confidence}, ${setting.adjustment}, ${locale}`, { timeout: SLOW }, async () => {
        const json = (await viewer.get(`/studies/${studyId}/results.json?${query}`).expect(200)).body as { table: LiftTable };
        const rows = json.table.rows;
        expect(rows.length).toBeGreaterThan(10);
        const api = (await request(app).get(`/api/studies/${studyId}/results?${query}`).set("Authorization", `Bearer ${token}`).expect(200)).body as { table: LiftTable };
        expect(api.table.rows.map(({ id, verdict, verdictInterval, adjustedPValue }) => ({ id, verdict, verdictInterval, adjustedPValue }))).toEqual(
          rows.map(({ id, verdict, verdictInterval, adjustedPValue }) => ({ id, verdict, verdictInterval, adjustedPValue })),
        );

        // Within the reference itself: the interval excludes 0 exactly for a change; adjusted p agrees.
        for (const r of rows) {
          expect(isChange(r), `${r.id} interval`).toBe(r.verdictInterval.lower > 0 || r.verdictInterval.upper < 0);
          expect(isChange(r), `${r.id} adjusted p`).toBe(r.adjustedPValue < r.alpha);
          expect(r.liftedUsers === null || r.verdict === "rise", `${r.id} lifted users`).toBe(true);
          for (const ratio of [r.relativeLift, r.headroomLift]) {
            if (ratio !== null && r.measure === "lift") expect(ratio.lower > 0 || ratio.upper < 0, `${r.id} ratio`).toBe(isChange(r));
          }
        }

        for (const path of ["results", "report"]) {
          const html = (await viewer.get(`/studies/${studyId}/${path}?${query}`).expect(200)).text;
          const shown = pageVerdicts(html);
          expect(shown.table, `${path} table`).toEqual(rows.map((r) => r.verdict));
          expect(shown.sentences.map((s) => s.verdict), `${path} sentences`).toEqual(rows.map((r) => r.verdict));
          expect(shown.dots.map((d) => d.verdict), `${path} chart`).toEqual(rows.map((r) => r.verdict));
          expect(shown.dots.map((d) => !d.hollow), `${path} filled dots`).toEqual(rows.map(isChange));
          expect(shown.narrowDots, `${path} chart on phones`).toEqual(rows.map((r) => r.verdict));
          // The table's interval and the sentence's interval are the verdict interval, to 0.1 pp.
          shown.intervals.forEach((text, i) => {
            const [lower, upper] = [...unescape(text).matchAll(/[+\u2212-]?\d+[.,]\d/g)].map((m) => Number(m[0].replace("\u2212", "-").replace(",", ".")));
            expect(lower, `${path} ${rows[i]!.id} lower`).toBeCloseTo(rows[i]!.verdictInterval.lower * 100, 1);
            expect(upper, `${path} ${rows[i]!.id} upper`).toBeCloseTo(rows[i]!.verdictInterval.upper * 100, 1);
          });
          shown.sentences.forEach((s, i) => {
            const points = (v: number) => {
              const text = new Intl.NumberFormat(locale, { minimumFractionDigits: 1, maximumFractionDigits: 1, signDisplay: "exceptZero" }).format(v * 100);
              return text.replace(/-/g, "\u2212");
            };
            const r = rows[i]!;
            expect(unescapeHtml(s.text), `${path} ${r.id} sentence`).toContain(`${points(r.verdictInterval.lower)} ${locale === "ru" ? "до" : "to"} ${points(r.verdictInterval.upper)}`);
          });
        }

        const csvText = (await viewer.get(`/studies/${studyId}/results.csv?${query}&format=raw`).expect(200)).text;
        const [header, ...records] = parseCsv(withoutBom(csvText), ",");
        const columns = messages[locale].exports.columns;
        const at = (name: keyof typeof columns) => header!.indexOf(columns[name]);
        expect(records.map((c) => c[at("verdict")])).toEqual(rows.map((r) => messages[locale].verdict.labels[r.verdict]));
        records.forEach((c, i) => {
          expect(Number(c[at("verdictLower")]!.replace(",", "."))).toBeCloseTo(rows[i]!.verdictInterval.lower, 12);
          expect(Number(c[at("verdictUpper")]!.replace(",", "."))).toBeCloseTo(rows[i]!.verdictInterval.upper, 12);
          const lifted = c[at("liftedUsers")]!;
          expect(lifted === "", `${rows[i]!.id} lifted users in CSV`).toBe(rows[i]!.liftedUsers === null);
        });
      });
    }
  }
});
