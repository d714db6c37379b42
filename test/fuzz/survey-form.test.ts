import type { Server } from "node:http";
import { sqlColumn, sqlRows, sqlValue } from "../support/sql.js";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Db } from "../../db/client.js";
import { setWaveStatus } from "../../db/queries/fieldwork.js";
import type { Link } from "../../db/schema.js";
import type { Config } from "../../server/config.js";
import { hmac } from "../../server/domain/secrets.js";
import { newFormToken } from "../../server/services/respond.js";
import { brandLiftDefinition, openSurvey, personalLink, validAnswers, type OpenSurvey } from "../fixtures/surveys.js";
import { freshApp } from "../helpers.js";
import {
  BROKEN_PERCENT,
  INVALID_UTF8,
  POLLUTION_KEYS,
  SEEDS,
  XSS_SNIPPETS,
  anyText,
  close,
  cookieOf,
  counts,
  enc,
  formBody,
  hiddenFields,
  invalidRows,
  listen,
  longText,
  prototypePollution,
  send,
} from "./support.js";

/**
 * Respondent form posts, random and malformed, against a live in-process server: answers of
 * every wrong type, unknown and repeated fields, huge values, broken percent-encodings, invalid
 * UTF-8, prototype-pollution names in the body and the query, with a form token fetched from
 * the page or forged in every way. Whatever arrives: no 5xx, nothing stored without a valid
 * form token, and every stored row valid.
 */

const SURVEY_RUNS = 800;
const RAW_RUNS = 400;

type Target = "open" | "multipage" | "personal" | "closed" | "unknown";
type TokenMode = "fetched" | "forged" | "missing" | "tampered" | "otherLink" | "preview" | "future" | "replayedElsewhere";

interface World {
  db: Db;
  config: Config;
  server: Server;
  single: OpenSurvey;
  multi: OpenSurvey;
  closedToken: string;
  personal: Link[];
  /** Every nonce a rendered survey form handed out. */
  issued: Set<string>;
  personalNext: number;
}

let w: World;
/** How often each status was answered, to show the run reached every outcome. */
const statuses = new Map<number, number>();
let cases = 0;

beforeAll(async () => {
  // Production settings (cached templates): the fuzzer measures the app, not EJS recompiling.
  const { app, db, config } = freshApp({ production: true });
  const single = await openSurvey(db);
  const multi = await openSurvey(db, brandLiftDefinition({ name: "Multi", pageSize: 2 }));
  const closed = await openSurvey(db, brandLiftDefinition({ name: "Closed" }));
  await setWaveStatus(db, closed.wave.id, "closed", new Date());
  const personal: Link[] = [];
  for (let i = 0; i < 40; i++) personal.push(await personalLink(db, single, "inactive"));
  w = { db, config, server: await listen(app), single, multi, closedToken: closed.links["subscribers"]!.token, personal, issued: new Set(), personalNext: 0 };
});

afterAll(async () => {
  await close(w.server);
});

function linkToken(target: Target): string {
  switch (target) {
    case "open":
      return w.single.links["subscribers"]!.token;
    case "multipage":
      return w.multi.links["active_unsubscribed"]!.token;
    case "personal": {
      // A fresh personal link most of the time, a used one now and then.
      const link = w.personal[w.personalNext % w.personal.length]!;
      w.personalNext++;
      return link.token;
    }
    case "closed":
      return w.closedToken;
    case "unknown":
      return "NoSuchLinkToken_12345";
  }
}

/** GET the survey page: its hidden fields (recorded as issued) and the browser cookie. */
async function fetchForm(path: string, query = "", cookie?: string): Promise<{ fields: Record<string, string>; cookie: string | undefined }> {
  const res = await send(w.server, "GET", `${path}${query}`, cookie ? { headers: { Cookie: cookie } } : {});
  expect(res.status, `GET ${path}${query}`).toBeLessThan(500);
  const fields = hiddenFields(res.text);
  if (fields["_n"]) w.issued.add(fields["_n"]);
  return { fields, cookie: cookieOf(res, "bl_rid") ?? cookie };
}

// ------------------------------------------------------------------------------------ generators

