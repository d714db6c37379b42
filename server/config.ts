import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { z } from "zod";
import { DEFAULT_DATABASE_PATH } from "../db/client.js";
import { LOCALES, type Locale } from "../db/schema.js";

export type TrustProxy = boolean | number | string;

export interface Config {
  port: number;
  host: string;
  databasePath: string;
  /** Public origin used in links and QR codes, without a trailing slash. */
  baseUrl: string;
  sessionSecret: string;
  trustProxy: TrustProxy;
  defaultLocale: Locale;
  /** Survey form posts allowed per client address per minute (generous: carriers and offices share addresses). */
  surveyPostLimit: number;
  /** True in production: error pages never carry details, cookies are marked Secure behind HTTPS. */
  production: boolean;
}

const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default("127.0.0.1"),
  DATABASE_PATH: z.string().min(1).default(DEFAULT_DATABASE_PATH),
  BASE_URL: z
    .url({ protocol: /^https?$/ })
    .optional()
    .transform((u) => u?.replace(/\/+$/, "")),
  SESSION_SECRET: z.string().min(32, "must be at least 32 characters").optional(),
  TRUST_PROXY: z.string().optional().transform(parseTrustProxy),
  DEFAULT_LOCALE: z.enum(LOCALES).default("ru"),
  SURVEY_POST_LIMIT: z.coerce.number().int().min(1).default(120),
  NODE_ENV: z.string().optional(),
});

/** `true`/`false`, a hop count, or an address list as Express's "trust proxy" accepts. */
function parseTrustProxy(value: string | undefined): TrustProxy {
  if (value === undefined || value === "" || value === "false") return false;
  if (value === "true") return true;
  if (/^\d+$/.test(value)) return Number(value);
  return value;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/** Reads and checks the environment once; every problem is listed together. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`));
  }
  const e = parsed.data;
  return {
    port: e.PORT,
    host: e.HOST,
    databasePath: e.DATABASE_PATH,
    baseUrl: e.BASE_URL ?? `http://${displayHost(e.HOST)}:${e.PORT}`,
    sessionSecret: e.SESSION_SECRET ?? persistedSecret(e.DATABASE_PATH),
    trustProxy: e.TRUST_PROXY,
    defaultLocale: e.DEFAULT_LOCALE,
    surveyPostLimit: e.SURVEY_POST_LIMIT,
    production: e.NODE_ENV === "production",
  };
}

/** For entry points: a bad environment prints the list of problems and exits, with no stack trace. */
export function loadConfigOrExit(env: NodeJS.ProcessEnv = process.env): Config {
  try {
    return loadConfig(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(2);
  }
}

function displayHost(host: string): string {
  return host === "0.0.0.0" || host === "::" ? "localhost" : host;
}

/**
 * Without SESSION_SECRET, a random secret is generated once and kept beside the database, so
 * restarts keep hashes and tokens valid and no secret is ever hard-coded.
 */
function persistedSecret(databasePath: string): string {
  if (databasePath === ":memory:") return randomBytes(32).toString("hex");
  const file = join(dirname(databasePath), "session-secret");
  if (existsSync(file)) return readFileSync(file, "utf8").trim();
  mkdirSync(dirname(file), { recursive: true });
  const secret = randomBytes(32).toString("hex");
  try {
    writeFileSync(file, secret + "\n", { mode: 0o600, flag: "wx" });
    return secret;
  } catch (error) {
    // Another process (a second instance, the CLI) wrote it first: use theirs.
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return readFileSync(file, "utf8").trim();
    throw error;
  }
}

/** A complete config for tests and tools, without touching the environment. */
export function testConfig(overrides: Partial<Config> = {}): Config {
  return {
    port: 0,
    host: "127.0.0.1",
    databasePath: ":memory:",
    baseUrl: "http://localhost:3000",
    sessionSecret: randomBytes(32).toString("hex"),
    trustProxy: false,
    defaultLocale: "en",
    surveyPostLimit: 10_000,
    production: false,
    ...overrides,
  };
}
