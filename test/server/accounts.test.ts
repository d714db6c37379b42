import request from "supertest";
import { inContentOrder } from "../support/sql.js";
import { describe, expect, it } from "vitest";
import { and, eq } from "drizzle-orm";
import { first, type Db } from "../../db/client.js";
import { defaultTeam, insertTeam, membershipsOf } from "../../db/queries/teams.js";
import { findUserByEmail, findUserById } from "../../db/queries/users.js";
import { apiTokens, auditLog, links, memberships, responses, sessions, teams, users } from "../../db/schema.js";
import { runCli } from "../../server/cli.js";
import { messages } from "../../server/i18n/index.js";
import { createApiToken } from "../../server/services/accounts.js";
import { createStudyFromDefinition } from "../../server/services/study-setup.js";
import { brandLiftDefinition, openSurvey } from "../fixtures/surveys.js";
import { PASSWORD, addUser, csrfFrom, freshApp, loggedInAgent } from "../helpers.js";

/**
 * Account management (issue 13.2): administrators manage accounts and teams, owners their team's
 * members, everyone their own password and sessions; the CLI does the same. Every change leaves
 * an audit row naming who did it; a refused change writes nothing.
 */

type Agent = ReturnType<typeof request.agent>;

/** Every table an account change could write. */
async function snapshot(db: Db) {
  return {
    users: inContentOrder(await db.select().from(users)),
    teams: inContentOrder(await db.select().from(teams)),
    memberships: inContentOrder(await db.select().from(memberships)),
    sessions: inContentOrder(await db.select().from(sessions)),
    apiTokens: inContentOrder(await db.select().from(apiTokens)),
    auditLog: inContentOrder(await db.select().from(auditLog)),
  };
}

async function auditRows(db: Db, action: string) {
  return await db.select().from(auditLog).where(eq(auditLog.action, action));
}

async function post(agent: Agent, page: string, url: string, form: Record<string, string> = {}) {
  const csrf = csrfFrom((await agent.get(page).expect(200)).text);
  return agent.post(url).set("Accept-Language", "en").type("form").send({ ...form, _csrf: csrf });
}

async function world() {
  const { app, db } = freshApp();
  const admin = await addUser(db, "admin");
  const teamA = await defaultTeam(db);
  const teamB = await insertTeam(db, "Brand B");
  const owner = await addUser(db, "owner", "owner@example.test", teamA.id);
  const researcher = await addUser(db, "researcher", "researcher@example.test", teamA.id);
  const viewer = await addUser(db, "viewer", "viewer@example.test", teamA.id);
  const ownerB = await addUser(db, "owner", "owner-b@example.test", teamB.id);
  return { app, db, admin, owner, researcher, viewer, ownerB, teamA, teamB };
}

/** The sessions listed on the account page, in order: each one's form handle and whether it is this browser's. */
function sessionRows(html: string) {
  return [...html.matchAll(/<tr>([\s\S]*?)<\/tr>/g)]
    .map((m) => m[1]!)
    .filter((row) => row.includes("/account/sessions/"))
    .map((row) => ({ handle: /\/account\/sessions\/([0-9a-f]{32})\/end/.exec(row)![1]!, current: row.includes('class="badge"') }));
}

/** The page lands on the login form: the session is gone. */
async function expectLoggedOut(agent: Agent) {
  const res = await agent.get("/studies").expect(303);
  expect(res.headers["location"]).toBe("/login?next=%2Fstudies");
}

