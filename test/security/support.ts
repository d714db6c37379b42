import type { Server } from "node:http";
import type { Express } from "express";
import request from "supertest";
import { expect } from "vitest";
import { isPostgres, type Db } from "../../db/client.js";
import { PASSWORD, csrfFrom } from "../helpers.js";
import { sqlColumn, sqlRows } from "../support/sql.js";

/** Shared pieces of the security suites. */

export type Agent = ReturnType<typeof request.agent>;

export { listen, closeServer as close } from "../helpers.js";

/** A browser-like agent that logged in through the login form (as helpers.loggedInAgent, on a listening server). */
export async function login(server: Server, email: string, password = PASSWORD): Promise<Agent> {
  const agent = request.agent(server);
  const page = await agent.get("/login").expect(200);
  await agent.post("/login").type("form").send({ email, password, _csrf: csrfFrom(page.text) }).expect(303);
  return agent;
}

/** The CSRF token a signed-in agent's pages carry. */
export async function csrfOf(agent: Agent): Promise<string> {
  return csrfFrom((await agent.get("/account/tokens").expect(200)).text);
}

// ---------------------------------------------------------------------------------------- routes

interface Layer {
  route?: { path: string | string[]; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
  rawPath?: string;
}

/** "METHOD /full/path" of every route of the app, mounted prefixes included. */
export function appRoutes(app: Express): string[] {
  const walk = (stack: Layer[], prefix: string): string[] =>
    stack.flatMap((layer) => {
      if (layer.route) {
        const paths = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
        return paths.flatMap((p) => Object.keys(layer.route!.methods).map((m) => `${m.toUpperCase()} ${prefix}${p}`));
      }
      if (layer.handle?.stack) {
        const mount = layer.rawPath && layer.rawPath !== "/" ? layer.rawPath : "";
        return walk(layer.handle.stack, prefix + mount);
      }
      return [];
    });
  return walk((app as unknown as { router: { stack: Layer[] } }).router.stack, "");
}

/**
 * Every table of the database, every row: what a refused request must leave exactly as it was.
 * Rows are sorted (by their JSON) so the comparison does not depend on storage order, which
 * PostgreSQL does not keep stable (an UPDATE moves a row even when it writes the same values).
 */
export async function snapshotAll(db: Db, except: readonly string[] = []): Promise<Record<string, unknown[]>> {
  const tables = isPostgres(db)
    ? await sqlColumn<string>(
        db,
        "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name NOT LIKE '__drizzle%' ORDER BY table_name",
      )
    : await sqlColumn<string>(db, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '__drizzle%' ORDER BY name");
  const snapshot: Record<string, unknown[]> = {};
  for (const table of tables.filter((t) => !except.includes(t))) {
    const rows = await sqlRows<unknown>(db, `SELECT * FROM "${table}"`);
    snapshot[table] = rows.map((row) => [JSON.stringify(row), row] as const).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, row]) => row);
  }
  return snapshot;
}

// ------------------------------------------------------------------------------------------- XSS

/** The payloads of the XSS suite: script tags, attribute breaks, URLs, template syntax of EJS and of client frameworks. */
export const XSS_PAYLOADS = [
  "<script>alert(1)</script>",
  '"><img src=x onerror=alert(1)>',
  "javascript:alert(1)",
  "</title><svg onload=alert(1)>",
  "{{constructor.constructor('alert(1)')()}}",
  "<%= 7*7 %>",
  `'';!--"<XSS>=&{()}`,
] as const;

