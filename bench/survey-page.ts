/**
 * Benchmark: the survey page GET /s/:token of the app as deployed (its own process, started as
 * `npm start` starts it: bench/lib/app-server.ts) against a bare Express 5 hello world started the
 * same way, both loaded by autocannon (10 connections) from this process on the other core.
 * The engine is BENCH_ENGINE (bench/lib/engine.ts): a temp SQLite file, or a scratch PostgreSQL
 * database on the DATABASE_URL server.
 * Every request is a first visit of a new respondent (no cookie, its own X-Forwarded-For and
 * User-Agent): the link is resolved, a browser cookie issued, option order rotated, the page
 * rendered. The hello-world requests carry the same headers.
 * Target: at least 0.3 of the hello world's requests per second; p50/p99 and the server's CPU per
 * request beside it.
 *
 * Run: npx tsx bench/survey-page.ts [--quick]   (or npm run bench -- survey-page)
 * Rounds alternate the baseline and the app (2 rounds of 5 s after a 2 s warm-up each; --quick: 1
 * of 2 s; BENCH_SECONDS sets the length) and the best round of each is reported.
 */
import { randomBytes } from "node:crypto";
import type autocannon from "autocannon";
import { appEnvLine, appLaunch, startAppServer } from "./lib/app-server.js";
import { pinningLine } from "./lib/cpu.js";
import { benchEngine, engineLabel, engineLine, newStore } from "./lib/engine.js";
import { createBenchDatabase, tempDir } from "./lib/fixture.js";
import { QUICK, bestOf, comparisonRows, fmtInt, fmtRatio, log, machineLine, printTable, type Measured } from "./lib/report.js";
import { identityHeaders, newIdentity } from "./lib/respondent.js";
import { fetchText, load, startBaseline, type LoadResult, type RunningServer } from "./lib/servers.js";

const ROUNDS = QUICK ? 1 : 2;
const SECONDS = Number(process.env["BENCH_SECONDS"] ?? (QUICK ? 2 : 5));
const WARMUP_SECONDS = 2;
const TARGET = 0.3;

const engine = engineLabel(benchEngine());
const dir = tempDir("page");
const store = await newStore("page", dir);
const { links } = await createBenchDatabase(store.location);
const token = links.post[0]!.token;

const hello = await startBaseline("hello");
const app = await startAppServer({ database: store.location, sessionSecret: randomBytes(32).toString("hex") });
const pageUrl = `${app.url}/s/${token}`;

/** A new respondent per request, on the app and the baseline alike. */
const firstVisit = (extra: Record<string, string> = {}) => (request: autocannon.Request) => {
  request.headers = { ...identityHeaders(newIdentity()), ...extra };
  return request;
};

try {
  // The page must be the questionnaire, not an error page, or the numbers mean nothing.
  const page = await fetchText(pageUrl);
  if (page.status !== 200 || !page.text.includes('name="_n"')) throw new Error(`survey page answered ${page.status}`);
  log(`survey page: ${fmtInt(Buffer.byteLength(page.text))} bytes of HTML`);

  const measured = (server: RunningServer, url: string, seconds: number, extra?: Record<string, string>) =>
    load({ url, duration: seconds, serverPid: server.pid, setupRequest: firstVisit(extra) });
  log(`warm-up ${WARMUP_SECONDS} s each`);
  await measured(hello, hello.url, WARMUP_SECONDS);
  await measured(app, pageUrl, WARMUP_SECONDS);

  const runs: { hello: LoadResult[]; app: LoadResult[] } = { hello: [], app: [] };
  for (let round = 1; round <= ROUNDS; round++) {
    const h = await measured(hello, hello.url, SECONDS);
    const a = await measured(app, pageUrl, SECONDS);
    log(`${engine} round ${round}: hello ${fmtInt(h.rps)} req/s, survey page ${fmtInt(a.rps)} req/s`);
    runs.hello.push(h);
    runs.app.push(a);
  }
  // Phones send Accept-Encoding: the same page compressed (informational, same baseline).
  const gzip = await measured(app, pageUrl, SECONDS, { "accept-encoding": "gzip, deflate, br" });

  const asMeasured = (r: LoadResult): Measured => ({ rate: r.rps, p50: r.p50, p99: r.p99, cpuUs: r.cpuPerRequestUs });
  const notOk = (list: LoadResult[]) => list.reduce((n, r) => n + r.total - (r.statuses["200"] ?? 0) + r.errors, 0);
  const bad = notOk([...runs.app, gzip]);
  const helloBad = notOk(runs.hello);
  if (bad > 0) log(`WARNING: ${bad} survey page requests did not answer 200`);
  const h = asMeasured(bestOf(runs.hello, (r) => r.rps));
  const a = asMeasured(bestOf(runs.app, (r) => r.rps));

  console.log(machineLine());
  console.log(await engineLine());
  console.log(appLaunch().description);
  console.log(appEnvLine());
  console.log(pinningLine());
  printTable(`[${engine}] Survey page GET /s/:token, first visits, vs bare Express 5 hello world (10 connections, best of ${ROUNDS} x ${SECONDS} s)`, [
    ...comparisonRows({ unit: "requests", ours: a, baseline: h, target: TARGET }),
    ...comparisonRows({ unit: "requests", ours: asMeasured(gzip), baseline: h }).map((row) => ({ ...row, name: `${row.name}, gzip (Accept-Encoding)` })),
    { name: "non-200 answers + errors (baseline: hello)", ours: String(bad), baseline: String(helloBad), ratio: "-", target: "0", met: bad === 0 },
  ]);
  log(`ratio of the best rounds: ${fmtRatio(a.rate / h.rate)}`);
} finally {
  await Promise.all([hello.stop(), app.stop()]);
  await store.drop();
}