const questionFields = ["q_aided", "q_recall", "q_fav", "q_feedback"] as const;
const optionKeys = ["acme", "rival", "other", "third", "none", "yes", "no", "maybe", "ACME", " acme ", "acme\u0000"];
const scaleValues = ["1", "3", "5", "0", "6", "-1", "-0", "4.5", "1e0", "0x3", " 4 ", "04", "９", "Infinity", "NaN", "9007199254740993", "", "+3"];

const fieldName = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...questionFields) },
  { weight: 2, arbitrary: fc.constantFrom("_n", "_t", "_s", "_p", "_l", "website", "q_unknown", "q_", "q_aided[]", "q_aided[0]", "_csrf", "q___proto__") },
  { weight: 2, arbitrary: fc.constantFrom(...POLLUTION_KEYS) },
  { weight: 1, arbitrary: anyText(12) },
);

const fieldValue = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...optionKeys) },
  { weight: 3, arbitrary: fc.constantFrom(...scaleValues) },
  { weight: 3, arbitrary: anyText(40) },
  { weight: 1, arbitrary: longText },
  { weight: 1, arbitrary: fc.constantFrom(...XSS_SNIPPETS, "{}", "[]", "null", "true", "[object Object]") },
);

type Pair = [string, string];
const FORM = "application/x-www-form-urlencoded";

/** A valid set of answers, then mutated: fields dropped, repeated, replaced, junk added. */
const answers: fc.Arbitrary<Pair[]> = fc
  .record({
    base: fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, { weight: 2, arbitrary: fc.constant(false) }),
    drop: fc.oneof({ weight: 3, arbitrary: fc.constant<string[]>([]) }, { weight: 2, arbitrary: fc.subarray<string>([...questionFields]) }),
    extra: fc.oneof({ weight: 2, arbitrary: fc.constant<Pair[]>([]) }, { weight: 3, arbitrary: fc.array(fc.tuple(fieldName, fieldValue), { minLength: 1, maxLength: 8 }) }),
  })
  .map(({ base, drop, extra }) => {
    const pairs: Pair[] = [];
    if (base) {
      for (const [name, value] of Object.entries(validAnswers())) {
        if (drop.includes(name)) continue;
        for (const v of Array.isArray(value) ? value : [value]) pairs.push([name, v]);
      }
    }
    return [...pairs, ...extra];
  });

const queryPairs: fc.Arbitrary<Pair[]> = fc.array(
  fc.tuple(
    fc.oneof(fc.constantFrom("rid", "src", "lang", "utm_source", "utm_x", "sig", "panel_id"), fc.constantFrom(...POLLUTION_KEYS)),
    fc.oneof(fc.constantFrom("en", "ru", "de", "", "1"), anyText(20)),
  ),
  { maxLength: 4 },
);

const tokenMode: fc.Arbitrary<TokenMode> = fc.oneof(
  { weight: 8, arbitrary: fc.constant("fetched" as const) },
  { weight: 6, arbitrary: fc.constantFrom("forged", "missing", "tampered", "otherLink", "preview", "future", "replayedElsewhere") },
);

const target: fc.Arbitrary<Target> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom("open", "multipage") },
  { weight: 2, arbitrary: fc.constant("personal" as const) },
  { weight: 1, arbitrary: fc.constantFrom("closed", "unknown") },
);

const contentType = fc.oneof(
  { weight: 12, arbitrary: fc.constant("application/x-www-form-urlencoded") },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      "application/x-www-form-urlencoded; charset=utf-8",
      "application/x-www-form-urlencoded; charset=iso-8859-1",
      "application/x-www-form-urlencoded; charset=utf-7",
      "application/x-www-form-urlencoded; charset=bogus",
      "text/plain",
      "application/json",
      "multipart/form-data; boundary=xyz",
      "",
    ),
  },
);

// ------------------------------------------------------------------------------------ requests

/** Percent-encoded query, sometimes with a broken sequence (only characters Node lets into a URL). */
function queryString(pairs: Pair[], broken: string | null): string {
  const parts = pairs.map(([k, v]) => `${enc(k)}=${enc(v)}`);
  if (broken !== null) parts.push(`rid=${broken}`, `${broken}=1`);
  return parts.length ? `?${parts.join("&")}` : "";
}

