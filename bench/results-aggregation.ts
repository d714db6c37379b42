/**
 * Benchmark: results aggregation for 100,000 and 1,000,000 responses. computeResults
 * (server/services/results.ts: waves, questionnaire, SQL counts per metric x segment x wave,
 * liftTable, labels) as the results page, the exports and the API call it, against the bare SQLite
 * GROUP BY over the same answers: one hand-written query counting answers per question, option,
 * value, wave and segment of the completed, non-excluded responses of the two waves.
 * Targets: computeResults at most 2x the baseline, and under 1 s for 1,000,000 responses.
 *
 * The database (BENCH_ENGINE, bench/lib/engine.ts: a temp SQLite file, or a scratch PostgreSQL
 * database on the DATABASE_URL server) is filled by bench/lib/generate.ts outside the timed part
 * (3 segments x 2 waves, every template question answered: about 8 answer rows per response), then
 * read through a connection opened like the app's (db/client.ts: openDatabase or openPostgres); on
 * PostgreSQL the baseline is the same query through the same pool, as a named prepared statement. Times are the best of 5 runs (3 at 1,000,000)
 * after a warm-up run, alternating ours and the baseline; then each SQL phase of computeResults alone.
 * Wall time decides the targets; this process's CPU time is printed beside it, because on a shared
 * machine the wall time of a single-threaded query also counts the time other processes held the CPU
 * (on PostgreSQL the query runs in the server process, so this process's CPU time leaves it out).
 *
 * Then the same study over HTTP from the app as deployed (its own process, started as `npm start`
 * starts it: bench/lib/app-server.ts): the JSON API (GET /api/studies/:id/results with an API
 * token) and the results page (GET /studies/:id/results, logged in through the form), the first
 * request once the study's kept results are computed (the first request starts that, answered 503
 * meanwhile; how long it took is reported) and the best of 3 after it, against the same bare GROUP BY.
 * Target: page and API under 1 s at 1,000,000 responses.
 *
 * Run: npx tsx bench/results-aggregation.ts [--quick]   (or npm run bench; --quick: 100,000 only;
 *      BENCH_ENGINE=postgres with DATABASE_URL)
 */
import { randomBytes } from "node:crypto";
import { closeDatabase, postgresPool, type Db } from "../db/client.js";
import { countAware, countRespondents } from "../db/queries/aggregation.js";
import { loadQuestionnaire } from "../db/queries/questionnaire.js";
import { translator } from "../server/i18n/index.js";
import { createApiToken, createUser } from "../server/services/accounts.js";
import { computeResults, metricDefinitions, resultsQuery, type StudyResults } from "../server/services/results.js";
import { appLaunch, startAppServer } from "./lib/app-server.js";
import { pinningLine } from "./lib/cpu.js";
import { benchEngine, engineLabel, engineLine, newStore, openStore } from "./lib/engine.js";
import { tempDir } from "./lib/fixture.js";
import { generateDatabase, type Generated } from "./lib/generate.js";
import { QUICK, fmtInt, fmtMs, fmtRatio, log, machineLine, printTable, type Row } from "./lib/report.js";
import { Researcher, failedSteps } from "./lib/researcher.js";

/** BENCH_RESULTS_SIZES=100000,… overrides the sizes (a busy machine, a slow server). */
const SIZES = process.env["BENCH_RESULTS_SIZES"]?.split(",").map(Number) ?? (QUICK ? [100_000] : [100_000, 1_000_000]);
/** Best of this many runs after a warm-up; 3 at 1,000,000, where the baseline alone takes seconds per run. */
const runsFor = (size: number) => (size >= 1_000_000 ? 3 : 5);
const PHASE_RUNS = 2;
const TARGET_RATIO = 2;
const TARGET_1M_MS = 1000;

/** Wall and CPU time of one call, in ms (CPU: this process's user + system time). */
interface Timing {
  wall: number;
  cpu: number;
}

