import { randomBytes } from "node:crypto";
import { Agent } from "node:http";
import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeDatabase, openPostgres, rawRows, type Db } from "../../db/client.js";
import { links, responses } from "../../db/schema.js";
import { brandLiftDefinition, openSurvey, personalLink } from "../fixtures/surveys.js";
import { addUser, csrfFrom, PASSWORD } from "../helpers.js";
import { createThrowawayDatabase, postgresTestsRun, type ThrowawayDatabase } from "../support/postgres.js";
import { startServerProcess, type ServerProcess } from "../support/server-process.js";
import { hiddenFields, http, type HttpResult } from "./survey-client.js";

/**
 * Issue 15, item 3: three real server processes (`server/main.ts`, as `npm start` runs it) on one
 * PostgreSQL database, behind a pretend load balancer that sends each request to the next one.
 * They start together on an empty database (the migrations take turns), share the session secret,
 * and sit behind one trusted proxy hop, so each simulated client has an address of its own
 * (X-Forwarded-For) and the per-address limits can be tested without the tests starving each other.
 */
const INSTANCES = 3;
const SURVEY_POST_LIMIT = 6;
const SECRET = randomBytes(32).toString("hex");
const RESEARCHER = "researcher@example.test";
const PAGE_1 = "q_aided=acme&q_aided=rival&q_recall=yes";
const PAGE_2 = "q_fav=4&q_feedback=%D0%BE%D0%BA";
const ALL_ANSWERS = `${PAGE_1}&${PAGE_2}`;

function startInstance(url: string): ServerProcess {
  return startServerProcess(
    {
      DATABASE_URL: url,
      SESSION_SECRET: SECRET,
      TRUST_PROXY: "1",
      SURVEY_POST_LIMIT: String(SURVEY_POST_LIMIT),
      DEFAULT_LOCALE: "en",
      LOG_SILENT: "1",
    },
    { drop: ["DATABASE_PATH"], timeoutMs: 90_000 },
  );
}

/** Every answer any instance gave, to check that none was a 5xx. */
const answered: Array<{ url: string; status: number }> = [];
const agent = new Agent({ keepAlive: true, maxSockets: 64 });

/** One client (a browser at its own address): its cookies, and the instance its next request goes to. */
class Browser {
  private readonly cookies = new Map<string, string>();
  private turn: number;

  constructor(
    private readonly bases: readonly string[],
    readonly address: string,
    first = 0,
  ) {
    this.turn = first;
  }

  /** The instance the next request goes to (round-robin, starting at `first`). */
  nextBase(): string {
    return this.bases[this.turn++ % this.bases.length]!;
  }

  async request(path: string, body?: string, base = this.nextBase()): Promise<HttpResult> {
    const cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
    const res = await http(agent, `${base}${path}`, {
      ...(body === undefined ? {} : { method: "POST", body }),
      cookie,
      headers: { "X-Forwarded-For": this.address },
    });
    answered.push({ url: `${base}${path}`, status: res.status });
    const set = res.headers["set-cookie"];
    for (const line of Array.isArray(set) ? set : set ? [set] : []) {
      const [pair = ""] = line.split(";");
      const at = pair.indexOf("=");
      this.cookies.set(pair.slice(0, at), pair.slice(at + 1));
    }
    return res;
  }

  /** Loads the survey's current page on one instance and posts `answers` with its hidden fields to the next. */
  async answer(path: string, answers: string): Promise<{ page: HttpResult; post: HttpResult; body: string }> {
    const page = await this.request(path);
    if (page.status !== 200) throw new Error(`${path} answered ${page.status}`);
    const body = `${new URLSearchParams(hiddenFields(page.body)).toString()}&${answers}`;
    return { page, post: await this.request(path, body), body };
  }

  /** Signs in on the next instance (the login page from the one before it). */
  async login(email: string, password: string): Promise<HttpResult> {
    const page = await this.request("/login");
    return this.request("/login", new URLSearchParams({ email, password, _csrf: csrfFrom(page.body) }).toString());
  }
}

const isThanks = (res: HttpResult) => res.status === 303 && String(res.headers["location"]).includes("/thanks");
let nextAddress = 1;
/** A client address no other browser of this file uses (the per-address limits stay per test). */
const freshAddress = () => `10.15.${Math.floor(nextAddress / 250)}.${(nextAddress++ % 250) + 1}`;

