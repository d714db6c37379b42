import request from "supertest";
import { afterEach, describe, expect, it } from "vitest";
import { brandLiftDefinition, openSurvey } from "../fixtures/surveys.js";
import { isPostgres } from "../../db/client.js";
import { freshApp } from "../helpers.js";
import { watchStatements, type StatementWatch } from "../support/statements.js";

/**
 * Issue 16, item 2: what a survey hit costs the database, counted statement by statement on the
 * engine under test. The coding of text answers and the quality flags that compare a response with
 * its wave run after commit as background work (server/quality/checks-service.ts); a completing
 * response's own flags are computed from its answers within the same statements.
 */


type Agent = ReturnType<typeof request.agent>;

function hidden(html: string): Record<string, string> {
  return Object.fromEntries([...html.matchAll(/<input type="hidden" name="(_\w)" value="([^"]*)">/g)].map((m) => [m[1]!, m[2]!]));
}

/** One question a page: aided, recall, fav, feedback. */
const PAGES: Array<Record<string, string | string[]>> = [{ q_aided: ["acme", "rival"] }, { q_recall: "yes" }, { q_fav: "4" }, { q_feedback: "ok" }];

let watch: StatementWatch | undefined;
afterEach(() => watch?.stop());

async function survey() {
  const { app, db } = freshApp();
  const opened = await openSurvey(db, brandLiftDefinition({ pageSize: 1 }), { subscribers: 100 });
  watch = watchStatements(db);
  return { app, db, url: `/s/${opened.links["subscribers"]!.token}` };
}

/** Loads the page the agent is at and posts `answers` with its form token; the tally of the post alone. */
async function postPage(agent: Agent, url: string, answers: Record<string, string | string[]>) {
  const page = await agent.get(url).expect(200);
  watch!.take();
  const post = await agent.post(url).type("form").send({ ...hidden(page.text), ...answers }).expect(303);
  return { post, tally: watch!.take() };
}

/** Whether a statement reads the link's whole context (the study's columns among them). */
const readsWholeContext = (statements: readonly string[]) => statements.some((s) => /"signing_secret"/.test(s));

/** Whether a response is looked up by its browser. */
const looksUpBrowser = (statements: readonly string[]) => statements.some((s) => /"browser_hash"\s*=/i.test(s));

describe("what a survey page costs", () => {
  it("a first visit reads the link and the quota in one statement, and nothing about a browser it has just met", async () => {
    const { app, url } = await survey();
    await request(app).get(url).expect(200); // the questionnaire and the page are kept from here on
    watch!.take();

    const first = request.agent(app);
    await first.get(url).expect(200);
    const visit = watch!.take();
    expect(visit.statements).toHaveLength(1);
    expect(visit.statements[0]).toMatch(/"wave_segments"/);
    expect(looksUpBrowser(visit.statements)).toBe(false);
    expect(visit.durableCommits + visit.lightCommits).toBe(0);
    expect(visit.roundTrips).toBe(1);
    // The link's context is kept while its rows are unchanged: the statement reads their versions
    // and the quota, not the wide rows (server/services/respond.ts resolveLink).
    expect(readsWholeContext(visit.statements)).toBe(false);

    // Back with its cookie, the browser may have a response to resume: that one is looked up.
    await first.get(url).expect(200);
    const again = watch!.take();
    expect(again.statements).toHaveLength(3);
    expect(looksUpBrowser(again.statements)).toBe(true);
  });
});

describe("what a submitted page costs", () => {
  it("at most 8 statements and one durable commit per page: the first, a middle and the last page", async () => {
    const { app, db, url } = await survey();
    const agent = request.agent(app);
    const tallies = [];
    for (const answers of PAGES) tallies.push((await postPage(agent, url, answers)).tally);
    expect(tallies.at(-1)!.statements.length).toBeGreaterThan(0);
    for (const [page, tally] of tallies.entries()) {
      expect(tally.statements.length, `page ${page + 1}: ${tally.statements.join("\n")}`).toBeLessThanOrEqual(8);
      expect(tally.durableCommits, `page ${page + 1}`).toBe(1);
      // The post is counted in the page's own transaction, on both engines: no transaction of its own.
      expect(tally.lightCommits, `page ${page + 1}`).toBe(0);
      expect(tally.statements.filter((s) => /"rate_limits"/.test(s)), `page ${page + 1}`).toHaveLength(1);
    }
    // A middle page of a response already started: its link, its count, the response read with
    // its answers so far (one statement), its answers and its progress.
    expect(tallies[1]!.statements.length, tallies[1]!.statements.join("\n")).toBeLessThanOrEqual(5);
    expect(tallies[1]!.statements.filter((s) => /^\s*select/i.test(s))).toHaveLength(2);
    if (isPostgres(db)) {
      // PostgreSQL stores the page's answers and the response's progress in one statement.
      expect(tallies[1]!.statements.length).toBe(4);
      // Round trips, the link's included: the unit of work's BEGIN goes out with its first statements
      // (the post's count and the response's read, with a first page's browser read and quota count
      // and a last page's quota count), and the last page's two writes together.
      expect(tallies.map((t) => t.roundTrips)).toEqual([5, 4, 4, 4]);
      // …and each round trip is one write to the socket: the queries sent together go out together
      // (9/6/6/8 writes when each query was written on its own).
      expect(tallies.map((t) => t.socketWrites)).toEqual([5, 4, 4, 4]);
    } else {
      expect(tallies.map((t) => t.statements.length)).toEqual([7, 5, 5, 7]);
    }
    // Nor does a post read the link's wide rows: its context is kept (a page's own writes leave it unchanged).
    expect(tallies.some((t) => readsWholeContext(t.statements))).toBe(false);
  });

  it("an invalid page stores nothing and costs one commit, for its count", async () => {
    const { app, url } = await survey();
    const agent = request.agent(app);
    const page = await agent.get(url).expect(200);
    watch!.take();
    await agent.post(url).type("form").send({ ...hidden(page.text), q_aided: "nonsense" }).expect(422);
    const tally = watch!.take();
    expect(tally.statements.filter((s) => /^\s*(insert into "responses"|insert into "answers"|update "responses")/i.test(s))).toEqual([]);
    expect(tally.durableCommits + tally.lightCommits).toBe(1);
  });
});
