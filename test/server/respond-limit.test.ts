import request from "supertest";
import { asc } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { responses } from "../../db/schema.js";
import { createApp } from "../../server/app.js";
import { testConfig } from "../../server/config.js";
import { brandLiftDefinition, openSurvey } from "../fixtures/surveys.js";
import { freshDb } from "../helpers.js";
import { sqlRows } from "../support/sql.js";

/**
 * Issue 16, item 2: the survey post limit no longer costs a commit of its own on a stored page,
 * and stays one count per address for every instance on the database, whichever path a post
 * takes (stored, invalid, expired, refused link).
 */

function hidden(html: string): Record<string, string> {
  return Object.fromEntries([...html.matchAll(/<input type="hidden" name="(_\w)" value="([^"]*)">/g)].map((m) => [m[1]!, m[2]!]));
}

describe("the survey post limit", () => {
  it("counts every kind of post once, shared by two instances, and a post over it stores nothing", async () => {
    const db = freshDb();
    const config = testConfig({ surveyPostLimit: 5 });
    // Two instances on one database: each with its own kept questionnaires and pages.
    const [one, two] = [createApp({ db, config }), createApp({ db, config })];
    const survey = await openSurvey(db, brandLiftDefinition({ pageSize: 2 }));
    const url = `/s/${survey.links["subscribers"]!.token}`;
    const agent = request.agent(one);
    const form = hidden((await agent.get(url).expect(200)).text);
    const post = (app: typeof one, body: Record<string, unknown>, path = url) => request(app).post(path).set("Cookie", "").type("form").send(body);

    const statuses = [
      (await post(one, { ...form, q_aided: ["acme"], q_recall: "yes" })).status, // stored: page 1
      (await post(two, { q_recall: "yes" })).status, // no form token
      (await post(one, { ...form, _p: "1", q_fav: "9" })).status, // invalid
      (await post(two, { ...form, _p: "1" }, "/s/NoSuchTokenAtAll_123")).status, // unknown link
      (await post(one, { ...form, q_aided: ["rival"], q_recall: "no" })).status, // page 1 again
    ];
    expect(statuses).toEqual([303, 400, 422, 404, 303]);
    const before = await db.select().from(responses).orderBy(asc(responses.id));
    // The sixth post, a valid last page, on either instance: refused, and the response stays as it was.
    expect((await post(two, { ...form, _p: "1", q_fav: "4" })).status).toBe(429);
    expect((await post(one, { ...form, _p: "1", q_fav: "4" })).status).toBe(429);
    expect(await db.select().from(responses).orderBy(asc(responses.id))).toEqual(before);
    expect(before.map((r) => [r.status, r.currentPage])).toEqual([["partial", 1]]);
    expect(await sqlRows(db, "SELECT hits FROM rate_limits WHERE key LIKE 'survey-post:%'")).toEqual([{ hits: 5 }]);
    // Both instances count under one key, the address's keyed hash: the table holds no address.
    const keys = await sqlRows<{ key: string }>(db, "SELECT key FROM rate_limits");
    expect(keys.map((k) => k.key)).toEqual([expect.stringMatching(/^survey-post:[\w-]{43}$/)]);
    expect(keys[0]!.key).not.toMatch(/127\.0\.0\.1|::1|ffff/);
  });
});
