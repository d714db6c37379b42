import { and, eq, inArray } from "drizzle-orm";
import { sqlRows } from "../support/sql.js";
import { beforeAll, describe, expect, it } from "vitest";
import { unitOfWork, type Db } from "../../db/client.js";
import { studyAudit } from "../../db/queries/audit.js";
import { listWaves } from "../../db/queries/fieldwork.js";
import { listMargins } from "../../db/queries/margins.js";
import { loadQuestionnaire } from "../../db/queries/questionnaire.js";
import { findStudy, listSegments } from "../../db/queries/studies.js";
import { links, responses } from "../../db/schema.js";
import { createDemoStudy, type DemoStudy } from "../../server/demo/create.js";
import {
  ADVANTAGE_KEYS,
  AUDIENCE,
  CAMPAIGN,
  DEFAULT_SEED,
  DEMO_MARGINS,
  DEMO_METRICS,
  DEMO_SEGMENTS,
  DEMO_WAVES,
  generateDemoData,
  MISSPELLED_SHARE,
  type DemoAnswers,
  type DemoData,
  type DemoMetric,
  type DemoSegment,
} from "../../server/demo/generate.js";
import { runDemo } from "../../server/demo/main.js";
import { CODED_SPELLINGS, DEMO_ALIASES, DEMO_COMPETITORS, MISSPELLINGS } from "../../server/demo/texts.js";
import { toDefinition } from "../../server/domain/definition-export.js";
import { studyDefinition } from "../../server/domain/study-definition.js";
import { codeMentions } from "../../server/domain/text-coding.js";
import { translator } from "../../server/i18n/index.js";
import { recodeStudy } from "../../server/quality/coding-service.js";
import { codedQuestions, codeDefinitions } from "../../server/quality/coding.js";
import { computeResults, resultsQuery, type StudyResults } from "../../server/services/results.js";
import { marginsDocumentOf } from "../../server/services/weighting.js";
import { liftTable, type LiftRow, type LiftTableCount } from "../../stats/index.js";
import { addUser, freshDb } from "../helpers.js";

/**
 * The demo study: the results the app computes for it equal liftTable on counts made here
 * independently (from the generator's own records, cross-checked with hand-written SQL), the
 * built-in lifts are found, and the data are the same for the same seed.
 */

/** Tests that write whole demo studies (about 3,000 responses each) get more time on a busy machine. */
const SLOW = 60_000;

/** Whether one respondent counts as aware on a metric, decided here from the answers alone. */
const AWARE: Record<DemoMetric, (a: DemoAnswers) => boolean> = {
  unaided_awareness: (a) => codeMentions(a.unaided, { brand: DEMO_ALIASES }).length > 0,
  aided_awareness: (a) => a.aided.includes("brand"),
  ad_recall: (a) => a.ad_recall === "yes",
  advantage_awareness: (a) => (a.advantages ?? []).some((k) => ADVANTAGE_KEYS.includes(k)),
  favorability: (a) => (a.favorability ?? 0) >= 4,
  consideration: (a) => (a.consideration ?? 0) >= 4,
};

/**
 * Whether a respondent is in a metric's base, decided here from the answers alone: answered the
 * question (a non-empty text for the open one) and, for the advantages, picked no decoy.
 */
const IN_BASE: Record<DemoMetric, (a: DemoAnswers) => boolean> = {
  unaided_awareness: (a) => a.unaided.trim().length > 0,
  aided_awareness: (a) => a.aided.length > 0,
  ad_recall: (a) => a.ad_recall !== undefined && a.ad_recall !== "",
  advantage_awareness: (a) => (a.advantages ?? []).length > 0 && !(a.advantages ?? []).includes("decoy"),
  favorability: (a) => a.favorability !== undefined,
  consideration: (a) => a.consideration !== undefined,
};

