import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import express, { type RequestHandler } from "express";

const PUBLIC_DIR = fileURLToPath(new URL("../public", import.meta.url));

export interface Assets {
  /** Fingerprinted stylesheet URL: its content hash changes the URL, so it can be cached forever. */
  css: string;
}

export function loadAssets(): { assets: Assets; serve: RequestHandler } {
  const css = readFileSync(`${PUBLIC_DIR}/app.css`);
  const hash = createHash("sha256").update(css).digest("hex").slice(0, 12);
  const cssUrl = `/static/app.${hash}.css`;
  const router = express.Router();
  router.get(cssUrl, (_req, res) => {
    res.set("Cache-Control", "public, max-age=31536000, immutable");
    res.type("text/css").send(css);
  });
  return { assets: { css: cssUrl }, serve: router };
}
