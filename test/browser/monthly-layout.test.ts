import type { Page } from "playwright-core";
import { beforeAll, describe, expect, it } from "vitest";
import type { Wave } from "../../db/schema.js";
import { seedStudy } from "../fixtures/tracking.js";
import { browserAvailable, loggedInPage, screenshot, useBrowserAndApp } from "./browser.js";
import { chartText, overflowing } from "./layout-checks.js";

/**
 * The monthly report of a tracking study (a baseline and four months, long Russian wave labels)
 * as the main report is checked: at 1280 and 375 px in Russian and English no horizontal scroll,
 * every chart's text inside its chart and at least 11 px; printed to PDF by Chromium on a bounded
 * number of A4 pages with nothing wider than the page, the answers first, and the month named in
 * the PDF's title.
 */

const LABELS = ["Исходная волна, декабрь 2026", "Январь 2027", "Февраль 2027", "Март 2027", "Апрель 2027"];
/** Pages the printed report of a month may take: the three answers, the trends of 2 metrics × 3 segments, the themes and the methods (7 measured for this study). */
const MAX_PAGES = 8;

/** The document title of a PDF (Chromium writes it in the Info dictionary, as UTF-16 hex or a literal string). */
function pdfTitle(pdf: Buffer): string {
  const raw = pdf.toString("latin1");
  const hex = /\/Title\s*<FEFF([0-9A-Fa-f]*)>/.exec(raw);
  if (hex) return Buffer.from(hex[1]!, "hex").swap16().toString("utf16le");
  const literal = /\/Title\s*\(((?:\\.|[^\\)])*)\)/.exec(raw);
  if (!literal) return "";
  const bytes = Buffer.from(literal[1]!.replace(/\\([()\\])/g, "$1"), "latin1");
  return bytes[0] === 0xfe && bytes[1] === 0xff ? bytes.subarray(2).swap16().toString("utf16le") : bytes.toString("latin1");
}

describe.skipIf(!browserAvailable)("the monthly report fits the screen and paper", () => {
  const ctx = useBrowserAndApp();
  let studyId: number;
  let waves: Wave[];

  beforeAll(async () => {
    const kpis = [
      { metric: "aided_awareness", segment: "subscribers", lift: 0.05, by: "Февраль 2027" },
      { metric: "aided_awareness", segment: "inactive", level: 0.4, by: "Январь 2027" },
    ];
    ({ studyId, waves } = await seedStudy(ctx.live.base, ctx.live.db, 7, { kpis, labels: LABELS, months: true }));
  }, 120_000);

  async function loggedIn(width: number, height: number): Promise<Page> {
    return loggedInPage(ctx.browser, ctx.live.base, "r7@example.test", "ru", { width, height });
  }

  for (const locale of ["ru", "en"] as const) {
    for (const [width, height] of [
      [1280, 800],
      [375, 667],
    ] as const) {
      it(`${locale} at ${width}×${height}: no horizontal scroll, chart text inside its chart and at least 11 px`, async () => {
        const page = await loggedIn(width, height);
        await page.goto(`${ctx.live.base}/studies/${studyId}/months/${waves[2]!.id}?lang=${locale}`);
        expect(await page.locator(".month-answer").count()).toBe(3);
        // 2 metrics × 3 segments, each trend chart drawn for this width; 3 audience charts.
        const drawn = await page.evaluate(() => Array.from(document.querySelectorAll("figure.trend-chart svg")).filter((s) => s.getBoundingClientRect().width > 0).length);
        expect(drawn).toBe(6);
        expect(await overflowing(page)).toEqual([]);
        const text = await chartText(page);
        expect(text.texts).toBeGreaterThan(30);
        expect(text.clipped).toEqual([]);
        expect(text.smallest).toBeGreaterThanOrEqual(11);
        // Body text readable: nothing visible under 12 px.
        const smallest = await page.evaluate(() =>
          Math.min(...Array.from(document.querySelectorAll("main p, main li, main td, main th")).filter((e) => e.getBoundingClientRect().width > 0 && (e.textContent ?? "").trim()).map((e) => parseFloat(getComputedStyle(e).fontSize))),
        );
        expect(smallest).toBeGreaterThanOrEqual(12);
        await screenshot(page, `monthly-${locale}-${width}`);
        await page.close();
      }, 90_000);
    }
  }

  it("prints a month on a bounded number of A4 pages, nothing wider than the page, the answers first, the month in the PDF's title", async () => {
    const page = await loggedIn(1280, 800);
    const month = waves[2]!;
    await page.goto(`${ctx.live.base}/studies/${studyId}/months/${month.id}?lang=ru`);
    await page.emulateMedia({ media: "print" });
    // A4 at 15 mm margins: 180 mm of CSS px at 96 dpi.
    await page.setViewportSize({ width: Math.floor((180 / 25.4) * 96), height: 1000 });
    expect(await overflowing(page)).toEqual([]);
    // The page's own links and actions are not printed; the month's label is.
    expect(await page.locator("ul.month-links").isVisible()).toBe(false);
    expect(await page.locator(".month-title").textContent()).toContain(month.label);
    const pdf = await page.pdf({ format: "A4", printBackground: true });
    const pages = (pdf.toString("latin1").match(/\/Type\s*\/Page[^s]/g) ?? []).length;
    expect(pages).toBeGreaterThan(1);
    expect(pages).toBeLessThanOrEqual(MAX_PAGES);
    expect(pdfTitle(pdf)).toContain(month.label);
    for (const later of waves.slice(3)) expect(pdfTitle(pdf)).not.toContain(later.label);
    const order = await page.evaluate(() => [".month-answers", "#trends", ".appendix"].map((s) => document.querySelector(s)!.getBoundingClientRect().top));
    expect(order[0]).toBeLessThan(order[1]!);
    expect(order[1]).toBeLessThan(order[2]!);
    await screenshot(page, "monthly-print");
    await page.close();
  }, 120_000);
});
