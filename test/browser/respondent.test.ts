import type { Page } from "playwright-core";
import { sqlRows, sqlValue } from "../support/sql.js";
import { describe, expect, it } from "vitest";
import { brandLiftTemplate, MAX_ADVANTAGES, MAX_COMPETITORS } from "../../server/domain/template.js";
import { brandLiftDefinition, openSurvey } from "../fixtures/surveys.js";
import { browserAvailable, screenshot, tabTo, useBrowserAndApp } from "./browser.js";

describe.skipIf(!browserAvailable)("respondent in Chromium (375×667, keyboard only)", () => {
  const ctx = useBrowserAndApp();

  it("answers, meets a validation error, fixes it and finishes", async () => {
    const survey = await openSurvey(ctx.live.db);
    const page = await ctx.browser.newPage({ viewport: { width: 375, height: 667 }, isMobile: true, hasTouch: true });
    await page.goto(`${ctx.live.base}/s/${survey.links["subscribers"]!.token}?lang=en`);
    // The tab shows a neutral title, never the brand (it would prime the unaided question).
    expect(await page.title()).toBe("Survey");

    await tabTo(page, 'input[name="q_aided"][value="acme"]');
    await page.keyboard.press("Space");
    // "Have you seen Acme ads?" is left unanswered on purpose.
    await tabTo(page, 'input[name="q_fav"]');
    for (let i = 0; i < 3; i++) await page.keyboard.press("ArrowRight");
    await tabTo(page, 'textarea[name="q_feedback"]');
    await page.keyboard.type("Больше видео <b>");
    await tabTo(page, 'button[type="submit"]');
    await page.keyboard.press("Enter");
    await page.waitForSelector(".error-summary");
    await screenshot(page, "respondent-validation-error");

    expect(await page.textContent("#q_recall-error")).toBe("Please answer this question.");
    expect(await page.isChecked('input[name="q_aided"][value="acme"]')).toBe(true);
    expect(await page.isChecked('input[name="q_fav"][value="4"]')).toBe(true);
    expect(await page.inputValue('textarea[name="q_feedback"]')).toBe("Больше видео <b>");
    // Nothing scrolls sideways on a phone.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);

    await tabTo(page, 'input[name="q_recall"]');
    await page.keyboard.press("Space");
    await tabTo(page, 'button[type="submit"]');
    await page.keyboard.press("Enter");
    await page.waitForURL(/\/thanks\?lang=en$/);
    expect(await page.textContent("h1")).toBe("Thank you!");
    await screenshot(page, "respondent-thanks");

    const stored = await sqlRows(ctx.live.db, "SELECT status FROM responses");
    expect(stored).toEqual([{ status: "completed" }]);
    const text = await sqlValue<string>(ctx.live.db, "SELECT value_text FROM answers WHERE value_text IS NOT NULL");
    expect(text).toBe("Больше видео <b>");
  }, 60_000);
});

/** Guidelines for touch targets (WCAG 2.5.5, Apple, Material): 44 CSS px at least. */
const TARGET = 44;

interface Box {
  what: string;
  x: number;
  width: number;
  height: number;
}

/** Bounding boxes of every option row and scale point on the page. */
function targets(page: Page): Promise<Box[]> {
  return page.$$eval("label.opt, label.pt", (labels) =>
    labels.map((l) => {
      const r = l.getBoundingClientRect();
      return { what: `${l.className} ${l.textContent?.trim()}`, x: r.x, width: r.width, height: r.height };
    }),
  );
}

/** Clicks a label near its right end, far from its input (which sits at the left or is hidden). */
async function clickFarFromInput(page: Page, selector: string): Promise<void> {
  const row = page.locator(selector);
  await row.scrollIntoViewIfNeeded(); // options are rotated: the row may be below the fold
  const box = (await row.boundingBox())!;
  await row.click({ position: { x: box.width - 6, y: box.height / 2 } });
}

