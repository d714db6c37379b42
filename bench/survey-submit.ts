/**
 * Benchmark: durable submission POST /s/:token of the real app (temp SQLite file in WAL mode with
 * synchronous=FULL, as deployed) against a bare Express 5 POST route that parses the same
 * urlencoded form with the same limits and answers 303, each in its own process on 127.0.0.1,
 * loaded by autocannon (10 connections) from this one.
 *
 * Every request is a new respondent completing the whole one-page template questionnaire: a fresh
 * signed form token (newFormToken with the app's secret, as the page would have rendered it) and a
 * fresh browser cookie, so neither the nonce nor "already answered" short-circuits the write.
 * Runs use a fixed number of requests (sized from the warm-up's rate to last about 5 s) so that
 * every request sent is answered before the run ends; afterwards the database must hold exactly
 * one completed response, 10 answers and 1 brand mention per 303 received.
 * Also measured: the cost of one WAL commit at synchronous=FULL on this disk (the ceiling of
 * responses committed one by one). A last, informational run repeats the app's measurement with the connection at
 * synchronous=NORMAL (no fsync per commit; not how the app runs) to show what durability costs.
 * Target: at least 0.3 of the baseline's requests per second.
 *
 * Run: npx tsx bench/survey-submit.ts [--quick]   (or npm run bench)
 */
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import Database from "better-sqlite3";
import type autocannon from "autocannon";
import { newFormToken } from "../server/services/respond.js";
import { createBenchDatabase, tempDir } from "./lib/fixture.js";
import { QUICK, fmtInt, fmtMs, fmtRatio, log, machineLine, printTable } from "./lib/report.js";
import { load, startServer, type LoadOptions, type LoadResult, type RunningServer } from "./lib/servers.js";

const ROUNDS = QUICK ? 1 : 2;
const SECONDS = QUICK ? 2 : 5;
const WARMUP_REQUESTS = 300;
const TARGET = 0.3;
/** Rows stored per completed response with the answers below. */
const ANSWERS_PER_RESPONSE = 10;

const dir = tempDir("submit");
const dbPath = join(dir, "bench.db");
const { links } = await createBenchDatabase(dbPath);
const token = links.post[0]!.token;
const secret = randomBytes(32).toString("hex");

/** A complete, valid answer to every question of the template (two options on each multi question). */
const answers = new URLSearchParams([
  ["q_unaided", "Acme, Rival and a few local places"],
  ["q_aided", "brand"],
  ["q_aided", "competitor_1"],
  ["q_ad_recall", "yes"],
  ["q_advantages", "advantage_1"],
  ["q_advantages", "advantage_2"],
  ["q_favorability", "4"],
  ["q_consideration", "5"],
  ["q_attention", "somewhat_disagree"],
  ["q_feedback", "More seats by the window, please."],
]).toString();

/** What a browser posts after rendering the page: hidden fields, empty honeypot, the answers. */
function freshRequest(request: autocannon.Request, linkToken = token): autocannon.Request {
  const form = newFormToken(secret, linkToken);
  const hidden = new URLSearchParams({ _n: form.nonce, _t: String(form.startedAt), _s: form.signature, _p: "0", _l: "en", website: "" });
  request.body = `${hidden.toString()}&${answers}`;
  request.headers = {
    "content-type": "application/x-www-form-urlencoded",
    cookie: `bl_rid=${randomBytes(32).toString("base64url")}`,
  };
  return request;
}

/**
 * What one durable commit costs on this disk: single-row transactions in a WAL file at
 * synchronous=FULL, as the app commits each response. 1000 / this is the most acknowledged
 * responses per second one connection can commit one by one, whatever the code around it.
 */
