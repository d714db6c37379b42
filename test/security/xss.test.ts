import type { Server } from "node:http";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Db } from "../../db/client.js";
import { addUser, freshApp, PASSWORD } from "../helpers.js";
import { sqlRows, sqlValue } from "../support/sql.js";
import { XSS_PAYLOADS, close, csrfOf, expectEscaped as expectEscapedOne, listen, login, unescapeHtml, type Agent } from "./support.js";

/**
 * Every user-controlled string, typed through the app's own forms and survey, holds an XSS
 * payload; every page that shows it must show it escaped (no active markup, no raw payload, no
 * evaluated template syntax), the SVG charts of the results page included.
 *
 * Strings covered: study name, brand, category, question text, help, option text, scale
 * labels, segment labels (imported and added), wave label, link source label, text answers
 * (a text metric and open feedback), user name, API token name, and values reflected from the
 * query string or re-rendered after a validation error.
 */

/**
 * The payloads in three groups, each group's payloads joined into one string that goes into every
 * field (short enough for the 100-character fields): three worlds instead of seven, and payloads
 * next to each other (a quote of one may not help the next one out). Each segment label starts
 * with another payload of the group, so that every payload heads a chart label somewhere.
 */
const GROUPS: string[][] = [XSS_PAYLOADS.slice(0, 3), XSS_PAYLOADS.slice(3, 5), XSS_PAYLOADS.slice(5)];
const rotate = (group: string[], by: number) => [...group.slice(by % group.length), ...group.slice(0, by % group.length)].join(" ");

/** A study definition with the payloads in every text it has. */
function definition(group: string[]) {
  const p = group.join(" ");
  const both = (s: string) => ({ ru: s, en: s });
  return {
    name: p,
    brand: p,
    category: p,
    locale: "ru",
    locales: ["ru", "en"],
    segments: [
      { key: "subscribers", label: both(rotate(group, 0)) },
      { key: "active_unsubscribed", label: both(rotate(group, 1)) },
      { key: "inactive", label: both(`${rotate(group, 2)} C`) },
    ],
    questions: [
      {
        key: "aided",
        type: "multi",
        text: both(p),
        help: both(p),
        options: [
          { key: "brand", text: both(p) },
          { key: "rival", text: both(`${p} R`) },
          { key: "none", text: both(`${p} N`), exclusive: true },
        ],
        metric: { name: "aided_awareness", positive: ["brand"] },
      },
      { key: "fav", type: "scale", min: 1, max: 5, text: both(p), minLabel: both(p), maxLabel: both(`${p} max`), metric: { name: "favorability", positive: [4, 5] } },
      { key: "unaided", type: "text", required: false, text: both(p), metric: { name: "unaided_awareness", match: [p, "brand"] } },
      { key: "feedback", type: "text", required: false, text: both(p) },
    ],
  };
}

interface World {
  db: Db;
  server: Server;
  researcher: Agent;
  admin: Agent;
  studyId: number;
  waveIds: number[];
  linkTokens: string[];
  shareUrl: string;
  /** Pages rendered by a POST (validation errors re-rendered with what was typed). */
  rerendered: Array<[string, string]>;
}