/** Undoes HTML escaping (named and numeric entities EJS and the SVG charts produce). */
export function unescapeHtml(html: string): string {
  return html
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&#0*34;/g, '"')
    .replace(/&#0*39;/g, "'")
    .replace(/&#x0*27;/gi, "'")
    .replace(/&#x0*22;/gi, '"')
    .replace(/&amp;/g, "&");
}

export interface Tag {
  name: string;
  attributes: Array<[string, string]>;
}

/**
 * The real tags of a page, with their attributes (values unescaped). Escaped text cannot open a
 * tag (`<` becomes `&lt;`), so every tag found is the template's own or an injection.
 */
const TAG_NAME = /<([a-zA-Z][a-zA-Z0-9:-]*)/y;
const ATTR_NAME = /[^\s=>/]+/y;
const UNQUOTED = /[^\s>]*/y;

export function tagsOf(html: string): Tag[] {
  const tags: Tag[] = [];
  let i = 0;
  while ((i = html.indexOf("<", i)) !== -1) {
    if (html.startsWith("<!--", i)) {
      i = html.indexOf("-->", i);
      if (i === -1) break;
      continue;
    }
    TAG_NAME.lastIndex = i;
    const nameMatch = TAG_NAME.exec(html);
    if (!nameMatch) {
      i++;
      continue;
    }
    const tag: Tag = { name: nameMatch[1]!.toLowerCase(), attributes: [] };
    i += nameMatch[0].length;
    for (;;) {
      while (i < html.length && /\s/.test(html[i]!)) i++;
      if (i >= html.length || html[i] === ">") break;
      if (html.startsWith("/>", i)) {
        i++;
        break;
      }
      ATTR_NAME.lastIndex = i;
      const attr = ATTR_NAME.exec(html)?.[0] ?? html[i]!;
      i += attr.length;
      while (/\s/.test(html[i] ?? "")) i++;
      let value = "";
      if (html[i] === "=") {
        i++;
        while (/\s/.test(html[i] ?? "")) i++;
        const quote = html[i];
        if (quote === '"' || quote === "'") {
          const end = html.indexOf(quote, i + 1);
          value = html.slice(i + 1, end === -1 ? html.length : end);
          i = end === -1 ? html.length : end + 1;
        } else {
          UNQUOTED.lastIndex = i;
          value = UNQUOTED.exec(html)?.[0] ?? "";
          i += value.length;
        }
      }
      tag.attributes.push([attr.toLowerCase(), unescapeHtml(value)]);
    }
    tags.push(tag);
    // Raw-text elements: their content is not markup.
    if (tag.name === "script" || tag.name === "style") {
      const end = html.toLowerCase().indexOf(`</${tag.name}`, i);
      i = end === -1 ? html.length : end;
    }
  }
  return tags;
}

/** Markup that would run in a browser: an inline script, an event handler, a javascript: URL, an injected element. */
export function activeMarkup(html: string): string[] {
  const found: string[] = [];
  for (const tag of tagsOf(html)) {
    const attr = new Map(tag.attributes);
    if (tag.name === "script" && !attr.has("src")) found.push("an inline <script>");
    if (tag.name === "xss") found.push("an injected <XSS> element");
    for (const [name, value] of tag.attributes) {
      if (name.startsWith("on")) found.push(`<${tag.name} ${name}=${JSON.stringify(value)}>`);
      if (["href", "src", "action", "formaction", "xlink:href", "data"].includes(name) && /^\s*javascript:/i.test(value)) {
        found.push(`<${tag.name} ${name}=${JSON.stringify(value)}>`);
      }
    }
  }
  return found;
}

/**
 * The page shows `payload` only escaped: no active markup at all, not the raw text where it
 * holds markup characters, and (unless `mustShow` is false) the payload itself once unescaped,
 * which also proves template syntax in it was printed, not evaluated (`<%= 7*7 %>` is not "49").
 */
export function expectEscaped(html: string, payload: string, where: string, mustShow = true): void {
  expect(activeMarkup(html), `${where}: active markup`).toEqual([]);
  for (const marker of ["<script>alert(1)", "<svg onload", "<XSS>", "<img src=x", "<%"]) {
    expect(html.includes(marker), `${where}: raw ${marker}`).toBe(false);
  }
  if (/[<>"'&]/.test(payload)) expect(html.includes(payload), `${where}: the payload appears unescaped`).toBe(false);
  if (mustShow) expect(unescapeHtml(html).includes(payload), `${where}: the payload is not shown at all (test setup?)`).toBe(true);
}

// ------------------------------------------------------------------------------------------- CSV

/** RFC 4180 parser: quoted fields with doubled quotes and line breaks, CRLF or LF rows, optional BOM. */
export function parseCsv(text: string, delimiter = ","): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  let i = text.startsWith("\uFEFF") ? 1 : 0;
  for (; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"' && field === "") quoted = true;
    else if (c === delimiter) {
      row.push(field);
      field = "";
    } else if (c === "\r" && text[i + 1] === "\n") {
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
      i++;
    } else if (c === "\n") {
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
    } else field += c;
  }
  if (field !== "" || row.length) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

/** A spreadsheet would run a cell starting with one of these as a formula (OWASP "CSV injection"). */
export const FORMULA_START = /^[=+\-@\t\r]/;
/** …unless it is a plain number, which is data (a negative lift, -0.05). */
/** A number as a spreadsheet reads it: a decimal point or (Russian Excel) a decimal comma. */
export const PLAIN_NUMBER = /^[-+]?(\d+([.,]\d*)?|[.,]\d+)([eE][-+]?\d+)?%?$/;

export function formulaCells(cells: Array<{ where: string; value: string }>): string[] {
  return cells.filter(({ value }) => FORMULA_START.test(value) && !PLAIN_NUMBER.test(value.trim())).map(({ where, value }) => `${where}: ${JSON.stringify(value)}`);
}
