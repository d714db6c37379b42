import { request as httpRequest, Agent } from "node:http";

/**
 * A minimal respondent for load tests: fetches a survey page, keeps its browser cookie, and
 * posts a complete answer. Uses plain node:http so many can run at once with keep-alive.
 */

export interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export function http(
  agent: Agent,
  url: string,
  options: { method?: string; body?: string; cookie?: string; headers?: Record<string, string> } = {},
): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...options.headers };
    if (options.cookie) headers["Cookie"] = options.cookie;
    if (options.body !== undefined) {
      headers["Content-Type"] = "application/x-www-form-urlencoded";
      headers["Content-Length"] = String(Buffer.byteLength(options.body));
    }
    const req = httpRequest(url, { method: options.method ?? "GET", agent, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(options.body);
  });
}

export function hiddenFields(html: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of html.matchAll(/<input type="hidden" name="(_\w)" value="([^"]*)">/g)) out[m[1]!] = m[2]!;
  return out;
}

const ANSWERS = "q_aided=acme&q_aided=rival&q_recall=yes&q_fav=4&q_feedback=%D0%BE%D0%BA";

export interface Completion {
  nonce: string;
  status: number;
}

/**
 * One respondent: a new browser (no cookie) opens the link and submits. Returns the nonce it
 * posted and the status of the post (303 is the acknowledgement).
 */
export async function completeSurvey(agent: Agent, base: string, token: string): Promise<Completion> {
  const page = await http(agent, `${base}/s/${token}`);
  if (page.status !== 200) return { nonce: "", status: page.status };
  const cookie = String(page.headers["set-cookie"] ?? "").split(";")[0] ?? "";
  const fields = hiddenFields(page.body);
  const body = new URLSearchParams(fields).toString() + "&" + ANSWERS;
  const post = await http(agent, `${base}/s/${token}`, { method: "POST", body, cookie });
  return { nonce: fields["_n"] ?? "", status: post.status };
}
