import type { Server } from "node:http";
import { sqlRows, sqlValue } from "../support/sql.js";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Db } from "../../db/client.js";
import { loadQuestionnaire } from "../../db/queries/questionnaire.js";
import { findStudy, listSegments } from "../../db/queries/studies.js";
import { toDefinition } from "../../server/domain/definition-export.js";
import { studyDefinition } from "../../server/domain/study-definition.js";
import { createStudyFromDefinition } from "../../server/services/study-setup.js";
import { brandLiftDefinition, openSurvey, type OpenSurvey } from "../fixtures/surveys.js";
import { PASSWORD, addUser, freshApp } from "../helpers.js";
import { INVALID_UTF8, POLLUTION_KEYS, SEEDS, XSS_SNIPPETS, anyText, close, cookieOf, formBody, invalidRows, listen, prototypePollution, send } from "./support.js";

/**
 * The researcher's forms, fuzzed lightly: signed in as a researcher with a valid CSRF token,
 * random, repeated, missing and oversized fields on the template, import, question editor,
 * settings, segment, wave, link and share forms. No 5xx, and every study stored afterwards
 * is still a valid study definition.
 */

const RUNS = 200;

let server: Server;
let db: Db;
let cookie: string;
let csrf: string;
let draftStudyId: number;
let field: OpenSurvey;

beforeAll(async () => {
  const made = freshApp({ production: true });
  db = made.db;
  const researcher = await addUser(db, "researcher");
  draftStudyId = (await createStudyFromDefinition(db, brandLiftDefinition({ name: "Draft" }), researcher.id)).id;
  field = await openSurvey(db, brandLiftDefinition({ name: "Field" }));
  server = await listen(made.app);
  const login = await send(server, "GET", "/login");
  const csrfCookie = cookieOf(login, "bl_csrf")!;
  const res = await send(server, "POST", "/login", {
    headers: { "Content-Type": "application/x-www-form-urlencoded", Cookie: csrfCookie },
    body: formBody([["email", researcher.email], ["password", PASSWORD], ["_csrf", /name="_csrf" value="([^"]+)"/.exec(login.text)![1]!]]),
  });
  expect(res.status).toBe(303);
  cookie = `${csrfCookie}; ${cookieOf(res, "bl_session")!}`;
  const page = await send(server, "GET", "/studies/new", { headers: { Cookie: cookie } });
  csrf = /name="_csrf" value="([^"]+)"/.exec(page.text)![1]!;
});

afterAll(async () => {
  await close(server);
});

type Pair = [string, string];

const value = fc.oneof(
  { weight: 4, arbitrary: anyText(30) },
  { weight: 2, arbitrary: fc.constantFrom("", "1", "0", "-1", "5", "20", "101", "1e3", "NaN", "ru", "en", "de", "single", "multi", "scale", "text", "on", "pre", "post", "RUB", "exposed", "control", "https://panel.example/x?rid={rid}", "javascript:alert(1)") },
  { weight: 1, arbitrary: fc.constantFrom(...XSS_SNIPPETS) },
  { weight: 1, arbitrary: fc.constantFrom(2001, 20_000).map((n) => "я".repeat(n)) },
  { weight: 1, arbitrary: fc.constantFrom('{"name":"x"}', JSON.stringify(brandLiftDefinition()), "{", "[]", "null", '{"__proto__":{"polluted":1}}') },
);

const editorNames = [
  "key", "type", "text_ru", "text_en", "help_ru", "help_en", "required", "randomize", "option_rows",
  "o0_key", "o0_ru", "o0_en", "o0_exclusive", "o0_pinned", "o0_attention", "o0_positive", "o0_pos", "o0_remove",
  "o1_key", "o1_ru", "o1_en", "o1_positive", "o1_pos", "o2_key", "o2_en", "o199_key", "o199_ru",
  "scale_min", "scale_max", "min_label_ru", "max_label_en", "max_length", "metric_name", "metric_positive", "metric_match", "profile",
];

