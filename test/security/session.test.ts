import request from "supertest";
import { describe, expect, it } from "vitest";
import { sha256 } from "../../server/domain/secrets.js";
import { openSurvey } from "../fixtures/surveys.js";
import { PASSWORD, addUser, cookieValue, csrfFrom, freshApp, setCookie } from "../helpers.js";
import { sqlColumn, sqlValue } from "../support/sql.js";

/**
 * Sessions beyond test/server/auth.test.ts (which checks the cookie flags of the session, the
 * rotation at every login, Secure behind a proxy, logout, and the per-account login limit):
 * session fixation with a planted or a live attacker session, CSRF tokens minted before login,
 * every cookie's flags, and the per-address login limit that email tricks cannot get around.
 */

const SESSION = "bl_session";

async function loginWith(agent: ReturnType<typeof request.agent>, email: string, password = PASSWORD) {
  // Signed in already (a planted live session), /login redirects: any page's form token will do.
  let page = await agent.get("/login");
  if (page.status === 303) page = await agent.get("/account/tokens");
  return agent.post("/login").type("form").send({ email, password, _csrf: csrfFrom(page.text) });
}

describe("session fixation", () => {
  it("ignores a session id planted before login: the login issues a new one, the planted one never works", async () => {
    const { app, db } = freshApp();
    await addUser(db, "researcher");
    const planted = "A".repeat(43);
    const victim = request.agent(app);
    victim.jar.setCookie(`${SESSION}=${planted}; Path=/`);
    const res = await loginWith(victim, "researcher@example.test");
    expect(res.status).toBe(303);
    const issued = cookieValue(setCookie(res, SESSION))!;
    expect(issued).not.toBe(planted);
    expect(issued).toMatch(/^[A-Za-z0-9_-]{43}$/);
    await request(app).get("/studies").set("Cookie", `${SESSION}=${planted}`).expect(303).expect("Location", "/login?next=%2Fstudies");
    expect(await sqlValue(db, "SELECT count(*) FROM sessions WHERE id_hash IN (?, ?)", [planted, sha256(planted)])).toBe(0);
  });

  it("does not hand a victim's login to an attacker who planted their own live session", async () => {
    const { app, db } = freshApp();
    await addUser(db, "viewer", "attacker@example.test");
    await addUser(db, "admin", "victim@example.test");
    const attacker = request.agent(app);
    const attackerLogin = await loginWith(attacker, "attacker@example.test");
    const attackerSession = cookieValue(setCookie(attackerLogin, SESSION))!;

    // The victim's browser is made to carry the attacker's session cookie, then the victim logs in.
    const victim = request.agent(app);
    victim.jar.setCookie(`${SESSION}=${attackerSession}; Path=/`);
    const victimLogin = await loginWith(victim, "victim@example.test");
    const victimSession = cookieValue(setCookie(victimLogin, SESSION))!;
    expect(victimSession).not.toBe(attackerSession);
    await victim.get("/admin/users").expect(200);

    // The attacker's cookie is now worthless: not the admin's session, not even their own any more.
    const replay = await request(app).get("/admin/users").set("Cookie", `${SESSION}=${attackerSession}`);
    expect(replay.status).toBe(303);
    expect(replay.headers["location"]).toMatch(/^\/login/);
  });

  it("does not accept a CSRF token minted before login once the user is signed in", async () => {
    const { app, db } = freshApp();
    await addUser(db, "researcher");
    const agent = request.agent(app);
    const page = await agent.get("/login");
    const before = csrfFrom(page.text);
    await agent.post("/login").type("form").send({ email: "researcher@example.test", password: PASSWORD, _csrf: before }).expect(303);
    const studies = () => sqlValue<number>(db, "SELECT count(*) FROM studies");
    const n = await studies();
    await agent.post("/studies").type("form").send({ name: "X", brand: "Y", locale: "ru", _csrf: before }).expect(403);
    expect(await studies()).toBe(n);
    const after = csrfFrom((await agent.get("/studies").expect(200)).text);
    expect(after).not.toBe(before);
    await agent.post("/studies").type("form").send({ name: "X", brand: "Y", locale: "ru", _csrf: after }).expect(303);
  });
});

describe("cookies", () => {
  it("are HttpOnly, SameSite=Lax, host-only, with a bounded session lifetime", async () => {
    const { app, db } = freshApp();
    await addUser(db, "researcher");
    const survey = await openSurvey(db);
    const agent = request.agent(app);
    const login = await agent.get("/login?lang=en");
    const signedIn = await agent.post("/login").type("form").send({ email: "researcher@example.test", password: PASSWORD, _csrf: csrfFrom(login.text) });
    const surveyPage = await request(app).get(`/s/${survey.links["subscribers"]!.token}`);
    const cookies: Array<[string, string | undefined]> = [
      ["bl_csrf", setCookie(login, "bl_csrf")],
      ["bl_lang", setCookie(login, "bl_lang")],
      [SESSION, setCookie(signedIn, SESSION)],
      ["bl_rid", setCookie(surveyPage, "bl_rid")],
    ];
    for (const [name, header] of cookies) {
      expect(header, name).toBeDefined();
      expect(header, name).toMatch(/; HttpOnly/i);
      expect(header, name).toMatch(/; SameSite=Lax/i);
      expect(header, name).not.toMatch(/; Domain=/i);
    }
    const maxAge = Number(/Max-Age=(\d+)/i.exec(setCookie(signedIn, SESSION)!)![1]);
    expect(maxAge).toBeGreaterThan(0);
    expect(maxAge).toBeLessThanOrEqual(7 * 24 * 3600);
    // The respondent's browser id is only sent back to survey pages.
    expect(setCookie(surveyPage, "bl_rid")).toMatch(/; Path=\/s(;|$)/);
  });
});

describe("login rate limit per address", () => {
  it("answers 429 after 20 failures from one address, whatever emails were tried, and for variants of one email", async () => {
    const { app, db } = freshApp();
    await addUser(db, "researcher");
    const agent = request.agent(app);
    const page = await agent.get("/login");
    const csrf = csrfFrom(page.text);
    const attempt = (email: string, password = "wrong password!") => agent.post("/login").type("form").send({ email, password, _csrf: csrf });
    // Ten failures for one account written in several ways count as one account.
    const variants = ["researcher@example.test", "RESEARCHER@example.test", " researcher@example.test", "Researcher@Example.Test"];
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) statuses.push((await attempt(variants[i % variants.length]!)).status);
    expect(statuses.slice(0, 10).every((s) => s === 401)).toBe(true);
    expect(statuses[10]).toBe(429);
    // Different emails from the same address: the per-address counter stops them after 20 failures
    // (the refused 11th attempt above was refused unchecked, and is not one of them).
    const more: number[] = [];
    for (let i = 0; i < 11; i++) more.push((await attempt(`nobody${i}@example.test`)).status);
    expect(more.slice(0, 10).every((s) => s === 401)).toBe(true);
    expect(more[10]).toBe(429);
    // The limit is in the database (shared by every instance), not in process memory.
    const keys = await sqlColumn<string>(db, "SELECT key FROM rate_limits");
    expect(keys.some((k) => k.startsWith("login-ip:"))).toBe(true);
    // Nothing sensitive in the counters: no password.
    expect(keys.join("\n")).not.toContain("wrong password");
  }, 30_000);
});