/** Counts per metric × segment × wave from the in-memory records: completed, not excluded, in the base. */
function countsFromRecords(data: DemoData, waveIds: readonly [number, number]): LiftTableCount[] {
  const out: LiftTableCount[] = [];
  DEMO_WAVES.forEach((wave, i) => {
    for (const segment of DEMO_SEGMENTS) {
      const counted = data[wave].filter((r) => r.segment === segment && r.status === "completed" && !r.excluded);
      for (const metric of DEMO_METRICS) {
        const base = counted.filter((r) => IN_BASE[metric](r.answers));
        out.push({ metric, segment, wave: String(waveIds[i]), x: base.filter((r) => AWARE[metric](r.answers)).length, n: base.length });
      }
    }
  });
  return out;
}

const sortCounts = (c: readonly LiftTableCount[]) =>
  [...c].sort((a, b) => `${a.metric}|${a.segment}|${a.wave}`.localeCompare(`${b.metric}|${b.segment}|${b.wave}`));

/** n per wave and segment, and x for two metrics, by plain SQL over the stored rows. */
async function sqlCounts(db: Db, studyId: number) {
  const eligible = `r.status = 'completed' AND r.excluded = FALSE AND s.study_id = ?`;
  const n = (await sqlRows<{ wave: number; segment: string; n: number }>(db, `SELECT r.wave_id AS wave, s.key AS segment, count(*) AS n FROM responses r JOIN segments s ON s.id = r.segment_id WHERE ${eligible} GROUP BY 1, 2`, [studyId]));
  const aided = (await sqlRows<{ wave: number; segment: string; x: number }>(db, `SELECT r.wave_id AS wave, s.key AS segment, count(DISTINCT r.id) AS x FROM responses r JOIN segments s ON s.id = r.segment_id
       JOIN answers a ON a.response_id = r.id JOIN questions q ON q.id = a.question_id JOIN options o ON o.id = a.option_id
       WHERE q.key = 'aided' AND o.key = 'brand' AND ${eligible} GROUP BY 1, 2`, [studyId]));
  const unaided = (await sqlRows<{ wave: number; segment: string; x: number }>(db, `SELECT r.wave_id AS wave, s.key AS segment, count(DISTINCT r.id) AS x FROM responses r JOIN segments s ON s.id = r.segment_id
       JOIN answers a ON a.response_id = r.id JOIN questions q ON q.id = a.question_id JOIN text_mentions m ON m.answer_id = a.id
       WHERE q.key = 'unaided' AND m.code = 'brand' AND ${eligible} GROUP BY 1, 2`, [studyId]));
  return { n, aided, unaided };
}

/** The demo's results; unweighted unless asked (the counts checked here are the plain ones). */
async function results(db: Db, demo: DemoStudy, weighted = false): Promise<StudyResults> {
  const r = await computeResults(db, (await findStudy(db, demo.studyId))!, resultsQuery.parse({ weighted: weighted ? "1" : "0" }), "en", translator("en"));
  if (typeof r === "string") throw new Error(r);
  return r;
}

/** A row without its display labels (those depend on the language, not on the counts). */
const numbers = ({ metricLabel: _m, segmentLabel: _s, ...row }: LiftRow) => row;

/** Every mention of the study's text answers as (answer, code, rank), in a fixed order. */
async function storedMentions(db: Db, studyId: number) {
  return (await sqlRows<{ answer: number; code: string; rank: number }>(db, `SELECT m.answer_id AS answer, m.code AS code, m.rank AS rank FROM text_mentions m JOIN answers a ON a.id = m.answer_id
       JOIN responses r ON r.id = a.response_id JOIN waves w ON w.id = r.wave_id WHERE w.study_id = ? ORDER BY 1, 2, 3`, [studyId]));
}

