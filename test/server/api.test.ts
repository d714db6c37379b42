import express from "express";
import request from "supertest";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { first, type Db } from "../../db/client.js";
import { loadQuestionnaire } from "../../db/queries/questionnaire.js";
import { auditLog, links, studies, waves } from "../../db/schema.js";
import { errorHandler, notFound } from "../../server/middleware/errors.js";
import { apiRoutes } from "../../server/routes/api.js";
import { createApiToken } from "../../server/services/accounts.js";
import { brandLiftDefinition, validAnswers } from "../fixtures/surveys.js";
import { addUser, freshApp } from "../helpers.js";

type Role = "admin" | "researcher" | "viewer";
type Json = Record<string, any>;

const SEGMENTS = ["subscribers", "active_unsubscribed", "inactive"];
const QUESTIONS = ["aided", "recall", "fav", "feedback"];
const TOKEN = /^[A-Za-z0-9_-]{21,}$/;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** The definition as a client would send it: plain JSON. */
const definitionJson = (overrides: Json = {}): Json => ({ ...JSON.parse(JSON.stringify(brandLiftDefinition())), ...overrides });

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** An app with one user and one API token per role, and a small client per role. */
async function setup() {
  const { app, db, config } = freshApp();
  const tokens = {} as Record<Role, string>;
  for (const role of ["admin", "researcher", "viewer"] as const) {
    const user = await addUser(db, role);
    tokens[role] = (await createApiToken(db, user.id, `${role} token`)).token;
  }
  const as = (role: Role) => ({
    get: (path: string) => request(app).get(path).set("Authorization", `Bearer ${tokens[role]}`).set("Accept-Language", "en"),
    post: (path: string, body?: unknown) => {
      const req = request(app).post(path).set("Authorization", `Bearer ${tokens[role]}`).set("Accept-Language", "en");
      return body === undefined ? req : req.send(body as object);
    },
  });
  /**
   * A link URL: `<baseUrl>/s/<token>` once app.ts hands the config to the API router, root-relative
   * until then (the absolute form is asserted exactly in "link URLs" below).
   */
  const linkUrl = (token: string) => expect.stringMatching(new RegExp(`^(${escapeRe(config.baseUrl)})?/s/${escapeRe(token)}$`));
  return { app, db, config, tokens, as, linkUrl };
}

type Setup = Awaited<ReturnType<typeof setup>>;

async function createStudy(t: Setup, def: Json = definitionJson()): Promise<Json> {
  return (await t.as("researcher").post("/api/studies", def).expect(201)).body as Json;
}

async function openWave(t: Setup, targets?: Record<string, number>) {
  const study = await createStudy(t);
  const wave = (await t.as("researcher").post(`/api/studies/${study["id"]}/waves`, { kind: "pre", ...(targets ? { targets } : {}) }).expect(201)).body as Json;
  const opened = (await t.as("researcher").post(`/api/waves/${wave["id"]}/open`).expect(200)).body as Json;
  return { study, wave, links: opened["links"] as Array<{ segment: string; token: string; url: string }> };
}

/** The hidden fields of the survey form on a page (as in respond.test.ts). */
function hidden(html: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of html.matchAll(/<input type="hidden" name="(_\w)" value="([^"]*)">/g)) out[m[1]!] = m[2]!;
  return out;
}

/** A questionnaire as stored, without the ids that differ between two imports. */
async function questionnaireShape(db: Db, studyId: number) {
  return (await loadQuestionnaire(db, studyId)).map(({ id: _id, studyId: _s, options, ...q }) => ({
    ...q,
    options: options.map(({ id: _oid, questionId: _q, ...o }) => o),
  }));
}