interface Form {
  path: string;
  names: readonly string[];
  /** A valid starting point, so that fuzzed variants are sometimes accepted. */
  base: Pair[];
}

const forms = async (): Promise<Form[]> => {
  const link = (await sqlValue<number>(db, "SELECT id FROM links WHERE wave_id = ? ORDER BY id LIMIT 1", [field.wave.id]))!;
  return [
    {
      path: "/studies/template",
      names: ["studyName", "brand", "category", "locale", "competitors", "advantages"],
      base: [["studyName", "T"], ["brand", "Acme"], ["category", ""], ["locale", "en"], ["competitors", "Rival\nOther"], ["advantages", "Fast"]],
    },
    { path: "/studies/import", names: ["definition"], base: [["definition", JSON.stringify(brandLiftDefinition({ name: "Imported" }))]] },
    { path: "/studies", names: ["name", "brand", "locale"], base: [["name", "Blank"], ["brand", "Acme"], ["locale", "ru"]] },
    {
      path: `/studies/${draftStudyId}/questions`,
      names: editorNames,
      base: [["key", "extra"], ["type", "single"], ["text_en", "Q"], ["required", "1"], ["option_rows", "2"], ["o0_key", "a"], ["o0_en", "A"], ["o1_key", "b"], ["o1_en", "B"]],
    },
    {
      path: `/studies/${draftStudyId}/questions/fav`,
      names: editorNames,
      base: [["key", "fav"], ["type", "scale"], ["text_en", "How?"], ["required", "1"], ["scale_min", "1"], ["scale_max", "5"], ["metric_name", "favorability"], ["metric_positive", "4, 5"]],
    },
    {
      path: `/studies/${field.study.id}/questions/recall`,
      names: editorNames,
      base: [["key", "recall"], ["type", "single"], ["text_en", "Seen?"], ["option_rows", "2"], ["o0_key", "yes"], ["o0_en", "Yes"], ["o1_key", "no"], ["o1_en", "No"]],
    },
    { path: `/studies/${draftStudyId}/questions/aided/move`, names: ["direction"], base: [["direction", "down"]] },
    {
      path: `/studies/${draftStudyId}/settings`,
      names: ["name", "brand", "category", "defaultLocale", "locales", "pageSize", "campaignCost", "costCurrency"],
      base: [["name", "S"], ["brand", "Acme"], ["defaultLocale", "ru"], ["locales", "ru"], ["locales", "en"], ["pageSize", ""], ["campaignCost", "100"], ["costCurrency", "RUB"]],
    },
    { path: `/studies/${draftStudyId}/segments`, names: ["key", "labelRu", "labelEn", "role"], base: [["key", "control"], ["labelRu", "К"], ["labelEn", "C"], ["role", "control"]] },
    { path: `/studies/${draftStudyId}/waves`, names: ["kind", "label", "target_subscribers", "audience_inactive", "target_total"], base: [["kind", "pre"], ["label", ""], ["target_subscribers", "10"]] },
    { path: `/waves/${field.wave.id}/targets`, names: ["target_subscribers", "audience_subscribers", "target___proto__"], base: [["target_subscribers", "50"]] },
    {
      path: `/waves/${field.wave.id}/links/${link}`,
      names: ["sourceLabel", "redirectComplete", "redirectScreenout", "redirectQuotaFull", "redirectQualityFail", "passParams", "signedParams"],
      base: [["sourceLabel", "VK"], ["redirectComplete", "https://panel.example/done?rid={rid}"], ["passParams", "panel_id"]],
    },
    // Small counts only: a valid count up to 10,000 would only fill the database.
    { path: `/waves/${field.wave.id}/personal`, names: ["segment", "count"], base: [["segment", "inactive"], ["count", "1"]] },
    { path: `/studies/${field.study.id}/share`, names: ["days"], base: [["days", "7"]] },
    {
      path: `/studies/${draftStudyId}/weighting`,
      names: ["margins"],
      base: [["margins", "segment,wave,variable,level,share\nsubscribers,,recall,yes,100%"]],
    },
    { path: `/studies/${draftStudyId}/weighting/delete`, names: ["segment", "wave", "question"], base: [["segment", "1"], ["wave", ""], ["question", "1"]] },
  ];
};

