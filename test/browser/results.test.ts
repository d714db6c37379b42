import { describe, expect, it } from "vitest";
import { createDemoStudy } from "../../server/demo/create.js";
import { addUser } from "../helpers.js";
import { browserAvailable, loggedInPage, screenshot, useBrowserAndApp } from "./browser.js";

describe.skipIf(!browserAvailable)("results of the demo study in Chromium", () => {
  const ctx = useBrowserAndApp();

  it("renders the tables and the SVG charts, and the printable report", async () => {
    const { studyId } = await createDemoStudy(ctx.live.db, { seed: 293, locale: "en", actorId: null });
    await addUser(ctx.live.db, "viewer");
    const page = await loggedInPage(ctx.browser, ctx.live.base, "viewer@example.test", "en", { width: 1200, height: 900 });

    await page.goto(`${ctx.live.base}/studies/${studyId}/results`);
    const charts = page.locator("figure.chart svg[role=img]");
    expect(await charts.count()).toBeGreaterThanOrEqual(6);
    // The charts are laid out: bars have real width in the browser.
    const box = await charts.first().boundingBox();
    expect(box!.width).toBeGreaterThan(300);
    expect(await page.locator("figure.chart svg rect").count()).toBeGreaterThan(12);
    expect(await page.locator("ul.verdicts li.verdict-rise").count()).toBeGreaterThan(0);
    await screenshot(page, "results-demo");

    await page.goto(`${ctx.live.base}/studies/${studyId}/report`);
    await page.emulateMedia({ media: "print" });
    expect(await page.locator("header.site").count()).toBe(0);
    const pdf = await page.pdf({ format: "A4" });
    expect(pdf.subarray(0, 5).toString()).toBe("%PDF-");
    await screenshot(page, "report-demo");
  }, 90_000);
});