describe("administrators manage accounts", () => {
  it("list users with their teams, roles and status, and create a team member or an administrator", async () => {
    const w = await world();
    const admin = await loggedInAgent(w.app, w.admin.email);
    const list = await admin.get("/admin/users").set("Accept-Language", "en").expect(200);
    expect(list.text).toContain("Brand B: Owner");
    expect(list.text).toContain("Default: Viewer");
    expect(list.text).toMatch(/<strong>Administrator<\/strong>/);

    const created = await post(admin, "/admin/users", "/admin/users", { name: "Brand lead", email: "lead@example.test", role: "owner", team: String(w.teamB.id), password: "a long password" });
    expect(created.status).toBe(303);
    const lead = (await findUserByEmail(w.db, "lead@example.test"))!;
    expect((await membershipsOf(w.db, lead.id)).map((m) => [m.teamName, m.role])).toEqual([["Brand B", "owner"]]);
    expect((await auditRows(w.db, "user.create")).at(-1)).toMatchObject({ userId: w.admin.id, entityId: String(lead.id) });

    await post(admin, "/admin/users", "/admin/users", { name: "Ops", email: "ops@example.test", role: "admin", team: String(w.teamB.id), password: "a long password" }).then((r) => expect(r.status).toBe(303));
    const ops = (await findUserByEmail(w.db, "ops@example.test"))!;
    expect(ops.isAdmin).toBe(true);
    expect(await membershipsOf(w.db, ops.id)).toEqual([]);

    // A team that does not exist: 422, nothing written.
    const before = await snapshot(w.db);
    const refused = await post(admin, "/admin/users", "/admin/users", { name: "X", email: "x@example.test", role: "viewer", team: "9999", password: "a long password" });
    expect(refused.status).toBe(422);
    expect(refused.text).toContain("Choose a team from the list.");
    expect(await snapshot(w.db)).toEqual({ ...before, sessions: (await snapshot(w.db)).sessions });
  });

  it("disabling a user ends their live session and revokes their API token at once; enabling lets them log in again", async () => {
    const w = await world();
    const admin = await loggedInAgent(w.app, w.admin.email);
    const user = await loggedInAgent(w.app, w.researcher.email);
    const token = await createApiToken(w.db, w.researcher.id, "script");
    await user.get("/studies").expect(200);
    await request(w.app).get("/api/me").set("Authorization", `Bearer ${token.token}`).expect(200);

    const res = await post(admin, `/admin/users/${w.researcher.id}`, `/admin/users/${w.researcher.id}/disable`);
    expect(res.status).toBe(303);
    await expectLoggedOut(user);
    await request(w.app).get("/api/me").set("Authorization", `Bearer ${token.token}`).expect(401);
    // Not only refused while disabled: the session rows are gone and the token is revoked.
    expect(await w.db.select().from(sessions).where(eq(sessions.userId, w.researcher.id))).toEqual([]);
    expect(first(await w.db.select().from(apiTokens).where(eq(apiTokens.userId, w.researcher.id)))?.revokedAt).toBeInstanceOf(Date);
    expect(await auditRows(w.db, "user.disable")).toMatchObject([{ userId: w.admin.id, entityType: "user", entityId: String(w.researcher.id), details: { sessions: 1, tokens: 1 } }]);
    const page = await admin.get(`/admin/users/${w.researcher.id}`).set("Accept-Language", "en").expect(200);
    expect(page.text).toContain("disabled since");
    // The right password does not let a disabled user in.
    const login = request.agent(w.app);
    const form = await login.get("/login").expect(200);
    await login.post("/login").type("form").send({ email: w.researcher.email, password: PASSWORD, _csrf: csrfFrom(form.text) }).expect(401);

    await post(admin, `/admin/users/${w.researcher.id}`, `/admin/users/${w.researcher.id}/enable`).then((r) => expect(r.status).toBe(303));
    const back = await loggedInAgent(w.app, w.researcher.email);
    await back.get("/studies").expect(200);
    expect((await membershipsOf(w.db, w.researcher.id)).map((m) => m.role)).toEqual(["researcher"]);
    // Revoked tokens stay revoked.
    await request(w.app).get("/api/me").set("Authorization", `Bearer ${token.token}`).expect(401);
    expect(await auditRows(w.db, "user.enable")).toMatchObject([{ userId: w.admin.id, entityId: String(w.researcher.id) }]);
  });

  it("refuses an administrator disabling or unflagging themselves, and removing the last active administrator", async () => {
    const w = await world();
    const admin = await loggedInAgent(w.app, w.admin.email);
    const before = await snapshot(w.db);
    const self = await post(admin, `/admin/users/${w.admin.id}`, `/admin/users/${w.admin.id}/disable`);
    expect(self.status).toBe(422);
    expect(self.text).toContain("You cannot disable your own account");
    const unflag = await post(admin, `/admin/users/${w.admin.id}`, `/admin/users/${w.admin.id}/admin`, { on: "0" });
    expect(unflag.status).toBe(422);
    expect(unflag.text).toContain("You cannot take away your own administrator rights");
    const reset = await post(admin, `/admin/users/${w.admin.id}`, `/admin/users/${w.admin.id}/password`, { password: "a brand new password" });
    expect(reset.status).toBe(422);
    expect(reset.text).toContain("Change your own password on your account page");
    expect(await snapshot(w.db)).toEqual(before);

    // The last active administrator cannot go, not even from the command line.
    const io = { out: () => {}, err: (l: string) => errors.push(l) };
    const errors: string[] = [];
    expect(await runCli(["user:admin", "--email", w.admin.email, "--off"], w.db, io)).toBe(1);
    expect(await runCli(["user:disable", "--email", w.admin.email], w.db, io)).toBe(1);
    expect(errors).toEqual([
      "Refused: this is the last active administrator; make someone else an administrator first.",
      "Refused: this is the last active administrator; make someone else an administrator first.",
    ]);
    expect(await snapshot(w.db)).toEqual(before);

    // With a second administrator, one may unflag or disable the other.
    await post(admin, `/admin/users/${w.owner.id}`, `/admin/users/${w.owner.id}/admin`, { on: "1" }).then((r) => expect(r.status).toBe(303));
    expect((await findUserById(w.db, w.owner.id))!.isAdmin).toBe(true);
    const second = await loggedInAgent(w.app, w.owner.email);
    await post(second, `/admin/users/${w.admin.id}`, `/admin/users/${w.admin.id}/admin`, { on: "0" }).then((r) => expect(r.status).toBe(303));
    expect((await findUserById(w.db, w.admin.id))!.isAdmin).toBe(false);
    expect(await auditRows(w.db, "user.admin_grant")).toMatchObject([{ userId: w.admin.id, entityId: String(w.owner.id) }]);
    expect(await auditRows(w.db, "user.admin_revoke")).toMatchObject([{ userId: w.owner.id, entityId: String(w.admin.id) }]);
    // The former administrator's next request meets the admin pages' 403.
    await admin.get("/admin/users").expect(403);
  });

  it("resets a user's password: their sessions end, the old password stops working", async () => {
    const w = await world();
    const admin = await loggedInAgent(w.app, w.admin.email);
    const user = await loggedInAgent(w.app, w.viewer.email);
    const short = await post(admin, `/admin/users/${w.viewer.id}`, `/admin/users/${w.viewer.id}/password`, { password: "short" });
    expect(short.status).toBe(422);
    await user.get("/studies").expect(200);

    const res = await post(admin, `/admin/users/${w.viewer.id}`, `/admin/users/${w.viewer.id}/password`, { password: "a password set by the admin" });
    expect(res.status).toBe(303);
    await expectLoggedOut(user);
    const login = request.agent(w.app);
    const form = await login.get("/login").expect(200);
    await login.post("/login").type("form").send({ email: w.viewer.email, password: PASSWORD, _csrf: csrfFrom(form.text) }).expect(401);
    await loggedInAgent(w.app, w.viewer.email, "a password set by the admin");
    expect(await auditRows(w.db, "user.password_reset")).toMatchObject([{ userId: w.admin.id, entityId: String(w.viewer.id), details: { sessions: 1 } }]);
    // The audit never holds a password or its hash.
    expect(JSON.stringify(await w.db.select().from(auditLog))).not.toMatch(/a password set by the admin|scrypt\$/);
  });

  it("adds a user to a team, changes their role there and removes them", async () => {
    const w = await world();
    const admin = await loggedInAgent(w.app, w.admin.email);
    const page = `/admin/users/${w.viewer.id}`;
    await post(admin, page, `${page}/teams`, { team: String(w.teamB.id), role: "researcher" }).then((r) => expect(r.status).toBe(303));
    await post(admin, page, `${page}/teams`, { team: String(w.teamA.id), role: "owner" }).then((r) => expect(r.status).toBe(303));
    expect((await membershipsOf(w.db, w.viewer.id)).map((m) => [m.teamName, m.role])).toEqual([
      ["Brand B", "researcher"],
      ["Default", "owner"],
    ]);
    await post(admin, page, `${page}/teams/${w.teamB.id}/remove`).then((r) => expect(r.status).toBe(303));
    expect((await membershipsOf(w.db, w.viewer.id)).map((m) => m.teamName)).toEqual(["Default"]);
    expect(await auditRows(w.db, "membership.add")).toMatchObject([{ userId: w.admin.id, entityId: String(w.viewer.id), details: { team: "Brand B", role: "researcher" } }]);
    expect(await auditRows(w.db, "membership.role")).toMatchObject([{ details: { team: "Default", role: "owner", previous: "viewer" } }]);
    expect(await auditRows(w.db, "membership.remove")).toMatchObject([{ details: { team: "Brand B", previous: "researcher" } }]);

    // Not a member (any more): 404; an unknown team: 422; nothing written.
    const before = await snapshot(w.db);
    expect((await post(admin, page, `${page}/teams/${w.teamB.id}/remove`)).status).toBe(404);
    const unknown = await post(admin, page, `${page}/teams`, { team: "9999", role: "viewer" });
    expect(unknown.status).toBe(422);
    expect(unknown.text).toContain("Choose a team from the list.");
    expect((await post(admin, page, "/admin/users/9999/disable")).status).toBe(404);
    expect(await snapshot(w.db)).toEqual(before);
  });

  it("lists teams with member and study counts, creates and renames them; names stay unique (422)", async () => {
    const w = await world();
    await createStudyFromDefinition(w.db, brandLiftDefinition({ name: "B study" }), w.ownerB.id, { teamId: w.teamB.id });
    const admin = await loggedInAgent(w.app, w.admin.email);
    const list = await admin.get("/admin/teams").set("Accept-Language", "en").expect(200);
    const row = (name: string, text: string) => new RegExp(`>${name}</a></td>\\s*<td>(\\d+)</td>\\s*<td>(\\d+)</td>`).exec(text)?.slice(1);
    expect(row("Brand B", list.text)).toEqual(["1", "1"]);
    expect(row("Default", list.text)).toEqual(["3", "0"]);

    await post(admin, "/admin/teams", "/admin/teams", { name: "  Brand C " }).then((r) => expect(r.status).toBe(303));
    const brandC = first(await w.db.select().from(teams).where(eq(teams.name, "Brand C")))!;
    expect(await auditRows(w.db, "team.create")).toMatchObject([{ userId: w.admin.id, entityId: String(brandC.id), details: { name: "Brand C" } }]);

    const before = await snapshot(w.db);
    const taken = await post(admin, "/admin/teams", "/admin/teams", { name: "Brand B" });
    expect(taken.status).toBe(422);
    expect(taken.text).toContain("A team with this name already exists.");
    const renameTaken = await post(admin, "/admin/teams", `/admin/teams/${brandC.id}`, { name: "Brand B" });
    expect(renameTaken.status).toBe(422);
    expect(renameTaken.text).toContain("A team with this name already exists.");
    const empty = await post(admin, "/admin/teams", `/admin/teams/${brandC.id}`, { name: " " });
    expect(empty.status).toBe(422);
    expect(empty.text).toContain("The team Brand C was not renamed");
    expect((await post(admin, "/admin/teams", "/admin/teams/9999", { name: "Nowhere" })).status).toBe(404);
    expect(await snapshot(w.db)).toEqual(before);

    await post(admin, "/admin/teams", `/admin/teams/${brandC.id}`, { name: "Brand C (retail)" }).then((r) => expect(r.status).toBe(303));
    expect(first(await w.db.select().from(teams).where(eq(teams.id, brandC.id)))!.name).toBe("Brand C (retail)");
    expect(await auditRows(w.db, "team.rename")).toMatchObject([{ userId: w.admin.id, details: { previous: "Brand C", name: "Brand C (retail)" } }]);
  });

  it("gives non-administrators a 403 on every admin page and form, writing nothing", async () => {
    const w = await world();
    for (const who of [w.owner, w.researcher, w.viewer]) {
      const agent = await loggedInAgent(w.app, who.email);
      const before = await snapshot(w.db);
      await agent.get("/admin/users").expect(403);
      await agent.get("/admin/teams").expect(403);
      await agent.get(`/admin/users/${w.admin.id}`).expect(403);
      const res = await post(agent, "/account", `/admin/users/${w.admin.id}/disable`);
      expect(res.status).toBe(403);
      expect((await post(agent, "/account", "/admin/teams", { name: "Mine" })).status).toBe(403);
      expect(await snapshot(w.db)).toEqual(before);
    }
  });
});

