/**
 * Benchmark: do the workbook exports hold the event loop that serves respondents? A study of the
 * heavy-page scenario's size (about 48,500 responses, 60,000 varied text answers), the app as
 * deployed (bench/lib/app-server.ts) with its event-loop probe on (server/event-loop-probe.ts), and
 * a probe client asking GET /healthz every PING_MS throughout (what a respondent's request would
 * wait for). Phases, one after another, each reported with the server's event-loop delay (p99,
 * max) and the probe's latency (p99, max):
 *
 *   idle              nothing but the probe: the baseline of every figure;
 *   responses.csv     the raw-responses CSV export (streamed, backpressured): the export the
 *                     workbook should cost no more than on the event loop;
 *   responses.xlsx    the raw-responses workbook, downloaded as fast as this client reads;
 *   slow client       the workbook again, this client pausing PAUSE_S after its first 64 KB: the
 *                     server's RSS during the pause must not grow with the file;
 *   results.xlsx      the results workbook while the study's snapshot is being recomputed (a
 *                     change marked it stale just before): it should answer from the last one.
 *
 * Run: npx tsx bench/responses-xlsx.ts [--quick]   (or npm run bench -- responses-xlsx)
 * Sizes: BENCH_XLSX_RESPONSES (48,500; --quick 5,000).
 */
import { randomBytes } from "node:crypto";
import { request } from "node:http";
import { join } from "node:path";
import { closeDatabase, unitOfWork } from "../db/client.js";
import { markResultsStale } from "../server/results-snapshots/version.js";
import { WORKER_IDLE_MS } from "../server/worker-thread.js";
import { createApiToken, createUser } from "../server/services/accounts.js";
import { appLaunch, startAppServer } from "./lib/app-server.js";
import { pinningLine } from "./lib/cpu.js";
import { benchEngine, engineLabel, engineLine, newStore, openStore } from "./lib/engine.js";
import { EventLoopProbe } from "./lib/event-loop.js";
import { tempDir } from "./lib/fixture.js";
import { generateDatabase } from "./lib/generate.js";
import { percentiles } from "./lib/latency.js";
import { QUICK, fmtInt, fmtMb, fmtMs, log, machineLine, printGrid } from "./lib/report.js";
import { memoryOf } from "./lib/servers.js";

const RESPONSES = Number(process.env["BENCH_XLSX_RESPONSES"] ?? (QUICK ? 5_000 : 48_500));
const IDLE_S = QUICK ? 3 : 5;
const PAUSE_S = QUICK ? 3 : 5;
const PING_MS = 20;
const TARGET_LOOP_P99_MS = 50;

const engine = engineLabel(benchEngine());
const dir = tempDir("xlsx");
const store = await newStore("xlsx", dir);
log(`${engine}: generating ${fmtInt(RESPONSES)} responses with varied texts…`);
const g = await generateDatabase(store.location, RESPONSES, { variedTexts: true });
log(`generated ${fmtInt(g.responses)} responses (${fmtInt(g.completed)} completed), ${fmtInt(g.answers)} answers in ${g.seconds.toFixed(1)} s`);
const setup = openStore(store.location);
const user = await createUser(setup, { email: "bench@example.test", name: "Bench", password: "a long benchmark password", role: "viewer" }, null);
const { token } = await createApiToken(setup, user.id, "bench");

const loopFile = join(dir, "event-loop.json");
const app = await startAppServer({ database: store.location, sessionSecret: randomBytes(32).toString("hex"), env: { BENCH_EVENT_LOOP_FILE: loopFile } });
const probe = new EventLoopProbe(app, loopFile);
const api = `${app.url}/api/studies/${g.study.id}`;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

interface Got {
  status: number;
  bytes: number;
  ms: number;
  /** The server's RSS at the end of the pause (slow client only). */
  pausedRss?: number;
  rssBeforePause?: number;
}

