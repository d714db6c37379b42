/**
 * Which cores the measured servers and this load generator run on. On a machine with 2 or more
 * cores and `taskset` (util-linux), every server process (the app and its baselines alike) is
 * started on core 0 and this process moves itself to core 1, so the load generator never takes
 * CPU from the server it measures. Anything else on the machine (a PostgreSQL server, other
 * sessions) is not pinned and shares both cores. BENCH_PIN=0 turns pinning off (on a machine busy
 * with other work, a pinned server cannot move to the less busy core).
 */
import { spawnSync } from "node:child_process";
import { cpus } from "node:os";

const SERVER_CORE = 0;
const CLIENT_CORE = 1;

const pinningOff = process.env["BENCH_PIN"] === "0";
/** The machine's cores, not this process's affinity (which it inherits: bench/run.ts must not narrow it). */
const cores = cpus().length;

const hasTaskset = (() => {
  if (pinningOff || process.platform !== "linux" || cores < 2) return false;
  return spawnSync("taskset", ["-V"], { stdio: "ignore" }).status === 0;
})();

let pinnedSelf = false;

/**
 * Moves this process (every thread: the load generator and its libuv pool) to the client core;
 * done when the first server starts, so only processes that load servers are pinned.
 */
export function pinLoadGenerator(): void {
  if (!hasTaskset || pinnedSelf) return;
  pinnedSelf = spawnSync("taskset", ["-a", "-c", "-p", String(CLIENT_CORE), String(process.pid)], { stdio: "ignore" }).status === 0;
}

/** The command that starts `command args` on the server core (taskset execs it: same process id), whatever this process's own affinity. */
export function onServerCore(command: string, args: readonly string[]): { command: string; args: string[] } {
  if (!hasTaskset) return { command, args: [...args] };
  return { command: "taskset", args: ["-c", String(SERVER_CORE), command, ...args] };
}

/** For the printed output. */
export function pinningLine(): string {
  if (!hasTaskset) {
    const why = pinningOff ? "BENCH_PIN=0" : cores < 2 ? "one core" : process.platform === "linux" ? "no taskset" : process.platform;
    return `cores: not pinned (${why}): servers and load generator share the ${cores} cores`;
  }
  return `cores: servers pinned to core ${SERVER_CORE}, load generator to core ${CLIENT_CORE}${pinnedSelf ? "" : " (pinning this process failed: not pinned)"}; a database server and other processes are not pinned`;
}
