import request from "supertest";
import { beforeAll, describe, expect, it } from "vitest";
import { setWaveSegment } from "../../db/queries/fieldwork.js";
import { listSegments } from "../../db/queries/studies.js";
import { seedStudy } from "../fixtures/tracking.js";
import { browserAvailable, loggedInPage, screenshot, useBrowserAndApp } from "./browser.js";
import { chartText, overflowing } from "./layout-checks.js";

/**
 * The trends and KPIs of a tracking study (a baseline and five months, long Russian wave labels,
 * notes with spend on three periods, audience sizes) on the results page at 1280 and 375 px: no
 * horizontal scroll, every trend chart drawn with its markers and KPI target lines, its text
 * inside the chart and at least 11 px on screen, the markers' legend once above the charts.
 */

const LABELS = ["Исходная волна, декабрь 2026", "Январь 2027", "Февраль 2027", "Март 2027", "Апрель 2027", "Май 2027"];

describe.skipIf(!browserAvailable)("the trends section fits the screen", () => {
  const ctx = useBrowserAndApp();
  let studyId: number;

  beforeAll(async () => {
    const kpis = [
      { metric: "aided_awareness", segment: "subscribers", lift: 0.05, by: "Март 2027" },
      { metric: "aided_awareness", segment: "inactive", level: 0.4, by: "Май 2027" },
    ];
    const seeded = await seedStudy(ctx.live.base, ctx.live.db, 7, { kpis, labels: LABELS });
    studyId = seeded.studyId;
    const notes: Array<[number, object]> = [
      [1, { kind: "campaign", text: "Новогодняя кампания во всех сообществах бренда с розыгрышем призов", date: "2027-01-10", amount: 250000, currency: "RUB" }],
      [1, { kind: "post", text: "Пост о новой линейке" }],
      [3, { kind: "spend", text: "Посевы", amount: 120000.5, currency: "RUB" }],
      [5, { kind: "post", text: "Клип" }],
    ];
    for (const [wave, body] of notes) {
      await request(ctx.live.base).post(`/api/waves/${seeded.waves[wave]!.id}/notes`).set("Authorization", `Bearer ${seeded.token}`).send(body).expect(201);
    }
    const segments = await listSegments(ctx.live.db, studyId);
    for (const w of seeded.waves) for (const s of segments) await setWaveSegment(ctx.live.db, w.id, s.id, { target: null, audienceSize: 1_500_000 });
  }, 120_000);

  for (const [width, height] of [
    [1280, 800],
    [375, 667],
  ] as const) {
    it(`at ${width}×${height}: no horizontal scroll, trend chart text inside its chart and at least 11 px`, async () => {
      const page = await loggedInPage(ctx.browser, ctx.live.base, "r7@example.test", "ru", { width, height });
      await page.goto(`${ctx.live.base}/studies/${studyId}/results`);
      expect(await page.locator("#kpis tbody tr").count()).toBe(2);
      // 2 metrics × 3 segments, each chart visible in the layout for this width.
      const drawn = await page.evaluate(() => Array.from(document.querySelectorAll("figure.trend-chart svg")).filter((s) => s.getBoundingClientRect().width > 0).length);
      expect(drawn).toBe(6);
      // Markers over the three periods with notes, on every chart; both KPIs' target lines, each on its chart.
      const visible = (selector: string) =>
        page.evaluate((sel) => Array.from(document.querySelectorAll(sel)).filter((e) => e.getBoundingClientRect().width > 0).length, selector);
      expect(await visible("figure.trend-chart svg [data-marker]")).toBe(18);
      expect(await visible("figure.trend-chart svg [data-target]")).toBe(2);
      // Their legend once, above the charts: the waves of the three periods, numbered as marked.
      expect(await visible("#trend-notes dt[data-marker] .marker-number")).toBe(3);
      expect(await overflowing(page)).toEqual([]);
      const text = await chartText(page);
      expect(text.clipped).toEqual([]);
      expect(text.smallest).toBeGreaterThanOrEqual(11);
      // Each series' numbers fold under its chart: none shown until asked for, then they fit too.
      const shown = (selector: string) => page.evaluate((sel) => Array.from(document.querySelectorAll(sel)).filter((e) => e.checkVisibility() && e.getBoundingClientRect().width > 0).length, selector);
      expect(await page.locator("details.trend-numbers").count()).toBe(6);
      expect(await shown("details.trend-numbers td.cost")).toBe(0);
      const folded = await page.evaluate(() => document.documentElement.scrollHeight);
      await page.locator("details.trend-numbers summary").first().click();
      const first = await shown("details.trend-numbers[open] td.cost");
      expect(first).toBeGreaterThan(0);
      expect(await shown("details.trend-numbers td.cost")).toBe(first);
      await page.evaluate(() => document.querySelectorAll("details.trend-numbers").forEach((d) => d.setAttribute("open", "")));
      const all = await shown("details.trend-numbers td.cost");
      expect(all).toBe(6 * first);
      expect(await overflowing(page)).toEqual([]);
      expect(await page.evaluate(() => document.documentElement.scrollHeight)).toBeGreaterThan(folded);
      await page.locator("#trend-1").screenshot({ path: `test-results/trend-${width}-open.png` });
      await page.evaluate(() => document.querySelectorAll("details.trend-numbers").forEach((d) => d.removeAttribute("open")));
      // On paper every number is there without opening anything.
      await page.emulateMedia({ media: "print" });
      expect(await shown("details.trend-numbers td.cost")).toBeGreaterThanOrEqual(all);
      expect(await shown("details.trend-numbers summary")).toBe(0);
      await page.emulateMedia({ media: "screen" });
      await page.locator("#kpis").screenshot({ path: `test-results/kpis-${width}.png` });
      await page.locator("#trend-1").screenshot({ path: `test-results/trend-${width}.png` });
      await screenshot(page, `tracking-results-${width}`);
      await page.close();
    }, 90_000);
  }
});
