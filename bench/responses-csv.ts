/**
 * Benchmark: the raw responses CSV export of 1,000,000 responses, end to end: the app as deployed
 * (its own process started as `npm start` starts it: bench/lib/app-server.ts) streams GET /api/studies/:id/responses.csv
 * (server/exports: keyset chunks of up to 2,000 responses, sized to ~10 ms of the event loop,
 * read as columns and written line by line with backpressure) to this process, which reads and
 * counts the rows. Reported: rows per second and the server process's peak RSS (VmHWM from /proc,
 * so every byte ever resident counts).
 * Baseline measured in the same run: the bare driver reading the same rows (completed responses
 * of the study LEFT JOIN their answers, in response order) with one statement and doing nothing
 * with them, in this process, for at most 10 s: the ceiling of any export that reads the engine
 * row by row (better-sqlite3 iterating one statement; on PostgreSQL a server-side cursor fetched
 * 10,000 rows at a time through node-postgres).
 * Targets: at least 100,000 rows/s; peak RSS under 200 MB.
 *
 * The database (BENCH_ENGINE, bench/lib/engine.ts: a temp SQLite file, or a scratch PostgreSQL
 * database on the DATABASE_URL server) is filled by bench/lib/generate.ts outside the timed part
 * (about 8 answer rows per response). An export that runs past 60 s is stopped and rated on the rows
 * received by then. An informational second run asks for gzip (as browsers do) and is rated on
 * its first 15 s.
 *
 * Run: npx tsx bench/responses-csv.ts [--quick]   (or npm run bench; --quick: 100,000 responses;
 *      BENCH_ENGINE=postgres with DATABASE_URL)
 */
import { randomBytes } from "node:crypto";
import { request } from "node:http";
import { createGunzip } from "node:zlib";
import Database from "better-sqlite3";
import pg from "pg";
import { closeDatabase } from "../db/client.js";
import { createApiToken, createUser } from "../server/services/accounts.js";
import { benchEngine, engineLabel, engineLine, newStore, openStore } from "./lib/engine.js";
import { tempDir } from "./lib/fixture.js";
import { generateDatabase } from "./lib/generate.js";
import { QUICK, fmtInt, fmtMb, fmtRatio, log, machineLine, printTable } from "./lib/report.js";
import { appLaunch, startAppServer } from "./lib/app-server.js";
import { pinningLine } from "./lib/cpu.js";
import { memoryOf, type RunningServer } from "./lib/servers.js";

const RESPONSES = QUICK ? 100_000 : 1_000_000;
const TARGET_ROWS_PER_S = 100_000;
const TARGET_RSS_BYTES = 200 * 1024 * 1024;
const MAX_SECONDS = 60;
/** The gzip run is informational: rated on what arrives within this time. */
const GZIP_SECONDS = QUICK ? 5 : 15;

interface Download {
  status: number;
  rows: number;
  bytes: number;
  seconds: number;
  complete: boolean;
  encoding: string;
}

/** Downloads the export, counting CSV rows (lines after the header; the data has no line breaks in cells). */
function download(url: string, token: string, gzip: boolean, maxSeconds: number): Promise<Download> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, ...(gzip ? { "accept-encoding": "gzip" } : {}) };
    const req = request(url, { headers }, (res) => {
      let lines = 0;
      let bytes = 0;
      let complete = false;
      const encoding = String(res.headers["content-encoding"] ?? "identity");
      const body = encoding === "gzip" ? res.pipe(createGunzip()) : res;
      res.on("data", (chunk: Buffer) => (bytes += chunk.length));
      body.on("data", (chunk: Buffer) => {
        for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
      });
      const stop = setTimeout(() => req.destroy(), maxSeconds * 1000);
      let finished = false;
      const finish = () => {
        if (finished) return;
        finished = true;
        clearTimeout(stop);
        resolve({ status: res.statusCode ?? 0, rows: Math.max(0, lines - 1), bytes, seconds: (performance.now() - started) / 1000, complete, encoding });
      };
      // Complete once the (decompressed) body has ended; stopped when the connection closed before the whole message.
      body.on("end", () => {
        complete = res.complete;
        finish();
      });
      res.on("close", () => {
        if (!res.complete) finish();
      });
    });
    req.on("error", (error) => (error.message === "socket hang up" ? undefined : reject(error)));
    req.end();
  });
}