async function time(fn: () => unknown): Promise<Timing> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  await fn();
  const wall = performance.now() - start;
  const used = process.cpuUsage(cpu);
  return { wall, cpu: (used.user + used.system) / 1000 };
}

/** The best wall and the best CPU time seen (each its own minimum: other processes only ever add). */
function fastest(list: readonly Timing[]): Timing {
  return { wall: Math.min(...list.map((t) => t.wall)), cpu: Math.min(...list.map((t) => t.cpu)) };
}

/** Best of `runs` calls after one warm-up call. */
async function best(fn: () => unknown, runs: number): Promise<Timing> {
  await fn();
  const times: Timing[] = [];
  for (let i = 0; i < runs; i++) times.push(await time(fn));
  return fastest(times);
}

const engine = engineLabel(benchEngine());
const onPostgres = benchEngine() === "postgres";

/** The same query on both engines; only the parameter markers and the boolean literal differ. */
const BASELINE_SQL = `
  SELECT a.question_id, a.option_id, a.value_number, r.wave_id, r.segment_id, count(*) AS x
  FROM answers a JOIN responses r ON r.id = a.response_id
  WHERE r.wave_id IN (${onPostgres ? "$1, $2" : "?, ?"}) AND r.status = 'completed' AND r.excluded = ${onPostgres ? "false" : "0"}
  GROUP BY a.question_id, a.option_id, a.value_number, r.wave_id, r.segment_id`;

/** The bare query, run directly on the driver: a cached prepared statement on either engine. */
function baselineQuery(db: Db): (waveIds: number[]) => Promise<BaselineRow[]> {
  const pool = postgresPool(db);
  if (pool) return async (waveIds) => (await pool.query<BaselineRow>({ name: "baseline", text: BASELINE_SQL, values: waveIds })).rows;
  const statement = db.$client.prepare(BASELINE_SQL);
  return (waveIds) => Promise.resolve(statement.all(...waveIds) as BaselineRow[]);
}

interface BaselineRow {
  question_id: number;
  option_id: number | null;
  value_number: number | null;
  wave_id: number;
  segment_id: number;
  x: number;
}

/** The aided-awareness counts of both must agree, or the comparison is between different things. */
function checkAgreement(results: StudyResults, baseline: BaselineRow[], g: Generated): void {
  const aided = g.questions.find((q) => q.key === "aided")!;
  const brand = aided.options.find((o) => o.key === "brand")!.id;
  const segmentKey = new Map(results.segments.map((s) => [s.id, s.key]));
  for (const row of baseline) {
    if (row.question_id !== aided.id || row.option_id !== brand) continue;
    const ours = results.counts.find((c) => c.metric === "aided_awareness" && c.wave === String(row.wave_id) && c.segment === segmentKey.get(row.segment_id));
    if (ours?.x !== row.x) throw new Error(`aided awareness counts disagree: ours ${ours?.x}, baseline ${row.x}`);
  }
}

interface Measured {
  ours: Timing;
  baseline: Timing;
  phases: Record<string, Timing>;
}

async function measure(db: Db, g: Generated, runs: number): Promise<Measured> {
  const options = resultsQuery.parse({});
  const t = translator("en");
  const waveIds = [g.pre.id, g.post.id];
  const baseline = baselineQuery(db);
  const results = await computeResults(db, g.study, options, "en", t);
  if (results === "no_waves") throw new Error("the study has no two waves");
  checkAgreement(results, await baseline(waveIds), g);

  // The calls above were the warm-up of both (page cache, statements); alternate so drift in
  // machine load hits both.
  const ours: Timing[] = [];
  const baselines: Timing[] = [];
  for (let i = 0; i < runs; i++) {
    ours.push(await time(() => computeResults(db, g.study, options, "en", t)));
    baselines.push(await time(() => baseline(waveIds)));
  }

  // Where computeResults spends its time: the SQL aggregates one by one; the rest is JavaScript.
  const questions = await loadQuestionnaire(db, g.study.id);
  const metrics = metricDefinitions(questions);
  const filter = { waveIds, includeFlagged: options.flagged };
  const phases: Record<string, Timing> = { "countRespondents (SQL)": await best(() => countRespondents(db, filter), PHASE_RUNS) };
  for (const m of metrics) phases[`countAware ${m.metric} (${m.kind})`] = await best(() => countAware(db, [m], filter), PHASE_RUNS);
  return { ours: fastest(ours), baseline: fastest(baselines), phases };
}

