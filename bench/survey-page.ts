/**
 * Benchmark: the survey page GET /s/:token of the real app (the full template questionnaire,
 * NODE_ENV=production) against two bare Express 5 baselines started the same way: a hello-world
 * route, and a route doing one durable insert into the same database per request. Each runs in its
 * own process on 127.0.0.1, loaded by autocannon (10 connections) from this one.
 * The engine is BENCH_ENGINE (bench/lib/engine.ts): a temp SQLite file, or a scratch PostgreSQL
 * database on the DATABASE_URL server.
 * Every request comes without a cookie, so every one is a first visit: the link is resolved, a
 * browser cookie is issued, option order is rotated and the page rendered.
 * Target: at least 0.5 of the hello-world baseline's requests per second; p99 latency reported;
 * the ratio to the one-insert baseline is printed beside it.
 *
 * Run: npx tsx bench/survey-page.ts [--quick]   (or npm run bench; BENCH_ENGINE=postgres with DATABASE_URL)
 * Measurements alternate the baselines and the app (2 rounds of 5 s after a 2 s warm-up each;
 * --quick: 1 of 2 s) and the best round of each is reported, which filters out a noisy neighbour.
 */
import { randomBytes } from "node:crypto";
import { benchEngine, engineLabel, engineLine, newStore } from "./lib/engine.js";
import { createBenchDatabase, tempDir } from "./lib/fixture.js";
import { QUICK, fmtInt, fmtMs, fmtRatio, log, machineLine, printTable } from "./lib/report.js";
import { fetchText, load, startServer, type LoadResult, type RunningServer } from "./lib/servers.js";

const ROUNDS = QUICK ? 1 : 2;
const SECONDS = QUICK ? 2 : 5;
const WARMUP_SECONDS = 2;
const TARGET = 0.5;

const engine = engineLabel(benchEngine());
const dir = tempDir("page");
const store = await newStore("page", dir);
const { links } = await createBenchDatabase(store.location);
const token = links.post[0]!.token;

const hello = await startServer("hello");
const insert = await startServer("insert", { BENCH_DB: store.location });
const app = await startServer("app", { BENCH_DB: store.location, BENCH_SECRET: randomBytes(32).toString("hex") });
const pageUrl = `${app.url}/s/${token}`;

