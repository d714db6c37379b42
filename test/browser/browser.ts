import { existsSync, mkdirSync, mkdtempSync } from "node:fs";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll } from "vitest";
import { openDatabase, type Db } from "../../db/client.js";
import { runMigrations } from "../../db/migrate.js";
import { createApp } from "../../server/app.js";
import { testConfig } from "../../server/config.js";
import { PASSWORD, freshDb } from "../helpers.js";
import { TEST_ENGINE } from "../support/postgres.js";

/** Debian's Chromium (installed by .ci/run); CHROMIUM_PATH overrides. */
export const CHROMIUM = process.env["CHROMIUM_PATH"] ?? "/usr/bin/chromium";

/**
 * Browser tests need a real Chromium. In CI it is installed, and its absence is a failure;
 * on a developer machine without it they are skipped, saying why.
 */
export const browserAvailable = existsSync(CHROMIUM) || process.env["CI"] === "true";

export const SCREENSHOTS = "test-results";

export async function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Flags for a root sandbox with no network: no sandbox, no background traffic.
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

export interface LiveApp {
  db: Db;
  base: string;
  close: () => Promise<void>;
}

/** The real app on a temporary SQLite file (or the suite's PostgreSQL), listening on a free loopback port. */
export async function liveApp(): Promise<LiveApp> {
  const db = TEST_ENGINE === "postgres" ? freshDb() : sqliteFile();
  const server: Server = createApp({ db, config: testConfig({ baseUrl: "http://127.0.0.1" }) }).listen(0, "127.0.0.1");
  await new Promise((r) => server.once("listening", r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { db, base, close: () => new Promise((r) => server.close(() => r())) };
}

function sqliteFile(): Db {
  const db = openDatabase(join(mkdtempSync(join(tmpdir(), "bl-browser-")), "browser.db"));
  runMigrations(db);
  return db;
}

/** Presses Tab until the focused element matches `selector` (keyboard only, as a user would). */
export async function tabTo(page: Page, selector: string, limit = 60): Promise<void> {
  for (let i = 0; i < limit; i++) {
    await page.keyboard.press("Tab");
    if (await page.evaluate((s) => document.activeElement?.matches(s) ?? false, selector)) return;
  }
  throw new Error(`Tab never reached ${selector}`);
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/**
 * For a describe block: a Chromium and a live app started before its tests and closed after.
 * The returned object is filled in by beforeAll.
 */
export function useBrowserAndApp(): { browser: Browser; live: LiveApp } {
  const ctx = {} as { browser: Browser; live: LiveApp };
  beforeAll(async () => {
    ctx.browser = await launch();
    ctx.live = await liveApp();
  });
  afterAll(async () => {
    await ctx.browser?.close();
    await ctx.live?.close();
  });
  return ctx;
}

/** A new page of the given size, logged in through the login form as `email`, in `lang`. */
export async function loggedInPage(browser: Browser, base: string, email: string, lang: "en" | "ru", viewport: { width: number; height: number }): Promise<Page> {
  const page = await browser.newPage({ viewport });
  await page.goto(`${base}/login?lang=${lang}`);
  await page.fill("#email", email);
  await page.fill("#password", PASSWORD);
  await page.click("form[action='/login'] button[type=submit]");
  await page.waitForURL(/\/studies$/);
  return page;
}
