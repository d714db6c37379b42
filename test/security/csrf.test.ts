import type { Server } from "node:http";
import type { Express } from "express";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Db } from "../../db/client.js";
import { createApiToken } from "../../server/services/accounts.js";
import { createWave } from "../../server/services/study-setup.js";
import { openSurvey } from "../fixtures/surveys.js";
import { addUser, csrfFrom, freshApp } from "../helpers.js";
import { sqlValue } from "../support/sql.js";
import { appRoutes, close, csrfOf, listen, login, snapshotAll, type Agent } from "./support.js";

/**
 * CSRF: every state-changing route of the researcher side, found by walking the app's router
 * (so a route added later is covered without editing this file), refuses a POST without a
 * token, with a forged one, and with a genuine token of another browser: 403, nothing changed.
 * (test/server/authorization.test.ts checks the token-less and forged cases per role; this adds
 * the other-browser token, the routes it does not list, and the walk of the app itself.)
 */

/** The routes protected by the session + CSRF scheme: everything but the Bearer-token API and the respondent's nonce-protected survey. */
const cookieRoutes = (routes: string[]) => routes.filter((r) => !/^\w+ \/api\//.test(r) && !/^\w+ \/s\//.test(r));

let app: Express;
let server: Server;
let db: Db;
let researcher: Agent;
let otherBrowser: Agent;
let ownToken: string;
let otherToken: string;
let anonymousToken: string;
let params: Record<string, string>;

beforeAll(async () => {
  const made = freshApp({ production: true });
  app = made.app;
  db = made.db;
  const user = await addUser(db, "admin", "lead@example.test");
  const survey = await openSurvey(db);
  const draft = await createWave(db, survey.study.id, "post", "Post");
  const token = await createApiToken(db, user.id, "t");
  server = await listen(app);
  researcher = await login(server, user.email);
  // The same person in another browser: a genuine token, but of another session.
  otherBrowser = await login(server, user.email);
  ownToken = await csrfOf(researcher);
  otherToken = await csrfOf(otherBrowser);
  anonymousToken = csrfFrom((await request(server).get("/login")).text);
  await researcher.post(`/studies/${survey.study.id}/share`).type("form").send({ _csrf: ownToken }).expect(303);
  const share = (await sqlValue<number>(db, "SELECT id FROM share_links ORDER BY id"))!;
  params = {
    studyId: String(survey.study.id),
    waveId: String(draft.id),
    linkId: String(survey.links["subscribers"]!.id),
    key: "recall",
    shareId: String(share),
    id: String(token.record.id),
  };
});

afterAll(async () => {
  await close(server);
});

const fill = (pattern: string) => pattern.replace(/:(\w+)/g, (_m, name: string) => params[name] ?? "1");

describe("CSRF on every state-changing researcher route", () => {
  it("finds the routes by walking the app (the list is not hand-kept)", () => {
    const posts = cookieRoutes(appRoutes(app)).filter((r) => !r.startsWith("GET "));
    expect(posts).toEqual(expect.arrayContaining(["POST /login", "POST /logout", "POST /studies", "POST /studies/:studyId/share", "POST /admin/users", "POST /account/tokens"]));
    expect(posts.length).toBeGreaterThan(25);
    // No route changes state through GET-like methods on this side.
    expect(cookieRoutes(appRoutes(app)).filter((r) => /^(PUT|PATCH|DELETE) /.test(r))).toEqual([]);
  });

  it("refuses each without a token, with a forged one, and with another browser's or an anonymous token: 403, nothing changed", async () => {
    const routes = cookieRoutes(appRoutes(app)).filter((r) => /^(POST|PUT|PATCH|DELETE) /.test(r));
    const failures: string[] = [];
    for (const route of routes) {
      const [method, pattern] = route.split(" ") as [string, string];
      const url = fill(pattern);
      const attempts: Array<[string, () => request.Test]> = [
        ["no token", () => researcher.post(url).type("form").send({ name: "x", definition: "{}" })],
        ["forged token", () => researcher.post(url).type("form").send({ _csrf: ownToken.slice(0, -2) + "xx" })],
        ["another browser's token", () => researcher.post(url).type("form").send({ _csrf: otherToken })],
        ["an anonymous page's token", () => researcher.post(url).type("form").send({ _csrf: anonymousToken })],
        ["another browser's token in the header", () => researcher.post(url).set("X-CSRF-Token", otherToken).type("form").send({})],
        ["a JSON body", () => researcher.post(url).set("Content-Type", "application/json").send(JSON.stringify({ _csrf: otherToken }))],
      ];
      for (const [what, attempt] of attempts) {
        const before = await snapshotAll(db);
        const res = await attempt();
        if (res.status !== 403) failures.push(`${method} ${url} with ${what}: ${res.status}`);
        const after = await snapshotAll(db);
        if (JSON.stringify(after) !== JSON.stringify(before)) failures.push(`${method} ${url} with ${what}: the database changed`);
      }
    }
    expect(failures).toEqual([]);
    expect(routes.length).toBeGreaterThan(25);
  });

  it("still signs the user in afterwards (a refused logout logged no one out) and accepts the genuine token", async () => {
    await researcher.get("/account/tokens").expect(200);
    await researcher.post("/account/tokens").type("form").send({ _csrf: ownToken, name: "after the refusals" }).expect(201);
    // The other browser's token is genuine for the other browser.
    await otherBrowser.post("/account/tokens").type("form").send({ _csrf: otherToken, name: "other browser" }).expect(201);
  });
});
