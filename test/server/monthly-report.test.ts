import ExcelJS from "exceljs";
import request from "supertest";
import { describe, expect, it } from "vitest";
import { insertShareLink } from "../../db/queries/share-links.js";
import { insertTeam } from "../../db/queries/teams.js";
import type { Wave } from "../../db/schema.js";
import { sheetName } from "../../server/exports/results-xlsx.js";
import { messages, translator } from "../../server/i18n/index.js";
import { configureResultsSnapshots, refreshesSettled } from "../../server/results-snapshots/refresh.js";
import type { KpiResult } from "../../server/services/tracking.js";
import type { TrendChange, Trends } from "../../stats/index.js";
import { seedStudy, type Json } from "../fixtures/tracking.js";
import { addUser, freshApp, loggedInAgent } from "../helpers.js";
import { cellText, readerText, unescapeHtml } from "../support/page-text.js";
import { expectedChange, expectSameTrends } from "../support/trend-page.js";

/**
 * The monthly report of a tracking study (issue 17 item 4): every number its page and JSON show is
 * the results JSON's trends/KPIs (one truth per number) over a grid of studies × months ×
 * languages × settings; a month shows no later wave; the JSON's shape; the 4xx of a baseline,
 * a wave of another study and another team's study; share links with their verbatims rule; the
 * XLSX's sheets; the list by month on the study and results pages.
 */

const SLOW = 360_000;
const LOCALES = ["en", "ru"] as const;
/** The results JSON's trends cut to the waves up to the month (what the monthly report must show). */
function trendsUpTo(trends: Trends, waves: readonly Json[], month: Json): Trends {
  const shown = new Set(waves.filter((w) => waves.indexOf(w) <= waves.indexOf(month)).map((w) => String(w["id"])));
  const keep = trends.waves.filter((w) => shown.has(w));
  return { ...trends, waves: keep, series: trends.series.map((s) => ({ ...s, points: s.points.filter((p) => shown.has(p.wave)) })) };
}

function kpisDueBy(kpis: KpiResult[], waves: readonly Json[], month: Json): KpiResult[] {
  const index = new Map(waves.map((w, i) => [w["id"] as number, i]));
  return kpis.filter((k) => k.waveId !== null && (index.get(k.waveId) ?? Infinity) <= index.get(month["id"] as number)!);
}

/** The rows of the awareness answer's table: metric, segment, the two changes with their verdicts. */
function shownAwareness(html: string) {
  const table = /<table class="results compact awareness-changes">[\s\S]*?<\/table>/.exec(html)?.[0] ?? "";
  return [...table.matchAll(/<tr class="awareness-row">([\s\S]*?)<\/tr>/g)].map((m) => ({
    vsPrevious: [cellText(m[1]!, "vs-previous"), cellText(m[1]!, "(?:verdict )?vs-previous-verdict")],
    vsBaseline: [cellText(m[1]!, "vs-baseline"), cellText(m[1]!, "(?:verdict )?vs-baseline-verdict")],
  }));
}

function kpiRows(html: string) {
  const section = /<section class="kpis"[\s\S]*?<\/section>/.exec(html)?.[0] ?? "";
  return [...section.matchAll(/<tr class="kpi-[a-z_]+">([\s\S]*?)<\/tr>/g)].map((m) => [...m[1]!.matchAll(/<t[hd][^>]*>([\s\S]*?)<\/t[hd]>/g)].map((c) => readerText(c[1]!)));
}

async function trackingWorld(seeds: number[]) {
  const { app, db } = freshApp();
  const studies = [];
  for (const seed of seeds) {
    const seeded = await seedStudy(app, db, seed, { months: true });
    const agent = await loggedInAgent(app, `r${seed}@example.test`);
    studies.push({ seed, ...seeded, agent });
  }
  return { app, db, studies };
}

