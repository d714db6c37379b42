import type { Server } from "node:http";
import { sqlRows, sqlValue } from "../support/sql.js";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Db } from "../../db/client.js";
import { loadQuestionnaire } from "../../db/queries/questionnaire.js";
import { findStudy, listSegments } from "../../db/queries/studies.js";
import { toDefinition } from "../../server/domain/definition-export.js";
import { studyDefinition } from "../../server/domain/study-definition.js";
import { createApiToken } from "../../server/services/accounts.js";
import { createWave } from "../../server/services/study-setup.js";
import { brandLiftDefinition, openSurvey, type OpenSurvey } from "../fixtures/surveys.js";
import { addUser, freshApp } from "../helpers.js";
import { INVALID_UTF8, POLLUTION_KEYS, SEEDS, anyText, close, invalidRows, listen, prototypePollution, send } from "./support.js";

/**
 * JSON API bodies, random and malformed: a valid study definition mutated at random paths
 * (wrong types, huge strings, unknown keys, prototype-pollution keys, deleted fields), wave and
 * link bodies of every shape, and raw texts that are not JSON at all or not UTF-8. Whatever
 * arrives: no 5xx, a refused body writes nothing, an accepted one stores a valid study.
 */

const STRUCTURED_RUNS = 500;
const RAW_RUNS = 300;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

let server: Server;
let db: Db;
let token: string;
let viewerToken: string;
let survey: OpenSurvey;
let draftWaveId: number;

beforeAll(async () => {
  const made = freshApp({ production: true });
  db = made.db;
  const researcher = await addUser(db, "researcher");
  const viewer = await addUser(db, "viewer");
  token = (await createApiToken(db, researcher.id, "fuzz")).token;
  viewerToken = (await createApiToken(db, viewer.id, "fuzz viewer")).token;
  survey = await openSurvey(db);
  draftWaveId = (await createWave(db, survey.study.id, "post", "Post")).id;
  server = await listen(made.app);
});

afterAll(async () => {
  await close(server);
});

/** Rows of the tables the API writes (audit log and token "last used" aside). */
async function tableCounts() {
  const n = async (t: string) => (await sqlValue<number>(db, `SELECT count(*) AS n FROM ${t}`))!;
  return {
    studies: await n("studies"),
    segments: await n("segments"),
    questions: await n("questions"),
    options: await n("options"),
    waves: await n("waves"),
    waveSegments: await n("wave_segments"),
    links: await n("links"),
    users: await n("users"),
    apiTokens: await n("api_tokens"),
  };
}

// ------------------------------------------------------------------------------------ generators

const definitionJson = (): Json => JSON.parse(JSON.stringify(brandLiftDefinition())) as Json;

/** Every path into a JSON value, in a fixed order. */
function paths(value: Json, at: Array<string | number> = []): Array<Array<string | number>> {
  const here = [at];
  if (Array.isArray(value)) return [...here, ...value.flatMap((v, i) => paths(v, [...at, i]))];
  if (value && typeof value === "object") return [...here, ...Object.entries(value).flatMap(([k, v]) => paths(v, [...at, k]))];
  return here;
}

type Mutation =
  | { op: "set"; at: number; value: Json }
  | { op: "delete"; at: number }
  | { op: "addKey"; at: number; key: string; value: Json }
  | { op: "huge"; at: number; length: number }
  | { op: "wrap"; at: number };

const strangeValue: fc.Arbitrary<Json> = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json>,
  fc.constantFrom<Json>(null, true, 0, -1, 1.5, 1e308, -0, 2 ** 53 + 1, "", " ", [], {}, "acme", "single", "multi", "scale", "text", "ru", "en", "de", { ru: "" }, { en: "x".repeat(2001) }),
  anyText(30),
);

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant("set" as const), at: fc.nat(), value: strangeValue }),
  fc.record({ op: fc.constant("delete" as const), at: fc.nat() }),
  fc.record({
    op: fc.constant("addKey" as const),
    at: fc.nat(),
    key: fc.oneof(fc.constantFrom(...POLLUTION_KEYS), fc.string({ maxLength: 10 })),
    value: fc.oneof(strangeValue, fc.constant<Json>({ polluted: "yes", isAdmin: true })),
  }),
  fc.record({ op: fc.constant("huge" as const), at: fc.nat(), length: fc.constantFrom(201, 2001, 100_000, 400_000) }),
  fc.record({ op: fc.constant("wrap" as const), at: fc.nat() }),
);

