import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The checkout's root (the folder with package.json), found the same way from source (tsx,
 * vitest: db/) and from the build (`npm start`: dist/db/), so views/, public/ and the migrations
 * are read from one place and never copied into dist/. db/ is the lowest layer, so server/ finds
 * its folders through it too.
 */
function findRoot(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, "package.json"))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json in ${start} or above it`);
  }
}

const PROJECT_ROOT = findRoot(dirname(fileURLToPath(import.meta.url)));

/** An absolute path inside the checkout, e.g. projectPath("db", "migrations"). */
export function projectPath(...segments: string[]): string {
  return join(PROJECT_ROOT, ...segments);
}
