import express from "express";
import { runJobsUntilIdle } from "../../server/jobs/runner.js";
import request from "supertest";
import { afterEach, describe, expect, it, vi } from "vitest";
import { eq } from "drizzle-orm";
import type { Db } from "../../db/client.js";
import { links, shareLinks } from "../../db/schema.js";
import { logger } from "../../server/logger.js";
import { errorHandler } from "../../server/middleware/errors.js";
import { requestLog } from "../../server/middleware/request-log.js";
import { createWave } from "../../server/services/study-setup.js";
import { insertResponseWithAnswers } from "../fixtures/responses.js";
import { openSurvey, validAnswers } from "../fixtures/surveys.js";
import { addUser, csrfFrom, freshApp, loggedInAgent } from "../helpers.js";

/**
 * Issue 13.4, credentials are credentials: personal links are for researchers; a share link ends
 * with its study's archiving and shows verbatims only when chosen; no survey or share token
 * reaches the log.
 */

/** A study with a pre and a post wave of answers; every open answer carries a marker ("уникум") and a shared phrase. */
async function seed(db: Db) {
  const survey = await openSurvey(db);
  const post = await createWave(db, survey.study.id, "post", "Post");
  const [subs] = survey.segments;
  const phrases = ["больше видео", "дешевле доставка"];
  for (const waveId of [survey.wave.id, post.id]) {
    for (let i = 0; i < 24; i++) {
      await insertResponseWithAnswers(db, survey.study.id, {
        waveId,
        segmentId: subs!.id,
        answers: { aided: i < (waveId === post.id ? 16 : 8) ? ["acme"] : ["none"], fav: 4, recall: "yes", feedback: `${phrases[i % 2]} уникум${i}` },
      });
    }
  }
  return survey;
}

async function researcherAgent(app: Parameters<typeof loggedInAgent>[0], db: Db) {
  await addUser(db, "researcher");
  return loggedInAgent(app, "researcher@example.test");
}

/** Creates a share link from the results page's form; returns its path (/r/<token>). */
async function share(agent: Awaited<ReturnType<typeof loggedInAgent>>, studyId: number, form: Record<string, string> = {}): Promise<string> {
  const page = await agent.get(`/studies/${studyId}/results?lang=en`).expect(200);
  expect(page.text).toMatch(/<input type="checkbox" id="share-verbatims" name="verbatims" value="1">/);
  await agent.post(`/studies/${studyId}/share`).type("form").send({ _csrf: csrfFrom(page.text), ...form }).expect(303);
  const after = await agent.get(`/studies/${studyId}/results?lang=en`).expect(200);
  return [...after.text.matchAll(/href="http:\/\/localhost:3000(\/r\/[\w-]+)"/g)].map((m) => m[1]!)[0]!;
}

describe("personal links", () => {
  it("are downloaded and created by researchers only: a viewer gets 403 and no download link", async () => {
    const { app, db } = freshApp();
    const survey = await openSurvey(db);
    await addUser(db, "viewer");
    const viewer = await loggedInAgent(app, "viewer@example.test");
    const wavePage = await viewer.get(`/waves/${survey.wave.id}?lang=en`).expect(200);
    expect(wavePage.text).not.toContain("personal-links.csv");
    const csv = await viewer.get(`/waves/${survey.wave.id}/personal-links.csv`).set("Accept-Language", "en").expect(403);
    expect(csv.text).toContain("Access denied");
    expect(csv.text).not.toContain("/s/");
    const before = await db.select().from(links);
    await viewer.post(`/waves/${survey.wave.id}/personal`).type("form").send({ _csrf: csrfFrom(wavePage.text), segment: "subscribers", count: "3" }).expect(403);
    expect(await db.select().from(links)).toEqual(before);

    const researcher = await researcherAgent(app, db);
    const page = await researcher.get(`/waves/${survey.wave.id}`).expect(200);
    expect(page.text).toContain("personal-links.csv");
    await researcher.post(`/waves/${survey.wave.id}/personal`).type("form").send({ _csrf: csrfFrom(page.text), segment: "subscribers", count: "3" }).expect(303);
    await runJobsUntilIdle(db);
    const download = await researcher.get(`/waves/${survey.wave.id}/personal-links.csv`).expect(200);
    expect(download.text.trim().split("\n")).toHaveLength(4);
  });
});

