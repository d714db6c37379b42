import { beforeAll, describe, expect, it } from "vitest";
import { PASSWORD } from "../helpers.js";
import { seedStudy } from "../fixtures/tracking.js";
import { browserAvailable, screenshot, useBrowserAndApp } from "./browser.js";
import { chartText, overflowing } from "./layout-checks.js";

/**
 * The trends and KPIs of a tracking study (a baseline and five months, long Russian wave labels)
 * on the results page at 1280 and 375 px: no horizontal scroll, every trend chart drawn, its text
 * inside the chart and at least 11 px on screen.
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
    studyId = (await seedStudy(ctx.live.base, ctx.live.db, 7, { kpis, labels: LABELS })).studyId;
  }, 120_000);

  for (const [width, height] of [
    [1280, 800],
    [375, 667],
  ] as const) {
    it(`at ${width}×${height}: no horizontal scroll, trend chart text inside its chart and at least 11 px`, async () => {
      const page = await ctx.browser.newPage({ viewport: { width, height } });
      await page.goto(`${ctx.live.base}/login?lang=ru`);
      await page.fill("#email", "r7@example.test");
      await page.fill("#password", PASSWORD);
      await page.click("form[action='/login'] button[type=submit]");
      await page.waitForURL(/\/studies$/);
      await page.goto(`${ctx.live.base}/studies/${studyId}/results`);
      expect(await page.locator("#kpis tbody tr").count()).toBe(2);
      // 2 metrics × 3 segments, each chart visible in the layout for this width.
      const drawn = await page.evaluate(() => Array.from(document.querySelectorAll("figure.trend-chart svg")).filter((s) => s.getBoundingClientRect().width > 0).length);
      expect(drawn).toBe(6);
      expect(await overflowing(page)).toEqual([]);
      const text = await chartText(page);
      expect(text.clipped).toEqual([]);
      expect(text.smallest).toBeGreaterThanOrEqual(11);
      await page.locator("#kpis").screenshot({ path: `test-results/kpis-${width}.png` });
      await page.locator("#trend-1").screenshot({ path: `test-results/trend-${width}.png` });
      await screenshot(page, `tracking-results-${width}`);
      await page.close();
    }, 90_000);
  }
});
