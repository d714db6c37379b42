import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { isIP } from "node:net";
import { z } from "zod";
import { DEFAULT_DATABASE_PATH, isPostgresUrl } from "../db/client.js";
import { LOCALES, type Locale } from "../db/schema.js";
import { ensureDataFolder, writeFileAtomic } from "./data-files.js";

/** Express "trust proxy": off, a hop count, or a comma-separated list of addresses/subnets. Never `true`. */
export type TrustProxy = false | number | string;

export interface PoolSettings {
  max: number;
  connectTimeoutMs: number;
}

export const DEFAULT_POOL: PoolSettings = { max: 10, connectTimeoutMs: 10_000 };

export interface Config {
  port: number;
  host: string;
  databasePath: string;
  /** A PostgreSQL database (postgres:// or postgresql://), used instead of databasePath when set; undefined on SQLite. */
  databaseUrl: string | undefined;
  /** PostgreSQL only: connections per instance, and how long a new connection may take before it fails. */
  databasePool: PoolSettings;
  /** Public origin used in links and QR codes, without a trailing slash. */
  baseUrl: string;
  sessionSecret: string;
  trustProxy: TrustProxy;
  defaultLocale: Locale;
  /** Survey form posts allowed per client address per minute (generous: carriers and offices share addresses). */
  surveyPostLimit: number;
  /**
   * False only under NODE_ENV=development (what `npm run dev` sets): templates are then read again
   * on every render, so an edited view shows on reload (tsx watch restarts only for imported code).
   * Otherwise — unset included — the app runs as deployed, each template compiled once.
   */
  production: boolean;
}

const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default("127.0.0.1"),
  DATABASE_PATH: z.string().min(1).default(DEFAULT_DATABASE_PATH),
  DATABASE_URL: z
    .string()
    .optional()
    .transform((u) => (u?.trim() === "" ? undefined : u?.trim()))
    .refine((u) => u === undefined || (isPostgresUrl(u) && URL.canParse(u)), {
      message: "must be a PostgreSQL URL, postgres://USER:PASSWORD@HOST:PORT/DATABASE (or postgresql://…); unset it to use the SQLite file of DATABASE_PATH",
    }),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(1000).default(DEFAULT_POOL.max),
  DATABASE_CONNECT_TIMEOUT: z.coerce.number().int().min(1).max(600).default(DEFAULT_POOL.connectTimeoutMs / 1000),
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

const TRUST_PROXY_NAMES = new Set(["loopback", "linklocal", "uniquelocal"]);

/**
 * A hop count or the proxies' addresses/subnets (and Express's names loopback, linklocal,
 * uniquelocal). `true` is refused: it trusts every X-Forwarded-For hop, so any client could pick
 * the address that rate limits and duplicate checks see.
 */
function parseTrustProxy(value: string | undefined, ctx: z.RefinementCtx): TrustProxy {
  const v = (value ?? "").trim();
  if (v === "" || /^(false|no|off|0)$/i.test(v)) return false;
  if (/^(true|yes|on)$/i.test(v)) {
    ctx.addIssue({
      code: "custom",
      message:
        `"${v}" would let any client choose its address through X-Forwarded-For; set the number of proxies in front of the app (e.g. 1) or their addresses/subnets (e.g. 10.0.0.2 or 10.0.0.0/8, comma-separated)`,
    });
    return z.NEVER;
  }
  if (/^\d+$/.test(v)) return Number(v);
  const entries = v.split(",").map((e) => e.trim());
  const bad = entries.filter((e) => !TRUST_PROXY_NAMES.has(e) && !isAddressOrSubnet(e));
  if (bad.length > 0) {
    ctx.addIssue({
      code: "custom",
      message: `not a hop count, address or subnet: ${bad.map((b) => JSON.stringify(b)).join(", ")} (e.g. 1, or 10.0.0.2, or 10.0.0.0/8)`,
    });
    return z.NEVER;
  }
  return entries.join(",");
}

function isAddressOrSubnet(entry: string): boolean {
  const [address = "", bits, ...rest] = entry.split("/");
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (bits === undefined) return true;
  if (family === 4 && isIP(bits) === 4) return true; // netmask form, e.g. 10.0.0.0/255.0.0.0
  return /^\d+$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128);
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    // One problem is one line, so a start refused for a single reason says it in one line.
    super(
      problems.length === 1
        ? `Invalid configuration: ${problems[0]}`
        : `Invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`,
    );
    this.name = "ConfigError";
  }
}

