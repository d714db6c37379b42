import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import request from "supertest";
import { afterAll, describe, expect, it } from "vitest";
import { closeDatabase, openDatabase } from "../../db/client.js";
import { runMigrations } from "../../db/migrate.js";
import { createApp } from "../../server/app.js";
import { testConfig } from "../../server/config.js";
import { sha256 } from "../../server/domain/secrets.js";
import { createApiToken } from "../../server/services/accounts.js";
import { openSurvey, validAnswers } from "../fixtures/surveys.js";
import { cookieValue, csrfFrom, setCookie } from "../helpers.js";
import { close, listen, login } from "./support.js";

/**
 * A stolen database file must give an attacker no password, no API token, no session and no
 * respondent cookie. Users, tokens and sessions are made through the app on a file-backed
 * database; then every text of every table, the raw bytes of the database file and of its WAL
 * are searched for each secret that passed through.
 */

const dir = mkdtempSync(join(tmpdir(), "brandlift-secrets-"));
const file = join(dir, "brandlift.db");

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Every value of every column of every table, as text (blobs as UTF-8 and hex). */
function allText(db: ReturnType<typeof openDatabase>): string[] {
  const tables = db.$client.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[];
  const out: string[] = [];
  for (const table of tables) {
    for (const row of db.$client.prepare(`SELECT * FROM "${table}"`).all() as Array<Record<string, unknown>>) {
      for (const [column, value] of Object.entries(row)) {
        if (value === null || value === undefined) continue;
        const text = Buffer.isBuffer(value) ? `${value.toString("utf8")} ${value.toString("hex")}` : String(value);
        out.push(`${table}.${column}: ${text}`);
      }
    }
  }
  return out;
}

