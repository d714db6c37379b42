import request from "supertest";
import { asc, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { responses } from "../../db/schema.js";
import { brandLiftDefinition, openSurvey } from "../fixtures/surveys.js";
import { freshApp } from "../helpers.js";
import { sqlRows, sqlValue } from "../support/sql.js";

/**
 * Issue 16, item 2: survey pages are filled from a page rendered once per study version, page and
 * language, and the questionnaire is kept per study version. What must hold: every respondent gets
 * their own form token and option order, nothing of one respondent shows on another's page, the
 * kept page is the fresh rendering byte for byte, and a change written by another instance (here a
 * direct write to the database) is on the very next page served.
 */

type Agent = ReturnType<typeof request.agent>;

function hidden(html: string): Record<string, string> {
  return Object.fromEntries([...html.matchAll(/<input type="hidden" name="(_\w)" value="([^"]*)">/g)].map((m) => [m[1]!, m[2]!]));
}

const aidedOrder = (html: string) => [...html.matchAll(/name="q_aided" value="(\w+)"/g)].map((m) => m[1]);

/** The aided question (rotated options) on the second page: a resumed page, whose form token is the stored one. */
function aidedSecond() {
  const [aided, recall, ...rest] = brandLiftDefinition().questions;
  return brandLiftDefinition({ pageSize: 1, questions: [recall!, aided!, ...rest] });
}

async function pastFirstPage(agent: Agent, url: string) {
  const first = await agent.get(url).expect(200);
  await agent.post(url).type("form").send({ ...hidden(first.text), q_recall: "yes" }).expect(303);
}

describe("kept survey pages", () => {
  it("give every respondent their own form token, cookie and option order, each of which stores its own response", async () => {
    const { app, db } = freshApp();
    const survey = await openSurvey(db);
    const url = `/s/${survey.links["subscribers"]!.token}`;
    const agents = Array.from({ length: 6 }, () => request.agent(app));
    const pages = [];
    for (const agent of agents) pages.push(await agent.get(url).expect(200));
    const tokens = pages.map((p) => hidden(p.text));
    expect(new Set(tokens.map((t) => t["_n"])).size).toBe(agents.length);
    expect(new Set(tokens.map((t) => t["_s"])).size).toBe(agents.length);
    expect(new Set(pages.map((p) => String(p.headers["set-cookie"]))).size).toBe(agents.length);
    // Orders differ between respondents (4 shuffled options, 6 respondents) and "none" stays last.
    expect(new Set(pages.map((p) => aidedOrder(p.text).join())).size).toBeGreaterThan(1);
    for (const p of pages) expect(aidedOrder(p.text).at(-1)).toBe("none");

    for (const [i, agent] of agents.entries()) {
      await agent.post(url).type("form").send({ ...tokens[i], q_aided: ["acme"], q_recall: "yes", q_fav: "3" }).expect(303);
    }
    const stored = await db.select().from(responses).orderBy(asc(responses.id));
    expect(stored.map((r) => r.nonce)).toEqual(tokens.map((t) => t["_n"]));
    expect(stored.map((r) => r.optionOrder?.["aided"])).toEqual(pages.map((p) => aidedOrder(p.text)));
    expect(stored.every((r) => r.status === "completed")).toBe(true);
  });

  it("are the page rendered afresh, byte for byte, with the respondent's own order, language and address", async () => {
    const { app, db } = freshApp();
    const survey = await openSurvey(db, aidedSecond());
    const url = `/s/${survey.links["subscribers"]!.token}`;
    const agent = request.agent(app);
    await pastFirstPage(agent, `${url}?rid=7`);
    // The first request for this page renders it; the second is filled from what was kept.
    const rendered = (await agent.get(`${url}?rid=7&lang=en`).expect(200)).text;
    const kept = (await agent.get(`${url}?rid=7&lang=en`).expect(200)).text;
    expect(kept).toBe(rendered);
    expect(kept).toContain('action="/s/' + survey.links["subscribers"]!.token + '?rid=7"');
    expect(kept).toContain(`href="/s/${survey.links["subscribers"]!.token}?rid=7&amp;lang=ru"`);
    expect(kept).toContain("Which brands do you know?");

    // Another respondent, another order, from the same kept page: the order stored for them.
    const other = request.agent(app);
    await pastFirstPage(other, url);
    const theirs = (await other.get(`${url}?lang=en`).expect(200)).text;
    const [, second] = await db.select().from(responses).orderBy(asc(responses.id));
    expect(aidedOrder(theirs)).toEqual(second!.optionOrder!["aided"]);
    expect(hidden(theirs)["_n"]).toBe(second!.nonce);
  });

  it("never show one respondent's answers, errors or parameters to another", async () => {
    const { app, db } = freshApp();
    const survey = await openSurvey(db);
    const url = `/s/${survey.links["subscribers"]!.token}`;
    const a = request.agent(app);
    const page = await a.get(`${url}?rid=A-41`).expect(200);
    const refused = await a
      .post(`${url}?rid=A-41`)
      .type("form")
      .send({ ...hidden(page.text), q_aided: ["acme", "none"], q_recall: "yes", q_fav: "2", q_feedback: "secret of A" })
      .expect(422);
    expect(refused.text).toContain("secret of A");
    expect(refused.text).toContain('class="error"');

    const b = (await request.agent(app).get(`${url}?rid=B-52`).expect(200)).text;
    expect(b).not.toContain("secret of A");
    expect(b).not.toContain("A-41");
    expect(b).not.toContain('class="error"');
    expect(b).not.toContain(" checked");
    expect(b).toContain("rid=B-52");
    expect(hidden(b)["_n"]).not.toBe(hidden(page.text)["_n"]);
  });

  it("show a questionnaire changed by another instance at the very next request", async () => {
    const { app, db } = freshApp();
    const survey = await openSurvey(db);
    const url = `/s/${survey.links["subscribers"]!.token}`;
    expect((await request(app).get(`${url}?lang=en`).expect(200)).text).toContain("Which brands do you know?");
    const before = await sqlValue<number>(db, "SELECT version FROM studies WHERE id = ?", [survey.study.id]);

    // Another instance rewords a question and adds an option: straight into the database.
    const [aided] = await sqlRows<{ id: number }>(db, "SELECT id FROM questions WHERE study_id = ? AND key = 'aided'", [survey.study.id]);
    await sqlRows(db, "UPDATE questions SET text = ? WHERE id = ?", [JSON.stringify({ ru: "Какие марки вам знакомы?", en: "Which makes do you know?" }), aided!.id]);
    await sqlRows(db, "INSERT INTO options (question_id, key, position, text, exclusive, pinned, attention_check) VALUES (?, 'fourth', 9, ?, FALSE, FALSE, FALSE)", [
      aided!.id,
      JSON.stringify({ ru: "Четвёртый", en: "Fourth" }),
    ]);
    expect(await sqlValue<number>(db, "SELECT version FROM studies WHERE id = ?", [survey.study.id])).toBeGreaterThan(before!);

    const after = (await request(app).get(`${url}?lang=en`).expect(200)).text;
    expect(after).toContain("Which makes do you know?");
    expect(after).not.toContain("Which brands do you know?");
    expect(aidedOrder(after)).toContain("fourth");
    // …and a post is validated against the questionnaire as it is now.
    const agent = request.agent(app);
    const form = hidden((await agent.get(url).expect(200)).text);
    await agent.post(url).type("form").send({ ...form, q_aided: ["fourth"], q_recall: "no", q_fav: "5" }).expect(303);
    const [stored] = await db.select().from(responses).where(eq(responses.waveId, survey.wave.id));
    expect(stored!.status).toBe("completed");
  });

  it("show a link, wave or study changed by another instance at the very next request (the link's context is kept while its rows are unchanged)", async () => {
    const { app, db } = freshApp();
    const survey = await openSurvey(db);
    const link = survey.links["subscribers"]!;
    const url = `/s/${link.token}`;
    const title = (html: string) => /<title>([^<]*)<\/title>/.exec(html)?.[1];
    await request(app).get(url).expect(200);
    await request(app).get(url).expect(200);

    await sqlRows(db, "UPDATE studies SET public_title = ? WHERE id = ?", ["Opinions 2027", survey.study.id]);
    expect(title((await request(app).get(url).expect(200)).text)).toContain("Opinions 2027");

    await sqlRows(db, "UPDATE waves SET status = 'closed' WHERE id = ?", [survey.wave.id]);
    await request(app).get(url).expect(410);
    await sqlRows(db, "UPDATE waves SET status = 'open' WHERE id = ?", [survey.wave.id]);
    await request(app).get(url).expect(200);

    // A post too reads the link as it is now.
    const agent = request.agent(app);
    const form = hidden((await agent.get(url).expect(200)).text);
    await sqlRows(db, "UPDATE links SET disabled_at = ? WHERE id = ?", [Date.now(), link.id]);
    await agent.post(url).type("form").send({ ...form, q_aided: ["acme"] }).expect(404);
    await request(app).get(url).expect(404);
    expect(await db.select().from(responses).where(eq(responses.waveId, survey.wave.id))).toEqual([]);
  });
});
