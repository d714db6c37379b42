import request from "supertest";
import { afterEach, describe, expect, it, vi } from "vitest";
import { logger } from "../../server/logger.js";
import { redactPath } from "../../server/middleware/request-log.js";
import { PASSWORD, addUser, csrfFrom, freshApp } from "../helpers.js";

describe("request log", () => {
  afterEach(() => {
    logger.silent = true;
    vi.restoreAllMocks();
  });

  it("writes one JSON line per request without passwords, tokens or query strings", async () => {
    const { app, db } = freshApp();
    await addUser(db, "researcher");
    const agent = request.agent(app);
    const page = await agent.get("/login");
    const lines: string[] = [];
    logger.silent = false;
    vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    await agent
      .post("/login?secret=query-value")
      .type("form")
      .send({ email: "researcher@example.test", password: PASSWORD, _csrf: csrfFrom(page.text) })
      .expect(303);
    logger.silent = true;
    const entries = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(entries).toContainEqual(
      expect.objectContaining({ level: "info", msg: "request", method: "POST", path: "/login", status: 303 }),
    );
    const all = lines.join("");
    expect(all).not.toContain(PASSWORD);
    expect(all).not.toContain("query-value");
    expect(all).not.toContain(csrfFrom(page.text));
    expect(all).not.toMatch(/bl_session=/);
  });

  it("masks survey link tokens", () => {
    expect(redactPath("/s/V1StGXR8_Z5jdHi6B-myT?rid=42")).toBe("/s/:token");
    expect(redactPath("/s/V1StGXR8_Z5jdHi6B-myT/thanks")).toBe("/s/:token/thanks");
    expect(redactPath("/r/V1StGXR8_Z5jdHi6B-myTabc?lang=en")).toBe("/r/:token");
    expect(redactPath("/S//V1StGXR8_Z5jdHi6B-myT")).toBe("/s/:token");
    expect(redactPath("/studies?x=1")).toBe("/studies");
  });
});
