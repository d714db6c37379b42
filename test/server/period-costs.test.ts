import ExcelJS from "exceljs";
import request from "supertest";
import { describe, expect, it } from "vitest";
import { setWaveSegment } from "../../db/queries/fieldwork.js";
import { listSegments } from "../../db/queries/studies.js";
import { kpis, waveNotes, type Wave } from "../../db/schema.js";
import { translator } from "../../server/i18n/index.js";
import { formatMoney } from "../../server/presenters/wave-notes.js";
import { createApiToken } from "../../server/services/accounts.js";
import { createWave } from "../../server/services/study-setup.js";
import type { PeriodCost } from "../../server/services/tracking.js";
import { binary } from "../fixtures/exports/harness.js";
import { insertResponseWithAnswers } from "../fixtures/responses.js";
import { brandLiftDefinition } from "../fixtures/surveys.js";
import type { Json } from "../fixtures/tracking.js";
import { addUser, csrfFrom, freshApp, loggedInAgent } from "../helpers.js";
import { sqlRows } from "../support/sql.js";
import { readerText } from "../support/page-text.js";

/**
 * Each period's cost per lifted user: the results JSON's `costs`, the trend tables of the results
 * page and the monthly workbook's cost columns from one computation (every cell of the page and
 * of the workbook is the JSON's, over a grid of spends,
 * audience sizes and languages), "not measurable" said in words rather than a negative or infinite
 * cost; and KPIs added and removed on the settings page.
 */

const SLOW = 180_000;

/** Aware of 60 per segment and wave: subscribers rise clearly into Month 1, the others barely move. */
const AWARE: Record<string, number[]> = { subscribers: [12, 36, 38], active_unsubscribed: [18, 18, 19], inactive: [15, 16, 30] };
const N = 60;

async function study() {
  const { app, db } = freshApp();
  const user = await addUser(db, "researcher");
  const token = (await createApiToken(db, user.id, "t")).token;
  const kpi = [{ metric: "aided_awareness", segment: "subscribers", level: 0.5, by: "Month 2" }];
  const created = (await request(app).post("/api/studies").set("Authorization", `Bearer ${token}`).send({ ...JSON.parse(JSON.stringify(brandLiftDefinition())), kpis: kpi }).expect(201)).body as Json;
  const studyId = created["id"] as number;
  const segments = await listSegments(db, studyId);
  const waves: Wave[] = [];
  for (const [i, label] of ["Baseline", "Month 1", "Month 2"].entries()) waves.push(await createWave(db, studyId, i === 0 ? "pre" : "post", label));
  for (const [k, wave] of waves.entries()) {
    for (const s of segments) {
      for (let i = 0; i < N; i++) {
        await insertResponseWithAnswers(db, studyId, { waveId: wave.id, segmentId: s.id, answers: { aided: i < AWARE[s.key]![k]! ? ["acme"] : ["none"], fav: 3, recall: "yes", feedback: "ok" } });
      }
    }
  }
  const agent = await loggedInAgent(app, user.email);
  const json = async (): Promise<Json> => (await request(app).get(`/api/studies/${studyId}/results.json`).set("Authorization", `Bearer ${token}`).expect(200)).body as Json;
  return { app, db, token, studyId, segments, waves, agent, json };
}

/** The cost cells of every trend table, by series then row: [wave id, cell text, amount or null]. */
function shownCosts(html: string) {
  const section = /<section class="trends"[\s\S]*?<\/section>/.exec(html)?.[0] ?? "";
  return [...section.matchAll(/<div class="trend" id="trend-\d+">([\s\S]*?)<\/table>/g)].map((m) =>
    [...m[1]!.matchAll(/<tr data-wave="(\d+)">([\s\S]*?)<\/tr>/g)].map((r) => {
      const cell = /<td[^>]*class="cost[" ][^>]*>([\s\S]*?)<\/td>/.exec(r[2]!)?.[1];
      const amount = cell ? /<data class="cost-amount" value="([^"]+)">/.exec(cell)?.[1] : undefined;
      return { wave: Number(r[1]), cell: cell === undefined ? null : readerText(cell), amount: amount === undefined ? null : Number(amount) };
    }),
  );
}