describe("the monthly report's numbers are the results JSON's", () => {
  it("in the page, the share link and the JSON, over studies × months × languages × settings", { timeout: SLOW }, async () => {
    const { app, db, studies } = await trackingWorld([3, 7]);
    for (const { studyId, waves, agent, seed } of studies) {
      const user = (await addUser(db, "viewer", `v${seed}@example.test`)).id;
      const share = await insertShareLink(db, { studyId, token: `monthly-share-token-${seed}-abcdef`, createdBy: user, expiresAt: null, showVerbatims: true });
      const settings: Array<Record<string, string>> = [{ confidence: "0.95", adjustment: "holm" }, { confidence: "0.9", adjustment: "bh", flagged: "0" }];
      for (const setting of settings) {
        for (const locale of LOCALES) {
          const query = new URLSearchParams({ ...setting, lang: locale }).toString();
          const results = (await agent.get(`/studies/${studyId}/results.json?${query}`).expect(200)).body as Json;
          const allWaves = results["waves"]["all"] as Json[];
          const resultsPage = (await agent.get(`/studies/${studyId}/results?${query}`).expect(200)).text;
          const allKpiRows = kpiRows(resultsPage);
          for (const month of waves.slice(1)) {
            const monthJson = allWaves.find((w) => w["id"] === month.id)!;
            const where = `study ${seed} month ${month.label} ${query}`;
            const trends = trendsUpTo(results["trends"] as Trends, allWaves, monthJson);
            const kpis = kpisDueBy(results["kpis"] as KpiResult[], allWaves, monthJson);

            const json = (await agent.get(`/studies/${studyId}/months/${month.id}.json?${query}`).expect(200)).body as Json;
            expect(json["trends"], where).toEqual(trends);
            expect(json["kpis"], where).toEqual(kpis);
            expect(json["options"], where).toEqual(results["options"]);
            const changes = json["answers"]["awareness"]["changes"] as Json[];
            expect(changes.length, where).toBeGreaterThan(0);
            for (const c of changes) {
              const point = trends.series.find((s) => s.metric === c["metric"] && s.segment === c["segment"])!.points.find((p) => p.wave === String(month.id))!;
              expect([c["vsPrevious"], c["vsBaseline"]], where).toEqual([point.vsPrevious, point.vsBaseline]);
            }
            expect(json["answers"]["awareness"]["kpis"], where).toEqual(kpis);

            for (const [name, html] of [
              ["page", (await agent.get(`/studies/${studyId}/months/${month.id}?${query}`).expect(200)).text],
              ["share", (await request(app).get(`/r/${share.token}/months/${month.id}?${query}`).expect(200)).text],
            ] as const) {
              expectSameTrends(html, trends, locale, `${name} ${where}`);
              // The awareness table: the trends' changes of the month, row by row.
              const shown = shownAwareness(html);
              expect(shown, `${name} ${where}`).toHaveLength(changes.length);
              changes.forEach((c, i) => {
                const vsPrevious = expectedChange(c["vsPrevious"] as TrendChange | null, locale);
                const vsBaseline = expectedChange(c["vsBaseline"] as TrendChange | null, locale);
                expect(shown[i], `${name} ${where}`).toEqual({ vsPrevious, vsBaseline });
              });
              // The KPI rows are the results page's rows of the KPIs due by the month.
              const due = (results["kpis"] as KpiResult[]).map((k, i) => (kpis.includes(k) || kpis.some((d) => JSON.stringify(d) === JSON.stringify(k)) ? i : -1)).filter((i) => i >= 0);
              expect(kpiRows(html), `${name} ${where}`).toEqual(due.map((i) => allKpiRows[i]));
            }
          }
        }
      }
    }
  });
});

