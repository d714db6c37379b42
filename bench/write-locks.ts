/**
 * Benchmark: the longest single write transaction (unit of work) of each job whose size grows with
 * a study, on a real SQLite file of 60,000 responses (60,000 coded text answers), against the
 * baseline measured in the same run: the unit of work of one survey submission through the app.
 * While a unit of work holds SQLite's write lock, every other instance's survey post waits for it,
 * so the target is a hold under 50 ms for every job (long jobs commit in chunks).
 *
 * Holds are heard through observeUnitsOfWork (db/client.ts), from BEGIN IMMEDIATE to COMMIT. A
 * job that writes outside any unit of work (single autocommit statements) is timed as a whole.
 *
 * Run: npx tsx bench/write-locks.ts [--quick]   (or npm run bench)
 */
import { join } from "node:path";
import request from "supertest";
import { closeDatabase, observeUnitsOfWork, openDatabase, unitOfWork, type Db } from "../db/client.js";
import { upsertAudiencePoints } from "../db/queries/audience.js";
import { listSegments } from "../db/queries/studies.js";
import { rateLimits, sessions, textAliases } from "../db/schema.js";
import { createApp } from "../server/app.js";
import { testConfig } from "../server/config.js";
import { addAlias, recodeStudy, removeAlias } from "../server/quality/coding-service.js";
import { recomputeStudyFlags } from "../server/quality/flag-service.js";
import { createUser } from "../server/services/accounts.js";
import { addPersonalLinks, close } from "../server/services/fieldwork.js";
import { purgeExpired } from "../server/services/retention.js";
import { generateDatabase } from "./lib/generate.js";
import { tempDir } from "./lib/fixture.js";
import { QUICK, fmtInt, fmtMs, fmtRatio, log, machineLine, printTable, type Row } from "./lib/report.js";

const RESPONSES = QUICK ? 10_000 : 60_000;
const PERSONAL_LINKS = 10_000;
const EXPIRED_ROWS = QUICK ? 10_000 : 50_000;
const SUBMISSIONS = QUICK ? 10 : 30;
const TARGET_MS = 50;

const dir = tempDir("write-locks");
const path = join(dir, "bench.db");
log(`generating ${fmtInt(RESPONSES)} responses…`);
const generated = await generateDatabase(path, RESPONSES);
log(`generated in ${generated.seconds.toFixed(1)} s: ${fmtInt(generated.answers)} answers, ${fmtInt(generated.mentions)} mentions`);

const db: Db = openDatabase(path);
const holds: number[] = [];
observeUnitsOfWork((event) => holds.push(event.ms));

interface Measured {
  longest: number;
  median: number;
  units: number;
  wallMs: number;
}

/** Runs a job and reports its longest unit of work (or its whole time when it used none). */
async function measure(job: () => Promise<unknown>): Promise<Measured> {
  holds.length = 0;
  const started = performance.now();
  await job();
  const wallMs = performance.now() - started;
  const sorted = [...holds].sort((a, b) => a - b);
  return { longest: sorted.at(-1) ?? wallMs, median: sorted[Math.floor(sorted.length / 2)] ?? wallMs, units: holds.length, wallMs };
}

const researcher = await createUser(db, { email: "bench@example.test", name: "Bench", password: "correct horse battery", role: "researcher" }, null);
const study = generated.study;