interface Case {
  form: number;
  keepBase: boolean;
  drop: number[];
  fields: Array<[number, string]>;
  pollution: Array<[string, string]>;
  bytes: number[] | null;
}

const caseArb = fc.record({
  form: fc.nat(),
  keepBase: fc.boolean(),
  drop: fc.array(fc.nat(), { maxLength: 3 }),
  fields: fc.array(fc.tuple(fc.nat(), value), { maxLength: 8 }),
  pollution: fc.array(fc.tuple(fc.constantFrom(...POLLUTION_KEYS), value), { maxLength: 2 }),
  bytes: fc.option(fc.constantFrom(...INVALID_UTF8), { freq: 8 }),
});

async function studiesRoundTrip(): Promise<string[]> {
  const bad: string[] = [];
  for (const { id } of await sqlRows<{ id: number }>(db, "SELECT id FROM studies ORDER BY id")) {
    const parsed = studyDefinition.safeParse(JSON.parse(JSON.stringify(toDefinition((await findStudy(db, id))!, await listSegments(db, id), await loadQuestionnaire(db, id)))));
    if (!parsed.success) bad.push(`study ${id}: ${parsed.error.message.slice(0, 300)}`);
  }
  return bad;
}

describe("fuzzing the researcher's forms", () => {
  it(`survives ${RUNS} random posts of the template, import, editor, settings, wave, link and share forms`, async () => {
    const all = await forms();
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(caseArb, async (c: Case) => {
        const form = all[c.form % all.length]!;
        const base = c.keepBase ? form.base.filter((_, i) => !c.drop.includes(i)) : [];
        const pairs: Pair[] = [["_csrf", csrf], ...base, ...c.fields.map(([i, v]): Pair => [form.names[i % form.names.length]!, v]), ...c.pollution];
        const text = formBody(pairs);
        const body = c.bytes ? Buffer.concat([Buffer.from(text), Buffer.from("&x="), Buffer.from(c.bytes)]) : Buffer.from(text);
        const res = await send(server, "POST", form.path, { headers: { "Content-Type": "application/x-www-form-urlencoded", Cookie: cookie }, body });
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        expect(res.status, `POST ${form.path} → ${res.status}\n${text.slice(0, 400)}`).toBeLessThan(500);
        // Still signed in with a valid CSRF token: a refusal is about the fields, never the session or the token.
        expect(res.status, "CSRF token refused").not.toBe(403);
        if (res.status === 303) expect(String(res.headers["location"])).not.toMatch(/^\/login/);
      }),
      { seed: SEEDS.researcher, numRuns: RUNS, endOnFailure: true },
    );
    expect(statuses.get(303) ?? 0).toBeGreaterThan(10);
    expect(statuses.get(422) ?? 0).toBeGreaterThan(10);
  }, 60_000);

  it("refuses researcher forms beyond the 100 kB limit with 413", async () => {
    const big = formBody([["_csrf", csrf], ["definition", "x".repeat(101 * 1024)]]);
    const res = await send(server, "POST", "/studies/import", { headers: { "Content-Type": "application/x-www-form-urlencoded", Cookie: cookie }, body: big });
    expect(res.status).toBe(413);
  });

  it("leaves only valid studies and answers, an unpolluted Object.prototype and a working server", async () => {
    expect(await studiesRoundTrip()).toEqual([]);
    expect(await invalidRows(db)).toEqual({});
    expect(prototypePollution()).toEqual([]);
    expect((await send(server, "GET", "/healthz")).status).toBe(200);
    expect((await send(server, "GET", "/studies", { headers: { Cookie: cookie } })).status).toBe(200);
  });
});