describe("JSON API: the fieldwork flow", () => {
  it("creates a study, adds and opens a wave, counts a respondent's answers, and closes it", async () => {
    const t = await setup();
    const researcher = t.as("researcher");

    const created = await researcher.post("/api/studies", definitionJson()).expect(201);
    const studyId = created.body.id as number;
    expect(studyId).toBeGreaterThan(0);
    expect(created.body.segments.map((s: Json) => s["key"])).toEqual(SEGMENTS);
    expect(created.body.questions.map((q: Json) => q["key"])).toEqual(QUESTIONS);
    expect(created.body.questions.map((q: Json) => q["id"])).toEqual((await loadQuestionnaire(t.db, studyId)).map((q) => q.id));
    expect(first(await t.db.select().from(studies))).toMatchObject({ id: studyId, name: "Spring campaign", brand: "Acme" });

    const wave = await researcher
      .post(`/api/studies/${studyId}/waves`, { kind: "pre", targets: { subscribers: 2, inactive: 50 }, audience: { subscribers: 12_000 } })
      .expect(201);
    // Named by its kind in the study's language (Russian here): the API has no reader's language.
    expect(wave.body).toEqual({ id: expect.any(Number), kind: "pre", label: "До кампании", status: "draft" });
    const waveId = wave.body.id as number;

    // A draft wave has no open links yet.
    expect((await researcher.get(`/api/waves/${waveId}/links`).expect(200)).body.links).toEqual([]);

    const opened = await researcher.post(`/api/waves/${waveId}/open`).expect(200);
    expect(opened.body.links.map((l: Json) => l["segment"])).toEqual(SEGMENTS);
    for (const link of opened.body.links as Json[]) {
      expect(link["token"]).toMatch(TOKEN);
      expect(link).toEqual({ segment: link["segment"], token: link["token"], url: t.linkUrl(link["token"]) });
    }
    expect(new Set(opened.body.links.map((l: Json) => l["token"])).size).toBe(3);
    expect(first(await t.db.select().from(waves))).toMatchObject({ id: waveId, status: "open" });
    expect((await t.db.select().from(auditLog)).map((a) => a.action)).toEqual(
      expect.arrayContaining(["study.create", "wave.create", "wave.open"]),
    );

    const listed = await t.as("viewer").get(`/api/waves/${waveId}/links`).expect(200);
    expect(listed.body).toEqual({
      links: (opened.body.links as Json[]).map((l) => ({ ...l, kind: "open", sourceLabel: null, uses: 0 })),
      personal: SEGMENTS.map((segment) => ({ segment, total: 0, used: 0 })),
    });

    // A respondent answers through the subscribers' link.
    const token = opened.body.links[0].token as string;
    const agent = request.agent(t.app);
    const page = await agent.get(`/s/${token}`).expect(200);
    const fields = hidden(page.text);
    expect(Object.keys(fields).sort()).toEqual(["_l", "_n", "_p", "_s", "_t"]);
    const submitted = await agent.post(`/s/${token}`).type("form").send({ ...fields, ...validAnswers() }).expect(303);
    expect(submitted.headers["location"]).toBe(`/s/${token}/thanks?lang=ru`);

    const progress = await t.as("viewer").get(`/api/waves/${waveId}/progress`).expect(200);
    expect(progress.body).toEqual({
      segments: [
        {
          segment: "subscribers",
          target: 2,
          completed: 1,
          partial: 0,
          excluded: 0,
          progress: 0.5,
          medianDurationMs: expect.any(Number),
          lastCompletedAt: expect.stringMatching(ISO_DATE),
        },
        { segment: "active_unsubscribed", target: null, completed: 0, partial: 0, excluded: 0, progress: null, medianDurationMs: null, lastCompletedAt: null },
        { segment: "inactive", target: 50, completed: 0, partial: 0, excluded: 0, progress: 0, medianDurationMs: null, lastCompletedAt: null },
      ],
    });
    expect(progress.body.segments[0].medianDurationMs).toBeGreaterThanOrEqual(0);
    const afterUse = await t.as("viewer").get(`/api/waves/${waveId}/links`).expect(200);
    expect(afterUse.body.links.map((l: Json) => l["uses"])).toEqual([1, 0, 0]);

    const summaries = await t.as("viewer").get("/api/studies").expect(200);
    expect(summaries.body.studies).toEqual([
      { id: studyId, name: "Spring campaign", brand: "Acme", status: expect.any(String), teamName: "Default", createdAt: expect.stringMatching(ISO_DATE), waves: 1, completedResponses: 1 },
    ]);

    const closed = await researcher.post(`/api/waves/${waveId}/close`).expect(200);
    expect(closed.body).toEqual({ status: "closed" });
    await request(t.app).get(`/s/${token}`).expect(410);
    await request(t.app).get(`/s/${opened.body.links[2].token}`).expect(410);

    const study = await t.as("viewer").get(`/api/studies/${studyId}`).expect(200);
    expect(study.body.waves).toEqual([
      { id: waveId, kind: "pre", label: "До кампании", status: "closed", openedAt: expect.stringMatching(ISO_DATE), closedAt: expect.stringMatching(ISO_DATE) },
    ]);
    expect((await t.db.select().from(auditLog)).map((a) => a.action)).toContain("wave.close");
  });

  it("validates wave bodies by field and names the next wave of a kind", async () => {
    const t = await setup();
    const researcher = t.as("researcher");
    const { id } = await createStudy(t);

    const bad = await researcher.post(`/api/studies/${id}/waves`, { kind: "mid", targets: { subscribers: -1 }, colour: "red" }).expect(422);
    expect(bad.body.error).toEqual({
      code: "validation_failed",
      message: "Some values are invalid.",
      details: { kind: expect.any(String), "targets.subscribers": expect.any(String), colour: "unknown field" },
    });
    const unknown = await researcher.post(`/api/studies/${id}/waves`, { kind: "pre", targets: { lurkers: 10 } }).expect(422);
    expect(unknown.body.error).toEqual({ code: "unknown_segment", message: "Some values are invalid.", details: { segment: "lurkers" } });
    const notObject = await researcher.post(`/api/studies/${id}/waves`, ["pre"]).expect(422);
    expect(notObject.body.error.code).toBe("validation_failed");
    expect(Object.keys(notObject.body.error.details)).toEqual(["(root)"]);
    const noBody = await researcher.post(`/api/studies/${id}/waves`).expect(422);
    expect(noBody.body.error.code).toBe("validation_failed");
    expect(await t.db.select().from(waves)).toEqual([]);

    const first = await researcher.post(`/api/studies/${id}/waves`, { kind: "pre" }).expect(201);
    const second = await researcher.post(`/api/studies/${id}/waves`, { kind: "pre" }).expect(201);
    const post = await researcher.post(`/api/studies/${id}/waves`, { kind: "post", label: "After launch" }).expect(201);
    expect([first.body.label, second.body.label, post.body.label]).toEqual(["До кампании", "До кампании 2", "After launch"]);
  });

  it("names an unnamed tracking wave by the month after the last wave's", async () => {
    const t = await setup();
    const researcher = t.as("researcher");
    const { id } = await createStudy(t);
    const baseline = await researcher.post(`/api/studies/${id}/waves`, { kind: "pre", label: "Baseline" }).expect(201);
    // The baseline ran in late August (the study's zone is Moscow): the next month is September.
    await t.db.update(waves).set({ openedAt: new Date(Date.UTC(2026, 7, 24, 12)) }).where(eq(waves.id, baseline.body.id));
    const september = await researcher.post(`/api/studies/${id}/waves`, { kind: "tracking" }).expect(201);
    await t.db.update(waves).set({ openedAt: new Date(Date.UTC(2026, 8, 24, 12)) }).where(eq(waves.id, september.body.id));
    const october = await researcher.post(`/api/studies/${id}/waves`, { kind: "tracking" }).expect(201);
    const typed = await researcher.post(`/api/studies/${id}/waves`, { kind: "tracking", label: "Black Friday" }).expect(201);
    expect([september.body.label, october.body.label, typed.body.label]).toEqual(["Сентябрь 2026", "Октябрь 2026", "Black Friday"]);
  });
});

