import request from "supertest";
import { inContentOrder } from "../support/sql.js";
import { beforeAll, describe, expect, it } from "vitest";
import type { Router } from "express";
import { first, type Db } from "../../db/client.js";
import {
  apiTokens,
  auditLog,
  jobs,
  kpis,
  links,
  memberships,
  options,
  profileMargins,
  questions,
  responses,
  segments,
  studies,
  teams,
  users,
  waveNotes,
  waveSegments,
  waves,
  type AccountKind as Role,
} from "../../db/schema.js";
import { eq } from "drizzle-orm";
import { appendKpi } from "../../db/queries/kpis.js";
import { insertWaveNotes } from "../../db/queries/wave-notes.js";
import { defaultTeam, insertTeam, setMembership } from "../../db/queries/teams.js";
import { insertSession } from "../../db/queries/sessions.js";
import { runJobsUntilIdle } from "../../server/jobs/runner.js";
import { sha256 } from "../../server/domain/secrets.js";
import { sessionHandle } from "../../server/services/account-management.js";
import { audienceRoutes } from "../../server/routes/audience.js";
import { authRoutes } from "../../server/routes/auth.js";
import { exportRoutes } from "../../server/routes/exports.js";
import { healthRoutes } from "../../server/routes/health.js";
import { homeRoutes } from "../../server/routes/home.js";
import { plannerRoutes } from "../../server/routes/planner.js";
import { qualityRoutes } from "../../server/routes/quality.js";
import { respondRoutes } from "../../server/routes/respond.js";
import { resultRoutes } from "../../server/routes/results.js";
import { accountRoutes } from "../../server/routes/account.js";
import { adminRoutes } from "../../server/routes/admin.js";
import { apiRoutes } from "../../server/routes/api.js";
import { questionRoutes } from "../../server/routes/questions.js";
import { studyRoutes } from "../../server/routes/studies.js";
import { teamRoutes } from "../../server/routes/teams.js";
import { waveRoutes } from "../../server/routes/waves.js";
import { weightingRoutes } from "../../server/routes/weighting.js";
import { loadQuestionnaire } from "../../db/queries/questionnaire.js";
import { listSegments } from "../../db/queries/studies.js";
import type { StudyDefinition } from "../../server/domain/study-definition.js";
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
const RANK: Record<Who, number> = { anonymous: 0, viewer: 1, researcher: 2, owner: 3, admin: 4 };

