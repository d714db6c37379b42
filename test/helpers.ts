import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import request from "supertest";
import type { Express } from "express";
import { openDatabase, type Db } from "../db/client.js";
import { runMigrations } from "../db/migrate.js";
import type { AccountKind, User } from "../db/schema.js";
import { createApp } from "../server/app.js";
import { testConfig, type Config } from "../server/config.js";
import { createUser } from "../server/services/accounts.js";
import { freshPostgresDb, TEST_ENGINE } from "./support/postgres.js";

export const PASSWORD = "correct horse battery";

/**
 * A migrated, empty database: the same migrations as production, on a real SQLite in memory or,
 * when the suite runs on PostgreSQL (TEST_ENGINE=postgres), a real PostgreSQL database of its own.
 */
export function freshDb(): Db {
  if (TEST_ENGINE === "postgres") return freshPostgresDb();
  const db = openDatabase(":memory:");
  runMigrations(db);
  return db;
}

const fileDbDirs: string[] = [];

/**
 * freshDb for work another thread does (the results worker opens its own connection): a file on
 * SQLite, as a database in memory belongs to its one connection; the test database on PostgreSQL.
 * removeFileDbs deletes the files.
 */
export function freshFileDb(): Db {
  if (TEST_ENGINE === "postgres") return freshPostgresDb();
  const dir = mkdtempSync(join(tmpdir(), "brand-lift-file-db-"));
  fileDbDirs.push(dir);
  const db = openDatabase(join(dir, "test.db"));
  runMigrations(db);
  return db;
}

export function removeFileDbs(): void {
  for (const dir of fileDbDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export function freshApp(overrides: Partial<Config> = {}): { db: Db; app: Express; config: Config } {
  const db = freshDb();
  const config = testConfig(overrides);
  return { db, app: createApp({ db, config }), config };
}

export function addUser(db: Db, role: AccountKind, email = `${role}@example.test`, teamId?: number): Promise<User> {
  return createUser(db, { email, name: `${role} user`, password: PASSWORD, role, ...(teamId !== undefined ? { teamId } : {}) }, null);
}

/** The CSRF token of the first form on a page. */
export function csrfFrom(html: string): string {
  const match = /name="_csrf" value="([^"]+)"/.exec(html);
  if (!match) throw new Error("no CSRF token on the page");
  return match[1]!;
}

/** A browser-like agent (keeps cookies) that has loaded the login page and logged in. */
/** Logs in through the form; the cookies, to send to any instance over the same database. */
export async function loginCookies(app: Express, email: string, password = PASSWORD): Promise<string> {
  const page = await request(app).get("/login").expect(200);
  const cookies = (page.headers["set-cookie"] as unknown as string[]).map((c) => c.split(";")[0]!);
  const done = await request(app).post("/login").set("Cookie", cookies.join("; ")).type("form").send({ email, password, _csrf: csrfFrom(page.text) }).expect(303);
  const session = (done.headers["set-cookie"] as unknown as string[]).map((c) => c.split(";")[0]!);
  const names = new Set(session.map((c) => c.split("=")[0]));
  return [...cookies.filter((c) => !names.has(c.split("=")[0])), ...session].join("; ");
}

export async function loggedInAgent(app: Express, email: string, password = PASSWORD) {
  const agent = request.agent(app);
  const page = await agent.get("/login").expect(200);
  await agent
    .post("/login")
    .type("form")
    .send({ email, password, _csrf: csrfFrom(page.text) })
    .expect(303);
  return agent;
}

/** Value of a Set-Cookie header for `name`, with its attributes. */
export function setCookie(res: request.Response, name: string): string | undefined {
  const raw = res.headers["set-cookie"] as unknown as string[] | undefined;
  return raw?.find((c) => c.startsWith(`${name}=`));
}

export function cookieValue(header: string | undefined): string | undefined {
  return header?.split(";")[0]?.split("=").slice(1).join("=");
}

/** One listening server for a suite (supertest would otherwise start one per request). */
export async function listen(app: Express): Promise<Server> {
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return server;
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

/**
 * Answers a survey link page after page with the same answers (each page takes the fields it
 * asks), until the thank-you redirect; returns that last response. The unaided question ends its
 * page, so a template survey has several.
 */
export async function answerAllPages(agent: ReturnType<typeof request.agent>, url: string, answers: Record<string, unknown>, maxPages = 8) {
  for (let page = 0; page < maxPages; page++) {
    const html = (await agent.get(url).expect(200)).text;
    const hidden = Object.fromEntries([...html.matchAll(/<input type="hidden" name="(_\w)" value="([^"]*)">/g)].map((m) => [m[1]!, m[2]!]));
    const posted = await agent.post(url).type("form").send({ ...hidden, ...answers }).expect(303);
    if (!String(posted.headers["location"]).startsWith(url) || String(posted.headers["location"]).includes("/thanks")) return posted;
  }
  throw new Error(`answerAllPages: ${url} still asks after ${maxPages} pages`);
}