/** Reads and checks the environment once; every problem is listed together. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env);
  const problems = parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
  // Checked beside the schema's problems, so a start refused for both says both.
  if (env["DATABASE_URL"]?.trim() && env["SESSION_SECRET"] === undefined) problems.push(SECRET_REQUIRED_WITH_POSTGRES);
  if (!parsed.success || problems.length > 0) throw new ConfigError(problems);
  const e = parsed.data;
  return {
    port: e.PORT,
    host: e.HOST,
    databasePath: e.DATABASE_PATH,
    databaseUrl: e.DATABASE_URL,
    databasePool: { max: e.DATABASE_POOL_SIZE, connectTimeoutMs: e.DATABASE_CONNECT_TIMEOUT * 1000 },
    baseUrl: e.BASE_URL ?? `http://${displayHost(e.HOST)}:${e.PORT}`,
    sessionSecret: e.SESSION_SECRET ?? persistedSecret(e.DATABASE_PATH),
    trustProxy: e.TRUST_PROXY,
    defaultLocale: e.DEFAULT_LOCALE,
    surveyPostLimit: e.SURVEY_POST_LIMIT,
    production: e.NODE_ENV !== "development",
  };
}

/**
 * On SQLite a missing secret is generated and kept beside the file; a PostgreSQL install has no
 * such folder, and its instances must all sign with the same key.
 */
const SECRET_REQUIRED_WITH_POSTGRES =
  "SESSION_SECRET: required with DATABASE_URL (every instance on the database must use the same one): generate it once with `openssl rand -hex 32` and give it to each instance";

/** Where the database is, for logs and messages: the SQLite file, or the PostgreSQL URL without its password. */
export function databaseLabel(config: Pick<Config, "databasePath" | "databaseUrl">): string {
  if (config.databaseUrl === undefined) return config.databasePath;
  return redactUrl(config.databaseUrl);
}

export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(a PostgreSQL URL)";
  }
}

/** For entry points: a bad environment prints the list of problems and exits, with no stack trace. */
export function loadConfigOrExit(env: NodeJS.ProcessEnv = process.env): Config {
  return orExit(() => loadConfig(env));
}

/**
 * Only DATABASE_PATH, checked like loadConfig does, without creating the data folder or the
 * session secret: for tools (backup) that must not create anything beside a database.
 */
export function loadDatabasePathOrExit(env: NodeJS.ProcessEnv = process.env): string {
  return orExit(() => {
    const parsed = envSchema.pick({ DATABASE_PATH: true }).safeParse(env);
    if (!parsed.success) throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`));
    return parsed.data.DATABASE_PATH;
  });
}

/** Runs `load`; a ConfigError is printed (no stack trace) and the process exits with 2. */
export function orExit<T>(load: () => T): T {
  try {
    return load();
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
 * restarts keep hashes and tokens valid and no secret is ever hard-coded. The file is written
 * whole or not at all (a full disk used to leave an empty file that was accepted as the key), and
 * a file that is empty or too short is refused rather than used.
 */
function persistedSecret(databasePath: string): string {
  if (databasePath === ":memory:") return randomBytes(32).toString("hex");
  const folder = dirname(databasePath);
  ensureDataFolder(folder);
  const file = resolve(join(folder, "session-secret"));
  // Another process (a second instance, the CLI) may write it first: then theirs is used.
  if (!existsSync(file)) writeFileAtomic(file, randomBytes(32).toString("hex") + "\n", { replace: false });
  let secret: string;
  try {
    secret = readFileSync(file, "utf8").trim();
  } catch (error) {
    throw new ConfigError([`cannot read the session secret ${file} (${(error as NodeJS.ErrnoException).code ?? String(error)}): make it readable by this user, or set SESSION_SECRET`]);
  }
  const weakness = secretWeakness(secret);
  if (weakness) {
    throw new ConfigError([
      `the session secret ${file} is ${weakness}: delete it so a new one is generated at the next start (signed-in users sign in again), write 64 hex characters into it (openssl rand -hex 32), or set SESSION_SECRET`,
    ]);
  }
  return secret;
}

/** At least 32 bytes of entropy: 64 hex digits, or 43 characters of anything else (base64's 6 bits each). */
export const MIN_SECRET_BYTES = 32;

/** Why a persisted secret is unfit as the HMAC key, or undefined when it is fit. */
export function secretWeakness(secret: string): string | undefined {
  if (secret.length === 0) return "empty";
  const bitsPerChar = /^[0-9a-fA-F]+$/.test(secret) ? 4 : 6;
  if (secret.length * bitsPerChar < MIN_SECRET_BYTES * 8) {
    return `too short (${secret.length} characters, ${Math.floor((secret.length * bitsPerChar) / 8)} bytes of entropy; at least ${MIN_SECRET_BYTES} needed)`;
  }
  // A random 32-byte secret has far more distinct characters; "000…0" is not random.
  if (new Set(secret).size < 8) return "not random (fewer than 8 distinct characters)";
  return undefined;
}

/** A complete config for tests and tools, without touching the environment. */
export function testConfig(overrides: Partial<Config> = {}): Config {
  return {
    port: 0,
    host: "127.0.0.1",
    databasePath: ":memory:",
    databaseUrl: undefined,
    databasePool: DEFAULT_POOL,
    baseUrl: "http://localhost:3000",
    sessionSecret: randomBytes(32).toString("hex"),
    trustProxy: false,
    defaultLocale: "en",
    surveyPostLimit: 10_000,
    production: true,
    ...overrides,
  };
}