const engine = engineLabel(benchEngine());
const dir = tempDir("export");
const store = await newStore("export", dir);
const path = store.location;
log(`${engine}: generating ${fmtInt(RESPONSES)} responses…`);
const g = await generateDatabase(path, RESPONSES);
log(`generated ${fmtInt(g.responses)} responses (${fmtInt(g.completed)} completed), ${fmtInt(g.answers)} answers in ${g.seconds.toFixed(1)} s`);

const db = openStore(path);
const user = await createUser(db, { email: "bench@example.test", name: "Bench", password: "a long benchmark password", role: "viewer" }, null);
const { token } = await createApiToken(db, user.id, "bench");
await closeDatabase(db);

// Baseline: one statement reading every row the export reads, in the same order, with the cheapest
// plan (responses in id order, each one's answers by answers_response_idx, no sort; on SQLite the
// unary + keeps the planner from choosing a wave index that would need a sort of every row).
const onPostgres = benchEngine() === "postgres";
const BASELINE_SQL = `SELECT r.id, r.wave_id, r.segment_id, r.status, r.excluded, r.excluded_reason, r.started_at, r.completed_at,
            r.duration_ms, r.locale, r.params, r.quality_flags, a.question_id, a.option_id, a.value_number, a.value_text
     FROM responses r LEFT JOIN answers a ON a.response_id = r.id
     WHERE ${onPostgres ? "r.wave_id" : "+r.wave_id"} IN (SELECT id FROM waves WHERE study_id = ${onPostgres ? "$1" : "?"}) AND ${onPostgres ? "r.status" : "+r.status"} = 'completed'
     ORDER BY r.id, a.question_id, a.id`;
/** Reads for at most BASELINE_SECONDS (a rate needs no more), counting responses (CSV rows). */
const BASELINE_SECONDS = QUICK ? 5 : 10;
type Baseline = { responses: number; seconds: number; complete: boolean };
function readAllSqlite(): Baseline {
  const raw = new Database(path, { readonly: true });
  try {
    const start = performance.now();
    let responses = 0;
    let last = -1;
    let rows = 0;
    for (const row of raw.prepare(BASELINE_SQL).raw(true).iterate(g.study.id) as IterableIterator<unknown[]>) {
      if (row[0] !== last) {
        last = row[0] as number;
        responses++;
      }
      if (++rows % 10_000 === 0 && performance.now() - start > BASELINE_SECONDS * 1000) {
        // Leaving the loop early finishes the statement (better-sqlite3 resets it on return).
        return { responses, seconds: (performance.now() - start) / 1000, complete: false };
      }
    }
    return { responses, seconds: (performance.now() - start) / 1000, complete: true };
  } finally {
    raw.close();
  }
}
async function readAllPostgres(): Promise<Baseline> {
  const client = new pg.Client({ connectionString: path });
  await client.connect();
  try {
    await client.query("BEGIN READ ONLY");
    const start = performance.now();
    await client.query({ text: `DECLARE baseline NO SCROLL CURSOR FOR ${BASELINE_SQL}`, values: [g.study.id] });
    let responses = 0;
    let last = -1;
    for (;;) {
      const batch = await client.query<unknown[]>({ text: "FETCH 10000 FROM baseline", rowMode: "array" });
      for (const row of batch.rows) {
        if (row[0] !== last) {
          last = row[0] as number;
          responses++;
        }
      }
      const seconds = (performance.now() - start) / 1000;
      if (batch.rows.length < 10_000) return { responses, seconds, complete: true };
      if (seconds > BASELINE_SECONDS) return { responses, seconds, complete: false };
    }
  } finally {
    await client.query("ROLLBACK").catch(() => undefined);
    await client.end();
  }
}
// The database was just written, so its pages are in the cache for this read as for the export.
const baseline = onPostgres ? await readAllPostgres() : readAllSqlite();
const baselineRows = baseline.responses;
const baselineSeconds = baseline.seconds;
log(`baseline: ${fmtInt(baselineRows)} responses read in ${baselineSeconds.toFixed(2)} s${baseline.complete ? "" : " (stopped there)"}`);

