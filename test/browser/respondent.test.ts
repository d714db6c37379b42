import { describe, expect, it } from "vitest";
import { openSurvey } from "../fixtures/surveys.js";
import { browserAvailable, screenshot, tabTo, useBrowserAndApp } from "./browser.js";

describe.skipIf(!browserAvailable)("respondent in Chromium (375×667, keyboard only)", () => {
  const ctx = useBrowserAndApp();

  it("answers, meets a validation error, fixes it and finishes", async () => {
    const survey = openSurvey(ctx.live.db);
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

    const stored = ctx.live.db.$client.prepare("SELECT status FROM responses").all();
    expect(stored).toEqual([{ status: "completed" }]);
    const text = ctx.live.db.$client.prepare("SELECT value_text FROM answers WHERE value_text IS NOT NULL").get() as { value_text: string };
    expect(text.value_text).toBe("Больше видео <b>");
  }, 60_000);
});