describe("JSON API: personal links", () => {
  it("creates single-use links with unique long tokens and refuses bad requests with the error shape", async () => {
    const t = await setup();
    const researcher = t.as("researcher");
    const { wave } = await openWave(t);
    const path = `/api/waves/${wave["id"]}/links`;

    const res = await researcher.post(path, { segment: "inactive", count: 5, kind: "personal" }).expect(201);
    const created = res.body.links as Json[];
    expect(created).toHaveLength(5);
    for (const link of created) {
      expect(link["token"]).toMatch(TOKEN);
      expect(link).toEqual({ segment: "inactive", token: link["token"], url: t.linkUrl(link["token"]) });
    }
    expect(new Set(created.map((l) => l["token"])).size).toBe(5);
    const stored = (await t.db.select().from(links)).filter((l) => l.kind === "personal");
    expect(stored.map((l) => l.token).sort()).toEqual(created.map((l) => l["token"]).sort());

    const refused: Array<[unknown, string, Record<string, unknown>]> = [
      [{ segment: "inactive", count: 0, kind: "personal" }, "validation_failed", { count: expect.any(String) }],
      [{ segment: "inactive", count: 10_001, kind: "personal" }, "validation_failed", { count: expect.any(String) }],
      [{ segment: "inactive", count: 2.5, kind: "personal" }, "validation_failed", { count: expect.any(String) }],
      [{ segment: "inactive", count: "5", kind: "personal" }, "validation_failed", { count: expect.any(String) }],
      [{ segment: "lurkers", count: 5, kind: "personal" }, "unknown_segment", { segment: "lurkers" }],
      [{ segment: "inactive", count: 5, kind: "open" }, "validation_failed", { kind: expect.any(String) }],
      [{ segment: "inactive", count: 5 }, "validation_failed", { kind: expect.any(String) }],
      [{ segment: "inactive", count: 5, kind: "personal", extra: 1 }, "validation_failed", { extra: "unknown field" }],
      [[1, 2], "validation_failed", { "(root)": expect.any(String) }],
    ];
    for (const [body, code, details] of refused) {
      const bad = await researcher.post(path, body).expect(422);
      expect(bad.body, JSON.stringify(body)).toEqual({ error: { code, message: "Some values are invalid.", details } });
    }
    const malformed = await researcher.post(path).set("Content-Type", "application/json").send('{"count": ').expect(400);
    expect(malformed.body.error.code).toBe("bad_request");

    // Nothing was created by the refused requests; the counts show per segment.
    const listed = await t.as("viewer").get(path).expect(200);
    expect(listed.body.personal).toEqual([
      { segment: "subscribers", total: 0, used: 0 },
      { segment: "active_unsubscribed", total: 0, used: 0 },
      { segment: "inactive", total: 5, used: 0 },
    ]);
    expect(listed.body.links.map((l: Json) => l["kind"])).toEqual(["open", "open", "open"]);
  });

  it("allows the maximum of 10,000 in one request", async () => {
    const t = await setup();
    const { wave } = await openWave(t);
    const res = await t.as("researcher").post(`/api/waves/${wave["id"]}/links`, { segment: "subscribers", count: 10_000, kind: "personal" }).expect(201);
    expect(res.body.links).toHaveLength(10_000);
    expect(new Set(res.body.links.map((l: Json) => l["token"])).size).toBe(10_000);
  });
});

