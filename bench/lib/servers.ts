/**
 * The servers a benchmark measures, each a separate process started the same way: the app as
 * `npm start` runs it (bench/lib/app-server.ts) and the bare Express baselines
 * (bench/lib/baseline-server.ts), all on the server core (bench/lib/cpu.ts), NODE_ENV=production,
 * 127.0.0.1 and PORT=0; each prints "open http://…" once listening. The load comes from this
 * process (autocannon), on the other core.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";
import { onServerCore, pinLoadGenerator } from "./cpu.js";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const BASELINE_SCRIPT = fileURLToPath(new URL("./baseline-server.ts", import.meta.url));
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 15_000;

export interface RunningServer {
  name: string;
  url: string;
  pid: number;
  /** Sends a signal to the server process. */
  signal(signal: NodeJS.Signals): void;
  stop(): Promise<void>;
}

/** Variables of the app's configuration (server/config.ts): a server gets only the ones it is given. */
const APP_VARIABLES = ["PORT", "HOST", "DATABASE_PATH", "DATABASE_URL", "BASE_URL", "SESSION_SECRET", "TRUST_PROXY", "DEFAULT_LOCALE", "SURVEY_POST_LIMIT", "NODE_ENV", "LOG_SILENT"];

/**
 * Starts `command args` (on the server core) with the environment of this process minus the app's
 * configuration, plus `env`; resolves once it prints "open http://…".
 */
export function spawnServer(name: string, command: string, args: readonly string[], env: Record<string, string>): Promise<RunningServer> {
  // This process measures servers from now on: keep it off their core.
  pinLoadGenerator();
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !APP_VARIABLES.includes(k)));
  const pinned = onServerCore(command, args);
  const child: ChildProcess = spawn(pinned.command, pinned.args, {
    cwd: ROOT,
    env: { ...base, NODE_ENV: "production", LOG_SILENT: "1", PORT: "0", HOST: "127.0.0.1", ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  // Never leave a server behind, whatever happens to this process.
  const kill = () => child.kill("SIGKILL");
  process.on("exit", kill);

  return new Promise((resolve, reject) => {
    let output = "";
    const timer = setTimeout(() => {
      kill();
      reject(new Error(`${name} did not start within ${START_TIMEOUT_MS} ms:\n${output}`));
    }, START_TIMEOUT_MS);
    const exited = (code: number | null) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with code ${code} before listening:\n${output}`));
    };
    child.once("exit", exited);
    const onData = (chunk: Buffer) => {
      output += chunk.toString("utf8");
      const match = /open (http:\/\/\S+)/.exec(output);
      if (!match) return;
      clearTimeout(timer);
      child.off("exit", exited);
      child.stdout!.off("data", onData);
      // Keep draining its output so the server never blocks on a full pipe.
      child.stdout!.resume();
      resolve({
        name,
        url: match[1]!,
        pid: child.pid!,
        signal: (signal) => child.kill(signal),
        stop: () =>
          new Promise<void>((done) => {
            if (child.exitCode !== null || child.signalCode !== null) return done();
            const force = setTimeout(kill, STOP_TIMEOUT_MS);
            child.once("exit", () => {
              clearTimeout(force);
              process.off("exit", kill);
              done();
            });
            child.kill("SIGTERM");
          }),
      });
    };
    child.stdout!.on("data", onData);
  });
}

export type BaselineKind = "hello" | "survey";

/** A bare Express baseline (bench/lib/baseline-server.ts) in its own process. */
export function startBaseline(kind: BaselineKind, env: Record<string, string> = {}): Promise<RunningServer> {
  return spawnServer(`baseline ${kind}`, process.execPath, ["--import", "tsx", BASELINE_SCRIPT, kind], env);
}

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ: 100 on Linux). */
const CLOCK_TICKS = 100;

/**
 * CPU time (user + system) a process has used so far, in ms. Per request it is a measure that
 * other processes on a busy machine inflate far less than requests per second (they only take
 * turns on the core; they do not add to this process's time).
 */
export function cpuMsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name (which may contain spaces), from field 3 on.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
}

/** Resident and peak resident memory of a process, in bytes (Linux). */
export function memoryOf(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kb("VmRSS"), peak: kb("VmHWM") };
}

export interface LoadResult {
  /** Responses per second (every status), over the measured time. */
  rps: number;
  total: number;
  seconds: number;
  p50: number;
  p99: number;
  /** Response count per status code. */
  statuses: Record<string, number>;
  errors: number;
  timeouts: number;
  /** Server CPU time per response in microseconds, when `serverPid` was given. */
  cpuPerRequestUs: number | undefined;
  /** Server CPU time over the run in ms, when `serverPid` was given. */
  cpuMs: number | undefined;
}

export interface LoadOptions {
  url: string;
  connections?: number;
  /** Seconds. */
  duration?: number;
  method?: "GET" | "POST";
  headers?: Record<string, string>;
  body?: string;
  /** The server's process id, to measure its CPU time per request. */
  serverPid?: number;
  /** Changes every request before it is sent (fresh identities, cookies). */
  setupRequest?: (request: autocannon.Request) => autocannon.Request;
  /**
   * A sequence each connection sends in turn, again and again, sharing a context per pass (one
   * respondent's pages); replaces method, headers, body and setupRequest.
   */
  requests?: autocannon.Request[];
}

export function load(o: LoadOptions): Promise<LoadResult> {
  const cpuBefore = o.serverPid === undefined ? 0 : cpuMsOf(o.serverPid);
  return new Promise((resolve, reject) => {
    const request: autocannon.Request = {
      method: o.method ?? "GET",
      ...(o.headers ? { headers: o.headers } : {}),
      ...(o.body !== undefined ? { body: o.body } : {}),
      ...(o.setupRequest ? { setupRequest: (r: autocannon.Request) => o.setupRequest!(r) } : {}),
    };
    autocannon(
      { url: o.url, connections: o.connections ?? 10, duration: o.duration ?? 5, requests: o.requests ?? [request], timeout: 30 },
      (error, result) => {
        if (error) return reject(error);
        const statuses: Record<string, number> = {};
        for (const [code, s] of Object.entries(result.statusCodeStats ?? {})) statuses[code] = s.count ?? 0;
        const total = Object.values(statuses).reduce((a, b) => a + b, 0);
        const seconds = (result.finish.getTime() - result.start.getTime()) / 1000;
        const cpuMs = o.serverPid === undefined ? undefined : cpuMsOf(o.serverPid) - cpuBefore;
        resolve({
          rps: total / seconds,
          total,
          seconds,
          p50: result.latency.p50,
          p99: result.latency.p99,
          statuses,
          errors: result.errors,
          timeouts: result.timeouts,
          cpuMs,
          cpuPerRequestUs: cpuMs === undefined || total === 0 ? undefined : (cpuMs * 1000) / total,
        });
      },
    );
  });
}

/** One request outside the load run (to check a page before loading it); redirects are not followed. */
export async function fetchText(url: string, init?: RequestInit): Promise<{ status: number; text: string; headers: Headers }> {
  const res = await fetch(url, { redirect: "manual", ...init });
  return { status: res.status, text: await res.text(), headers: res.headers };
}