describe("team owners manage their team's members", () => {
  it("add an existing user by email, change a role and remove a member, each audited", async () => {
    const w = await world();
    const owner = await loggedInAgent(w.app, w.owner.email);
    const page = `/teams/${w.teamA.id}`;
    const shown = await owner.get(page).set("Accept-Language", "en").expect(200);
    expect(shown.text).toContain("viewer@example.test");

    await post(owner, page, `${page}/members`, { email: "OWNER-B@example.test", role: "researcher" }).then((r) => expect(r.status).toBe(303));
    expect((await membershipsOf(w.db, w.ownerB.id)).map((m) => [m.teamName, m.role])).toEqual([
      ["Brand B", "owner"],
      ["Default", "researcher"],
    ]);
    await post(owner, page, `${page}/members/${w.viewer.id}`, { role: "researcher" }).then((r) => expect(r.status).toBe(303));
    await post(owner, page, `${page}/members/${w.researcher.id}/remove`).then((r) => expect(r.status).toBe(303));
    expect(await membershipsOf(w.db, w.researcher.id)).toEqual([]);
    expect(await auditRows(w.db, "membership.add")).toMatchObject([{ userId: w.owner.id, entityId: String(w.ownerB.id) }]);
    expect(await auditRows(w.db, "membership.role")).toMatchObject([{ userId: w.owner.id, entityId: String(w.viewer.id), details: { role: "researcher", previous: "viewer" } }]);
    expect(await auditRows(w.db, "membership.remove")).toMatchObject([{ userId: w.owner.id, entityId: String(w.researcher.id) }]);
    // The removed researcher no longer reaches the team's studies.
    const study = await createStudyFromDefinition(w.db, brandLiftDefinition(), w.owner.id, { teamId: w.teamA.id });
    const removed = await loggedInAgent(w.app, w.researcher.email);
    await removed.get(`/studies/${study.id}`).expect(404);

    // Someone without an account: 422 with a message, nothing written.
    const before = await snapshot(w.db);
    const unknown = await post(owner, page, `${page}/members`, { email: "nobody@example.test", role: "viewer" });
    expect(unknown.status).toBe(422);
    expect(unknown.text).toContain("There is no account with this email.");
    const badRole = await post(owner, page, `${page}/members`, { email: w.admin.email, role: "admin" });
    expect(badRole.status).toBe(422);
    // A member of another team is not a member here: 404.
    expect((await post(owner, page, `${page}/members/${w.researcher.id}`, { role: "viewer" })).status).toBe(404);
    expect(await snapshot(w.db)).toEqual({ ...before, sessions: (await snapshot(w.db)).sessions });
  });

  it("cannot see or manage another team: the owner of team B gets the 404 of a team that does not exist", async () => {
    const w = await world();
    const ownerB = await loggedInAgent(w.app, w.ownerB.email);
    const other = await ownerB.get(`/teams/${w.teamA.id}`).set("Accept-Language", "en").expect(404);
    const missing = await ownerB.get("/teams/99999").set("Accept-Language", "en").expect(404);
    const strip = (html: string) => html.replace(/name="_csrf" value="[^"]+"/g, "");
    expect(strip(other.text)).toBe(strip(missing.text));
    expect(other.text).not.toContain("viewer@example.test");

    const before = await snapshot(w.db);
    const a = `/teams/${w.teamA.id}`;
    for (const [url, form] of [
      [`${a}/members`, { email: w.ownerB.email, role: "owner" }],
      [`${a}/members/${w.viewer.id}`, { role: "owner" }],
      [`${a}/members/${w.owner.id}/remove`, {}],
    ] as const) {
      expect((await post(ownerB, `/teams/${w.teamB.id}`, url, form)).status).toBe(404);
    }
    expect(await snapshot(w.db)).toEqual(before);
    // Their own team works; members of team A who are not owners get a 403 there.
    await ownerB.get(`/teams/${w.teamB.id}`).expect(200);
    await (await loggedInAgent(w.app, w.researcher.email)).get(a).expect(403);
    // Administrators manage every team.
    await (await loggedInAgent(w.app, w.admin.email)).get(`/teams/${w.teamB.id}`).expect(200);
  });

  it("cannot remove or demote the last owner of a team", async () => {
    const w = await world();
    const owner = await loggedInAgent(w.app, w.owner.email);
    const page = `/teams/${w.teamA.id}`;
    const before = await snapshot(w.db);
    const remove = await post(owner, page, `${page}/members/${w.owner.id}/remove`);
    expect(remove.status).toBe(422);
    expect(remove.text).toContain("A team keeps at least one owner");
    const demote = await post(owner, page, `${page}/members/${w.owner.id}`, { role: "viewer" });
    expect(demote.status).toBe(422);
    // Not through the admin pages either.
    const admin = await loggedInAgent(w.app, w.admin.email);
    const viaAdmin = await post(admin, `/admin/users/${w.owner.id}`, `/admin/users/${w.owner.id}/teams/${w.teamA.id}/remove`);
    expect(viaAdmin.status).toBe(422);
    expect(await snapshot(w.db)).toEqual({ ...before, sessions: (await snapshot(w.db)).sessions });

    // With a second owner, the first may step down, and then lands on their account page.
    await post(owner, page, `${page}/members/${w.researcher.id}`, { role: "owner" }).then((r) => expect(r.status).toBe(303));
    const left = await post(owner, page, `${page}/members/${w.owner.id}`, { role: "researcher" });
    expect(left.status).toBe(303);
    expect(left.headers["location"]).toBe("/account?done=leftTeam");
    await owner.get(page).expect(403);
  });
});

