import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { closeDatabase, openDatabase } from "../../db/client.js";
import { runMigrations } from "../../db/migrate.js";
import { backupDatabase } from "../../server/backup.js";
import { openSurvey } from "../fixtures/surveys.js";
import { insertResponseWithAnswers } from "../fixtures/responses.js";

describe("backup", () => {
  it("copies a consistent snapshot while responses keep arriving, and the copy restores", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bl-backup-"));
    const db = openDatabase(join(dir, "live.db"));
    runMigrations(db);
    const survey = await openSurvey(db);
    const add = () =>
      insertResponseWithAnswers(db, survey.study.id, {
        waveId: survey.wave.id,
        segmentId: survey.segments[0]!.id,
        answers: { aided: ["acme"], recall: "yes", fav: 5, feedback: "x".repeat(2000) },
      });
    for (let i = 0; i < 600; i++) await add();

    // Writes interleave with the backup's steps.
    let writing = true;
    let written = 0;
    const writer = (async () => {
      while (writing) {
        await add();
        written++;
        await new Promise((r) => setImmediate(r));
      }
    })();
    const copy = join(dir, "copy.db");
    const { pages } = await backupDatabase(db, copy);
    writing = false;
    await writer;
    expect(pages).toBeGreaterThan(100);

    const restored = openDatabase(copy);
    expect(restored.$client.pragma("integrity_check", { simple: true })).toBe("ok");
    const n = (restored.$client.prepare("SELECT count(*) AS n FROM responses").get() as { n: number }).n;
    expect(n).toBeGreaterThanOrEqual(600);
    expect(n).toBeLessThanOrEqual(600 + written);
    // The snapshot holds whole responses only.
    const answers = (restored.$client.prepare("SELECT count(*) AS n FROM answers").get() as { n: number }).n;
    expect(answers).toBe(n * 4);
    await closeDatabase(restored);
    await closeDatabase(db);
  }, 60_000);

  it("runs as `npm run backup -- FILE` and refuses to overwrite", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bl-backup-cli-"));
    const live = join(dir, "live.db");
    const db = openDatabase(live);
    runMigrations(db);
    await openSurvey(db);
    await closeDatabase(db);
    const { BASE_URL: _vitestOwn, ...env } = process.env;
    const run = () =>
      spawnSync("node_modules/.bin/tsx", ["server/backup.ts", join(dir, "b.db")], { env: { ...env, DATABASE_PATH: live }, encoding: "utf8" });
    const first = run();
    expect(first.status).toBe(0);
    expect(first.stdout).toContain("Backed up");
    const copy = openDatabase(join(dir, "b.db"));
    expect((copy.$client.prepare("SELECT count(*) AS n FROM studies").get() as { n: number }).n).toBe(1);
    await closeDatabase(copy);
    const second = run();
    expect(second.status).toBe(1);
    expect(second.stderr).toContain("already exists");
  }, 30_000);
});