function commitCost(): number {
  const probe = new Database(join(dir, "fsync-probe.db"));
  probe.pragma("journal_mode = WAL");
  probe.pragma("synchronous = FULL");
  probe.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
  const insert = probe.prepare("INSERT INTO t (v) VALUES (?)");
  const commit = probe.transaction(() => insert.run("x".repeat(500)));
  for (let i = 0; i < 10; i++) commit();
  const n = 100;
  const start = performance.now();
  for (let i = 0; i < n; i++) commit();
  const ms = (performance.now() - start) / n;
  probe.close();
  return ms;
}
const fsyncMs = commitCost();
log(`one WAL commit at synchronous=FULL on this disk: ${fsyncMs.toFixed(2)} ms`);

const form = await startServer("form");
const app = await startServer("app", { BENCH_DB: dbPath, BENCH_SECRET: secret });

/** Totals over every run against the app, to compare with the database at the end. */
const sent = { see303: 0, other: {} as Record<string, number>, errors: 0, stoppedEarly: false };

async function post(server: RunningServer, amount: number): Promise<LoadResult> {
  const options: LoadOptions = {
    url: `${server.url}/s/${token}`,
    method: "POST",
    amount,
    maxSeconds: SECONDS * 4,
    setupRequest: (r) => freshRequest(r),
    serverPid: server.pid,
  };
  const result = await load(options);
  if (server === app) {
    for (const [code, n] of Object.entries(result.statuses)) {
      if (code === "303") sent.see303 += n;
      else sent.other[code] = (sent.other[code] ?? 0) + n;
    }
    sent.errors += result.errors;
    if (result.total + result.errors < amount) sent.stoppedEarly = true;
  }
  return result;
}

