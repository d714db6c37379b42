import { membershipsOf } from "../../db/queries/teams.js";
import { sqlRows } from "../support/sql.js";
import request from "supertest";
import { describe, expect, it } from "vitest";
import { count, eq } from "drizzle-orm";
import { sessions, users } from "../../db/schema.js";
import { sha256 } from "../../server/domain/secrets.js";
import { SESSION_COOKIE } from "../../server/middleware/session.js";
import { PASSWORD, addUser, cookieValue, csrfFrom, freshApp, loggedInAgent, setCookie } from "../helpers.js";
import { first } from "../../db/client.js";

describe("/setup", () => {
  it("creates the first admin while no user exists, signs them in, then disappears", async () => {
    const { app, db } = freshApp();
    const agent = request.agent(app);
    await request(app).get("/").expect(303).expect("Location", "/setup");
    const page = await agent.get("/setup").expect(200);
    expect(page.text).toContain('name="password"');

    const res = await agent
      .post("/setup")
      .type("form")
      .send({ name: "Ада", email: "Ada@Example.test ", password: PASSWORD, confirm: PASSWORD, _csrf: csrfFrom(page.text) })
      .expect(303)
      .expect("Location", "/studies");
    expect(setCookie(res, SESSION_COOKIE)).toBeDefined();

    const admin = first(await db.select().from(users))!;
    expect(admin).toMatchObject({ email: "ada@example.test", name: "Ада", isAdmin: true });
    await agent.get("/studies").expect(200);

    await request(app).get("/setup").expect(404);
    const signedIn = await agent.get("/studies");
    await agent.post("/setup").type("form").send({ _csrf: csrfFrom(signedIn.text) }).expect(404);
    expect(first(await db.select({ n: count() }).from(users))!.n).toBe(1);
  });

  it("re-renders with field errors and the entered values kept, creating nothing", async () => {
    const { app, db } = freshApp();
    const agent = request.agent(app);
    const page = await agent.get("/setup?lang=en");
    const res = await agent
      .post("/setup")
      .type("form")
      .send({ name: "Bob <b>", email: "not-an-email", password: "short", confirm: "other", _csrf: csrfFrom(page.text) })
      .expect(422);
    expect(res.text).toContain("Enter a valid email address.");
    expect(res.text).toContain("Must be at least 10 characters.");
    expect(res.text).toContain('value="not-an-email"');
    expect(res.text).toContain('value="Bob &lt;b&gt;"');
    expect(res.text).toContain('aria-describedby="email-error"');
    expect(first(await db.select({ n: count() }).from(users))!.n).toBe(0);
  });

  it("reports mismatched passwords in Russian", async () => {
    const { app } = freshApp();
    const agent = request.agent(app);
    const page = await agent.get("/setup?lang=ru");
    const res = await agent
      .post("/setup")
      .type("form")
      .send({ name: "Ада", email: "a@b.test", password: PASSWORD, confirm: PASSWORD + "x", _csrf: csrfFrom(page.text) })
      .expect(422);
    expect(res.text).toContain("Пароли не совпадают.");
  });
});