/**
 * The monthly workbook's cost columns (up to the last month: both periods) are the JSON's costs,
 * row for row; the columns are there exactly when the page has its cost column.
 */
async function expectWorkbookCosts(agent: Awaited<ReturnType<typeof loggedInAgent>>, studyId: number, monthId: number, json: Json, shown: boolean, locale: "en" | "ru", where: string) {
  const t = translator(locale);
  const body = (await agent.get(`/studies/${studyId}/months/${monthId}.xlsx?lang=${locale}`).buffer(true).parse(binary).expect(200)).body as Buffer;
  const workbook = new ExcelJS.Workbook();
  await workbook.xlsx.load(body as unknown as Parameters<typeof workbook.xlsx.load>[0]);
  const costs = json["costs"] as PeriodCost[];
  const series = json["trends"]["series"] as Array<{ metric: string; segment: string; points: Array<{ wave: string }> }>;
  const metrics = (json["metrics"] as Json[]).map((m) => m["key"] as string);
  const x = (key: string) => t(`monthly.xlsx.${key}`);
  metrics.forEach((metric, i) => {
    const rows = workbook.worksheets[i]!.getSheetValues().slice(1) as unknown[][];
    const header = rows[0]!.slice(17);
    expect(header, `${where} ${locale}`).toEqual(shown ? ["spend", "currency", "liftedUsers", "liftedLower", "liftedUpper", "cost", "costLower", "costUpper", "costNote"].map(x) : []);
    if (!shown) return;
    const points = series.filter((ser) => ser.metric === metric).flatMap((ser) => ser.points.map((p, j) => ({ ser, p, j })));
    expect(rows.slice(1), where).toHaveLength(points.length);
    points.forEach(({ ser, p, j }, k) => {
      const cells = Array.from({ length: 9 }, (_, n) => rows[k + 1]![17 + n] ?? null);
      const at = `${where} ${locale} ${metric}/${ser.segment}/${p.wave}`;
      if (j === 0) return expect(cells, at).toEqual(Array(9).fill(null));
      const c = costs.find((y) => y.metric === metric && y.segment === ser.segment && String(y.waveId) === p.wave)!;
      const cost = c.costPerLiftedUser;
      expect(cells, at).toEqual([
        c.spend?.amount ?? null,
        c.spend?.currency ?? cost?.currency ?? null,
        c.liftedUsers?.estimate ?? null,
        c.liftedUsers?.lower ?? null,
        c.liftedUsers?.upper ?? null,
        cost?.amount ?? null,
        cost?.lower ?? null,
        cost?.upper ?? null,
        cost ? null : t(`tracking.costs.notes.${c.note!}`),
      ]);
    });
  });
}