describe("demo study", () => {
  let db: Db;
  let demo: DemoStudy;
  let data: DemoData;
  let computed: StudyResults;
  let independent: LiftTableCount[];
  const now = new Date();
  beforeAll(async () => {
    db = freshDb();
    demo = await createDemoStudy(db, { seed: DEFAULT_SEED, locale: "ru", actorId: null, now });
    data = generateDemoData(DEFAULT_SEED, "ru");
    computed = await results(db, demo);
    independent = countsFromRecords(data, demo.waveIds);
  }, SLOW);

  it("stores what the generator produced: SQL counts equal the records' counts", async () => {
    const { n, aided, unaided } = await sqlCounts(db, demo.studyId);
    const key = (wave: number | string, segment: string) => `${wave}|${segment}`;
    const fromRecords = new Map(independent.map((c) => [`${c.metric}|${key(c.wave, c.segment)}`, c]));
    expect(n).toHaveLength(6);
    for (const row of n) expect(fromRecords.get(`aided_awareness|${key(row.wave, row.segment)}`)?.n).toBe(row.n);
    for (const row of aided) expect(fromRecords.get(`aided_awareness|${key(row.wave, row.segment)}`)?.x).toBe(row.x);
    for (const row of unaided) expect(fromRecords.get(`unaided_awareness|${key(row.wave, row.segment)}`)?.x).toBe(row.x);
    expect(aided).toHaveLength(6);
    expect(unaided).toHaveLength(6);
  });

  it("has 300–600 completes per segment and wave, partial, flagged and excluded responses, in both languages", () => {
    for (const c of independent) {
      expect(c.n).toBeGreaterThanOrEqual(300);
      expect(c.n).toBeLessThanOrEqual(600);
    }
    const all = [...data.pre, ...data.post];
    expect(all.filter((r) => r.status === "partial").length).toBeGreaterThan(50);
    expect(all.filter((r) => r.excluded).length).toBeGreaterThan(10);
    expect(all.filter((r) => !r.excluded && r.flags).length).toBeGreaterThan(20);
    expect(all.filter((r) => r.locale === "en").length).toBeGreaterThan(200);
    expect(all.filter((r) => r.locale === "ru").length).toBeGreaterThan(1500);
    expect(all.filter((r) => r.answers.feedback).length).toBeGreaterThan(500);
    // Excluded and flagged responses are reported beside the results as the generator made them.
    for (const r of computed.respondents) {
      const wave = DEMO_WAVES[demo.waveIds.indexOf(r.waveId)]!;
      const segment = computed.segments.find((s) => s.id === r.segmentId)!.key;
      const records = data[wave].filter((x) => x.segment === segment && x.status === "completed");
      expect(r.excluded).toBe(records.filter((x) => x.excluded).length);
      expect(r.flagged).toBe(records.filter((x) => !x.excluded && x.flags).length);
    }
  });

  it("gives computeResults the counts made independently here", () => {
    expect(sortCounts(computed.counts)).toEqual(sortCounts(independent));
  });

  it("is weighted by default (its margins cover every cell), over the same counts", async () => {
    const weighted = await results(db, demo, true);
    expect(weighted.weighting).toMatchObject({ available: true, applied: true, problems: [] });
    expect(weighted.table.rows.every((r) => r.weighted)).toBe(true);
    expect(sortCounts(weighted.counts.map(({ weighted: _, ...c }) => c))).toEqual(sortCounts(independent));
  });

  it("has every results row equal to liftTable on the independent counts (x/n, p-values, intervals, verdicts)", () => {
    // Metrics in questionnaire order (the template asks ad recall after the advantages).
    const order = Object.keys(computed.metricLabels);
    expect([...order].sort()).toEqual([...DEMO_METRICS].sort());
    const expected = liftTable({
      metrics: order.map((key) => ({ key })),
      segments: DEMO_SEGMENTS.map((key) => ({ key, audienceSize: AUDIENCE.post[key] })),
      counts: independent,
      waves: { pre: String(demo.waveIds[0]), post: String(demo.waveIds[1]) },
      confidenceLevel: 0.95,
      adjustment: "holm",
      campaign: CAMPAIGN.ru,
    });
    expect(expected.rows).toHaveLength(DEMO_METRICS.length * (DEMO_SEGMENTS.length + 1));
    expect(computed.table.rows.map((r) => r.id)).toEqual(expected.rows.map((r) => r.id));
    for (const row of expected.rows) {
      const got = computed.table.rows.find((r) => r.id === row.id)!;
      expect([got.pre.x, got.pre.n, got.post.x, got.post.n], row.id).toEqual([row.pre.x, row.pre.n, row.post.x, row.post.n]);
      expect(got.pValue, row.id).toBe(row.pValue);
      expect(got.adjustedPValue, row.id).toBe(row.adjustedPValue);
      expect(numbers(got)).toEqual(numbers(row));
    }
    expect(computed.table.omitted).toEqual([]);
  });

  it("recovers the built-in lifts: rises where they were put, no change in the inactive audience", () => {
    const row = (metric: DemoMetric, segment: string) => computed.table.rows.find((r) => r.id === `${metric}:${segment}`)!;
    expect(row("aided_awareness", "subscribers").verdict).toBe("rise");
    expect(row("aided_awareness", "active_unsubscribed").verdict).toBe("rise");
    expect(row("aided_awareness", "inactive").verdict).toBe("no_change");
    expect(row("ad_recall", "subscribers").verdict).toBe("rise");
    for (const metric of DEMO_METRICS) expect(row(metric, "subscribers").verdict, metric).toBe("rise");
    for (const metric of DEMO_METRICS) expect(row(metric, "inactive").verdict, metric).toBe("no_change");
    // Every segment row's lift lies within 4 standard errors of the true lift; for unaided
    // awareness, misspelled mentions the coding misses may take up to MISSPELLED_SHARE of it.
    for (const metric of DEMO_METRICS) {
      for (const segment of DEMO_SEGMENTS) {
        const r = row(metric, segment);
        const truth = demo.trueLifts[metric][segment];
        const se = Math.sqrt((truth.pre * (1 - truth.pre)) / r.pre.n + (truth.post * (1 - truth.post)) / r.post.n);
        const low = metric === "unaided_awareness" ? truth.lift * (1 - MISSPELLED_SHARE) : truth.lift;
        expect(r.absoluteLift.estimate, `${metric}:${segment}`).toBeGreaterThan(low - 4 * se);
        expect(r.absoluteLift.estimate, `${metric}:${segment}`).toBeLessThan(truth.lift + 4 * se);
      }
    }
    expect(demo.trueLifts.aided_awareness.subscribers).toMatchObject({ pre: 0.45, post: 0.6 });
    expect(demo.trueLifts.aided_awareness.inactive.lift).toBe(0);
  });

  it("records the study like a real one: template questions, waves closed in the past, audience sizes, links used", async () => {
    const study = (await findStudy(db, demo.studyId))!;
    expect(study).toMatchObject({ brand: "Zerno", defaultLocale: "ru", campaignCost: 450_000, costCurrency: "RUB", pageSize: 3 });
    expect(computed.waves.map((w) => [w.kind, w.status])).toEqual([
      ["pre", "closed"],
      ["post", "closed"],
    ]);
    const [pre, post] = computed.waves;
    expect(pre!.closedAt!.getTime()).toBeLessThan(post!.openedAt!.getTime());
    expect(post!.closedAt!.getTime()).toBeLessThan(Date.now());
    const uses = (await sqlRows<{ uses: number; completed: number }>(db, `SELECT l.uses AS uses, (SELECT count(*) FROM responses r WHERE r.link_id = l.id AND r.status = 'completed') AS completed FROM links l JOIN waves w ON w.id = l.wave_id WHERE w.study_id = ?`, [demo.studyId]));
    expect(uses).toHaveLength(6);
    for (const u of uses) expect(u.uses).toBe(u.completed);
    const totalAided = computed.table.rows.find((r) => r.id === "aided_awareness:total")!;
    expect(totalAided.totalMethod).toBe("audience");
    expect(totalAided.liftedUsers).not.toBeNull();
  });
  it("asks the profile questions last, answered by completed respondents, with targets for every segment; the subscribers' post wave is younger and more female", async () => {
    const qs = await loadQuestionnaire(db, demo.studyId);
    expect(qs.slice(-2).map((q) => [q.key, q.type, q.profile, q.required, q.metricName])).toEqual([
      ["gender", "single", true, false, null],
      ["age_group", "single", true, false, null],
    ]);
    // The targets: each segment's age and gender mix for every wave, valid as a definition's margins.
    const { margins } = await marginsDocumentOf(db, demo.studyId);
    expect(margins.map((m) => [m.segment, m.wave, m.variable])).toEqual(DEMO_SEGMENTS.flatMap((s) => [[s, null, "gender"], [s, null, "age_group"]]));
    for (const m of margins) expect(m.shares).toEqual(DEMO_MARGINS[m.segment as DemoSegment][m.variable as "gender" | "age_group"]);
    const definition = JSON.parse(JSON.stringify(toDefinition((await findStudy(db, demo.studyId))!, await listSegments(db, demo.studyId), qs, await listMargins(db, demo.studyId))));
    expect(studyDefinition.safeParse(definition).success).toBe(true);

    // Stored answers equal the generator's records: completed respondents only, some skipping or preferring not to say.
    const rows = (await sqlRows<{ wave: number; segment: string; question: "gender" | "age_group"; level: string; n: number }>(db, `SELECT r.wave_id AS wave, s.key AS segment, q.key AS question, o.key AS level, count(*) AS n FROM answers a JOIN responses r ON r.id = a.response_id
         JOIN segments s ON s.id = r.segment_id JOIN questions q ON q.id = a.question_id JOIN options o ON o.id = a.option_id
         WHERE q.profile = TRUE AND s.study_id = ? GROUP BY 1, 2, 3, 4`, [demo.studyId]));
    const fromRecords = new Map<string, number>();
    DEMO_WAVES.forEach((wave, i) => {
      for (const r of data[wave]) {
        if (r.status !== "completed") expect(r.answers.gender ?? r.answers.age_group).toBeUndefined();
        for (const question of ["gender", "age_group"] as const) {
          const level = r.answers[question];
          if (level) fromRecords.set(`${demo.waveIds[i]}|${r.segment}|${question}|${level}`, (fromRecords.get(`${demo.waveIds[i]}|${r.segment}|${question}|${level}`) ?? 0) + 1);
        }
      }
    });
    expect(new Map(rows.map((r) => [`${r.wave}|${r.segment}|${r.question}|${r.level}`, r.n]))).toEqual(fromRecords);
    const completed = [...data.pre, ...data.post].filter((r) => r.status === "completed");
    expect(completed.filter((r) => r.answers.gender === "prefer_not").length).toBeGreaterThan(20);
    expect(completed.filter((r) => r.answers.gender === undefined).length).toBeGreaterThan(10);

    // Shares among those who gave one: the subscribers' post wave drew younger women; the inactive audience did not move.
    const share = (wave: "pre" | "post", segment: DemoSegment, question: "gender" | "age_group", levels: string[]) => {
      const answered = data[wave].filter((r) => r.segment === segment && r.answers[question] && r.answers[question] !== "prefer_not");
      return answered.filter((r) => levels.includes(r.answers[question]!)).length / answered.length;
    };
    const young = ["age_18_24", "age_25_34"];
    expect(share("post", "subscribers", "age_group", young) - share("pre", "subscribers", "age_group", young)).toBeGreaterThan(0.08);
    expect(share("post", "subscribers", "gender", ["female"]) - share("pre", "subscribers", "gender", ["female"])).toBeGreaterThan(0.05);
    expect(Math.abs(share("post", "inactive", "age_group", young) - share("pre", "inactive", "age_group", young))).toBeLessThan(0.05);
    expect(Math.abs(share("post", "inactive", "gender", ["female"]) - share("pre", "inactive", "gender", ["female"]))).toBeLessThan(0.05);
  });

  it("dates everything on one timeline before now: set-up, the pre wave, then the post wave; responses, links and audit inside it", async () => {
    const study = (await findStudy(db, demo.studyId))!;
    const [pre, post] = await listWaves(db, demo.studyId);
    const ms = (d: Date | null | undefined) => d!.getTime();
    // Strictly in order: each wave opened before it closed, the pre wave closed before the post wave opened.
    const timeline = [ms(study.createdAt), ms(pre!.openedAt), ms(pre!.closedAt), ms(post!.openedAt), ms(post!.closedAt), now.getTime()];
    timeline.slice(1).forEach((t, i) => expect(t, `step ${i + 1}`).toBeGreaterThan(timeline[i]!));
    for (const w of [pre!, post!]) {
      expect(ms(w.createdAt)).toBe(ms(study.createdAt));
      const wave = await db.select().from(responses).where(eq(responses.waveId, w.id));
      for (const r of wave) {
        expect(ms(r.startedAt)).toBeGreaterThanOrEqual(ms(w.openedAt));
        expect(ms(r.completedAt ?? r.startedAt)).toBeLessThanOrEqual(ms(w.closedAt));
        if (r.completedAt) expect(ms(r.completedAt) - ms(r.startedAt)).toBe(r.durationMs);
        if (r.excluded) expect(ms(r.excludedAt)).toBe(ms(w.closedAt));
      }
      for (const l of await db.select().from(links).where(eq(links.waveId, w.id))) expect(ms(l.createdAt)).toBe(ms(w.openedAt));
    }
    // The audit tells the same story, in order; only the entry saying the demo was generated is stamped now.
    const entries = (await studyAudit(db, demo.studyId)).map((e) => e.entry).reverse();
    const at = (action: string, entityId: number) => entries.filter((e) => e.action === action && e.entityId === String(entityId)).map((e) => ms(e.at));
    expect(at("study.create", demo.studyId)).toEqual([ms(study.createdAt)]);
    expect([...at("wave.open", pre!.id), ...at("wave.close", pre!.id), ...at("wave.open", post!.id), ...at("wave.close", post!.id)]).toEqual(timeline.slice(1, 5));
    const times = entries.map((e) => ms(e.at));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(entries.at(-1)!.action).toBe("study.demo");
    expect(times.at(-1)).toBeLessThanOrEqual(Date.now());
    for (const e of entries.slice(0, -1)) expect(ms(e.at), e.action).toBeLessThanOrEqual(ms(post!.closedAt));
    // The results page reads the waves' dates in order.
    expect(computed.waves.map((w) => [ms(w.openedAt), ms(w.closedAt)])).toEqual([timeline.slice(1, 3), timeline.slice(3, 5)]);
  });

  it("logs every action as the demo's, and every exclusion with its reason when its wave closed", async () => {
    const entries = (await studyAudit(db, demo.studyId)).map((e) => e.entry);
    expect(new Set(entries.map((e) => e.action))).toEqual(new Set(["study.create", "wave.open", "wave.close", "quality.exclude", "study.demo"]));
    for (const e of entries) expect([e.action, e.userId, e.systemActor]).toEqual([e.action, null, "demo"]);
    const excluded = await db.select().from(responses).where(and(inArray(responses.waveId, [...demo.waveIds]), eq(responses.excluded, true)));
    expect(excluded.length).toBe([...data.pre, ...data.post].filter((r) => r.excluded).length);
    const exclusions = entries.filter((e) => e.action === "quality.exclude");
    for (const r of excluded) {
      expect(r.excludedBy).toBeNull();
      const entry = exclusions.find((e) => (e.details?.["responseIds"] as number[]).includes(r.id));
      expect(entry?.details?.["reason"], `response ${r.id}`).toBe(r.excludedReason);
      expect(entry!.at.getTime()).toBe(r.excludedAt!.getTime());
    }
    // Nothing else is logged as excluded.
    const logged = exclusions.flatMap((e) => e.details?.["responseIds"] as number[]).sort((a, b) => a - b);
    expect(logged).toEqual(excluded.map((r) => r.id).sort((a, b) => a - b));
  });

  it("codes the aided list's competitors in the unaided answers from the start, as the survey codes a submission", async () => {
    const questions = await loadQuestionnaire(db, demo.studyId);
    const competitors = codeDefinitions(codedQuestions(questions)[0], questions, [], "Zerno", "ru", "ru").filter((d) => d.kind === "competitor");
    expect(competitors.map((d) => d.label)).toEqual(DEMO_COMPETITORS);
    const counts = (await sqlRows<{ wave: number; code: string; n: number }>(db, `SELECT r.wave_id AS wave, m.code AS code, count(*) AS n FROM text_mentions m JOIN answers a ON a.id = m.answer_id
         JOIN responses r ON r.id = a.response_id WHERE r.wave_id IN (?, ?) GROUP BY 1, 2`, demo.waveIds));
    for (const wave of demo.waveIds) {
      for (const { code } of competitors) expect(counts.find((c) => c.wave === wave && c.code === code)?.n ?? 0, `${code} in wave ${wave}`).toBeGreaterThan(50);
    }
    // Coding the study again with its codebooks (as a recode after an alias does) changes nothing.
    const before = await storedMentions(db, demo.studyId);
    await unitOfWork(db, async (tx) => recodeStudy(tx, demo.studyId));
    expect(await storedMentions(db, demo.studyId)).toEqual(before);
  });

  it("shows real unaided competitor shares on the results, equal to the records' counts and moving between the waves", () => {
    const unaided = computed.competitors.find((c) => c.source === "unaided")!;
    const rivals = unaided.brands.filter((b) => !b.isBrand);
    expect(rivals.map((b) => b.label)).toEqual(DEMO_COMPETITORS);
    for (const rival of rivals) {
      for (const s of rival.segments) {
        DEMO_WAVES.forEach((wave) => {
          const share = s[wave]!;
          const base = data[wave].filter((r) => r.segment === s.segment && r.status === "completed" && !r.excluded && IN_BASE.unaided_awareness(r.answers));
          const x = base.filter((r) => codeMentions(r.answers.unaided, { [rival.code]: [rival.label] }).length > 0).length;
          expect([share.x, share.n], `${rival.label} ${s.segment} ${wave}`).toEqual([x, base.length]);
          expect(share.p, `${rival.label} ${s.segment} ${wave}`).toBeGreaterThan(0.05);
        });
      }
    }
    // Coffee Point advertised between the waves (texts.ts): named more often after, in every segment.
    for (const s of rivals.find((b) => b.label === "Coffee Point")!.segments) expect(s.post!.p, s.segment).toBeGreaterThan(s.pre!.p);
  });
});