describe("share links", () => {
  it("stop when their study is archived, with a localized 410", async () => {
    const { app, db } = freshApp();
    const survey = await seed(db);
    const agent = await researcherAgent(app, db);
    const url = await share(agent, survey.study.id);
    await request(app).get(url).expect(200);

    const show = await agent.get(`/studies/${survey.study.id}`).expect(200);
    await agent.post(`/studies/${survey.study.id}/archive`).type("form").send({ _csrf: csrfFrom(show.text), to: "archived" }).expect(303);
    const en = await request(app).get(`${url}?lang=en`).expect(410);
    expect(en.text).toContain("This report is no longer shared");
    expect(en.text).not.toContain("Acme");
    const ru = await request(app).get(`${url}?lang=ru`).expect(410);
    expect(ru.text).toContain("Отчёт больше не доступен по ссылке");
    expect(en.headers["cache-control"]).toBe("no-store");
  });

  it("hide verbatims by default: themes keep their labels and counts, lose their examples", async () => {
    const { app, db } = freshApp();
    const survey = await seed(db);
    const agent = await researcherAgent(app, db);
    // Themes are summarised in the background once a page asks for them.
    await agent.get(`/studies/${survey.study.id}/report?lang=en`).expect(200);
    await runJobsUntilIdle(db);
    // The researcher's own report shows them.
    const own = await agent.get(`/studies/${survey.study.id}/report?lang=en`).expect(200);
    expect(own.text).toContain("уникум");
    expect(own.text).toContain('class="examples"');

    const url = await share(agent, survey.study.id);
    expect(await db.select().from(shareLinks)).toMatchObject([{ showVerbatims: false }]);
    const shared = await request(app).get(`${url}?lang=en`).expect(200);
    expect(shared.text).not.toContain("уникум");
    expect(shared.text).not.toContain('class="examples"');
    expect(shared.text).toContain("Verbatim answers are not shown in this shared report");
    // The themes themselves stay: their labels and how many mentioned them.
    expect(shared.text).toContain('<strong>дешевле доставка</strong> <span class="hint">12 (50%)</span>');
    const ru = await request(app).get(`${url}?lang=ru`).expect(200);
    expect(ru.text).toContain("Дословные ответы в этом отчёте не показаны");
    // Not even on request.
    expect((await request(app).get(`${url}?feedback=all`).expect(200)).text).not.toContain("уникум");
  });

  it("show verbatims when the researcher chose so", async () => {
    const { app, db } = freshApp();
    const survey = await seed(db);
    const agent = await researcherAgent(app, db);
    await agent.get(`/studies/${survey.study.id}/report?lang=en`).expect(200);
    await runJobsUntilIdle(db);
    const url = await share(agent, survey.study.id, { verbatims: "1" });
    expect(await db.select().from(shareLinks).where(eq(shareLinks.studyId, survey.study.id))).toMatchObject([{ showVerbatims: true }]);
    const shared = await request(app).get(`${url}?lang=en`).expect(200);
    expect(shared.text).toContain("уникум");
    expect(shared.text).toContain('class="examples"');
    expect(shared.text).not.toContain("Verbatim answers are not shown");
    const list = await agent.get(`/studies/${survey.study.id}/results?lang=en`).expect(200);
    expect(list.text).toContain("verbatims shown");
  });
});

describe("tokens in the log", () => {
  afterEach(() => {
    logger.silent = true;
    vi.restoreAllMocks();
  });

  /** Everything the logger writes (stdout and stderr) while `run` runs. */
  async function captured(run: () => Promise<unknown>): Promise<string[]> {
    const lines: string[] = [];
    const grab = (chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    };
    logger.silent = false;
    vi.spyOn(process.stdout, "write").mockImplementation(grab);
    vi.spyOn(process.stderr, "write").mockImplementation(grab);
    try {
      await run();
    } finally {
      logger.silent = true;
      vi.restoreAllMocks();
    }
    return lines;
  }

  it("logs /r/:token and /s/:token for share and survey requests, never the token", async () => {
    const { app, db } = freshApp();
    const survey = await seed(db);
    const agent = await researcherAgent(app, db);
    const shareUrl = await share(agent, survey.study.id);
    const shareToken = shareUrl.slice(3);
    const surveyToken = survey.links["subscribers"]!.token;
    const respondent = request.agent(app);

    const lines = await captured(async () => {
      await request(app).get(`${shareUrl}?lang=en`).expect(200);
      await request(app).get(`/R/${shareToken}`).expect(200);
      const page = await respondent.get(`/s/${surveyToken}`).expect(200);
      const fields = Object.fromEntries([...page.text.matchAll(/<input type="hidden" name="(_\w)" value="([^"]*)">/g)].map((m) => [m[1]!, m[2]!]));
      await respondent.post(`/s/${surveyToken}`).type("form").send({ ...fields, ...validAnswers() }).expect(303);
      await respondent.get(`/s/${surveyToken}/thanks`).expect(200);
    });
    const all = lines.join("");
    expect(all).not.toContain(shareToken);
    expect(all).not.toContain(surveyToken);
    const paths = lines.map((l) => (JSON.parse(l) as { path?: string }).path);
    expect(paths).toEqual(["/r/:token", "/r/:token", "/s/:token", "/s/:token", "/s/:token/thanks"]);
  });

  it("keeps tokens out of the error log too", async () => {
    // An unexpected failure on a token route, through the app's own request log and error handler.
    const app = express();
    app.use(requestLog());
    app.get("/s/:token", () => {
      throw new Error("boom");
    });
    app.get("/r/:token", () => {
      throw new Error("boom");
    });
    app.set("view engine", "ejs");
    app.set("views", new URL("../../views", import.meta.url).pathname);
    app.use(errorHandler());
    const token = "V1StGXR8Z5jdHi6BmyTab";
    const lines = await captured(async () => {
      await request(app).get(`/s/${token}`).set("Accept", "application/json").expect(500);
      await request(app).get(`/r/${token}xyz`).set("Accept", "application/json").expect(500);
    });
    const all = lines.join("");
    expect(all).toContain("unhandled error");
    expect(all).not.toContain(token);
    const errors = lines.map((l) => JSON.parse(l) as { level: string; path?: string }).filter((e) => e.level === "error");
    expect(errors.map((e) => e.path)).toEqual(["/s/:token", "/r/:token"]);
  });
});