const both = (t: Timing) => `${fmtMs(t.wall)} (cpu ${fmtMs(t.cpu)})`;

const HTTP_RUNS = 3;
/** A results request taking longer is given up and reported as such. */
const HTTP_TIMEOUT_MS = 300_000;

interface OverHttp {
  /** From the first request to the first 200 of the API: the results kept for the study being computed (in the worker). */
  computing: number;
  api: { first: number; best: number };
  page: { first: number; best: number };
  failed: string;
}

/** How often the study's results are asked for while they are first computed (503 with Retry-After meanwhile). */
const COMPUTING_POLL_MS = 250;

/** The API and the results page from the app in its own process: the first request, then the best of HTTP_RUNS. */
async function measureOverHttp(location: string, g: Generated): Promise<OverHttp> {
  const email = "viewer@bench.example";
  const password = randomBytes(12).toString("base64url");
  const db = openStore(location);
  const user = await createUser(db, { email, password, role: "viewer", name: "Bench viewer" }, null);
  const { token } = await createApiToken(db, user.id, "bench");
  await closeDatabase(db);
  const app = await startAppServer({ database: location, sessionSecret: randomBytes(32).toString("hex") });
  const browser = new Researcher(app.url, HTTP_TIMEOUT_MS);
  try {
    await browser.login(email, password);
    // The first request starts computing the study's kept results and answers 503 until they are
    // there; the page and the API then read them. What is timed is reading them, as every later
    // visitor does; how long computing them took is reported beside it.
    const apiPath = `/api/studies/${g.study.id}/results`;
    const auth = { authorization: `Bearer ${token}` };
    const asked = performance.now();
    for (;;) {
      const answer = await browser.request("results API, computing", apiPath, { headers: auth, anonymous: true, record: false });
      if (answer?.status !== 503) break;
      if (performance.now() - asked > HTTP_TIMEOUT_MS) throw new Error("the study's results were still being computed after 300 s");
      await new Promise((resolve) => setTimeout(resolve, COMPUTING_POLL_MS));
    }
    const computing = performance.now() - asked;
    const timed = async (name: string, path: string, headers?: Record<string, string>) => {
      const times: number[] = [];
      for (let i = 0; i <= HTTP_RUNS; i++) {
        await browser.request(name, path, headers ? { headers, anonymous: true } : {});
        times.push(browser.steps.at(-1)!.ms);
      }
      return { first: times[0]!, best: Math.min(...times.slice(1)) };
    };
    const api = await timed("results API", apiPath, auth);
    const page = await timed("results page", `/studies/${g.study.id}/results`);
    const failed = failedSteps(browser.steps).map((s) => `${s.name}: ${s.status}`).join(", ");
    return { computing, api, page, failed };
  } finally {
    browser.close();
    await app.stop();
  }
}

