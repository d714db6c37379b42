/**
 * Benchmark: the results page, its printable report and the API's results JSON at 100,000 and
 * 1,000,000 responses, as a researcher gets them from the app running in its own process
 * (NODE_ENV=production, 127.0.0.1): read from the study's results snapshot (server/results-snapshots),
 * the sensitivity view, themes and verbatims included. Measured:
 *
 * - the first request of a study without a snapshot (answers "being computed" at once) and how
 *   long the worker thread takes to compute the first snapshot (until the API answers 200);
 * - then each page and the API, best of RUNS after a warm-up (target: under 1 s at 1,000,000);
 * - the data version read that decides whether a snapshot is current (a few index lookups);
 * - after an exclusion: the answer while the snapshot is recomputed (the last numbers, marked as
 *   not current) and how long until the numbers are current again.
 *
 * Baseline in the same run: what every one of those requests used to do, computing the results
 * from the database (computeResults, the aggregates and the table; the page did more: the
 * sensitivity view, themes and verbatims), in this process.
 *
 * Run: npx tsx bench/results-page.ts [--quick]   (or npm run bench; --quick: 100,000 only;
 *      BENCH_ENGINE=postgres with DATABASE_URL)
 */
import { randomBytes } from "node:crypto";
import { and, eq } from "drizzle-orm";
import { closeDatabase, first } from "../db/client.js";
import { responses } from "../db/schema.js";
import { findStudy } from "../db/queries/studies.js";
import { translator } from "../server/i18n/index.js";
import { changeExclusion } from "../server/quality/ledger-service.js";
import { resultsDataVersion } from "../server/results-snapshots/version.js";
import { createApiToken, createUser } from "../server/services/accounts.js";
import { computeResults, resultsQuery } from "../server/services/results.js";
import { benchEngine, engineLabel, engineLine, newStore, openStore } from "./lib/engine.js";
import { tempDir } from "./lib/fixture.js";
import { generateDatabase } from "./lib/generate.js";
import { QUICK, fmtInt, fmtMs, fmtRatio, log, machineLine, printTable, type Row } from "./lib/report.js";
import { startAppServer } from "./lib/app-server.js";

const SIZES = process.env["BENCH_RESULTS_SIZES"]?.split(",").map(Number) ?? (QUICK ? [100_000] : [100_000, 1_000_000]);
const RUNS = 5;
const TARGET_MS = 1000;
/** Longest wait for a snapshot to be computed before the run gives up. */
const SNAPSHOT_TIMEOUT_MS = 30 * 60 * 1000;
const PASSWORD = "a long benchmark password";

const engine = engineLabel(benchEngine());
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A logged-in browser session: the login form's CSRF token and the session cookie. */
async function login(base: string, email: string): Promise<string> {
  const page = await fetch(`${base}/login`);
  const cookies = page.headers.getSetCookie().map((c) => c.split(";")[0]!);
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await page.text())?.[1];
  if (!csrf) throw new Error("no CSRF token on the login page");
  const posted = await fetch(`${base}/login`, {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded", cookie: cookies.join("; ") },
    body: new URLSearchParams({ email, password: PASSWORD, _csrf: csrf }).toString(),
  });
  if (posted.status !== 303) throw new Error(`login answered ${posted.status}`);
  return [...cookies, ...posted.headers.getSetCookie().map((c) => c.split(";")[0]!)].join("; ");
}

async function timed(url: string, headers: Record<string, string>): Promise<{ ms: number; status: number; body: string }> {
  const start = performance.now();
  const res = await fetch(url, { headers });
  const body = await res.text();
  return { ms: performance.now() - start, status: res.status, body };
}

async function best(url: string, headers: Record<string, string>): Promise<number> {
  await timed(url, headers);
  let fastest = Infinity;
  for (let i = 0; i < RUNS; i++) {
    const r = await timed(url, headers);
    if (r.status !== 200) throw new Error(`${url} answered ${r.status}`);
    fastest = Math.min(fastest, r.ms);
  }
  return fastest;
}

/** Polls the API until it answers 200 with current numbers; the time it took. */
async function untilCurrent(url: string, headers: Record<string, string>, since: number): Promise<number> {
  for (;;) {
    const r = await timed(url, headers);
    if (r.status === 200 && (JSON.parse(r.body) as { freshness: { current: boolean } }).freshness.current) return performance.now() - since;
    if (performance.now() - since > SNAPSHOT_TIMEOUT_MS) throw new Error("the snapshot was not computed in time");
    await sleep(250);
  }
}

