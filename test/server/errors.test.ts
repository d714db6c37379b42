import request from "supertest";
import { describe, expect, it, vi } from "vitest";
import { closeDatabase } from "../../db/client.js";
import { logger } from "../../server/logger.js";
import { addUser, freshApp, loggedInAgent } from "../helpers.js";

describe("error pages", () => {
  it("turn a thrown error into a localized 500 page without its message or stack", async () => {
    const { app, db } = freshApp();
    await addUser(db, "researcher");
    const agent = await loggedInAgent(app, "researcher@example.test");
    await agent.get("/studies").expect(200);
    const logged = vi.spyOn(logger, "error").mockImplementation(() => undefined);
    // A real failure deep inside a handler: the database goes away under a signed-in user.
    await closeDatabase(db);
    const res = await agent.get("/studies?lang=ru").expect(500);
    expect(res.text).toContain("Что-то пошло не так");
    expect(res.text).not.toMatch(/database|connection|TypeError|at \w+ \(/i);
    expect(logged).toHaveBeenCalledWith("unhandled error", expect.any(Error), expect.objectContaining({ path: "/studies" }));
    logged.mockRestore();
  });

  it("answer an oversized form with 413", async () => {
    const { app } = freshApp();
    // Refused while reading the body, before any other check.
    const res = await request(app)
      .post("/login?lang=en")
      .type("form")
      .send({ email: "a".repeat(200_000) })
      .expect(413);
    expect(res.text).toContain("Too much data");
  });
});

describe("JSON API errors", () => {
  it("share one shape for a missing and a wrong token (401)", async () => {
    const { app } = freshApp();
    const none = await request(app).get("/api/me").expect(401);
    expect(none.body).toEqual({ error: { code: "invalid_token", message: expect.any(String) } });
    expect(none.headers["www-authenticate"]).toMatch(/^Bearer/);
    const wrong = await request(app)
      .get("/api/me")
      .set("Authorization", "Bearer bl_thisIsNotARealTokenAtAll1234567")
      .set("Accept-Language", "ru")
      .expect(401);
    expect(wrong.body.error.code).toBe("invalid_token");
    expect(wrong.body.error.message).toBe("API-токен не передан, неверен или отозван.");
  });

  it("answer unknown API routes and malformed JSON as JSON", async () => {
    const { app, db } = freshApp();
    const user = await addUser(db, "viewer");
    const { createApiToken } = await import("../../server/services/accounts.js");
    const { token } = await createApiToken(db, user.id, "t");
    const missing = await request(app).get("/api/nothing").set("Authorization", `Bearer ${token}`).expect(404);
    expect(missing.body.error.code).toBe("not_found");
    const broken = await request(app)
      .post("/api/me")
      .set("Authorization", `Bearer ${token}`)
      .set("Content-Type", "application/json")
      .send('{"name": ')
      .expect(400);
    expect(broken.body.error.code).toBe("bad_request");
  });
});

describe("compression", () => {
  it("gzips survey pages but not researcher pages that carry a CSRF token (BREACH)", async () => {
    const { app, db } = freshApp();
    await addUser(db, "researcher");
    const agent = await loggedInAgent(app, "researcher@example.test");
    const page = await agent.get("/studies").set("Accept-Encoding", "gzip").expect(200);
    expect(page.headers["content-encoding"]).toBeUndefined();
    const login = await request(app).get("/setup").set("Accept-Encoding", "gzip");
    expect(login.headers["content-encoding"]).toBeUndefined();
  });
});