describe("every user's own account", () => {
  it("changing the password needs the current one (422 otherwise) and ends every other session", async () => {
    const w = await world();
    const here = await loggedInAgent(w.app, w.viewer.email);
    const elsewhere = await loggedInAgent(w.app, w.viewer.email);
    const hash = (await findUserById(w.db, w.viewer.id))!.passwordHash;

    const wrong = await post(here, "/account", "/account/password", { current: "not my password", password: "a new long password", confirm: "a new long password" });
    expect(wrong.status).toBe(422);
    expect(wrong.text).toContain("The current password is wrong.");
    const mismatch = await post(here, "/account", "/account/password", { current: PASSWORD, password: "a new long password", confirm: "something else" });
    expect(mismatch.status).toBe(422);
    expect((await findUserById(w.db, w.viewer.id))!.passwordHash).toBe(hash);
    await elsewhere.get("/studies").expect(200);
    expect(await auditRows(w.db, "user.password")).toEqual([]);

    const ok = await post(here, "/account", "/account/password", { current: PASSWORD, password: "a new long password", confirm: "a new long password" });
    expect(ok.status).toBe(303);
    await here.get("/studies").expect(200);
    await expectLoggedOut(elsewhere);
    await loggedInAgent(w.app, w.viewer.email, "a new long password");
    expect(await auditRows(w.db, "user.password")).toMatchObject([{ userId: w.viewer.id, entityId: String(w.viewer.id), details: { sessions: 1 } }]);
  });

  it("lists the user's sessions with this one marked, and ends one, all others, or this one", async () => {
    const w = await world();
    const here = await loggedInAgent(w.app, w.researcher.email);
    const second = await loggedInAgent(w.app, w.researcher.email);
    const third = await loggedInAgent(w.app, w.researcher.email);
    const someoneElse = await loggedInAgent(w.app, w.viewer.email);

    const page = (await here.get("/account").set("Accept-Language", "en").expect(200)).text;
    const handles = [...page.matchAll(/action="\/account\/sessions\/([0-9a-f]{32})\/end"/g)].map((m) => m[1]!);
    expect(handles).toHaveLength(3);
    expect(page.match(/this browser/g)).toHaveLength(1);
    // No session id or its stored hash on the page.
    for (const s of await w.db.select().from(sessions)) expect(page).not.toContain(s.idHash);

    // The second browser ends the two sessions its page lists without the mark.
    const rows = sessionRows((await second.get("/account").expect(200)).text);
    expect(rows.filter((r) => r.current)).toHaveLength(1);
    const otherHandles = rows.filter((r) => !r.current).map((r) => r.handle);
    expect(otherHandles).toHaveLength(2);
    // Someone else's handle does nothing: 404.
    const before = await snapshot(w.db);
    expect((await post(someoneElse, "/account", `/account/sessions/${otherHandles[0]}/end`)).status).toBe(404);
    expect((await post(someoneElse, "/account", "/account/sessions/not-a-handle/end")).status).toBe(404);
    expect((await snapshot(w.db)).sessions.length).toBe(before.sessions.length);

    for (const handle of otherHandles) {
      await post(second, "/account", `/account/sessions/${handle}/end`).then((r) => expect(r.status).toBe(303));
    }
    await expectLoggedOut(here);
    await expectLoggedOut(third);
    await second.get("/studies").expect(200);
    expect(await auditRows(w.db, "session.end")).toMatchObject([
      { userId: w.researcher.id, details: { current: false } },
      { userId: w.researcher.id, details: { current: false } },
    ]);

    // "All others" from a new browser ends the second; ending "this" session is logging out.
    const fourth = await loggedInAgent(w.app, w.researcher.email);
    await post(fourth, "/account", "/account/sessions/end-others").then((r) => expect(r.status).toBe(303));
    await expectLoggedOut(second);
    expect(await auditRows(w.db, "session.end_others")).toMatchObject([{ userId: w.researcher.id, details: { sessions: 1 } }]);
    const own = sessionRows((await fourth.get("/account").expect(200)).text);
    expect(own).toEqual([{ handle: expect.any(String), current: true }]);
    const out = await post(fourth, "/account", `/account/sessions/${own[0]!.handle}/end`);
    expect(out.headers["location"]).toBe("/login?bye=1");
    await expectLoggedOut(fourth);
    await someoneElse.get("/studies").expect(200);
  });

  it("shows owners the teams they manage", async () => {
    const w = await world();
    const owner = await loggedInAgent(w.app, w.owner.email);
    const page = (await owner.get("/account").set("Accept-Language", "en").expect(200)).text;
    expect(page).toContain(`href="/teams/${w.teamA.id}"`);
    expect(page).toContain("Default: Owner");
    const viewer = await loggedInAgent(w.app, w.viewer.email);
    expect((await viewer.get("/account").expect(200)).text).not.toContain('href="/teams/');
  });
});