describe("JSON API: study definition import", () => {
  it("answers 422 invalid_definition with every problem keyed by its JSON path, creating nothing", async () => {
    const t = await setup();
    const def = definitionJson({ brand: "" });
    def["questions"][0].options = [{ key: "acme_co", text: { en: "Acme" } }];
    def["questions"][1].colour = "red";
    def["questions"][2].key = "Fav";
    def["questions"][3].type = "essay";

    const res = await t.as("researcher").post("/api/studies", def).expect(422);
    expect(res.body.error.code).toBe("invalid_definition");
    expect(res.body.error.message).toBe("Some values are invalid.");
    expect(res.body.error.details).toEqual({
      brand: expect.any(String),
      "questions[0].options": expect.stringContaining("at least 2 options"),
      "questions[0].metric.positive[0]": expect.stringContaining("not an option key"),
      "questions[1].colour": "unknown field",
      "questions[2].key": expect.stringContaining("lower-case"),
      "questions[3].type": expect.any(String),
    });
    expect(await t.db.select().from(studies)).toEqual([]);
    const ru = await request(t.app).post("/api/studies").set("Authorization", `Bearer ${t.tokens.researcher}`).set("Accept-Language", "ru").send(def).expect(422);
    expect(ru.body.error).toEqual({ ...res.body.error, message: "Некоторые значения некорректны." });

    const root = await t.as("researcher").post("/api/studies", [definitionJson()]).expect(422);
    expect(root.body.error).toEqual({ code: "invalid_definition", message: "Some values are invalid.", details: { "(root)": expect.any(String) } });
    const empty = await t.as("researcher").post("/api/studies").expect(422);
    expect(empty.body.error.code).toBe("invalid_definition");
    expect(Object.keys(empty.body.error.details)).toEqual(["(root)"]);
    const duplicate = await t.as("researcher").post("/api/studies", definitionJson({ questions: [def["questions"][1], def["questions"][1]].map(({ colour: _c, ...q }: Json) => q) })).expect(422);
    expect(duplicate.body.error.details).toEqual({ "questions[1].key": 'duplicate question key "recall"' });
  });
});

