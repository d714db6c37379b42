/**
 * A real, migrated database with one brand-lift study, two waves and their open links, built with
 * the app's own services (no test helpers): a SQLite file in a temporary folder removed on exit, or
 * a PostgreSQL scratch database (bench/lib/engine.ts).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { closeDatabase, isPostgresUrl, type Db } from "../../db/client.js";
import { runMigrations, runPostgresMigrations } from "../../db/migrate.js";
import { loadQuestionnaire } from "../../db/queries/questionnaire.js";
import type { Link, Study, Wave } from "../../db/schema.js";
import { brandLiftTemplate } from "../../server/domain/template.js";
import type { SurveyQuestion } from "../../server/domain/questionnaire.js";
import { closeWave, createStudyFromDefinition, createWave, openWave } from "../../server/services/study-setup.js";
import { openStore } from "./engine.js";

export const BRAND = "Acme";

/** A temporary folder for this process, deleted when it exits (also on Ctrl-C). */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `brand-lift-bench-${prefix}-`));
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  process.on("exit", cleanup);
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      cleanup();
      process.exit(130);
    });
  }
  return dir;
}

export interface BenchStudy {
  study: Study;
  pre: Wave;
  post: Wave;
  /** Open links per wave, one per segment, in segment order. */
  links: { pre: Link[]; post: Link[] };
  questions: SurveyQuestion[];
}

/** The full template questionnaire: 3 competitors, 3 advantages, every question type. */
export async function createBenchStudy(db: Db): Promise<BenchStudy> {
  const definition = brandLiftTemplate({
    studyName: "Benchmark study",
    brand: BRAND,
    category: "coffee shops",
    locale: "en",
    competitors: ["Rival", "Other Brew", "Third Cup"],
    advantages: ["Fresh beans every day", "Open 24 hours", "Free delivery"],
  });
  const study = await createStudyFromDefinition(db, definition, null);
  const pre = await createWave(db, study.id, "pre", "Before the campaign");
  const post = await createWave(db, study.id, "post", "After the campaign");
  const preLinks = await openWave(db, pre, null);
  const postLinks = await openWave(db, post, null);
  return { study, pre, post, links: { pre: preLinks, post: postLinks }, questions: await loadQuestionnaire(db, study.id) };
}

/** A migrated database (file path or postgres:// URL) with the study; the post wave is open, the pre wave closed. */
export async function createBenchDatabase(location: string): Promise<BenchStudy> {
  const db = openStore(location);
  try {
    if (isPostgresUrl(location)) await runPostgresMigrations(db);
    else runMigrations(db);
    const created = await createBenchStudy(db);
    await closeWave(db, created.pre, null);
    return created;
  } finally {
    await closeDatabase(db);
  }
}