const dir = tempDir("results-page");
const rows: Row[] = [];
for (const size of SIZES) {
  const store = await newStore(`page${size}`, dir);
  log(`${engine}: generating ${fmtInt(size)} responses…`);
  const g = await generateDatabase(store.location, size);
  log(`generated ${fmtInt(g.responses)} responses in ${g.seconds.toFixed(1)} s`);
  const db = openStore(store.location);
  const admin = await createUser(db, { email: "bench@example.test", name: "Bench", password: PASSWORD, role: "admin" }, null);
  const { token } = await createApiToken(db, admin.id, "bench");
  const app = await startAppServer({ database: store.location, sessionSecret: randomBytes(32).toString("hex") });
  try {
    const api = { authorization: `Bearer ${token}` };
    const apiUrl = `${app.url}/api/studies/${g.study.id}/results`;
    const initial = await timed(apiUrl, api);
    log(`first API request: ${initial.status} in ${fmtMs(initial.ms)}`);
    const snapshotMs = await untilCurrent(apiUrl, api, performance.now() - initial.ms);
    log(`first snapshot current after ${(snapshotMs / 1000).toFixed(1)} s`);

    const browser = { cookie: await login(app.url, admin.email) };
    const page = await best(`${app.url}/studies/${g.study.id}/results?lang=en`, browser);
    const report = await best(`${app.url}/studies/${g.study.id}/report?lang=en`, browser);
    const json = await best(apiUrl, api);
    let version = Infinity;
    for (let i = 0; i < 20; i++) {
      const start = performance.now();
      await resultsDataVersion(db, g.study.id);
      version = Math.min(version, performance.now() - start);
    }

    // A change the snapshot cannot have seen: one response excluded.
    const study = (await findStudy(db, g.study.id))!;
    const some = first(
      await db
        .select({ id: responses.id })
        .from(responses)
        .where(and(eq(responses.waveId, g.post.id), eq(responses.status, "completed"), eq(responses.excluded, false)))
        .limit(1),
    )?.id;
    let stale: { ms: number; current: boolean } | null = null;
    let refreshMs = NaN;
    if (some !== undefined) {
      const changedAt = performance.now();
      await changeExclusion(db, study, admin.id, { excluded: true, ids: [some], reason: "benchmark" });
      const r = await timed(apiUrl, api);
      stale = { ms: r.ms, current: (JSON.parse(r.body) as { freshness: { current: boolean } }).freshness.current };
      refreshMs = await untilCurrent(apiUrl, api, changedAt);
    }

    log(`${engine} ${fmtInt(size)}: computing the baseline (computeResults in this process)…`);
    const baselineStart = performance.now();
    await computeResults(db, study, resultsQuery.parse({}), "en", translator("en"));
    const baseline = performance.now() - baselineStart;

    const n = fmtInt(size);
    const target = size >= 1_000_000 ? `< ${TARGET_MS} ms` : "-";
    const met = (ms: number) => (size >= 1_000_000 ? ms < TARGET_MS : null);
    rows.push(
      { name: `${n}: first request without a snapshot ("being computed")`, ours: `${initial.status} in ${fmtMs(initial.ms)}`, baseline: "-", ratio: "-", target: "-", met: null },
      { name: `${n}: first snapshot computed (worker thread)`, ours: `${(snapshotMs / 1000).toFixed(1)} s`, baseline: fmtMs(baseline), ratio: fmtRatio(snapshotMs / baseline), target: "-", met: null },
      { name: `${n}: results page (HTML, sensitivity, themes)`, ours: fmtMs(page), baseline: fmtMs(baseline), ratio: fmtRatio(page / baseline), target, met: met(page) },
      { name: `${n}: printable report`, ours: fmtMs(report), baseline: fmtMs(baseline), ratio: fmtRatio(report / baseline), target, met: met(report) },
      { name: `${n}: API results JSON`, ours: fmtMs(json), baseline: fmtMs(baseline), ratio: fmtRatio(json / baseline), target, met: met(json) },
      { name: `${n}: data version read (in process)`, ours: fmtMs(version), baseline: "-", ratio: "-", target: "-", met: null },
    );
    if (stale) {
      rows.push(
        { name: `${n}: API right after an exclusion (last numbers, not current)`, ours: `${fmtMs(stale.ms)}, current=${String(stale.current)}`, baseline: fmtMs(baseline), ratio: fmtRatio(stale.ms / baseline), target, met: met(stale.ms) },
        { name: `${n}: exclusion → current numbers again`, ours: `${(refreshMs / 1000).toFixed(1)} s`, baseline: "-", ratio: "-", target: "-", met: null },
      );
    }
  } finally {
    await app.stop();
    await closeDatabase(db);
    await store.drop();
  }
}

console.log(machineLine());
console.log(await engineLine());
printTable(`[${engine}] Results from snapshots: page, report and API vs computing the results on the request`, rows);
