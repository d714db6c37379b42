/**
 * Starts a server of server-process.ts in its own process and runs autocannon against it from
 * this one: on a 2-core machine the server gets one core and the load generator the other,
 * and a hello-world baseline is started exactly like the app.
 */
import { fork, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";

const SERVER_SCRIPT = fileURLToPath(new URL("./server-process.ts", import.meta.url));
const START_TIMEOUT_MS = 30_000;

export interface RunningServer {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

export type ServerKind = "app" | "hello" | "form" | "insert";

export function startServer(kind: ServerKind, env: Record<string, string> = {}): Promise<RunningServer> {
  const child: ChildProcess = fork(SERVER_SCRIPT, [kind], {
    execArgv: ["--import", "tsx"],
    env: { ...process.env, NODE_ENV: "production", LOG_SILENT: "1", ...env },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  // Never leave a server behind, whatever happens to this process.
  const kill = () => child.kill("SIGKILL");
  process.on("exit", kill);

  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      kill();
      reject(new Error(`${kind} server did not start within ${START_TIMEOUT_MS} ms`));
    }, START_TIMEOUT_MS);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${kind} server exited with code ${code} before listening`));
    });
    child.once("message", (message) => {
      clearTimeout(timer);
      child.removeAllListeners("exit");
      const port = (message as { port: number }).port;
      resolve({
        url: `http://127.0.0.1:${port}`,
        pid: child.pid!,
        stop: () =>
          new Promise<void>((done) => {
            if (child.exitCode !== null || child.signalCode !== null) return done();
            const force = setTimeout(kill, 5_000);
            child.once("exit", () => {
              clearTimeout(force);
              process.off("exit", kill);
              done();
            });
            child.kill("SIGTERM");
          }),
      });
    });
  });
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
}

export interface LoadOptions {
  url: string;
  connections?: number;
  /** Seconds; ignored when `amount` is set. */
  duration?: number;
  /** Exactly this many requests (all answered before the run ends). */
  amount?: number;
  /** Hard stop in seconds for `amount` runs, so a slow server cannot stretch the benchmark. */
  maxSeconds?: number;
  method?: "GET" | "POST";
  headers?: Record<string, string>;
  body?: string;
  /** The server's process id, to measure its CPU time per request. */
  serverPid?: number;
  /** Changes every request before it is sent (fresh nonces, cookies). */
  setupRequest?: (request: autocannon.Request) => autocannon.Request;
  /**
   * A sequence each connection sends in turn, again and again, sharing a context per connection
   * (a respondent's pages); replaces method, headers, body and setupRequest.
   */
  requests?: autocannon.Request[];
}

export function load(o: LoadOptions): Promise<LoadResult> {
  const cpuBefore = o.serverPid === undefined ? 0 : cpuMsOf(o.serverPid);
  return new Promise((resolve, reject) => {
    let cap: NodeJS.Timeout | undefined;
    const request: autocannon.Request = {
      method: o.method ?? "GET",
      ...(o.headers ? { headers: o.headers } : {}),
      ...(o.body !== undefined ? { body: o.body } : {}),
      ...(o.setupRequest ? { setupRequest: (r: autocannon.Request) => o.setupRequest!(r) } : {}),
    };
    const instance = autocannon(
      {
        url: o.url,
        connections: o.connections ?? 10,
        ...(o.amount !== undefined ? { amount: o.amount } : { duration: o.duration ?? 5 }),
        requests: o.requests ?? [request],
        timeout: 10,
      },
      (error, result) => {
        clearTimeout(cap);
        if (error) return reject(error);
        const statuses: Record<string, number> = {};
        for (const [code, s] of Object.entries(result.statusCodeStats ?? {})) statuses[code] = s.count ?? 0;
        const total = Object.values(statuses).reduce((a, b) => a + b, 0);
        const seconds = (result.finish.getTime() - result.start.getTime()) / 1000;
        resolve({
          rps: total / seconds,
          total,
          seconds,
          p50: result.latency.p50,
          p99: result.latency.p99,
          statuses,
          errors: result.errors,
          timeouts: result.timeouts,
          cpuPerRequestUs: o.serverPid === undefined || total === 0 ? undefined : ((cpuMsOf(o.serverPid) - cpuBefore) * 1000) / total,
        });
      },
    );
    cap = setTimeout(() => instance.stop(), (o.maxSeconds ?? 30) * 1000);
  });
}

/** One request outside the load run (to check a page before loading it); redirects are not followed. */
export async function fetchText(url: string, init?: RequestInit): Promise<{ status: number; text: string; headers: Headers }> {
  const res = await fetch(url, { redirect: "manual", ...init });
  return { status: res.status, text: await res.text(), headers: res.headers };
}
