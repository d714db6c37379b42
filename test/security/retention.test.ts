import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { closeDatabase, openDatabase } from "../../db/client.js";
import { runMigrations } from "../../db/migrate.js";
import { incrementRateLimit } from "../../db/queries/rate-limits.js";
import { insertSession } from "../../db/queries/sessions.js";
import { createApp } from "../../server/app.js";
import { testConfig } from "../../server/config.js";
import { sha256 } from "../../server/domain/secrets.js";
import { takeLoginAttempt } from "../../server/middleware/login-throttle.js";
import { accountLimitKey, MAX_EMAIL_LENGTH } from "../../server/middleware/rate-limit.js";
import { purgeExpired } from "../../server/services/retention.js";
import { addUser, csrfFrom, freshDb } from "../helpers.js";
import { sqlColumn, sqlValue } from "../support/sql.js";
import { close, listen } from "./support.js";

/**
 * Issue 13, items 6 and 3 (keys): expired sessions and rate-limit windows used to stay forever,
 * and the per-account login key was the raw email (~95 KB stored per failed login).
 */

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const MINUTE = 60_000;
const LOGIN_WINDOW_MS = 15 * MINUTE;

async function countRows(db: ReturnType<typeof freshDb>, table: string): Promise<number> {
  return (await sqlValue<number>(db, `SELECT count(*) FROM ${table}`))!;
}

describe("purgeExpired", () => {
  it("deletes expired sessions and ended rate-limit windows, and keeps the live ones", async () => {
    const db = freshDb();
    const user = await addUser(db, "researcher");
    const now = new Date("2030-01-01T12:00:00Z");
    await insertSession(db, sha256("expired"), user.id, new Date(now.getTime() - 3 * 60 * MINUTE), new Date(now.getTime() - MINUTE));
    await insertSession(db, sha256("live"), user.id, now, new Date(now.getTime() + 60 * MINUTE));
    await incrementRateLimit(db, "login-ip:ended", new Date(now.getTime() - 20 * MINUTE), LOGIN_WINDOW_MS);
    await incrementRateLimit(db, "login-ip:running", new Date(now.getTime() - 5 * MINUTE), LOGIN_WINDOW_MS);

    expect(await purgeExpired(db, now)).toEqual({ sessions: 1, rateLimits: 1 });
    expect(await sqlColumn(db, "SELECT id_hash FROM sessions")).toEqual([sha256("live")]);
    expect(await sqlColumn(db, "SELECT key FROM rate_limits")).toEqual(["login-ip:running"]);
    // Idempotent; and once their time is up the rest goes too.
    expect(await purgeExpired(db, now)).toEqual({ sessions: 0, rateLimits: 0 });
    expect(await purgeExpired(db, new Date(now.getTime() + 2 * 60 * MINUTE))).toEqual({ sessions: 1, rateLimits: 1 });
    await closeDatabase(db);
  });

  it("runs when the server starts (npm start)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bl-purge-start-"));
    dirs.push(dir);
    const file = join(dir, "data", "brandlift.db");
    const db = openDatabase(file);
    runMigrations(db);
    const user = await addUser(db, "admin");
    const past = new Date(Date.now() - 2 * 60 * MINUTE);
    await insertSession(db, sha256("old"), user.id, past, new Date(past.getTime() + MINUTE));
    await incrementRateLimit(db, "login-ip:old", past, LOGIN_WINDOW_MS);
    await closeDatabase(db);

    const { BASE_URL: _vitestOwn, ...env } = process.env;
    const child = spawn("node_modules/.bin/tsx", ["server/main.ts"], {
      env: { ...env, PORT: "0", DATABASE_PATH: file, LOG_SILENT: "0" },
      stdio: ["ignore", "pipe", "pipe"],
      // Its own process group: tsx runs the server in a child process, which must end with it.
      detached: true,
    });
    let output = "";
    child.stdout.on("data", (c) => (output += c));
    child.stderr.on("data", (c) => (output += c));
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`server did not start:\n${output}`)), 20_000);
        child.stdout.on("data", () => {
          if (output.includes("open http")) {
            clearTimeout(timer);
            resolve();
          }
        });
        child.on("exit", (code) => reject(new Error(`server exited with ${code}:\n${output}`)));
      });
      expect(output).toContain('"msg":"purged expired rows","sessions":1,"rateLimits":1');
    } finally {
      process.kill(-child.pid!, "SIGKILL");
    }
    const after = openDatabase(file);
    expect(await countRows(after, "sessions")).toBe(0);
    expect(await countRows(after, "rate_limits")).toBe(0);
    await closeDatabase(after);
  }, 40_000);
});

