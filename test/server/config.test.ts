import { existsSync, mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { once } from "node:events";
import { createServer, type AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { ConfigError, databaseLabel, loadConfig } from "../../server/config.js";
import { openPostgresDatabase } from "../../server/data-files.js";

describe("loadConfig", () => {
  it("has working defaults", () => {
    const dir = mkdtempSync(join(tmpdir(), "bl-config-"));
    const config = loadConfig({ DATABASE_PATH: join(dir, "x.db") });
    expect(config).toMatchObject({
      port: 3000,
      host: "127.0.0.1",
      baseUrl: "http://127.0.0.1:3000",
      trustProxy: false,
      defaultLocale: "ru",
      surveyPostLimit: 120,
      databasePool: { max: 10, connectTimeoutMs: 10_000 },
      // Deployed unless NODE_ENV=development: templates cached (test/server/deployed.test.ts).
      production: true,
    });
  });

  it("reads every variable", () => {
    const config = loadConfig({
      PORT: "8080",
      HOST: "0.0.0.0",
      DATABASE_PATH: ":memory:",
      BASE_URL: "https://lift.example.test/",
      SESSION_SECRET: "s".repeat(40),
      TRUST_PROXY: "1",
      DEFAULT_LOCALE: "en",
      SURVEY_POST_LIMIT: "500",
      DATABASE_POOL_SIZE: "25",
      DATABASE_CONNECT_TIMEOUT: "3",
      NODE_ENV: "production",
    });
    expect(config).toEqual({
      port: 8080,
      host: "0.0.0.0",
      databasePath: ":memory:",
      databaseUrl: undefined,
      databasePool: { max: 25, connectTimeoutMs: 3000 },
      baseUrl: "https://lift.example.test",
      sessionSecret: "s".repeat(40),
      trustProxy: 1,
      defaultLocale: "en",
      surveyPostLimit: 500,
      production: true,
    });
    expect(loadConfig({ DATABASE_PATH: ":memory:", TRUST_PROXY: "loopback" }).trustProxy).toBe("loopback");
  });

  it("lists every invalid variable at once", () => {
    let caught: unknown;
    try {
      loadConfig({ PORT: "http", BASE_URL: "ftp://x", SESSION_SECRET: "short", DEFAULT_LOCALE: "de", DATABASE_POOL_SIZE: "0", DATABASE_CONNECT_TIMEOUT: "soon" });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const problems = (caught as ConfigError).problems.join("\n");
    for (const name of ["PORT", "BASE_URL", "SESSION_SECRET", "DEFAULT_LOCALE", "DATABASE_POOL_SIZE", "DATABASE_CONNECT_TIMEOUT"]) expect(problems).toContain(name);
  });

  it("generates a missing SESSION_SECRET once and keeps it in the data folder", () => {
    const dir = mkdtempSync(join(tmpdir(), "bl-secret-"));
    const env = { DATABASE_PATH: join(dir, "data", "brandlift.db") };
    const first = loadConfig(env).sessionSecret;
    const file = join(dir, "data", "session-secret");
    expect(existsSync(file)).toBe(true);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, "utf8").trim()).toBe(first);
    expect(first).toMatch(/^[0-9a-f]{64}$/);
    expect(loadConfig(env).sessionSecret).toBe(first);
  });

  describe("DATABASE_URL", () => {
    const secret = "0123456789abcdef".repeat(4);
    const problemsOf = (env: NodeJS.ProcessEnv): string[] => {
      try {
        loadConfig(env);
      } catch (error) {
        if (error instanceof ConfigError) return error.problems;
        throw error;
      }
      return [];
    };

    it("takes a postgres:// or postgresql:// URL, keeps no secret file, and shows it without its password", () => {
      const dir = mkdtempSync(join(tmpdir(), "bl-config-pg-"));
      for (const url of ["postgres://app:s3cret@db.internal:5433/brandlift", "postgresql://app:s3cret@db.internal/brandlift?sslmode=require"]) {
        const config = loadConfig({ DATABASE_URL: url, SESSION_SECRET: secret, DATABASE_PATH: join(dir, "unused", "x.db") });
        expect(config.databaseUrl).toBe(url);
        expect(config.sessionSecret).toBe(secret);
        expect(databaseLabel(config)).not.toContain("s3cret");
        expect(databaseLabel(config)).toContain("app:***@db.internal");
      }
      expect(existsSync(join(dir, "unused"))).toBe(false);
      expect(loadConfig({ DATABASE_PATH: ":memory:", DATABASE_URL: "" }).databaseUrl).toBeUndefined();
      expect(databaseLabel(loadConfig({ DATABASE_PATH: ":memory:" }))).toBe(":memory:");
    });

    it("refuses anything but a PostgreSQL URL, naming the variable", () => {
      for (const url of ["mysql://app@db/brandlift", "./data/brandlift.db", "http://db:5432/brandlift", "postgres//db/brandlift", "postgres://[bad"]) {
        const problems = problemsOf({ DATABASE_URL: url, SESSION_SECRET: secret });
        expect(problems).toHaveLength(1);
        expect(problems[0]).toMatch(/^DATABASE_URL: must be a PostgreSQL URL, postgres:\/\//);
        expect(new ConfigError(problems).message.split("\n")).toHaveLength(1);
      }
    });

    it("requires SESSION_SECRET with PostgreSQL (no folder to keep a generated one; instances must share it)", () => {
      const problems = problemsOf({ DATABASE_URL: "postgres://app@db/brandlift" });
      expect(problems).toEqual([expect.stringMatching(/^SESSION_SECRET: required with DATABASE_URL .*openssl rand -hex 32/)]);
      // Both problems of a start refused for two reasons are said at once.
      expect(problemsOf({ DATABASE_URL: "mysql://db/x" })).toEqual([expect.stringMatching(/^DATABASE_URL:/), expect.stringMatching(/^SESSION_SECRET:/)]);
      expect(problemsOf({ DATABASE_URL: "postgres://app@db/brandlift", SESSION_SECRET: "short" })).toEqual([expect.stringMatching(/^SESSION_SECRET: must be at least 32/)]);
    });

    it("gives up on a server that accepts the connection but never answers, within DATABASE_CONNECT_TIMEOUT, in one line", async () => {
      // Not PostgreSQL: a socket that stays silent, as a host behind a dropping firewall would.
      const silent = createServer(() => undefined).listen(0, "127.0.0.1");
      await once(silent, "listening");
      const port = (silent.address() as AddressInfo).port;
      try {
        const refused = await openPostgresDatabase(`postgres://app:s3cret@127.0.0.1:${port}/brandlift`, { migrate: false, pool: { max: 1, connectTimeoutMs: 300 } }).then(
          () => undefined,
          (error: unknown) => error,
        );
        expect(refused).toBeInstanceOf(ConfigError);
        const message = (refused as ConfigError).message;
        expect(message).toContain(`127.0.0.1:${port} did not complete a connection in time`);
        expect(message).toContain("DATABASE_CONNECT_TIMEOUT");
        expect(message).not.toContain("s3cret");
        expect(message.split("\n")).toHaveLength(1);
      } finally {
        silent.close();
      }
    });
  });
});