// Baseline: survey submissions through the app, one unit of work each.
const app = createApp({ db, config: testConfig() });
const answers = {
  q_unaided: "Acme, Rival and a few local places",
  q_aided: ["brand", "competitor_1"],
  q_ad_recall: "yes",
  q_advantages: ["advantage_1", "advantage_2"],
  q_favorability: "4",
  q_consideration: "5",
  q_attention: "somewhat_disagree",
  q_feedback: "More seats by the window, please.",
};
const submissionHolds: number[] = [];
for (let i = 0; i < SUBMISSIONS; i++) {
  const agent = request.agent(app);
  const url = `/s/${generated.links.post[0]!.token}`;
  const html = (await agent.get(url).expect(200)).text;
  const hidden = Object.fromEntries([...html.matchAll(/<input type="hidden" name="(_\w)" value="([^"]*)">/g)].map((m) => [m[1]!, m[2]!]));
  holds.length = 0;
  await agent.post(url).type("form").send({ ...hidden, website: "", ...answers }).expect(303);
  if (holds.length !== 1) throw new Error(`a submission ran ${holds.length} units of work`);
  submissionHolds.push(holds[0]!);
}
submissionHolds.sort((a, b) => a - b);
const baseline = submissionHolds[Math.floor(submissionHolds.length / 2)]!;
log(`survey submission: median ${fmtMs(baseline)}, longest ${fmtMs(submissionHolds.at(-1)!)}`);

const jobs: Array<[string, () => Promise<unknown>]> = [
  ["add a coding alias (recodes the study)", () => addAlias(db, study, researcher.id, { alias: "акме", code: "brand" }, "en")],
  [
    "remove a coding alias (recodes the study)",
    async () => {
      const alias = (await db.select().from(textAliases))[0]!;
      return removeAlias(db, study, researcher.id, alias.id);
    },
  ],
  ["recode button", () => recodeStudy(db, study.id)],
  ["recompute quality flags", () => recomputeStudyFlags(db, study.id, { userId: researcher.id })],
  [
    "close a wave (+ flag recompute)",
    async () => {
      await close(db, { ...generated.post, status: "open" }, researcher.id);
      await recomputeStudyFlags(db, study.id, { userId: researcher.id });
    },
  ],
  [`${fmtInt(PERSONAL_LINKS)} personal links`, async () => addPersonalLinks(db, generated.pre, (await listSegments(db, study.id))[0]!.key, PERSONAL_LINKS, researcher.id)],
  [
    `purge ${fmtInt(EXPIRED_ROWS)} expired sessions + rate limits`,
    async () => {
      const past = new Date(Date.now() - 3600_000);
      await unitOfWork(db, async (tx) => {
        for (let i = 0; i < EXPIRED_ROWS; i += 500) {
          const n = Math.min(500, EXPIRED_ROWS - i);
          await tx.insert(rateLimits).values(Array.from({ length: n }, (_, k) => ({ key: `login:ip:${i + k}`, hits: 3, resetAt: past })));
          await tx.insert(sessions).values(Array.from({ length: n }, (_, k) => ({ idHash: `s${i + k}`, userId: researcher.id, createdAt: past, lastSeenAt: past, expiresAt: past })));
        }
      });
      holds.length = 0;
      return purgeExpired(db, new Date());
    },
  ],
  [
    "audience import, 3 years of days",
    () =>
      unitOfWork(db, async (tx) => {
        const segmentId = (await listSegments(tx, study.id))[0]!.id;
        const day = (i: number) => new Date(Date.UTC(2022, 0, 1) + i * 86_400_000).toISOString().slice(0, 10);
        await upsertAudiencePoints(tx, { studyId: study.id, segmentId, measure: "subscribers" }, Array.from({ length: 1095 }, (_, i) => ({ day: day(i), count: 1000 + i })));
      }),
  ],
];

const rows: Row[] = [
  { name: `survey submission (median of ${SUBMISSIONS}; longest ${fmtMs(submissionHolds.at(-1)!)})`, ours: fmtMs(baseline), baseline: fmtMs(baseline), ratio: "1.00", target: `< ${TARGET_MS} ms`, met: baseline < TARGET_MS },
];
for (const [name, job] of jobs) {
  log(`${name}…`);
  const m = await measure(job);
  rows.push({
    name: `${name}: ${m.units ? `${fmtInt(m.units)} units of work (median hold ${fmtMs(m.median)})` : "no unit of work"}, ${fmtMs(m.wallMs)} in all`,
    ours: fmtMs(m.longest),
    baseline: fmtMs(baseline),
    ratio: fmtRatio(m.longest / baseline),
    target: `< ${TARGET_MS} ms`,
    met: m.longest < TARGET_MS,
  });
}
await closeDatabase(db);

console.log(machineLine());
console.log(`study: ${fmtInt(RESPONSES)} responses, ${fmtInt(generated.answers)} answers (${fmtInt(RESPONSES)} coded text answers)`);
printTable("Longest write-lock hold (one unit of work) per job, against one survey submission's", rows);