describe("per-account login key", () => {
  it("is a SHA-256 of the trimmed, lower-cased email, and no key at all past 254 characters", () => {
    expect(accountLimitKey("  Ann@Example.TEST ")).toBe(sha256("ann@example.test"));
    const longest = `${"a".repeat(MAX_EMAIL_LENGTH - "@e.test".length)}@e.test`;
    expect(accountLimitKey(longest)).toBe(sha256(longest));
    expect(accountLimitKey(`a${longest}`)).toBeUndefined();
    expect(accountLimitKey("x".repeat(95_000))).toBeUndefined();
    expect(accountLimitKey("   ")).toBeUndefined();
    expect(accountLimitKey(["a@b.c"])).toBeUndefined();
    expect(accountLimitKey(undefined)).toBeUndefined();
  });
});

describe("a login flood", () => {
  /**
   * The bound: per client address and 15-minute window, at most 21 login rows — one address
   * counter and one account + address counter for each of the 20 failures the address limit lets
   * through (a refused attempt is refused at the address counter, before its account's is made) —
   * each with a key of at most 11 + 64 characters. purgeExpired removes them once the window has ended.
   */
  const BOUND_PER_ADDRESS = 21;
  const MAX_KEY = "login-pair:".length + 64;

  const email = (i: number) => (i % 100 === 0 ? `${"x".repeat(20_000)}${i}@example.test` : `victim${i}@example.test`);

  it("of 10,000 failed logins with varied emails from 50 addresses leaves at most 50 × 21 small rows (the throttle, in process)", async () => {
    const db = freshDb();
    // What POST /login takes before checking a password; HTTP costs ~10 ms a request here, so the
    // HTTP test below is smaller.
    const ADDRESSES = 50;
    let checked = 0;
    for (let i = 0; i < 10_000; i++) {
      if ((await takeLoginAttempt(db, { address: `203.0.113.${i % ADDRESSES}`, account: accountLimitKey(email(i)) })).allowed) checked++;
    }
    expect(checked).toBe(ADDRESSES * 20);
    const rows = await countRows(db, "rate_limits");
    expect(rows).toBeLessThanOrEqual(ADDRESSES * BOUND_PER_ADDRESS);
    expect(await sqlValue<number>(db, "SELECT max(length(key)) FROM rate_limits")).toBeLessThanOrEqual(MAX_KEY);
    await purgeExpired(db, new Date(Date.now() + LOGIN_WINDOW_MS + 1000));
    expect(await countRows(db, "rate_limits")).toBe(0);
    await closeDatabase(db);
  });

  it("through POST /login (600 failures with varied and huge emails from one address) leaves at most 21 small rows", async () => {
    const db = freshDb();
    // production caches the templates of the 429 page.
    const server = await listen(createApp({ db, config: testConfig({ production: true }) }));
    const address = server.address() as { port: number };
    const base = `http://127.0.0.1:${address.port}`;
    try {
      const page = await fetch(`${base}/login`);
      const cookie = page.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ");
      const csrf = csrfFrom(await page.text());
      const statuses = new Map<number, number>();
      const attempt = async (i: number) => {
        const res = await fetch(`${base}/login`, {
          method: "POST",
          headers: { "Content-Type": "application/x-www-form-urlencoded", Cookie: cookie },
          body: new URLSearchParams({ email: email(i), password: "wrong password", _csrf: csrf }).toString(),
        });
        await res.arrayBuffer();
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      };
      for (let start = 0; start < 600; start += 20) {
        await Promise.all(Array.from({ length: 20 }, (_, k) => attempt(start + k)));
      }
      expect(statuses.get(401)).toBe(20);
      expect(statuses.get(429)).toBe(580);
      expect(await countRows(db, "rate_limits")).toBeLessThanOrEqual(BOUND_PER_ADDRESS);
      expect(await sqlValue<number>(db, "SELECT max(length(key)) FROM rate_limits")).toBeLessThanOrEqual(MAX_KEY);
      expect(await sqlValue(db, "SELECT count(*) FROM rate_limits WHERE key LIKE '%example.test%'")).toBe(0);
      await purgeExpired(db, new Date(Date.now() + LOGIN_WINDOW_MS + 1000));
      expect(await countRows(db, "rate_limits")).toBe(0);
    } finally {
      await close(server);
      await closeDatabase(db);
    }
  }, 60_000);
});
