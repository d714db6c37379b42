import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { closeDatabase, openDatabase } from "../../db/client.js";

/** Starts `server/main.ts` from source, on a free port and a new database file (deployed.test.ts runs `npm start`). */
function startServer(dir: string): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const { BASE_URL: _vitestOwn, ...env } = process.env;
  const child = spawn("node_modules/.bin/tsx", ["server/main.ts"], {
    env: { ...env, PORT: "0", DATABASE_PATH: join(dir, "data", "brandlift.db"), LOG_SILENT: "0" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (chunk) => (output += chunk));
  child.stderr!.on("data", (chunk) => (output += chunk));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${output}`)), 20_000);
    child.stdout!.on("data", () => {
      const match = /open (http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve({ child, url: match[1]!, output: () => output });
      }
    });
    child.on("exit", (code) => reject(new Error(`server exited with ${code}:\n${output}`)));
  });
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => child.on("exit", (code) => resolve(code)));
}

describe("server/main.ts", () => {
  it("starts on a new SQLite file, serves set-up, and finishes a request in flight on SIGTERM", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bl-main-"));
    const { child, url, output } = await startServer(dir);
    try {
      expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ status: "ok" });
      const setup = await fetch(`${url}/setup`);
      expect(setup.status).toBe(200);
      expect(existsSync(join(dir, "data", "session-secret"))).toBe(true);

      // A request whose body is still arriving when the signal comes.
      const body = "email=slow%40example.test&password=x";
      const answered = new Promise<number>((resolve, reject) => {
        const req = httpRequest(`${url}/login`, {
          method: "POST",
          headers: { "Content-Type": "application/x-www-form-urlencoded", "Content-Length": Buffer.byteLength(body) },
        });
        req.on("response", (res) => {
          res.resume();
          resolve(res.statusCode!);
        });
        req.on("error", reject);
        req.write(body.slice(0, 10));
        // Generous pauses: on a loaded machine the server must have parsed the headers (so the
        // connection counts as busy, not idle) before the signal comes.
        setTimeout(() => {
          child.kill("SIGTERM");
          setTimeout(() => req.end(body.slice(10)), 500);
        }, 700);
      });
      const exit = exited(child);
      // No CSRF token, so 403 — what matters is that it was answered, not cut off.
      expect(await answered).toBe(403);
      expect(await exit).toBe(0);
      expect(output()).toContain('"msg":"stopped"');
    } finally {
      child.kill("SIGKILL");
    }

    const db = openDatabase(join(dir, "data", "brandlift.db"));
    const migrated = db.$client.prepare("SELECT count(*) AS n FROM __drizzle_migrations").get() as { n: number };
    expect(migrated.n).toBeGreaterThan(0);
    await closeDatabase(db);
  }, 40_000);
});
