import { eq, sql } from "drizzle-orm";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closePostgres, first, isPostgres, openPostgres, rawRows, unitOfWork, type Db } from "../../db/client.js";
import { runPostgresMigrations } from "../../db/migrate.js";
import { setWaveStatus, waveProgress } from "../../db/queries/fieldwork.js";
import { recordAudit } from "../../db/queries/audit.js";
import { countFlags, decidedResponseIds, listLedger } from "../../db/queries/quality.js";
import { EmailTakenError, findUserByEmail } from "../../db/queries/users.js";
import { createWave, openWave } from "../../server/services/study-setup.js";
import { answers, responses, teams, users } from "../../db/schema.js";
import { createApp } from "../../server/app.js";
import { testConfig } from "../../server/config.js";
import { createThrowawayDatabase, postgresTestsRun, type ThrowawayDatabase } from "../support/postgres.js";
import { openSurvey, personalLink, validAnswers } from "../fixtures/surveys.js";
import { addUser, answerAllPages, loggedInAgent } from "../helpers.js";

/**
 * The same data API on PostgreSQL: the one schema's tables build PostgreSQL statements, values
 * come back as on SQLite, units of work commit, roll back and retry serialization failures, and
 * the app signs a user in on it. (The whole suite on PostgreSQL is the next step of issue 15.)
 */
