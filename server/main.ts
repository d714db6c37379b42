import { closeDatabase, type Db } from "../db/client.js";
import { createApp } from "./app.js";
import { JobRunner } from "./jobs/runner.js";
import { databaseLabel, loadConfigOrExit } from "./config.js";
import { openConfiguredDatabaseOrExit, restrictNewFiles } from "./data-files.js";
import { startEventLoopProbe } from "./event-loop-probe.js";
import { stopWorkerThreads } from "./worker-thread.js";
import { logger } from "./logger.js";
import { respondentTraffic } from "./respondent-traffic.js";
import { startBackgroundCheckpoints } from "./sqlite-checkpoints.js";
import { PURGE_INTERVAL_MS, purgeExpired } from "./services/retention.js";

/** How long in-flight requests get to finish after SIGTERM/SIGINT before the process exits anyway. */
const SHUTDOWN_GRACE_MS = 10_000;

/** Purges expired sessions and rate-limit rows; a failure is logged, never fatal (the next run retries). */
async function purge(db: Db): Promise<void> {
  try {
    const purged = await purgeExpired(db, new Date());
    if (purged.sessions + purged.rateLimits > 0) logger.info("purged expired rows", purged);
  } catch (error) {
    logger.warn("purge failed", { error: (error as Error).message });
  }
}

async function start(): Promise<void> {
  restrictNewFiles();
  // Benchmarks only (bench/heavy-pages.ts): this process's event-loop delay, written to the file.
  const eventLoopFile = process.env["BENCH_EVENT_LOOP_FILE"];
  if (eventLoopFile) startEventLoopProbe(eventLoopFile);
  const config = loadConfigOrExit();

  const db = await openConfiguredDatabaseOrExit(config, {
    migrate: true,
    onIdleError: (error) => logger.warn("a PostgreSQL connection was lost while idle; the pool opens a new one", { error: error.message }),
  });
  // SQLite: the WAL is copied into the database file by a thread of its own, never inside a commit
  // on the event loop (a no-op on PostgreSQL).
  startBackgroundCheckpoints(db, {
    onFallback: (error) => logger.warn("background checkpoint failed; commits checkpoint the WAL themselves again", { error: error.message }),
  });
  await purge(db);
  // unref: the schedule alone never keeps the process alive (shutdown closes the server and exits).
  setInterval(() => void purge(db), PURGE_INTERVAL_MS).unref();
  const app = createApp({ db, config });
  // Background jobs (recodes, flag recomputes, personal links, themes, the checks of new
  // responses): one at a time, step by step, beside the requests, giving way to this process's
  // respondents; polls, and hears this process's nudges.
  const jobs = new JobRunner(db, { respondents: respondentTraffic }).start();

  const server = app.listen(config.port, config.host, () => {
    const address = server.address();
    const port = typeof address === "object" && address ? address.port : config.port;
    // PORT=0 picks a free port: show the one actually taken.
    const url = config.port === 0 ? config.baseUrl.replace(/:\d+$/, `:${port}`) : config.baseUrl;
    logger.info("listening", { url, database: databaseLabel(config) });
    process.stdout.write(`\nBrand Lift is running: open ${url}\n\n`);
  });

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info("shutting down", { signal });
    // The job in hand stops after its current step and is given back (another instance, or the next start, resumes it).
    const jobsStopped = jobs.stop();
    // Stop accepting, let requests in flight finish, then close the database.
    server.close(() => {
      // Worker threads (results snapshots, workbooks) have nothing in flight once the requests are done.
      void Promise.all([jobsStopped, stopWorkerThreads()])
        .then(() => closeDatabase(db))
        .finally(() => {
          logger.info("stopped");
          process.exit(0);
        });
    });
    // Keep-alive connections become idle once their last response is out: close them as they do.
    server.closeIdleConnections();
    setInterval(() => server.closeIdleConnections(), 100).unref();
    setTimeout(() => {
      logger.warn("forced exit after grace period", { graceMs: SHUTDOWN_GRACE_MS });
      server.closeAllConnections();
      void closeDatabase(db).finally(() => process.exit(1));
    }, SHUTDOWN_GRACE_MS).unref();
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

await start();
