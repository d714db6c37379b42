import { membershipsOf } from "../../db/queries/teams.js";
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import request from "supertest";
import { describe, expect, it } from "vitest";
import { closeDatabase, openDatabase } from "../../db/client.js";
import { findUserByEmail } from "../../db/queries/users.js";
import { auditLog } from "../../db/schema.js";
import { createApp } from "../../server/app.js";
import { runCli } from "../../server/cli.js";
import { testConfig } from "../../server/config.js";
import { freshDb } from "../helpers.js";

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) }, out, err };
}

describe("CLI", () => {
  it("creates a user and a token that the API accepts", async () => {
    const db = freshDb();
    const user = capture();
    expect(
      await runCli(["user:create", "--email", "Lead@Example.test", "--password", "a long password", "--role", "viewer"], db, user.io),
    ).toBe(0);
    expect(user.out[0]).toContain("lead@example.test");
    const lead = (await findUserByEmail(db, "lead@example.test"))!;
    expect(lead.isAdmin).toBe(false);
    expect((await membershipsOf(db, lead.id)).map((m) => [m.teamName, m.role])).toEqual([["Default", "viewer"]]);
    // No user created it: the audit names the command line.
    const created = await db.select().from(auditLog).where(eq(auditLog.action, "user.create"));
    expect(created.map((a) => [a.userId, a.systemActor, a.entityId])).toEqual([[null, "cli", String((await findUserByEmail(db, "lead@example.test"))!.id)]]);

    const tok = capture();
    expect(await runCli(["token:create", "--email", "lead@example.test", "--name", "ci"], db, tok.io)).toBe(0);
    const token = tok.out[0]!;
    const app = createApp({ db, config: testConfig() });
    const me = await request(app).get("/api/me").set("Authorization", `Bearer ${token}`).expect(200);
    expect(me.body).toMatchObject({ email: "lead@example.test", admin: false, teams: [{ name: "Default", role: "viewer" }] });
    await request(app).get("/api/me").set("Authorization", `Bearer ${token.slice(0, -1)}x`).expect(401);
  });

  it("explains bad arguments and exits non-zero without writing", async () => {
    const db = freshDb();
    const bad = capture();
    expect(await runCli(["user:create", "--email", "x@y.test", "--password", "short", "--role", "boss"], db, bad.io)).toBe(2);
    expect(bad.err.join("\n")).toMatch(/--password must be at least 10 characters/);
    expect(bad.err.join("\n")).toMatch(/--role must be one of: admin, owner, researcher, viewer/);
    expect(await findUserByEmail(db, "x@y.test")).toBeUndefined();

    const unknown = capture();
    expect(await runCli(["token:create", "--email", "nobody@y.test"], db, unknown.io)).toBe(1);
    expect(unknown.err[0]).toBe("No user with email nobody@y.test.");

    const flag = capture();
    expect(await runCli(["user:create", "--colour", "red"], db, flag.io)).toBe(2);
    expect(flag.err[0]).toMatch(/Unknown option '--colour'/);

    const dup = capture();
    await runCli(["user:create", "--email", "d@y.test", "--password", "a long password", "--role", "admin"], db, capture().io);
    expect(await runCli(["user:create", "--email", "d@y.test", "--password", "a long password", "--role", "admin"], db, dup.io)).toBe(1);
  });

  it("runs as `npm run cli` against the DATABASE_PATH file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bl-cli-"));
    // vitest exports its own BASE_URL ("/"); a real shell would not have it.
    const { BASE_URL: _ignored, ...parentEnv } = process.env;
    const env = { ...parentEnv, DATABASE_PATH: join(dir, "cli.db"), LOG_SILENT: "1" };
    const created = spawnSync(
      "node_modules/.bin/tsx",
      ["server/cli.ts", "user:create", "--email", "ops@example.test", "--password", "a long password", "--role", "admin"],
      { env, encoding: "utf8" },
    );
    expect(created.stderr).toBe("");
    expect(created.status).toBe(0);
    const token = spawnSync("node_modules/.bin/tsx", ["server/cli.ts", "token:create", "--email", "ops@example.test"], {
      env,
      encoding: "utf8",
    });
    expect(token.status).toBe(0);
    expect(token.stdout.trim()).toMatch(/^bl_[A-Za-z0-9_-]{43}$/);
    const db = openDatabase(env.DATABASE_PATH);
    expect((await findUserByEmail(db, "ops@example.test"))?.isAdmin).toBe(true);
    await closeDatabase(db);
  }, 30_000);

  it("prints configuration problems without a stack trace", () => {
    const bad = spawnSync("node_modules/.bin/tsx", ["server/cli.ts", "token:create", "--email", "a@b.test"], {
      env: { ...process.env, DATABASE_PATH: ":memory:", DEFAULT_LOCALE: "de" },
      encoding: "utf8",
    });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("DEFAULT_LOCALE");
    expect(bad.stderr).not.toMatch(/\bat \S+ \(/);
  }, 30_000);
});
