import { Agent } from "node:http";
import { mkdtempSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { closeDatabase, openDatabase } from "../../db/client.js";
import { runMigrations } from "../../db/migrate.js";
import { createApp } from "../../server/app.js";
import { testConfig } from "../../server/config.js";
import { openSurvey } from "../fixtures/surveys.js";
import { completeSurvey, type Completion } from "./survey-client.js";

const CLIENTS = 50;
const DURATION_MS = 3_000;

describe("no lost responses under load", () => {
  it(`${CLIENTS} concurrent respondents for ${DURATION_MS / 1000} s: every 303 is stored, nothing else, no duplicates, no 5xx`, async () => {
    const dir = mkdtempSync(join(tmpdir(), "bl-load-"));
    const db = openDatabase(join(dir, "load.db"));
    runMigrations(db);
    const survey = await openSurvey(db);
    const app = createApp({ db, config: testConfig() });
    const server = app.listen(0, "127.0.0.1");
    await new Promise((r) => server.once("listening", r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const agent = new Agent({ keepAlive: true, maxSockets: CLIENTS });
    const tokens = Object.values(survey.links).map((l) => l.token);

    const results: Completion[] = [];
    const until = Date.now() + DURATION_MS;
    await Promise.all(
      Array.from({ length: CLIENTS }, async (_, i) => {
        while (Date.now() < until) results.push(await completeSurvey(agent, base, tokens[i % tokens.length]!));
      }),
    );
    agent.destroy();
    await new Promise((r) => server.close(r));

    const acknowledged = results.filter((r) => r.status === 303).map((r) => r.nonce);
    expect(results.filter((r) => r.status >= 500)).toEqual([]);
    expect(results.every((r) => r.status === 303)).toBe(true);
    expect(acknowledged.length).toBeGreaterThan(CLIENTS);

    const stored = db.$client.prepare("SELECT nonce, status FROM responses").all() as Array<{ nonce: string; status: string }>;
    expect(stored.every((r) => r.status === "completed")).toBe(true);
    expect(new Set(stored.map((r) => r.nonce)).size).toBe(stored.length);
    expect(stored.map((r) => r.nonce).sort()).toEqual([...acknowledged].sort());
    const answers = db.$client.prepare("SELECT count(*) AS n FROM answers").get() as { n: number };
    expect(answers.n).toBe(acknowledged.length * 5);
    await closeDatabase(db);
  }, 60_000);
});
