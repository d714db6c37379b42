/**
 * Simulated respondents, each a browser of its own: a first visit without cookies gets the survey
 * page, keeps the bl_rid cookie the app issues and the form's hidden fields (_n, _t, _s, _p, _l),
 * posts the page's questions with valid answers and the empty honeypot, follows the 303 to the
 * next page, and so on to the end. Each has its own address (X-Forwarded-For, trusted from the
 * proxy on 127.0.0.1: bench/lib/app-server.ts) and User-Agent, so none looks like a duplicate of
 * another or shares another's rate-limit counter.
 *
 * Two drivers share the steps: an autocannon request sequence (closed loop, as fast as the server
 * answers) and `respondOnce` (one respondent over node:http, for open-loop arrivals).
 */
import { request, type Agent } from "node:http";
import type autocannon from "autocannon";
import type { LatencyBook } from "./latency.js";

/** A complete, valid answer to every question of the template (bench/lib/fixture.ts), two options on each multi question. */
export const TEMPLATE_ANSWERS: ReadonlyArray<readonly [string, string]> = [
  ["q_unaided", "Acme, Rival and a few local places"],
  ["q_aided", "brand"],
  ["q_aided", "competitor_1"],
  ["q_ad_recall", "yes"],
  ["q_advantages", "advantage_1"],
  ["q_advantages", "advantage_2"],
  ["q_favorability", "4"],
  ["q_consideration", "5"],
  ["q_attention", "somewhat_disagree"],
  ["q_feedback", "More seats by the window, please."],
  ["q_gender", "female"],
  ["q_age_group", "age_25_34"],
];
export const ANSWER_FIELDS = [...new Set(TEMPLATE_ANSWERS.map(([name]) => name))];
/** Answer rows stored per completed response with TEMPLATE_ANSWERS. */
export const ANSWERS_PER_RESPONSE = TEMPLATE_ANSWERS.length;

export interface Identity {
  address: string;
  userAgent: string;
}

let serial = 0;

/** A respondent never seen before in this process: 10.x.y.z and a phone browser's User-Agent with its number. */
export function newIdentity(): Identity {
  const n = ++serial;
  return {
    address: `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`,
    userAgent: `Mozilla/5.0 (Linux; Android 14; Bench ${n}) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36`,
  };
}

export function identityHeaders(who: Identity): Record<string, string> {
  return { "x-forwarded-for": who.address, "user-agent": who.userAgent };
}

export interface PageForm {
  hidden: Array<[string, string]>;
  /** Every input name on the page: the answers posted are the ones it asks for. */
  fields: Set<string>;
}

