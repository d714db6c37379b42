import request from "supertest";
import { describe, expect, it } from "vitest";
import { closeDatabase } from "../../db/client.js";
import { freshApp } from "../helpers.js";

describe("GET /healthz", () => {
  it("answers ok after querying the database", async () => {
    const { app } = freshApp();
    const res = await request(app).get("/healthz").expect(200);
    expect(res.body).toEqual({ status: "ok" });
  });

  it("answers 503 when the database is unusable", async () => {
    const { app, db } = freshApp();
    await closeDatabase(db);
    const res = await request(app).get("/healthz").expect(503);
    expect(res.body).toEqual({ status: "unavailable" });
  });

  it("answers 503 when the database has no schema", async () => {
    const { openDatabase } = await import("../../db/client.js");
    const { createApp } = await import("../../server/app.js");
    const { testConfig } = await import("../../server/config.js");
    const app = createApp({ db: openDatabase(":memory:"), config: testConfig() });
    await request(app).get("/healthz").expect(503);
  });
});
