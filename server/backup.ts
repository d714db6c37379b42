import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { closeDatabase, openDatabase, type Db } from "../db/client.js";
import { loadConfigOrExit } from "./config.js";

/**
 * A consistent copy of the live database through SQLite's online backup API: pages are copied
 * in steps while the server keeps writing, and the copy is a snapshot that passes
 * integrity_check. Usage: `npm run backup -- FILE`.
 */
export async function backupDatabase(db: Db, destination: string): Promise<{ pages: number }> {
  let pages = 0;
  await db.$client.backup(destination, {
    // Copy in small steps so writers (survey submissions) are not held up for long.
    progress: ({ totalPages }) => {
      pages = totalPages;
      return 256;
    },
  });
  return { pages };
}

async function main(): Promise<void> {
  const target = process.argv[2];
  if (!target) {
    process.stderr.write("Usage: npm run backup -- FILE\n");
    process.exitCode = 2;
    return;
  }
  const destination = resolve(target);
  if (existsSync(destination)) {
    process.stderr.write(`${destination} already exists; choose a new file name.\n`);
    process.exitCode = 1;
    return;
  }
  const config = loadConfigOrExit();
  const db = openDatabase(config.databasePath);
  try {
    const { pages } = await backupDatabase(db, destination);
    process.stdout.write(`Backed up ${config.databasePath} to ${destination} (${pages} pages).\n`);
  } finally {
    closeDatabase(db);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await main();
}
