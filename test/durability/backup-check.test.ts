import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, openSync, closeSync, readdirSync, rmSync, statSync, truncateSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { closeDatabase, openDatabase } from "../../db/client.js";
import { runMigrations } from "../../db/migrate.js";
import { backupAndCheck, checkBackup, tableCounts } from "../../server/backup.js";
import { insertResponseWithAnswers } from "../fixtures/responses.js";
import { openSurvey } from "../fixtures/surveys.js";

/** Issue 13, item 5: `npm run backup` made a new empty database for a mistyped path, and never checked its copy. */

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "bl-backup-check-"));
  dirs.push(dir);
  return dir;
}

const { BASE_URL: _vitestOwn, SESSION_SECRET: _secret, ...env } = process.env;
const backup = (databasePath: string, destination: string) =>
  spawnSync("sh", ["-c", 'umask 022 && exec node_modules/.bin/tsx server/backup.ts "$0"', destination], {
    env: { ...env, DATABASE_PATH: databasePath },
    encoding: "utf8",
    timeout: 20_000,
  });

/** A live database with a study and some responses. */
async function liveDatabase(dir: string, responses = 50): Promise<string> {
  const file = join(dir, "live.db");
  const db = openDatabase(file);
  runMigrations(db);
  const survey = await openSurvey(db);
  for (let i = 0; i < responses; i++) {
    await insertResponseWithAnswers(db, survey.study.id, {
      waveId: survey.wave.id,
      segmentId: survey.segments[0]!.id,
      answers: { aided: ["acme"], recall: "yes", fav: 5, feedback: "x".repeat(2000) },
    });
  }
  await closeDatabase(db);
  return file;
}

describe("npm run backup", () => {
  it("refuses a database that does not exist, creating nothing (no database, folder, secret or copy)", () => {
    const dir = tempDir();
    const run = backup(join(dir, "typo", "brandlift.db"), join(dir, "out.db"));
    expect(run.status).not.toBe(0);
    expect(run.stdout).not.toContain("Backed up");
    expect(run.stderr).toContain(`No database at ${join(dir, "typo", "brandlift.db")}`);
    expect(readdirSync(dir)).toEqual([]);
  }, 30_000);

  it("checks the copy before saying Backed up; the copy is 0600 and no secret is made", async () => {
    const dir = tempDir();
    const live = await liveDatabase(dir);
    const run = backup(live, join(dir, "copy.db"));
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/Backed up .* checked: integrity ok, \d+ tables and \d+ rows as in the source/);
    expect(statSync(join(dir, "copy.db")).mode & 0o777).toBe(0o600);
    expect(existsSync(join(dir, "session-secret"))).toBe(false);
  }, 30_000);
});

describe("the backup check", () => {
  it("passes a good copy made while another connection writes, with the counts of the copied snapshot", async () => {
    const dir = tempDir();
    const live = await liveDatabase(dir, 300);
    const source = openDatabase(live);
    const writer = openDatabase(live);
    const survey = writer.$client.prepare("SELECT id, study_id FROM waves LIMIT 1").get() as { id: number; study_id: number };
    const segment = writer.$client.prepare("SELECT id FROM segments LIMIT 1").pluck().get() as number;
    let writing = true;
    let written = 0;
    const writes = (async () => {
      while (writing) {
        await insertResponseWithAnswers(writer, survey.study_id, { waveId: survey.id, segmentId: segment, answers: { recall: "no" } });
        written++;
        await new Promise((r) => setImmediate(r));
      }
    })();
    const { tables } = await backupAndCheck(source, join(dir, "copy.db"));
    writing = false;
    await writes;
    expect(written).toBeGreaterThan(0);
    expect(tables["responses"]).toBeGreaterThanOrEqual(300);
    expect(checkBackup(join(dir, "copy.db"), tables)).toEqual([]);
    await closeDatabase(source);
    await closeDatabase(writer);
  }, 30_000);

  it("refuses a corrupted, a truncated and a stale copy", async () => {
    const dir = tempDir();
    const live = await liveDatabase(dir, 200);
    const db = openDatabase(live);
    db.$client.pragma("wal_checkpoint(TRUNCATE)");
    const expected = tableCounts(db.$client);
    const pageSize = db.$client.pragma("page_size", { simple: true }) as number;
    const root = db.$client.prepare("SELECT rootpage FROM sqlite_master WHERE name = 'answers'").pluck().get() as number;
    await closeDatabase(db);

    const copy = (name: string) => {
      const file = join(dir, name);
      copyFileSync(live, file);
      return file;
    };
    expect(checkBackup(copy("good.db"), expected)).toEqual([]);

    // A b-tree page whose type byte is garbage.
    const corrupted = copy("corrupted.db");
    const fd = openSync(corrupted, "r+");
    writeSync(fd, Buffer.from([0x77]), 0, 1, (root - 1) * pageSize);
    closeSync(fd);
    expect(checkBackup(corrupted, expected).join("\n")).toMatch(/integrity_check|cannot read the copy/);

    const truncated = copy("truncated.db");
    truncateSync(truncated, Math.floor(statSync(truncated).size / 2));
    expect(checkBackup(truncated, expected)).not.toEqual([]);

    // A whole, valid copy of another moment: fewer responses than the source had.
    expect(checkBackup(copy("stale.db"), { ...expected, responses: expected["responses"]! + 1 })).toEqual([
      `table responses has ${expected["responses"]} rows, the source had ${expected["responses"]! + 1}`,
    ]);
    expect(checkBackup(copy("extra.db"), { ...expected, widgets: 1 })).toEqual(["table widgets is missing"]);
    expect(checkBackup(join(dir, "absent.db"), expected)[0]).toMatch(/cannot read the copy/);
  });
});