async function exportOnce(gzip: boolean): Promise<{ d: Download; before: number; peak: number }> {
  const app: RunningServer = await startAppServer({ database: path, sessionSecret: randomBytes(32).toString("hex") });
  try {
    const before = memoryOf(app.pid).rss;
    const d = await download(`${app.url}/api/studies/${g.study.id}/responses.csv`, token, gzip, gzip ? GZIP_SECONDS : MAX_SECONDS);
    const { peak } = memoryOf(app.pid);
    return { d, before, peak };
  } finally {
    await app.stop();
  }
}

const plain = await exportOnce(false);
if (plain.d.status !== 200) throw new Error(`export answered ${plain.d.status}`);
log(`export: ${fmtInt(plain.d.rows)} rows, ${fmtMb(plain.d.bytes)} in ${plain.d.seconds.toFixed(2)} s${plain.d.complete ? "" : " (stopped)"}`);
const gz = await exportOnce(true);
log(`export (gzip): ${fmtInt(gz.d.rows)} rows, ${fmtMb(gz.d.bytes)} compressed in ${gz.d.seconds.toFixed(2)} s${gz.d.complete ? "" : " (stopped there)"}`);

const rate = plain.d.rows / plain.d.seconds;
const baselineRate = baselineRows / baselineSeconds;
await store.drop();
console.log(machineLine());
console.log(appLaunch().description);
console.log(pinningLine());
console.log(await engineLine());
printTable(`[${engine}] Raw responses CSV export, ${fmtInt(RESPONSES)} responses (${fmtInt(g.completed)} completed rows) vs bare ${engine} read of the same rows`, [
  {
    name: "rows/s",
    ours: fmtInt(rate),
    baseline: fmtInt(baselineRate),
    ratio: fmtRatio(rate / baselineRate),
    target: `>= ${fmtInt(TARGET_ROWS_PER_S)}`,
    met: rate >= TARGET_ROWS_PER_S && plain.d.complete,
  },
  {
    name: "peak RSS of the server (VmHWM)",
    ours: fmtMb(plain.peak),
    baseline: `${fmtMb(plain.before)} idle`,
    ratio: fmtRatio(plain.peak / plain.before),
    target: `< ${fmtMb(TARGET_RSS_BYTES)}`,
    met: plain.peak < TARGET_RSS_BYTES,
  },
  {
    name: "rows exported = completed responses",
    ours: `${fmtInt(plain.d.rows)} = ${fmtInt(g.completed)}`,
    baseline: "-",
    ratio: "-",
    target: "equal",
    met: plain.d.rows === g.completed,
  },
  { name: "CSV size", ours: fmtMb(plain.d.bytes), baseline: "-", ratio: "-", target: "-", met: null },
  {
    name: "rows/s with gzip (Accept-Encoding)",
    ours: fmtInt(gz.d.rows / gz.d.seconds) + (gz.d.complete ? "" : ` (first ${GZIP_SECONDS} s)`),
    baseline: fmtInt(baselineRate),
    ratio: fmtRatio(gz.d.rows / gz.d.seconds / baselineRate),
    target: "-",
    met: null,
  },
  { name: `peak RSS with gzip${gz.d.complete ? "" : ` (first ${GZIP_SECONDS} s)`}`, ours: fmtMb(gz.peak), baseline: `${fmtMb(gz.before)} idle`, ratio: "-", target: "-", met: null },
]);
