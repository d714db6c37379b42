import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { Agent } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { closeDatabase, openDatabase } from "../../db/client.js";
import { runMigrations } from "../../db/migrate.js";
import { openSurvey } from "../fixtures/surveys.js";
import { completeSurvey } from "./survey-client.js";

/** The real server process on a file database, as `npm start` runs it. */
function startServer(databasePath: string) {
  const { BASE_URL: _vitestOwn, ...env } = process.env;
  const child = spawn("node_modules/.bin/tsx", ["server/main.ts"], {
    env: { ...env, PORT: "0", DATABASE_PATH: databasePath, LOG_SILENT: "1", SURVEY_POST_LIMIT: "1000000" },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let output = "";
  child.stdout!.on("data", (c) => (output += c));
  child.stderr!.on("data", (c) => (output += c));
  const url = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no start:\n${output}`)), 20_000);
    child.stdout!.on("data", () => {
      const m = /open (http:\/\/\S+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
  });
  return { child, url };
}

/** A new database file with an open survey, served by a real server process: its links' tokens. */
async function surveyServer(file: string) {
  const path = join(mkdtempSync(join(tmpdir(), "bl-crash-")), file);
  const setup = openDatabase(path);
  runMigrations(setup);
  const tokens = Object.values((await openSurvey(setup)).links).map((l) => l.token);
  await closeDatabase(setup);
  const { child, url } = startServer(path);
  return { path, tokens, child, base: await url };
}

describe("crash durability", () => {
  it("keeps every acknowledged response after SIGKILL in the middle of a load; the file passes integrity_check", async () => {
    const { path, tokens, child, base } = await surveyServer("crash.db");
    const agent = new Agent({ keepAlive: true, maxSockets: 20 });
    const acknowledged: string[] = [];
    let killed = false;
    const clients = Array.from({ length: 20 }, async (_, i) => {
      while (!killed) {
        try {
          const r = await completeSurvey(agent, base, tokens[i % tokens.length]!);
          if (r.status === 303) acknowledged.push(r.nonce);
        } catch {
          // The connection died with the server: that post was never acknowledged.
        }
      }
    });
    await new Promise((r) => setTimeout(r, 2_000));
    const exited = new Promise((r) => child.once("exit", r));
    process.kill(-child.pid!, "SIGKILL");
    killed = true;
    await exited;
    await Promise.all(clients);
    agent.destroy();

    expect(acknowledged.length).toBeGreaterThan(10);
    const db = openDatabase(path);
    expect(db.$client.pragma("integrity_check", { simple: true })).toBe("ok");
    const stored = new Set(
      (db.$client.prepare("SELECT nonce FROM responses WHERE status = 'completed'").all() as Array<{ nonce: string }>).map((r) => r.nonce),
    );
    const lost = acknowledged.filter((n) => !stored.has(n));
    expect(lost).toEqual([]);
    // Every stored response is whole: five answers each, none half-written.
    const partial = db.$client
      .prepare("SELECT r.id FROM responses r LEFT JOIN answers a ON a.response_id = r.id GROUP BY r.id HAVING count(a.id) <> 5")
      .all();
    expect(partial).toEqual([]);
    await closeDatabase(db);
  }, 60_000);

  it("keeps a response acknowledged the moment before SIGKILL (its flush ended before the 303)", async () => {
    const { path, tokens, child, base } = await surveyServer("one.db");
    const agent = new Agent({ keepAlive: true });
    const exited = new Promise((r) => child.once("exit", r));
    const acknowledged: string[] = [];
    try {
      for (const token of tokens) {
        const r = await completeSurvey(agent, base, token);
        expect(r.status).toBe(303);
        acknowledged.push(r.nonce);
      }
    } finally {
      // Killed as soon as the last answer is in: no later commit or shutdown flushes anything for it.
      process.kill(-child.pid!, "SIGKILL");
      agent.destroy();
    }
    await exited;

    const db = openDatabase(path);
    expect(db.$client.pragma("integrity_check", { simple: true })).toBe("ok");
    const stored = (db.$client.prepare("SELECT nonce FROM responses WHERE status = 'completed'").all() as Array<{ nonce: string }>).map((r) => r.nonce);
    expect(stored.sort()).toEqual([...acknowledged].sort());
    await closeDatabase(db);
  }, 60_000);
});
