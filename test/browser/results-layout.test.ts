import type { Page } from "playwright-core";
import { beforeAll, describe, expect, it } from "vitest";
import { createDemoStudy } from "../../server/demo/create.js";
import { addUser } from "../helpers.js";
import { browserAvailable, loggedInPage, screenshot, useBrowserAndApp } from "./browser.js";
import { chartText, overflowing } from "./layout-checks.js";

/**
 * The results page and the report as a reader meets them (issue 12), on the demo study in
 * Russian: the answer first (lift charts within the first 1,000 px at 1280×800), nothing wider
 * than the screen at 1280 and 375 px, chart text never clipped by its SVG and never under 11 px on
 * screen, and the printed report on at most 6 A4 pages with nothing wider than the page.
 */

describe.skipIf(!browserAvailable)("the results page and report lead with the answer and fit the screen and paper", () => {
  const ctx = useBrowserAndApp();
  let studyId: number;

  beforeAll(async () => {
    studyId = (await createDemoStudy(ctx.live.db, { seed: 293, locale: "ru", actorId: null })).studyId;
    await addUser(ctx.live.db, "viewer");
    await addUser(ctx.live.db, "researcher");
  }, 90_000);

  async function loggedIn(width: number, height: number): Promise<Page> {
    return loggedInPage(ctx.browser, ctx.live.base, "viewer@example.test", "ru", { width, height });
  }

  for (const [width, height] of [
    [1280, 800],
    [375, 667],
  ] as const) {
    it(`at ${width}×${height}: no horizontal scroll, chart text inside its chart and at least 11 px`, async () => {
      const page = await loggedIn(width, height);
      await page.goto(`${ctx.live.base}/studies/${studyId}/results`);
      expect(await overflowing(page)).toEqual([]);
      const text = await chartText(page);
      expect(text.texts).toBeGreaterThan(50);
      expect(text.clipped).toEqual([]);
      expect(text.smallest).toBeGreaterThanOrEqual(11);
      await screenshot(page, `results-${width}`);
      await page.close();
    }, 90_000);
  }

  it("the researcher's pages at 375×667: nothing wider than the screen; the tables that stack fit without scrolling sideways", async () => {
    const page = await loggedInPage(ctx.browser, ctx.live.base, "researcher@example.test", "ru", { width: 375, height: 667 });
    // Each page with how many of its tables stack into rows (table.compact) on a phone.
    const pages: Array<[string, number]> = [
      ["/studies", 1],
      [`/studies/${studyId}`, 1],
      [`/studies/${studyId}/planner`, 0],
      [`/studies/${studyId}/settings`, 0],
      [`/studies/${studyId}/quality/coding`, 2],
      [`/studies/${studyId}/quality`, 2],
      ["/account", 0],
    ];
    for (const [path, stacked] of pages) {
      await page.goto(`${ctx.live.base}${path}`);
      expect(await overflowing(page), path).toEqual([]);
      const wide = await page.evaluate(() =>
        Array.from(document.querySelectorAll(".table-wrap:has(table.compact)"))
          .filter((w) => w.scrollWidth > w.clientWidth + 1)
          .map((w) => `${w.querySelector("table")?.className}: ${w.scrollWidth} > ${w.clientWidth}`),
      );
      expect(await page.locator(".table-wrap table.compact").count(), path).toBe(stacked);
      expect(wide, path).toEqual([]);
    }
    await screenshot(page, "account-375");
    await page.close();
  }, 90_000);

  it("shows the three answers and then the lift chart within the first 1,000 px at 1280×800", async () => {
    const page = await loggedIn(1280, 800);
    await page.goto(`${ctx.live.base}/studies/${studyId}/results`);
    const top = await page.evaluate(() => {
      const heading = document.querySelector("#three");
      const chart = document.querySelector("figure.chart");
      // A warning that the waves differ in who answered must come before any lift: its height is allowed on top.
      const shifts = document.querySelector("p.shifts") ? document.querySelector("#weighting") : null;
      return {
        answers: heading!.getBoundingClientRect().top + scrollY,
        chart: chart!.getBoundingClientRect().top + scrollY,
        shifts: shifts ? shifts.getBoundingClientRect().height + parseFloat(getComputedStyle(shifts).marginBottom) : 0,
      };
    });
    expect(top.answers).toBeLessThan(top.chart);
    expect(top.chart - top.shifts).toBeLessThan(1000);
    // The first chart is the forest plot of every metric, not a metric's bars.
    expect(await page.locator("figure.chart").first().locator("circle[data-verdict]").count()).toBeGreaterThan(10);
    await page.close();
  }, 90_000);

  it("prints the report on at most 6 A4 pages, nothing wider than the page, the answer on page 1", async () => {
    const page = await loggedIn(1280, 800);
    await page.goto(`${ctx.live.base}/studies/${studyId}/report`);
    await page.emulateMedia({ media: "print" });
    // A4 at 15 mm margins: 180 mm of CSS px at 96 dpi.
    await page.setViewportSize({ width: Math.floor((180 / 25.4) * 96), height: 1000 });
    expect(await overflowing(page)).toEqual([]);
    const pdf = await page.pdf({ format: "A4", printBackground: true });
    const pages = (pdf.toString("latin1").match(/\/Type\s*\/Page[^s]/g) ?? []).length;
    expect(pages).toBeGreaterThan(1);
    expect(pages).toBeLessThanOrEqual(6);
    const order = await page.evaluate(() => ["#three", "figure.chart", ".appendix"].map((s) => document.querySelector(s)!.getBoundingClientRect().top));
    expect(order[0]).toBeLessThan(order[1]!);
    expect(order[1]).toBeLessThan(order[2]!);
    await screenshot(page, "report-print");
    await page.close();
  }, 120_000);
});
