import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { closeDatabase, type Db } from "../../db/client.js";
import { listStudySummaries } from "../../db/queries/studies.js";
import { listUsers } from "../../db/queries/users.js";
import type { Config } from "../config.js";
import { loadConfigOrExit } from "../config.js";
import { openConfiguredDatabaseOrExit } from "../data-files.js";
import { isLocale, translator } from "../i18n/index.js";
import { createDemoStudy } from "./create.js";
import { createTrackingDemoStudy } from "./tracking.js";
import { findStudy } from "../../db/queries/studies.js";
import type { Locale } from "../../db/schema.js";
import { computeResults, resultsQuery } from "../services/results.js";
import { DEFAULT_SEED, DEMO_SEGMENTS } from "./generate.js";
import { DEMO_BRAND } from "./texts.js";

/**
 * `npm run demo -- [--seed N] [--locale ru|en]`: adds a demo study with synthetic responses to the
 * configured database (DATABASE_PATH) and prints where to see it. Each run adds another study
 * (the same seed gives the same answers); older demo studies are counted and mentioned.
 */

export interface DemoIo {
  out: (line: string) => void;
  err: (line: string) => void;
}

const STATUS_WORD: Record<string, string> = { met: "kpiMet", not_met: "kpiNotMet", not_yet: "kpiNotYet" };

/** The KPI statuses the results compute for a study (what its results page will show). */
async function kpiStatuses(db: Db, studyId: number, locale: Locale) {
  const study = (await findStudy(db, studyId))!;
  const results = await computeResults(db, study, resultsQuery.parse({}), locale, translator(locale));
  return typeof results === "string" ? [] : results.kpis;
}

/** Runs the demo command on `db`; returns the process exit code. */
export async function runDemo(argv: string[], db: Db, config: Pick<Config, "baseUrl" | "defaultLocale">, io: DemoIo): Promise<number> {
  let t = translator(config.defaultLocale);
  let values: { seed?: string; locale?: string; tracking?: boolean };
  try {
    values = parseArgs({ args: argv, options: { seed: { type: "string" }, locale: { type: "string" }, tracking: { type: "boolean" } }, strict: true }).values;
  } catch (error) {
    io.err(`${(error as Error).message}\n${t("demo.console.usage")}`);
    return 2;
  }
  const locale = values.locale ?? config.defaultLocale;
  if (!isLocale(locale)) {
    io.err(`${t("demo.console.badLocale")}\n${t("demo.console.usage")}`);
    return 2;
  }
  t = translator(locale);
  const seed = values.seed === undefined ? DEFAULT_SEED : /^\d{1,10}$/.test(values.seed) ? Number(values.seed) : NaN;
  if (!Number.isSafeInteger(seed) || seed > 0xffffffff) {
    io.err(`${t("demo.console.badSeed")}\n${t("demo.console.usage")}`);
    return 2;
  }

  const users = (await listUsers(db)).filter((u) => !u.disabledAt);
  const actor = users.find((u) => u.isAdmin) ?? users[0] ?? null;
  const previous = (await listStudySummaries(db, null)).filter((s) => s.brand === DEMO_BRAND).length;

  const started = performance.now();
  const seconds = () => new Intl.NumberFormat(locale === "ru" ? "ru-RU" : "en-GB", { maximumFractionDigits: 1, minimumFractionDigits: 1 }).format((performance.now() - started) / 1000);
  const pct = (p: number) => `${Math.round(p * 100)}%`;
  const segmentLabel = (key: string) => t(`segments.${key}`);
  let studyId: number;
  if (values.tracking) {
    const demo = await createTrackingDemoStudy(db, { seed, locale, actorId: actor?.id ?? null });
    studyId = demo.studyId;
    const study = (await listStudySummaries(db, null)).find((s) => s.id === studyId)!;
    io.out(t("demo.console.trackingCreated", { name: study.name, seed, responses: t("studies.responses", { count: demo.responses }), seconds: seconds() }));
    const statuses = await kpiStatuses(db, studyId, locale);
    io.out(t("demo.console.trackingKpis", { kpis: statuses.map((k) => `${t(`metrics.${k.metric}`)}, ${segmentLabel(k.segment)}: ${t(`demo.console.${STATUS_WORD[k.status] ?? "kpiNotYet"}`)}`).join("; ") }));
  } else {
    const demo = await createDemoStudy(db, { seed, locale, actorId: actor?.id ?? null });
    studyId = demo.studyId;
    const study = (await listStudySummaries(db, null)).find((s) => s.id === studyId)!;
    const aided = demo.trueLifts.aided_awareness;
    io.out(t("demo.console.created", { name: study.name, seed, responses: t("studies.responses", { count: demo.responses }), seconds: seconds() }));
    io.out(t("demo.console.trueLifts", { lifts: DEMO_SEGMENTS.map((s) => `${segmentLabel(s)} ${pct(aided[s].pre)} → ${pct(aided[s].post)}`).join("; ") }));
  }
  if (previous > 0) io.out(t("demo.console.previous", { count: previous }));
  const studyUrl = `${config.baseUrl}/studies/${studyId}`;
  io.out("");
  io.out(t("demo.console.open"));
  io.out(`  ${studyUrl}`);
  io.out(`  ${t("demo.console.results")} ${studyUrl}/results`);
  io.out(`  ${t("demo.console.planner")} ${studyUrl}/planner`);
  io.out("");
  io.out(users.length === 0 ? t("demo.console.noUser", { url: `${config.baseUrl}/setup` }) : t("demo.console.login", { email: (actor ?? users[0]!).email }));
  return 0;
}

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const db = await openConfiguredDatabaseOrExit(config, { migrate: true });
  try {
    process.exitCode = await runDemo(process.argv.slice(2), db, config, {
      out: (line) => process.stdout.write(line + "\n"),
      err: (line) => process.stderr.write(line + "\n"),
    });
  } finally {
    await closeDatabase(db);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await main();
}
