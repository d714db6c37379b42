import request from "supertest";
import { beforeAll, describe, expect, it } from "vitest";
import type { Router } from "express";
import type { Db } from "../../db/client.js";
import {
  apiTokens,
  auditLog,
  links,
  options,
  questions,
  responses,
  segments,
  studies,
  users,
  waveSegments,
  waves,
  type Role,
} from "../../db/schema.js";
import { accountRoutes } from "../../server/routes/account.js";
import { adminRoutes } from "../../server/routes/admin.js";
import { apiRoutes } from "../../server/routes/api.js";
import { questionRoutes } from "../../server/routes/questions.js";
import { studyRoutes } from "../../server/routes/studies.js";
import { waveRoutes } from "../../server/routes/waves.js";
import { createApiToken } from "../../server/services/accounts.js";
import { createStudyFromDefinition, createWave, openWave } from "../../server/services/study-setup.js";
import { brandLiftDefinition } from "../fixtures/surveys.js";
import { PASSWORD, addUser, csrfFrom, freshApp, freshDb, loggedInAgent } from "../helpers.js";

/**
 * Who may do what: every researcher page and form, and every JSON API route, for anonymous
 * visitors, viewers, researchers and administrators. A refused request must change nothing.
 */

type Who = "anonymous" | Role;
type Form = Record<string, string | string[]>;
const RANK: Record<Who, number> = { anonymous: 0, viewer: 1, researcher: 2, admin: 3 };

/** Every table a workspace request could write (sessions and rate limits excepted), in full. */
function snapshot(db: Db) {
  return {
    users: db.select().from(users).all(),
    apiTokens: db.select().from(apiTokens).all(),
    auditLog: db.select().from(auditLog).all(),
    studies: db.select().from(studies).all(),
    segments: db.select().from(segments).all(),
    questions: db.select().from(questions).all(),
    options: db.select().from(options).all(),
    waves: db.select().from(waves).all(),
    waveSegments: db.select().from(waveSegments).all(),
    links: db.select().from(links).all(),
    responses: db.select().from(responses).all(),
  };
}

/** "METHOD /path" of every route a router declares (Express 5 keeps them in `router.stack`). */
function declaredRoutes(router: Router): string[] {
  const stack = (router as unknown as { stack: Array<{ route?: { path: string; methods: Record<string, boolean> } }> }).stack;
  return stack.flatMap((layer) => (layer.route ? Object.keys(layer.route.methods).map((m) => `${m.toUpperCase()} ${layer.route!.path}`) : []));
}

/**
 * A database with one user per role, an editable study, and a field study with an open wave
 * (its links) and a draft wave; `params` fill the route patterns.
 */
async function world() {
  const { app, db, config } = freshApp();
  const people = {
    admin: await addUser(db, "admin"),
    researcher: await addUser(db, "researcher"),
    viewer: await addUser(db, "viewer"),
  };
  const tokens = {
    admin: createApiToken(db, people.admin.id, "admin token"),
    researcher: createApiToken(db, people.researcher.id, "researcher token"),
    viewer: createApiToken(db, people.viewer.id, "viewer token"),
  };
  const study = createStudyFromDefinition(db, brandLiftDefinition(), people.researcher.id);
  const field = createStudyFromDefinition(db, brandLiftDefinition({ name: "Field" }), people.researcher.id);
  const openWaveRow = createWave(db, field.id, "pre", "Pre");
  const openLinks = openWave(db, openWaveRow, null);
  const draftWave = createWave(db, field.id, "post", "Post");
  const params = { studyId: study.id, key: "recall", waveId: openWaveRow.id, linkId: openLinks[0]!.id, draftWaveId: draftWave.id };
  return { app, db, config, people, tokens, params };
}
type World = Awaited<ReturnType<typeof world>>;

// ------------------------------------------------------------------------------------------------ pages

interface PageRoute {
  method: "GET" | "POST";
  /** The path exactly as the route file declares it. */
  pattern: string;
  /** The least role allowed. */
  role: Role;
  /** Status of an allowed request. */
  ok: number;
  /** The URL when the pattern's parameters are not enough. */
  url?: (w: World, who: Who) => string;
  form?: (w: World, who: Who) => Form;
}