try {
  log(`warm-up: ${WARMUP_REQUESTS} posts each`);
  const warmForm = await post(form, WARMUP_REQUESTS * 10);
  const warmApp = await post(app, WARMUP_REQUESTS);
  if ((warmApp.statuses["303"] ?? 0) === 0) throw new Error(`the app answered ${JSON.stringify(warmApp.statuses)} to valid posts`);
  // Sized so each run lasts about SECONDS on this machine.
  const amountFor = (rps: number) => Math.max(200, Math.min(200_000, Math.round(rps * SECONDS)));

  const runs: { form: LoadResult[]; app: LoadResult[] } = { form: [], app: [] };
  for (let round = 1; round <= ROUNDS; round++) {
    const f = await post(form, amountFor(runs.form.at(-1)?.rps ?? warmForm.rps));
    const a = await post(app, amountFor(runs.app.at(-1)?.rps ?? warmApp.rps));
    log(`round ${round}: bare form POST ${fmtInt(f.rps)} req/s, survey submission ${fmtInt(a.rps)} req/s (${fmtInt(a.total)} in ${a.seconds.toFixed(1)} s)`);
    runs.form.push(f);
    runs.app.push(a);
  }
  await app.stop();

  // Diagnostic: the same app and writes on a fresh copy of the setup, without an fsync per commit.
  const normalPath = join(dir, "normal.db");
  const normalLinks = (await createBenchDatabase(normalPath)).links;
  const normal = await startServer("app", { BENCH_DB: normalPath, BENCH_SECRET: secret, BENCH_SYNCHRONOUS: "NORMAL" });
  let normalResult: LoadResult;
  try {
    const normalToken = normalLinks.post[0]!.token;
    const setup = (r: autocannon.Request) => freshRequest(r, normalToken);
    await load({ url: `${normal.url}/s/${normalToken}`, method: "POST", amount: WARMUP_REQUESTS, maxSeconds: SECONDS * 4, setupRequest: setup });
    normalResult = await load({
      url: `${normal.url}/s/${normalToken}`,
      method: "POST",
      amount: amountFor(warmApp.rps * 2),
      maxSeconds: SECONDS * 4,
      setupRequest: setup,
      serverPid: normal.pid,
    });
  } finally {
    await normal.stop();
  }
  log(`diagnostic, synchronous=NORMAL: ${fmtInt(normalResult.rps)} req/s`);

  // Every 303 is a response the app acknowledged: it must be in the file, with all its answers.
  const check = new Database(dbPath, { readonly: true });
  const count = (sql: string) => (check.prepare(sql).get() as { n: number }).n;
  const completed = count("SELECT count(*) AS n FROM responses WHERE status = 'completed'");
  const allResponses = count("SELECT count(*) AS n FROM responses");
  const answerRows = count("SELECT count(*) AS n FROM answers");
  const mentions = count("SELECT count(*) AS n FROM text_mentions WHERE code = 'brand'");
  const journal = (check.pragma("journal_mode", { simple: true }) as string) + ", app connection synchronous=FULL (db/client.ts)";
  check.close();
  const consistent =
    completed === sent.see303 && allResponses === completed && answerRows === completed * ANSWERS_PER_RESPONSE && mentions === completed;
  log(`database: ${completed} completed of ${allResponses} responses, ${answerRows} answers, ${mentions} mentions; journal ${journal}`);
  if (Object.keys(sent.other).length || sent.errors) log(`WARNING: other answers ${JSON.stringify(sent.other)}, ${sent.errors} errors`);

  const best = (list: LoadResult[]) => list.reduce((a, b) => (b.rps > a.rps ? b : a));
  const cpu = (list: LoadResult[]) => Math.min(...list.map((r) => r.cpuPerRequestUs ?? Infinity));
  const f = best(runs.form);
  const a = best(runs.app);
  console.log(machineLine());
  printTable(`Durable submission POST /s/:token vs bare Express 5 urlencoded POST + 303 (10 connections, best of ${ROUNDS} x ~${SECONDS} s)`, [
    { name: "requests/s", ours: fmtInt(a.rps), baseline: fmtInt(f.rps), ratio: fmtRatio(a.rps / f.rps), target: `>= ${TARGET}`, met: a.rps / f.rps >= TARGET },
    { name: "latency p50", ours: fmtMs(a.p50), baseline: fmtMs(f.p50), ratio: "-", target: "-", met: null },
    { name: "latency p99", ours: fmtMs(a.p99), baseline: fmtMs(f.p99), ratio: "-", target: "reported", met: null },
    {
      // CPU only: the fsyncs of synchronous=FULL are waits, not CPU, so this is a lower bound of the cost.
      name: "server CPU per request (ratio: baseline/ours)",
      ours: `${fmtInt(cpu(runs.app))} us`,
      baseline: `${fmtInt(cpu(runs.form))} us`,
      ratio: fmtRatio(cpu(runs.form) / cpu(runs.app)),
      target: "-",
      met: null,
    },
    {
      name: "disk: one WAL commit at FULL (ceiling: 1000/ms per s)",
      ours: fmtMs(fsyncMs),
      baseline: "-",
      ratio: fmtRatio(1000 / fsyncMs / f.rps),
      target: "-",
      met: null,
    },
    {
      name: "diagnostic: requests/s at synchronous=NORMAL",
      ours: fmtInt(normalResult.rps),
      baseline: fmtInt(f.rps),
      ratio: fmtRatio(normalResult.rps / f.rps),
      target: "- (not durable)",
      met: null,
    },
    {
      name: "diagnostic: server CPU per request at NORMAL",
      ours: `${fmtInt(normalResult.cpuPerRequestUs ?? NaN)} us`,
      baseline: `${fmtInt(cpu(runs.form))} us`,
      ratio: "-",
      target: "-",
      met: null,
    },
    {
      name: "303s = completed responses stored",
      ours: `${fmtInt(sent.see303)} = ${fmtInt(completed)}`,
      baseline: "-",
      ratio: "-",
      target: "equal; 10 answers, brand coded",
      met: consistent && !sent.stoppedEarly,
    },
    {
      name: "other statuses / errors",
      ours: `${JSON.stringify(sent.other)} / ${sent.errors}`,
      baseline: "-",
      ratio: "-",
      target: "none",
      met: Object.keys(sent.other).length === 0 && sent.errors === 0,
    },
  ]);
} finally {
  await Promise.all([form.stop(), app.stop()]);
}
