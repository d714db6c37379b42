/**
 * Benchmark: the survey page GET /s/:token of the real app (temp SQLite file, the full template
 * questionnaire, NODE_ENV=production) against a bare Express 5 hello-world route started the same
 * way, each in its own process on 127.0.0.1, loaded by autocannon (10 connections) from this one.
 * Every request comes without a cookie, so every one is a first visit: the link is resolved, a
 * browser cookie is issued, option order is rotated and the page rendered.
 * Target: at least 0.5 of the baseline's requests per second; p99 latency reported.
 *
 * Run: npx tsx bench/survey-page.ts [--quick]   (or npm run bench)
 * Measurements alternate baseline/app (2 rounds of 5 s after a 2 s warm-up each; --quick: 1 of 2 s)
 * and the best round of each is reported, which filters out a noisy neighbour.
 */
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { createBenchDatabase, tempDir } from "./lib/fixture.js";
import { QUICK, fmtInt, fmtMs, fmtRatio, log, machineLine, printTable } from "./lib/report.js";
import { fetchText, load, startServer, type LoadResult, type RunningServer } from "./lib/servers.js";

const ROUNDS = QUICK ? 1 : 2;
const SECONDS = QUICK ? 2 : 5;
const WARMUP_SECONDS = 2;
const TARGET = 0.5;

const dir = tempDir("page");
const dbPath = join(dir, "bench.db");
const { links } = await createBenchDatabase(dbPath);
const token = links.post[0]!.token;

const hello = await startServer("hello");
const app = await startServer("app", { BENCH_DB: dbPath, BENCH_SECRET: randomBytes(32).toString("hex") });
const pageUrl = `${app.url}/s/${token}`;

try {
  // The page must be the questionnaire, not an error page, or the numbers mean nothing.
  const page = await fetchText(pageUrl);
  if (page.status !== 200 || !page.text.includes('name="_n"')) throw new Error(`survey page answered ${page.status}`);
  const gzipped = await fetchText(pageUrl, { headers: { "accept-encoding": "gzip" } });
  log(`survey page: ${fmtInt(Buffer.byteLength(page.text))} bytes of HTML (${gzipped.headers.get("content-encoding") ?? "identity"} on request)`);

  log(`warm-up ${WARMUP_SECONDS} s each`);
  await load({ url: hello.url, duration: WARMUP_SECONDS });
  await load({ url: pageUrl, duration: WARMUP_SECONDS });
  const measured = (server: RunningServer, url: string, headers?: Record<string, string>) =>
    load({ url, duration: SECONDS, serverPid: server.pid, ...(headers ? { headers } : {}) });

  const runs: { hello: LoadResult[]; app: LoadResult[] } = { hello: [], app: [] };
  for (let round = 1; round <= ROUNDS; round++) {
    const h = await measured(hello, hello.url);
    const a = await measured(app, pageUrl);
    log(`round ${round}: hello ${fmtInt(h.rps)} req/s, survey page ${fmtInt(a.rps)} req/s`);
    runs.hello.push(h);
    runs.app.push(a);
  }
  // Phones send Accept-Encoding: the same page compressed (informational, same baseline).
  const gzip = await measured(app, pageUrl, { "accept-encoding": "gzip, deflate, br" });

  const best = (list: LoadResult[]) => list.reduce((a, b) => (b.rps > a.rps ? b : a));
  const h = best(runs.hello);
  const a = best(runs.app);
  const cpu = (list: LoadResult[]) => Math.min(...list.map((r) => r.cpuPerRequestUs ?? Infinity));
  const bad = runs.app.reduce((n, r) => n + r.total - (r.statuses["200"] ?? 0) + r.errors, 0);
  const helloBad = runs.hello.reduce((n, r) => n + r.total - (r.statuses["200"] ?? 0) + r.errors, 0);
  if (bad > 0) log(`WARNING: ${bad} survey page requests did not answer 200`);

  console.log(machineLine());
  printTable(`Survey page GET /s/:token vs bare Express 5 hello world (10 connections, best of ${ROUNDS} x ${SECONDS} s)`, [
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
    { name: "non-200 answers / errors", ours: String(bad), baseline: String(helloBad), ratio: "-", target: "0", met: bad === 0 },
  ]);
} finally {
  await Promise.all([hello.stop(), app.stop()]);
}
