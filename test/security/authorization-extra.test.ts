import request from "supertest";
import { afterAll, describe, expect, it } from "vitest";
import type { AccountKind as Role } from "../../db/schema.js";
import { createApiToken } from "../../server/services/accounts.js";
import { createWave } from "../../server/services/study-setup.js";
import { insertResponseWithAnswers } from "../fixtures/responses.js";
import { brandLiftDefinition, openSurvey } from "../fixtures/surveys.js";
import { addUser, csrfFrom, freshApp } from "../helpers.js";
import { sqlColumn, sqlRows, sqlValue } from "../support/sql.js";
import { close, csrfOf, listen, login, snapshotAll, type Agent } from "./support.js";

/**
 * What test/server/authorization.test.ts (the matrix of the workspace and API routes) leaves
 * out: the results page, the report, share links and their revocation, the public /r/ page,
 * the exports (pages and API), the planner and the quality pages; plus cross-study access
 * through another study's URL. Routes that answer 404 for everyone are not served yet and are
 * skipped, named.
 */

type Who = "anonymous" | Role;
const RANK: Record<Who, number> = { anonymous: 0, viewer: 1, researcher: 2, owner: 3, admin: 4 };
const EXCEPT = ["sessions", "rate_limits", "api_tokens"];

async function build() {
  const { app, db } = freshApp({ production: true });
  const people = { viewer: await addUser(db, "viewer"), researcher: await addUser(db, "researcher"), admin: await addUser(db, "admin") };
  const tokens = {} as Record<Role, string>;
  for (const [role, u] of Object.entries(people)) tokens[role as Role] = (await createApiToken(db, u.id, role)).token;
  // Study A with two waves of data, study B beside it.
  const a = await openSurvey(db);
  const post = await createWave(db, a.study.id, "post", "Post");
  for (const wave of [a.wave.id, post.id]) {
    for (let i = 0; i < 4; i++) {
      await insertResponseWithAnswers(db, a.study.id, { waveId: wave, segmentId: a.segments[0]!.id, answers: { aided: i % 2 ? ["acme"] : ["none"], recall: "yes", fav: 5 } });
    }
  }
  const b = await openSurvey(db, brandLiftDefinition({ name: "Study B" }));
  const bResponse = await insertResponseWithAnswers(db, b.study.id, { waveId: b.wave.id, segmentId: b.segments[0]!.id, answers: { aided: ["acme"], recall: "no", fav: 2 } });
  const bPost = await createWave(db, b.study.id, "post", "Post");
  await insertResponseWithAnswers(db, b.study.id, { waveId: bPost.id, segmentId: b.segments[0]!.id, answers: { aided: ["acme"], recall: "yes", fav: 4 } });
  // Study C is still in its first wave: no results to compare yet.
  const c = await openSurvey(db, brandLiftDefinition({ name: "Study C" }));
  const server = await listen(app);
  const agents = {} as Record<Who, Agent>;
  agents.anonymous = request.agent(server);
  const anonymousCsrf = csrfFrom((await agents.anonymous.get("/login")).text);
  const csrf = { anonymous: anonymousCsrf } as Record<Who, string>;
  for (const role of ["viewer", "researcher", "admin"] as const) {
    agents[role] = await login(server, people[role].email);
    csrf[role] = await csrfOf(agents[role]);
  }
  // A share link of each study, made by the researcher.
  for (const study of [a.study.id, b.study.id, c.study.id]) {
    await agents.researcher.post(`/studies/${study}/share`).type("form").send({ _csrf: csrf.researcher }).expect(303);
  }
  const shares = await sqlRows<{ id: number; token: string; studyId: number }>(db, 'SELECT id, token, study_id AS "studyId" FROM share_links ORDER BY id');
  return { db, server, agents, csrf, tokens, a, b, c, bResponse, shares };
}

const w = await build();

afterAll(async () => {
  await close(w.server);
});

const A = w.a.study.id;


interface Route {
  method: "GET" | "POST";
  url: string;
  role: Role;
  form?: Record<string, string>;
}

const GETS: Route[] = [
  { method: "GET", url: `/studies/${A}/results`, role: "viewer" },
  { method: "GET", url: `/studies/${A}/report`, role: "viewer" },
  { method: "GET", url: `/studies/${A}/planner`, role: "viewer" },
  { method: "GET", url: `/studies/${A}/quality`, role: "viewer" },
  { method: "GET", url: `/studies/${A}/quality/coding`, role: "viewer" },
  ...["results.csv", "results.xlsx", "results.json", "results.R", "responses.csv", "responses.xlsx", "codebook.csv"].map((e): Route => ({ method: "GET", url: `/studies/${A}/${e}`, role: "viewer" })),
];

