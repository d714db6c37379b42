import { request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import fc from "fast-check";
import type { Db } from "../../db/client.js";
import { RESPONSE_STATUSES } from "../../db/schema.js";
import { MAX_TEXT_ANSWER } from "../../server/domain/study-definition.js";
import { sqlRows, sqlValue } from "../support/sql.js";

/**
 * Shared pieces of the fuzz suites: one listening server per suite (supertest would otherwise
 * start and stop a server for every request), the survey form's hidden fields, and the
 * database invariants that no request, however malformed, may break.
 */

/** Fixed seeds: a failure names its case and reproduces exactly. */
export const SEEDS = { survey: 0x5eed_0001, surveyRaw: 0x5eed_0002, api: 0x5eed_0003, apiRaw: 0x5eed_0004, researcher: 0x5eed_0005 } as const;

export { listen, closeServer as close } from "../helpers.js";

export function origin(server: Server): string {
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/**
 * One HTTP request with the body sent byte for byte. (superagent would serialise a Buffer sent as
 * a form into `0=97&1=61…`; node:http sends exactly what the fuzzer made, invalid UTF-8 included.)
 */
export function send(
  server: Server,
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: Buffer | string } = {},
): Promise<RawResponse> {
  const { port } = server.address() as AddressInfo;
  const body = options.body === undefined ? undefined : Buffer.isBuffer(options.body) ? options.body : Buffer.from(options.body);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: "127.0.0.1",
        port,
        method,
        path,
        headers: { ...(body ? { "Content-Length": String(body.length) } : {}), ...options.headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

/** The `name=value` part of a Set-Cookie header of a response. */
export function cookieOf(res: RawResponse, name: string): string | undefined {
  const raw = res.headers["set-cookie"];
  const list = Array.isArray(raw) ? raw : raw ? [raw] : [];
  return list.find((c) => c.startsWith(`${name}=`))?.split(";")[0];
}

/** Percent-encodes the UTF-8 bytes of a string (lone surrogates become U+FFFD, as a browser sends them). */
export const enc = (s: string): string =>
  [...Buffer.from(s, "utf8")]
    .map((b) => (/[A-Za-z0-9\-_.~]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, "0")}`))
    .join("");

/** A urlencoded body of name/value pairs, in order, repeated names kept. */
export const formBody = (pairs: ReadonlyArray<readonly [string, string]>): string => pairs.map(([k, v]) => `${enc(k)}=${enc(v)}`).join("&");

/** The hidden fields of the survey form on a page (_n, _t, _s, _p, _l). */
export function hiddenFields(html: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of html.matchAll(/<input type="hidden" name="(_\w)" value="([^"]*)">/g)) out[m[1]!] = m[2]!;
  return out;
}

// ------------------------------------------------------------------------------------- generators

/** Keys that have polluted prototypes in other parsers, as field names, query names and JSON keys. */
export const POLLUTION_KEYS = [
  "__proto__",
  "constructor",
  "prototype",
  "__proto__[x]",
  "__proto__[polluted]",
  "constructor[prototype][polluted]",
  "constructor.prototype.polluted",
  "__proto__.polluted",
  "toString",
  "hasOwnProperty",
  "valueOf",
] as const;

export const XSS_SNIPPETS = [
  "<script>alert(1)</script>",
  '"><img src=x onerror=alert(1)>',
  "javascript:alert(1)",
  "<%= 7*7 %>",
  "{{constructor.constructor('alert(1)')()}}",
] as const;

/** Percent sequences that do not decode, or decode to invalid UTF-8 (overlong, surrogate, truncated). */
export const BROKEN_PERCENT = ["%", "%%", "%Z", "%ZZ", "%E0%A4%A", "%C0%AF", "%ED%A0%80", "%FF", "%F4%90%80%80", "%C3", "%u0041", "%0", "%%41"] as const;

/** Raw bytes that are not valid UTF-8. */
export const INVALID_UTF8: readonly number[][] = [[0xff], [0xfe, 0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xe0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0x80], [0xc3]];

/** Text of every kind, kept short enough for a quick run. */
export const anyText = (maxLength = 60): fc.Arbitrary<string> =>
  fc.oneof(
    fc.string({ maxLength }),
    fc.string({ unit: "grapheme", maxLength }),
    fc.string({ unit: "binary", maxLength }),
    fc.constantFrom(...XSS_SNIPPETS, ...POLLUTION_KEYS, "", " ", "\u0000", "\r\n", "\uFEFF", "\uD800", "\uDFFF", "𝟘", "NaN", "Infinity", "-0", "1e309"),
  );

/** Long strings in a few lengths, bounded so the run stays quick. */
export const longText = fc
  .tuple(fc.constantFrom("x", "я", "😀", "<", "%", "&", " "), fc.constantFrom(501, 1999, 2000, 2001, 4000, 20_000))
  .map(([unit, n]) => unit.repeat(n));

// ------------------------------------------------------------------------------------- invariants

/**
 * Every way a stored response or answer could be invalid, each as a query returning the
 * offending rows; an empty result everywhere means the database holds only valid data. Written in
 * the SQL both engines read (TRUE/FALSE, no scalar min/max), so the checks hold on PostgreSQL too.
 */
const VIOLATIONS: Record<string, string> = {
  "response status outside the allowed set": `
    SELECT id, status FROM responses WHERE status NOT IN (${RESPONSE_STATUSES.map((s) => `'${s}'`).join(", ")})`,
  "response segment of another study than its wave": `
    SELECT r.id FROM responses r JOIN waves w ON w.id = r.wave_id JOIN segments s ON s.id = r.segment_id
    WHERE s.study_id != w.study_id`,
  "response link of another wave or segment": `
    SELECT r.id FROM responses r JOIN links l ON l.id = r.link_id WHERE l.wave_id != r.wave_id OR l.segment_id != r.segment_id`,
  "completed response without its completion time": `
    SELECT id FROM responses WHERE status = 'completed' AND completed_at IS NULL`,
  "answer to a question of another study": `
    SELECT a.id FROM answers a JOIN responses r ON r.id = a.response_id JOIN waves w ON w.id = r.wave_id
    JOIN questions q ON q.id = a.question_id WHERE q.study_id != w.study_id`,
  "answer option of another question": `
    SELECT a.id FROM answers a LEFT JOIN options o ON o.id = a.option_id
    WHERE a.option_id IS NOT NULL AND (o.id IS NULL OR o.question_id != a.question_id)`,
  "choice answer without an option, or with a value": `
    SELECT a.id FROM answers a JOIN questions q ON q.id = a.question_id
    WHERE q.type IN ('single', 'multi') AND (a.option_id IS NULL OR a.value_number IS NOT NULL OR a.value_text IS NOT NULL)`,
  "several answers to a single, scale or text question": `
    SELECT a.response_id, a.question_id, count(*) AS n FROM answers a JOIN questions q ON q.id = a.question_id
    WHERE q.type IN ('single', 'scale', 'text') GROUP BY a.response_id, a.question_id HAVING count(*) > 1`,
  "the same option twice in one response": `
    SELECT response_id, option_id, count(*) AS n FROM answers WHERE option_id IS NOT NULL
    GROUP BY response_id, option_id HAVING count(*) > 1`,
  "an exclusive option combined with another": `
    SELECT a.response_id, a.question_id FROM answers a JOIN options o ON o.id = a.option_id
    WHERE o.exclusive = TRUE AND EXISTS (
      SELECT 1 FROM answers b WHERE b.response_id = a.response_id AND b.question_id = a.question_id AND b.id != a.id)`,
  "scale value missing, fractional or out of bounds": `
    SELECT a.id, a.value_number FROM answers a JOIN questions q ON q.id = a.question_id
    WHERE q.type = 'scale' AND (a.option_id IS NOT NULL OR a.value_text IS NOT NULL OR a.value_number IS NULL
      OR a.value_number != round(a.value_number)
      OR a.value_number < coalesce(q.scale_min, 1) OR a.value_number > coalesce(q.scale_max, 5))`,
  "text answer missing, empty or too long": `
    SELECT a.id, length(a.value_text) AS len FROM answers a JOIN questions q ON q.id = a.question_id
    WHERE q.type = 'text' AND (a.option_id IS NOT NULL OR a.value_number IS NOT NULL OR a.value_text IS NULL
      OR length(trim(a.value_text)) = 0
      OR length(a.value_text) > ${MAX_TEXT_ANSWER} OR length(a.value_text) > coalesce(q.max_length, ${MAX_TEXT_ANSWER}))`,
  "completed response missing a required answer": `
    SELECT r.id, q.key FROM responses r JOIN waves w ON w.id = r.wave_id JOIN questions q ON q.study_id = w.study_id
    WHERE r.status = 'completed' AND q.required = TRUE
      AND NOT EXISTS (SELECT 1 FROM answers a WHERE a.response_id = r.id AND a.question_id = q.id)`,
  "personal link used more than once": `
    SELECT l.id FROM links l WHERE l.kind = 'personal'
      AND (l.uses > 1 OR (SELECT count(*) FROM responses r WHERE r.link_id = l.id) > 1)`,
  "open link use count differs from its completed responses": `
    SELECT l.id, l.uses FROM links l WHERE l.kind = 'open'
      AND l.uses != (SELECT count(*) FROM responses r WHERE r.link_id = l.id AND r.status = 'completed')`,
  "answer of a response that does not exist": `
    SELECT a.id FROM answers a LEFT JOIN responses r ON r.id = a.response_id WHERE r.id IS NULL`,
};

/** The violated invariants with a few offending rows each; `{}` when the data is valid. */
export async function invalidRows(db: Db): Promise<Record<string, unknown[]>> {
  const found: Record<string, unknown[]> = {};
  for (const [what, sql] of Object.entries(VIOLATIONS)) {
    const bad = await sqlRows(db, sql);
    if (bad.length) found[what] = bad.slice(0, 5);
  }
  return found;
}

export async function counts(db: Db): Promise<{ responses: number; answers: number; mentions: number }> {
  const one = async (table: string) => (await sqlValue<number>(db, `SELECT count(*) AS n FROM ${table}`))!;
  return { responses: await one("responses"), answers: await one("answers"), mentions: await one("text_mentions") };
}

/** Names that would show up on every object if a parser had written through `__proto__`. */
export function prototypePollution(): string[] {
  const probe: Record<string, unknown> = {};
  const suspicious = ["x", "polluted", "isAdmin", "role", "0"].filter((k) => probe[k] !== undefined);
  const own = [Object.prototype, Array.prototype, Function.prototype, String.prototype].flatMap((proto) =>
    Object.getOwnPropertyNames(proto).filter((k) => /polluted|^x$/i.test(k)),
  );
  return [...suspicious, ...own, ...Object.keys(Object.prototype)];
}
