import type { Server } from "node:http";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Db } from "../../db/client.js";
import { createApiToken } from "../../server/services/accounts.js";
import { openSurvey, type OpenSurvey } from "../fixtures/surveys.js";
import { PASSWORD, addUser, freshApp } from "../helpers.js";
import { BROKEN_PERCENT, POLLUTION_KEYS, close, cookieOf, enc, formBody, listen, prototypePollution, send } from "./support.js";

/**
 * Malformed URLs: path segments and query strings with percent sequences that do not decode,
 * prototype-pollution names in query strings, on the respondent, share, researcher and API
 * routes. A malformed URL is the client's mistake: 4xx, never a 5xx.
 */

let server: Server;
let db: Db;
let survey: OpenSurvey;
let apiToken: string;
let sessionCookie: string;

beforeAll(async () => {
  const made = freshApp({ production: true });
  db = made.db;
  survey = await openSurvey(db);
  const researcher = await addUser(db, "researcher");
  apiToken = (await createApiToken(db, researcher.id, "urls")).token;
  server = await listen(made.app);
  const login = await send(server, "GET", "/login");
  const csrfCookie = cookieOf(login, "bl_csrf")!;
  const csrf = /name="_csrf" value="([^"]+)"/.exec(login.text)![1]!;
  const res = await send(server, "POST", "/login", {
    headers: { "Content-Type": "application/x-www-form-urlencoded", Cookie: csrfCookie },
    body: formBody([["email", researcher.email], ["password", PASSWORD], ["_csrf", csrf]]),
  });
  expect(res.status).toBe(303);
  sessionCookie = `${csrfCookie}; ${cookieOf(res, "bl_session")!}`;
});

afterAll(async () => {
  await close(server);
});

/** Path segments that are not valid percent-encoding (or decode to invalid UTF-8). */
const badSegment = fc.tuple(fc.constantFrom(...BROKEN_PERCENT), fc.constantFrom("", "abc", "AAAAAAAAAAAAAAAAAAAAA")).map(([b, rest]) => `${rest}${b}`);

async function statusOf(path: string, headers: Record<string, string> = {}) {
  const res = await send(server, "GET", path, { headers });
  return res.status;
}

/** Every case of one route family must answer below 500. */
async function noServerError(make: (segment: string) => string, headers: Record<string, string> = {}) {
  const failures: string[] = [];
  await fc.assert(
    fc.asyncProperty(badSegment, async (segment) => {
      const path = make(segment);
      const status = await statusOf(path, headers);
      if (status >= 500) failures.push(`${path} → ${status}`);
    }),
    { seed: 0x5eed_0006, numRuns: 30 },
  );
  expect(failures).toEqual([]);
}

describe("malformed URLs", () => {
  it("answer query strings with broken percent-encodings and pollution names without a 5xx", async () => {
    const token = survey.links["subscribers"]!.token;
    const paths = [`/s/${token}`, "/studies", `/studies/${survey.study.id}`, `/studies/${survey.study.id}/results`, "/login", "/api/studies", "/healthz"];
    const queries = fc.array(
      fc.tuple(fc.oneof(fc.constantFrom(...POLLUTION_KEYS, "lang", "created", "next", "done", "pre", "post", "confidence", "fseg"), fc.constantFrom(...BROKEN_PERCENT)), fc.oneof(fc.constantFrom(...BROKEN_PERCENT), fc.string({ maxLength: 8 }).map(enc))),
      { minLength: 1, maxLength: 4 },
    );
    const failures: string[] = [];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...paths), queries, async (path, pairs) => {
        const url = `${path}?${pairs.map(([k, v]) => `${k.startsWith("%") ? k : enc(k)}=${v}`).join("&")}`;
        const headers: Record<string, string> = path.startsWith("/api") ? { Authorization: `Bearer ${apiToken}` } : { Cookie: sessionCookie };
        const status = await statusOf(url, headers);
        if (status >= 500) failures.push(`${url} → ${status}`);
      }),
      { seed: 0x5eed_0007, numRuns: 120 },
    );
    expect(failures).toEqual([]);
    expect(prototypePollution()).toEqual([]);
  });

  // Was a bug: Express's router throws a URIError (status 400) for a route parameter that is not
  // valid percent-encoding, and it became a 500; middleware/errors.ts now answers 400.
  it("answer a survey link with a broken percent-encoding with 4xx, not 500", async () => {
    await noServerError((s) => `/s/${s}`);
    await noServerError((s) => `/s/${s}/thanks`);
  });

  it("answer a share link with a broken percent-encoding with 4xx, not 500", async () => {
    await noServerError((s) => `/r/${s}`);
  });

  it("answer researcher pages with a broken percent-encoding in an id with 4xx, not 500", async () => {
    await noServerError((s) => `/studies/${s}`, { Cookie: sessionCookie });
    await noServerError((s) => `/waves/${s}`, { Cookie: sessionCookie });
  });

  it("answer API routes with a broken percent-encoding in an id with 4xx, not 500", async () => {
    await noServerError((s) => `/api/studies/${s}`, { Authorization: `Bearer ${apiToken}` });
  });

  it("answer unknown paths with broken percent-encodings with 404 (no route parameter to decode)", async () => {
    await noServerError((s) => `/no-such-page/${s}`);
    await noServerError((s) => `/static/${s}`);
  });
});