/** Every table a workspace request could write (sessions and rate limits excepted), in full. */
async function snapshot(db: Db) {
  return {
    users: inContentOrder(await db.select().from(users)),
    teams: inContentOrder(await db.select().from(teams)),
    memberships: inContentOrder(await db.select().from(memberships)),
    apiTokens: inContentOrder(await db.select().from(apiTokens)),
    auditLog: inContentOrder(await db.select().from(auditLog)),
    studies: inContentOrder(await db.select().from(studies)),
    segments: inContentOrder(await db.select().from(segments)),
    questions: inContentOrder(await db.select().from(questions)),
    options: inContentOrder(await db.select().from(options)),
    waves: inContentOrder(await db.select().from(waves)),
    waveSegments: inContentOrder(await db.select().from(waveSegments)),
    links: inContentOrder(await db.select().from(links)),
    responses: inContentOrder(await db.select().from(responses)),
    // A refused request queues no background work either.
    jobs: inContentOrder(await db.select().from(jobs)),
    profileMargins: inContentOrder(await db.select().from(profileMargins)),
    kpis: inContentOrder(await db.select().from(kpis)),
    waveNotes: inContentOrder(await db.select().from(waveNotes)),
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
  // Team A (the default team) owns the studies below; team B is another brand of the same agency.
  const otherTeam = await insertTeam(db, "Other brand");
  const people = {
    admin: await addUser(db, "admin"),
    owner: await addUser(db, "owner"),
    researcher: await addUser(db, "researcher"),
    viewer: await addUser(db, "viewer"),
  };
  const outsiders = {
    owner: await addUser(db, "owner", "owner-b@example.test", otherTeam.id),
    researcher: await addUser(db, "researcher", "researcher-b@example.test", otherTeam.id),
    viewer: await addUser(db, "viewer", "viewer-b@example.test", otherTeam.id),
  };
  const tokens = {
    admin: await createApiToken(db, people.admin.id, "admin token"),
    owner: await createApiToken(db, people.owner.id, "owner token"),
    researcher: await createApiToken(db, people.researcher.id, "researcher token"),
    viewer: await createApiToken(db, people.viewer.id, "viewer token"),
  };
  const outsiderTokens = {
    owner: await createApiToken(db, outsiders.owner.id, "owner B token"),
    researcher: await createApiToken(db, outsiders.researcher.id, "researcher B token"),
    viewer: await createApiToken(db, outsiders.viewer.id, "viewer B token"),
  };
  // Team B's own study: outsiders are real members with work of their own, not users without a team.
  const theirs = await createStudyFromDefinition(db, brandLiftDefinition({ name: "Theirs" }), outsiders.researcher.id, { teamId: otherTeam.id });
  const study = await createStudyFromDefinition(db, withProfile(), people.researcher.id);
  const field = await createStudyFromDefinition(db, brandLiftDefinition({ name: "Field" }), people.researcher.id);
  const openWaveRow = await createWave(db, field.id, "pre", "Pre");
  const openLinks = await openWave(db, openWaveRow, null);
  const draftWave = await createWave(db, field.id, "post", "Post");
  const teamId = (await defaultTeam(db)).id;
  // A note on the open wave's period and a KPI of the editable study, for the forms that change or remove them.
  const [note] = await insertWaveNotes(db, field.id, [{ waveLabel: "Pre", kind: "post", text: "Launch post", date: null, amount: null, currency: null }]);
  const kpi = await appendKpi(db, study.id, { metric: "aided_awareness", segmentId: (await listSegments(db, study.id))[0]!.id, kind: "lift", target: 0.05, byWave: "Month 3" });
  const params = { studyId: study.id, key: "recall", waveId: openWaveRow.id, linkId: openLinks[0]!.id, draftWaveId: draftWave.id, teamId, noteId: note!.id, kpiId: kpi.id };
  // The weighting targets a delete form names: the inactive audience's gender, for every wave.
  const marginTarget = {
    segment: String((await listSegments(db, study.id)).find((x) => x.key === "inactive")!.id),
    wave: "",
    question: String((await loadQuestionnaire(db, study.id)).find((q) => q.key === "gender")!.id),
  };
  return { marginTarget, app, db, config, people, tokens, outsiders, outsiderTokens, theirs, params };
}
type World = Awaited<ReturnType<typeof world>>;

/** The fixture study with a profile question (gender) and weighting targets for two segments. */
function withProfile(): StudyDefinition {
  const base = brandLiftDefinition();
  return brandLiftDefinition({
    questions: [
      ...base.questions,
      {
        key: "gender",
        type: "single",
        required: false,
        randomize: false,
        profile: true,
        text: { ru: "Ваш пол", en: "Your gender" },
        options: [
          { key: "female", text: { ru: "Женский", en: "Female" }, exclusive: false, pinned: false, attentionCheck: false },
          { key: "male", text: { ru: "Мужской", en: "Male" }, exclusive: false, pinned: false, attentionCheck: false },
          { key: "prefer_not", text: { ru: "Не скажу", en: "Prefer not to say" }, exclusive: false, pinned: false, attentionCheck: false },
        ],
      },
    ],
    margins: [
      { segment: "subscribers", wave: null, variable: "gender", shares: { female: 0.6, male: 0.4 } },
      { segment: "inactive", wave: null, variable: "gender", shares: { female: 0.5, male: 0.5 } },
    ],
  });
}

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
  url?: (w: World, who: Who) => string | Promise<string>;
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
  { method: "GET", pattern: "/studies/:studyId/weighting", role: "viewer", ok: 200 },
  {
    method: "POST",
    pattern: "/studies/:studyId/weighting",
    role: "researcher",
    ok: 303,
    form: () => ({ margins: "segment,wave,variable,level,share\nsubscribers,,gender,female,55%\nsubscribers,,gender,male,45%\n" }),
  },
  { method: "POST", pattern: "/studies/:studyId/weighting/delete", role: "researcher", ok: 303, form: (w) => w.marginTarget },
  { method: "POST", pattern: "/studies/:studyId/waves", role: "researcher", ok: 303, form: () => ({ kind: "pre", label: "", target_subscribers: "100" }) },
  { method: "GET", pattern: "/waves/:waveId", role: "viewer", ok: 200 },
  { method: "GET", pattern: "/waves/:waveId/progress.json", role: "viewer", ok: 200 },
  { method: "POST", pattern: "/waves/:waveId/open", role: "researcher", ok: 303, url: (w) => `/waves/${w.params.draftWaveId}/open` },
  { method: "POST", pattern: "/waves/:waveId/close", role: "researcher", ok: 303 },
  { method: "POST", pattern: "/waves/:waveId/targets", role: "researcher", ok: 303, form: () => ({ target_subscribers: "50", audience_subscribers: "1000" }) },
  { method: "POST", pattern: "/waves/:waveId/links/:linkId", role: "researcher", ok: 303, form: () => ({ sourceLabel: "VK post", redirectComplete: "https://panel.example/done?rid={rid}" }) },
  { method: "POST", pattern: "/waves/:waveId/personal", role: "researcher", ok: 303, form: () => ({ segment: "inactive", count: "2" }) },
  {
    method: "GET",
    pattern: "/waves/:waveId/personal-links.csv",
    role: "researcher",
    ok: 200,
    // The links asked for above are made in the background: the list is served once they all are.
    url: async (w) => {
      await runJobsUntilIdle(w.db);
      return `/waves/${w.params.waveId}/personal-links.csv`;
    },
  },
  // Notes on the work of the wave's period.
  { method: "POST", pattern: "/waves/:waveId/notes", role: "researcher", ok: 303, form: () => ({ kind: "spend", text: "Seeding", amount: "1000", currency: "RUB" }) },
  { method: "POST", pattern: "/waves/:waveId/notes/:noteId", role: "researcher", ok: 303, form: () => ({ kind: "post", text: "Launch reel" }) },
  { method: "POST", pattern: "/waves/:waveId/notes/:noteId/delete", role: "researcher", ok: 303 },
  // KPIs on the settings page.
  { method: "POST", pattern: "/studies/:studyId/kpis", role: "researcher", ok: 303, form: () => ({ kpiMetric: "aided_awareness", kpiSegment: "inactive", kpiKind: "level", kpiValue: "40", kpiBy: "Month 2" }) },
  { method: "POST", pattern: "/studies/:studyId/kpis/:kpiId/delete", role: "researcher", ok: 303 },
  { method: "GET", pattern: "/admin/users", role: "admin", ok: 200 },
  { method: "POST", pattern: "/admin/users", role: "admin", ok: 303, form: (_w, who) => ({ name: "New person", email: `added-by-${who}@example.test`, role: "viewer", password: PASSWORD }) },
  // Stopping a leaked link, and letting it answer again.
  { method: "POST", pattern: "/waves/:waveId/links/:linkId/disable", role: "researcher", ok: 303 },
  { method: "POST", pattern: "/waves/:waveId/links/:linkId/enable", role: "researcher", ok: 303 },
  // Administrators manage every account (here team B's viewer) and the teams.
  { method: "GET", pattern: "/admin/users/:userId", role: "admin", ok: 200, url: (w) => `/admin/users/${w.outsiders.viewer.id}` },
  { method: "POST", pattern: "/admin/users/:userId/disable", role: "admin", ok: 303, url: (w) => `/admin/users/${w.outsiders.viewer.id}/disable` },
  { method: "POST", pattern: "/admin/users/:userId/enable", role: "admin", ok: 303, url: (w) => `/admin/users/${w.outsiders.viewer.id}/enable` },
  { method: "POST", pattern: "/admin/users/:userId/admin", role: "admin", ok: 303, url: (w) => `/admin/users/${w.outsiders.viewer.id}/admin`, form: () => ({ on: "1" }) },
  {
    method: "POST",
    pattern: "/admin/users/:userId/password",
    role: "admin",
    ok: 303,
    url: (w) => `/admin/users/${w.outsiders.viewer.id}/password`,
    form: () => ({ password: "a new password for them" }),
  },
  {
    method: "POST",
    pattern: "/admin/users/:userId/teams",
    role: "admin",
    ok: 303,
    url: (w) => `/admin/users/${w.outsiders.viewer.id}/teams`,
    form: (w) => ({ team: String(w.params.teamId), role: "researcher" }),
  },
  {
    method: "POST",
    pattern: "/admin/users/:userId/teams/:teamId/remove",
    role: "admin",
    ok: 303,
    url: (w) => `/admin/users/${w.outsiders.viewer.id}/teams/${w.theirs.teamId}/remove`,
  },
  { method: "GET", pattern: "/admin/teams", role: "admin", ok: 200 },
  { method: "POST", pattern: "/admin/teams", role: "admin", ok: 303, form: (_w, who) => ({ name: `Team made by ${who}` }) },
  { method: "POST", pattern: "/admin/teams/:teamId", role: "admin", ok: 303, url: (w) => `/admin/teams/${w.theirs.teamId}`, form: (_w, who) => ({ name: `Renamed by ${who}` }) },
  // A team's members are managed by its owners (team A here; team B's page is a 404 to them, see below).
  { method: "GET", pattern: "/teams/:teamId", role: "owner", ok: 200 },
  { method: "POST", pattern: "/teams/:teamId/members", role: "owner", ok: 303, form: (w) => ({ email: w.outsiders.researcher.email, role: "viewer" }) },
  {
    method: "POST",
    pattern: "/teams/:teamId/members/:userId",
    role: "owner",
    ok: 303,
    url: (w) => `/teams/${w.params.teamId}/members/${w.people.viewer.id}`,
    form: () => ({ role: "researcher" }),
  },
  { method: "POST", pattern: "/teams/:teamId/members/:userId/remove", role: "owner", ok: 303, url: (w) => `/teams/${w.params.teamId}/members/${w.people.viewer.id}/remove` },
  // Every signed-in user manages their own account: password, sessions, API tokens.
  { method: "GET", pattern: "/account", role: "viewer", ok: 200 },
  {
    method: "POST",
    pattern: "/account/password",
    role: "viewer",
    ok: 303,
    form: () => ({ current: PASSWORD, password: "another long password", confirm: "another long password" }),
  },
  {
    method: "POST",
    pattern: "/account/sessions/:sessionId/end",
    role: "viewer",
    ok: 303,
    // Another session of the same user (ending the one in use would log the test's agent out).
    url: async (w, who) => {
      const idHash = sha256(`second browser of ${who} ${Math.random()}`);
      const now = new Date();
      await insertSession(w.db, idHash, w.people[who === "anonymous" ? "viewer" : who].id, now, new Date(now.getTime() + 3_600_000));
      return `/account/sessions/${sessionHandle(idHash)}/end`;
    },
  },
  { method: "POST", pattern: "/account/sessions/end-others", role: "viewer", ok: 303 },
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

async function urlOf(route: PageRoute, w: World, who: Who): Promise<string> {
  if (route.url) return route.url(w, who);
  return route.pattern.replace(/:(\w+)/g, (_, name: string) => String((w.params as Record<string, number | string>)[name]));
}

describe("authorization of the researcher pages", () => {
  it("covers every route of the workspace routers", () => {
    const db = freshDb();
    const declared = [studyRoutes(db), questionRoutes(db, "secret"), waveRoutes(db, ""), weightingRoutes(db), adminRoutes(db), teamRoutes(db), accountRoutes(db)].flatMap(declaredRoutes);
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
      const url = await urlOf(route, w, "anonymous");
      if (route.method === "GET") {
        const res = await request(w.app).get(url).set("Accept-Language", "en").expect(303);
        expect(res.headers["location"]).toBe(`/login?next=${encodeURIComponent(url)}`);
        return;
      }
      const before = await snapshot(w.db);
      // Without a session or a token the CSRF check answers first…
      const bare = await request(w.app).post(url).set("Accept-Language", "en").type("form").send(route.form?.(w, "anonymous") ?? {}).expect(403);
      expect(bare.text).toContain("The form has expired");
      // …and with a valid token of the login page the role check sends the visitor to log in.
      const res = await anonymous.post(url).type("form").send({ ...(route.form?.(w, "anonymous") ?? {}), _csrf: csrf }).expect(303);
      expect(res.headers["location"]).toBe("/login?next=%2F");
      expect(await snapshot(w.db)).toEqual(before);
    });
  });

  describe.each(["viewer", "researcher", "owner", "admin"] as const)("%s", (who) => {
    let w: World;
    let agent: ReturnType<typeof request.agent>;
    let csrf: string;
    beforeAll(async () => {
      w = await world();
      agent = await loggedInAgent(w.app, w.people[who].email);
      csrf = csrfFrom((await agent.get("/account/tokens").expect(200)).text);
    });

    it.each(PAGES)("$method $pattern", async (route) => {
      const url = await urlOf(route, w, who);
      const allowed = RANK[who] >= RANK[route.role];
      const form = route.form?.(w, who) ?? {};
      const before = await snapshot(w.db);

      if (route.method === "POST") {
        // Signed in but without the form's token: refused before anything else.
        const forged = await agent.post(url).set("Accept-Language", "en").type("form").send({ ...form, _csrf: "x".repeat(43) }).expect(403);
        expect(forged.text).toContain("The form has expired");
        await agent.post(url).type("form").send(form).expect(403);
        expect(await snapshot(w.db)).toEqual(before);
      }

      const res = route.method === "GET" ? await agent.get(url).set("Accept-Language", "en") : await agent.post(url).set("Accept-Language", "en").type("form").send({ ...form, _csrf: csrf });
      if (!allowed) {
        expect(res.status).toBe(403);
        expect(res.text).toContain("Access denied");
        expect(await snapshot(w.db)).toEqual(before);
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
    const before = await snapshot(w.db);
    await researcher.post(`/studies/${w.params.studyId}/archive`).type("form").send({ _csrf: viewerToken }).expect(403);
    await researcher.post("/studies").type("form").send({ name: "X", brand: "Y", locale: "ru", _csrf: viewerToken }).expect(403);
    expect(await snapshot(w.db)).toEqual(before);
  });

  it("shows viewers no editing controls", async () => {
    const w = await world();
    const viewer = await loggedInAgent(w.app, w.people.viewer.email);
    const { studyId, waveId } = w.params;
    const pages = await Promise.all(
      ["/studies", `/studies/${studyId}`, `/studies/${studyId}/questions`, `/studies/${studyId}/weighting`, `/waves/${waveId}`].map((url) => viewer.get(url).expect(200)),
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
  { method: "GET", pattern: "/studies/:id/jobs", role: "viewer", ok: 200, url: (w) => `/api/studies/${w.params.studyId}/jobs` },
  { method: "GET", pattern: "/studies/:id/margins", role: "viewer", ok: 200, url: (w) => `/api/studies/${w.params.studyId}/margins` },
  {
    method: "POST",
    pattern: "/studies/:id/margins",
    role: "researcher",
    ok: 200,
    url: (w) => `/api/studies/${w.params.studyId}/margins`,
    body: { margins: [{ segment: "subscribers", wave: null, variable: "gender", shares: { female: 0.55, male: "45%" } }] },
  },
  { method: "GET", pattern: "/waves/:id/notes", role: "viewer", ok: 200, url: (w) => `/api/waves/${w.params.waveId}/notes` },
  { method: "POST", pattern: "/waves/:id/notes", role: "researcher", ok: 201, url: (w) => `/api/waves/${w.params.waveId}/notes`, body: { kind: "post", text: "Reel", date: "2027-03-10" } },
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

  describe.each(["anonymous", "viewer", "researcher", "owner", "admin"] as const)("%s", (who) => {
    let w: World;
    beforeAll(async () => {
      w = await world();
    });

    it.each(API)("$method /api$pattern", async (route) => {
      const url = route.url(w);
      const before = await snapshot(w.db);
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
      const after = await snapshot(w.db);
      expect({ ...after, apiTokens: after.apiTokens.map(({ lastUsedAt: _, ...t }) => t) }).toEqual({
        ...before,
        apiTokens: before.apiTokens.map(({ lastUsedAt: _, ...t }) => t),
      });
    });
  });

  it("ignores the session cookie (no CSRF exposure) and pages ignore Bearer tokens", async () => {
    const w = await world();
    const researcher = await loggedInAgent(w.app, w.people.researcher.email);
    const before = await snapshot(w.db);
    const api = await researcher.post("/api/studies").send(definitionJson()).expect(401);
    expect(api.body.error.code).toBe("invalid_token");
    await researcher.get("/api/studies").expect(401);
    expect(await snapshot(w.db)).toEqual(before);

    const page = await request(w.app).get("/studies").set("Authorization", `Bearer ${w.tokens.researcher.token}`).expect(303);
    expect(page.headers["location"]).toBe("/login?next=%2Fstudies");
  });
});

// ------------------------------------------------------------------------------------------------ teams

/** Every route of every router, as "METHOD /path" (API routes under /api). */
function everyRoute(db: Db): string[] {
  const web = [
    homeRoutes(db),
    authRoutes(db, "secret"),
    studyRoutes(db),
    exportRoutes(db),
    plannerRoutes(db),
    questionRoutes(db, "secret"),
    waveRoutes(db, ""),
    resultRoutes(db, ""),
    audienceRoutes(db),
    weightingRoutes(db),
    qualityRoutes(db),
    adminRoutes(db),
    teamRoutes(db),
    accountRoutes(db),
    respondRoutes(db, "secret", 60),
    healthRoutes(db),
  ].flatMap(declaredRoutes);
  const api = declaredRoutes(apiRoutes(db)).map((r) => r.replace(" ", " /api"));
  return [...web, ...api];
}

/** Routes about one study: its id, or one of its waves' ids, is the first segment after /studies or /waves. */
const STUDY_SCOPED = /^(GET|POST|PUT|DELETE) (\/api)?\/(studies\/:(studyId|id)|waves\/:(waveId|id))(\/|$)/;

/**
 * Routes that name no study. Each is either public by design (respondents, share links, login) or
 * lists only the caller's own things; a new route outside /studies/:id and /waves/:id must be added
 * here deliberately, with its own check.
 */
const NOT_STUDY_SCOPED = [
  "GET /",
  "GET /healthz",
  "GET /login",
  "POST /login",
  "POST /logout",
  "GET /setup",
  "POST /setup",
  "GET /studies",
  "POST /studies",
  "GET /studies/new",
  "POST /studies/template",
  "POST /studies/import",
  "GET /s/:token",
  "POST /s/:token",
  "GET /s/:token/thanks",
  "GET /r/:token",
  // A monthly report through a share link: the link's study only (routes/monthly.ts).
  "GET /r/:token/months/:waveId",
  "GET /admin/users",
  "POST /admin/users",
  // Accounts and teams: administrators only (requireRole("admin")).
  "GET /admin/users/:userId",
  "POST /admin/users/:userId/disable",
  "POST /admin/users/:userId/enable",
  "POST /admin/users/:userId/admin",
  "POST /admin/users/:userId/password",
  "POST /admin/users/:userId/teams",
  "POST /admin/users/:userId/teams/:teamId/remove",
  "GET /admin/teams",
  "POST /admin/teams",
  "POST /admin/teams/:teamId",
  // A team's page: its owners and administrators; another team's is a 404 (teams.ts teamFrom).
  "GET /teams/:teamId",
  "POST /teams/:teamId/members",
  "POST /teams/:teamId/members/:userId",
  "POST /teams/:teamId/members/:userId/remove",
  // The signed-in user's own account.
  "GET /account",
  "POST /account/password",
  "POST /account/sessions/:sessionId/end",
  "POST /account/sessions/end-others",
  "GET /account/tokens",
  "POST /account/tokens",
  "POST /account/tokens/:id/revoke",
  "GET /api/me",
  "GET /api/studies",
  "POST /api/studies",
];

/** Fills a route pattern with the ids of team A's field study (its open wave, a link, a question). */
function urlForTeamA(pattern: string, w: World): string {
  const values: Record<string, string | number> = { studyId: w.params.studyId, waveId: w.params.waveId, linkId: w.params.linkId, key: "recall", shareId: 1, aliasId: 1, noteId: w.params.noteId };
  return pattern.replace(/^(GET|POST|PUT|DELETE) /, "").replace(/:(\w+)/g, (_, name: string) => {
    if (name === "id") return String(pattern.includes("/waves/") ? w.params.waveId : w.params.studyId);
    return String(values[name] ?? 1);
  });
}

/** A form that would change something if the route let the caller through (the pages matrix's, else a generic one). */
function formFor(route: string, w: World): Form {
  const page = PAGES.find((p) => `${p.method} ${p.pattern}` === route);
  return page?.form?.(w, "researcher") ?? { name: "Changed", key: "changed", segment: "inactive", count: "2", to: "archived", alias: "acme", decision: "exclude", responseIds: "1" };
}

describe("teams: another team's study is a 404, as if it did not exist", () => {
  it("sorts every route into about-one-study (checked by team) or named here as about no study", () => {
    const routes = everyRoute(freshDb());
    const unsorted = routes.filter((r) => !STUDY_SCOPED.test(r) && !NOT_STUDY_SCOPED.includes(r));
    expect(unsorted).toEqual([]);
    expect(routes.filter((r) => STUDY_SCOPED.test(r)).length).toBeGreaterThan(60);
  });

  describe.each(["viewer", "researcher", "owner"] as const)("a team B %s", (who) => {
    let w: World;
    let agent: ReturnType<typeof request.agent>;
    let csrf: string;
    const scoped = everyRoute(freshDb()).filter((r) => STUDY_SCOPED.test(r));
    beforeAll(async () => {
      w = await world();
      agent = await loggedInAgent(w.app, w.outsiders[who].email);
      csrf = csrfFrom((await agent.get("/account/tokens").expect(200)).text);
    });

    it.each(scoped)("%s", async (route) => {
      const url = urlForTeamA(route, w);
      const before = await snapshot(w.db);
      const form = formFor(route, w);
      let res;
      if (url.startsWith("/api/")) {
        const method = route.split(" ")[0]!.toLowerCase() as "get" | "post" | "put" | "delete";
        const req = (method === "get" ? request(w.app).get(url) : request(w.app)[method](url).send(form)).set("Accept-Language", "en");
        res = await req.set("Authorization", `Bearer ${w.outsiderTokens[who].token}`);
        expect(res.body.error?.code, url).toBe("not_found");
      } else {
        res = route.startsWith("GET") ? await agent.get(url).set("Accept-Language", "en") : await agent.post(url).set("Accept-Language", "en").type("form").send({ ...form, _csrf: csrf });
        expect(res.text, url).toContain("Page not found");
        // The page gives nothing of the study away: not its name, not its brand.
        expect(res.text).not.toContain("Field");
      }
      expect(res.status, url).toBe(404);
      const after = await snapshot(w.db);
      expect({ ...after, apiTokens: after.apiTokens.map(({ lastUsedAt: _, ...t }) => t) }).toEqual({ ...before, apiTokens: before.apiTokens.map(({ lastUsedAt: _, ...t }) => t) });
    });

    it("reaches their own team's study, and lists only it", async () => {
      await agent.get(`/studies/${w.theirs.id}`).expect(200);
      const list = await agent.get("/studies").expect(200);
      expect(list.text).toContain("Theirs");
      expect(list.text).not.toContain(">Field<");
      const api = await request(w.app).get("/api/studies").set("Authorization", `Bearer ${w.outsiderTokens[who].token}`).expect(200);
      expect(api.body.studies.map((s: { name: string }) => s.name)).toEqual(["Theirs"]);
    });
  });

  it("gives the same 404 for a study of another team as for a study that does not exist", async () => {
    const w = await world();
    const agent = await loggedInAgent(w.app, w.outsiders.researcher.email);
    const other = await agent.get(`/studies/${w.params.studyId}`).set("Accept-Language", "en").expect(404);
    const missing = await agent.get("/studies/99999").set("Accept-Language", "en").expect(404);
    const strip = (html: string) => html.replace(/name="_csrf" value="[^"]+"/g, "").replace(/nonce="[^"]+"/g, "");
    expect(strip(other.text)).toBe(strip(missing.text));
  });

  it("lets administrators see every team's studies", async () => {
    const w = await world();
    const admin = await loggedInAgent(w.app, w.people.admin.email);
    await admin.get(`/studies/${w.theirs.id}`).expect(200);
    const list = await admin.get("/studies").expect(200);
    expect(list.text).toContain("Theirs");
    expect(list.text).toContain("Other brand");
  });

  it("creates a study in the caller's team; a member of several names one, else 422", async () => {
    const w = await world();
    const api = (token: string) => ({
      post: (body: object) => request(w.app).post("/api/studies").set("Accept-Language", "en").set("Authorization", `Bearer ${token}`).send(body),
    });
    const b = await api(w.outsiderTokens.researcher.token).post(definitionJson()).expect(201);
    expect(first(await w.db.select().from(studies).where(eq(studies.id, b.body.id)))?.teamId).toBe(w.theirs.teamId);

    // A researcher of both teams must say which; a team where they are only a viewer is refused.
    await setMembership(w.db, w.theirs.teamId, w.people.researcher.id, "researcher");
    await setMembership(w.db, w.theirs.teamId, w.people.viewer.id, "viewer");
    const before = await snapshot(w.db);
    const ambiguous = await api(w.tokens.researcher.token).post(definitionJson()).expect(422);
    expect(ambiguous.body.error.details).toEqual({ team: "Choose the team the study belongs to." });
    const notAllowed = await api(w.tokens.viewer.token).post({ ...definitionJson(), team: "Other brand" });
    expect(notAllowed.status).toBe(403);
    const unknown = await api(w.tokens.owner.token).post({ ...definitionJson(), team: "Other brand" }).expect(422);
    expect(unknown.body.error.details).toEqual({ team: "You cannot create studies in that team." });
    expect(await snapshot(w.db)).toEqual({ ...before, apiTokens: (await snapshot(w.db)).apiTokens });
    const named = await api(w.tokens.researcher.token).post({ ...definitionJson(), team: "Other brand" }).expect(201);
    expect(first(await w.db.select().from(studies).where(eq(studies.id, named.body.id)))?.teamId).toBe(w.theirs.teamId);

    // The same on the page: the form offers the teams, and without a choice says so.
    const page = await loggedInAgent(w.app, w.people.researcher.email);
    const form = await page.get("/studies/new").set("Accept-Language", "en").expect(200);
    expect(form.text).toContain("Other brand");
    const refused = await page.post("/studies/template").set("Accept-Language", "en").type("form").send({ studyName: "X", brand: "Acme", locale: "en", _csrf: csrfFrom(form.text) }).expect(422);
    expect(refused.text).toContain("Choose the team the study belongs to.");
  });
});
