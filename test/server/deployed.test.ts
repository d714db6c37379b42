import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import ejs from "ejs";
import request from "supertest";
import { describe, expect, it } from "vitest";
import { projectPath } from "../../db/project-root.js";
import { createApp } from "../../server/app.js";
import { loadConfig, testConfig } from "../../server/config.js";
import { translator } from "../../server/i18n/index.js";
import { freshDb } from "../helpers.js";

/** A fresh clone's first `npm start` compiles everything before it listens; CI machines are slow. */
const FIRST_START_MS = 240_000;

/**
 * Runs the README's `npm start` (its prestart builds dist/, then node runs the build) on a free
 * port and a new SQLite file, with the environment a fresh install has: no NODE_ENV, no DATABASE_URL.
 */
function npmStart(dir: string): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const { BASE_URL: _b, DATABASE_URL: _d, NODE_ENV: _n, ...env } = process.env;
  const child = spawn("npm", ["start"], {
    cwd: projectPath(),
    env: { ...env, PORT: "0", DATABASE_PATH: join(dir, "data", "brandlift.db"), LOG_SILENT: "0" },
    stdio: ["ignore", "pipe", "pipe"],
    // A process group of its own, so whatever npm started can be killed with it if the test fails.
    detached: true,
  });
  let output = "";
  child.stdout!.on("data", (chunk) => (output += chunk));
  child.stderr!.on("data", (chunk) => (output += chunk));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      killGroup(child);
      reject(new Error(`npm start did not listen:\n${output}`));
    }, FIRST_START_MS - 20_000);
    child.stdout!.on("data", () => {
      const match = /open (http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve({ child, url: match[1]!, output: () => output });
      }
    });
    child.on("exit", (code) => reject(new Error(`npm start exited with ${code}:\n${output}`)));
  });
}

function killGroup(child: ChildProcess): void {
  try {
    process.kill(-child.pid!, "SIGKILL");
  } catch {
    // Everything in it has exited already.
  }
}

/** Resolves once the process has exited and every holder of its output pipes (its children) is gone. */
function closed(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => child.on("close", () => resolve()));
}

function childrenOf(pid: number): Array<{ pid: number; args: string }> {
  let listing: string;
  try {
    listing = execFileSync("ps", ["-o", "pid=,args=", "--ppid", String(pid)], { encoding: "utf8" });
  } catch {
    return []; // ps exits 1 when there are none
  }
  return listing
    .trim()
    .split("\n")
    .map((line) => /^\s*(\d+) (.*)$/.exec(line)!)
    .map(([, p, args]) => ({ pid: Number(p), args: args! }));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("npm start, as deployed", () => {
  it("builds, serves pages, static files and the database from compiled JavaScript, and stops gracefully on SIGTERM to npm", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bl-deployed-"));
    const { child, url, output } = await npmStart(dir);
    try {
      // npm's only child is node on the build: nothing (no shell, no tsx) sits between them, so
      // the SIGTERM npm forwards reaches the server.
      const children = childrenOf(child.pid!);
      expect(children.map((c) => c.args)).toEqual([expect.stringMatching(/^node .*dist\/server\/main\.js$/)]);
      const server = children[0]!.pid;

      expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ status: "ok" });
      // /setup reads the users table (migrations applied from db/migrations) and renders views/ in both languages.
      const ru = await fetch(`${url}/setup`);
      expect(ru.status).toBe(200);
      const page = await ru.text();
      expect(page).toContain(translator("ru")("setup.title"));
      const en = await fetch(`${url}/setup?lang=en`);
      expect(await en.text()).toContain(translator("en")("setup.title"));
      // The fingerprinted stylesheet is read from public/.
      const css = /href="(\/static\/app\.[0-9a-f]+\.css)"/.exec(page);
      expect(css).not.toBeNull();
      const sheet = await fetch(`${url}${css![1]}`);
      expect(sheet.status).toBe(200);
      expect(sheet.headers.get("content-type")).toContain("text/css");

      const done = closed(child);
      child.kill("SIGTERM");
      await done;
      expect(output()).toContain('"msg":"stopped"');
      expect(alive(server)).toBe(false);
    } finally {
      killGroup(child);
    }
  }, FIRST_START_MS);
});

describe("template cache", () => {
  it("is on unless NODE_ENV=development (npm run dev)", () => {
    const env = { DATABASE_PATH: ":memory:" };
    expect(loadConfig(env).production).toBe(true);
    expect(loadConfig({ ...env, NODE_ENV: "production" }).production).toBe(true);
    expect(loadConfig({ ...env, NODE_ENV: "development" }).production).toBe(false);
  });

  it("compiles each template once as deployed, and reads it again on every render in development", async () => {
    const setupView = projectPath("views", "auth", "setup.ejs");
    ejs.clearCache();

    const dev = createApp({ db: freshDb(), config: testConfig({ production: false }) });
    expect(dev.get("view cache")).toBe(false);
    expect((await request(dev).get("/setup")).status).toBe(200);
    expect(ejs.cache.get(setupView)).toBeUndefined();

    const deployed = createApp({ db: freshDb(), config: testConfig() });
    expect(deployed.get("view cache")).toBe(true);
    expect(deployed.get("env")).toBe("production");
    expect((await request(deployed).get("/setup")).status).toBe(200);
    expect(ejs.cache.get(setupView)).toBeTypeOf("function");
  });
});
