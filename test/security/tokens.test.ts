import type { Server } from "node:http";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Db } from "../../db/client.js";
import { runJobsUntilIdle } from "../../server/jobs/runner.js";
import { createApiToken } from "../../server/services/accounts.js";
import { newLinkToken } from "../../server/services/study-setup.js";
import { openSurvey, type OpenSurvey } from "../fixtures/surveys.js";
import { addUser, cookieValue, freshApp, setCookie } from "../helpers.js";
import { sqlColumn } from "../support/sql.js";
import { close, csrfOf, listen, login, type Agent } from "./support.js";

/**
 * The links are the credentials: whoever holds a survey link may answer, whoever holds a share
 * link reads the report. Each must be unguessable: at least 120 bits, judged from the tokens
 * the app actually hands out (their length and alphabet, and the symbol frequencies measured
 * over many of them), and never repeated.
 */

const ALPHABET = /^[A-Za-z0-9_-]+$/;
const MIN_BITS = 120;

/** Bits of a token set by its generator's shape: length × log2(alphabet), taking the shortest token. */
function nominalBits(tokens: readonly string[]): number {
  const symbols = new Set(tokens.join(""));
  const alphabet = symbols.size > 62 ? 64 : symbols.size; // 64-symbol nanoid/base64url alphabet once all symbols are seen
  return Math.min(...tokens.map((t) => t.length)) * Math.log2(alphabet);
}

/** Shannon entropy per symbol measured over all tokens (≈ 6 bits for a uniform 64-symbol alphabet). */
function measuredBitsPerSymbol(tokens: readonly string[]): number {
  const counts = new Map<string, number>();
  let total = 0;
  for (const t of tokens) {
    for (const c of t) {
      counts.set(c, (counts.get(c) ?? 0) + 1);
      total++;
    }
  }
  let h = 0;
  for (const n of counts.values()) h -= (n / total) * Math.log2(n / total);
  return h;
}

function expectUnguessable(tokens: readonly string[], what: string, minDistinct: number) {
  expect(tokens.length, `${what}: sample`).toBeGreaterThanOrEqual(minDistinct);
  expect(new Set(tokens).size, `${what}: all distinct`).toBe(tokens.length);
  for (const t of tokens) expect(t, `${what}: alphabet`).toMatch(ALPHABET);
  const shortest = Math.min(...tokens.map((t) => t.length));
  expect(shortest, `${what}: length`).toBeGreaterThanOrEqual(20);
  expect(new Set(tokens.join("")).size, `${what}: every one of the 64 symbols is used`).toBe(64);
  const perSymbol = measuredBitsPerSymbol(tokens);
  expect(perSymbol, `${what}: measured bits per symbol`).toBeGreaterThan(5.9);
  expect(nominalBits(tokens), `${what}: nominal bits`).toBeGreaterThanOrEqual(MIN_BITS);
  expect(shortest * perSymbol, `${what}: measured bits`).toBeGreaterThanOrEqual(MIN_BITS);
}

let server: Server;
let db: Db;
let survey: OpenSurvey;
let researcher: Agent;

beforeAll(async () => {
  const made = freshApp({ production: true });
  db = made.db;
  await addUser(db, "researcher");
  survey = await openSurvey(db);
  server = await listen(made.app);
  researcher = await login(server, "researcher@example.test");
});

afterAll(async () => {
  await close(server);
});

describe("link and share tokens", () => {
  it("survey link tokens: 10,000 generations, distinct, ≥ 120 bits", () => {
    const tokens = Array.from({ length: 10_000 }, () => newLinkToken());
    expectUnguessable(tokens, "link token", 10_000);
  });

  it("personal links made through the wave page: 10,000 asked in one request (made by its background job), distinct from each other and from open links", async () => {
    const csrf = await csrfOf(researcher);
    await researcher.post(`/waves/${survey.wave.id}/personal`).type("form").send({ _csrf: csrf, segment: "inactive", count: "10000" }).expect(303);
    await runJobsUntilIdle(db);
    const personal = await sqlColumn<string>(db, "SELECT token FROM links WHERE kind = 'personal'");
    const open = await sqlColumn<string>(db, "SELECT token FROM links WHERE kind = 'open'");
    expectUnguessable(personal, "personal link", 10_000);
    expect(open.filter((t) => personal.includes(t))).toEqual([]);
    for (const t of open) {
      expect(t).toMatch(ALPHABET);
      expect(t.length * 6).toBeGreaterThanOrEqual(MIN_BITS);
    }
    // The same tokens in the CSV download (the only place a researcher sees them all).
    const csv = await researcher.get(`/waves/${survey.wave.id}/personal-links.csv`).expect(200);
    expect(csv.text.split("\r\n").filter(Boolean)).toHaveLength(10_001);
  });

  it("share links made through the results page: distinct, ≥ 120 bits, refused when shortened", async () => {
    const csrf = await csrfOf(researcher);
    const n = 300;
    for (let i = 0; i < n; i++) {
      await researcher.post(`/studies/${survey.study.id}/share`).type("form").send({ _csrf: csrf }).expect(303);
    }
    const tokens = await sqlColumn<string>(db, "SELECT token FROM share_links");
    expect(tokens).toHaveLength(n);
    expectUnguessable(tokens, "share link", n);
    // A truncated or altered token reads nothing.
    const [first] = tokens;
    for (const guess of [first!.slice(0, 19), first!.slice(0, -1), `${first!.slice(0, -1)}${first!.endsWith("A") ? "B" : "A"}`, `${first}x`]) {
      expect((await request(server).get(`/r/${guess}`)).status, guess).toBe(404);
    }
  });

  it("other secrets handed to browsers: session ids, API tokens, respondent ids and form nonces carry ≥ 120 bits", async () => {
    const login = await request(server).get("/login");
    const csrfCookie = cookieValue(setCookie(login, "bl_csrf"))!;
    expect(csrfCookie).toMatch(/^[A-Za-z0-9_-]{24,}$/); // 18 random bytes: 144 bits
    const survey2 = await request(server).get(`/s/${survey.links["subscribers"]!.token}`);
    const rid = cookieValue(setCookie(survey2, "bl_rid"))!;
    expect(rid).toMatch(/^[A-Za-z0-9_-]{43}$/); // 32 bytes: 256 bits
    const nonce = /name="_n" value="([^"]+)"/.exec(survey2.text)![1]!;
    expect(nonce.length * 6).toBeGreaterThanOrEqual(128 - 4); // 16 bytes, base64url: 22 symbols
    const user = await addUser(db, "viewer", "tokens@example.test");
    const apiTokens: string[] = [];
    for (let i = 0; i < 50; i++) apiTokens.push((await createApiToken(db, user.id, "t")).token);
    expect(new Set(apiTokens).size).toBe(50);
    for (const t of apiTokens) expect(t).toMatch(/^bl_[A-Za-z0-9_-]{43}$/);
  });
});