describe("JSON API: authorization", () => {
  it("lets viewers read but not write, researchers and admins both, and nobody without a valid token", async () => {
    const t = await setup();
    const { study, wave } = await openWave(t);
    const writes: Array<[string, unknown]> = [
      ["/api/studies", definitionJson()],
      [`/api/studies/${study["id"]}/waves`, { kind: "post" }],
      [`/api/waves/${wave["id"]}/open`, undefined],
      [`/api/waves/${wave["id"]}/close`, undefined],
      [`/api/waves/${wave["id"]}/links`, { segment: "inactive", count: 1, kind: "personal" }],
    ];
    const reads = ["/api/me", "/api/studies", `/api/studies/${study["id"]}`, `/api/waves/${wave["id"]}/links`, `/api/waves/${wave["id"]}/progress`];
    const before = { studies: (await t.db.select().from(studies)).length, waves: (await t.db.select().from(waves)).length, links: (await t.db.select().from(links)).length };

    for (const [path, body] of writes) {
      const res = await t.as("viewer").post(path, body).expect(403);
      expect(res.body, path).toEqual({ error: { code: "forbidden", message: "Your role does not allow this action." } });
    }
    expect({ studies: (await t.db.select().from(studies)).length, waves: (await t.db.select().from(waves)).length, links: (await t.db.select().from(links)).length }).toEqual(before);
    expect(first(await t.db.select().from(waves))!.status).toBe("open");

    for (const path of reads) {
      const res = await t.as("viewer").get(path).expect(200);
      expect(res.headers["cache-control"], path).toBe("no-store");
    }

    for (const [path] of writes) {
      const none = await request(t.app).post(path).expect(401);
      expect(none.body, path).toEqual({ error: { code: "invalid_token", message: expect.any(String) } });
      expect(none.headers["www-authenticate"]).toMatch(/^Bearer/);
      await request(t.app).post(path).set("Authorization", "Bearer bl_thisIsNotARealTokenAtAll1234567").expect(401);
      await request(t.app).post(path).set("Authorization", `Basic ${t.tokens.researcher}`).expect(401);
    }
    for (const path of reads) {
      const wrong = await request(t.app).get(path).set("Authorization", `Bearer ${t.tokens.viewer}x`).expect(401);
      expect(wrong.body.error.code, path).toBe("invalid_token");
    }

    for (const role of ["researcher", "admin"] as const) {
      const created = await t.as(role).post("/api/studies", definitionJson({ name: `By ${role}` })).expect(201);
      const added = await t.as(role).post(`/api/studies/${created.body.id}/waves`, { kind: "pre" }).expect(201);
      const opened = await t.as(role).post(`/api/waves/${added.body.id}/open`).expect(200);
      expect(opened.body.links).toHaveLength(3);
      const personal = await t.as(role).post(`/api/waves/${added.body.id}/links`, { segment: "subscribers", count: 2, kind: "personal" }).expect(201);
      expect(personal.body.links).toHaveLength(2);
      expect((await t.as(role).post(`/api/waves/${added.body.id}/close`).expect(200)).body).toEqual({ status: "closed" });
      expect((await t.as(role).get(`/api/studies/${created.body.id}`).expect(200)).body.name).toBe(`By ${role}`);
    }
  });

  it("answers unknown and malformed ids with a JSON 404", async () => {
    const t = await setup();
    const { study, wave } = await openWave(t);
    const missing = [
      ["get", "/api/studies/9999"],
      ["get", "/api/studies/abc"],
      ["get", "/api/studies/1.5"],
      ["get", "/api/studies/0"],
      ["get", "/api/studies/-1"],
      ["get", `/api/studies/${study["id"]}0000000000000000000`],
      ["post", "/api/studies/9999/waves"],
      ["post", "/api/waves/9999/open"],
      ["post", "/api/waves/x/close"],
      ["get", "/api/waves/9999/links"],
      ["post", "/api/waves/9999/links"],
      ["get", `/api/waves/${wave["id"]}9/progress`],
      ["get", "/api/waves/1e3/progress"],
    ] as const;
    for (const [method, path] of missing) {
      const res = method === "get" ? await t.as("admin").get(path) : await t.as("admin").post(path, { kind: "pre", segment: "inactive", count: 1 });
      expect(res.status, path).toBe(404);
      expect(res.body, path).toEqual({ error: { code: "not_found", message: "There is nothing at this address. Check the link." } });
    }
    expect(await t.db.select().from(waves)).toHaveLength(1);
  });
});