describe("a month's report shows no later wave", () => {
  it("neither its label nor its id, in the page, the share link or the JSON", { timeout: SLOW }, async () => {
    const { app, db } = freshApp();
    const labels = ["Исходная, декабрь 2026", "Январь 2027", "Февраль 2027", "Март 2027", "Апрель 2027"];
    const kpis = [
      { metric: "aided_awareness", segment: "subscribers", lift: 0.05, by: "Март 2027" },
      { metric: "aided_awareness", segment: "inactive", level: 0.4, by: "Январь 2027" },
    ];
    const { studyId, waves } = await seedStudy(app, db, 11, { months: true, labels, kpis });
    const agent = await loggedInAgent(app, "r11@example.test");
    const user = (await addUser(db, "viewer")).id;
    const share = await insertShareLink(db, { studyId, token: "monthly-later-waves-token-abc", createdBy: user, expiresAt: null, showVerbatims: true });
    for (const [i, month] of waves.entries()) {
      if (i === 0) continue;
      const later = waves.slice(i + 1);
      for (const locale of LOCALES) {
        const pages = [
          (await agent.get(`/studies/${studyId}/months/${month.id}?lang=${locale}`).expect(200)).text,
          (await request(app).get(`/r/${share.token}/months/${month.id}?lang=${locale}`).expect(200)).text,
        ];
        for (const html of pages) {
          expect(readerText(html)).toContain(month.label);
          for (const w of later) {
            expect(readerText(html), `${month.label} shows ${w.label}`).not.toContain(w.label);
            expect(html).not.toContain(`data-wave="${w.id}"`);
          }
          // Trend rows: exactly the waves up to the month.
          expect([...new Set([...html.matchAll(/<tr data-wave="(\d+)">/g)].map((m) => Number(m[1])))]).toEqual(waves.slice(0, i + 1).map((w) => w.id));
        }
      }
      const json = (await agent.get(`/studies/${studyId}/months/${month.id}.json`).expect(200)).body as Json;
      const raw = JSON.stringify(json);
      for (const w of later) {
        expect(raw).not.toContain(w.label);
        expect(raw).not.toContain(`"${w.id}"`);
        expect(raw).not.toMatch(new RegExp(`"(waveId|id)":${w.id}[,}]`));
      }
      expect((json["waves"] as Json[]).map((w) => w["id"])).toEqual(waves.slice(0, i + 1).map((w) => w.id));
      // The audience charts and counts end with the month.
      expect(json["answers"]["audience"]["sinceBaseline"]["period"]["to"]).toBe(month.closedAt!.toISOString().slice(0, 10));
    }
  });
});