/** Applies mutations to a copy; keys are assigned with defineProperty so "__proto__" stays a plain key, as JSON.parse makes it. */
function mutate(base: Json, mutations: Mutation[]): Json {
  let root = structuredClone(base);
  for (const m of mutations) {
    const all = paths(root);
    const path = all[m.at % all.length]!;
    const parentPath = path.slice(0, -1);
    const last = path[path.length - 1];
    const get = (p: Array<string | number>) => p.reduce<Json>((v, k) => (v as Record<string, Json>)[k as string] as Json, root);
    const current = get(path);
    const replace = (value: Json) => {
      if (last === undefined) root = value;
      else {
        const parent = get(parentPath) as Record<string, Json>;
        Object.defineProperty(parent, last, { value, enumerable: true, writable: true, configurable: true });
      }
    };
    switch (m.op) {
      case "set":
        replace(m.value);
        break;
      case "delete":
        if (last === undefined) root = {};
        else if (Array.isArray(get(parentPath))) (get(parentPath) as Json[]).splice(last as number, 1);
        else delete (get(parentPath) as Record<string, Json>)[last as string];
        break;
      case "addKey":
        if (current && typeof current === "object" && !Array.isArray(current)) {
          Object.defineProperty(current, m.key, { value: m.value, enumerable: true, writable: true, configurable: true });
        }
        break;
      case "huge":
        replace(typeof current === "string" && current.length ? current[0]!.repeat(m.length) : "x".repeat(m.length));
        break;
      case "wrap":
        replace([current]);
        break;
    }
  }
  return root;
}

type Endpoint = "studies" | "waves" | "links" | "open" | "close" | "me";

const waveBody: fc.Arbitrary<Json> = fc.oneof(
  fc.record(
    {
      kind: fc.oneof(fc.constantFrom<Json>("pre", "post", "tracking", "PRE", "", null, 1), strangeValue),
      label: fc.oneof(fc.constantFrom<Json>("Post", "", " ", "x".repeat(101)), strangeValue),
      targets: fc.oneof(
        fc.dictionary(fc.oneof(fc.constantFrom("subscribers", "inactive", "total", ...POLLUTION_KEYS), fc.string({ maxLength: 8 })), fc.constantFrom<Json>(1, 0, -1, 1.5, null, "5", 1e9, 100_000_001)),
        strangeValue,
      ),
      audience: fc.oneof(fc.dictionary(fc.constantFrom("subscribers", "active_unsubscribed", "__proto__", "constructor"), fc.constantFrom<Json>(10, null, -5, "x")), strangeValue),
      extra: strangeValue,
    },
    { requiredKeys: [] },
  ) as fc.Arbitrary<Json>,
  strangeValue,
);

const linksBody: fc.Arbitrary<Json> = fc.oneof(
  fc.record(
    {
      segment: fc.oneof(fc.constantFrom<Json>("subscribers", "inactive", "nope", "", ...POLLUTION_KEYS), strangeValue),
      // Small counts only: a valid count up to 10,000 would fill the database, not test anything more.
      count: fc.constantFrom<Json>(1, 2, 0, -1, 1.5, 10_001, 1e9, "2", null, true, [], {}, Number.MAX_SAFE_INTEGER + 2),
      kind: fc.constantFrom<Json>("personal", "open", "", null, 1),
      extra: strangeValue,
    },
    { requiredKeys: [] },
  ) as fc.Arbitrary<Json>,
  strangeValue,
);

interface StructuredCase {
  endpoint: Endpoint;
  body: Json;
  auth: "researcher" | "viewer" | "none" | "junk";
  id: string;
}

/** Mostly a researcher's token, so bodies reach validation; now and then a viewer, no token or a wrong one. */
const auth: fc.Arbitrary<StructuredCase["auth"]> = fc.oneof(
  { weight: 8, arbitrary: fc.constant("researcher" as const) },
  { weight: 1, arbitrary: fc.constantFrom("viewer" as const, "none" as const, "junk" as const) },
);

const ids = fc.oneof({ weight: 6, arbitrary: fc.constant("valid") }, { weight: 1, arbitrary: fc.constantFrom("0", "-1", "1e3", "abc", "99999999999999999999", "1.0", "%20", "00001", "__proto__", "constructor") });

