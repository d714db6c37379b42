/**
 * `npm run bench`: runs every benchmark in bench/ one after another, each in its own process so
 * one's heap and JIT state do not colour the next. Each prints its baseline and ratio itself.
 *
 *   npm run bench                         every benchmark
 *   npm run bench -- heavy survey-page    the benchmarks whose file name contains one of the words
 *   npm run bench -- --quick heavy        smaller data and shorter runs (or BENCH_QUICK=1)
 *
 * On SQLite always; when DATABASE_URL is a postgres:// URL, the benchmarks that support it run a
 * second time on PostgreSQL (BENCH_ENGINE=postgres, in scratch databases they create and drop on
 * that server: bench/lib/engine.ts).
 *
 * The app is built once here when package.json has a build script (bench/lib/app-server.ts), so
 * every benchmark measures the same compiled server.
 */
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { buildApp } from "./lib/app-server.js";
import { postgresServerUrl, type EngineName } from "./lib/engine.js";

/** The benchmarks that run on PostgreSQL too. */
const ON_POSTGRES = new Set(["survey-page.ts", "survey-submit.ts", "results-aggregation.ts", "heavy-pages.ts", "responses-csv.ts", "responses-xlsx.ts", "results-page.ts"]);

const dir = fileURLToPath(new URL(".", import.meta.url));
const args = process.argv.slice(2);
const flags = args.filter((a) => a.startsWith("--"));
const only = args.filter((a) => !a.startsWith("--"));
const files = readdirSync(dir)
  .filter((f) => f.endsWith(".ts") && f !== "run.ts" && !f.endsWith(".d.ts"))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();

const engines: EngineName[] = postgresServerUrl() ? ["sqlite", "postgres"] : ["sqlite"];
if (process.env["DATABASE_URL"] && !postgresServerUrl()) process.stdout.write("DATABASE_URL is not a postgres:// URL: SQLite only\n");

buildApp();
let failed = 0;
for (const engine of engines) {
  for (const file of files) {
    if (engine === "postgres" && !ON_POSTGRES.has(file)) continue;
    process.stdout.write(`\n== ${file} (${engine === "postgres" ? "PostgreSQL" : "SQLite"})\n`);
    const run = spawnSync(process.execPath, ["--import", "tsx", `${dir}${file}`, ...flags], {
      stdio: "inherit",
      env: { ...process.env, BENCH_ENGINE: engine, BENCH_SKIP_BUILD: "1" },
    });
    if (run.status !== 0) failed++;
  }
}
if (files.length === 0) process.stdout.write("no benchmarks found\n");
process.exitCode = failed ? 1 : 0;
