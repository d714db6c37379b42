import type { Server } from "node:http";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setWaveStatus } from "../../db/queries/fieldwork.js";
import { createApiToken } from "../../server/services/accounts.js";
import { createWave } from "../../server/services/study-setup.js";
import { insertResponseWithAnswers } from "../fixtures/responses.js";
import { brandLiftDefinition, openSurvey } from "../fixtures/surveys.js";
import { addUser, freshApp } from "../helpers.js";
import { sqlValue } from "../support/sql.js";
import { activeMarkup, close, csrfOf, listen, login, type Agent } from "./support.js";

/**
 * Security headers on every kind of response: pages for researchers and respondents, error
 * pages, redirects, JSON, files and static assets. The Content-Security-Policy must forbid
 * inline script (so an injected `<script>` or `onerror=` would not run even if escaping failed),
 * and no page may depend on inline script or handlers itself.
 */

/** The directives of a CSP header, by name. */
function directives(header: string | undefined): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const part of (header ?? "").split(";")) {
    const [name, ...values] = part.trim().split(/\s+/);
    if (name) map.set(name.toLowerCase(), values);
  }
  return map;
}

function expectSecurityHeaders(res: request.Response, what: string) {
  const csp = directives(res.headers["content-security-policy"] as string | undefined);
  expect(csp.size, `${what}: Content-Security-Policy`).toBeGreaterThan(0);
  const scriptSrc = csp.get("script-src") ?? csp.get("default-src");
  expect(scriptSrc, `${what}: script-src or default-src`).toBeDefined();
  for (const unsafe of ["'unsafe-inline'", "'unsafe-eval'", "*", "data:", "http:", "https:", "blob:"]) {
    expect(scriptSrc, `${what}: script-src allows ${unsafe}`).not.toContain(unsafe);
  }
  expect(csp.get("script-src-attr") ?? [], `${what}: script-src-attr`).not.toContain("'unsafe-inline'");
  expect(csp.get("default-src"), `${what}: default-src`).toEqual(["'self'"]);
  expect(csp.get("object-src"), `${what}: object-src`).toEqual(["'none'"]);
  expect(csp.get("frame-ancestors"), `${what}: frame-ancestors`).toEqual(["'none'"]);
  expect(["'none'", "'self'"]).toContain(csp.get("base-uri")?.[0]);
  expect(res.headers["x-content-type-options"], `${what}: X-Content-Type-Options`).toBe("nosniff");
  expect(["no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin"], `${what}: Referrer-Policy`).toContain(res.headers["referrer-policy"]);
  expect(res.headers["x-powered-by"], `${what}: X-Powered-By`).toBeUndefined();
  if (/text\/html/.test(String(res.headers["content-type"]))) {
    expect(activeMarkup(res.text), `${what}: inline script or handlers in the page`).toEqual([]);
  }
}

let server: Server;
let researcher: Agent;
let admin: Agent;
let studyId: number;
let waveId: number;
let surveyToken: string;
let closedToken: string;
let apiToken: string;
let shareUrl: string;

beforeAll(async () => {
  const { app, db } = freshApp({ production: true });
  const user = await addUser(db, "researcher");
  await addUser(db, "admin");
  apiToken = (await createApiToken(db, user.id, "headers")).token;
  const survey = await openSurvey(db);
  studyId = survey.study.id;
  waveId = survey.wave.id;
  surveyToken = survey.links["subscribers"]!.token;
  const post = await createWave(db, studyId, "post", "Post");
  for (const wave of [survey.wave.id, post.id]) {
    for (let i = 0; i < 6; i++) {
      await insertResponseWithAnswers(db, studyId, { waveId: wave, segmentId: survey.segments[0]!.id, answers: { aided: i % 2 ? ["acme"] : ["none"], recall: "yes", fav: 4, feedback: "ok" } });
    }
  }
  const closed = await openSurvey(db, brandLiftDefinition({ name: "Closed" }));
  await setWaveStatus(db, closed.wave.id, "closed", new Date());
  closedToken = closed.links["subscribers"]!.token;
  server = await listen(app);
  researcher = await login(server, user.email);
  admin = await login(server, "admin@example.test");
  await researcher.post(`/studies/${studyId}/share`).type("form").send({ _csrf: await csrfOf(researcher) }).expect(303);
  shareUrl = `/r/${(await sqlValue<string>(db, "SELECT token FROM share_links ORDER BY id"))!}`;
});

