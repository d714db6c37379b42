/**
 * The app measured as deployed: a separate process started the way `npm start` starts it, with the
 * configuration an operator gives it through the environment (server/config.ts), never an app
 * built inside the benchmark.
 *
 * How it is started is decided once per benchmark process: when package.json has a "build"
 * script, it is run (unless BENCH_SKIP_BUILD=1: bench/run.ts builds once for all benchmarks) and
 * the server is `node dist/server/main.js` if that exists afterwards; otherwise the TypeScript is
 * run through tsx (`node --import tsx server/main.ts`, without the npm and tsx wrapper processes),
 * and the output says so.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { isPostgresUrl } from "../../db/client.js";
import { log } from "./report.js";
import { ROOT, spawnServer, type RunningServer } from "./servers.js";

const COMPILED_MAIN = join("dist", "server", "main.js");

export interface AppLaunch {
  args: string[];
  /** One line for the output: how the app runs in this benchmark. */
  description: string;
  compiled: boolean;
}

let decided: AppLaunch | undefined;

function hasBuildScript(): boolean {
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts?: Record<string, string> };
  return typeof pkg.scripts?.["build"] === "string";
}

/** Runs the build when there is one (stdout to stderr: the tables stay on stdout); throws when it fails. */
export function buildApp(): boolean {
  if (!hasBuildScript()) return false;
  log("npm run build …");
  const run = spawnSync("npm", ["run", "build"], { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"], encoding: "utf8" });
  process.stderr.write(run.stdout ?? "");
  if (run.status !== 0) throw new Error(`npm run build failed (exit ${run.status})`);
  return true;
}

export function appLaunch(): AppLaunch {
  if (decided) return decided;
  const built = process.env["BENCH_SKIP_BUILD"] === "1" ? hasBuildScript() : buildApp();
  if (built && existsSync(join(ROOT, COMPILED_MAIN))) {
    decided = { args: [COMPILED_MAIN], compiled: true, description: `app: node ${COMPILED_MAIN} (compiled by npm run build), as npm start runs it` };
  } else {
    const why = built ? `npm run build left no ${COMPILED_MAIN}` : "package.json has no build script";
    decided = {
      args: ["--import", "tsx", join("server", "main.ts")],
      compiled: false,
      description: `app: NOTE ${why}: TypeScript through tsx (node --import tsx server/main.ts), not compiled JavaScript as npm start will run it`,
    };
  }
  log(decided.description);
  return decided;
}

export interface AppOptions {
  /** A SQLite file path or a postgres:// URL (bench/lib/engine.ts). */
  database: string;
  sessionSecret: string;
  /** More environment: BENCH_EVENT_LOOP_FILE, … */
  env?: Record<string, string>;
}

/**
 * The settings every benchmark gives the app, as the output prints them: behind a proxy on the same
 * host (so each simulated respondent's X-Forwarded-For is its address, as real respondents' are),
 * and a survey post limit raised so that no run is cut short by it (the limiter still counts).
 */
export const APP_ENV = { TRUST_PROXY: "loopback", SURVEY_POST_LIMIT: "1000000000" } as const;

export function appEnvLine(): string {
  return `app settings: NODE_ENV=production, LOG_SILENT=1, TRUST_PROXY=${APP_ENV.TRUST_PROXY} (respondents' X-Forwarded-For trusted from 127.0.0.1), SURVEY_POST_LIMIT=${APP_ENV.SURVEY_POST_LIMIT} (raised for the benchmark)`;
}

/**
 * BENCH_APP_NODE_ARGS: extra arguments for the app's node, space-separated (Node refuses --cpu-prof in
 * NODE_OPTIONS): `BENCH_APP_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof"` profiles the app under the benchmark's load.
 */
function extraNodeArgs(): string[] {
  return (process.env["BENCH_APP_NODE_ARGS"] ?? "").split(" ").filter(Boolean);
}

export function startAppServer(o: AppOptions): Promise<RunningServer> {
  const launch = appLaunch();
  const database: Record<string, string> = isPostgresUrl(o.database) ? { DATABASE_URL: o.database } : { DATABASE_PATH: o.database };
  return spawnServer("app", process.execPath, [...extraNodeArgs(), ...launch.args], { ...APP_ENV, ...database, SESSION_SECRET: o.sessionSecret, ...o.env });
}
