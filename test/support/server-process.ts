import { spawn, type ChildProcess } from "node:child_process";

/**
 * A real server process (`server/main.ts`, as `npm start` runs it) for tests that need several
 * instances, a crash or the process's own start-up: started in its own process group, its URL read
 * from the "open http://…" line it logs, stopped with SIGTERM (and waited for).
 */
export interface ServerProcess {
  child: ChildProcess;
  /** The base URL once listening; rejects with the output if it exits or does not start in time. */
  url: Promise<string>;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** SIGTERM to the whole group, resolved with the exit code once it has exited. */
  stop(): Promise<number | null>;
}

export interface ServerProcessOptions {
  /** Variables of the test process left out (e.g. DATABASE_PATH when DATABASE_URL is given). */
  drop?: readonly string[];
  timeoutMs?: number;
  script?: string;
}

export function startServerProcess(vars: Record<string, string>, options: ServerProcessOptions = {}): ServerProcess {
  const env: NodeJS.ProcessEnv = { ...process.env };
  // vitest's own BASE_URL would be taken for the app's public address.
  for (const name of ["BASE_URL", ...(options.drop ?? [])]) delete env[name];
  // One process, tsx as a loader: the tsx CLI runs the script in a child and relays SIGTERM with a
  // 30 ms handshake; under load it misses it, SIGKILLs the server and exits 143.
  const child = spawn(process.execPath, ["--import", "tsx", options.script ?? "server/main.ts"], {
    env: { ...env, PORT: "0", ...vars },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let output = "";
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  child.stderr!.on("data", (c) => (output += c));
  const url = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no start:\n${output}`)), options.timeoutMs ?? 30_000);
    child.stdout!.on("data", (c) => {
      output += c;
      const m = /open (http:\/\/\S+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code}:\n${output}`));
    });
  });
  // A test that never awaits `url` (it only stops the process) must not see an unhandled rejection.
  url.catch(() => undefined);
  return {
    child,
    url,
    output: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, "SIGTERM");
      return exited;
    },
  };
}
