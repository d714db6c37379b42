import { describe, expect, it } from "vitest";
import { browserAvailable, screenshot, useBrowserAndApp } from "./browser.js";

describe.skipIf(!browserAvailable)("researcher in Chromium", () => {
  const ctx = useBrowserAndApp();

  it("sets up the first account, creates a study from the template, opens a wave and reads the three links", async () => {
    const page = await ctx.browser.newPage({ viewport: { width: 1024, height: 800 } });
    await page.goto(`${ctx.live.base}/?lang=ru`);
    expect(page.url()).toContain("/setup");
    await page.fill("#name", "Анна");
    await page.fill("#email", "anna@example.test");
    await page.fill("#password", "длинный пароль");
    await page.fill("#confirm", "длинный пароль");
    await page.click("form[action='/setup'] button[type=submit]");
    await page.waitForURL(/\/studies$/);

    await page.click("a[href='/studies/new']");
    await page.fill("#studyName", "Весна 2027");
    await page.fill("#brand", "Акме");
    await page.fill("#category", "кофейни");
    await page.fill("#competitors", "Кофе Хаус\nШоколадница");
    await page.fill("#advantages", "Своя обжарка\nРаботаем круглосуточно");
    await page.click("form[action='/studies/template'] button[type=submit]");
    await page.waitForURL(/\/questions$/);
    // Eight questions with metrics, an attention check and feedback, then gender and age group.
    expect(await page.locator(".question-list > li").count()).toBe(10);

    await page.click(".subnav a:first-child");
    await page.fill("#target_subscribers", "300");
    await page.click("form[action$='/waves'] button[type=submit]");
    await page.waitForURL(/\/waves\/\d+$/);
    await page.click("form[action$='/open'] button[type=submit]");
    await page.waitForSelector(".notice");
    const links = await page.locator("a.url").allTextContents();
    expect(links).toHaveLength(3);
    for (const link of links) expect(link).toMatch(/^http:\/\/127\.0\.0\.1\/s\/[A-Za-z0-9_-]{21}$/);
    expect(await page.locator("figure.qr svg").count()).toBe(3);
    await screenshot(page, "researcher-wave-open");
  }, 60_000);
});
