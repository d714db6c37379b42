/**
 * Benchmark: durable submission POST /s/:token of the real app, as deployed (SQLite: a temp file in
 * WAL mode with synchronous=FULL; PostgreSQL: a scratch database on the DATABASE_URL server, its
 * commits as durable as that server's settings make them; BENCH_ENGINE, bench/lib/engine.ts)
 * against two bare Express 5 POST routes that parse the same urlencoded form with the same limits
 * and answer 303: the baseline does one durable insert of the form into the same database per
 * request; the one without any database (as in the first runs) is printed beside it. Each runs in
 * its own process on 127.0.0.1, loaded by autocannon (10 connections) from this one.
 *
 * Each connection plays respondents one after another, each completing the whole template
 * questionnaire page by page (3 pages: unaided alone, the metrics, the profile), one POST per page:
 * a fresh signed form token (newFormToken with the app's secret, as the first page would have
 * rendered it, and as every later page renders it again) and a fresh browser cookie per
 * respondent, so neither the nonce nor "already answered" short-circuits the writes. A request is
 * one page post (each a unit of work with its own commit); both baselines get the same posts.
 * Runs use a fixed number of requests (sized from the warm-up's rate to last about 5 s) so that
 * every request sent is answered before the run ends; afterwards every 303 to a last page must be
 * one completed response in the database, with its 12 answers and 1 brand mention.
 * Also measured: the cost of one durable commit of a single-row insert on one connection (SQLite:
 * a WAL commit at synchronous=FULL on this disk; PostgreSQL: the round trip and the server's WAL
 * flush), the ceiling of responses committed one by one. A last, informational run repeats the
 * app's measurement without a flush per commit (SQLite: synchronous=NORMAL; PostgreSQL:
 * synchronous_commit=off on a second scratch database; not how the app runs) to show what
 * durability costs.
 * Target: at least 0.3 of the one-insert baseline's requests per second.
 *
 * Run: npx tsx bench/survey-submit.ts [--quick]   (or npm run bench; BENCH_ENGINE=postgres with DATABASE_URL)
 */
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import Database from "better-sqlite3";
import type autocannon from "autocannon";
import { sql } from "drizzle-orm";
import pg from "pg";
import { closeDatabase, rawRows } from "../db/client.js";
import { paginate } from "../server/domain/questionnaire.js";
import { newFormToken, type FormToken } from "../server/services/respond.js";
import { benchEngine, engineLabel, engineLine, newStore, openStore, type BenchStore } from "./lib/engine.js";
import { createBenchDatabase, tempDir } from "./lib/fixture.js";
import { QUICK, fmtInt, fmtMs, fmtRatio, log, machineLine, printTable } from "./lib/report.js";
import { load, startServer, type LoadOptions, type LoadResult, type RunningServer } from "./lib/servers.js";

const ROUNDS = QUICK ? 1 : 2;
const SECONDS = QUICK ? 2 : 5;
const WARMUP_REQUESTS = 300;
const TARGET = 0.3;
/** Rows stored per completed response with the answers below. */
const ANSWERS_PER_RESPONSE = 12;
const CONNECTIONS = 10;

const engineName = benchEngine();
const engine = engineLabel(engineName);
const dir = tempDir("submit");
const store = await newStore("submit", dir);
const dbPath = store.location;
const { links, questions, study } = await createBenchDatabase(dbPath);
const PAGES = paginate(questions, study.pageSize).length;
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
  ["q_gender", "female"],
  ["q_age_group", "age_25_34"],
]).toString();

interface Respondent {
  form: FormToken;
  cookie: string;
}

/**
 * One respondent's posts, page by page, as a browser sends them after each rendered page: the
 * hidden fields (the same signed token on every page), an empty honeypot, the answers. A new
 * respondent (token and cookie) starts at the first page; `finished` counts 303s to the last page.
 */
