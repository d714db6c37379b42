import { request as httpRequest, type ClientRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import request from "supertest";
import { eq } from "drizzle-orm";
import { afterEach, describe, expect, it } from "vitest";
import { type Db } from "../../db/client.js";
import { jobs } from "../../db/schema.js";
import type { JobStep } from "../../server/jobs/contract.js";
import { startJob } from "../../server/jobs/queue.js";
import { JobRunner } from "../../server/jobs/runner.js";
import { RespondentTraffic, respondentTraffic } from "../../server/respondent-traffic.js";
import { templateStudy } from "../fixtures/quality/responses.js";
import { openSurvey } from "../fixtures/surveys.js";
import { closeServer, freshApp, listen } from "../helpers.js";

/**
 * Issue 16 (respondents first): the job runner starts no step while a respondent request is in
 * flight in its process, goes on once it has ended, and is never starved by respondents who keep
 * coming (each wait is bounded).
 */

const turns = async (n: number) => {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
};
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A job of `n` steps that logs each step it runs ("results" is a kind this app leaves to others). */
function loggingStep(n: number, log: number[]): JobStep {
  return async (_db, job) => {
    const step = ((job.cursor?.["step"] as number | undefined) ?? 0) + 1;
    log.push(step);
    return step >= n ? { cursor: null, done: step, total: n } : { cursor: { step }, done: step, total: n };
  };
}

async function queueJob(db: Db): Promise<number> {
  const { study } = await templateStudy(db);
  return (await startJob(db, { teamId: study.teamId, studyId: study.id, kind: "results" })).id;
}

async function jobStatus(db: Db, id: number) {
  const [row] = await db.select({ status: jobs.status, done: jobs.done }).from(jobs).where(eq(jobs.id, id));
  return row;
}

/**
 * A survey page POST whose body has not all arrived: the request is in flight (its handler waits
 * for the body) until `finish` sends the rest or `abort` drops the connection.
 */
async function respondentInFlight(server: Server, path: string): Promise<{ finish: () => Promise<number>; abort: () => void }> {
  const { port } = server.address() as AddressInfo;
  const body = "q_recall=yes&_p=0";
  const req: ClientRequest = httpRequest({ port, host: "127.0.0.1", method: "POST", path, headers: { "content-type": "application/x-www-form-urlencoded", "content-length": String(body.length) } });
  const status = new Promise<number>((resolve, reject) => {
    req.on("response", (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
  });
  req.write(body.slice(0, 5));
  // In flight once the server has counted it.
  while (respondentTraffic.count === 0) await pause(5);
  return {
    finish: async () => {
      req.end(body.slice(5));
      return status;
    },
    abort: () => {
      status.catch(() => undefined);
      req.destroy();
    },
  };
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map(closeServer));
  while (respondentTraffic.count > 0) await pause(5);
});

async function survey() {
  const { db, app } = freshApp();
  const open = await openSurvey(db);
  const server = await listen(app);
  servers.push(server);
  return { db, app, server, path: `/s/${open.links["subscribers"]!.token}` };
}

describe("the job runner gives way to respondents", () => {
  it("starts no step while a survey request is in flight in its process, and runs the job once it has ended", async () => {
    const { db, server, path } = await survey();
    const id = await queueJob(db);
    const log: number[] = [];
    const respondent = await respondentInFlight(server, path);
    // A wait bound far beyond the test: only the request's end lets the runner on.
    const runner = new JobRunner(db, { handlers: { results: loggingStep(3, log) }, checkResponses: false, respondents: respondentTraffic, respondentWaitMs: 600_000 });
    const running = runner.runUntilIdle();
    await pause(100);
    await turns(20);
    expect(log).toEqual([]);
    expect(await jobStatus(db, id)).toMatchObject({ status: "queued", done: 0 });

    expect(await respondent.finish()).toBeGreaterThanOrEqual(200);
    expect(await running).toBe(1);
    expect(log).toEqual([1, 2, 3]);
    expect(await jobStatus(db, id)).toMatchObject({ status: "done", done: 3 });
    expect(respondentTraffic.count).toBe(0);
  });

  it("is not starved: with a respondent request in flight all along, every step still runs, each after a bounded wait", async () => {
    const { db, server, path } = await survey();
    const id = await queueJob(db);
    const log: number[] = [];
    const respondent = await respondentInFlight(server, path);
    const runner = new JobRunner(db, { handlers: { results: loggingStep(3, log) }, checkResponses: false, respondents: respondentTraffic, respondentWaitMs: 10 });
    expect(await runner.runUntilIdle()).toBe(1);
    expect(respondentTraffic.count).toBe(1);
    expect(log).toEqual([1, 2, 3]);
    expect(await jobStatus(db, id)).toMatchObject({ status: "done", done: 3 });
    respondent.abort();
  });

  it("counts survey pages only while they are served: none left over after pages, posts, dropped connections and researcher pages", async () => {
    const { app, server, path } = await survey();
    const agent = request.agent(app);
    await agent.get(path).expect(200);
    await agent.post(path).type("form").send({ q_recall: "yes" });
    await agent.get(`${path}/thanks`);
    await request(app).get("/");
    expect(respondentTraffic.count).toBe(0);
    const dropped = await respondentInFlight(server, path);
    expect(respondentTraffic.count).toBe(1);
    dropped.abort();
    while (respondentTraffic.count > 0) await pause(5);
    expect(respondentTraffic.count).toBe(0);
  });
});

describe("respondent traffic", () => {
  it("lets a waiter on once the last request ends, or once its bound has passed", async () => {
    const traffic = new RespondentTraffic();
    expect(await traffic.quiet(600_000)).toBe(false);
    const leaveA = traffic.enter();
    const leaveB = traffic.enter();
    let through = false;
    const waiting = traffic.quiet(600_000).then(() => (through = true));
    leaveA();
    leaveA();
    await turns(5);
    expect([traffic.count, through]).toEqual([1, false]);
    leaveB();
    await waiting;
    expect([traffic.count, through]).toEqual([0, true]);

    traffic.enter();
    expect(await traffic.quiet(1)).toBe(true);
    expect(traffic.count).toBe(1);
  });

  it("says respondents are about while one is in flight and for a while after the last", () => {
    let now = 1_000;
    const traffic = new RespondentTraffic(() => now);
    expect(traffic.recent(2_000)).toBe(false);
    const leave = traffic.enter();
    now += 10_000;
    expect(traffic.recent(2_000)).toBe(true);
    leave();
    now += 1_999;
    expect(traffic.recent(2_000)).toBe(true);
    now += 1;
    expect(traffic.recent(2_000)).toBe(false);
  });
});
