import { spawn, spawnSync, type SpawnOptions } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig, secretWeakness } from "../../server/config.js";
import { writeFileAtomic } from "../../server/data-files.js";

/** Issue 13, items 5 (secrets and files) and 7 (proxy trust). */

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "bl-files-"));
  dirs.push(dir);
  return dir;
}

const { BASE_URL: _vitestOwn, SESSION_SECRET: _secret, TRUST_PROXY: _proxy, ...baseEnv } = process.env;

/** Runs an entry point to its exit (it must refuse to start). */
function runToExit(script: string, env: Record<string, string>, options: SpawnOptions = {}) {
  return spawnSync("node_modules/.bin/tsx", [script], {
    env: { ...baseEnv, PORT: "0", LOG_SILENT: "0", ...env },
    encoding: "utf8",
    timeout: 20_000,
    ...options,
  });
}

/** stderr is the one line promised: no stack trace. */
function expectOneLine(stderr: string): string {
  const lines = stderr.trim().split("\n");
  expect(lines).toHaveLength(1);
  expect(stderr).not.toMatch(/\n\s+at /);
  return lines[0]!;
}

describe("the session secret file", () => {
  it("is refused when empty or short, naming the file and what to do; the start exits 2 in one line", () => {
    for (const content of ["", "\n", "abc123\n", "0".repeat(64)]) {
      const dir = tempDir();
      writeFileSync(join(dir, "session-secret"), content);
      let caught: unknown;
      try {
        loadConfig({ DATABASE_PATH: join(dir, "brandlift.db") });
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(ConfigError);
      expect((caught as ConfigError).message).toContain(join(dir, "session-secret"));
      expect((caught as ConfigError).message).toContain("openssl rand -hex 32");
    }

    const dir = tempDir();
    writeFileSync(join(dir, "session-secret"), "");
    const run = runToExit("server/main.ts", { DATABASE_PATH: join(dir, "data.db") });
    expect(run.status).toBe(2);
    const line = expectOneLine(run.stderr);
    expect(line).toContain(`the session secret ${join(dir, "session-secret")} is empty`);
    expect(line).toContain("delete it");
    expect(existsSync(join(dir, "data.db"))).toBe(false);
  }, 30_000);

  it("measures entropy: 64 hex digits or 43 other characters", () => {
    expect(secretWeakness("")).toBe("empty");
    expect(secretWeakness("a1".repeat(31))).toMatch(/too short/);
    expect(secretWeakness("0123456789abcdef".repeat(4))).toBeUndefined();
    expect(secretWeakness("Zq8-_xY".repeat(6))).toMatch(/too short/); // 42 characters
    expect(secretWeakness("Zq8-_xY3".repeat(6))).toBeUndefined();
    expect(secretWeakness("a".repeat(100))).toMatch(/not random/);
  });

  it("is written whole through a temporary file, never replacing one written first", () => {
    const dir = tempDir();
    const first = loadConfig({ DATABASE_PATH: join(dir, "brandlift.db") }).sessionSecret;
    expect(readdirSync(dir)).toEqual(["session-secret"]);
    expect(statSync(join(dir, "session-secret")).mode & 0o777).toBe(0o600);
    // A second writer (another process starting at the same moment) keeps the first secret.
    writeFileAtomic(join(dir, "session-secret"), "f".repeat(64) + "\n", { replace: false });
    expect(readFileSync(join(dir, "session-secret"), "utf8").trim()).toBe(first);
    expect(readdirSync(dir)).toEqual(["session-secret"]);
  });
});

describe("data files", () => {
  it("are created owner-only by npm start, whatever the umask: folder 0700; database, WAL, SHM and secret 0600", async () => {
    const dir = tempDir();
    const data = join(dir, "data");
    // sh -c: the usual umask 022, under which these files used to be world-readable.
    const child = spawn("sh", ["-c", "umask 022 && exec node_modules/.bin/tsx server/main.ts"], {
      env: { ...baseEnv, PORT: "0", DATABASE_PATH: join(data, "brandlift.db"), LOG_SILENT: "0" },
      stdio: ["ignore", "pipe", "pipe"],
      // Its own process group: tsx runs the server in a child process, which must end with it.
      detached: true,
    });
    let output = "";
    child.stdout!.on("data", (c) => (output += c));
    child.stderr!.on("data", (c) => (output += c));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`server did not start:\n${output}`)), 20_000);
        child.stdout!.on("data", () => {
          const match = /open (http:\/\/\S+)/.exec(output);
          if (match) {
            clearTimeout(timer);
            resolve(match[1]!);
          }
        });
        child.on("exit", (code) => reject(new Error(`server exited with ${code}:\n${output}`)));
      });
      expect((await fetch(`${url}/setup`)).status).toBe(200);
      expect(statSync(data).mode & 0o777).toBe(0o700);
      const files = readdirSync(data).sort();
      expect(files).toEqual(["brandlift.db", "brandlift.db-shm", "brandlift.db-wal", "session-secret"]);
      for (const file of files) expect([file, statSync(join(data, file)).mode & 0o777]).toEqual([file, 0o600]);
    } finally {
      process.kill(-child.pid!, "SIGKILL");
    }
  }, 40_000);

  it("in a folder this user cannot write: exit 2 and one line, no stack trace (npm start and the CLI)", () => {
    const dir = tempDir();
    const data = join(dir, "data");
    mkdirSync(data);
    // root writes anywhere: run the child as nobody instead, on a root-owned 0755 folder.
    const asRoot = process.getuid?.() === 0;
    const options: SpawnOptions = asRoot ? { uid: 65534, gid: 65534 } : {};
    if (asRoot) chmodSync(dir, 0o755);
    else chmodSync(data, 0o555);
    try {
      // Without SESSION_SECRET the secret is the first write; with it, the database is.
      const envs: Array<Record<string, string>> = [{}, { SESSION_SECRET: "s".repeat(40) }];
      for (const env of envs) {
        for (const script of ["server/main.ts", "server/cli.ts"]) {
          const run = runToExit(script, { DATABASE_PATH: join(data, "brandlift.db"), ...env }, options);
          expect([script, run.status]).toEqual([script, 2]);
          const line = expectOneLine(run.stderr);
          expect(line).toContain(`the data folder ${data} is not writable by`);
          expect(line).toContain("set DATABASE_PATH");
        }
      }
      expect(readdirSync(data)).toEqual([]);
    } finally {
      chmodSync(data, 0o755);
      if (asRoot) chownSync(data, 0, 0);
    }
  }, 60_000);
});