const recallEdit: Form = {
  key: "recall",
  type: "single",
  text_ru: "Вы видели рекламу Акме?",
  text_en: "Have you seen Acme ads?",
  required: "1",
  option_rows: "2",
  o0_key: "yes",
  o0_ru: "Да",
  o0_en: "Yes",
  o1_key: "no",
  o1_ru: "Нет",
  o1_en: "No",
};

const PAGES: PageRoute[] = [
  { method: "GET", pattern: "/studies", role: "viewer", ok: 200 },
  { method: "GET", pattern: "/studies/new", role: "researcher", ok: 200 },
  { method: "POST", pattern: "/studies", role: "researcher", ok: 303, form: () => ({ name: "Blank", brand: "Acme", locale: "ru" }) },
  {
    method: "POST",
    pattern: "/studies/template",
    role: "researcher",
    ok: 303,
    form: () => ({ studyName: "From template", brand: "Acme", category: "", locale: "en", competitors: "Rival", advantages: "Fast" }),
  },
  { method: "POST", pattern: "/studies/import", role: "researcher", ok: 303, form: () => ({ definition: JSON.stringify(brandLiftDefinition({ name: "Imported" })) }) },
  { method: "GET", pattern: "/studies/:studyId", role: "viewer", ok: 200 },
  { method: "GET", pattern: "/studies/:studyId/export.json", role: "viewer", ok: 200 },
  { method: "POST", pattern: "/studies/:studyId/duplicate", role: "researcher", ok: 303 },
  { method: "POST", pattern: "/studies/:studyId/archive", role: "researcher", ok: 303 },
  { method: "GET", pattern: "/studies/:studyId/settings", role: "researcher", ok: 200 },
  {
    method: "POST",
    pattern: "/studies/:studyId/settings",
    role: "researcher",
    ok: 303,
    form: () => ({ name: "Renamed", brand: "Acme", category: "", defaultLocale: "ru", locales: ["ru", "en"], pageSize: "", campaignCost: "", costCurrency: "RUB" }),
  },
  // Researchers only: the key panels sign with (the settings page above shows it).
  { method: "POST", pattern: "/studies/:studyId/signing-secret/rotate", role: "researcher", ok: 303 },
  { method: "POST", pattern: "/studies/:studyId/segments", role: "researcher", ok: 303, form: () => ({ key: "control", labelRu: "Контроль", labelEn: "Control", role: "control" }) },
  { method: "GET", pattern: "/studies/:studyId/audit", role: "viewer", ok: 200 },
  { method: "GET", pattern: "/studies/:studyId/questions", role: "viewer", ok: 200 },
  { method: "GET", pattern: "/studies/:studyId/questions/new", role: "researcher", ok: 200 },
  { method: "POST", pattern: "/studies/:studyId/questions", role: "researcher", ok: 303, form: () => ({ ...recallEdit, key: "extra" }) },
  { method: "GET", pattern: "/studies/:studyId/questions/:key/edit", role: "researcher", ok: 200 },
  { method: "POST", pattern: "/studies/:studyId/questions/:key", role: "researcher", ok: 303, form: () => recallEdit },
  { method: "POST", pattern: "/studies/:studyId/questions/:key/move", role: "researcher", ok: 303, form: () => ({ direction: "up" }) },
  { method: "POST", pattern: "/studies/:studyId/questions/:key/page-break", role: "researcher", ok: 303, form: () => ({ on: "1" }) },
  { method: "POST", pattern: "/studies/:studyId/questions/:key/delete", role: "researcher", ok: 303, url: (w) => `/studies/${w.params.studyId}/questions/feedback/delete` },
  { method: "GET", pattern: "/studies/:studyId/preview", role: "viewer", ok: 200 },
  { method: "POST", pattern: "/studies/:studyId/waves", role: "researcher", ok: 303, form: () => ({ kind: "pre", label: "", target_subscribers: "100" }) },
  { method: "GET", pattern: "/waves/:waveId", role: "viewer", ok: 200 },
  { method: "GET", pattern: "/waves/:waveId/progress.json", role: "viewer", ok: 200 },
  { method: "POST", pattern: "/waves/:waveId/open", role: "researcher", ok: 303, url: (w) => `/waves/${w.params.draftWaveId}/open` },
  { method: "POST", pattern: "/waves/:waveId/close", role: "researcher", ok: 303 },
  { method: "POST", pattern: "/waves/:waveId/targets", role: "researcher", ok: 303, form: () => ({ target_subscribers: "50", audience_subscribers: "1000" }) },
  { method: "POST", pattern: "/waves/:waveId/links/:linkId", role: "researcher", ok: 303, form: () => ({ sourceLabel: "VK post", redirectComplete: "https://panel.example/done?rid={rid}" }) },
  { method: "POST", pattern: "/waves/:waveId/personal", role: "researcher", ok: 303, form: () => ({ segment: "inactive", count: "2" }) },
  { method: "GET", pattern: "/waves/:waveId/personal-links.csv", role: "researcher", ok: 200 },
  { method: "GET", pattern: "/admin/users", role: "admin", ok: 200 },
  { method: "POST", pattern: "/admin/users", role: "admin", ok: 303, form: (_w, who) => ({ name: "New person", email: `added-by-${who}@example.test`, role: "viewer", password: PASSWORD }) },
  // Every signed-in user manages their own API tokens, viewers included (they read results through the API).
  { method: "GET", pattern: "/account/tokens", role: "viewer", ok: 200 },
  { method: "POST", pattern: "/account/tokens", role: "viewer", ok: 201, form: () => ({ name: "report script" }) },
  {
    method: "POST",
    pattern: "/account/tokens/:id/revoke",
    role: "viewer",
    ok: 303,
    url: (w, who) => `/account/tokens/${w.tokens[who === "anonymous" ? "viewer" : who].record.id}/revoke`,
  },
];

