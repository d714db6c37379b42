/**
 * Benchmark: does a respondent wait on a researcher? A study with 60,000 text answers, the app as
 * deployed (its own process, started as `npm start` starts it: bench/lib/app-server.ts), and two
 * phases of the same open-loop respondents (new ones arriving at a steady rate whatever the server
 * does, each a browser of its own: bench/lib/respondent.ts) on the study's open wave:
 *
 *   quiet   respondents only, for BENCH_HEAVY_QUIET_SECONDS: the baseline;
 *   loaded  the same respondents while one logged-in researcher (a researcher account of the
 *           study's team, logged in through the form) works one request after another: the
 *           results page, the coding page, the anonymous share-link report; adds a coding alias,
 *           recomputes the quality flags, closes a wave, makes 10,000 personal links (each post
 *           followed by the page it redirects to, as a browser does: the coding page, the quality
 *           ledger, the wave page); five share-link reports at once; results JSON, printable
 *           report, breakdown, quality ledger, the personal links CSV; every export. Respondents
 *           keep arriving for SETTLE_SECONDS after the last step and until no background job is
 *           queued or running, so work moved off the request path is measured too.
 *
 * Reported per phase: every respondent request's latency (p50, p99, max; POST and GET apart),
 * and the server's own event-loop delay (perf_hooks.monitorEventLoopDelay inside the server,
 * server/event-loop-probe.ts, read per phase). Targets: respondent p99 < 100 ms and event-loop
 * delay p99 < 50 ms while loaded; the quiet phase is the baseline of each figure. Each of the
 * researcher's requests is listed with its time.
 *
 * The data is written directly (bench/lib/generate.ts with varied texts: hardly two answers
 * alike), about 1.24 text answers per response (every unaided answer, a quarter of the
 * feedback), so 60,000 text answers are ~48,500 responses; a tracking wave is opened for the
 * researcher to close, a share link made beforehand. Before the quiet phase the researcher asks
 * the results, the share-link report, the breakdown and the coding page until each shows numbers
 * (their first snapshots computed, as on an install that has been running): the loaded phase times
 * pages read from snapshots, not their "being prepared" answers.
 *
 * Run: npx tsx bench/heavy-pages.ts [--quick]   (or npm run bench -- heavy)
 * Sizes: BENCH_HEAVY_TEXT_ANSWERS (60000; --quick 6000), BENCH_HEAVY_RATE page submissions per
 * second (20), BENCH_HEAVY_QUIET_SECONDS (15; --quick 5), BENCH_HEAVY_LINKS (10000; --quick
 * 1000), BENCH_HEAVY_MAX_BACKGROUND_SECONDS (300: how long to wait for background jobs),
 * BENCH_HEAVY_MAX_SECONDS (300: steps not started by then are listed as skipped),
 * BENCH_HEAVY_STEP_TIMEOUT_SECONDS (120: a request taking longer is given up and listed as an error).
 */
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import { closeDatabase, rawRows, type Db } from "../db/client.js";
import { insertShareLink } from "../db/queries/share-links.js";
import { listSegments } from "../db/queries/studies.js";
import { paginate } from "../server/domain/questionnaire.js";
import { BRAND_CODE } from "../server/domain/text-coding.js";
import { createUser } from "../server/services/accounts.js";
import { createWave, openWave } from "../server/services/study-setup.js";
import { appEnvLine, appLaunch, startAppServer } from "./lib/app-server.js";
import { Arrivals } from "./lib/arrivals.js";
import { pinningLine } from "./lib/cpu.js";
import { benchEngine, engineLabel, engineLine, newStore, openStore } from "./lib/engine.js";
import { EventLoopProbe } from "./lib/event-loop.js";
import { tempDir } from "./lib/fixture.js";
import { generateDatabase } from "./lib/generate.js";
import { LatencyBook, type Percentiles } from "./lib/latency.js";
import { QUICK, fmtInt, fmtMs, fmtTimes, log, machineLine, printGrid, printTable, type Row } from "./lib/report.js";
import { Researcher, failedSteps } from "./lib/researcher.js";
import type { HttpAnswer } from "./lib/respondent.js";