describe("login and logout", () => {
  it("signs in with the right password, under a new session id, with safe cookie flags", async () => {
    const { app, db } = freshApp();
    await addUser(db, "researcher");
    const agent = request.agent(app);
    const page = await agent.get("/login").expect(200);
    const res = await agent
      .post("/login")
      .type("form")
      .send({ email: "RESEARCHER@example.test", password: PASSWORD, next: "/studies", _csrf: csrfFrom(page.text) })
      .expect(303)
      .expect("Location", "/studies");
    const cookie = setCookie(res, SESSION_COOKIE)!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Lax/);
    expect(cookie).not.toMatch(/Secure/);
    // Only the hash of the cookie is stored.
    const raw = cookieValue(cookie)!;
    expect(first(await db.select().from(sessions).where(eq(sessions.idHash, sha256(raw))))).toBeDefined();
    expect(first(await db.select().from(sessions).where(eq(sessions.idHash, raw)))).toBeUndefined();
  });

  it("rotates the session id at every login", async () => {
    const { app, db } = freshApp();
    await addUser(db, "researcher");
    const agent = request.agent(app);
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      // Signing in again while signed in (e.g. from a stale tab) must still rotate the id.
      const page = await agent.get(i === 0 ? "/login" : "/studies");
      const res = await agent
        .post("/login")
        .type("form")
        .send({ email: "researcher@example.test", password: PASSWORD, _csrf: csrfFrom(page.text) })
        .expect(303);
      ids.push(cookieValue(setCookie(res, SESSION_COOKIE))!);
    }
    expect(ids[0]).not.toBe(ids[1]);
    // The first session was deleted, not left alive beside the second.
    expect(first(await db.select({ n: count() }).from(sessions))!.n).toBe(1);
  });

  it("marks the session cookie Secure behind an HTTPS proxy", async () => {
    const { app, db } = freshApp({ trustProxy: 1 });
    await addUser(db, "researcher");
    // The test client speaks plain HTTP, so it would not send Secure cookies back by itself.
    const page = await request(app).get("/login").set("X-Forwarded-Proto", "https");
    const csrfCookie = setCookie(page, "bl_csrf")!;
    expect(csrfCookie).toMatch(/; Secure/);
    const res = await request(app)
      .post("/login")
      .set("X-Forwarded-Proto", "https")
      .set("Cookie", csrfCookie.split(";")[0]!)
      .type("form")
      .send({ email: "researcher@example.test", password: PASSWORD, _csrf: csrfFrom(page.text) })
      .expect(303);
    expect(setCookie(res, SESSION_COOKIE)).toMatch(/; Secure/);
  });

  it("refuses a wrong password with 401 and no session", async () => {
    const { app, db } = freshApp();
    await addUser(db, "researcher");
    const agent = request.agent(app);
    const page = await agent.get("/login?lang=en");
    const res = await agent
      .post("/login")
      .type("form")
      .send({ email: "researcher@example.test", password: "wrong password", _csrf: csrfFrom(page.text) })
      .expect(401);
    expect(res.text).toContain("Wrong email or password.");
    expect(setCookie(res, SESSION_COOKIE)).toBeUndefined();
    expect(first(await db.select({ n: count() }).from(sessions))!.n).toBe(0);
  });

  it("never redirects to another origin after login", async () => {
    const { app, db } = freshApp();
    await addUser(db, "viewer");
    const agent = request.agent(app);
    const page = await agent.get("/login");
    await agent
      .post("/login")
      .type("form")
      .send({ email: "viewer@example.test", password: PASSWORD, next: "//evil.example/x", _csrf: csrfFrom(page.text) })
      .expect(303)
      .expect("Location", "/");
  });

  it("logs out: the session is deleted and pages need a login again", async () => {
    const { app, db } = freshApp();
    await addUser(db, "researcher");
    const agent = await loggedInAgent(app, "researcher@example.test");
    const page = await agent.get("/studies").expect(200);
    await agent.post("/logout").type("form").send({ _csrf: csrfFrom(page.text) }).expect(303).expect("Location", "/login?bye=1");
    expect(first(await db.select({ n: count() }).from(sessions))!.n).toBe(0);
    await agent.get("/studies").expect(303).expect("Location", "/login?next=%2Fstudies");
  });

  it("stores passwords only as scrypt hashes", async () => {
    const { db } = freshApp();
    const user = await addUser(db, "admin");
    expect(user.passwordHash).toMatch(/^scrypt\$32768\$8\$1\$[\w-]+\$[\w-]+$/);
    expect(user.passwordHash).not.toContain(PASSWORD);
  });

  it("rate-limits failed logins per account and address (429 after 10 failures), in the database", async () => {
    const { app, db } = freshApp();
    await addUser(db, "researcher");
    const agent = request.agent(app);
    const page = await agent.get("/login?lang=ru");
    const attempt = () =>
      agent
        .post("/login")
        .type("form")
        .send({ email: "researcher@example.test", password: "nope nope nope", _csrf: csrfFrom(page.text) });
    for (let i = 0; i < 10; i++) expect((await attempt()).status).toBe(401);
    const limited = await attempt();
    expect(limited.status).toBe(429);
    expect(limited.text).toContain("Слишком много неудачных попыток входа");
    expect(Number(limited.headers["retry-after"])).toBeGreaterThan(0);
    // From that address, even the right password is refused (unchecked) until the window passes.
    const right = await agent
      .post("/login")
      .type("form")
      .send({ email: "researcher@example.test", password: PASSWORD, _csrf: csrfFrom(page.text) });
    expect(right.status).toBe(429);
    // Keyed by hashes of the address and the normalised email, never the raw text a client sent.
    const keys = await sqlRows<{ key: string; hits: number }>(db, "SELECT key, hits FROM rate_limits ORDER BY key");
    expect(keys.map((k) => k.key.replace(/[0-9a-f]{64}$/, "<sha256>"))).toEqual([
      expect.stringMatching(/^login-ip:[\w-]{43}$/),
      "login-pair:<sha256>",
    ]);
    expect(keys.map((k) => k.hits)).toEqual([10, 10]);
    expect(keys.some((k) => k.key.includes("researcher") || /127\.0\.0\.1|::1|ffff/.test(k.key))).toBe(false);
  }, 30_000);
});

