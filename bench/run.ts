/**
 * `npm run bench`: runs every benchmark in bench/ one after another, each in its own process so
 * one's heap and JIT state do not colour the next. Each prints its baseline and ratio itself.
 */
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";

const dir = fileURLToPath(new URL(".", import.meta.url));
const only = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((f) => f.endsWith(".ts") && f !== "run.ts" && !f.endsWith(".d.ts"))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();

let failed = 0;
for (const file of files) {
  process.stdout.write(`\n== ${file}\n`);
  const run = spawnSync(process.execPath, ["--import", "tsx", `${dir}${file}`], { stdio: "inherit" });
  if (run.status !== 0) failed++;
}
if (files.length === 0) process.stdout.write("no benchmarks found\n");
process.exitCode = failed ? 1 : 0;