function respondentRequests(linkToken: string, finished?: { count: number }): autocannon.Request[] {
  return Array.from({ length: PAGES }, (_, page): autocannon.Request => ({
    method: "POST",
    path: `/s/${linkToken}`,
    setupRequest: (request, context) => {
      const who = context as Partial<Respondent>;
      if (page === 0 || !who.form) {
        who.form = newFormToken(secret, linkToken);
        who.cookie = `bl_rid=${randomBytes(32).toString("base64url")}`;
      }
      const { form } = who;
      const hidden = new URLSearchParams({ _n: form.nonce, _t: String(form.startedAt), _s: form.signature, _p: String(page), _l: "en", website: "" });
      request.body = `${hidden.toString()}&${answers}`;
      request.headers = { "content-type": "application/x-www-form-urlencoded", cookie: who.cookie! };
      return request;
    },
    ...(finished && page === PAGES - 1
      ? {
          onResponse: (status: number) => {
            if (status === 303) finished.count++;
          },
        }
      : {}),
  }));
}

/**
 * What one durable commit costs on this disk: single-row transactions in a WAL file at
 * synchronous=FULL, as the app commits each response. 1000 / this is the most acknowledged
 * responses per second one connection can commit one by one, whatever the code around it.
 */
function sqliteCommitCost(): number {
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
/**
 * The same on PostgreSQL: single-row inserts in autocommit on one connection, each a round trip to
 * the server and a WAL flush there (when synchronous_commit is on), in the benchmark's database.
 */
async function postgresCommitCost(): Promise<number> {
  const client = new pg.Client({ connectionString: dbPath });
  await client.connect();
  try {
    await client.query("CREATE TABLE fsync_probe (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, v text)");
    const insert = { name: "probe", text: "INSERT INTO fsync_probe (v) VALUES ($1)", values: ["x".repeat(500)] };
    for (let i = 0; i < 10; i++) await client.query(insert);
    const n = 100;
    const start = performance.now();
    for (let i = 0; i < n; i++) await client.query(insert);
    const ms = (performance.now() - start) / n;
    await client.query("DROP TABLE fsync_probe");
    return ms;
  } finally {
    await client.end();
  }
}

const fsyncMs = engineName === "postgres" ? await postgresCommitCost() : sqliteCommitCost();
const commitName = engineName === "postgres" ? "one autocommit INSERT on one connection (round trip + commit)" : "one WAL commit at FULL";
log(`${engine}: ${commitName}: ${fsyncMs.toFixed(2)} ms`);

const form = await startServer("form");
const insert = await startServer("insert", { BENCH_DB: dbPath });
const app = await startServer("app", { BENCH_DB: dbPath, BENCH_SECRET: secret });

/** Totals over every run against the app, to compare with the database at the end. */
const sent = { see303: 0, other: {} as Record<string, number>, errors: 0, stoppedEarly: false };
const finished = { count: 0 };

async function post(server: RunningServer, amount: number): Promise<LoadResult> {
  const options: LoadOptions = {
    url: server.url,
    amount,
    connections: CONNECTIONS,
    maxSeconds: SECONDS * 4,
    requests: respondentRequests(token, server === app ? finished : undefined),
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
  const warmInsert = await post(insert, WARMUP_REQUESTS * 3);
  const warmApp = await post(app, WARMUP_REQUESTS);
  if ((warmApp.statuses["303"] ?? 0) === 0) throw new Error(`the app answered ${JSON.stringify(warmApp.statuses)} to valid posts`);
  // Sized so each run lasts about SECONDS on this machine, in whole respondents per connection.
  const whole = PAGES * CONNECTIONS;
  const amountFor = (rps: number) => Math.ceil(Math.max(200, Math.min(200_000, rps * SECONDS)) / whole) * whole;

  const runs: { form: LoadResult[]; insert: LoadResult[]; app: LoadResult[] } = { form: [], insert: [], app: [] };
  for (let round = 1; round <= ROUNDS; round++) {
    const f = await post(form, amountFor(runs.form.at(-1)?.rps ?? warmForm.rps));
    const i = await post(insert, amountFor(runs.insert.at(-1)?.rps ?? warmInsert.rps));
    const a = await post(app, amountFor(runs.app.at(-1)?.rps ?? warmApp.rps));
    log(
      `${engine} round ${round}: bare form POST ${fmtInt(f.rps)} req/s, one-insert POST ${fmtInt(i.rps)} req/s, ` +
        `survey submission ${fmtInt(a.rps)} req/s (${fmtInt(a.total)} in ${a.seconds.toFixed(1)} s)`,
    );
    runs.form.push(f);
    runs.insert.push(i);
    runs.app.push(a);
  }
  await app.stop();

  // Diagnostic: the same app and writes on a fresh copy of the setup, without a flush per commit.
  const normalStore: BenchStore = await newStore("submitnc", dir);
  const normalPath = normalStore.location;
  const normalLinks = (await createBenchDatabase(normalPath)).links;
  if (engineName === "postgres") {
    const admin = new pg.Client({ connectionString: normalPath });
    await admin.connect();
    // New sessions of this database only; the server and the benchmark's own database keep theirs.
    await admin.query(`ALTER DATABASE "${new URL(normalPath).pathname.slice(1)}" SET synchronous_commit = off`);
    await admin.end();
  }
  const normal = await startServer("app", {
    BENCH_DB: normalPath,
    BENCH_SECRET: secret,
    ...(engineName === "sqlite" ? { BENCH_SYNCHRONOUS: "NORMAL" } : {}),
  });
  let normalResult: LoadResult;
  try {
    const normalToken = normalLinks.post[0]!.token;
    const requests = respondentRequests(normalToken);
    await load({ url: normal.url, amount: WARMUP_REQUESTS, connections: CONNECTIONS, maxSeconds: SECONDS * 4, requests });
    normalResult = await load({
      url: normal.url,
      amount: amountFor(warmApp.rps * 2),
      connections: CONNECTIONS,
      maxSeconds: SECONDS * 4,
      requests,
      serverPid: normal.pid,
    });
  } finally {
    await normal.stop();
    await normalStore.drop();
  }
  const notDurable = engineName === "postgres" ? "synchronous_commit=off" : "synchronous=NORMAL";
  log(`${engine} diagnostic, ${notDurable}: ${fmtInt(normalResult.rps)} req/s`);

  // Every 303 is a response the app acknowledged: it must be in the database, with all its answers.
  const check = openStore(dbPath);
  const count = async (query: string) => (await rawRows<{ n: number }>(check, sql.raw(query)))[0]!.n;
  const completed = await count("SELECT count(*) AS n FROM responses WHERE status = 'completed'");
  const allResponses = await count("SELECT count(*) AS n FROM responses");
  const ofCompleted = "(SELECT id FROM responses WHERE status = 'completed')";
  const answerRows = await count(`SELECT count(*) AS n FROM answers WHERE response_id IN ${ofCompleted}`);
  const mentions = await count(
    `SELECT count(*) AS n FROM text_mentions m JOIN answers a ON a.id = m.answer_id WHERE m.code = 'brand' AND a.response_id IN ${ofCompleted}`,
  );
  const journal =
    engineName === "postgres"
      ? `synchronous_commit=${(await rawRows<{ synchronous_commit: string }>(check, sql.raw("SHOW synchronous_commit")))[0]!.synchronous_commit}`
      : (check.$client.pragma("journal_mode", { simple: true }) as string) + ", app connection synchronous=FULL (db/client.ts)";
  // On PostgreSQL a unit of work that cannot be serialized is rolled back and run again (db/client.ts).
  const rollbacks =
    engineName === "postgres"
      ? (await rawRows<{ c: number; r: number }>(check, sql.raw("SELECT xact_commit AS c, xact_rollback AS r FROM pg_stat_database WHERE datname = current_database()")))[0]
      : undefined;
  await closeDatabase(check);
  // A respondent cut off by the end of a run stays partial: every started one is a response.
  const consistent = completed === finished.count && answerRows === completed * ANSWERS_PER_RESPONSE && mentions === completed;
  log(
    `database: ${completed} completed of ${allResponses} responses, ${answerRows} answers and ${mentions} brand mentions of completed ones; ` +
      `${finished.count} last pages answered 303 of ${sent.see303} 303s; ${engine} ${journal}`,
  );
  if (sent.stoppedEarly) log("WARNING: a run hit its time cap; answers still in flight were stored but not counted, so the counts cannot match");
  if (Object.keys(sent.other).length || sent.errors) log(`WARNING: other answers ${JSON.stringify(sent.other)}, ${sent.errors} errors`);

  const best = (list: LoadResult[]) => list.reduce((a, b) => (b.rps > a.rps ? b : a));
  const cpu = (list: LoadResult[]) => Math.min(...list.map((r) => r.cpuPerRequestUs ?? Infinity));
  const f = best(runs.form);
  const i = best(runs.insert);
  const a = best(runs.app);
  console.log(machineLine());
  console.log(await engineLine());
  printTable(
    `[${engine}] Durable submission POST /s/:token vs bare Express 5 urlencoded POST + one durable insert on ${engine} + 303 (10 connections, best of ${ROUNDS} x ~${SECONDS} s)`,
    [
      { name: "requests/s", ours: fmtInt(a.rps), baseline: fmtInt(i.rps), ratio: fmtRatio(a.rps / i.rps), target: `>= ${TARGET}`, met: a.rps / i.rps >= TARGET },
      { name: "latency p50", ours: fmtMs(a.p50), baseline: fmtMs(i.p50), ratio: "-", target: "-", met: null },
      { name: "latency p99", ours: fmtMs(a.p99), baseline: fmtMs(i.p99), ratio: "-", target: "reported", met: null },
      {
        // CPU only: waiting for a flush (or for PostgreSQL) is not CPU, so this is a lower bound of the cost.
        name: "server CPU per request (ratio: baseline/ours)",
        ours: `${fmtInt(cpu(runs.app))} us`,
        baseline: `${fmtInt(cpu(runs.insert))} us`,
        ratio: fmtRatio(cpu(runs.insert) / cpu(runs.app)),
        target: "-",
        met: null,
      },
      { name: "requests/s vs bare POST, no database", ours: fmtInt(a.rps), baseline: fmtInt(f.rps), ratio: fmtRatio(a.rps / f.rps), target: "-", met: null },
      { name: "latency p99 vs bare POST, no database", ours: fmtMs(a.p99), baseline: fmtMs(f.p99), ratio: "-", target: "-", met: null },
      {
        name: "server CPU per request vs bare POST",
        ours: `${fmtInt(cpu(runs.app))} us`,
        baseline: `${fmtInt(cpu(runs.form))} us`,
        ratio: fmtRatio(cpu(runs.form) / cpu(runs.app)),
        target: "-",
        met: null,
      },
      {
        name: `${commitName} (ratio: 1000/ms / one-insert req/s)`,
        ours: fmtMs(fsyncMs),
        baseline: "-",
        ratio: fmtRatio(1000 / fsyncMs / i.rps),
        target: "-",
        met: null,
      },
      {
        name: `diagnostic: requests/s at ${notDurable}`,
        ours: fmtInt(normalResult.rps),
        baseline: fmtInt(i.rps),
        ratio: fmtRatio(normalResult.rps / i.rps),
        target: "- (not durable)",
        met: null,
      },
      {
        name: `diagnostic: server CPU per request at ${notDurable}`,
        ours: `${fmtInt(normalResult.cpuPerRequestUs ?? NaN)} us`,
        baseline: `${fmtInt(cpu(runs.insert))} us`,
        ratio: "-",
        target: "-",
        met: null,
      },
      {
        name: "requests/s in respondents (pages per respondent)",
        ours: `${fmtInt(a.rps / PAGES)} (${PAGES})`,
        baseline: "-",
        ratio: "-",
        target: "-",
        met: null,
      },
      {
        name: "last-page 303s = completed responses stored",
        ours: `${fmtInt(finished.count)} = ${fmtInt(completed)}`,
        baseline: "-",
        ratio: "-",
        target: "equal; 12 answers, brand coded",
        met: consistent && !sent.stoppedEarly,
      },
      ...(rollbacks
        ? [
            {
              name: "PostgreSQL transactions committed / rolled back (retries)",
              ours: `${fmtInt(rollbacks.c)} / ${fmtInt(rollbacks.r)}`,
              baseline: "-",
              ratio: "-",
              target: "-",
              met: null,
            },
          ]
        : []),
      {
        name: "other statuses / errors",
        ours: `${JSON.stringify(sent.other)} / ${sent.errors}`,
        baseline: "-",
        ratio: "-",
        target: "none",
        met: Object.keys(sent.other).length === 0 && sent.errors === 0,
      },
    ],
  );
} finally {
  await Promise.all([form.stop(), insert.stop(), app.stop()]);
  await store.drop();
}
