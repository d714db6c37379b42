/**
 * One HTTP server per process, forked by servers.ts; every kind is started the same way
 * (`node --import tsx`, NODE_ENV=production, LOG_SILENT=1, 127.0.0.1, port 0) so the only
 * difference between our route and its baseline is the work behind the route.
 *
 *   app    the real app: createApp({ db, config }) on BENCH_DB with BENCH_SECRET (and, for a
 *          diagnostic run only, BENCH_SYNCHRONOUS overriding the connection's synchronous=FULL)
 *   hello  bare Express 5: GET / answers "Hello, world!"
 *   form   bare Express 5: POST /s/:token parses the urlencoded form as the survey route does
 *          (same limits) and answers 303 to the thank-you page
 *
 * Sends `{ port }` to the parent once listening; exits on SIGTERM or when the parent goes away.
 */
import express, { type Express } from "express";

async function build(kind: string): Promise<Express> {
  if (kind === "app") {
    const { openDatabase } = await import("../../db/client.js");
    const { createApp } = await import("../../server/app.js");
    const { testConfig } = await import("../../server/config.js");
    const databasePath = required("BENCH_DB");
    const db = openDatabase(databasePath);
    // Diagnostic only (survey-submit.ts): what the same writes cost without an fsync per commit.
    const synchronous = process.env["BENCH_SYNCHRONOUS"];
    if (synchronous) {
      if (!/^(OFF|NORMAL|FULL)$/.test(synchronous)) throw new Error(`BENCH_SYNCHRONOUS=${synchronous}: OFF, NORMAL or FULL`);
      db.$client.pragma(`synchronous = ${synchronous}`);
    }
    const config = testConfig({
      databasePath,
      sessionSecret: required("BENCH_SECRET"),
      // Every request comes from 127.0.0.1: the per-address limit would stop the run after 120 posts.
      surveyPostLimit: 1_000_000_000,
      // As deployed: EJS templates compiled once and cached, error pages without details.
      production: true,
    });
    return createApp({ db, config });
  }
  const app = express();
  app.disable("x-powered-by");
  if (kind === "hello") {
    app.get("/", (_req, res) => {
      res.send("Hello, world!");
    });
  } else if (kind === "form") {
    // The same parser settings as the survey route (server/routes/respond.ts).
    const body = express.urlencoded({ extended: false, limit: "256kb", parameterLimit: 2000 });
    app.post("/s/:token", body, (req, res) => {
      if (typeof req.body?._n !== "string") {
        res.status(400).send("no form");
        return;
      }
      res.redirect(303, `/s/${req.params["token"]}/thanks`);
    });
  } else {
    throw new Error(`unknown server kind ${kind}`);
  }
  return app;
}

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

const app = await build(process.argv[2] ?? "");
const server = app.listen(0, "127.0.0.1", () => {
  const address = server.address();
  process.send?.({ port: typeof address === "object" && address ? address.port : 0 });
});
process.on("SIGTERM", () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
// The parent died or closed the channel: do not linger.
process.on("disconnect", () => process.exit(0));