describe("demo determinism", () => {
  it("gives the same data and the same counts for the same seed, other data for another seed", async () => {
    expect(generateDemoData(7, "en")).toEqual(generateDemoData(7, "en"));
    expect(generateDemoData(8, "en")).not.toEqual(generateDemoData(7, "en"));
    const countsOf = async (db: Db, seed: number) => {
      const demo = await createDemoStudy(db, { seed, locale: "en", actorId: null, now: new Date() });
      return sortCounts((await results(db, demo)).counts).map(({ metric, segment, x, n }) => ({ metric, segment, x, n }));
    };
    const first = await countsOf(freshDb(), 7);
    expect(await countsOf(freshDb(), 7)).toEqual(first);
    expect(first.length).toBe(DEMO_METRICS.length * DEMO_SEGMENTS.length * 2);
    // Only the words differ between languages: the drawn respondents are the same.
    const ru = generateDemoData(7, "ru");
    const en = generateDemoData(7, "en");
    expect(ru.pre.map((r) => r.answers.aided)).toEqual(en.pre.map((r) => r.answers.aided));
  }, SLOW);

  it("writes the brand in ways the coding finds, and some misspelled", () => {
    for (const locale of ["ru", "en"] as const) {
      for (const s of CODED_SPELLINGS[locale]) expect(codeMentions(s, { brand: DEMO_ALIASES }), s).toHaveLength(1);
    }
    const unaided = [...generateDemoData(DEFAULT_SEED, "ru").pre, ...generateDemoData(DEFAULT_SEED, "ru").post].map((r) => r.answers.unaided);
    const misspelled = unaided.filter((text) => [...MISSPELLINGS.ru, ...MISSPELLINGS.en].some((m) => text.includes(m)));
    expect(misspelled.length).toBeGreaterThan(10);
  });
});