function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name}=${raw}: a positive number`);
  return value;
}

const TEXT_ANSWERS = envNumber("BENCH_HEAVY_TEXT_ANSWERS", QUICK ? 6_000 : 60_000);
const RATE = envNumber("BENCH_HEAVY_RATE", 20);
const QUIET_SECONDS = envNumber("BENCH_HEAVY_QUIET_SECONDS", QUICK ? 5 : 15);
const LINKS = envNumber("BENCH_HEAVY_LINKS", QUICK ? 1_000 : 10_000);
const MAX_BACKGROUND_SECONDS = envNumber("BENCH_HEAVY_MAX_BACKGROUND_SECONDS", 300);
/** The researcher's steps start within this many seconds; later ones are listed as skipped. */
const MAX_SECONDS = envNumber("BENCH_HEAVY_MAX_SECONDS", 300);
/** One researcher request that takes longer is given up (as a browser would) and listed as an error. */
const STEP_TIMEOUT_SECONDS = envNumber("BENCH_HEAVY_STEP_TIMEOUT_SECONDS", 120);
const WARMUP_SECONDS = 3;
const SETTLE_SECONDS = 5;
/** Unaided answers (one per response) and feedback (a quarter of the 95 % completed): text answers per response. */
const TEXTS_PER_RESPONSE = 1 + 0.95 * 0.25;
const TARGET_P99_MS = 100;
const TARGET_LOOP_P99_MS = 50;
const EMAIL = "researcher@bench.example";
const PASSWORD = randomBytes(12).toString("base64url");

const engine = engineLabel(benchEngine());
const dir = tempDir("heavy");
const store = await newStore("heavy", dir);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const count = async (db: Db, query: string) => Number((await rawRows<{ n: number }>(db, sql.raw(query)))[0]!.n);

log(`${engine}: generating a study with ~${fmtInt(TEXT_ANSWERS)} text answers…`);
const g = await generateDatabase(store.location, Math.round(TEXT_ANSWERS / TEXTS_PER_RESPONSE), { variedTexts: true });
const setupDb = openStore(store.location);
const textAnswers = await count(setupDb, "SELECT count(*) AS n FROM answers WHERE value_text IS NOT NULL");
const tracking = await createWave(setupDb, g.study.id, "tracking", "Tracking");
await openWave(setupDb, tracking, null);
const user = await createUser(setupDb, { email: EMAIL, password: PASSWORD, role: "researcher", name: "Bench researcher" }, null);
const share = await insertShareLink(setupDb, { studyId: g.study.id, token: randomBytes(24).toString("base64url"), createdBy: user.id, expiresAt: null, showVerbatims: true });
const segmentKey = (await listSegments(setupDb, g.study.id))[0]!.key;
await closeDatabase(setupDb);
log(`${fmtInt(g.responses)} responses, ${fmtInt(textAnswers)} text answers, ${fmtInt(g.answers)} answers in all, generated in ${g.seconds.toFixed(1)} s`);

const PAGES = paginate(g.questions, g.study.pageSize).length;
const surveyPath = `/s/${g.links.post[0]!.token}`;
const perSecond = RATE / PAGES;
const loopFile = join(dir, "event-loop.json");
const app = await startAppServer({ database: store.location, sessionSecret: randomBytes(32).toString("hex"), env: { BENCH_EVENT_LOOP_FILE: loopFile } });
const probe = new EventLoopProbe(app, loopFile);
const arrivals = new Arrivals(app.url, surveyPath, PAGES);
const researcher = new Researcher(app.url, STEP_TIMEOUT_SECONDS * 1000);
const watch = openStore(store.location);

/** Background jobs not finished yet (none before issue 16: the table is there, nothing queues). */
const pendingJobs = () => count(watch, "SELECT count(*) AS n FROM jobs WHERE status IN ('queued', 'running')");

/** Respondents at RATE for `run` (or `seconds`); their latencies, and the server's event-loop delay meanwhile. */
async function phase(name: string, run: () => Promise<void>) {
  await probe.take();
  const latencies = new LatencyBook();
  const before = { started: arrivals.started, completed: arrivals.completed };
  const started = performance.now();
  arrivals.start(perSecond, latencies);
  await run();
  await arrivals.stop();
  const loop = await probe.take();
  const seconds = (performance.now() - started) / 1000;
  log(`${name}: ${seconds.toFixed(1)} s, ${arrivals.started - before.started} respondents started, ${arrivals.completed - before.completed} completed, event-loop p99 ${fmtMs(loop.p99)}`);
  return { latencies, loop, seconds, started: arrivals.started - before.started, completed: arrivals.completed - before.completed };
}

const S = `/studies/${g.study.id}`;
let backgroundSeconds = 0;

/**
 * The study as a researcher finds it on a working install: its results, breakdown and coding review
 * queue computed once (a large study's first ones are computed in the background, and until then
 * its pages answer at once that they are being prepared: without this the loaded phase would time
 * those answers). Asks each page until it shows numbers; returns the seconds it took.
 */
async function computeFirstSnapshots(): Promise<number> {
  const started = performance.now();
  const ready: Array<[path: string, anonymous: boolean, done: (a: HttpAnswer) => boolean]> = [
    [`${S}/results.json`, false, (a) => a.status === 200],
    [`${S}/results`, false, (a) => a.status === 200 && a.headers["refresh"] === undefined],
    [`/r/${share.token}`, true, (a) => a.status === 200 && a.headers["refresh"] === undefined],
    [`${S}/breakdown`, false, (a) => a.status === 200 && a.headers["refresh"] === undefined],
    [`${S}/quality/coding`, false, (a) => a.status === 200 && a.body.includes('data-current="true"')],
  ];
  for (const [path, anonymous, done] of ready) {
    for (;;) {
      const answer = await researcher.request("first snapshots", path, { anonymous, record: false });
      if (answer && done(answer)) break;
      if (performance.now() - started > MAX_BACKGROUND_SECONDS * 1000) throw new Error(`${path} still not computed after ${MAX_BACKGROUND_SECONDS} s`);
      await sleep(1000);
    }
  }
  return (performance.now() - started) / 1000;
}

try {
  log(`warm-up: respondents for ${WARMUP_SECONDS} s, researcher login`);
  await phase("warm-up", () => sleep(WARMUP_SECONDS * 1000));
  await researcher.login(EMAIL, PASSWORD);
  const firstSnapshots = await computeFirstSnapshots();
  log(`first snapshots (results, breakdown, coding review queue) computed in ${firstSnapshots.toFixed(1)} s`);

  const quiet = await phase("quiet", () => sleep(QUIET_SECONDS * 1000));

  const loaded = await phase("loaded", async () => {
    const r = researcher;
    // The issue's headline operations first (a time budget cuts the list from the end), exports last.
    const page = (name: string, path: string): [string, string, () => Promise<unknown>] => [name, path, () => r.request(name, path)];
    const shareReport = (name: string) => r.request(name, `/r/${share.token}`, { anonymous: true });
    const steps: Array<[name: string, path: string, run: () => Promise<unknown>]> = [
      page("results page", `${S}/results`),
      page("coding page", `${S}/quality/coding`),
      ["share-link report (anonymous)", "/r/…", () => shareReport("share-link report (anonymous)")],
      ["add a coding alias", `${S}/quality/coding/aliases`, () => r.post("add a coding alias", `${S}/quality/coding/aliases`, { alias: "Akme", code: BRAND_CODE })],
      ["recompute quality flags", `${S}/quality/recompute`, () => r.post("recompute quality flags", `${S}/quality/recompute`, {})],
      ["close a wave", `/waves/${tracking.id}/close`, () => r.post("close a wave", `/waves/${tracking.id}/close`, {})],
      [
        `make ${fmtInt(LINKS)} personal links`,
        `/waves/${g.post.id}/personal`,
        () => r.post(`make ${fmtInt(LINKS)} personal links`, `/waves/${g.post.id}/personal`, { count: String(LINKS), segment: segmentKey }),
      ],
      ["share-link report, 5 at once", "/r/…", () => Promise.all(Array.from({ length: 5 }, (_, i) => shareReport(`share-link report, ${i + 1} of 5 at once`)))],
      page("results JSON", `${S}/results.json`),
      page("printable report", `${S}/report`),
      page("breakdown", `${S}/breakdown`),
      page("quality ledger (flags)", `${S}/quality`),
      [
        "personal links CSV",
        `/waves/${g.post.id}/personal-links.csv`,
        async () => {
          // As a researcher does: the wave page offers the list once the links are all made (the CSV is refused before).
          for (let i = 0; i < 600; i++) {
            const wave = await r.request("wave page", `/waves/${g.post.id}`, { record: false });
            if (wave?.body.includes(`href="/waves/${g.post.id}/personal-links.csv"`)) break;
            await new Promise((resolve) => setTimeout(resolve, 500));
          }
          await r.request("personal links CSV", `/waves/${g.post.id}/personal-links.csv`);
        },
      ],
      // The XLSX of every response is the longest: what the time budget cuts first.
      ...["results.csv", "results.R", "codebook.csv", "results.xlsx", "responses.csv", "responses.xlsx"].map((file) => page(`export ${file}`, `${S}/${file}`)),
    ];
    const begun = performance.now();
    for (const [name, path, run] of steps) {
      if (performance.now() - begun > MAX_SECONDS * 1000) r.skip(name, path);
      else await run();
    }
    // Respondents keep coming while whatever the researcher started finishes in the background.
    const stepsDone = performance.now();
    await sleep(SETTLE_SECONDS * 1000);
    while ((await pendingJobs()) > 0 && performance.now() - stepsDone < MAX_BACKGROUND_SECONDS * 1000) await sleep(500);
    backgroundSeconds = (performance.now() - stepsDone) / 1000 - SETTLE_SECONDS;
  });
  const stillPending = await pendingJobs();

  const links = await count(watch, `SELECT count(*) AS n FROM links WHERE wave_id = ${g.post.id} AND kind = 'personal'`);
  const aliases = await count(watch, `SELECT count(*) AS n FROM text_aliases WHERE study_id = ${g.study.id}`);
  const closed = await count(watch, `SELECT count(*) AS n FROM waves WHERE id = ${tracking.id} AND status = 'closed'`);
  const failed = failedSteps(researcher.steps);
  const skipped = researcher.steps.filter((s) => s.status === "skipped");

  const all = (b: LatencyBook) => b.summary("GET", "POST");
  const q = all(quiet.latencies);
  const l = all(loaded.latencies);
  const pair = (x: Percentiles) => `${fmtMs(x.p50)} / ${fmtMs(x.p99)}`;
  const researcherMs = researcher.steps.reduce((n, s) => n + s.ms, 0);
  const unexpected = (b: LatencyBook) => b.unexpected(["GET 200", "POST 303"]) || "none";

  console.log(machineLine());
  console.log(await engineLine());
  console.log(appLaunch().description);
  console.log(appEnvLine());
  console.log(pinningLine());
  const rows: Row[] = [
    { name: "respondent latency p50, every request", ours: fmtMs(l.p50), baseline: fmtMs(q.p50), ratio: fmtTimes(l.p50, q.p50), target: "-", met: null },
    { name: "respondent latency p99, every request", ours: fmtMs(l.p99), baseline: fmtMs(q.p99), ratio: fmtTimes(l.p99, q.p99), target: `< ${TARGET_P99_MS} ms`, met: l.p99 < TARGET_P99_MS },
    { name: "respondent latency max", ours: fmtMs(l.max), baseline: fmtMs(q.max), ratio: fmtTimes(l.max, q.max), target: "-", met: null },
    { name: "POST (page submission) p50 / p99", ours: pair(loaded.latencies.summary("POST")), baseline: pair(quiet.latencies.summary("POST")), ratio: fmtTimes(loaded.latencies.summary("POST").p99, quiet.latencies.summary("POST").p99), target: "-", met: null },
    { name: "GET (survey page) p50 / p99", ours: pair(loaded.latencies.summary("GET")), baseline: pair(quiet.latencies.summary("GET")), ratio: fmtTimes(loaded.latencies.summary("GET").p99, quiet.latencies.summary("GET").p99), target: "-", met: null },
    { name: "server event-loop delay p50", ours: fmtMs(loaded.loop.p50), baseline: fmtMs(quiet.loop.p50), ratio: fmtTimes(loaded.loop.p50, quiet.loop.p50), target: "-", met: null },
    { name: "server event-loop delay p99", ours: fmtMs(loaded.loop.p99), baseline: fmtMs(quiet.loop.p99), ratio: fmtTimes(loaded.loop.p99, quiet.loop.p99), target: `< ${TARGET_LOOP_P99_MS} ms`, met: loaded.loop.p99 < TARGET_LOOP_P99_MS },
    { name: "server event-loop delay max", ours: fmtMs(loaded.loop.max), baseline: fmtMs(quiet.loop.max), ratio: fmtTimes(loaded.loop.max, quiet.loop.max), target: "-", met: null },
    { name: "respondents completed / started", ours: `${fmtInt(loaded.completed)} / ${fmtInt(loaded.started)}`, baseline: `${fmtInt(quiet.completed)} / ${fmtInt(quiet.started)}`, ratio: "-", target: "all", met: loaded.completed === loaded.started },
    { name: "respondent answers other than GET 200 / POST 303", ours: unexpected(loaded.latencies), baseline: unexpected(quiet.latencies), ratio: "-", target: "none", met: unexpected(loaded.latencies) === "none" },
    ...[...new Set([...loaded.latencies.notes.keys(), ...quiet.latencies.notes.keys()])].map(
      (what): Row => ({ name: what, ours: fmtInt(loaded.latencies.notes.get(what) ?? 0), baseline: fmtInt(quiet.latencies.notes.get(what) ?? 0), ratio: "-", target: "-", met: null }),
    ),
    { name: "phase length (s)", ours: loaded.seconds.toFixed(1), baseline: quiet.seconds.toFixed(1), ratio: "-", target: "-", met: null },
    { name: "first snapshots computed before the quiet phase (s)", ours: firstSnapshots.toFixed(1), baseline: "-", ratio: "-", target: "-", met: null },
    { name: "researcher's requests, sum of their times", ours: fmtMs(researcherMs), baseline: "-", ratio: "-", target: "-", met: null },
    { name: "background work after the last step", ours: `${Math.max(0, backgroundSeconds).toFixed(1)} s${stillPending ? `, ${stillPending} jobs still pending` : ""}`, baseline: "-", ratio: "-", target: "-", met: null },
    { name: "researcher's requests answered as expected", ours: failed.length ? failed.map((s) => `${s.name}: ${s.status}`).join("; ") : "all", baseline: "-", ratio: "-", target: "all", met: failed.length === 0 },
    {
      name: `researcher's requests not started within ${MAX_SECONDS} s`,
      ours: skipped.length ? skipped.map((s) => s.name).join("; ") : "none",
      baseline: "-",
      ratio: "-",
      target: "none",
      met: skipped.length === 0,
    },
    { name: "personal links made / alias added / wave closed", ours: `${fmtInt(links)} / ${aliases} / ${closed ? "yes" : "no"}`, baseline: "-", ratio: "-", target: `${fmtInt(LINKS)} / 1 / yes`, met: links === LINKS && aliases === 1 && closed === 1 },
  ];
  printTable(
    `[${engine}] Respondents while a researcher loads every heavy page of a study with ${fmtInt(textAnswers)} text answers (${fmtInt(g.responses)} responses): open-loop ${RATE} page submissions/s (${perSecond.toFixed(1)} respondents/s, ${PAGES} pages each); baseline: the same respondents without the researcher`,
    rows,
  );
  if (quiet.completed < quiet.started || q.p99 > 1000) {
    console.log(
      `NOTE: the quiet phase already queues (p99 ${fmtMs(q.p99)}, ${quiet.completed} of ${quiet.started} respondents completed): this server cannot take ${RATE} ` +
        `page submissions/s on this machine, so the loaded phase measures overload more than waiting on the researcher; BENCH_HEAVY_RATE sets a lower rate.`,
    );
  }
  printGrid(
    `[${engine}] The researcher's requests during the loaded phase, one after another (respondents arriving meanwhile)`,
    ["request", "path", "status", "time", "size"],
    researcher.steps.map((s) => [
      s.name,
      `${s.method} ${s.path.replace(/\/r\/[\w-]+/, "/r/…")}`,
      s.error ? `${s.status} (${s.error})` : String(s.status),
      fmtMs(s.ms),
      `${fmtInt(s.bytes / 1024)} KB`,
    ]),
  );
} finally {
  researcher.close();
  await closeDatabase(watch);
  await app.stop();
  await store.drop();
}
