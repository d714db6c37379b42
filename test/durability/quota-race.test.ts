import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { Agent } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { closeDatabase, openDatabase } from "../../db/client.js";
import { runMigrations } from "../../db/migrate.js";
import { brandLiftDefinition, openSurvey } from "../fixtures/surveys.js";
import { startServerProcess, type ServerProcess } from "../support/server-process.js";
import { hiddenFields, http, type HttpResult } from "./survey-client.js";

/**
 * Two real server processes (`server/main.ts`, as `npm start` runs it) on one SQLite file, with one
 * session secret so a form rendered by one is accepted by the other, as behind a load balancer.
 */
function startServer(databasePath: string, secret: string): ServerProcess {
  return startServerProcess({ DATABASE_PATH: databasePath, SESSION_SECRET: secret, LOG_SILENT: "1", SURVEY_POST_LIMIT: "1000000" });
}

const started: ServerProcess[] = [];
afterEach(async () => {
  for (const server of started.splice(0)) await server.stop();
});

const RESPONDENTS = 24;
const TARGET = 5;
const PAGE_1 = "q_aided=acme&q_aided=rival&q_recall=yes";
const PAGE_2 = "q_fav=4&q_feedback=%D0%BE%D0%BA";

/** One respondent's browser: its cookie, and which process answers each of its requests (they alternate). */
class Respondent {
  private cookie = "";
  private turn: number;
  readonly statuses: number[] = [];

  constructor(
    private readonly bases: readonly string[],
    private readonly path: string,
    private readonly agent: Agent,
    first: number,
  ) {
    this.turn = first;
  }

  async request(body?: string): Promise<HttpResult> {
    const base = this.bases[this.turn++ % this.bases.length]!;
    const res = await http(this.agent, `${base}${this.path}`, body === undefined ? { cookie: this.cookie } : { method: "POST", body, cookie: this.cookie });
    this.statuses.push(res.status);
    const set = res.headers["set-cookie"];
    if (set) this.cookie = String(Array.isArray(set) ? set[0] : set).split(";")[0]!;
    return res;
  }

  /** Loads the current page and posts its answers with the form's hidden fields. */
  async answer(answers: string): Promise<HttpResult> {
    const page = await this.request();
    if (page.status !== 200) throw new Error(`page answered ${page.status}`);
    return this.request(`${new URLSearchParams(hiddenFields(page.body)).toString()}&${answers}`);
  }
}

describe("quotas across processes", () => {
  it(`two server processes on one file, ${RESPONDENTS} respondents racing to complete a 2-page survey with a target of ${TARGET}: completes never exceed it, no 5xx`, async () => {
    const dir = mkdtempSync(join(tmpdir(), "bl-quota-"));
    const path = join(dir, "quota.db");
    const setup = openDatabase(path);
    runMigrations(setup);
    const survey = await openSurvey(setup, brandLiftDefinition({ pageSize: 2 }), { subscribers: TARGET });
    const link = survey.links["subscribers"]!;
    await closeDatabase(setup);

    const secret = randomBytes(32).toString("hex");
    const servers = [startServer(path, secret), startServer(path, secret)];
    started.push(...servers);
    const bases = await Promise.all(servers.map((s) => s.url));
    expect(new Set(bases).size).toBe(2);

    const agent = new Agent({ keepAlive: true, maxSockets: RESPONDENTS * 2 });
    const respondents = Array.from({ length: RESPONDENTS }, (_, i) => new Respondent(bases, `/s/${link.token}`, agent, i));
    // Everyone gets past page 1 before anyone completes, so the check at the start lets all of them in…
    const firstPages = await Promise.all(respondents.map((r) => r.answer(PAGE_1)));
    expect(firstPages.map((r) => [r.status, r.headers["location"]])).toEqual(Array(RESPONDENTS).fill([303, `/s/${link.token}`]));
    // …then all last pages at once, each one on the other process than the page before it.
    const ends = await Promise.all(respondents.map((r) => r.answer(PAGE_2)));
    agent.destroy();

    expect(respondents.flatMap((r) => r.statuses).filter((s) => s >= 500)).toEqual([]);
    const completes = ends.filter((r) => r.status === 303 && String(r.headers["location"]).includes("/thanks"));
    const stopped = ends.filter((r) => r.status === 200 && r.body.includes("Ответов пока достаточно"));
    expect(completes.length).toBeLessThanOrEqual(TARGET);
    expect([completes.length, stopped.length]).toEqual([TARGET, RESPONDENTS - TARGET]);

    const db = openDatabase(path);
    const statuses = db.$client.prepare("SELECT status, count(*) AS n FROM responses GROUP BY status ORDER BY status").all();
    expect(statuses).toEqual([
      { status: "completed", n: TARGET },
      { status: "quota_full", n: RESPONDENTS - TARGET },
    ]);
    // Every response kept both pages' answers (five rows each), completed or stopped.
    const answerCounts = db.$client.prepare("SELECT count(a.id) AS n FROM responses r LEFT JOIN answers a ON a.response_id = r.id GROUP BY r.id").all();
    expect(answerCounts).toEqual(Array(RESPONDENTS).fill({ n: 5 }));
    await closeDatabase(db);
  }, 90_000);
});