try {
  // The page must be the questionnaire, not an error page, or the numbers mean nothing.
  const page = await fetchText(pageUrl);
  if (page.status !== 200 || !page.text.includes('name="_n"')) throw new Error(`survey page answered ${page.status}`);
  const gzipped = await fetchText(pageUrl, { headers: { "accept-encoding": "gzip" } });
  log(`survey page: ${fmtInt(Buffer.byteLength(page.text))} bytes of HTML (${gzipped.headers.get("content-encoding") ?? "identity"} on request)`);

  log(`warm-up ${WARMUP_SECONDS} s each`);
  await load({ url: hello.url, duration: WARMUP_SECONDS });
  await load({ url: insert.url, duration: WARMUP_SECONDS });
  await load({ url: pageUrl, duration: WARMUP_SECONDS });
  const measured = (server: RunningServer, url: string, headers?: Record<string, string>) =>
    load({ url, duration: SECONDS, serverPid: server.pid, ...(headers ? { headers } : {}) });

  const runs: { hello: LoadResult[]; insert: LoadResult[]; app: LoadResult[] } = { hello: [], insert: [], app: [] };
  for (let round = 1; round <= ROUNDS; round++) {
    const h = await measured(hello, hello.url);
    const i = await measured(insert, insert.url);
    const a = await measured(app, pageUrl);
    log(`${engine} round ${round}: hello ${fmtInt(h.rps)} req/s, one-insert GET ${fmtInt(i.rps)} req/s, survey page ${fmtInt(a.rps)} req/s`);
    runs.hello.push(h);
    runs.insert.push(i);
    runs.app.push(a);
  }
  // Phones send Accept-Encoding: the same page compressed (informational, same baseline).
  const gzip = await measured(app, pageUrl, { "accept-encoding": "gzip, deflate, br" });

  const best = (list: LoadResult[]) => list.reduce((a, b) => (b.rps > a.rps ? b : a));
  const h = best(runs.hello);
  const i = best(runs.insert);
  const a = best(runs.app);
  const cpu = (list: LoadResult[]) => Math.min(...list.map((r) => r.cpuPerRequestUs ?? Infinity));
  const bad = runs.app.reduce((n, r) => n + r.total - (r.statuses["200"] ?? 0) + r.errors, 0);
  const helloBad = runs.hello.reduce((n, r) => n + r.total - (r.statuses["200"] ?? 0) + r.errors, 0);
  const insertBad = runs.insert.reduce((n, r) => n + r.total - (r.statuses["200"] ?? 0) + r.errors, 0);
  if (bad > 0) log(`WARNING: ${bad} survey page requests did not answer 200`);
  if (insertBad > 0) log(`WARNING: ${insertBad} one-insert baseline requests did not answer 200`);

  console.log(machineLine());
  console.log(await engineLine());
  printTable(`[${engine}] Survey page GET /s/:token vs bare Express 5 hello world and vs one durable insert per GET on ${engine} (10 connections, best of ${ROUNDS} x ${SECONDS} s)`, [
    {
      name: "requests/s",
      ours: fmtInt(a.rps),
      baseline: fmtInt(h.rps),
      ratio: fmtRatio(a.rps / h.rps),
      target: `>= ${TARGET}`,
      met: a.rps / h.rps >= TARGET,
    },
    { name: "latency p50", ours: fmtMs(a.p50), baseline: fmtMs(h.p50), ratio: "-", target: "-", met: null },
    { name: "latency p99", ours: fmtMs(a.p99), baseline: fmtMs(h.p99), ratio: "-", target: "reported", met: null },
    { name: `requests/s vs one-insert GET on ${engine}`, ours: fmtInt(a.rps), baseline: fmtInt(i.rps), ratio: fmtRatio(a.rps / i.rps), target: "-", met: null },
    { name: `latency p50 / p99 vs one-insert GET`, ours: `${fmtMs(a.p50)} / ${fmtMs(a.p99)}`, baseline: `${fmtMs(i.p50)} / ${fmtMs(i.p99)}`, ratio: "-", target: "-", met: null },
    {
      name: "server CPU per request vs one-insert GET",
      ours: `${fmtInt(cpu(runs.app))} us`,
      baseline: `${fmtInt(cpu(runs.insert))} us`,
      ratio: fmtRatio(cpu(runs.insert) / cpu(runs.app)),
      target: "-",
      met: null,
    },
    {
      // Robust to other load on the machine: what req/s would be if the server had its core alone.
      name: "server CPU per request (ratio: baseline/ours)",
      ours: `${fmtInt(cpu(runs.app))} us`,
      baseline: `${fmtInt(cpu(runs.hello))} us`,
      ratio: fmtRatio(cpu(runs.hello) / cpu(runs.app)),
      target: "-",
      met: null,
    },
    {
      name: "requests/s, gzip (Accept-Encoding)",
      ours: fmtInt(gzip.rps),
      baseline: fmtInt(h.rps),
      ratio: fmtRatio(gzip.rps / h.rps),
      target: "-",
      met: null,
    },
    { name: "latency p99, gzip", ours: fmtMs(gzip.p99), baseline: fmtMs(h.p99), ratio: "-", target: "-", met: null },
    { name: "server CPU per request, gzip", ours: `${fmtInt(gzip.cpuPerRequestUs ?? NaN)} us`, baseline: `${fmtInt(cpu(runs.hello))} us`, ratio: "-", target: "-", met: null },
    { name: "non-200 answers / errors (baseline: hello, insert)", ours: String(bad), baseline: `${helloBad}, ${insertBad}`, ratio: "-", target: "0", met: bad === 0 },
  ]);
} finally {
  await Promise.all([hello.stop(), insert.stop(), app.stop()]);
  await store.drop();
}