const hidden = (html: string) =>
  Object.fromEntries([...html.matchAll(/<input type="hidden" name="(_\w)" value="([^"]*)">/g)].map((m) => [m[1]!, m[2]!]));

/** Builds everything through the forms, as a researcher, an administrator and respondents would. */
async function build(group: string[]): Promise<World> {
  const p = group.join(" ");
  const { app, db } = freshApp({ production: true });
  await addUser(db, "admin");
  await addUser(db, "researcher");
  const server = await listen(app);
  const researcher = await login(server, "researcher@example.test");
  const admin = await login(server, "admin@example.test");
  const csrf = await csrfOf(researcher);
  const form = (agent: Agent, url: string, body: Record<string, string | string[]>, token = csrf) => agent.post(url).type("form").send({ ...body, _csrf: token });
  const rerendered: Array<[string, string]> = [];

  // Study from an imported definition.
  const imported = await form(researcher, "/studies/import", { definition: JSON.stringify(definition(group)) }).expect(303);
  const studyId = Number(/\/studies\/(\d+)/.exec(imported.headers["location"] as string)![1]);

  // A question added with the editor, a segment added with its form.
  await form(researcher, `/studies/${studyId}/questions`, {
    key: "extra",
    type: "single",
    text_ru: p,
    text_en: p,
    help_ru: p,
    help_en: p,
    required: "1",
    option_rows: "2",
    o0_key: "a",
    o0_ru: p,
    o0_en: p,
    o1_key: "b",
    o1_ru: `${p} 2`,
    o1_en: `${p} 2`,
  }).expect(303);
  await form(researcher, `/studies/${studyId}/segments`, { key: "control", labelRu: `${p} K`, labelEn: `${p} K`, role: "control" }).expect(303);

  // Validation errors re-render what was typed.
  rerendered.push(["import of invalid JSON", (await form(researcher, "/studies/import", { definition: p }).expect(422)).text]);
  rerendered.push(["template with a bad locale", (await form(researcher, "/studies/template", { studyName: p, brand: p, category: p, locale: "xx", competitors: p, advantages: p }).expect(422)).text]);
  rerendered.push(["new study without a brand", (await form(researcher, "/studies", { name: p, brand: "", locale: "ru" }).expect(422)).text]);
  rerendered.push([
    "question editor with a bad key",
    (await form(researcher, `/studies/${studyId}/questions`, { key: "Bad Key", type: "single", text_ru: p, help_en: p, option_rows: "1", o0_key: "x", o0_ru: p, metric_name: "m", metric_match: p }).expect(422)).text,
  ]);
  rerendered.push(["settings with a bad currency", (await form(researcher, `/studies/${studyId}/settings`, { name: p, brand: p, category: p, defaultLocale: "ru", locales: ["ru", "en"], costCurrency: "x1" }).expect(422)).text]);
  rerendered.push(["segment with a bad key", (await form(researcher, `/studies/${studyId}/segments`, { key: "Bad Key", labelRu: p, labelEn: p, role: "control" }).expect(422)).text]);

  // Two waves, each with labelled links and respondents typing the payload.
  const waveIds: number[] = [];
  const linkTokens: string[] = [];
  for (const kind of ["pre", "post"]) {
    const created = await form(researcher, `/studies/${studyId}/waves`, { kind, label: `${p} ${kind}` }).expect(303);
    const waveId = Number(/\/waves\/(\d+)/.exec(created.headers["location"] as string)![1]);
    waveIds.push(waveId);
    await form(researcher, `/waves/${waveId}/open`, {}).expect(303);
    const links = await sqlRows<{ id: number; token: string }>(db, "SELECT id, token FROM links WHERE wave_id = ? AND kind = 'open' ORDER BY id", [waveId]);
    for (const link of links) {
      await form(researcher, `/waves/${waveId}/links/${link.id}`, { sourceLabel: p }).expect(303);
      linkTokens.push(link.token);
      for (let i = 0; i < 2; i++) {
        const respondent = request.agent(server);
        const answers = { q_aided: i === 0 ? "brand" : "none", q_fav: i === 0 ? "5" : "2", q_unaided: p, q_feedback: p, q_extra: "a" };
        // The unaided question ends its page, so the survey has several: answer each until done.
        for (let step = 0; step < 6; step++) {
          const page = await respondent.get(`/s/${link.token}`).expect(200);
          const posted = await respondent.post(`/s/${link.token}`).type("form").send({ ...hidden(page.text), ...answers }).expect(303);
          if (String(posted.headers["location"]).includes("/thanks")) break;
        }
      }
    }
    if (kind === "pre") await form(researcher, `/waves/${waveId}/close`, {}).expect(303);
  }

  // The survey page re-rendered after an error keeps the typed answers.
  const respondent = request.agent(server);
  const token = linkTokens.at(-1)!;
  const page = await respondent.get(`/s/${token}`).expect(200);
  const invalid = await respondent.post(`/s/${token}`).type("form").send({ ...hidden(page.text), q_aided: "brand", q_unaided: p, q_feedback: p }).expect(422);
  rerendered.push(["survey page with a missing answer", invalid.text]);

  // A share link, a user and an API token named with the payload.
  await form(researcher, `/studies/${studyId}/share`, { days: "" }).expect(303);
  const shareToken = (await sqlValue<string>(db, "SELECT token FROM share_links WHERE study_id = ? ORDER BY id", [studyId]))!;
  const adminCsrf = await csrfOf(admin);
  await form(admin, "/admin/users", { name: p, email: "named@example.test", role: "viewer", password: PASSWORD }, adminCsrf).expect(303);
  rerendered.push(["add user with a short password", (await form(admin, "/admin/users", { name: p, email: "other@example.test", role: "viewer", password: "short" }, adminCsrf).expect(422)).text]);
  rerendered.push(["new API token (shown once)", (await form(researcher, "/account/tokens", { name: p }).expect(201)).text]);

  return { db, server, researcher, admin, studyId, waveIds, linkTokens, shareUrl: `/r/${shareToken}`, rerendered };
}

describe.each(GROUPS.map((g) => [g.join(" "), g] as const))("XSS payloads %s", (_name, group) => {
  let w: World;
  /** Every payload of the group is shown, and only escaped. */
  const expectEscaped = (html: string, _payload: string, where: string, mustShow = true) => {
    for (const p of group) expectEscapedOne(html, p, where, mustShow);
  };
  const payload = group.join(" ");
  beforeAll(async () => {
    w = await build(group);
  }, 30_000);
  afterAll(async () => {
    await close(w.server);
  });

  it("is escaped on every researcher page that shows it", async () => {
    const { studyId, waveIds } = w;
    const pages = [
      "/studies",
      `/studies?created=${encodeURIComponent(payload)}`,
      `/studies/${studyId}`,
      `/studies/${studyId}?lang=en`,
      `/studies/${studyId}/questions`,
      `/studies/${studyId}/questions/aided/edit`,
      `/studies/${studyId}/questions/fav/edit`,
      `/studies/${studyId}/questions/unaided/edit`,
      `/studies/${studyId}/questions/extra/edit`,
      `/studies/${studyId}/preview`,
      `/studies/${studyId}/preview?lang=en`,
      `/studies/${studyId}/settings`,
      `/studies/${studyId}/audit`,
      ...waveIds.map((id) => `/waves/${id}`),
      "/account/tokens",
    ];
    for (const url of pages) {
      const res = await w.researcher.get(url);
      expect(res.status, url).toBe(200);
      expectEscaped(res.text, payload, url);
    }
  });

  it("is escaped on the results page and the report, in their SVG charts too, and on the share link", async () => {
    for (const url of [`/studies/${w.studyId}/results`, `/studies/${w.studyId}/results?lang=en`, `/studies/${w.studyId}/report`, `/studies/${w.studyId}/report?lang=en`]) {
      const res = await w.researcher.get(url).expect(200);
      expectEscaped(res.text, payload, url);
      const charts = [...res.text.matchAll(/<svg[\s\S]*?<\/svg>/g)].map((m) => m[0]);
      expect(charts.length, `${url}: charts`).toBeGreaterThan(0);
      // Chart labels are cut to fit, so the whole payload need not be there; nothing in them may be active.
      charts.forEach((svg, i) => expectEscaped(svg, payload, `${url} chart ${i + 1}`, false));
      // The bar labels are the segment labels (cut to fit): each payload heads one of them, escaped.
      for (const p of group) expect(unescapeHtml(charts.join("")).includes(p.slice(0, 20)), `${url}: chart labels with ${p}`).toBe(true);
    }
    const shared = await request(w.server).get(w.shareUrl).expect(200);
    expectEscaped(shared.text, payload, w.shareUrl);
  });

  it("is escaped on the admin's user list and in the notice reflected from the query string", async () => {
    for (const url of ["/admin/users", `/admin/users?added=${encodeURIComponent(payload)}`]) {
      const res = await w.admin.get(url).expect(200);
      expectEscaped(res.text, payload, url);
    }
  });

  it("is escaped on the survey page, in both languages", async () => {
    for (const token of [w.linkTokens.at(-1)!, w.linkTokens.at(-2)!]) {
      for (const lang of ["ru", "en"]) {
        const res = await request(w.server).get(`/s/${token}?lang=${lang}`).expect(200);
        expectEscaped(res.text, payload, `/s/:token?lang=${lang}`);
      }
    }
  });

  it("is escaped in every form re-rendered after a validation error", () => {
    for (const [what, html] of w.rerendered) expectEscaped(html, payload, what);
  });

  it("is escaped in URLs reflected by pages: 404 pages, survey query parameters, the login redirect", async () => {
    const e = encodeURIComponent(payload);
    const token = w.linkTokens.at(-1)!;
    const cases: Array<[string, Agent | null, boolean]> = [
      [`/s/${token}?rid=${e}&utm_source=${e}&lang=${e}`, null, false],
      [`/s/${e}`, null, false],
      [`/r/${e}`, null, false],
      [`/studies/${e}`, w.researcher, false],
      [`/studies/${w.studyId}/questions/${e}/edit`, w.researcher, false],
      [`/login?next=${e}`, null, false],
      [`/login?next=/${e}`, null, false],
      [`/no-such-page/${e}?q=${e}`, w.researcher, false],
    ];
    for (const [url, agent, mustShow] of cases) {
      const res = await (agent ?? request(w.server)).get(url);
      expect(res.status, url).toBeLessThan(500);
      expectEscaped(res.text, payload, url, mustShow);
    }
  });
});

describe("the escaping check itself", () => {
  it("catches payloads that would run, and accepts them escaped", () => {
    const bad: Array<[string, string]> = [
      ["<script>alert(1)</script>", "<p><script>alert(1)</script></p>"],
      ['"><img src=x onerror=alert(1)>', '<input value=""><img src=x onerror=alert(1)>">'],
      ["javascript:alert(1)", '<a href="javascript:alert(1)">x</a>'],
      ["javascript:alert(1)", '<a href=" JavaScript:alert(1)">x</a>'],
      ["</title><svg onload=alert(1)>", "<title></title><svg onload=alert(1)></title>"],
      ["<%= 7*7 %>", "<p>49</p>"],
      [`'';!--"<XSS>=&{()}`, `<p>'';!--"<XSS>=&{()}</p>`],
    ];
    for (const [payload, html] of bad) expect(() => expectEscapedOne(html, payload, "sample"), html).toThrow();
    const good: Array<[string, string]> = [
      ["<script>alert(1)</script>", "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>"],
      ['"><img src=x onerror=alert(1)>', '<input value="&#34;&gt;&lt;img src=x onerror=alert(1)&gt;">'],
      ["javascript:alert(1)", "<p>javascript:alert(1)</p>"],
      ["<%= 7*7 %>", "<textarea>&lt;%= 7*7 %&gt;</textarea>"],
      [`'';!--"<XSS>=&{()}`, "<text x=\"1\">&#39;&#39;;!--&quot;&lt;XSS&gt;=&amp;{()}</text>"],
    ];
    for (const [payload, html] of good) expect(() => expectEscapedOne(html, payload, "sample"), html).not.toThrow();
  });
});