describe.skipIf(!browserAvailable)("respondent answers on a phone (issue 12, item 7)", () => {
  const ctx = useBrowserAndApp();

  const template = () =>
    brandLiftTemplate({
      studyName: "Весенняя кампания",
      brand: "Бодрость",
      category: "кофейни",
      locale: "ru",
      competitors: ["Утро", "Кофе Хауз", "Шоколадница", "Даблби", "Кофемания", "Сварено", "Зерно", "Кофе с собой навынос у метро"].slice(0, MAX_COMPETITORS),
      advantages: ["Свежая обжарка каждый день", "Открыто с 7 утра", "Кофе с собой за 2 минуты"].slice(0, MAX_ADVANTAGES),
    });

  it("makes every option a full-width 44 px row and every scale point a 44 px target that toggles its input, with a progress line and a favicon", async () => {
    const survey = await openSurvey(ctx.live.db, template());
    const page = await ctx.browser.newPage({ viewport: { width: 375, height: 667 }, isMobile: true, hasTouch: true });
    const url = `${ctx.live.base}/s/${survey.links["subscribers"]!.token}`;
    await page.goto(url);

    // Page 1 of 3: the unaided question alone, under a progress line (the profile questions come last, on page 3).
    expect(await page.textContent(".progress-label")).toBe("Страница 1 из 3");
    const bar = (await page.locator("progress").boundingBox())!;
    expect(bar.width).toBeGreaterThan(300);
    expect(bar.height).toBeGreaterThanOrEqual(6);
    expect(await page.$eval("progress", (p) => (p as HTMLProgressElement).position)).toBeCloseTo(1 / 3, 6);

    // The favicon is linked, and served (200) from respondent and researcher pages alike.
    const icon = await page.$eval('link[rel="icon"]', (l) => (l as HTMLLinkElement).href);
    expect((await page.request.get(icon)).status()).toBe(200);
    expect((await page.request.get(`${ctx.live.base}/favicon.ico`)).status()).toBe(200);
    await screenshot(page, "respondent-375-page-1");

    await page.fill('textarea[name="q_unaided"]', "Бодрость, Утро");
    await page.click('button[type="submit"]');
    await page.waitForSelector('label.opt input[name="q_aided"]');
    expect(await page.textContent(".progress-label")).toBe("Страница 2 из 3");

    // Every option row and scale point is a 44 px target; rows span the question's width.
    const width = await page.$eval("fieldset.question", (f) => f.getBoundingClientRect().width);
    const boxes = await targets(page);
    expect(boxes.filter((b) => b.what.startsWith("opt"))).toHaveLength(10 + 5 + 3 + 5);
    expect(boxes.filter((b) => b.what.startsWith("pt"))).toHaveLength(10);
    for (const b of boxes) {
      expect(b.height, b.what).toBeGreaterThanOrEqual(TARGET);
      if (b.what.startsWith("pt")) expect(b.width, b.what).toBeGreaterThanOrEqual(TARGET);
      else expect(b.width, b.what).toBeCloseTo(width, 0);
    }
    // The five points of a scale sit on one row at 375 px.
    const favY = await page.$$eval('#q_favorability label.pt', (ls) => new Set(ls.map((l) => Math.round(l.getBoundingClientRect().y))).size);
    expect(favY).toBe(1);

    // A tap on the far right of a row (the text's side, away from the box) toggles its input, both ways.
    const brandRow = 'label.opt:has(input[name="q_aided"][value="brand"])';
    await clickFarFromInput(page, brandRow);
    expect(await page.isChecked('input[name="q_aided"][value="brand"]')).toBe(true);
    await clickFarFromInput(page, 'label.opt:has(input[name="q_aided"][value="competitor_8"])');
    expect(await page.isChecked('input[name="q_aided"][value="competitor_8"]')).toBe(true);
    await clickFarFromInput(page, 'label.opt:has(input[name="q_aided"][value="competitor_8"])');
    expect(await page.isChecked('input[name="q_aided"][value="competitor_8"]')).toBe(false);
    // A tap on the option's words themselves.
    await page.click('label.opt:has(input[name="q_ad_recall"][value="yes"]) span');
    expect(await page.isChecked('input[name="q_ad_recall"][value="yes"]')).toBe(true);
    await clickFarFromInput(page, '#q_favorability label.pt:has(input[value="4"])');
    expect(await page.isChecked('input[name="q_favorability"][value="4"]')).toBe(true);
    await page.click("#q_consideration label.pt:has(input[value='5'])", { position: { x: 3, y: 3 } });
    expect(await page.isChecked('input[name="q_consideration"][value="5"]')).toBe(true);

    // The checked row and point look checked (the row's own box, not only the small input).
    const look = (selector: string) =>
      page.$eval(selector, (l) => getComputedStyle(l.querySelector("span")!, "::before").backgroundColor);
    expect(await look(brandRow)).not.toBe(await look('label.opt:has(input[name="q_aided"][value="competitor_8"])'));
    expect(await look('#q_favorability label.pt:has(input[value="4"])')).toBe("rgb(10, 88, 202)");

    // The end labels are readable: no smaller than 14 px, inside the screen, on either side.
    const ends = await page.$$eval("#q_favorability .scale-ends span", (spans) =>
      spans.map((s) => ({ size: parseFloat(getComputedStyle(s).fontSize), r: s.getBoundingClientRect() })),
    );
    expect(ends).toHaveLength(2);
    for (const e of ends) {
      expect(e.size).toBeGreaterThanOrEqual(14);
      expect(e.r.left).toBeGreaterThanOrEqual(0);
      expect(e.r.right).toBeLessThanOrEqual(375);
    }
    expect(ends[0]!.r.right).toBeLessThan(ends[1]!.r.left);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);

    // Keyboard focus shows on the whole row.
    await page.focus('input[name="q_aided"][value="brand"]');
    await page.keyboard.press("Space");
    await page.keyboard.press("Space");
    const outline = await page.$eval(brandRow, (l) => getComputedStyle(l.querySelector("span")!, "::before").outlineStyle);
    expect(outline).toBe("solid");
    await screenshot(page, "respondent-375-page-2");

    // The same respondent (same cookie) on a desktop resumes on page 2.
    const desktop = await ctx.browser.newContext({ viewport: { width: 1280, height: 800 } });
    await desktop.addCookies(await page.context().cookies());
    const wide = await desktop.newPage();
    await wide.goto(page.url());
    expect(await wide.textContent(".progress-label")).toBe("Страница 2 из 3");
    const wideBoxes = await targets(wide);
    expect(wideBoxes).toHaveLength(boxes.length);
    for (const b of wideBoxes) expect(b.height, b.what).toBeGreaterThanOrEqual(TARGET);
    await wide.click('label.opt:has(input[value="brand"])');
    await wide.click('label.opt:has(input[name="q_ad_recall"][value="not_sure"])');
    await wide.click('#q_favorability label.pt:has(input[value="3"])');
    await screenshot(wide, "respondent-1280-page-2");
    await desktop.close();
    await page.close();
  }, 60_000);

  it("wraps an 11-point scale onto two rows of 44 px points rather than shrinking them, in English", async () => {
    const def = brandLiftDefinition({
      name: "Recommend",
      pageSize: 2,
      questions: [
        {
          key: "nps",
          type: "scale",
          min: 0,
          max: 10,
          text: { ru: "Порекомендуете ли вы Акме друзьям?", en: "How likely are you to recommend Acme to a friend?" },
          minLabel: { ru: "Точно нет", en: "Not at all likely" },
          maxLabel: { ru: "Точно да", en: "Extremely likely" },
        },
        {
          key: "why",
          type: "single",
          text: { ru: "Почему?", en: "Why?" },
          options: [
            { key: "price", text: { ru: "Цена", en: "The price, which is lower than at most places nearby in the city centre" } },
            { key: "taste", text: { ru: "Вкус", en: "Taste" } },
          ],
        },
        { key: "more", type: "text", required: false, text: { ru: "Ещё?", en: "Anything else?" } },
      ],
    } as Parameters<typeof brandLiftDefinition>[0]);
    const survey = await openSurvey(ctx.live.db, def);
    const page = await ctx.browser.newPage({ viewport: { width: 375, height: 667 }, isMobile: true, hasTouch: true });
    await page.goto(`${ctx.live.base}/s/${survey.links["active_unsubscribed"]!.token}?lang=en`);
    expect(await page.textContent(".progress-label")).toBe("Page 1 of 2");

    const points = await targets(page);
    const scale = points.filter((b) => b.what.startsWith("pt"));
    expect(scale).toHaveLength(11);
    for (const b of points) expect(b.height, b.what).toBeGreaterThanOrEqual(TARGET);
    for (const b of scale) expect(b.width, b.what).toBeGreaterThanOrEqual(TARGET);
    const rows = await page.$$eval("label.pt", (ls) => new Set(ls.map((l) => Math.round(l.getBoundingClientRect().y))).size);
    expect(rows).toBe(2);
    // A long option wraps inside its row, which grows rather than overflowing.
    const long = (await page.locator('label.opt:has(input[value="price"])').boundingBox())!;
    expect(long.height).toBeGreaterThan(TARGET + 10);
    await clickFarFromInput(page, 'label.opt:has(input[value="price"])');
    expect(await page.isChecked('input[value="price"]')).toBe(true);
    await page.click('label.pt:has(input[value="0"])', { position: { x: 40, y: 40 } });
    expect(await page.isChecked('input[name="q_nps"][value="0"]')).toBe(true);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
    await screenshot(page, "respondent-375-scale-0-10");
    await page.close();
  }, 60_000);
});