const structured: fc.Arbitrary<StructuredCase> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      endpoint: fc.constant("studies" as const),
      body: fc.array(mutation, { minLength: 0, maxLength: 4 }).map((ms) => mutate(definitionJson(), ms)),
      auth,
      id: fc.constant("valid"),
    }),
  },
  { weight: 2, arbitrary: fc.record({ endpoint: fc.constant("waves" as const), body: waveBody, auth, id: ids }) },
  { weight: 2, arbitrary: fc.record({ endpoint: fc.constant("links" as const), body: linksBody, auth, id: ids }) },
  { weight: 1, arbitrary: fc.record({ endpoint: fc.constantFrom("open" as const, "close" as const, "me" as const), body: strangeValue, auth, id: ids }) },
);

function url(c: StructuredCase): string {
  const waveId = c.id === "valid" ? String(c.endpoint === "open" ? draftWaveId : survey.wave.id) : c.id;
  const studyId = c.id === "valid" ? String(survey.study.id) : c.id;
  switch (c.endpoint) {
    case "studies":
      return "/api/studies";
    case "waves":
      return `/api/studies/${studyId}/waves`;
    case "links":
      return `/api/waves/${waveId}/links`;
    case "open":
      return `/api/waves/${waveId}/open`;
    case "close":
      return `/api/waves/${waveId}/close`;
    case "me":
      return "/api/me";
  }
}

function authHeader(auth: StructuredCase["auth"]): Record<string, string> {
  switch (auth) {
    case "researcher":
      return { Authorization: `Bearer ${token}` };
    case "viewer":
      return { Authorization: `Bearer ${viewerToken}` };
    case "junk":
      return { Authorization: `Bearer ${token.slice(0, -2)}xx` };
    case "none":
      return {};
  }
}

const statuses = new Map<number, number>();

/** The definition of every stored study parses again: nothing invalid got in through the API. */
async function studiesRoundTrip(only?: number): Promise<string[]> {
  const bad: string[] = [];
  const all = await sqlRows<{ id: number }>(db, "SELECT id FROM studies ORDER BY id");
  for (const { id } of only === undefined ? all : [{ id: only }]) {
    const study = (await findStudy(db, id))!;
    const parsed = studyDefinition.safeParse(JSON.parse(JSON.stringify(toDefinition(study, await listSegments(db, id), await loadQuestionnaire(db, id)))));
    if (!parsed.success) bad.push(`study ${id}: ${parsed.error.message.slice(0, 300)}`);
  }
  return bad;
}

async function post(path: string, headers: Record<string, string>, body: Buffer | string | undefined) {
  const before = await tableCounts();
  const res = await send(server, path === "/api/me" ? "GET" : "POST", path, { headers, ...(body === undefined ? {} : { body }) });
  statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
  expect(res.status, `${path} → ${res.status} ${res.text.slice(0, 300)}`).toBeLessThan(500);
  expect(res.headers["content-type"], "API answers are JSON").toMatch(/^application\/json/);
  const parsed = JSON.parse(res.text) as { error?: { code?: unknown } };
  if (res.status >= 400) {
    expect(typeof parsed.error?.code).toBe("string");
    expect(await tableCounts(), `refused ${path} (${res.status}) wrote rows`).toEqual(before);
  }
  return res;
}

// ------------------------------------------------------------------------------------ raw bodies

interface RawCase {
  kind: "truncated" | "duplicateKeys" | "bytes" | "nested" | "literal" | "bom" | "huge";
  cut: number;
  bytes: number[];
  depth: number;
  literal: string;
  contentType: string;
}

const raw: fc.Arbitrary<RawCase> = fc.record({
  kind: fc.constantFrom("truncated", "duplicateKeys", "bytes", "nested", "literal", "bom", "huge"),
  cut: fc.double({ min: 0, max: 1, noNaN: true }),
  bytes: fc.constantFrom(...INVALID_UTF8),
  depth: fc.constantFrom(10, 100, 1000, 5000),
  literal: fc.constantFrom(
    "",
    "null",
    "[]",
    "0",
    '"x"',
    "NaN",
    "{,}",
    "{'name':'x'}",
    '{"name":"x",}',
    "// comment\n{}",
    '{"__proto__":{"polluted":"yes"}}',
    '{"constructor":{"prototype":{"polluted":"yes"}}}',
    '{"a":1e999999}',
    "\u0000",
    '{"name":"\\ud800"}',
    '{"name":"\\u0000"}',
    "[".repeat(10) + "]".repeat(9),
  ),
  contentType: fc.constantFrom(
    "application/json",
    "application/json; charset=utf-8",
    "application/json; charset=utf-16",
    "application/json; charset=latin1",
    "application/json; charset=bogus",
    "application/vnd.api+json",
    "text/plain",
    "application/x-www-form-urlencoded",
    "",
  ),
});