/** The form of a survey page, or undefined when the page has none (an error or message page). */
export function readForm(html: string): PageForm | undefined {
  const hidden = [...html.matchAll(/<input type="hidden" name="(_\w)" value="([^"]*)">/g)].map((m): [string, string] => [m[1]!, m[2]!]);
  if (!hidden.some(([name]) => name === "_n")) return undefined;
  return { hidden, fields: new Set([...html.matchAll(/\sname="([^"]+)"/g)].map((m) => m[1]!)) };
}

/** What a browser posts for the page: its hidden fields, the empty honeypot, the answers to its questions. */
export function pageBody(form: PageForm, answers: ReadonlyArray<readonly [string, string]>): string {
  const body = new URLSearchParams(form.hidden);
  body.set("website", "");
  for (const [name, value] of answers) if (form.fields.has(name)) body.append(name, value);
  return body.toString();
}

/** The bl_rid cookie ("bl_rid=…") among Set-Cookie headers, if any. */
export function browserCookie(setCookie: unknown): string | undefined {
  const all = Array.isArray(setCookie) ? setCookie.map(String) : setCookie === undefined ? [] : [String(setCookie)];
  return all.map((c) => c.split(";")[0]!).find((c) => c.startsWith("bl_rid="));
}

function header(headers: Record<string, unknown> | undefined, name: string): unknown {
  if (!headers) return undefined;
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
  return key === undefined ? undefined : headers[key];
}

interface FlowContext {
  who?: Identity;
  cookie?: string | undefined;
  form?: PageForm | undefined;
  sentAt?: number;
}

export interface FlowOptions {
  /** The survey path, /s/<token>. */
  path: string;
  pages: number;
  answers?: ReadonlyArray<readonly [string, string]>;
  /** Latency of each request, as "GET" and "POST". */
  latencies?: LatencyBook;
  /** A 303 answering a respondent's last page. */
  onCompleted?: () => void;
}

/**
 * One respondent as an autocannon sequence, repeated by each connection with a new respondent:
 * GET the page, POST it, for every page. A POST without a form (the GET failed) starts over.
 */
export function respondentRequests(o: FlowOptions): autocannon.Request[] {
  const answers = o.answers ?? TEMPLATE_ANSWERS;
  const requests: autocannon.Request[] = [];
  for (let page = 0; page < o.pages; page++) {
    requests.push({
      method: "GET",
      path: o.path,
      setupRequest: (req, context) => {
        const c = context as FlowContext;
        if (page === 0 || !c.who) {
          c.who = newIdentity();
          c.cookie = undefined;
        }
        c.form = undefined;
        req.headers = { ...identityHeaders(c.who), ...(c.cookie ? { cookie: c.cookie } : {}) };
        c.sentAt = performance.now();
        return req;
      },
      onResponse: (status, body, context, headers) => {
        const c = context as FlowContext;
        o.latencies?.add("GET", performance.now() - (c.sentAt ?? 0), status);
        c.cookie ??= browserCookie(header(headers, "set-cookie"));
        c.form = status === 200 ? readForm(body) : undefined;
      },
    });
    requests.push({
      method: "POST",
      path: o.path,
      setupRequest: (req, context) => {
        const c = context as FlowContext;
        // autocannon starts the sequence over when this returns nothing.
        if (!c.form || !c.who) return undefined as unknown as autocannon.Request;
        req.headers = { "content-type": "application/x-www-form-urlencoded", ...identityHeaders(c.who), ...(c.cookie ? { cookie: c.cookie } : {}) };
        req.body = pageBody(c.form, answers);
        c.sentAt = performance.now();
        return req;
      },
      onResponse: (status, _body, context) => {
        const c = context as FlowContext;
        o.latencies?.add("POST", performance.now() - (c.sentAt ?? 0), status);
        if (page === o.pages - 1 && status === 303) o.onCompleted?.();
      },
    });
  }
  return requests;
}

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** Errors of a kept-alive connection the server closed while the request was on its way. */
const RESET = new Set(["ECONNRESET", "EPIPE"]);

/**
 * One request over node:http (keep-alive through `agent`); rejects on a network error or after
 * `timeoutMs`. A request on a reused connection that the server reset before answering is sent
 * again once on a new connection, as browsers do (a server busy past its keep-alive timeout
 * closes the connection just as the next request arrives); `onRetry` is told.
 */
export function httpRequest(
  agent: Agent,
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string; timeoutMs?: number; onRetry?: () => void } = {},
  retried = false,
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...options.headers };
    if (options.body !== undefined) headers["content-length"] = String(Buffer.byteLength(options.body));
    let answered = false;
    const req = request(url, { method: options.method ?? "GET", agent, headers }, (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    req.setTimeout(options.timeoutMs ?? 120_000, () => req.destroy(Object.assign(new Error("no answer in time"), { code: "TIMEOUT" })));
    req.on("error", (error: NodeJS.ErrnoException) => {
      if (!answered && !retried && req.reusedSocket && RESET.has(error.code ?? "")) {
        options.onRetry?.();
        httpRequest(agent, url, options, true).then(resolve, reject);
      } else {
        reject(error);
      }
    });
    req.end(options.body);
  });
}

/**
 * One respondent from the first visit to the last page, as in respondentRequests; every request's
 * latency goes to `latencies` ("GET", "POST"). True when the last page was answered with a 303.
 */
export async function respondOnce(agent: Agent, base: string, o: FlowOptions): Promise<boolean> {
  const answers = o.answers ?? TEMPLATE_ANSWERS;
  const who = newIdentity();
  let cookie: string | undefined;
  const onRetry = () => o.latencies?.note("kept-alive connection reset before an answer, sent again (as browsers do)");
  const timed = async (kind: "GET" | "POST", run: () => Promise<HttpAnswer>): Promise<HttpAnswer | undefined> => {
    const started = performance.now();
    try {
      const answer = await run();
      o.latencies?.add(kind, performance.now() - started, answer.status);
      return answer;
    } catch (error) {
      o.latencies?.add(kind, performance.now() - started, `error ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
      return undefined;
    }
  };
  for (let page = 0; page < o.pages; page++) {
    const got = await timed("GET", () => httpRequest(agent, base + o.path, { headers: { ...identityHeaders(who), ...(cookie ? { cookie } : {}) }, onRetry }));
    if (!got || got.status !== 200) return false;
    cookie ??= browserCookie(got.headers["set-cookie"]);
    const form = readForm(got.body);
    if (!form) return false;
    const posted = await timed("POST", () =>
      httpRequest(agent, base + o.path, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", ...identityHeaders(who), ...(cookie ? { cookie } : {}) },
        body: pageBody(form, answers),
        onRetry,
      }),
    );
    if (!posted || posted.status !== 303) return false;
  }
  o.onCompleted?.();
  return true;
}