describe.runIf(postgresTestsRun("instances-postgres.test.ts"))("three instances on one PostgreSQL database", () => {
  let database: ThrowawayDatabase;
  let db: Db;
  let bases: string[];
  const children: ServerProcess[] = [];
  const browser = (first = 0) => new Browser(bases, freshAddress(), first);

  beforeAll(async () => {
    database = await createThrowawayDatabase();
    // All three at once on an empty database: each applies the migrations at start.
    const instances = Array.from({ length: INSTANCES }, () => startInstance(database.url));
    children.push(...instances);
    bases = await Promise.all(instances.map((i) => i.url));
    expect(new Set(bases).size).toBe(INSTANCES);
    db = openPostgres(database.url, { max: 4 });
    await addUser(db, "researcher", RESEARCHER);
  }, 180_000);

  afterAll(async () => {
    agent.destroy();
    for (const child of children) await child.stop();
    if (db) await closeDatabase(db);
    await database?.drop();
  });

  it("applied the migrations once although the three started together", async () => {
    const applied = await rawRows<{ hash: string; n: number }>(db, sql`SELECT hash, count(*)::int AS n FROM drizzle.__drizzle_migrations GROUP BY hash`);
    expect(applied.length).toBeGreaterThan(0);
    expect(applied.every((m) => m.n === 1)).toBe(true);
  });

  it("respondents sent round-robin: every acknowledged response is stored exactly once, and nothing else", async () => {
    const survey = await openSurvey(db, brandLiftDefinition({ pageSize: 2 }));
    const path = `/s/${survey.links["subscribers"]!.token}`;
    const respondents = Array.from({ length: 9 }, (_, i) => browser(i));
    const finals = await Promise.all(
      respondents.map(async (r, i) => {
        const first = await r.answer(path, PAGE_1);
        expect([first.post.status, first.post.headers["location"]]).toEqual([303, path]);
        const last = await r.answer(path, PAGE_2);
        // Every third one sends its last page again, to yet another instance (a resend after a timeout).
        if (i % 3 === 0) await r.request(path, last.body);
        return last.post;
      }),
    );
    const acknowledged = finals.filter(isThanks).length;
    expect(acknowledged).toBe(respondents.length);
    const stored = await db.select({ status: responses.status, completedAt: responses.completedAt }).from(responses).where(eq(responses.waveId, survey.wave.id));
    expect(stored.map((r) => r.status)).toEqual(Array(acknowledged).fill("completed"));
    const answerRows = await rawRows<{ n: number }>(db, sql`SELECT count(*)::int AS n FROM answers a JOIN responses r ON r.id = a.response_id WHERE r.wave_id = ${survey.wave.id}`);
    expect(answerRows).toEqual([{ n: acknowledged * 5 }]);
  }, 120_000);

  it("one personal link raced from all three instances stores exactly one response", async () => {
    const survey = await openSurvey(db);
    const link = await personalLink(db, survey);
    const path = `/s/${link.token}`;
    const phones = Array.from({ length: 6 }, (_, i) => browser(i));
    // Every phone gets the form before any submits, then all submit at once, each to another instance than it loaded from.
    const pages = await Promise.all(phones.map((p) => p.request(path)));
    expect(pages.map((p) => p.status)).toEqual(Array(phones.length).fill(200));
    const posts = await Promise.all(phones.map((p, i) => p.request(path, `${new URLSearchParams(hiddenFields(pages[i]!.body)).toString()}&${ALL_ANSWERS}`)));
    expect(posts.filter(isThanks)).toHaveLength(1);
    const stored = await db.select({ status: responses.status }).from(responses).where(eq(responses.linkId, link.id));
    expect(stored).toEqual([{ status: "completed" }]);
    expect(await db.select({ uses: links.uses }).from(links).where(eq(links.id, link.id))).toEqual([{ uses: 1 }]);
  }, 120_000);

  it("a quota with a target of 3 raced by 9 respondents over three instances completes exactly 3", async () => {
    const target = 3;
    const survey = await openSurvey(db, brandLiftDefinition({ pageSize: 2 }), { subscribers: target });
    const path = `/s/${survey.links["subscribers"]!.token}`;
    const respondents = Array.from({ length: 9 }, (_, i) => browser(i));
    // Everyone gets past page 1 before anyone completes, so the check at the start lets all of them in…
    const firstPages = await Promise.all(respondents.map((r) => r.answer(path, PAGE_1)));
    expect(firstPages.map((r) => r.post.status)).toEqual(Array(respondents.length).fill(303));
    // …then all last pages at once, spread over the instances.
    const ends = await Promise.all(respondents.map((r) => r.answer(path, PAGE_2)));
    expect(ends.filter((e) => isThanks(e.post))).toHaveLength(target);
    expect(ends.filter((e) => e.post.status === 200 && e.post.body.includes("Ответов пока достаточно"))).toHaveLength(respondents.length - target);
    const statuses = await rawRows<{ status: string; n: number }>(db, sql`SELECT status, count(*)::int AS n FROM responses WHERE wave_id = ${survey.wave.id} GROUP BY status ORDER BY status`);
    expect(statuses).toEqual([
      { status: "completed", n: target },
      { status: "quota_full", n: respondents.length - target },
    ]);
  }, 120_000);

  it("a login on one instance works on the other two, and a logout on one ends it on all", async () => {
    const researcher = browser(0);
    const login = await researcher.login(RESEARCHER, PASSWORD);
    expect([login.status, login.headers["location"]]).toEqual([303, "/"]);
    const onOthers = [await researcher.request("/studies", undefined, bases[1]), await researcher.request("/studies", undefined, bases[2])];
    expect(onOthers.map((r) => r.status)).toEqual([200, 200]);
    // Signed in there: the page has the signed-in header with its logout form.
    expect(onOthers.every((r) => r.body.includes('action="/logout"'))).toBe(true);
    const logout = await researcher.request("/logout", new URLSearchParams({ _csrf: csrfFrom(onOthers[1]!.body) }).toString(), bases[2]);
    expect(logout.status).toBe(303);
    const after = await researcher.request("/studies", undefined, bases[0]);
    expect([after.status, after.headers["location"]]).toEqual([303, "/login?next=%2Fstudies"]);
  }, 60_000);

  it("the login throttle is shared: 10 wrong passwords spread over the instances, then the 11th attempt is refused", async () => {
    const guesser = browser(0);
    const page = await guesser.request("/login");
    const token = csrfFrom(page.body);
    const post = (password: string) => guesser.request("/login", new URLSearchParams({ email: RESEARCHER, password, _csrf: token }).toString());
    const wrong: number[] = [];
    for (let i = 0; i < 10; i++) wrong.push((await post(`wrong guess ${i}`)).status);
    expect(wrong).toEqual(Array(10).fill(401));
    // Even the right password: the pair's counter is spent, whichever instance is asked.
    expect((await post(PASSWORD)).status).toBe(429);
    expect((await post(PASSWORD)).status).toBe(429);
  }, 60_000);

  it(`the survey post limit is shared: ${SURVEY_POST_LIMIT} posts a minute from one address over the instances, then 429`, async () => {
    const survey = await openSurvey(db);
    const path = `/s/${survey.links["subscribers"]!.token}`;
    const client = browser(0);
    const statuses: number[] = [];
    for (let i = 0; i <= SURVEY_POST_LIMIT; i++) statuses.push((await client.request(path, "q_recall=yes")).status);
    // Without the form's token each post is refused as expired (400); the one past the limit is not even read.
    expect(statuses).toEqual([...Array(SURVEY_POST_LIMIT).fill(400), 429]);
  }, 60_000);

  it("a wave closed through one instance is closed on the other two at the very next request", async () => {
    const survey = await openSurvey(db);
    const path = `/s/${survey.links["subscribers"]!.token}`;
    // Each instance has served the open survey (anything it kept in memory would be warm now)…
    const visitor = browser(0);
    const opened = await Promise.all(bases.map((base) => visitor.request(path, undefined, base)));
    expect(opened.map((r) => r.status)).toEqual([200, 200, 200]);
    // …and a respondent holds a form from instance 1.
    const respondent = browser(1);
    const form = await respondent.request(path);
    expect(form.status).toBe(200);

    const researcher = browser(0);
    expect((await researcher.login(RESEARCHER, PASSWORD)).status).toBe(303);
    const wavePage = await researcher.request(`/waves/${survey.wave.id}`, undefined, bases[0]);
    expect(wavePage.status).toBe(200);
    const close = await researcher.request(`/waves/${survey.wave.id}/close`, new URLSearchParams({ _csrf: csrfFrom(wavePage.body) }).toString(), bases[0]);
    expect([close.status, close.headers["location"]]).toEqual([303, `/waves/${survey.wave.id}?done=closed`]);

    expect((await visitor.request(path, undefined, bases[1])).status).toBe(410);
    expect((await visitor.request(path, undefined, bases[2])).status).toBe(410);
    const late = await respondent.request(path, `${new URLSearchParams(hiddenFields(form.body)).toString()}&${ALL_ANSWERS}`, bases[2]);
    expect(late.status).toBe(410);
    expect(await db.select({ id: responses.id }).from(responses).where(eq(responses.waveId, survey.wave.id))).toEqual([]);
  }, 60_000);

  it("no instance answered anything with a 5xx", () => {
    expect(answered.length).toBeGreaterThan(100);
    expect(answered.filter((a) => a.status >= 500)).toEqual([]);
  });
});
