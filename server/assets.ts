import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import express, { type RequestHandler } from "express";
import { projectPath } from "../db/project-root.js";

const PUBLIC_DIR = projectPath("public");

export interface Assets {
  /** Fingerprinted URLs: the content hash is in the URL, so each can be cached forever. */
  css: string;
  /** Respondent pages only: their own small stylesheet keeps a survey page under 20 KB in 2 requests. */
  respondCss: string;
  /** Live fieldwork counts on the wave page; the page works without it. */
  monitorJs: string;
  favicon: string;
}

const FILES = {
  css: ["app.css", "text/css"],
  respondCss: ["respond.css", "text/css"],
  monitorJs: ["monitor.js", "text/javascript"],
  favicon: ["favicon.svg", "image/svg+xml"],
} as const;

/** A week: /favicon.ico has a fixed URL, so it cannot be immutable like the fingerprinted files. */
const FAVICON_ICO_MAX_AGE = 7 * 24 * 3600;

export function loadAssets(): { assets: Assets; serve: RequestHandler } {
  const router = express.Router();
  const urls = {} as Record<keyof Assets, string>;
  for (const [name, [file, type]] of Object.entries(FILES) as Array<[keyof Assets, readonly [string, string]]>) {
    const body = readFileSync(`${PUBLIC_DIR}/${file}`);
    const hash = createHash("sha256").update(body).digest("hex").slice(0, 12);
    const [base, ext] = file.split(".");
    const url = `/static/${base}.${hash}.${ext}`;
    urls[name] = url;
    router.get(url, (_req, res) => {
      res.set("Cache-Control", "public, max-age=31536000, immutable");
      res.type(type).send(body);
    });
  }
  // Pages link the SVG; this is for what asks by convention (pages without the link, exports, old browsers).
  const ico = readFileSync(`${PUBLIC_DIR}/favicon.ico`);
  router.get("/favicon.ico", (_req, res) => {
    res.set("Cache-Control", `public, max-age=${FAVICON_ICO_MAX_AGE}`);
    res.type("image/x-icon").send(ico);
  });
  return { assets: urls, serve: router };
}
