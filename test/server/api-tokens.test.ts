import request from "supertest";
import { describe, expect, it } from "vitest";
import { apiTokens } from "../../db/schema.js";
import { sha256 } from "../../server/domain/secrets.js";
import { addUser, csrfFrom, freshApp, loggedInAgent } from "../helpers.js";
import { first } from "../../db/client.js";

describe("API tokens", () => {
  it("are shown once, stored hashed, accepted by the API, and refused once revoked", async () => {
    const { app, db } = freshApp();
    await addUser(db, "viewer");
    const agent = await loggedInAgent(app, "viewer@example.test");
    const page = await agent.get("/account/tokens?lang=en").expect(200);
    const created = await agent
      .post("/account/tokens")
      .type("form")
      .send({ name: "weekly report", _csrf: csrfFrom(page.text) })
      .expect(201);
    expect(created.headers["cache-control"]).toBe("no-store");
    const token = /<code class="token">([^<]+)<\/code>/.exec(created.text)![1]!;
    expect(token).toMatch(/^bl_[A-Za-z0-9_-]{43}$/);

    const stored = await db.select().from(apiTokens);
    expect(stored).toHaveLength(1);
    expect(stored[0]!.tokenHash).toBe(sha256(token));
    expect(JSON.stringify(stored)).not.toContain(token);

    const again = await agent.get("/account/tokens").expect(200);
    expect(again.text).not.toContain(token);
    expect(again.text).toContain(token.slice(0, 9));

    const me = await request(app).get("/api/me").set("Authorization", `Bearer ${token}`).expect(200);
    expect(me.body).toMatchObject({ email: "viewer@example.test", admin: false, teams: [{ name: "Default", role: "viewer" }] });
    expect(first(await db.select().from(apiTokens))!.lastUsedAt).toBeInstanceOf(Date);

    await agent
      .post(`/account/tokens/${stored[0]!.id}/revoke`)
      .type("form")
      .send({ _csrf: csrfFrom(again.text) })
      .expect(303);
    await request(app).get("/api/me").set("Authorization", `Bearer ${token}`).expect(401);
  });

  it("cannot be revoked by another user", async () => {
    const { app, db } = freshApp();
    const owner = await addUser(db, "researcher");
    await addUser(db, "admin");
    const { createApiToken } = await import("../../server/services/accounts.js");
    const { record } = await createApiToken(db, owner.id, "mine");
    const intruder = await loggedInAgent(app, "admin@example.test");
    const page = await intruder.get("/account/tokens");
    await intruder.post(`/account/tokens/${record.id}/revoke`).type("form").send({ _csrf: csrfFrom(page.text) }).expect(404);
    expect(first(await db.select().from(apiTokens))!.revokedAt).toBeNull();
  });

  it("lists studies for a token holder", async () => {
    const { app, db } = freshApp();
    const user = await addUser(db, "viewer");
    const { createApiToken } = await import("../../server/services/accounts.js");
    const { token } = await createApiToken(db, user.id, "t");
    const res = await request(app).get("/api/studies").set("Authorization", `Bearer ${token}`).expect(200);
    expect(res.body).toEqual({ studies: [] });
  });
});
