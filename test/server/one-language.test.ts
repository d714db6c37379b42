import { beforeAll, describe, expect, it } from "vitest";
import type { Router } from "express";
import { isNotNull } from "drizzle-orm";
import { findStudy } from "../../db/queries/studies.js";
import { answers, auditLog, links, responses, shareLinks, waves } from "../../db/schema.js";
import { serverTimeZone, zoneName } from "../../server/i18n/index.js";
import { createStudyFromDefinition } from "../../server/services/study-setup.js";
import { brandLiftDefinition } from "../fixtures/surveys.js";
import { createDemoStudy } from "../../server/demo/create.js";
import { accountRoutes } from "../../server/routes/account.js";
import { adminRoutes } from "../../server/routes/admin.js";
import { authRoutes } from "../../server/routes/auth.js";
import { homeRoutes } from "../../server/routes/home.js";
import { plannerRoutes } from "../../server/routes/planner.js";
import { qualityRoutes } from "../../server/routes/quality.js";
import { questionRoutes } from "../../server/routes/questions.js";
import { respondRoutes } from "../../server/routes/respond.js";
import { resultRoutes } from "../../server/routes/results.js";
import { studyRoutes } from "../../server/routes/studies.js";
import { teamRoutes } from "../../server/routes/teams.js";
import { defaultTeam } from "../../db/queries/teams.js";
import { waveRoutes } from "../../server/routes/waves.js";
import { weightingRoutes } from "../../server/routes/weighting.js";
import { addUser, answerAllPages, csrfFrom, freshApp, loggedInAgent } from "../helpers.js";

/**
 * One language per page: every HTML page a researcher or a respondent can reach, rendered in
 * Russian, shows no identifiers (snake_case keys, dotted message keys, "study#2", raw JSON) and no
 * English interface words. Brand names and what people typed are content, not interface.
 */

/** "/path" of every GET route a router declares (Express 5 keeps them in `router.stack`). */
function getRoutes(router: Router): string[] {
  const stack = (router as unknown as { stack: Array<{ route?: { path: string; methods: Record<string, boolean> } }> }).stack;
  return stack.flatMap((layer) => (layer.route?.methods["get"] ? [layer.route.path] : []));
}

/** English interface words that a Russian page must not show (whole words, case as written). */
const ENGLISH_UI = [
  "Pre", "Post", "Tracking", "pre", "post", "tracking", "Draft", "draft", "Open", "Closed", "closed",
  "Results", "Settings", "Save", "Delete", "Cancel", "Questions", "Question", "Waves", "Wave", "wave",
  "Segment", "Study", "study", "Subscribers", "Inactive", "None", "Excluded", "excluded", "Generated",
  "Expires", "Audit", "Details", "Total", "Lift", "Before", "After", "top-2-box", "box", "aware",
  "System", "system", "demo", "Awareness", "awareness", "metric", "Metric",
];

/** Tokens allowed in Russian text: brands, formats and statistical symbols. */
const ALLOWED = /\b(Brand Lift|Zerno|Brew Lab|Coffee Point|Acme|CSV|XLSX|JSON|API|PDF|Excel|Bearer|MDE|UTC|GMT|SPSS|R)\b/g;