describe("cost per lifted user of each period", () => {
  it("the page's cost cells are the JSON's, over a grid of spends, audience sizes and languages; never negative or infinite", { timeout: SLOW }, async () => {
    const s = await study();
    const [baseline, month1, month2] = s.waves as [Wave, Wave, Wave];
    const note = (wave: Wave, body: object) => request(s.app).post(`/api/waves/${wave.id}/notes`).set("Authorization", `Bearer ${s.token}`).send(body).expect(201);
    const spends: Array<[string, () => Promise<unknown>]> = [
      ["no spend", async () => {}],
      ["spend in Month 1", async () => {
        await note(month1, { kind: "spend", text: "Seeding", amount: 150_000, currency: "RUB" });
        await note(month1, { kind: "campaign", text: "Spring", amount: 30_000.5, currency: "RUB" });
        await note(baseline, { kind: "post", text: "Before the baseline" });
      }],
      ["two currencies in Month 2", async () => {
        await note(month2, { kind: "spend", text: "Ads", amount: 100, currency: "USD" });
        await note(month2, { kind: "spend", text: "More ads", amount: 5_000, currency: "RUB" });
      }],
    ];
    const audiences: Array<[string, number | null]> = [["no audience", null], ["zero audience", 0], ["audience 200,000", 200_000]];
    let measured = 0;
    for (const [spendName, addSpend] of spends) {
      await addSpend();
      for (const [audienceName, size] of audiences) {
        for (const w of [month1, month2]) for (const seg of s.segments) await setWaveSegment(s.db, w.id, seg.id, { target: null, audienceSize: size });
        const json = await s.json();
        const costs = json["costs"] as PeriodCost[];
        const where = `${spendName}, ${audienceName}`;
        // One row per series × period after the baseline.
        expect(costs, where).toHaveLength(json["trends"]["series"].length * 2);
        for (const c of costs) {
          if (c.costPerLiftedUser) {
            measured++;
            expect(c.note, where).toBeNull();
            expect(c.change!.verdict).toBe("rise");
            expect(c.change!.lower, where).toBeGreaterThan(0);
            expect(c.costPerLiftedUser.amount).toBeCloseTo(c.spend!.amount / (c.change!.estimate * c.audienceSize!), 9);
            expect(c.costPerLiftedUser.lower).toBeCloseTo(c.spend!.amount / (c.change!.upper * c.audienceSize!), 9);
            expect(c.costPerLiftedUser.upper).toBeCloseTo(c.spend!.amount / (c.change!.lower * c.audienceSize!), 9);
            for (const v of [c.costPerLiftedUser.amount, c.costPerLiftedUser.lower, c.costPerLiftedUser.upper]) expect(Number.isFinite(v) && v > 0, where).toBe(true);
          } else {
            expect(c.note, where).not.toBeNull();
          }
        }
        // Why not, in order: no spend, several currencies, no detected rise, no audience size.
        const month1Subscribers = costs.find((c) => c.waveId === month1.id && c.segment === "subscribers")!;
        const month2Subscribers = costs.find((c) => c.waveId === month2.id && c.segment === "subscribers")!;
        if (spendName === "no spend") expect([month1Subscribers.note, month2Subscribers.note]).toEqual(["no_spend", "no_spend"]);
        else {
          expect(month1Subscribers.spend).toEqual({ amount: 180_000.5, currency: "RUB" });
          expect(month1Subscribers.note).toBe(size ? null : "no_audience_size");
          expect(month2Subscribers.note).toBe(spendName === "two currencies in Month 2" ? "mixed_currencies" : "no_spend");
          // The subscribers' Month 2 change against Month 1 is no detected rise; Month 1's is.
          expect(month1Subscribers.change!.verdict).toBe("rise");
          expect(month2Subscribers.change!.verdict).not.toBe("rise");
        }

        for (const locale of ["en", "ru"] as const) {
          const t = translator(locale);
          const html = (await s.agent.get(`/studies/${s.studyId}/results?lang=${locale}`).expect(200)).text;
          const shown = shownCosts(html);
          const series = json["trends"]["series"] as Array<{ metric: string; segment: string; points: Array<{ wave: string }> }>;
          expect(shown, where).toHaveLength(series.length);
          series.forEach((ser, i) => {
            ser.points.forEach((p, j) => {
              const row = shown[i]![j]!;
              const at = `${where} ${locale} ${ser.metric}/${ser.segment}/${p.wave}`;
              if (spendName === "no spend") return expect(row.cell, at).toBeNull();
              if (j === 0) return expect(row.cell, at).toBe("—");
              const c = costs.find((x) => x.metric === ser.metric && x.segment === ser.segment && String(x.waveId) === p.wave)!;
              expect(row.amount, at).toBe(c.costPerLiftedUser?.amount ?? null);
              if (c.costPerLiftedUser) expect(row.cell, at).toContain(readerText(formatMoney(c.costPerLiftedUser.amount, c.costPerLiftedUser.currency, locale)));
              else expect(row.cell, at).toContain(t(`tracking.costs.notes.${c.note!}`));
              expect(row.cell, at).not.toMatch(/Infinity|NaN|−\d|-\d/);
            });
          });
          if (spendName !== "no spend") expect(readerText(html)).toContain(t("tracking.costs.explained"));
          await expectWorkbookCosts(s.agent, s.studyId, month2.id, json, spendName !== "no spend", locale, where);
          for (const key of ["no_spend", "mixed_currencies", "not_detected", "no_audience_size", "control_segment"]) expect(readerText(/<section class="trends"[\s\S]*?<\/section>/.exec(html)![0]), key).not.toContain(key);
        }
      }
    }
    expect(measured).toBeGreaterThan(0);
  });

  it("charts mark the waves with notes, list them in words and draw the KPI's target line", { timeout: SLOW }, async () => {
    const s = await study();
    await request(s.app).post(`/api/waves/${s.waves[1]!.id}/notes`).set("Authorization", `Bearer ${s.token}`).send({ kind: "campaign", text: "Spring <campaign>", date: "2027-03-01" }).expect(201);
    const html = (await s.agent.get(`/studies/${s.studyId}/results?lang=en`).expect(200)).text;
    const json = await s.json();
    const blocks = [...html.matchAll(/<div class="trend" id="trend-\d+">([\s\S]*?)<\/table>/g)].map((m) => m[1]!);
    expect(blocks.length).toBe(json["trends"]["series"].length);
    for (const block of blocks) {
      const wide = /<div class="chart-wide">([\s\S]*?)<\/div>/.exec(block)![1]!;
      expect([...wide.matchAll(/data-marker="(\d+)"/g)].map((m) => m[1])).toEqual(["1"]);
      expect(wide).not.toContain("<campaign>");
    }
    // One legend for every chart: the list of the work by wave, numbered as the charts mark it.
    const list = /<div class="trend-notes" id="trend-notes">([\s\S]*?)<\/div>/.exec(html)![1]!;
    expect([...list.matchAll(/<dt data-marker="(\d+)">/g)].map((m) => m[1])).toEqual(["1"]);
    expect(readerText(/<dl class="notes-by-wave">([\s\S]*?)<\/dl>/.exec(list)![1]!)).toBe("marker 1 Month 1 Campaign, 1 Mar 2027: Spring <campaign>");
    expect(html).not.toContain("chart-markers");
    // The KPI (subscribers' aided awareness, level 50% by Month 2): one dashed line, on its chart only.
    const series = json["trends"]["series"] as Array<{ metric: string; segment: string }>;
    const targets = blocks.map((b) => [.../<div class="chart-wide">[\s\S]*?<\/div>/.exec(b)![0].matchAll(/data-target="([^"]+)"/g)].map((m) => Number(m[1])));
    expect(targets).toEqual(series.map((x) => (x.metric === "aided_awareness" && x.segment === "subscribers" ? [0.5] : [])));
    const i = series.findIndex((x) => x.metric === "aided_awareness" && x.segment === "subscribers");
    expect(readerText(blocks[i]!)).toContain("Dashed line: the KPI target, a share of 50.0% by “Month 2”.");
  });
});

describe("KPIs on the settings page", () => {
  it("adds a KPI in percent, stored as a fraction, refuses what an import refuses with the same messages, and removes it", { timeout: SLOW }, async () => {
    const { app, db } = freshApp();
    const user = await addUser(db, "researcher");
    const token = (await createApiToken(db, user.id, "t")).token;
    const created = (await request(app).post("/api/studies").set("Authorization", `Bearer ${token}`).send(JSON.parse(JSON.stringify(brandLiftDefinition()))).expect(201)).body as Json;
    const id = created["id"] as number;
    const agent = await loggedInAgent(app, user.email);
    const csrf = csrfFrom((await agent.get(`/studies/${id}/settings`).expect(200)).text);
    const post = (form: Record<string, string>, lang = "en") => agent.post(`/studies/${id}/kpis?lang=${lang}`).type("form").send({ _csrf: csrf, ...form });

    await post({ kpiMetric: "aided_awareness", kpiSegment: "subscribers", kpiKind: "lift", kpiValue: "5", kpiBy: "Month 3" }).expect(303);
    await post({ kpiMetric: "favorability", kpiSegment: "inactive", kpiKind: "level", kpiValue: "40,5 %", kpiBy: "Month 1" }).expect(303);
    const rows = await sqlRows<{ metric: string; kind: string; target: number; by_wave: string }>(db, "SELECT metric, kind, target, by_wave FROM kpis WHERE study_id = ? ORDER BY position", [id]);
    expect(rows).toEqual([
      { metric: "aided_awareness", kind: "lift", target: 0.05, by_wave: "Month 3" },
      { metric: "favorability", kind: "level", target: 0.405, by_wave: "Month 1" },
    ]);
    // The definition exports them as an import would take them.
    expect(JSON.parse((await agent.get(`/studies/${id}/export.json`).expect(200)).text)["kpis"]).toEqual([
      { metric: "aided_awareness", segment: "subscribers", lift: 0.05, by: "Month 3" },
      { metric: "favorability", segment: "inactive", level: 0.405, by: "Month 1" },
    ]);
    const page = readerText((await agent.get(`/studies/${id}/settings?lang=ru`).expect(200)).text);
    expect(page).toContain("прирост +5,0 п. п. к исходной волне не позже волны «Month 3»");
    expect(page).not.toContain("aided_awareness");

    const before = await db.select().from(kpis);
    const refused: Array<[Record<string, string>, string, string]> = [
      [{ kpiMetric: "recall_of_nothing", kpiSegment: "subscribers", kpiValue: "5", kpiBy: "M1" }, "No question of the questionnaire measures a metric with this name.", "Ни один вопрос анкеты не измеряет метрику с таким названием."],
      [{ kpiMetric: "aided_awareness", kpiSegment: "lurkers", kpiValue: "5", kpiBy: "M1" }, "The study has no segment with this key.", "В исследовании нет сегмента с таким ключом."],
      [{ kpiMetric: "aided_awareness", kpiSegment: "subscribers", kpiValue: "100", kpiBy: "M1" }, "A number above 0 and below 100", "Число больше 0 и меньше 100"],
      [{ kpiMetric: "aided_awareness", kpiSegment: "subscribers", kpiValue: "five", kpiBy: "M1" }, "A number above 0 and below 100", "Число больше 0 и меньше 100"],
      [{ kpiMetric: "aided_awareness", kpiSegment: "subscribers", kpiValue: "5", kpiBy: " " }, "Name the wave by its label", "Укажите название волны"],
    ];
    for (const [form, en, ru] of refused) {
      for (const [lang, message] of [["en", en], ["ru", ru]] as const) {
        const res = await post({ kpiKind: "lift", ...form }, lang).expect(422);
        expect(readerText(res.text), JSON.stringify(form)).toContain(message);
      }
    }
    expect(await db.select().from(kpis)).toEqual(before);

    await agent.post(`/studies/${id}/kpis/${before[0]!.id}/delete`).type("form").send({ _csrf: csrf }).expect(303);
    expect((await db.select().from(kpis)).map((k) => k.metric)).toEqual(["favorability"]);
    await agent.post(`/studies/${id}/kpis/${before[0]!.id}/delete`).type("form").send({ _csrf: csrf }).expect(404);
    expect(await db.select().from(waveNotes)).toEqual([]);
  });
});