describe.runIf(postgresTestsRun("postgres-engine.test.ts"))("the data API on PostgreSQL", () => {
  let database: ThrowawayDatabase;
  let db: Db;

  beforeAll(async () => {
    database = await createThrowawayDatabase();
    db = openPostgres(database.url, { max: 4 });
    await runPostgresMigrations(db);
  });

  afterAll(async () => {
    if (db) await closePostgres(db);
    await database?.drop();
  });

  it("reads back dates, booleans, JSON and ids as SQLite does, through the one schema", async () => {
    expect(isPostgres(db)).toBe(true);
    const at = new Date("2026-11-30T12:34:56.789Z");
    const [user] = await db.insert(users).values({ email: "pg@example.test", name: "PG", passwordHash: "x", isAdmin: true, createdAt: at }).returning();
    expect(user).toMatchObject({ email: "pg@example.test", isAdmin: true, createdAt: at, disabledAt: null });
    expect(typeof user!.id).toBe("number");
    const again = await findUserByEmail(db, "PG@example.test");
    expect(again?.id).toBe(user!.id);
    expect(again?.createdAt).toEqual(at);
    expect(await rawRows<{ n: number }>(db, sql`SELECT count(*) AS n FROM ${users}`)).toEqual([{ n: 1 }]);
  });

  it("commits a unit of work, and rolls all of it back when it throws", async () => {
    await unitOfWork(db, async (tx) => {
      await tx.insert(teams).values({ name: "Committed" });
    });
    await expect(
      unitOfWork(db, async (tx) => {
        await tx.insert(teams).values({ name: "Rolled back" });
        throw new Error("stop");
      }),
    ).rejects.toThrow("stop");
    const names = (await db.select({ name: teams.name }).from(teams)).map((t) => t.name);
    expect(names).toContain("Committed");
    expect(names).not.toContain("Rolled back");
  });

  it("retries units of work that PostgreSQL cannot serialize: 20 concurrent read-then-write increments all count", async () => {
    const [team] = await db.insert(teams).values({ name: "Counter 0" }).returning();
    const increment = () =>
      unitOfWork(db, async (tx) => {
        const current = first(await tx.select({ name: teams.name }).from(teams).where(eq(teams.id, team!.id)))!;
        const n = Number(current.name.split(" ")[1]);
        await tx.update(teams).set({ name: `Counter ${n + 1}` }).where(eq(teams.id, team!.id));
      });
    await Promise.all(Array.from({ length: 20 }, increment));
    const after = first(await db.select({ name: teams.name }).from(teams).where(eq(teams.id, team!.id)));
    expect(after?.name).toBe("Counter 20");
  });

  it("takes a respondent through the survey: one completed response with its answers, a personal link claimed once", async () => {
    const app = createApp({ db, config: testConfig() });
    const survey = await openSurvey(db);
    const done = await answerAllPages(request.agent(app), `/s/${survey.links["subscribers"]!.token}`, validAnswers());
    expect(done.headers["location"]).toContain("/thanks");
    const stored = await db.select().from(responses).where(eq(responses.waveId, survey.wave.id));
    expect(stored.map((r) => r.status)).toEqual(["completed"]);
    expect((await db.select().from(answers).where(eq(answers.responseId, stored[0]!.id))).length).toBeGreaterThan(0);

    const personal = await personalLink(db, survey);
    const url = `/s/${personal.token}`;
    // Two phones on one personal link at once: one completes, the other is told it was used.
    const attempt = () => answerAllPages(request.agent(app), url, validAnswers()).catch((error: unknown) => error);
    const [a, b] = await Promise.all([attempt(), attempt()]);
    const thanked = (r: unknown) => String((r as { headers?: Record<string, unknown> }).headers?.["location"]).includes("/thanks");
    expect([a, b].filter(thanked)).toHaveLength(1);
    expect((await db.select().from(responses).where(eq(responses.linkId, personal.id))).length).toBe(1);
  });

  it("turns unique violations into the same answers as on SQLite: a double-clicked form stores one response, a taken email is refused", async () => {
    const survey = await openSurvey(db);
    const app = createApp({ db, config: testConfig() });
    const phone = request.agent(app);
    const url = `/s/${survey.links["subscribers"]!.token}`;
    const html = (await phone.get(url).expect(200)).text;
    const hidden = Object.fromEntries([...html.matchAll(/<input type="hidden" name="(_\w)" value="([^"]*)">/g)].map((m) => [m[1]!, m[2]!]));
    const send = () => phone.post(url).type("form").send({ ...hidden, ...validAnswers() });
    const [one, two] = await Promise.all([send(), send()]);
    expect([one.status, two.status]).toEqual([303, 303]);
    expect(await db.select().from(responses).where(eq(responses.waveId, survey.wave.id))).toHaveLength(1);
    await addUser(db, "viewer", "taken@example.test");
    await expect(addUser(db, "viewer", "TAKEN@example.test")).rejects.toBeInstanceOf(EmailTakenError);
  });

  it("reads quality flags and the audit's response ids out of JSON, as on SQLite", async () => {
    const survey = await openSurvey(db);
    const app = createApp({ db, config: testConfig() });
    await answerAllPages(request.agent(app), `/s/${survey.links["subscribers"]!.token}`, validAnswers());
    const [response] = await db.select().from(responses).where(eq(responses.waveId, survey.wave.id));
    await db.update(responses).set({ qualityFlags: [{ code: "speeder" }, { code: "straightliner" }] }).where(eq(responses.id, response!.id));
    expect((await countFlags(db, [survey.wave.id])).sort((a, b) => a.code.localeCompare(b.code))).toEqual([
      { code: "speeder", n: 1, excluded: 0 },
      { code: "straightliner", n: 1, excluded: 0 },
    ]);
    const flagged = await listLedger(db, { waveIds: [survey.wave.id], state: "flagged", flag: "speeder", limit: 10, offset: 0 });
    expect(flagged.rows.map((r) => r.id)).toEqual([response!.id]);
    await recordAudit(db, { userId: null, action: "quality.auto_exclude", entityType: "study", entityId: String(survey.study.id), details: { responseIds: [response!.id] } });
    expect([...(await decidedResponseIds(db, survey.study.id))]).toEqual([response!.id]);

    await addUser(db, "viewer", "viewer@example.test");
    const viewer = await loggedInAgent(app, "viewer@example.test");
    await viewer.get(`/studies/${survey.study.id}/quality?state=flagged&flag=speeder`).expect(200);
    await viewer.get(`/studies/${survey.study.id}/quality/coding`).expect(200);
  });

  it("serves the app: a user signs in, sees the studies page and a study's results (page and JSON)", async () => {
    await addUser(db, "researcher", "researcher@example.test");
    const app = createApp({ db, config: testConfig() });
    await request(app).get("/healthz").expect(200);
    const agent = await loggedInAgent(app, "researcher@example.test");
    await agent.get("/studies").expect(200);

    const survey = await openSurvey(db);
    await answerAllPages(request.agent(app), `/s/${survey.links["subscribers"]!.token}`, validAnswers());
    await setWaveStatus(db, survey.wave.id, "closed", new Date());
    const post = await createWave(db, survey.study.id, "post", "Post");
    const postLinks = await openWave(db, post, null);
    for (const link of postLinks) await answerAllPages(request.agent(app), `/s/${link.token}`, validAnswers());
    await agent.get(`/studies/${survey.study.id}/results`).expect(200);
    // The wave page's fieldwork counts: one completed response per segment answered.
    await agent.get(`/waves/${post.id}?lang=en`).expect(200);
    const progress = await waveProgress(db, post.id);
    expect(progress.map((p) => [p.completed, p.partial, p.excluded])).toEqual(postLinks.map(() => [1, 0, 0]));
    expect(progress.every((p) => p.lastCompletedAt instanceof Date && p.medianDurationMs !== null)).toBe(true);
    const json = JSON.parse((await agent.get(`/studies/${survey.study.id}/results.json`).expect(200)).text) as { table: { rows: Array<{ segment: string; pre: { n: number }; post: { n: number } }> } };
    const subscribers = json.table.rows.filter((r) => r.segment === "subscribers");
    expect(subscribers.length).toBeGreaterThan(0);
    expect(subscribers.every((r) => r.pre.n === 1 && r.post.n === 1)).toBe(true);
  });
});