describe("CSRF", () => {
  it("refuses a state-changing form without a token (403), and with a token from another browser", async () => {
    const { app, db } = freshApp();
    await addUser(db, "researcher");
    const agent = await loggedInAgent(app, "researcher@example.test");
    await agent.post("/studies").type("form").send({ name: "S", brand: "B", locale: "en" }).expect(403);

    const other = request.agent(app);
    const foreign = csrfFrom((await other.get("/login")).text);
    const res = await agent.post("/studies?lang=en").type("form").send({ name: "S", brand: "B", locale: "en", _csrf: foreign }).expect(403);
    expect(res.text).toContain("The form has expired");
  });

  it("refuses a login post without a token", async () => {
    const { app, db } = freshApp();
    await addUser(db, "researcher");
    await request(app).post("/login").type("form").send({ email: "researcher@example.test", password: PASSWORD }).expect(403);
  });
});

describe("roles", () => {
  it("redirects anonymous visitors to the login page", async () => {
    const { app, db } = freshApp();
    await addUser(db, "admin");
    await request(app).get("/studies").expect(303).expect("Location", "/login?next=%2Fstudies");
    await request(app).get("/admin/users").expect(303).expect("Location", "/login?next=%2Fadmin%2Fusers");
  });

  it("refuses a viewer (403) on researcher and admin actions, lets them read", async () => {
    const { app, db } = freshApp();
    await addUser(db, "viewer");
    const agent = await loggedInAgent(app, "viewer@example.test");
    const page = await agent.get("/studies").expect(200);
    expect(page.text).not.toContain('action="/studies"');
    await agent.post("/studies").type("form").send({ name: "S", brand: "B", locale: "en", _csrf: csrfFrom(page.text) }).expect(403);
    await agent.get("/admin/users").expect(403);
  });

  it("lets a researcher create a study (with the three default segments) but not manage users", async () => {
    const { app, db } = freshApp();
    await addUser(db, "researcher");
    const agent = await loggedInAgent(app, "researcher@example.test");
    const page = await agent.get("/studies?lang=en").expect(200);
    await agent
      .post("/studies")
      .type("form")
      .send({ name: "Spring <campaign>", brand: "Acme", locale: "ru", _csrf: csrfFrom(page.text) })
      .expect(303);
    const list = await agent.get("/studies").expect(200);
    expect(list.text).toContain("Spring &lt;campaign&gt;");
    expect(list.text).toContain("0 responses");
    const segs = await sqlRows(db, "SELECT key FROM segments ORDER BY position");
    expect(segs).toEqual([{ key: "subscribers" }, { key: "active_unsubscribed" }, { key: "inactive" }]);
    await agent.get("/admin/users").expect(403);
  });

  it("lets an admin add a user, refusing a duplicate email", async () => {
    const { app, db } = freshApp();
    await addUser(db, "admin");
    const agent = await loggedInAgent(app, "admin@example.test");
    const page = await agent.get("/admin/users?lang=en").expect(200);
    const token = csrfFrom(page.text);
    await agent
      .post("/admin/users")
      .type("form")
      .send({ name: "Vera", email: "vera@example.test", role: "viewer", password: PASSWORD, _csrf: token })
      .expect(303);
    const vera = first(await db.select().from(users).where(eq(users.email, "vera@example.test")))!;
    expect(vera.isAdmin).toBe(false);
    expect((await membershipsOf(db, vera.id)).map((m) => [m.teamName, m.role])).toEqual([["Default", "viewer"]]);
    const dup = await agent
      .post("/admin/users")
      .type("form")
      .send({ name: "Vera 2", email: "VERA@example.test", role: "viewer", password: PASSWORD, _csrf: token })
      .expect(422);
    expect(dup.text).toContain("A user with this email already exists.");
    const badRole = await agent
      .post("/admin/users")
      .type("form")
      .send({ name: "X", email: "x@example.test", role: "boss", password: PASSWORD, _csrf: token })
      .expect(422);
    expect(badRole.text).toContain("Choose one of the offered values.");
    // The new viewer can sign in.
    await loggedInAgent(app, "vera@example.test");
  });
});