describe("the monthly JSON", () => {
  it("has English keys, fractions and the three answers' shapes", { timeout: SLOW }, async () => {
    const { studies } = await trackingWorld([7]);
    const { studyId, waves, agent } = studies[0]!;
    const res = await agent.get(`/studies/${studyId}/months/${waves[2]!.id}.json?lang=ru`).expect(200);
    expect(res.headers["content-disposition"]).toContain(`study-${studyId}-month-${waves[2]!.id}.json`);
    const json = res.body as Json;
    expect(Object.keys(json)).toEqual(["format", "generatedAt", "units", "study", "month", "previous", "baseline", "waves", "options", "segments", "metrics", "answers", "trends", "kpis", "work", "freshness"]);
    expect(json["format"]).toBe("brand-lift/monthly@1");
    expect([json["month"]["id"], json["previous"]["id"], json["baseline"]["id"]]).toEqual([waves[2]!.id, waves[1]!.id, waves[0]!.id]);
    const answers = json["answers"];
    expect(Object.keys(answers)).toEqual(["audience", "awareness", "feedback"]);
    for (const a of Object.values(answers) as Json[]) expect(["yes", "no", "not_yet"]).toContain(a["answer"]);
    expect(Object.keys(answers["audience"])).toEqual(["answer", "grew", "shrank", "month", "sinceBaseline"]);
    // Subscribers and active non-subscribers grow in the fixture, the inactive audience stays.
    expect(answers["audience"]).toMatchObject({ answer: "yes", grew: ["subscribers", "active_unsubscribed"], shrank: [] });
    const growth = answers["audience"]["month"]["growth"] as Json[];
    expect(growth.find((g) => g["segment"] === "subscribers")).toMatchObject({ start: { count: 10_500 }, end: { count: 11_000 }, change: 500, percent: 500 / 10_500 });
    expect(answers["audience"]["sinceBaseline"]["growth"].find((g: Json) => g["segment"] === "subscribers")).toMatchObject({ start: { count: 10_000 }, end: { count: 11_000 }, percent: 0.1 });
    expect(Object.keys(answers["awareness"])).toEqual(["answer", "metrics", "changes", "kpis"]);
    expect(answers["awareness"]["metrics"]).toEqual(["aided_awareness"]);
    for (const c of answers["awareness"]["changes"] as Json[]) {
      expect(Object.keys(c)).toEqual(["metric", "segment", "role", "vsPrevious", "vsBaseline"]);
      for (const change of [c["vsPrevious"], c["vsBaseline"]]) {
        expect(Math.abs(change["change"]["estimate"])).toBeLessThanOrEqual(1);
        expect(["rise", "fall", "no_change", "not_enough_data"]).toContain(change["verdict"]);
      }
    }
    const feedback = answers["feedback"];
    expect(feedback).toMatchObject({ answer: "yes", questions: 1, answers: 102, threshold: 0.05 });
    // "fast delivery" grows by 20 pp among subscribers every month, "prices are too high" recedes.
    const shifts = feedback["shifts"] as Json[];
    const fast = shifts.find((s) => s["direction"] === "rose")!;
    expect(fast).toMatchObject({ question: "feedback", segment: "subscribers", label: "fast delivery", previous: { answers: 40, count: 16, share: 0.4 }, month: { answers: 40, count: 24, share: 0.6 } });
    expect(fast["change"]).toBeCloseTo(0.2, 12);
    expect(fast["examples"].length).toBeGreaterThan(0);
    expect(shifts.find((s) => s["direction"] === "fell")).toMatchObject({ segment: "subscribers", label: "prices are too high" });
    // Labels in the reader's language, keys in English.
    expect(json["segments"][0]).toEqual({ key: "subscribers", label: "Подписчики", role: "exposed" });
    expect(json["trends"]["waves"]).toEqual(waves.slice(0, 3).map((w) => String(w.id)));
  });
});

describe("a monthly report that does not exist", () => {
  it("is a 422 for the baseline and a 404 for a wave of another study, of no study, of another team or of a study with two waves, translated", { timeout: SLOW }, async () => {
    const { app, db, studies } = await trackingWorld([3, 7]);
    const [a, b] = [studies[0]!, studies[1]!];
    const short = await seedStudy(app, db, 5, { labels: ["Baseline", "Month 1"], kpis: [] });
    const shortAgent = await loggedInAgent(app, "r5@example.test");
    const en = messages.en.errors;
    const ru = messages.ru.errors;
    for (const suffix of ["", ".json", ".xlsx"]) {
      const baseline = await a.agent.get(`/studies/${a.studyId}/months/${a.waves[0]!.id}${suffix}?lang=en`).expect(422);
      expect(baseline.text).toContain(en.monthBaseline.title);
      const ruBaseline = await a.agent.get(`/studies/${a.studyId}/months/${a.waves[0]!.id}${suffix}?lang=ru`).expect(422);
      expect(unescapeHtml(ruBaseline.text)).toContain(ru.monthBaseline.title);
      // b's wave under a's study, and a wave that does not exist.
      expect((await a.agent.get(`/studies/${a.studyId}/months/${b.waves[2]!.id}${suffix}?lang=en`).expect(404)).text).toContain(en.monthNotInStudy.title);
      expect((await a.agent.get(`/studies/${a.studyId}/months/999999${suffix}?lang=en`).expect(404)).text).toContain(en.monthNotInStudy.title);
      expect((await a.agent.get(`/studies/${a.studyId}/months/x1${suffix}?lang=en`).expect(404)).text).toContain(en.monthNotInStudy.title);
      expect(unescapeHtml((await shortAgent.get(`/studies/${short.studyId}/months/${short.waves[1]!.id}${suffix}?lang=ru`).expect(404)).text)).toContain(ru.monthNotTracking.title);
    }
    // Another team's study: the same 404 as a study that does not exist.
    const other = await insertTeam(db, "Other brand");
    await addUser(db, "researcher", "outsider@example.test", other.id);
    const outsiderAgent = await loggedInAgent(app, "outsider@example.test");
    for (const suffix of ["", ".json", ".xlsx"]) {
      const res = await outsiderAgent.get(`/studies/${a.studyId}/months/${a.waves[2]!.id}${suffix}`).set("Accept-Language", "en").expect(404);
      expect(res.text).toContain(en.notFound.title);
      expect(res.text).not.toContain("Spring campaign");
    }
    // A share link reaches only its own study's months.
    const share = await insertShareLink(db, { studyId: a.studyId, token: "monthly-share-404-token-abcdef", createdBy: (await addUser(db, "viewer")).id, expiresAt: null, showVerbatims: false });
    expect((await request(app).get(`/r/${share.token}/months/${b.waves[2]!.id}?lang=en`).expect(404)).text).toContain(en.monthNotInStudy.title);
    expect((await request(app).get(`/r/${share.token}/months/${a.waves[0]!.id}?lang=en`).expect(422)).text).toContain(en.monthBaseline.title);
    await request(app).get(`/r/not-a-real-share-token-000000/months/${a.waves[2]!.id}`).expect(404);
    // Anonymous visitors of the team's route go to the login page.
    expect((await request(app).get(`/studies/${a.studyId}/months/${a.waves[2]!.id}`).expect(303)).headers["location"]).toMatch(/^\/login\?next=/);
  });
});