describe("TRUST_PROXY", () => {
  const parse = (value: string) => loadConfig({ DATABASE_PATH: ":memory:", TRUST_PROXY: value }).trustProxy;
  const problem = (value: string) => {
    try {
      parse(value);
    } catch (error) {
      return (error as ConfigError).problems.join("\n");
    }
    return undefined;
  };

  it("takes a hop count or addresses and subnets", () => {
    expect(parse("")).toBe(false);
    expect(parse("false")).toBe(false);
    expect(parse("0")).toBe(false);
    expect(parse("2")).toBe(2);
    expect(parse("loopback")).toBe("loopback");
    expect(parse(" 10.0.0.2, 10.0.0.0/8 ,fd00::/8, 172.16.0.0/255.240.0.0")).toBe("10.0.0.2,10.0.0.0/8,fd00::/8,172.16.0.0/255.240.0.0");
    expect(problem("proxy.example.test")).toMatch(/TRUST_PROXY: not a hop count, address or subnet: "proxy.example.test"/);
    expect(problem("10.0.0.0/33")).toMatch(/TRUST_PROXY/);
  });

  it("refuses true (and yes/on), saying to set the number of proxies or their addresses; npm start exits 2", () => {
    for (const value of ["true", "TRUE", "yes", "on"]) {
      expect(problem(value)).toMatch(/TRUST_PROXY: .*any client choose its address.*number of proxies.*addresses/);
    }
    const run = runToExit("server/main.ts", { DATABASE_PATH: ":memory:", TRUST_PROXY: "true" });
    expect(run.status).toBe(2);
    expect(expectOneLine(run.stderr)).toContain("set the number of proxies in front of the app (e.g. 1) or their addresses/subnets");
  }, 30_000);
});