/** A urlencoded body; in raw mode with broken percent sequences, unencoded separators and invalid UTF-8 bytes spliced in. */
function body(pairs: Pair[], raw: { broken: string[]; bytes: number[][]; at: number[] } | null): Buffer {
  const text = formBody(pairs);
  if (!raw) return Buffer.from(text);
  const chunks: Buffer[] = [];
  let last = 0;
  const cuts = [...new Set(raw.at.map((a) => Math.floor(a * (text.length + 1))))].sort((a, b) => a - b);
  cuts.forEach((cut, i) => {
    chunks.push(Buffer.from(text.slice(last, cut)));
    const insert = i % 2 === 0 ? raw.broken[i % Math.max(1, raw.broken.length)] : undefined;
    if (insert !== undefined) chunks.push(Buffer.from(insert));
    const bytes = raw.bytes[i % Math.max(1, raw.bytes.length)];
    if (bytes) chunks.push(Buffer.from(bytes));
    last = cut;
  });
  chunks.push(Buffer.from(text.slice(last)));
  return Buffer.concat(chunks);
}

function tamper(value: string | undefined): string {
  if (!value) return "x";
  const i = value.length - 1;
  return value.slice(0, i) + (value[i] === "A" ? "B" : "A");
}

interface Case {
  target: Target;
  token: TokenMode;
  answers: Pair[];
  query: Pair[];
  brokenQuery: string | null;
  raw: { broken: string[]; bytes: number[][]; at: number[] } | null;
  contentType: string;
  withCookie: boolean;
}

/** The hidden fields to send for a token mode; `valid` when a correct server would accept them. */
async function formFields(c: Case, path: string, query: string): Promise<{ fields: Pair[]; cookie: string | undefined; valid: boolean }> {
  const token = path.slice(3);
  const secret = w.config.sessionSecret;
  const asPairs = (f: Record<string, string | number>) => Object.entries(f).map(([k, v]): Pair => [k, String(v)]);
  switch (c.token) {
    case "fetched": {
      const { fields, cookie } = await fetchForm(path, query);
      return { fields: asPairs(fields), cookie, valid: fields["_n"] !== undefined };
    }
    case "tampered": {
      const { fields, cookie } = await fetchForm(path, query);
      const which = (fields["_n"]?.length ?? 0) % 3;
      const changed = { ...fields };
      if (which === 0) changed["_s"] = tamper(fields["_s"]);
      else if (which === 1) changed["_n"] = tamper(fields["_n"]);
      else changed["_t"] = String(Number(fields["_t"] ?? 0) + 1);
      return { fields: asPairs(changed), cookie, valid: false };
    }
    case "otherLink": {
      // A genuine form of another study's link.
      const other = path.includes(w.multi.links["active_unsubscribed"]!.token) ? w.single.links["inactive"]! : w.multi.links["subscribers"]!;
      const { fields } = await fetchForm(`/s/${other.token}`);
      return { fields: asPairs(fields), cookie: undefined, valid: false };
    }
    case "replayedElsewhere": {
      // The latest stored nonce, correctly signed for this link (the form signature is HMAC("form|link|nonce|t")):
      // a resume when it is this link's response, refused when it belongs to another link.
      const stored = (await sqlRows<{ nonce: string; t: number }>(w.db, "SELECT nonce, started_at AS t FROM responses ORDER BY id DESC LIMIT 1"))[0];
      if (!stored) return { fields: [["_n", "A".repeat(22)]], cookie: undefined, valid: false };
      const sameLink = await sqlValue(w.db, "SELECT 1 FROM responses r JOIN links l ON l.id = r.link_id WHERE r.nonce = ? AND l.token = ?", [stored.nonce, token]);
      const resigned = { _n: stored.nonce, _t: stored.t, _s: hmac(secret, `form|${token}|${stored.nonce}|${stored.t}`), _p: 0 };
      return { fields: asPairs(resigned), cookie: undefined, valid: sameLink !== undefined };
    }
    case "preview": {
      const f = newFormToken(secret, "preview");
      return { fields: asPairs({ _n: f.nonce, _t: f.startedAt, _s: f.signature, _p: 0 }), cookie: undefined, valid: false };
    }
    case "future": {
      const f = newFormToken(secret, token, Date.now() + 10 * 60_000);
      return { fields: asPairs({ _n: f.nonce, _t: f.startedAt, _s: f.signature, _p: 0 }), cookie: undefined, valid: false };
    }
    case "forged":
      return {
        fields: [
          ["_n", "A".repeat(22)],
          ["_t", String(Date.now())],
          ["_s", "B".repeat(43)],
          ["_p", "0"],
        ],
        cookie: undefined,
        valid: false,
      };
    case "missing":
      return { fields: [], cookie: undefined, valid: false };
  }
}