describe("JSON API: study definition export", () => {
  it("returns the definition, which imported again gives an identical questionnaire", async () => {
    const t = await setup();
    const original = definitionJson({
      category: "Coffee",
      locales: ["ru", "en"],
      pageSize: 2,
      campaignCost: 150000,
      currency: "RUB",
      segments: [
        { key: "subscribers", label: { ru: "Подписчики", en: "Subscribers" }, role: "exposed" },
        { key: "control", label: { en: "Control" }, role: "control" },
      ],
    });
    original["questions"][0].help = { en: "Choose all that apply" };
    original["questions"].push({
      key: "unaided",
      type: "text",
      text: { en: "Which coffee brands come to mind?" },
      metric: { name: "unaided_awareness", match: ["acme", "акме"] },
    });
    const first = await createStudy(t, original);

    const exported = await t.as("viewer").get(`/api/studies/${first["id"]}`).expect(200);
    const { id, status, waves: waveList, ...definition } = exported.body as Json;
    expect(id).toBe(first["id"]);
    expect(status).toBe((await t.db.select().from(studies))[0]!.status);
    expect(waveList).toEqual([]);
    expect(definition).toMatchObject({
      name: "Spring campaign",
      brand: "Acme",
      category: "Coffee",
      locale: "ru",
      locales: ["ru", "en"],
      pageSize: 2,
      campaignCost: 150000,
      currency: "RUB",
      segments: original["segments"],
    });
    expect(definition["questions"].map((q: Json) => q["key"])).toEqual([...QUESTIONS, "unaided"]);
    expect(definition["questions"][0]).toMatchObject({ help: { en: "Choose all that apply" }, randomize: true, metric: { name: "aided_awareness", positive: ["acme"] } });
    expect(definition["questions"][2]).toMatchObject({ min: 1, max: 5, minLabel: { ru: "Плохо", en: "Badly" } });

    const second = await createStudy(t, definition);
    expect(second["id"]).not.toBe(first["id"]);
    expect(second["segments"].map((s: Json) => s["key"])).toEqual(["subscribers", "control"]);
    expect(await questionnaireShape(t.db, second["id"])).toEqual(await questionnaireShape(t.db, first["id"]));
    expect(await questionnaireShape(t.db, second["id"])).toHaveLength(5);

    const again = await t.as("viewer").get(`/api/studies/${second["id"]}`).expect(200);
    expect({ ...again.body, id }).toEqual(exported.body);
  });
});

describe("JSON API: link URLs", () => {
  it("are absolute under the configured base URL", async () => {
    const t = await setup();
    const app = express().use("/api", apiRoutes(t.db, { baseUrl: "https://survey.example.org" })).use(notFound).use(errorHandler());
    const auth = `Bearer ${t.tokens.researcher}`;
    const study = await request(app).post("/api/studies").set("Authorization", auth).send(definitionJson()).expect(201);
    const wave = await request(app).post(`/api/studies/${study.body.id}/waves`).set("Authorization", auth).send({ kind: "pre" }).expect(201);
    const opened = await request(app).post(`/api/waves/${wave.body.id}/open`).set("Authorization", auth).expect(200);
    for (const l of opened.body.links as Json[]) expect(l["url"]).toBe(`https://survey.example.org/s/${l["token"]}`);
    const personal = await request(app)
      .post(`/api/waves/${wave.body.id}/links`)
      .set("Authorization", auth)
      .send({ segment: "inactive", count: 1, kind: "personal" })
      .expect(201);
    expect(personal.body.links[0].url).toBe(`https://survey.example.org/s/${personal.body.links[0].token}`);
    const listed = await request(app).get(`/api/waves/${wave.body.id}/links`).set("Authorization", auth).expect(200);
    expect(listed.body.links.map((l: Json) => l["url"])).toEqual(opened.body.links.map((l: Json) => l["url"]));
    const missing = await request(app).get("/api/waves/999/links").set("Authorization", auth).expect(404);
    expect(missing.body.error.code).toBe("not_found");
  });
});