const dir = tempDir("results");
const rows: Row[] = [];
const phaseRows: Row[] = [];
for (const size of SIZES) {
  const store = await newStore(`results${size}`, dir);
  log(`${engine}: generating ${fmtInt(size)} responses…`);
  const g = await generateDatabase(store.location, size);
  log(`${engine}: generated ${fmtInt(g.responses)} responses (${fmtInt(g.completed)} completed), ${fmtInt(g.answers)} answers in ${g.seconds.toFixed(1)} s`);
  rows.push({ name: `generating ${fmtInt(size)} responses (outside the timings)`, ours: `${g.seconds.toFixed(1)} s`, baseline: "-", ratio: "-", target: "-", met: null });
  const db = openStore(store.location);
  try {
    const m = await measure(db, g, runsFor(size));
    const http = await measureOverHttp(store.location, g);
    log(
      `${engine} ${fmtInt(size)} over HTTP: results computed in ${fmtMs(http.computing)}; API ${fmtMs(http.api.first)} first, ${fmtMs(http.api.best)} best; page ${fmtMs(http.page.first)} first, ${fmtMs(http.page.best)} best`,
    );
    rows.push({ name: `${fmtInt(size)} responses over HTTP: results computed for the study (503 meanwhile)`, ours: fmtMs(http.computing), baseline: "-", ratio: "-", target: "-", met: null });
    if (http.failed) log(`WARNING: over HTTP ${http.failed}`);
    for (const [name, t] of [["results API (JSON) over HTTP", http.api], ["results page (HTML) over HTTP", http.page]] as const) {
      rows.push({
        name: `${name}, ${fmtInt(size)} responses: first request / best of ${HTTP_RUNS} after`,
        ours: `${fmtMs(t.first)} / ${fmtMs(t.best)}`,
        baseline: fmtMs(m.baseline.wall),
        ratio: `${fmtRatio(t.first / m.baseline.wall)} / ${fmtRatio(t.best / m.baseline.wall)}`,
        target: size >= 1_000_000 ? "< 1 s" : "-",
        met: size >= 1_000_000 ? Math.max(t.first, t.best) < TARGET_1M_MS && !http.failed : null,
      });
    }
    const ratio = m.ours.wall / m.baseline.wall;
    const cpuRatio = m.ours.cpu / m.baseline.cpu;
    log(`${engine} ${fmtInt(size)}: computeResults ${both(m.ours)}, GROUP BY ${both(m.baseline)}`);
    rows.push({
      name: `computeResults, ${fmtInt(size)} responses (best of ${runsFor(size)})`,
      ours: both(m.ours),
      baseline: both(m.baseline),
      ratio: `${fmtRatio(ratio)} (cpu ${fmtRatio(cpuRatio)})`,
      target: `<= ${TARGET_RATIO}x`,
      met: ratio <= TARGET_RATIO,
    });
    if (size === 1_000_000) {
      rows.push({
        name: "computeResults, 1,000,000 responses",
        ours: both(m.ours),
        baseline: "-",
        ratio: "-",
        target: "< 1 s",
        met: m.ours.wall < TARGET_1M_MS,
      });
    }
    const sqlCpu = Object.values(m.phases).reduce((a, b) => a + b.cpu, 0);
    const sqlWall = Object.values(m.phases).reduce((a, b) => a + b.wall, 0);
    for (const [name, phase] of Object.entries(m.phases)) {
      phaseRows.push({ name: `${fmtInt(size)}: ${name}`, ours: both(phase), baseline: "-", ratio: "-", target: "-", met: null });
    }
    // On PostgreSQL the phases' CPU is in the server: compare wall times there.
    phaseRows.push({
      name: onPostgres ? `${fmtInt(size)}: sum of the SQL phases / computeResults (wall)` : `${fmtInt(size)}: sum of the SQL phases / the rest (other queries, JS)`,
      ours: onPostgres
        ? `${fmtMs(sqlWall)} / ${fmtMs(m.ours.wall)}`
        : `cpu ${fmtMs(sqlCpu)} / ${m.ours.cpu > sqlCpu ? fmtMs(m.ours.cpu - sqlCpu) : "~0 ms"}`,
      baseline: "-",
      ratio: "-",
      target: "-",
      met: null,
    });
  } finally {
    await closeDatabase(db);
    await store.drop();
  }
}
console.log(appLaunch().description);
console.log(pinningLine());

console.log(machineLine());
console.log(await engineLine());
const cpuNote = onPostgres ? "; cpu: this process only, the queries run in the PostgreSQL server" : "";
printTable(`[${engine}] Results aggregation: computeResults vs bare ${engine} GROUP BY over the same answers (best run after a warm-up${cpuNote})`, rows);
printTable(`[${engine}] Phases of computeResults (each query alone, best of ${PHASE_RUNS} after a warm-up)`, phaseRows);