/** GET with the viewer's token, reading the whole body; `pauseAfter` bytes in, the client stops reading for PAUSE_S. */
function get(url: string, pauseAfter?: number): Promise<Got> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = request(url, { headers: { authorization: `Bearer ${token}` } }, (res) => {
      let bytes = 0;
      let paused = false;
      const got: Got = { status: res.statusCode ?? 0, bytes: 0, ms: 0 };
      res.on("data", (chunk: Buffer) => {
        bytes += chunk.length;
        if (pauseAfter !== undefined && !paused && bytes >= pauseAfter) {
          paused = true;
          res.pause();
          got.rssBeforePause = memoryOf(app.pid).rss;
          setTimeout(() => {
            got.pausedRss = memoryOf(app.pid).rss;
            res.resume();
          }, PAUSE_S * 1000);
        }
      });
      res.on("end", () => resolve({ ...got, bytes, ms: performance.now() - started }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

/** A probe client: GET /healthz one after another, PING_MS apart, until stopped; its latencies. */
function pinger() {
  const latencies: number[] = [];
  let running = true;
  const done = (async () => {
    while (running) {
      const started = performance.now();
      await get(`${app.url}/healthz`);
      latencies.push(performance.now() - started);
      await sleep(PING_MS);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await done;
      return percentiles(latencies);
    },
  };
}

interface PhaseResult {
  name: string;
  got?: Got;
  loop: { p99: number; max: number };
  ping: { n: number; p99: number; max: number };
}

async function phase(name: string, run: () => Promise<Got | undefined>): Promise<PhaseResult> {
  await probe.take();
  const ping = pinger();
  const got = await run();
  const pings = await ping.stop();
  const loop = await probe.take();
  log(`${name}: ${got ? `${got.status}, ${fmtMb(got.bytes)} in ${fmtMs(got.ms)}, ` : ""}event-loop p99 ${fmtMs(loop.p99)}, max ${fmtMs(loop.max)}; probe p99 ${fmtMs(pings.p99)}`);
  return { name, ...(got ? { got } : {}), loop, ping: pings };
}

try {
  // The results snapshot of a large study is computed in the worker thread: wait for the first.
  for (let tries = 0; (await get(`${api}/results`)).status !== 200; tries++) {
    if (tries > 600) throw new Error("the results snapshot was not computed within 5 minutes");
    await sleep(500);
  }
  const rssIdle = memoryOf(app.pid).rss;
  const phases: PhaseResult[] = [];
  phases.push(await phase("idle", async () => (await sleep(IDLE_S * 1000), undefined)));
  phases.push(await phase("responses.csv", () => get(`${api}/responses.csv`)));
  phases.push(await phase("responses.xlsx", () => get(`${api}/responses.xlsx`)));
  const slow = await phase(`responses.xlsx, client pausing ${PAUSE_S} s`, () => get(`${api}/responses.xlsx`, 64 * 1024));
  phases.push(slow);
  const peak = memoryOf(app.pid).peak;
  phases.push(await phase("results.xlsx, current snapshot", () => get(`${api}/results.xlsx`)));
  await unitOfWork(setup, (tx) => markResultsStale(tx, g.study.id));
  phases.push(await phase("results.xlsx, snapshot recomputing", () => get(`${api}/results.xlsx`)));
  // Idle worker threads end after WORKER_IDLE_MS (server/worker-thread.ts): what the idle server holds then.
  await sleep(WORKER_IDLE_MS + 5_000);
  const rssAfter = memoryOf(app.pid).rss;

  console.log(machineLine());
  console.log(appLaunch().description);
  console.log(pinningLine());
  console.log(await engineLine());
  printGrid(
    `[${engine}] Event loop during the exports of a study of ${fmtInt(g.completed)} completed responses (${fmtInt(g.answers)} answers); probe: GET /healthz every ${PING_MS} ms; target: event-loop p99 < ${TARGET_LOOP_P99_MS} ms`,
    ["phase", "status", "size", "time", "event-loop p99", "event-loop max", "probe p99", "probe max", "probe requests"],
    phases.map((p) => [
      p.name,
      p.got ? String(p.got.status) : "-",
      p.got ? fmtMb(p.got.bytes) : "-",
      p.got ? fmtMs(p.got.ms) : "-",
      fmtMs(p.loop.p99),
      fmtMs(p.loop.max),
      fmtMs(p.ping.p99),
      fmtMs(p.ping.max),
      fmtInt(p.ping.n),
    ]),
  );
  printGrid(
    `[${engine}] Server memory (RSS)`,
    ["when", "RSS"],
    [
      ["idle, after the first snapshot", fmtMb(rssIdle)],
      [`slow client: when it paused (64 KB in)`, fmtMb(slow.got?.rssBeforePause ?? NaN)],
      [`slow client: after ${PAUSE_S} s of pause`, fmtMb(slow.got?.pausedRss ?? NaN)],
      ["peak (VmHWM) after the workbook exports", fmtMb(peak)],
      [`idle again, ${(WORKER_IDLE_MS + 5_000) / 1000} s after the last export (idle worker threads ended)`, fmtMb(rssAfter)],
    ],
  );
} finally {
  await closeDatabase(setup);
  await app.stop();
  await store.drop();
}