describe("secrets at rest", () => {
  it("keeps no password, API token, session id or respondent cookie in the database or its files", async () => {
    const db = openDatabase(file);
    runMigrations(db);
    const config = testConfig({ databasePath: file });
    const server = await listen(createApp({ db, config }));
    const secrets: Record<string, string> = {};

    // The first administrator through /setup, a researcher added by them, both signed in.
    secrets["admin password"] = "Admin passphrase 7731 unique";
    secrets["researcher password"] = "Researcher passphrase 5519 unique";
    secrets["mistyped password"] = "Mistyped passphrase 0042 unique";
    const setup = request.agent(server);
    const setupPage = await setup.get("/setup").expect(200);
    const created = await setup
      .post("/setup")
      .type("form")
      .send({ name: "Admin", email: "admin@example.test", password: secrets["admin password"], confirm: secrets["admin password"], _csrf: csrfFrom(setupPage.text) })
      .expect(303);
    secrets["setup session"] = cookieValue(setCookie(created, "bl_session"))!;
    const admin = await login(server, "admin@example.test", secrets["admin password"]);
    const adminPage = await admin.get("/admin/users").expect(200);
    await admin
      .post("/admin/users")
      .type("form")
      .send({ name: "Researcher", email: "researcher@example.test", role: "researcher", password: secrets["researcher password"], _csrf: csrfFrom(adminPage.text) })
      .expect(303);
    const failed = request.agent(server);
    const failedPage = await failed.get("/login");
    await failed.post("/login").type("form").send({ email: "researcher@example.test", password: secrets["mistyped password"], _csrf: csrfFrom(failedPage.text) }).expect(401);
    const researcherLogin = request.agent(server);
    const loginPage = await researcherLogin.get("/login");
    secrets["login CSRF cookie"] = cookieValue(setCookie(loginPage, "bl_csrf"))!;
    const signedIn = await researcherLogin
      .post("/login")
      .type("form")
      .send({ email: "researcher@example.test", password: secrets["researcher password"], _csrf: csrfFrom(loginPage.text) })
      .expect(303);
    secrets["researcher session"] = cookieValue(setCookie(signedIn, "bl_session"))!;

    // API tokens: one from the account page (shown once), one from the service; both used.
    const tokensPage = await researcherLogin.get("/account/tokens").expect(200);
    const shown = await researcherLogin.post("/account/tokens").type("form").send({ name: "script", _csrf: csrfFrom(tokensPage.text) }).expect(201);
    secrets["API token (page)"] = /<code class="token">([^<]+)<\/code>/.exec(shown.text)![1]!;
    secrets["API token (service)"] = (await createApiToken(db, 1, "cli")).token;
    for (const token of [secrets["API token (page)"], secrets["API token (service)"]]) {
      await request(server).get("/api/me").set("Authorization", `Bearer ${token}`).expect(200);
    }

    // A respondent: the browser id cookie is stored only as a keyed hash.
    const survey = await openSurvey(db);
    const respondent = request.agent(server);
    const url = `/s/${survey.links["subscribers"]!.token}`;
    const surveyPage = await respondent.get(url).expect(200);
    secrets["respondent browser id"] = cookieValue(setCookie(surveyPage, "bl_rid"))!;
    const hiddenFields = Object.fromEntries([...surveyPage.text.matchAll(/<input type="hidden" name="(_\w)" value="([^"]*)">/g)].map((m) => [m[1]!, m[2]!]));
    await respondent.post(url).type("form").send({ ...hiddenFields, ...validAnswers() }).expect(303);
    secrets["session secret"] = config.sessionSecret;

    for (const [what, value] of Object.entries(secrets)) expect(value, what).toMatch(/.{16,}/);

    // 1. Every text in every table.
    const texts = allText(db);
    expect(texts.length).toBeGreaterThan(50);
    for (const [what, value] of Object.entries(secrets)) {
      expect(texts.filter((t) => t.includes(value)), `${what} stored in a table`).toEqual([]);
    }
    // What is stored instead: scrypt hashes, SHA-256 of tokens and session ids.
    const hashes = db.$client.prepare("SELECT password_hash FROM users").pluck().all() as string[];
    expect(hashes.every((h) => /^scrypt\$\d+\$\d+\$\d+\$[\w-]+\$[\w-]+$/.test(h))).toBe(true);
    const tokenHashes = db.$client.prepare("SELECT token_hash FROM api_tokens").pluck().all() as string[];
    expect(tokenHashes).toEqual(expect.arrayContaining([sha256(secrets["API token (page)"]!), sha256(secrets["API token (service)"]!)]));
    expect(db.$client.prepare("SELECT count(*) FROM sessions WHERE id_hash = ?").pluck().get(sha256(secrets["researcher session"]!))).toBe(1);

    // 2. The raw bytes of the file and of the write-ahead log, before and after a checkpoint
    //    (freed pages and log frames keep old bytes that no SELECT shows).
    const bytes = () => [file, `${file}-wal`].filter(existsSync).map((f) => [f, readFileSync(f)] as const);
    const search = (label: string) => {
      for (const [f, content] of bytes()) {
        for (const [what, value] of Object.entries(secrets)) {
          expect(content.includes(Buffer.from(value, "utf8")), `${what} in the bytes of ${f} (${label})`).toBe(false);
          expect(content.includes(Buffer.from(value, "utf16le")), `${what} as UTF-16 in ${f} (${label})`).toBe(false);
        }
      }
    };
    expect(existsSync(`${file}-wal`)).toBe(true);
    search("with the WAL");
    db.$client.pragma("wal_checkpoint(TRUNCATE)");
    search("after a checkpoint");
    // The search does see the data: what is meant to be stored is found in the same bytes.
    expect(readFileSync(file).includes(Buffer.from("researcher@example.test"))).toBe(true);
    expect(readFileSync(file).includes(Buffer.from(sha256(secrets["API token (page)"]!)))).toBe(true);

    // And once the file is closed (the WAL folded in and removed).
    await close(server);
    await closeDatabase(db);
    search("closed");
    expect(readFileSync(file).length).toBeGreaterThan(4096);
  }, 30_000);
});
