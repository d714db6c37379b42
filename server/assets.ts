import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import express, { type RequestHandler } from "express";

const PUBLIC_DIR = fileURLToPath(new URL("../public", import.meta.url));

export interface Assets {
  /** Fingerprinted URLs: the content hash is in the URL, so each can be cached forever. */
  css: string;
  /** Live fieldwork counts on the wave page; the page works without it. */
  monitorJs: string;
}

const FILES = { css: ["app.css", "text/css"], monitorJs: ["monitor.js", "text/javascript"] } as const;

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
  return { assets: urls, serve: router };
}