const POSTS: Route[] = [
  { method: "POST", url: `/studies/${A}/share`, role: "researcher", form: { days: "3" } },
  { method: "POST", url: `/studies/${A}/quality/recompute`, role: "researcher" },
  { method: "POST", url: `/studies/${A}/quality/settings`, role: "researcher" },
  { method: "POST", url: `/studies/${A}/quality/exclusions`, role: "researcher", form: { ids: "1", reason: "test", action: "exclude" } },
  { method: "POST", url: `/studies/${A}/quality/coding/aliases`, role: "researcher", form: { alias: "akme", code: "brand" } },
  { method: "POST", url: `/studies/${A}/quality/coding/recode`, role: "researcher" },
];

describe.each(["anonymous", "viewer", "researcher", "admin"] as const)("results, share, planner, quality and export pages as %s (a route answering 404 is skipped)", (who) => {
  for (const route of GETS) {
    it(`GET ${route.url.replace(String(A), ":studyId")}`, async () => {
      const res = await w.agents[who].get(route.url);
      if (who === "anonymous") {
        expect(res.status).toBe(303);
        expect(res.headers["location"]).toBe(`/login?next=${encodeURIComponent(route.url)}`);
      } else if (RANK[who] < RANK[route.role]) expect(res.status).toBe(403);
      else expect([200, 409]).toContain(res.status);
    });
  }

  for (const route of POSTS) {
    it(`POST ${route.url.replace(String(A), ":studyId")}`, async () => {
      const before = await snapshotAll(w.db, EXCEPT);
      const res = await w.agents[who].post(route.url).type("form").send({ ...route.form, _csrf: w.csrf[who] });
      if (who === "anonymous") {
        expect(res.status).toBe(303);
        expect(res.headers["location"]).toMatch(/^\/login/);
      } else if (RANK[who] < RANK[route.role]) {
        expect(res.status).toBe(403);
      } else {
        expect(res.status).toBeLessThan(500);
        expect(res.status).not.toBe(403);
        return;
      }
      expect(await snapshotAll(w.db, EXCEPT)).toEqual(before);
    });
  }

  it("POST /studies/:studyId/share/:shareId/revoke", async () => {
    const share = w.shares[0]!;
    const before = await snapshotAll(w.db, EXCEPT);
    const res = await w.agents[who].post(`/studies/${A}/share/${share.id}/revoke`).type("form").send({ _csrf: w.csrf[who] });
    if (RANK[who] >= RANK.researcher) {
      expect(res.status).toBe(303);
      expect((await request(w.server).get(`/r/${share.token}`)).status).toBe(404);
      // Restore it for the next role.
      await sqlRows(w.db, "UPDATE share_links SET revoked_at = NULL WHERE id = ?", [share.id]);
      return;
    }
    expect(res.status).toBe(who === "anonymous" ? 303 : 403);
    expect(await snapshotAll(w.db, EXCEPT)).toEqual(before);
    expect((await request(w.server).get(`/r/${share.token}`)).status).toBe(200);
  });
});

describe("the API's results and exports", () => {
  for (const e of ["results", "results.csv", "results.xlsx", "results.json", "results.R", "responses.csv", "responses.xlsx", "codebook.csv"]) {
    const path = `/api/studies/${A}/${e}`;
    it(`GET /api/studies/:id/${e}: 401 without a token, allowed to a viewer`, async () => {
      expect((await request(w.server).get(path)).status).toBe(401);
      expect((await request(w.server).get(path).set("Authorization", "Bearer bl_notarealtokennotarealtokennotarealtoken00")).status).toBe(401);
      // A session cookie is not an API credential.
      expect((await w.agents.admin.get(path)).status).toBe(401);
      expect((await request(w.server).get(path).set("Authorization", `Bearer ${w.tokens.viewer}`)).status).toBe(200);
    });
  }
});