afterAll(async () => {
  await close(server);
});

describe("security headers", () => {
  it("on researcher pages, the results page with its charts and the admin pages", async () => {
    const pages = [
      "/studies",
      "/studies/new",
      `/studies/${studyId}`,
      `/studies/${studyId}/questions`,
      `/studies/${studyId}/questions/aided/edit`,
      `/studies/${studyId}/preview`,
      `/studies/${studyId}/settings`,
      `/studies/${studyId}/audit`,
      `/studies/${studyId}/results`,
      `/studies/${studyId}/report`,
      `/waves/${waveId}`,
      `/waves/${waveId}/progress.json`,
      `/waves/${waveId}/personal-links.csv`,
      `/studies/${studyId}/export.json`,
      "/account/tokens",
    ];
    for (const url of pages) {
      const res = await researcher.get(url);
      expect(res.status, url).toBe(200);
      expectSecurityHeaders(res, url);
    }
    expectSecurityHeaders(await admin.get("/admin/users").expect(200), "/admin/users");
  });

  it("on respondent pages: the survey, its thank-you page, a closed or unknown link, a re-rendered error", async () => {
    const page = await request(server).get(`/s/${surveyToken}`).expect(200);
    expectSecurityHeaders(page, "/s/:token");
    expectSecurityHeaders(await request(server).get(`/s/${surveyToken}/thanks`).expect(200), "/s/:token/thanks");
    expectSecurityHeaders(await request(server).get(`/s/${closedToken}`).expect(410), "closed survey");
    expectSecurityHeaders(await request(server).get("/s/NoSuchLinkToken_12345").expect(404), "unknown survey");
    const fields = Object.fromEntries([...page.text.matchAll(/<input type="hidden" name="(_\w)" value="([^"]*)">/g)].map((m) => [m[1]!, m[2]!]));
    expectSecurityHeaders(await request(server).post(`/s/${surveyToken}`).type("form").send({ ...fields, q_recall: "maybe" }).expect(422), "survey re-rendered with errors");
    expectSecurityHeaders(await request(server).post(`/s/${surveyToken}`).type("form").send({}).expect(400), "survey post without form token");
  });

  it("on the share link, the login and error pages, redirects, JSON, static files and exports", async () => {
    const css = /href="(\/static\/[^"]+\.css)"/.exec((await request(server).get("/login")).text)![1]!;
    const cases: Array<[string, Promise<request.Response>]> = [
      [shareUrl, request(server).get(shareUrl)],
      ["/login", request(server).get("/login")],
      ["/ (redirect)", request(server).get("/")],
      ["/studies anonymous (redirect)", request(server).get("/studies")],
      ["404 page", request(server).get("/no-such-page")],
      ["403 CSRF page", researcher.post("/studies").type("form").send({ name: "x" })],
      ["413 page", request(server).post("/login").type("form").send({ email: "x".repeat(200_000) })],
      ["malformed URL", request(server).get("/s/%E0%A4%A")],
      ["/healthz", request(server).get("/healthz")],
      ["/api/me", request(server).get("/api/me").set("Authorization", `Bearer ${apiToken}`)],
      ["/api 401", request(server).get("/api/studies")],
      ["/api 404", request(server).get("/api/no-such-route").set("Authorization", `Bearer ${apiToken}`)],
      ["static CSS", request(server).get(css)],
      ["results export (API)", request(server).get(`/api/studies/${studyId}/results.csv`).set("Authorization", `Bearer ${apiToken}`)],
    ];
    for (const [what, pending] of cases) {
      const res = await pending;
      expect(res.status, what).toBeGreaterThan(0);
      expectSecurityHeaders(res, `${what} (${res.status})`);
    }
  });

  it("keeps every page of the app free of inline script, so the policy breaks nothing", async () => {
    // The policy is only safe to keep strict while no page needs inline script; checked above per page.
    const res = await researcher.get(`/studies/${studyId}/results`).expect(200);
    const scripts = [...res.text.matchAll(/<script\b[^>]*>/g)].map((m) => m[0]);
    expect(scripts.every((s) => /\bsrc="\/static\//.test(s))).toBe(true);
  });
});