describe("the monthly report through a share link", () => {
  it("follows the link's verbatims rule: quotes only when the link shows verbatims; no team links", { timeout: SLOW }, async () => {
    const { app, db, studies } = await trackingWorld([7]);
    const { studyId, waves, agent } = studies[0]!;
    const user = (await addUser(db, "viewer")).id;
    const withQuotes = await insertShareLink(db, { studyId, token: "monthly-with-verbatims-token-1", createdBy: user, expiresAt: null, showVerbatims: true });
    const without = await insertShareLink(db, { studyId, token: "monthly-sans-verbatims-token-1", createdBy: user, expiresAt: null, showVerbatims: false });
    const quote = "Fast delivery, friendly couriers";
    const team = (await agent.get(`/studies/${studyId}/months/${waves[2]!.id}?lang=en`).expect(200)).text;
    expect(team).toContain(quote);
    const shown = await request(app).get(`/r/${withQuotes.token}/months/${waves[2]!.id}?lang=en`).expect(200);
    expect(shown.text).toContain(quote);
    expect(shown.headers["cache-control"]).toBe("no-store");
    expect(shown.headers["x-robots-tag"]).toBe("noindex");
    const hidden = (await request(app).get(`/r/${without.token}/months/${waves[2]!.id}?lang=en`).expect(200)).text;
    expect(hidden).not.toContain(quote);
    expect(hidden).not.toContain("Prices are too high for me");
    expect(hidden).toContain(messages.en.safety.share.verbatimsHidden);
    // The themes keep their labels and counts.
    expect(readerText(hidden)).toContain("fast delivery");
    for (const html of [shown.text, hidden]) {
      expect(html).not.toContain(`/studies/${studyId}`);
      expect(html).not.toContain(".xlsx");
    }
    // The shared main report lists the months under the link.
    const report = (await request(app).get(`/r/${without.token}?lang=en`).expect(200)).text;
    for (const w of waves.slice(1)) expect(report).toContain(`href="/r/${without.token}/months/${w.id}"`);
    expect(report).not.toContain(`/studies/${studyId}/months`);
  });
});

