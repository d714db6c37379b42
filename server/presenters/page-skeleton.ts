import { randomBytes } from "node:crypto";
import { escapeXML } from "ejs";
import type { Response } from "express";

/**
 * A page rendered once with stand-ins where its readers differ (a form token, an address, the
 * order of options), then filled for each of them: the same HTML as rendering the template with
 * their values, for the cost of joining strings. A stand-in goes where the template prints an
 * escaped value (`<%= %>`), and its value is escaped the same way when filled.
 */

/** Stand-ins carry a random mark of this process, so nothing a researcher types can pass for one. */
const START = `\u0001${randomBytes(8).toString("hex")}:`;
const END = "\u0002";
const STAND_IN = new RegExp(`${START}([^${END}]*)${END}`, "g");

/** The stand-in for the value called `name` (printed escaped, it stays as it is). */
export function standIn(name: string): string {
  return `${START}${name}${END}`;
}

/** The page's text around its stand-ins: `texts` has one more element than `names`. */
export interface Skeleton {
  texts: string[];
  names: string[];
}

export function skeletonOf(html: string): Skeleton {
  const texts: string[] = [];
  const names: string[] = [];
  let at = 0;
  for (const match of html.matchAll(STAND_IN)) {
    texts.push(html.slice(at, match.index));
    names.push(match[1]!);
    at = match.index + match[0].length;
  }
  texts.push(html.slice(at));
  return { texts, names };
}

/** The page with every stand-in replaced by its value, escaped as `<%= %>` escapes; throws on a value it lacks. */
export function fillSkeleton(skeleton: Skeleton, values: ReadonlyMap<string, string>): string {
  let html = skeleton.texts[0]!;
  skeleton.names.forEach((name, i) => {
    const value = values.get(name);
    if (value === undefined) throw new Error(`fillSkeleton: no value for ${name}`);
    html += escapeXML(value) + skeleton.texts[i + 1]!;
  });
  return html;
}

/** A template rendered to a string with the response's locals, as res.render would send it (to be made a skeleton). */
export function renderToString(res: Response, view: string, locals: Record<string, unknown>): Promise<string> {
  return new Promise((resolve, reject) => res.render(view, locals, (error: Error | null, html?: string) => (error ? reject(error) : resolve(html ?? ""))));
}