async function runCase(c: Case) {
  const path = `/s/${linkToken(c.target)}`;
  const query = queryString(c.query, c.brokenQuery);
  const { fields, cookie, valid } = await formFields(c, path, query);
  // Duplicated token fields make the token an array: no longer a valid one.
  const tokenNames = new Set(["_n", "_t", "_s"]);
  const repeatsToken = c.answers.some(([name]) => tokenNames.has(name));
  // body-parser reads urlencoded bodies in UTF-8 or ISO-8859-1 and refuses other charsets (415 → 400).
  const urlencoded = c.contentType.startsWith("application/x-www-form-urlencoded") && !/charset=(?!utf-8|iso-8859-1)/.test(c.contentType);
  const mayStore = valid && !repeatsToken && urlencoded && (c.target === "open" || c.target === "multipage" || c.target === "personal");

  const before = await counts(w.db);
  const payload = body([...fields, ...c.answers], c.raw);
  const headers: Record<string, string> = {};
  if (c.contentType) headers["Content-Type"] = c.contentType;
  if (cookie && c.withCookie) headers["Cookie"] = cookie;
  const res = await send(w.server, "POST", `${path}${query}`, { headers, body: payload });

  expect(res.status, `POST ${path}${query} → ${res.status}\n${res.text.slice(0, 300)}`).toBeLessThan(500);
  if (!mayStore) expect(await counts(w.db), `a refused post (${c.token}, ${c.target}) stored something`).toEqual(before);

  statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
  // A multi-page survey moved on: fetch the next page in the same browser and post the fuzzed answers to it too.
  if (res.status === 303 && String(res.headers["location"]).split("?")[0] === path && cookie && c.withCookie) {
    const next = await fetchForm(path, query, cookie);
    const again = await send(w.server, "POST", `${path}${query}`, {
      headers: { "Content-Type": FORM, Cookie: cookie },
      body: body([...Object.entries(next.fields), ...c.answers], null),
    });
    expect(again.status).toBeLessThan(500);
  }
}

const caseArb = (raw: boolean): fc.Arbitrary<Case> =>
  fc.record({
    target,
    token: tokenMode,
    answers,
    query: queryPairs,
    brokenQuery: raw ? fc.option(fc.constantFrom(...BROKEN_PERCENT), { freq: 2 }) : fc.constant(null),
    raw: raw
      ? fc.option(
          fc.record({
            broken: fc.array(fc.constantFrom(...BROKEN_PERCENT, "&", "=", "&&", "==", "+", "%2", "&=&"), { maxLength: 4 }),
            bytes: fc.array(fc.constantFrom(...INVALID_UTF8), { maxLength: 3 }),
            at: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 4 }),
          }),
          { freq: 6 },
        )
      : fc.constant(null),
    contentType,
    withCookie: fc.boolean(),
  });

/** The invariants are SQL over the whole database: checked every few cases and at the end. */
async function checkInvariantsSometimes() {
  if (++cases % 10 === 0) await checkInvariants();
}

async function checkInvariants() {
  expect(await invalidRows(w.db)).toEqual({});
  const nonces = await sqlColumn<string>(w.db, "SELECT nonce FROM responses");
  expect(nonces.filter((n) => !w.issued.has(n)), "responses stored under a nonce no survey page issued").toEqual([]);
}

