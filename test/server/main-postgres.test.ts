import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { createThrowawayDatabase, postgresTestsRun, requireTestDatabaseUrl, type ThrowawayDatabase } from "../support/postgres.js";
import { startServerProcess } from "../support/server-process.js";

const SECRET = randomBytes(32).toString("hex");
/** Each test starts tsx processes, which take seconds each on a loaded machine. */
const SPAWN_TIMEOUT = 60_000;

/** The environment of an entry point: this process's, without what would pick another database. */
function envWith(vars: Record<string, string>): NodeJS.ProcessEnv {
  const { BASE_URL: _vitestOwn, DATABASE_PATH: _path, DATABASE_URL: _url, SESSION_SECRET: _secret, ...env } = process.env;
  return { ...env, PORT: "0", LOG_SILENT: "0", ...vars };
}

interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs an entry point to its end (one that refuses to start). */
function run(script: string, vars: Record<string, string>, args: string[] = []): Promise<Finished> {
  const child = spawn("node_modules/.bin/tsx", [script, ...args], { env: envWith(vars), stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (c) => (stdout += c));
  child.stderr!.on("data", (c) => (stderr += c));
  return new Promise((resolve) => child.once("close", (code) => resolve({ code, stdout, stderr })));
}

/** A refusal is one line on stderr and exit status 2, never a stack trace. */
function expectOneLineRefusal(result: Finished, pattern: RegExp): void {
  expect(result.code).toBe(2);
  expect(result.stderr.trim().split("\n")).toHaveLength(1);
  expect(result.stderr).toMatch(pattern);
  expect(result.stderr).not.toMatch(/\n\s+at /);
}

describe("server/main.ts refuses a wrong PostgreSQL configuration in one line", () => {
  it("a URL of another kind, naming DATABASE_URL", async () => {
    expectOneLineRefusal(await run("server/main.ts", { DATABASE_URL: "mysql://app@db/brandlift", SESSION_SECRET: SECRET }), /^Invalid configuration: DATABASE_URL: must be a PostgreSQL URL/);
  }, SPAWN_TIMEOUT);

  it("no SESSION_SECRET", async () => {
    expectOneLineRefusal(await run("server/main.ts", { DATABASE_URL: "postgres://app@127.0.0.1/brandlift" }), /^Invalid configuration: SESSION_SECRET: required with DATABASE_URL/);
  }, SPAWN_TIMEOUT);

  it("a server that is not there, without showing the password", async () => {
    const result = await run("server/main.ts", { DATABASE_URL: "postgres://app:hunter2secret@127.0.0.1:1/brandlift", SESSION_SECRET: SECRET });
    expectOneLineRefusal(result, /DATABASE_URL: cannot use the PostgreSQL database postgres:\/\/app:\*\*\*@127\.0\.0\.1:1\/brandlift \(ECONNREFUSED\): nothing accepts connections at 127\.0\.0\.1:1/);
    expect(result.stderr).not.toContain("hunter2secret");
  }, SPAWN_TIMEOUT);

  it("a host name that does not resolve", async () => {
    const result = await run("server/main.ts", { DATABASE_URL: "postgres://app@no-such-host.invalid/brandlift", SESSION_SECRET: SECRET });
    expectOneLineRefusal(result, /\((ENOTFOUND|EAI_AGAIN)\): the host name no-such-host\.invalid/);
  }, SPAWN_TIMEOUT);

  it("npm run backup points a PostgreSQL install to pg_dump", async () => {
    const result = await run("server/backup.ts", { DATABASE_URL: "postgres://app@127.0.0.1/brandlift" }, ["/tmp/never-written.db"]);
    expectOneLineRefusal(result, /PostgreSQL.*pg_dump.*Nothing was backed up/);
  }, SPAWN_TIMEOUT);
});

describe.runIf(postgresTestsRun("main-postgres.test.ts"))("server/main.ts on PostgreSQL", () => {
  let database: ThrowawayDatabase;

  beforeAll(async () => {
    database = await createThrowawayDatabase();
  });

  afterAll(async () => {
    await database?.drop();
  });

  it("migrates a new database, serves /healthz and /setup, and closes its pool on SIGTERM", async () => {
    const server = startServerProcess({ DATABASE_URL: database.url, SESSION_SECRET: SECRET, LOG_SILENT: "0" }, { drop: ["DATABASE_PATH", "SESSION_SECRET"], timeoutMs: SPAWN_TIMEOUT });
    try {
      const url = await server.url;
      expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ status: "ok" });
      const setup = await fetch(`${url}/setup`);
      expect(setup.status).toBe(200);
      // The log names the database without its password.
      expect(server.output()).toContain(`"database":"${new URL(database.url).protocol}//postgres:***@`);
      expect(await server.stop()).toBe(0);
      expect(server.output()).toContain('"msg":"stopped"');
    } finally {
      if (server.child.exitCode === null) server.child.kill("SIGKILL");
    }

    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      const applied = await client.query<{ n: string }>("SELECT count(*) AS n FROM drizzle.__drizzle_migrations");
      expect(Number(applied.rows[0]!.n)).toBeGreaterThan(0);
      const tables = await client.query<{ name: string }>("SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public'");
      expect(tables.rows.map((r) => r.name)).toEqual(expect.arrayContaining(["users", "responses", "sessions", "rate_limits"]));
      // No pool connection outlived the process. A server backend whose client has gone may still
      // be listed while it exits, so this waits (bounded) for the count to reach zero.
      let others = Infinity;
      for (let attempt = 0; attempt < 50 && others > 0; attempt++) {
        if (attempt > 0) await new Promise((r) => setTimeout(r, 100));
        const active = await client.query<{ n: string }>("SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", [database.name]);
        others = Number(active.rows[0]!.n);
      }
      expect(others).toBe(0);
    } finally {
      await client.end();
    }
  }, SPAWN_TIMEOUT * 2);

  it("the CLI creates a user on PostgreSQL", async () => {
    const result = await run("server/cli.ts", { DATABASE_URL: database.url, SESSION_SECRET: SECRET }, ["user:create", "--email", "cli@example.test", "--password", "correct horse battery", "--role", "admin"]);
    expect(result.stderr).toBe("");
    expect([result.code, result.stdout]).toEqual([0, expect.stringMatching(/^Created admin cli@example\.test/)]);
  }, SPAWN_TIMEOUT);

  it("refuses a wrong password, a database that does not exist and TLS the server lacks, in one line", async () => {
    const wrongPassword = new URL(requireTestDatabaseUrl());
    wrongPassword.password = "not-the-password";
    expectOneLineRefusal(
      await run("server/main.ts", { DATABASE_URL: wrongPassword.toString(), SESSION_SECRET: SECRET }),
      /\(28P01\): the server refused the password of user postgres/,
    );
    const missing = new URL(requireTestDatabaseUrl());
    missing.pathname = "/brandlift_never_created";
    expectOneLineRefusal(
      await run("server/main.ts", { DATABASE_URL: missing.toString(), SESSION_SECRET: SECRET }),
      /\(3D000\): there is no database brandlift_never_created on the server/,
    );
    // Any other failure of the first connection is a configuration line too (this server has no TLS).
    const tls = new URL(database.url);
    tls.searchParams.set("sslmode", "verify-full");
    expectOneLineRefusal(
      await run("server/main.ts", { DATABASE_URL: tls.toString(), SESSION_SECRET: SECRET }),
      /^Invalid configuration: DATABASE_URL: cannot connect to the PostgreSQL database .*sslmode=verify-full \(The server does not support SSL connections\): check the URL/,
    );
    // sslmode=require is verified as verify-full, in one line: no deprecation warning of the driver's.
    tls.searchParams.set("sslmode", "require");
    expectOneLineRefusal(
      await run("server/main.ts", { DATABASE_URL: tls.toString(), SESSION_SECRET: SECRET }),
      /^Invalid configuration: DATABASE_URL: cannot connect to the PostgreSQL database .*sslmode=require \(The server does not support SSL connections\): check the URL/,
    );
  }, SPAWN_TIMEOUT);
});