function rawBody(c: RawCase): Buffer {
  const valid = JSON.stringify(definitionJson());
  switch (c.kind) {
    case "truncated":
      return Buffer.from(valid.slice(0, Math.floor(c.cut * valid.length)));
    case "duplicateKeys":
      return Buffer.from(valid.replace('"name":', '"name":{"__proto__":{"polluted":1}},"name":').replace('"brand":', '"brand":1,"brand":'));
    case "bytes": {
      const at = Math.floor(c.cut * valid.length);
      return Buffer.concat([Buffer.from(valid.slice(0, at)), Buffer.from(c.bytes), Buffer.from(valid.slice(at))]);
    }
    case "nested":
      return Buffer.from(`{"name":${"[".repeat(c.depth)}${"]".repeat(c.depth)},"questions":${"{\"a\":".repeat(c.depth)}1${"}".repeat(c.depth)}}`);
    case "literal":
      return Buffer.from(c.literal);
    case "bom":
      return Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(valid)]);
    case "huge":
      // Past the 1 MB JSON limit: refused with 413 before parsing.
      return Buffer.from(JSON.stringify({ ...(definitionJson() as object), name: "x".repeat(1_100_000) }));
  }
}

// ------------------------------------------------------------------------------------ properties

describe("fuzzing the JSON API", () => {
  it(`survives ${STRUCTURED_RUNS} mutated definitions, wave and link bodies`, async () => {
    await fc.assert(
      fc.asyncProperty(structured, async (c) => {
        const body = JSON.stringify(c.body);
        const res = await post(url(c), { "Content-Type": "application/json", ...authHeader(c.auth) }, body);
        if (res.status === 201 && c.endpoint === "studies") expect(await studiesRoundTrip((JSON.parse(res.text) as { id: number }).id)).toEqual([]);
      }),
      { seed: SEEDS.api, numRuns: STRUCTURED_RUNS, endOnFailure: true },
    );
    // Some mutated definitions were still valid and stored, most were refused.
    expect(statuses.get(201) ?? 0).toBeGreaterThan(5);
    expect(statuses.get(422) ?? 0).toBeGreaterThan(50);
    expect(statuses.get(401) ?? 0).toBeGreaterThan(0);
    expect(statuses.get(403) ?? 0).toBeGreaterThan(0);
  }, 60_000);

  it(`survives ${RAW_RUNS} bodies that are not JSON, not UTF-8, nested deep or too large`, async () => {
    await fc.assert(
      fc.asyncProperty(raw, fc.oneof({ weight: 5, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }), async (c, authed) => {
        const headers: Record<string, string> = authed ? { Authorization: `Bearer ${token}` } : {};
        if (c.contentType) headers["Content-Type"] = c.contentType;
        const res = await post("/api/studies", headers, rawBody(c));
        if (!authed) expect(res.status).toBe(401);
        if (c.kind === "huge" && authed && /^application\/json/.test(c.contentType) && !/charset=(?!utf-8)/.test(c.contentType)) expect(res.status).toBe(413);
      }),
      { seed: SEEDS.apiRaw, numRuns: RAW_RUNS, endOnFailure: true },
    );
  }, 60_000);

  it("leaves valid data, Object.prototype untouched and the server answering", async () => {
    expect(await studiesRoundTrip()).toEqual([]);
    expect(await invalidRows(db)).toEqual({});
    expect(prototypePollution()).toEqual([]);
    const health = await send(server, "GET", "/healthz");
    expect(health.status).toBe(200);
    const me = await send(server, "GET", "/api/me", { headers: { Authorization: `Bearer ${token}` } });
    expect(me.status).toBe(200);
    expect(JSON.parse(me.text)).toMatchObject({ admin: false, teams: [{ name: "Default", role: "researcher" }] });
  });
});