function urlOf(route: PageRoute, w: World, who: Who): string {
  if (route.url) return route.url(w, who);
  return route.pattern.replace(/:(\w+)/g, (_, name: string) => String((w.params as Record<string, number | string>)[name]));
}

describe("authorization of the researcher pages", () => {
  it("covers every route of the workspace routers", () => {
    const db = freshDb();
    const declared = [studyRoutes(db), questionRoutes(db, "secret"), waveRoutes(db, ""), adminRoutes(db), accountRoutes(db)].flatMap(declaredRoutes);
    expect(PAGES.map((r) => `${r.method} ${r.pattern}`).sort()).toEqual(declared.sort());
  });

  describe("anonymous", () => {
    let w: World;
    let csrf: string;
    let anonymous: ReturnType<typeof request.agent>;
    beforeAll(async () => {
      w = await world();
      anonymous = request.agent(w.app);
      csrf = csrfFrom((await anonymous.get("/login").expect(200)).text);
    });

    it.each(PAGES)("$method $pattern", async (route) => {
      const url = urlOf(route, w, "anonymous");
      if (route.method === "GET") {
        const res = await request(w.app).get(url).set("Accept-Language", "en").expect(303);
        expect(res.headers["location"]).toBe(`/login?next=${encodeURIComponent(url)}`);
        return;
      }
      const before = snapshot(w.db);
      // Without a session or a token the CSRF check answers first…
      const bare = await request(w.app).post(url).set("Accept-Language", "en").type("form").send(route.form?.(w, "anonymous") ?? {}).expect(403);
      expect(bare.text).toContain("The form has expired");
      // …and with a valid token of the login page the role check sends the visitor to log in.
      const res = await anonymous.post(url).type("form").send({ ...(route.form?.(w, "anonymous") ?? {}), _csrf: csrf }).expect(303);
      expect(res.headers["location"]).toBe("/login?next=%2F");
      expect(snapshot(w.db)).toEqual(before);
    });
  });

  describe.each(["viewer", "researcher", "admin"] as const)("%s", (who) => {
    let w: World;
    let agent: ReturnType<typeof request.agent>;
    let csrf: string;
    beforeAll(async () => {
      w = await world();
      agent = await loggedInAgent(w.app, w.people[who].email);
      csrf = csrfFrom((await agent.get("/account/tokens").expect(200)).text);
    });

    it.each(PAGES)("$method $pattern", async (route) => {
      const url = urlOf(route, w, who);
      const allowed = RANK[who] >= RANK[route.role];
      const form = route.form?.(w, who) ?? {};
      const before = snapshot(w.db);

      if (route.method === "POST") {
        // Signed in but without the form's token: refused before anything else.
        const forged = await agent.post(url).set("Accept-Language", "en").type("form").send({ ...form, _csrf: "x".repeat(43) }).expect(403);
        expect(forged.text).toContain("The form has expired");
        await agent.post(url).type("form").send(form).expect(403);
        expect(snapshot(w.db)).toEqual(before);
      }

      const res = route.method === "GET" ? await agent.get(url).set("Accept-Language", "en") : await agent.post(url).set("Accept-Language", "en").type("form").send({ ...form, _csrf: csrf });
      if (!allowed) {
        expect(res.status).toBe(403);
        expect(res.text).toContain("Access denied");
        expect(snapshot(w.db)).toEqual(before);
        return;
      }
      expect(res.status, res.text.slice(0, 300)).toBe(route.ok);
      if (res.status === 303) expect(res.headers["location"]).not.toMatch(/^\/login/);
    });
  });

  it("does not let a form token of one user work for another", async () => {
    const w = await world();
    const researcher = await loggedInAgent(w.app, w.people.researcher.email);
    const viewer = await loggedInAgent(w.app, w.people.viewer.email);
    const viewerToken = csrfFrom((await viewer.get("/studies").expect(200)).text);
    const before = snapshot(w.db);
    await researcher.post(`/studies/${w.params.studyId}/archive`).type("form").send({ _csrf: viewerToken }).expect(403);
    await researcher.post("/studies").type("form").send({ name: "X", brand: "Y", locale: "ru", _csrf: viewerToken }).expect(403);
    expect(snapshot(w.db)).toEqual(before);
  });

  it("shows viewers no editing controls", async () => {
    const w = await world();
    const viewer = await loggedInAgent(w.app, w.people.viewer.email);
    const { studyId, waveId } = w.params;
    const pages = await Promise.all(
      ["/studies", `/studies/${studyId}`, `/studies/${studyId}/questions`, `/waves/${waveId}`].map((url) => viewer.get(url).expect(200)),
    );
    const forms = pages.flatMap((p) => [...p.text.matchAll(/<form method="post" action="([^"]+)"/g)].map((m) => m[1]));
    expect(forms.filter((action) => action !== "/logout")).toEqual([]);
    expect(pages.map((p) => p.text).join()).not.toContain("/questions/new");
  });
});

// ------------------------------------------------------------------------------------------------ JSON API

interface ApiRoute {
  method: "GET" | "POST";
  pattern: string;
  role: Role;
  ok: number;
  url: (w: World) => string;
  body?: object;
}

const definitionJson = () => JSON.parse(JSON.stringify(brandLiftDefinition({ name: "Via API" }))) as object;

const API: ApiRoute[] = [
  { method: "GET", pattern: "/me", role: "viewer", ok: 200, url: () => "/api/me" },
  { method: "GET", pattern: "/studies", role: "viewer", ok: 200, url: () => "/api/studies" },
  { method: "POST", pattern: "/studies", role: "researcher", ok: 201, url: () => "/api/studies", body: definitionJson() },
  { method: "GET", pattern: "/studies/:id", role: "viewer", ok: 200, url: (w) => `/api/studies/${w.params.studyId}` },
  { method: "GET", pattern: "/studies/:id/signing-secret", role: "researcher", ok: 200, url: (w) => `/api/studies/${w.params.studyId}/signing-secret` },
  { method: "POST", pattern: "/studies/:id/signing-secret/rotate", role: "researcher", ok: 200, url: (w) => `/api/studies/${w.params.studyId}/signing-secret/rotate` },
  { method: "POST", pattern: "/studies/:id/waves", role: "researcher", ok: 201, url: (w) => `/api/studies/${w.params.studyId}/waves`, body: { kind: "pre" } },
  { method: "POST", pattern: "/waves/:id/open", role: "researcher", ok: 200, url: (w) => `/api/waves/${w.params.draftWaveId}/open` },
  { method: "GET", pattern: "/waves/:id/links", role: "viewer", ok: 200, url: (w) => `/api/waves/${w.params.waveId}/links` },
  { method: "POST", pattern: "/waves/:id/links", role: "researcher", ok: 201, url: (w) => `/api/waves/${w.params.waveId}/links`, body: { segment: "inactive", count: 2, kind: "personal" } },
  { method: "GET", pattern: "/waves/:id/progress", role: "viewer", ok: 200, url: (w) => `/api/waves/${w.params.waveId}/progress` },
  { method: "POST", pattern: "/waves/:id/close", role: "researcher", ok: 200, url: (w) => `/api/waves/${w.params.waveId}/close` },
];

describe("authorization of the JSON API", () => {
  // The API grows with read-only downloads owned elsewhere: every route it declares, listed here or
  // not, must refuse callers without a token; the role matrix below covers the workspace routes.
  const declared = declaredRoutes(apiRoutes(freshDb()));

  it("tests only routes the API router declares", () => {
    expect(declared).toEqual(expect.arrayContaining(API.map((r) => `${r.method} ${r.pattern}`)));
  });

  it.each(declared)("%s refuses a caller without a valid token (401)", async (route) => {
    const { app } = freshApp();
    const [method, pattern] = route.split(" ") as ["GET" | "POST", string];
    const url = `/api${pattern.replace(/:\w+/g, "1")}`;
    for (const auth of [undefined, "Bearer bl_thisIsNotARealTokenAtAll1234567"]) {
      let req = method === "GET" ? request(app).get(url) : request(app).post(url).send({});
      if (auth) req = req.set("Authorization", auth);
      const res = await req.expect(401);
      expect(res.body.error.code).toBe("invalid_token");
    }
  });

  describe.each(["anonymous", "viewer", "researcher", "admin"] as const)("%s", (who) => {
    let w: World;
    beforeAll(async () => {
      w = await world();
    });

    it.each(API)("$method /api$pattern", async (route) => {
      const url = route.url(w);
      const before = snapshot(w.db);
      let req = (route.method === "GET" ? request(w.app).get(url) : request(w.app).post(url)).set("Accept-Language", "en");
      if (who !== "anonymous") req = req.set("Authorization", `Bearer ${w.tokens[who].token}`);
      const res = await (route.body ? req.send(route.body) : req);

      if (who === "anonymous") {
        expect(res.status).toBe(401);
        expect(res.body.error.code).toBe("invalid_token");
      } else if (RANK[who] < RANK[route.role]) {
        expect(res.status).toBe(403);
        expect(res.body).toEqual({ error: { code: "forbidden", message: "Your role does not allow this action." } });
      } else {
        expect(res.status, JSON.stringify(res.body)).toBe(route.ok);
        return;
      }
      // Refused: nothing written, apart from the token's "last used" time.
      const after = snapshot(w.db);
      expect({ ...after, apiTokens: after.apiTokens.map(({ lastUsedAt: _, ...t }) => t) }).toEqual({
        ...before,
        apiTokens: before.apiTokens.map(({ lastUsedAt: _, ...t }) => t),
      });
    });
  });

  it("ignores the session cookie (no CSRF exposure) and pages ignore Bearer tokens", async () => {
    const w = await world();
    const researcher = await loggedInAgent(w.app, w.people.researcher.email);
    const before = snapshot(w.db);
    const api = await researcher.post("/api/studies").send(definitionJson()).expect(401);
    expect(api.body.error.code).toBe("invalid_token");
    await researcher.get("/api/studies").expect(401);
    expect(snapshot(w.db)).toEqual(before);

    const page = await request(w.app).get("/studies").set("Authorization", `Bearer ${w.tokens.researcher.token}`).expect(303);
    expect(page.headers["location"]).toBe("/login?next=%2Fstudies");
  });
});