describe("share links", () => {
  it("show the report of their own study only, to anyone, with nothing to act on", async () => {
    const [shareA, shareB] = w.shares;
    const res = await request(w.server).get(`/r/${shareA!.token}`).expect(200);
    expect(res.text).toContain("Spring campaign");
    expect(res.text).not.toContain("Study B");
    expect((await request(w.server).get(`/r/${shareB!.token}`).expect(200)).text).toContain("Study B");
    // No form, no CSRF token, no survey or share tokens, no export or workspace links for the reader.
    expect(res.text).not.toMatch(/<form[^>]*method="post"/i);
    expect(res.text).not.toContain('name="_csrf"');
    const linkTokens = await sqlColumn<string>(w.db, "SELECT token FROM links");
    for (const t of [...linkTokens, shareB!.token]) expect(res.text).not.toContain(t);
    expect(res.text).not.toMatch(/href="\/studies\/\d+\/(responses|results)\.(csv|xlsx)/);
    // The token opens the report, not the workspace.
    await request(w.server).get(`/studies/${A}/results`).expect(303);
    expect(res.headers["x-robots-tag"]).toBe("noindex");
    expect(res.headers["cache-control"]).toBe("no-store");
  });

  // Was a bug (a 500: the empty-results page read user.role for an anonymous reader).
  it("of a study without two waves yet show a page saying so, not a 500", async () => {
    const shareC = w.shares[2]!;
    const res = await request(w.server).get(`/r/${shareC.token}`);
    expect(res.status).toBe(200);
    expect(res.text).toContain("Study C");
    expect(res.text).not.toContain(`/studies/${w.c.study.id}/settings`);
  });

  it("stop at their expiry and cannot be revoked through another study's URL", async () => {
    const [shareA, shareB] = w.shares;
    const before = await snapshotAll(w.db, EXCEPT);
    // Study B's share id under study A's URL: not found, not revoked.
    await w.agents.researcher.post(`/studies/${A}/share/${shareB!.id}/revoke`).type("form").send({ _csrf: w.csrf.researcher }).expect(404);
    await w.agents.researcher.post(`/studies/${A}/share/999999/revoke`).type("form").send({ _csrf: w.csrf.researcher }).expect(404);
    await w.agents.researcher.post(`/studies/${A}/share/abc/revoke`).type("form").send({ _csrf: w.csrf.researcher }).expect(404);
    expect(await snapshotAll(w.db, EXCEPT)).toEqual(before);
    await request(w.server).get(`/r/${shareB!.token}`).expect(200);
    await sqlRows(w.db, "UPDATE share_links SET expires_at = ? WHERE id = ?", [Date.now() - 1000, shareA!.id]);
    await request(w.server).get(`/r/${shareA!.token}`).expect(404);
    await sqlRows(w.db, "UPDATE share_links SET expires_at = NULL WHERE id = ?", [shareA!.id]);
  });

  it("are listed only to those who may revoke them: a viewer's results page shows no share token", async () => {
    const viewerPage = await w.agents.viewer.get(`/studies/${A}/results`).expect(200);
    for (const { token } of w.shares) expect(viewerPage.text).not.toContain(token);
    const researcherPage = await w.agents.researcher.get(`/studies/${A}/results`).expect(200);
    expect(researcherPage.text).toContain(w.shares[0]!.token);
  });
});

describe("cross-study access", () => {
  it("cannot exclude another study's response through this study's quality page", async () => {
    const before = await snapshotAll(w.db, EXCEPT);
    const res = await w.agents.researcher
      .post(`/studies/${A}/quality/exclusions`)
      .type("form")
      .send({ ids: String(w.bResponse.id), reason: "not mine", action: "exclude", _csrf: w.csrf.researcher });
    expect(res.status).toBe(422);
    expect(await snapshotAll(w.db, EXCEPT)).toEqual(before);
    expect(await sqlValue(w.db, "SELECT count(*) FROM responses WHERE id = ? AND excluded = FALSE", [w.bResponse.id])).toBe(1);
  });

  it("cannot open another study's wave or question through this study's URL", async () => {
    await w.agents.researcher.get(`/studies/${A}/questions/nosuchkey/edit`).expect(404);
    const bLink = w.b.links["subscribers"]!;
    const before = await snapshotAll(w.db, EXCEPT);
    // A link of study B's wave under study A's wave: not found, settings unchanged.
    await w.agents.researcher.post(`/waves/${w.a.wave.id}/links/${bLink.id}`).type("form").send({ sourceLabel: "hijack", _csrf: w.csrf.researcher }).expect(404);
    expect(await snapshotAll(w.db, EXCEPT)).toEqual(before);
  });
});