describe("fuzzing the respondent form", () => {
  it(`survives ${SURVEY_RUNS} random form posts with valid and forged tokens`, async () => {
    await fc.assert(
      fc.asyncProperty(caseArb(false), async (c) => {
        await runCase(c);
        await checkInvariantsSometimes();
      }),
      { seed: SEEDS.survey, numRuns: SURVEY_RUNS, endOnFailure: true },
    );
    await checkInvariants();
    // The run stored real responses and reached every outcome, so the invariants were tested on data.
    expect((await counts(w.db)).responses).toBeGreaterThan(50);
    for (const status of [303, 400, 404, 410, 422]) expect(statuses.get(status) ?? 0, `status ${status} never answered`).toBeGreaterThan(0);
    if (process.env["FUZZ_STATS"]) console.log("survey fuzz", Object.fromEntries(statuses), await counts(w.db));
  }, 60_000);

  it(`survives ${RAW_RUNS} raw bodies with broken percent-encodings and invalid UTF-8`, async () => {
    await fc.assert(
      fc.asyncProperty(caseArb(true), async (c) => {
        await runCase(c);
        await checkInvariantsSometimes();
      }),
      { seed: SEEDS.surveyRaw, numRuns: RAW_RUNS, endOnFailure: true },
    );
    await checkInvariants();
  }, 60_000);

  it("refuses bodies beyond the limit with 413 and stores nothing", async () => {
    const path = `/s/${w.single.links["subscribers"]!.token}`;
    for (const size of [256 * 1024 + 1, 300_000, 1_100_000]) {
      const { fields } = await fetchForm(path);
      const before = await counts(w.db);
      const payload = Buffer.from(new URLSearchParams({ ...fields, ...(validAnswers() as Record<string, string>), q_feedback: "x".repeat(size) }).toString());
      const res = await send(w.server, "POST", path, { headers: { "Content-Type": FORM }, body: payload });
      expect(res.status).toBe(413);
      expect(await counts(w.db)).toEqual(before);
    }
    // Too many fields is refused as well, without a 5xx.
    const many = Array.from({ length: 2500 }, (_, i) => `f${i}=1`).join("&");
    const res = await send(w.server, "POST", path, { headers: { "Content-Type": FORM }, body: many });
    expect([400, 413]).toContain(res.status);
  });

  it("sends prototype-pollution names in body and query without effect", async () => {
    const path = `/s/${w.single.links["inactive"]!.token}`;
    const names = [...POLLUTION_KEYS, "__proto__[q_recall]", "q_recall[__proto__]", "constructor[prototype][q_recall]"];
    const query = names.map((n) => `${enc(n)}=polluted`).join("&");
    const { fields, cookie } = await fetchForm(path, `?${query}`);
    const pairs: Pair[] = [...Object.entries(fields), ...Object.entries(validAnswers()).flatMap(([k, v]) => (Array.isArray(v) ? v.map((x): Pair => [k, x]) : [[k, v] as Pair])), ...names.map((n): Pair => [n, "polluted"])];
    const res = await send(w.server, "POST", `${path}?${query}`, { headers: { "Content-Type": FORM, Cookie: cookie ?? "" }, body: body(pairs, null) });
    expect(res.status).toBe(303);
    const stored = (await sqlValue<string | null>(w.db, "SELECT params FROM responses WHERE nonce = ?", [fields["_n"]])) ?? null;
    expect(stored === null || !stored.includes("polluted")).toBe(true);
    expect(prototypePollution()).toEqual([]);
  });

  it("keeps answering afterwards: health check, a normal survey, no prototype pollution", async () => {
    const health = await send(w.server, "GET", "/healthz");
    expect(health.status).toBe(200);
    expect(JSON.parse(health.text)).toEqual({ status: "ok" });
    const path = `/s/${w.single.links["active_unsubscribed"]!.token}`;
    const { fields } = await fetchForm(path);
    const pairs: Pair[] = [...Object.entries(fields), ...Object.entries(validAnswers()).flatMap(([k, v]) => (Array.isArray(v) ? v.map((x): Pair => [k, x]) : [[k, v] as Pair]))];
    const res = await send(w.server, "POST", path, { headers: { "Content-Type": FORM }, body: body(pairs, null) });
    expect(res.status, res.text.slice(0, 500)).toBe(303);
    expect(String(res.headers["location"])).toMatch(new RegExp(`^${path}/thanks(\\?|$)`));
    await checkInvariants();
    expect(prototypePollution()).toEqual([]);
  });
});
