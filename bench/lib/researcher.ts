/**
 * A researcher's browser for the benchmarks: a cookie jar, a login through the real form
 * (POST /login with its CSRF token), then pages and form posts with the session's CSRF token, each
 * timed. Redirects after a post are followed as a browser follows them, timed as their own step.
 */
import { Agent } from "node:http";
import { httpRequest, type HttpAnswer } from "./respondent.js";

export interface Step {
  name: string;
  method: string;
  path: string;
  /** "error": no answer (network error, or the step's time limit passed); "skipped": not run, the phase's time was up. */
  status: number | "error" | "skipped";
  ms: number;
  bytes: number;
  /** What went wrong, for a failed step. */
  error?: string;
}

export class Researcher {
  // A connection per request: a kept-alive socket the server closed while this browser waited
  // minutes for a slow page would fail the next request for a reason of the client's own.
  private readonly agent = new Agent({ keepAlive: false });
  private readonly cookies = new Map<string, string>();
  private csrf = "";
  readonly steps: Step[] = [];

  /** `timeoutMs`: how long one request may take before the browser gives up (recorded as an error). */
  constructor(
    private readonly base: string,
    private readonly timeoutMs = 600_000,
  ) {}

  private cookieHeader(): Record<string, string> {
    return this.cookies.size ? { cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ") } : {};
  }

  private remember(answer: HttpAnswer): void {
    const set = answer.headers["set-cookie"];
    for (const c of Array.isArray(set) ? set : set ? [set] : []) {
      const [pair = ""] = c.split(";");
      const eq = pair.indexOf("=");
      if (eq > 0) this.cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
    }
    const token = /name="_csrf" value="([^"]+)"/.exec(answer.body)?.[1];
    if (token) this.csrf = token;
  }

  /** One timed request with this browser's cookies; `anonymous` sends none (a share link's visitor). */
  async request(
    name: string,
    path: string,
    o: { form?: Record<string, string>; anonymous?: boolean; record?: boolean; headers?: Record<string, string> } = {},
  ): Promise<HttpAnswer | undefined> {
    const method = o.form ? "POST" : "GET";
    const headers: Record<string, string> = { ...(o.anonymous ? {} : this.cookieHeader()), ...o.headers };
    let body: string | undefined;
    if (o.form) {
      headers["content-type"] = "application/x-www-form-urlencoded";
      body = new URLSearchParams({ ...o.form, _csrf: this.csrf }).toString();
    }
    const started = performance.now();
    let answer: HttpAnswer | undefined;
    let error: string | undefined;
    try {
      answer = await httpRequest(this.agent, this.base + path, { method, headers, ...(body !== undefined ? { body } : {}), timeoutMs: this.timeoutMs });
    } catch (e) {
      error = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    }
    const ms = performance.now() - started;
    if (answer && !o.anonymous) this.remember(answer);
    if (o.record !== false) {
      this.steps.push({ name, method, path, status: answer?.status ?? "error", ms, bytes: answer ? Buffer.byteLength(answer.body) : 0, ...(error ? { error } : {}) });
    }
    return answer;
  }

  /** A form post, then the page it redirects to (as its own step), as a browser does. */
  async post(name: string, path: string, form: Record<string, string>): Promise<void> {
    const answer = await this.request(name, path, { form });
    const location = answer?.headers["location"];
    if (answer && answer.status >= 300 && answer.status < 400 && typeof location === "string" && location.startsWith("/")) {
      await this.request(`  then the page it redirects to`, location);
    }
  }

  /** A step not run, so the list still shows it. */
  skip(name: string, path: string): void {
    this.steps.push({ name, method: "-", path, status: "skipped", ms: 0, bytes: 0 });
  }

  /** Logs in through the form; throws when the app does not let this account in. */
  async login(email: string, password: string): Promise<void> {
    await this.request("login page", "/login", { record: false });
    const answer = await this.request("login", "/login", { form: { email, password, next: "/studies" }, record: false });
    if (answer?.status !== 303 || !this.cookies.has("bl_session")) throw new Error(`login answered ${answer?.status ?? "nothing"}`);
    // The CSRF token is bound to the session: the next page carries the new one.
    await this.request("studies", "/studies", { record: false });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** The steps that did not answer as they should (2xx, or a redirect after a post). */
export function failedSteps(steps: readonly Step[]): Step[] {
  return steps.filter((s) => s.status === "error" || (typeof s.status === "number" && (s.status >= 400 || (s.method === "GET" && s.status !== 200))));
}