describe("the monthly XLSX", () => {
  it("has a sheet per metric with the series up to the month, the JSON's numbers, and a Methods sheet", { timeout: SLOW }, async () => {
    const { studies } = await trackingWorld([7]);
    const { studyId, waves, agent } = studies[0]!;
    for (const locale of LOCALES) {
      const month = waves[2]!;
      const json = (await agent.get(`/studies/${studyId}/months/${month.id}.json?lang=${locale}`).expect(200)).body as Json;
      const res = await agent
        .get(`/studies/${studyId}/months/${month.id}.xlsx?lang=${locale}`)
        .buffer(true)
        .parse((r, done) => {
          const chunks: Buffer[] = [];
          r.on("data", (c: Buffer) => chunks.push(c));
          r.on("end", () => done(null, Buffer.concat(chunks)));
        })
        .expect(200);
      expect(res.headers["content-type"]).toContain("spreadsheetml");
      const workbook = new ExcelJS.Workbook();
      await workbook.xlsx.load(res.body as Parameters<typeof workbook.xlsx.load>[0]);
      const metrics = json["metrics"] as Json[];
      const t = translator(locale);
      const taken = new Set([t("monthly.xlsx.methods").toLowerCase()]);
      expect(workbook.worksheets.map((s) => s.name)).toEqual([...metrics.map((m) => sheetName(m["label"] as string, taken)), t("monthly.xlsx.methods")]);
      const trends = json["trends"] as Trends;
      metrics.forEach((m, i) => {
        const sheet = workbook.worksheets[i]!;
        const rows = sheet.getSheetValues().slice(2) as unknown[][];
        const points = trends.series.filter((s) => s.metric === m["key"]).flatMap((s) => s.points);
        expect(rows).toHaveLength(points.length);
        rows.forEach((row, j) => {
          const p = points[j]!;
          // exceljs rows are 1-based: [, segment, wave, share, lower, upper, n, then per change: estimate, verdict interval, verdict, level]
          expect(row.slice(3, 7)).toEqual([p.share!.p, p.share!.lower, p.share!.upper, p.share!.n]);
          const change = (c: TrendChange | null) => (c ? [c.change.estimate, c.verdictInterval.lower, c.verdictInterval.upper, t(`verdict.labels.${c.verdict}`), c.verdictLevel] : [null, null, null, null, null]);
          expect(Array.from({ length: 10 }, (_, k) => row[7 + k] ?? null)).toEqual([...change(p.vsPrevious), ...change(p.vsBaseline)]);
        });
        const waveLabels = rows.map((r) => String(r[2]));
        for (const later of waves.slice(3)) expect(waveLabels.some((l) => l.includes(later.label))).toBe(false);
      });
    }
  });
});

describe("the reports by month", () => {
  it("are listed with their labels and dates on the study page and near the trends on the results page; not for a two-wave study", { timeout: SLOW }, async () => {
    const { app, db, studies } = await trackingWorld([7]);
    const { studyId, waves, agent } = studies[0]!;
    for (const path of [`/studies/${studyId}?lang=en`, `/studies/${studyId}/results?lang=en`]) {
      const html = (await agent.get(path).expect(200)).text;
      const section = /<section class="monthly-list"[\s\S]*?<\/section>/.exec(html)?.[0] ?? "";
      expect(readerText(section)).toContain("Monthly reports");
      const links = [...section.matchAll(/<a href="([^"]+)">([^<]+)<\/a> <span class="meta">([^<]+)<\/span>/g)].map((m) => [m[1], m[2], unescapeHtml(m[3]!)]);
      expect(links).toEqual(waves.slice(1).map((w: Wave, i) => [`/studies/${studyId}/months/${w.id}`, w.label, `${i + 2 === 2 ? "1 Feb" : i + 2 === 3 ? "1 Mar" : "1 Apr"} 2027 – 10 ${["Feb", "Mar", "Apr"][i]} 2027`]));
    }
    const results = (await agent.get(`/studies/${studyId}/results?lang=en`).expect(200)).text;
    expect(results.indexOf('id="trends"')).toBeLessThan(results.indexOf('id="months"'));
    const short = await seedStudy(app, db, 5, { labels: ["Baseline", "Month 1"], kpis: [] });
    const other = await loggedInAgent(app, "r5@example.test");
    expect((await other.get(`/studies/${short.studyId}?lang=en`).expect(200)).text).not.toContain('id="months"');
  });
});