/** The text a person sees: tag contents and the attributes that are read out or shown. */
export function visibleText(html: string, content: string[]): string {
  let text = html
    .replace(/<(script|style|code|pre)\b[^>]*>[\s\S]*?<\/\1>/gi, " ")
    .replace(/<!--[\s\S]*?-->/g, " ")
    .replace(/<([a-z][a-z0-9-]*)\b([^>]*)>/gi, (_m, tag: string, attrs: string) => {
      const kept: string[] = [];
      for (const a of attrs.matchAll(/([a-z-]+)\s*=\s*("([^"]*)"|'([^']*)')/gi)) {
        const name = a[1]!.toLowerCase();
        const value = a[3] ?? a[4] ?? "";
        const isButtonValue = name === "value" && (tag.toLowerCase() === "button" || /type\s*=\s*"(submit|button)"/i.test(attrs));
        if (["title", "alt", "aria-label", "placeholder"].includes(name) || isButtonValue) kept.push(value);
      }
      return ` ${kept.join(" ")} `;
    })
    .replace(/<\/[a-z][a-z0-9-]*>/gi, " ")
    .replace(/&quot;/g, '"')
    .replace(/&#39;|&#x27;/g, "'")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&nbsp;/g, " ")
    .replace(/&amp;/g, "&");
  // What people typed (verbatims, aliases) is content; the longest first, so parts do not linger.
  for (const c of [...content].sort((a, b) => b.length - a.length)) if (c.trim().length > 1) text = text.split(c).join(" ");
  return text
    .replace(/\bhttps?:\/\/\S+/g, " ")
    .replace(/(^|\s)\/[\w\-/.?=&#%]*/g, " ")
    .replace(/[\w.+-]+@[\w-]+(\.[\w-]+)+/g, " ")
    .replace(ALLOWED, " ");
}

/** Every identifier-looking token or English interface word in the visible text. */
export function leaks(text: string): string[] {
  const found = new Set<string>();
  for (const re of [/\b[a-z]+_[a-z_]+\b/g, /\b[a-z]+\.[a-z_][a-z_.]*/g, /\b[a-z]+#\d+/gi, /\{"/g]) for (const m of text.matchAll(re)) found.add(m[0]);
  for (const word of ENGLISH_UI) {
    const re = new RegExp(`(?<![\\p{L}\\d_-])${word}(?![\\p{L}\\d_#-])`, "u");
    const m = re.exec(text);
    if (m) found.add(`${word} (…${text.slice(Math.max(0, m.index - 30), m.index + word.length + 30).replace(/\s+/g, " ")}…)`);
  }
  return [...found];
}

async function world() {
  const { app, db, config } = freshApp();
  const admin = await addUser(db, "admin");
  const demo = await createDemoStudy(db, { seed: 11, locale: "ru", actorId: admin.id });
  const agent = await loggedInAgent(app, admin.email);
  const csrf = async (path: string) => csrfFrom((await agent.get(path).expect(200)).text);

  // A study from the template, as a researcher builds it in Russian, with a pre wave (no label typed)
  // that opens and gets an answer, and a post wave in draft.
  const created = await agent
    .post("/studies/template?lang=ru")
    .type("form")
    .send({ _csrf: await csrf("/studies/new?lang=ru"), studyName: "Весенняя кампания", brand: "Acme", category: "кофе", locale: "ru", competitors: "Brew Lab\nУтро", advantages: "Быстро\nСвежо" })
    .expect(303);
  const studyId = Number(/\/studies\/(\d+)/.exec(String(created.headers["location"]))![1]);
  const wavePre = await agent.post(`/studies/${studyId}/waves`).type("form").send({ _csrf: await csrf(`/studies/${studyId}?lang=ru`), kind: "pre" }).expect(303);
  const preId = Number(/\/waves\/(\d+)/.exec(String(wavePre.headers["location"]))![1]);
  await agent.post(`/studies/${studyId}/waves`).type("form").send({ _csrf: await csrf(`/studies/${studyId}?lang=ru`), kind: "post" }).expect(303);
  await agent.post(`/waves/${preId}/open`).type("form").send({ _csrf: await csrf(`/waves/${preId}?lang=ru`) }).expect(303);
  const link = (await db.select().from(links)).find((l) => l.waveId === preId)!;
  const respondent = (await import("supertest")).default.agent(app);
  await answerAllPages(respondent, `/s/${link.token}`, { q_unaided: "Acme и Утро", q_aided: ["brand"], q_advantages: ["advantage_1"], q_ad_recall: "yes", q_favorability: "4", q_consideration: "5", q_attention: "strongly_agree", q_feedback: "Хороший кофе" });

  // Actions that leave audit entries of many kinds on the demo study.
  const demoId = demo.studyId;
  await agent.post(`/studies/${demoId}/quality/coding/aliases`).type("form").send({ _csrf: await csrf(`/studies/${demoId}/quality/coding?lang=ru`), alias: "зерно кофе", code: "brand" });
  const someResponse = (await db.select().from(responses)).find((r) => r.waveId === demo.waveIds[1] && !r.excluded)!;
  await agent.post(`/studies/${demoId}/quality/exclusions`).type("form").send({ _csrf: await csrf(`/studies/${demoId}/quality?lang=ru`), ids: String(someResponse.id), action: "exclude", reason: "случайные ответы" });
  await agent.post(`/studies/${demoId}/share`).type("form").send({ _csrf: await csrf(`/studies/${demoId}/results?lang=ru`), days: "7" }).expect(303);
  await agent.post(`/studies/${demoId}/segments`).type("form").send({ _csrf: await csrf(`/studies/${demoId}?lang=ru`), key: "control", labelRu: "Контрольная группа", labelEn: "Control", role: "control" }).expect(303);
  // A third wave makes the demo a tracking study: its monthly report is a page too.
  await agent.post(`/studies/${demoId}/waves`).type("form").send({ _csrf: await csrf(`/studies/${demoId}?lang=ru`), kind: "tracking", label: "" }).expect(303);
  await agent
    .post(`/studies/${studyId}/settings`)
    .type("form")
    .send({ _csrf: await csrf(`/studies/${studyId}/settings?lang=ru`), name: "Весенняя кампания", brand: "Acme", category: "кофе", defaultLocale: "ru", locales: ["ru", "en"], pageSize: "", campaignCost: "100000", costCurrency: "RUB", targetLift: "5" })
    .expect(303);
  await agent.post("/account/tokens").type("form").send({ _csrf: await csrf("/account/tokens?lang=ru"), name: "отчёт" });

  const content = (await db.select({ text: answers.valueText }).from(answers).where(isNotNull(answers.valueText)))
    .map((a) => a.text!)
    .concat(["зерно кофе", "случайные ответы", "Acme и Утро", "Хороший кофе"]);
  const share = (await db.select().from(shareLinks))[0]!;
  const demoWave = (await db.select().from(waves)).find((w) => w.id === demo.waveIds[0])!;
  const demoLink = (await db.select().from(links)).find((l) => l.waveId === demoWave.id)!;
  const demoQuestion = "unaided";
  const teamId = (await defaultTeam(db)).id;
  return { app, db, config, agent, studyId, demoId, preId, link, demoLink, share, demoQuestion, content, adminId: admin.id, teamId };
}
type World = Awaited<ReturnType<typeof world>>;

/** Real URLs for a route pattern: each study-scoped pattern for both studies. */
async function urlsFor(pattern: string, w: World): Promise<string[]> {
  if (/\.(json|csv|xlsx|R)$/.test(pattern) || pattern === "/setup" || pattern === "/healthz") return [];
  // A monthly report exists for a wave after the baseline of a study of three or more waves: the demo's last.
  const monthly = pattern.includes("/months/");
  const studies = monthly ? [w.demoId] : pattern.includes(":studyId") ? [w.demoId, w.studyId] : [0];
  const urls: string[] = [];
  for (const id of studies) {
    const demoWaves = (await w.db.select().from(waves)).filter((x) => x.studyId === w.demoId);
    const waveId = id === w.demoId ? (monthly ? demoWaves.at(-1)! : demoWaves[0]!).id : w.preId;
    urls.push(
      pattern
        .replace(":studyId", String(id))
        .replace(":waveId", String(waveId))
        .replace(":key", w.demoQuestion)
        .replace(":userId", String(w.adminId))
        .replace(":teamId", String(w.teamId))
        .replace(":token", pattern.startsWith("/r/") ? w.share.token : w.link.token),
    );
  }
  return urls;
}

describe("every page in Russian speaks Russian", () => {
  let w: World;
  const pages: string[] = [];
  beforeAll(async () => {
    w = await world();
    const routers = [homeRoutes(w.db), authRoutes(w.db, "s"), studyRoutes(w.db), questionRoutes(w.db, "s"), waveRoutes(w.db, ""), resultRoutes(w.db, ""), qualityRoutes(w.db), plannerRoutes(w.db), weightingRoutes(w.db), adminRoutes(w.db), teamRoutes(w.db), accountRoutes(w.db)];
    for (const pattern of new Set(routers.flatMap(getRoutes))) pages.push(...(await urlsFor(pattern, w)));
    // Pages a route reaches only with a query: a wave of another kind, the quality filters.
    pages.push(`/waves/${(await w.db.select().from(waves)).find((x) => x.studyId === w.studyId && x.kind === "post")!.id}`);
    pages.push(`/studies/${w.demoId}/quality?state=excluded`, `/studies/${w.demoId}/quality?state=flagged`);
  }, 120_000);

  it("enumerates the researcher pages", () => {
    expect(pages.length).toBeGreaterThan(20);
  });

  it("shows no identifiers or English words on any researcher page", async () => {
    const problems: string[] = [];
    for (const url of pages) {
      const res = await w.agent.get(url + (url.includes("?") ? "&" : "?") + "lang=ru");
      // "/" and "/login" send a signed-in researcher on to the studies, which are visited anyway.
      if (res.status === 303 || res.status === 302) continue;
      if (res.status !== 200 || !String(res.headers["content-type"]).includes("text/html")) {
        problems.push(`${url}: status ${res.status}`);
        continue;
      }
      for (const leak of leaks(visibleText(res.text, w.content))) problems.push(`${url}: ${leak}`);
    }
    expect(problems).toEqual([]);
  }, 120_000);

  it("shows none on the respondent pages either", async () => {
    const respondRouter = respondRoutes(w.db, "s", 100);
    const patterns = getRoutes(respondRouter).filter((p) => p.startsWith("/s/"));
    expect(patterns.length).toBeGreaterThan(0);
    const problems: string[] = [];
    const agent = (await import("supertest")).default.agent(w.app);
    for (const url of [`/s/${w.demoLink.token}`, `/s/${w.link.token}`, `/s/${w.link.token}/thanks`, "/s/no-such-token", `/r/${w.share.token}`]) {
      const res = await agent.get(url + "?lang=ru");
      if (!String(res.headers["content-type"]).includes("text/html")) continue;
      for (const leak of leaks(visibleText(res.text, w.content))) problems.push(`${url}: ${leak}`);
    }
    expect(problems).toEqual([]);
  });

  it("names who acted without an account: the demo generator, in the journal and the exclusion history", async () => {
    const audit = (await w.agent.get(`/studies/${w.demoId}/audit?lang=ru`).expect(200)).text;
    expect(audit).toContain("<td>Демо</td>");
    expect(audit).toContain("Создано демонстрационное исследование");
    expect(audit).toMatch(/Открыта волна «До кампании»/);
    expect(audit).not.toMatch(/study#|\{&#34;|\{"/);
    const quality = (await w.agent.get(`/studies/${w.demoId}/quality?lang=ru`).expect(200)).text;
    expect(quality).toMatch(/Демо/);
  });

  it("catches what it is meant to catch", () => {
    expect(leaks(visibleText("<p>Pre открыта</p><td>unaided_awareness</td><td>quality.alias.add study#2 {\"a\":1}</td>", []))).toHaveLength(5);
    expect(leaks(visibleText('<p title="ok">Всё <code>a_b</code> <a href="/x_y.z">хорошо</a> a@b.example</p>', []))).toEqual([]);
  });
});

describe("a study's time zone", () => {
  it("is picked from a list in the settings, refused when unknown, and names every time of the study's pages", async () => {
    const { app, db } = freshApp();
    const admin = await addUser(db, "admin");
    const agent = await loggedInAgent(app, admin.email);
    const study = await createStudyFromDefinition(db, brandLiftDefinition(), admin.id);
    const url = `/studies/${study.id}/settings`;
    const page = await agent.get(`${url}?lang=ru`).expect(200);
    expect(page.text).toContain("Часовой пояс");
    expect(page.text).toContain('<option value="Europe/Moscow">Москва (UTC+3)</option>');
    // Russia's zones come first, the server's zone is the default (empty) choice.
    expect(page.text.indexOf("Калининград")).toBeLessThan(page.text.indexOf("Лондон"));
    expect(page.text).toContain('<option value="" selected>Пояс сервера');
    const form = { _csrf: csrfFrom(page.text), name: "Spring campaign", brand: "Acme", category: "", defaultLocale: "ru", locales: ["ru", "en"], pageSize: "", campaignCost: "", costCurrency: "" };

    const bad = await agent.post(`${url}?lang=ru`).type("form").send({ ...form, timeZone: "Mars/Olympus" }).expect(422);
    expect(bad.text).toContain("Выберите часовой пояс из списка.");
    expect((await findStudy(db, study.id))!.timeZone).toBeNull();

    await agent.post(url).type("form").send({ ...form, timeZone: "Asia/Vladivostok" }).expect(303);
    expect((await findStudy(db, study.id))!.timeZone).toBe("Asia/Vladivostok");
    const saved = (await db.select().from(auditLog)).at(-1)!;
    const audit = await agent.get(`/studies/${study.id}/audit?lang=ru`).expect(200);
    const vladivostok = new Intl.DateTimeFormat("ru-RU", { dateStyle: "medium", timeStyle: "short", timeZone: "Asia/Vladivostok" }).format(saved.at);
    expect(audit.text).toContain(`${vladivostok} (Владивосток)`);
    expect(audit.text).toContain("часовой пояс: Владивосток");
    const en = await agent.get(`/studies/${study.id}/audit?lang=en`).expect(200);
    expect(en.text).toContain("(Vladivostok)");

    // Pages outside a study keep the server's zone, named too.
    const users = await agent.get("/admin/users?lang=ru").expect(200);
    expect(users.text).toContain(`(${zoneName(serverTimeZone(), "ru")})`);

    // Back to the server's zone.
    await agent.post(url).type("form").send({ ...form, timeZone: "" }).expect(303);
    expect((await findStudy(db, study.id))!.timeZone).toBeNull();
  });
});