describe("npm run demo", () => {
  function capture() {
    const out: string[] = [];
    const err: string[] = [];
    return { io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) }, out, err };
  }
  const config = { baseUrl: "http://localhost:3999", defaultLocale: "en" as const };

  it("prints the study URL and sends a newcomer to /setup when there is no account", async () => {
    const db = freshDb();
    const run = capture();
    expect(await runDemo([], db, config, run.io)).toBe(0);
    const text = run.out.join("\n");
    expect(text).toContain("http://localhost:3999/studies/1");
    expect(text).toContain("http://localhost:3999/studies/1/results");
    expect(text).toContain("http://localhost:3999/setup");
    expect(text).toContain(`seed ${DEFAULT_SEED}`);
    expect(run.err).toEqual([]);
  }, SLOW);

  it("makes the first administrator the owner, adds a second study on a second run, and speaks Russian", async () => {
    const db = freshDb();
    const admin = await addUser(db, "admin");
    expect(await runDemo(["--seed", "5"], db, config, capture().io)).toBe(0);
    // The administrator owns the study; the demo, not they, did what the audit log lists.
    expect((await findStudy(db, 1))!.createdBy).toBe(admin.id);
    const entries = (await studyAudit(db, 1)).map((e) => e.entry);
    expect(entries.length).toBeGreaterThan(5);
    for (const e of entries) expect([e.action, e.userId, e.systemActor]).toEqual([e.action, null, "demo"]);
    expect((await db.select().from(responses).where(eq(responses.excluded, true))).map((r) => r.excludedBy)).not.toContain(admin.id);
    const second = capture();
    expect(await runDemo(["--locale", "ru"], db, config, second.io)).toBe(0);
    const text = second.out.join("\n");
    expect(text).toContain("http://localhost:3999/studies/2");
    expect(text).toContain("уже было 1 демо-исследование");
    expect(text).toMatch(/\(seed \d+\): \d{1,3}(\u00a0\d{3})* ответ(а|ов)? в 2 волнах/);
    expect(text).toContain(admin.email);
    expect(text).not.toContain("/setup");
    expect((await findStudy(db, 2))!.name).toBe("Демо: весенняя кампания Zerno");
  }, SLOW);

  it("refuses bad arguments without writing", async () => {
    const db = freshDb();
    for (const args of [["--seed", "x"], ["--seed", "-1"], ["--locale", "de"], ["--nope"]]) {
      const run = capture();
      expect(await runDemo(args, db, config, run.io), args.join(" ")).toBe(2);
      expect(run.err.join("\n")).toContain("npm run demo");
    }
    expect(await findStudy(db, 1)).toBeUndefined();
  });
});