describe("while a large study's results are computed", () => {
  it("the monthly page says so and reloads, as the results page does; its files answer 503 with Retry-After", { timeout: SLOW }, async () => {
    const { app, db } = freshApp();
    // The background computation waits for the gate, so every request before it opens sees "computing".
    let open = () => {};
    const gate = new Promise<void>((resolve) => (open = resolve));
    configureResultsSnapshots(db, { syncLimit: 0, beforeRefresh: () => gate });
    const { studyId, waves } = await seedStudy(app, db, 7, { months: true });
    const agent = await loggedInAgent(app, "r7@example.test");
    const page = await agent.get(`/studies/${studyId}/months/${waves[1]!.id}?lang=en`).expect(200);
    expect(page.headers["refresh"]).toBe("5");
    expect(page.text).toContain(messages.en.freshness.computingTitle);
    const file = await agent.get(`/studies/${studyId}/months/${waves[1]!.id}.json?lang=en`).expect(503);
    expect(file.headers["retry-after"]).toBe("5");
    open();
    await refreshesSettled(db);
    const ready = await agent.get(`/studies/${studyId}/months/${waves[1]!.id}?lang=en`).expect(200);
    expect(ready.text).toContain('id="answer-audience"');
    // When, not "from N responses": that count is of the results' compared pair; the footnote gives the month's bases.
    expect(ready.text).toMatch(/<p class="freshness" id="freshness" role="status" data-current="true">Computed [^<]*\.<\/p>/);
    expect(ready.text).not.toMatch(/id="freshness"[^>]*>[^<]*responses/);
  });
});

describe("the work of the month", () => {
  it("lists the notes of the month's period only, and its costs per lifted user as the results JSON has them", { timeout: SLOW }, async () => {
    const { app, db } = freshApp();
    const { studyId, waves, token } = await seedStudy(app, db, 7, { months: true });
    const note = (wave: Wave, body: object) => request(app).post(`/api/waves/${wave.id}/notes`).set("Authorization", `Bearer ${token}`).send(body).expect(201);
    await note(waves[1]!, { kind: "campaign", text: "Work note one" });
    await note(waves[2]!, { kind: "spend", text: "Work note two", amount: 120_000, currency: "RUB" });
    await note(waves[3]!, { kind: "post", text: "Work note three" });
    const agent = await loggedInAgent(app, "r7@example.test");
    const results = (await agent.get(`/studies/${studyId}/results.json`).expect(200)).body as Json;
    for (const [i, month] of waves.entries()) {
      if (i === 0) continue;
      const html = (await agent.get(`/studies/${studyId}/months/${month.id}?lang=en`).expect(200)).text;
      const work = /<section class="month-work"[\s\S]*?<\/section>/.exec(html)![0];
      const json = (await agent.get(`/studies/${studyId}/months/${month.id}.json`).expect(200)).body as Json;
      const own = ["one", "two", "three"][i - 1]!;
      expect(readerText(work)).toContain(`Work note ${own}`);
      for (const other of ["one", "two", "three"].filter((o) => o !== own)) expect(readerText(work)).not.toContain(`Work note ${other}`);
      expect((json["work"]["notes"] as Json[]).map((n) => n["text"])).toEqual([`Work note ${own}`]);
      // Costs: the results JSON's own entries for the period ending at the month, where it has spend.
      const costs = (results["costs"] as Json[]).filter((c) => c["waveId"] === month.id && c["spend"] !== null);
      expect(json["work"]["costs"]).toEqual(costs);
      expect(costs.length > 0).toBe(i === 2);
      const cells = [...work.matchAll(/<td data-label="[^"]*" class="cost">([\s\S]*?)<\/td>/g)].map((m) => m[1]!);
      expect(cells).toHaveLength(costs.length);
      cells.forEach((cell, k) => {
        const amount = /<data class="cost-amount" value="([^"]+)">/.exec(cell)?.[1];
        const cost = costs[k]!["costPerLiftedUser"] as Json | null;
        expect(amount === undefined ? null : Number(amount)).toBe(cost === null ? null : cost["amount"]);
      });
    }
  });
});
