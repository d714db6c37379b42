import { existsSync, mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../server/config.js";

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
      production: false,
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
      NODE_ENV: "production",
    });
    expect(config).toEqual({
      port: 8080,
      host: "0.0.0.0",
      databasePath: ":memory:",
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
      loadConfig({ PORT: "http", BASE_URL: "ftp://x", SESSION_SECRET: "short", DEFAULT_LOCALE: "de" });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const problems = (caught as ConfigError).problems.join("\n");
    for (const name of ["PORT", "BASE_URL", "SESSION_SECRET", "DEFAULT_LOCALE"]) expect(problems).toContain(name);
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
});