describe("the pages in both languages", () => {
  it("translate every message (no message key shows) in Russian and English", async () => {
    const w = await world();
    const admin = await loggedInAgent(w.app, w.admin.email);
    await post(admin, `/admin/users/${w.viewer.id}`, `/admin/users/${w.viewer.id}/disable`);
    const pages = ["/admin/users", `/admin/users/${w.viewer.id}?done=disabled`, `/admin/users/${w.admin.id}`, "/admin/teams?done=created", `/teams/${w.teamA.id}?done=added`, "/account?done=password"];
    for (const lang of ["ru", "en"]) {
      for (const url of pages) {
        const text = (await admin.get(`${url}${url.includes("?") ? "&" : "?"}lang=${lang}`).expect(200)).text;
        expect(text, `${url} ${lang}`).not.toMatch(/\baccounts\.[a-z]/);
        expect(text, `${url} ${lang}`).not.toMatch(/\b(users|roles|nav)\.[a-z]/);
      }
    }
    const ru = (await admin.get(`/admin/users/${w.viewer.id}?lang=ru`).expect(200)).text;
    expect(ru).toContain(messages.ru.accounts.user.enable);
    expect(ru).toContain("отключена с");
  });
});

describe("links", () => {
  it("a researcher disables a link: respondents get 'not found', nothing is stored; enabling lets them in again", async () => {
    const { app, db } = freshApp();
    const researcher = await addUser(db, "researcher");
    const survey = await openSurvey(db);
    const link = survey.links["subscribers"]!;
    const agent = await loggedInAgent(app, researcher.email);
    const respondent = request.agent(app);
    // A respondent has the first page open when the link is stopped.
    const first = await respondent.get(`/s/${link.token}`).expect(200);
    const hidden = Object.fromEntries([...first.text.matchAll(/<input type="hidden" name="(_\w)" value="([^"]*)">/g)].map((m) => [m[1]!, m[2]!]));

    const res = await post(agent, `/waves/${survey.wave.id}`, `/waves/${survey.wave.id}/links/${link.id}/disable`);
    expect(res.status).toBe(303);
    expect((await db.select().from(links).where(eq(links.id, link.id)))[0]!.disabledAt).toBeInstanceOf(Date);
    expect(await auditRows(db, "link.disable")).toMatchObject([{ userId: researcher.id, entityType: "link", entityId: String(link.id) }]);
    const wavePage = await agent.get(`/waves/${survey.wave.id}`).set("Accept-Language", "en").expect(200);
    expect(wavePage.text).toContain("Enable the link");
    const journal = await agent.get(`/studies/${survey.study.id}/audit`).set("Accept-Language", "en").expect(200);
    expect(journal.text).toContain("Disabled the link of “Pre”");

    await request(app).get(`/s/${link.token}`).expect(404);
    const before = await db.select().from(responses);
    await respondent.post(`/s/${link.token}`).type("form").send({ ...hidden, q_unaided: "Acme" }).expect(404);
    expect(await db.select().from(responses)).toEqual(before);
    // Other segments' links still work.
    await request(app).get(`/s/${survey.links["inactive"]!.token}`).expect(200);

    await post(agent, `/waves/${survey.wave.id}`, `/waves/${survey.wave.id}/links/${link.id}/enable`).then((r) => expect(r.status).toBe(303));
    await request(app).get(`/s/${link.token}`).expect(200);
    expect(await auditRows(db, "link.enable")).toHaveLength(1);
    // A link of another wave is a 404 here.
    expect((await post(agent, `/waves/${survey.wave.id}`, `/waves/${survey.wave.id}/links/99999/disable`)).status).toBe(404);
  });
});

describe("CLI account commands", () => {
  function capture() {
    const out: string[] = [];
    const err: string[] = [];
    return { io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) }, out, err };
  }

  it("disable, enable, password, role, remove, admin and team:rename, each audited as the command line", async () => {
    const w = await world();
    const cli = async (...argv: string[]) => {
      const c = capture();
      const code = await runCli(argv, w.db, c.io);
      return { code, out: c.out.join("\n"), err: c.err.join("\n") };
    };
    const user = await loggedInAgent(w.app, w.researcher.email);
    const token = await createApiToken(w.db, w.researcher.id, "script");

    expect(await cli("user:disable", "--email", w.researcher.email)).toMatchObject({ code: 0, out: "researcher@example.test is disabled (sessions ended, API tokens revoked)." });
    await expectLoggedOut(user);
    await request(w.app).get("/api/me").set("Authorization", `Bearer ${token.token}`).expect(401);
    expect((await cli("user:disable", "--email", w.researcher.email)).out).toMatch(/^Nothing to change/);
    expect(await cli("user:enable", "--email", w.researcher.email)).toMatchObject({ code: 0 });

    const viewer = await loggedInAgent(w.app, w.viewer.email);
    expect(await cli("user:password", "--email", w.viewer.email, "--password", "set from the shell")).toMatchObject({ code: 0 });
    await expectLoggedOut(viewer);
    await loggedInAgent(w.app, w.viewer.email, "set from the shell");

    expect(await cli("user:role", "--email", w.viewer.email, "--team", "Brand B", "--role", "researcher")).toMatchObject({ code: 0, out: 'viewer@example.test is researcher in team "Brand B".' });
    expect(await cli("user:role", "--email", w.viewer.email, "--team", "Brand B", "--role", "owner")).toMatchObject({ code: 0 });
    expect(await cli("user:remove", "--email", w.viewer.email, "--team", "Brand B")).toMatchObject({ code: 0 });
    expect((await membershipsOf(w.db, w.viewer.id)).map((m) => m.teamName)).toEqual(["Default"]);
    expect(await cli("user:admin", "--email", w.viewer.email, "--on")).toMatchObject({ code: 0, out: "viewer@example.test is an administrator." });
    expect((await findUserById(w.db, w.viewer.id))!.isAdmin).toBe(true);
    expect(await cli("user:admin", "--email", w.viewer.email, "--off")).toMatchObject({ code: 0 });
    expect(await cli("team:rename", "--team", "Brand B", "--name", "Brand Bee")).toMatchObject({ code: 0 });
    expect(first(await w.db.select().from(teams).where(eq(teams.id, w.teamB.id)))!.name).toBe("Brand Bee");

    // Entries after the set-up's (whose users were created by the command line too).
    const setUp = (await auditRows(w.db, "user.create")).length;
    const rows = (await w.db.select().from(auditLog).where(eq(auditLog.systemActor, "cli"))).slice(setUp);
    expect(rows.map((r) => r.action)).toEqual([
      "user.disable",
      "user.enable",
      "user.password_reset",
      "membership.add",
      "membership.role",
      "membership.remove",
      "user.admin_grant",
      "user.admin_revoke",
      "team.rename",
    ]);
    expect(rows.every((r) => r.userId === null)).toBe(true);
  });

  it("explains bad arguments (exit 2), unknown users and teams and broken rules (exit 1), writing nothing", async () => {
    const w = await world();
    const before = await snapshot(w.db);
    const cases: Array<[string[], number, string]> = [
      [["user:disable"], 2, "--email is required."],
      [["user:disable", "--email", "nobody@example.test"], 1, "No user with email nobody@example.test."],
      [["user:password", "--email", w.viewer.email, "--password", "short"], 2, "--password must be 10 to 256 characters."],
      [["user:role", "--email", w.viewer.email, "--team", "Brand B", "--role", "admin"], 2, "--role must be one of: owner, researcher, viewer"],
      [["user:role", "--email", w.viewer.email, "--role", "viewer"], 2, "--team is required."],
      [["user:role", "--email", w.viewer.email, "--team", "Nope", "--role", "viewer"], 1, 'No team named "Nope".'],
      [["user:remove", "--email", w.viewer.email, "--team", "Brand B"], 1, 'viewer@example.test is not in team "Brand B".'],
      [["user:remove", "--email", w.ownerB.email, "--team", "Brand B"], 1, "Refused: this is the team's last owner; make another member an owner first."],
      [["user:role", "--email", w.ownerB.email, "--team", "Brand B", "--role", "viewer"], 1, "Refused: this is the team's last owner; make another member an owner first."],
      [["user:admin", "--email", w.viewer.email], 2, "Give exactly one of --on and --off."],
      [["user:admin", "--email", w.viewer.email, "--on", "--off"], 2, "Give exactly one of --on and --off."],
      [["team:rename", "--team", "Default", "--name", "Brand B"], 1, "A team with this name already exists."],
      [["team:rename", "--team", "Default"], 2, "--name is required (1 to 100 characters)."],
    ];
    for (const [argv, code, line] of cases) {
      const c = capture();
      expect(await runCli(argv, w.db, c.io), argv.join(" ")).toBe(code);
      expect(c.err[0]!.split("\n")[0], argv.join(" ")).toBe(line);
      expect(c.out).toEqual([]);
    }
    expect(await snapshot(w.db)).toEqual(before);
    expect(first(await w.db.select().from(memberships).where(and(eq(memberships.teamId, w.teamB.id), eq(memberships.userId, w.ownerB.id))))?.role).toBe("owner");
  });
});
