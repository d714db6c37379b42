import { randomBytes } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { eq, ne } from "drizzle-orm";
import { answers, auditLog, jobs, responses } from "../../db/schema.js";
import { startJob } from "../../server/jobs/queue.js";
import { resultsWorkerRunning, stopResultsWorker } from "../../server/results-snapshots/worker-pool.js";
import { TEST_ENGINE } from "../support/postgres.js";
import { loadQuestionnaire } from "../../db/queries/questionnaire.js";
import { gibberishRule } from "../../server/quality/gibberish.js";
import { flagContext, median, responseFlags, studyFlags, type FlagQuestion, type FlagResponse } from "../../server/quality/flags.js";
import { recomputeStudyFlags } from "../../server/quality/flag-service.js";
import { DEFAULT_QUALITY_SETTINGS, readQualitySettings, type QualitySettings } from "../../server/quality/settings.js";
import { goodAnswers, insertQualityResponse, templateStudy } from "../fixtures/quality/responses.js";
import { addUser, csrfFrom, freshApp, freshDb, freshFileDb, loggedInAgent, removeFileDbs } from "../helpers.js";
import { closeDatabase, first, unitOfWork } from "../../db/client.js";
import { runJobsUntilIdle } from "../../server/jobs/runner.js";

// A questionnaire of three scales (ids 1–3), an attention check (4: option 40 correct, 41 wrong),
// a required text (5) and an optional one (6).
const QUESTIONS: FlagQuestion[] = [
  { id: 1, key: "s1", type: "scale", required: true, correctOptionIds: [] },
  { id: 2, key: "s2", type: "scale", required: true, correctOptionIds: [] },
  { id: 3, key: "s3", type: "scale", required: true, correctOptionIds: [] },
  { id: 4, key: "attention", type: "single", required: true, correctOptionIds: [40] },
  { id: 5, key: "unaided", type: "text", required: true, correctOptionIds: [] },
  { id: 6, key: "feedback", type: "text", required: false, correctOptionIds: [] },
];

interface Spec {
  id: number;
  wave?: number;
  duration?: number;
  at?: number;
  browser?: string | null;
  network?: string | null;
  scales?: number[];
  attention?: number | null;
  unaided?: string;
  feedback?: string;
  flags?: FlagResponse["flags"];
}

function response(s: Spec): FlagResponse {
  const scales = s.scales ?? [2, 4, 3];
  return {
    id: s.id,
    waveId: s.wave ?? 1,
    completedAt: s.at ?? 1_000_000 + s.id,
    durationMs: s.duration ?? 120_000,
    browserHash: s.browser === undefined ? `b${s.id}` : s.browser,
    networkHash: s.network === undefined ? `n${s.id}` : s.network,
    flags: s.flags ?? null,
    answers: [
      ...scales.map((v, i) => ({ questionId: i + 1, optionId: null, valueNumber: v, valueText: null })),
      ...(s.attention === null ? [] : [{ questionId: 4, optionId: s.attention ?? 40, valueNumber: null, valueText: null }]),
      { questionId: 5, optionId: null, valueNumber: null, valueText: s.unaided ?? "Старбакс" },
      ...(s.feedback === undefined ? [] : [{ questionId: 6, optionId: null, valueNumber: null, valueText: s.feedback }]),
    ],
  };
}

/** Flags of the last response among 20 ordinary ones of wave 1 (median 120 s). */
function flagsOf(spec: Spec, settings: QualitySettings = DEFAULT_QUALITY_SETTINGS) {
  const crowd = Array.from({ length: 20 }, (_, i) => response({ id: i + 1 }));
  const all = [...crowd, response({ at: 9_000_000, ...spec })];
  return studyFlags(all, QUESTIONS, settings).get(spec.id)!;
}

describe("quality flags on constructed responses", () => {
  it("leaves an ordinary response unflagged", () => {
    expect(flagsOf({ id: 100 })).toEqual([]);
  });

  it("flags speeders under the fraction of the wave's median, and only in waves with enough responses", () => {
    expect(flagsOf({ id: 100, duration: 59_000 })).toEqual([{ code: "speeder", detail: "duration=59000;median=120000" }]);
    expect(flagsOf({ id: 100, duration: 60_000 })).toEqual([]); // exactly half is not under half
    expect(flagsOf({ id: 100, duration: 80_000 }, { ...DEFAULT_QUALITY_SETTINGS, speederFraction: 0.7 })).toEqual([{ code: "speeder", detail: "duration=80000;median=120000" }]);
    expect(flagsOf({ id: 100, duration: 10_000 }, { ...DEFAULT_QUALITY_SETTINGS, speederMinResponses: 50 })).toEqual([]);
    // Another wave has its own median.
    expect(flagsOf({ id: 100, wave: 2, duration: 10_000 })).toEqual([]);
  });

  it("flags straight-lining across at least three scale questions", () => {
    expect(flagsOf({ id: 100, scales: [3, 3, 3] })).toEqual([{ code: "straightlining", detail: "value=3;questions=3" }]);
    expect(flagsOf({ id: 100, scales: [3, 3] })).toEqual([]);
    expect(flagsOf({ id: 100, scales: [3, 3, 4] })).toEqual([]);
    expect(flagsOf({ id: 100, scales: [5, 5] }, { ...DEFAULT_QUALITY_SETTINGS, straightlineMinQuestions: 2 })).toEqual([{ code: "straightlining", detail: "value=5;questions=2" }]);
  });

  it("flags a failed attention check, and a required one left unanswered", () => {
    expect(flagsOf({ id: 100, attention: 41 })).toEqual([{ code: "attention", detail: "question=attention" }]);
    expect(flagsOf({ id: 100, attention: null })).toEqual([{ code: "attention", detail: "question=attention" }]);
  });

  it("keeps the honeypot flag the survey flow set, and drops computed flags that no longer apply", () => {
    expect(flagsOf({ id: 100, flags: [{ code: "honeypot" }, { code: "speeder", detail: "old" }] })).toEqual([{ code: "honeypot" }]);
  });

  it("flags later duplicates by browser or network, within a wave and across waves", () => {
    const all = [
      response({ id: 1, at: 10, browser: "B", network: "N1" }),
      response({ id: 2, at: 20, browser: "B", network: "N2" }), // same browser, same wave
      response({ id: 3, at: 30, browser: "C", network: "N1" }), // same network as 1
      response({ id: 4, at: 40, wave: 2, browser: "B", network: "N9" }), // same browser, another wave
      response({ id: 5, at: 5, browser: "D", network: "N5" }),
      response({ id: 6, at: 1, browser: "D", network: "N6" }), // completed before 5: 5 is the duplicate
    ];
    const flags = studyFlags(all, QUESTIONS, DEFAULT_QUALITY_SETTINGS);
    expect(Object.fromEntries([...flags].map(([id, f]) => [id, f.map((x) => x.detail)]))).toEqual({
      1: [],
      2: ["of=1;by=browser;scope=wave"],
      3: ["of=1;by=network;scope=wave"],
      4: ["of=1;by=browser;scope=study"],
      5: ["of=6;by=browser;scope=wave"],
      6: [],
    });
    const narrow = studyFlags(all, QUESTIONS, { ...DEFAULT_QUALITY_SETTINGS, duplicateAcrossWaves: false, duplicateByNetwork: false });
    expect([...narrow].filter(([, f]) => f.length).map(([id]) => id)).toEqual([2, 5]);
  });

  it("flags gibberish and empty required open answers, not optional ones", () => {
    expect(flagsOf({ id: 100, unaided: "asdfgh" })).toEqual([{ code: "gibberish", detail: "question=unaided;rule=keyboard" }]);
    expect(flagsOf({ id: 100, unaided: "—" })).toEqual([{ code: "empty_text", detail: "question=unaided" }]);
    expect(flagsOf({ id: 100, feedback: "йцукен" })).toEqual([]);
    expect(flagsOf({ id: 100, feedback: "" })).toEqual([]);
  });

  it("lists several flags in a fixed order", () => {
    expect(flagsOf({ id: 100, duration: 1_000, scales: [1, 1, 1], attention: 41, unaided: "ааааа", flags: [{ code: "honeypot" }] }).map((f) => f.code)).toEqual([
      "speeder",
      "straightlining",
      "attention",
      "honeypot",
      "gibberish",
    ]);
  });

  it("computes medians and the study context from plain records", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    const ctx = flagContext([response({ id: 1, duration: 10 }), response({ id: 2, duration: 30 }), response({ id: 3, wave: 2, duration: 7 })], DEFAULT_QUALITY_SETTINGS);
    expect([...ctx.waves]).toEqual([
      [1, { median: 20, count: 2 }],
      [2, { median: 7, count: 1 }],
    ]);
    expect(responseFlags(response({ id: 9 }), QUESTIONS, ctx, DEFAULT_QUALITY_SETTINGS)).toEqual([]);
  });

  it("reads stored settings with defaults for missing or malformed keys", () => {
    expect(readQualitySettings(null)).toEqual(DEFAULT_QUALITY_SETTINGS);
    expect(readQualitySettings({ speederFraction: 0.3, straightlineMinQuestions: "x", other: 1 })).toEqual({ ...DEFAULT_QUALITY_SETTINGS, speederFraction: 0.3 });
    expect(DEFAULT_QUALITY_SETTINGS).toEqual({
      speederFraction: 0.5,
      speederMinResponses: 20,
      straightlineMinQuestions: 3,
      duplicateByNetwork: true,
      duplicateAcrossWaves: true,
      exclusionMarginPp: 10,
    });
  });
});

describe("gibberish heuristic", () => {
  it.each([
    ["ааааа", "repeated"],
    ["xxx", "repeated"],
    ["sdfghk", "no_vowels"],
    ["пргншт", "no_vowels"],
    ["asdf", "keyboard"],
    ["qwerty", "keyboard"],
    ["йцукен", "keyboard"],
    ["фыва", "keyboard"],
    ["ячсмить", "keyboard"],
    ["хахаха", "low_diversity"],
    ["абабабабабабабаб", "low_diversity"],
    ["xkcdfghjq lorem", "consonants"],
  ])("%s → %s", (text, rule) => {
    expect(gibberishRule(text)).toBe(rule);
  });

  it.each(["Старбакс", "МТС", "HSBC", "не знаю", "пролог", "капрон", "Контрстратегия", "ok", "strengths", "Вкусно и точка", "кофе с собой за 3 минуты", "-", ""])(
    "%s reads as words",
    (text) => {
      expect(gibberishRule(text)).toBeUndefined();
    },
  );
});

describe("recomputing the flags of a study", () => {
  async function seed(db: ReturnType<typeof freshDb>) {
    const t = await templateStudy(db);
    const seg = t.segments[0]!.id;
    const ids: Record<string, number> = {};
    for (let i = 0; i < 24; i++) await insertQualityResponse(db, t.study.id, { waveId: t.pre.id, segmentId: seg, durationMs: 100_000 + i * 1000 });
    ids["speeder"] = (await insertQualityResponse(db, t.study.id, { waveId: t.pre.id, segmentId: seg, durationMs: 20_000 })).id;
    ids["honeypot"] = (await insertQualityResponse(db, t.study.id, { waveId: t.pre.id, segmentId: seg, flags: [{ code: "honeypot" }] })).id;
    ids["first"] = (await insertQualityResponse(db, t.study.id, { waveId: t.pre.id, segmentId: seg, browserHash: "same", completedAt: new Date(1_000) })).id;
    ids["again"] = (await insertQualityResponse(db, t.study.id, { waveId: t.post.id, segmentId: seg, browserHash: "same", completedAt: new Date(2_000) })).id;
    ids["straight"] = (await insertQualityResponse(db, t.study.id, { waveId: t.pre.id, segmentId: seg, answers: { ...goodAnswers(), favorability: 5, consideration: 5 } })).id;
    ids["gibberish"] = (await insertQualityResponse(db, t.study.id, { waveId: t.pre.id, segmentId: seg, answers: { ...goodAnswers(), unaided: "фывапр" } })).id;
    ids["partial"] = (await insertQualityResponse(db, t.study.id, { waveId: t.pre.id, segmentId: seg, status: "partial", durationMs: 1 })).id;
    return { ...t, ids };
  }
  const flagsById = async (db: ReturnType<typeof freshDb>) => new Map((await db.select({ id: responses.id, f: responses.qualityFlags }).from(responses)).map((r) => [r.id, r.f]));

  it("stores each response's flags (NULL when clean), in bounded batches, and is idempotent", async () => {
    const db = freshDb();
    const { study, ids } = await seed(db);
    const summary = await recomputeStudyFlags(db, study.id, { batchSize: 7 });
    expect(summary).toMatchObject({ responses: 30, changed: 3, flagged: 4 });
    const flags = await flagsById(db);
    expect(flags.get(ids["speeder"]!)).toEqual([{ code: "speeder", detail: "duration=20000;median=113000" }]);
    expect(flags.get(ids["honeypot"]!)).toEqual([{ code: "honeypot" }]);
    expect(flags.get(ids["first"]!)).toBeNull();
    expect(flags.get(ids["again"]!)).toEqual([{ code: "duplicate", detail: `of=${ids["first"]};by=browser;scope=study` }]);
    expect(flags.get(ids["gibberish"]!)).toEqual([{ code: "gibberish", detail: "question=unaided;rule=keyboard" }]);
    // The template has two scale questions: straight-lining needs three by default.
    expect(flags.get(ids["straight"]!)).toBeNull();
    expect(flags.get(ids["partial"]!)).toBeNull();
    expect([...flags.values()].filter((f) => f !== null && f.length === 0)).toEqual([]);
    expect((await recomputeStudyFlags(db, study.id, { batchSize: 500 })).changed).toBe(0);
  });

  it("recomputes when a researcher changes the thresholds, with both steps in the audit log", async () => {
    const { app, db } = freshApp();
    const { study, ids } = await seed(db);
    await recomputeStudyFlags(db, study.id);
    const researcher = await addUser(db, "researcher");
    const agent = await loggedInAgent(app, researcher.email);
    const page = await agent.get(`/studies/${study.id}/quality?lang=en`).expect(200);
    const res = await agent
      .post(`/studies/${study.id}/quality/settings`)
      .type("form")
      .send({ _csrf: csrfFrom(page.text), speederPercent: "10", speederMinResponses: "20", straightlineMinQuestions: "2", exclusionMarginPp: "10", duplicateByNetwork: "0", duplicateAcrossWaves: ["0", "1"] })
      .expect(303);
    expect(res.headers["location"]).toBe(`/studies/${study.id}/quality?done=saved`);
    // Saved at once, recomputed in the background: the page says both, and reloads itself meanwhile.
    const queued = await agent.get(res.headers["location"]! + "&lang=en").expect(200);
    expect(queued.text).toContain("Thresholds saved; the flags are being recomputed in the background.");
    expect(queued.text).toContain("Recomputing quality flags: waiting to start.");
    expect(queued.text).toContain('<meta http-equiv="refresh" content="3">');
    expect((await flagsById(db)).get(ids["straight"]!)).toBeNull();
    await runJobsUntilIdle(db);
    const flags = await flagsById(db);
    expect(flags.get(ids["speeder"]!)).toBeNull(); // 20 s is not under 10% of 113 s
    expect(flags.get(ids["straight"]!)).toEqual([{ code: "straightlining", detail: "value=5;questions=2" }]);
    const notice = await agent.get(`/studies/${study.id}/quality?lang=en`).expect(200);
    expect(notice.text).toContain("Flags recomputed: 2 responses changed.");
    expect(notice.text).not.toContain('http-equiv="refresh"');
    expect((await agent.get(`/studies/${study.id}/quality?lang=ru`).expect(200)).text).toContain("Отметки пересчитаны: изменились 2 анкеты.");
    const actions = (await db.select({ action: auditLog.action, userId: auditLog.userId }).from(auditLog)).filter((a) => a.action.startsWith("quality."));
    expect(actions).toEqual([
      // The first recompute left the post wave's browser duplicate of a pre response out, as the system.
      { action: "quality.auto_exclude", userId: null },
      { action: "quality.settings", userId: researcher.id },
      { action: "quality.recompute", userId: researcher.id },
    ]);

    // Bad thresholds: 422 with messages in the reader's language, nothing saved.
    const bad = await agent
      .post(`/studies/${study.id}/quality/settings?lang=ru`)
      .type("form")
      .send({ _csrf: csrfFrom(page.text), speederPercent: "сто", speederMinResponses: "0", straightlineMinQuestions: "2", exclusionMarginPp: "10" })
      .expect(422);
    expect(bad.text).toContain("Введите корректное число.");
    expect((await db.select().from(auditLog)).filter((a) => a.action.startsWith("quality."))).toHaveLength(3);
  });

  it("is refused to viewers", async () => {
    const { app, db } = freshApp();
    const { study } = await seed(db);
    const viewer = await addUser(db, "viewer");
    const agent = await loggedInAgent(app, viewer.email);
    const page = await agent.get(`/studies/${study.id}/quality`).expect(200);
    await agent.post(`/studies/${study.id}/quality/recompute`).type("form").send({ _csrf: csrfFrom(page.text) }).expect(403);
    await agent.post(`/studies/${study.id}/quality/settings`).type("form").send({ _csrf: csrfFrom(page.text), speederPercent: "50" }).expect(403);
  });

  it("recomputes the flags of 10,000 responses in one run", async () => {
    const db = freshDb();
    const { study, pre, post, segments } = await templateStudy(db);
    const questions = await loadQuestionnaire(db, study.id);
    const q = (key: string) => questions.find((x) => x.key === key)!;
    const attentionOk = q("attention").options.find((o) => o.attentionCheck)!.id;
    const attentionBad = q("attention").options.find((o) => !o.attentionCheck)!.id;
    const N = 10_000;
    // Inserted in batches: row by row is 20,000 round trips on PostgreSQL.
    const BATCH = 500;
    await unitOfWork(db, async (tx) => {
      for (let from = 0; from < N; from += BATCH) {
        const indices = Array.from({ length: Math.min(BATCH, N - from) }, (_, k) => from + k);
        const ids = await tx
          .insert(responses)
          .values(
            indices.map((i) => ({
              waveId: i % 2 ? post.id : pre.id,
              segmentId: segments[i % 3]!.id,
              nonce: randomBytes(12).toString("base64url"),
              status: "completed" as const,
              locale: "ru" as const,
              startedAt: new Date(0),
              completedAt: new Date(1_000_000 + i),
              durationMs: 60_000 + ((i * 7919) % 120_000),
              browserHash: `b${i % 9_000}`,
              networkHash: `n${i}`,
            })),
          )
          .returning({ id: responses.id });
        await tx.insert(answers).values(
          indices.flatMap((i, k) => {
            const responseId = ids[k]!.id;
            return [
              { responseId, questionId: q("favorability").id, valueNumber: 1 + (i % 5) },
              { responseId, questionId: q("consideration").id, valueNumber: 1 + ((i >> 1) % 5) },
              { responseId, questionId: q("attention").id, optionId: i % 50 ? attentionOk : attentionBad },
              { responseId, questionId: q("unaided").id, valueText: i % 100 ? "Вкусно и точка, Шоколадница" : "asdf" },
            ];
          }),
        );
      }
    });
    // 500 a step (the job's default is smaller, for short locks): the result does not depend on it.
    const summary = await recomputeStudyFlags(db, study.id, { batchSize: 500 });
    expect(summary.responses).toBe(N);
    // 1000 browser duplicates, 200 failed attention checks (the 100 gibberish answers among them).
    expect(summary.flagged).toBe(1_180);
    expect(first(await db.select().from(responses).where(eq(responses.id, 1)))).toBeDefined();
  }, 90_000);

  describe("as a job, in the results worker thread", () => {
    afterAll(async () => {
      await stopResultsWorker();
      removeFileDbs();
    });

    it("plans its batches there and ends as a recompute in process ends", { timeout: 60_000 }, async () => {
      const db = freshFileDb();
      try {
        const { study, ids } = await seed(db);
        const inProcess = await recomputeStudyFlags(db, study.id, { batchSize: 7 });
        const expected = await flagsById(db);
        // Back to the flags as stored (the survey flow's honeypot flag alone).
        await unitOfWork(db, (tx) => tx.update(responses).set({ qualityFlags: null }).where(ne(responses.id, ids["honeypot"]!)));
        await stopResultsWorker();
        const job = await startJob(db, { teamId: study.teamId, studyId: study.id, kind: "flags", createdBy: null });
        await runJobsUntilIdle(db);
        expect(resultsWorkerRunning()).toBe(true);
        expect(inProcess).toEqual({ responses: 30, changed: 3, flagged: 4, autoExcluded: 1 });
        // The cross-wave duplicate stays excluded from the first run: nothing more to exclude.
        expect(first(await db.select().from(jobs).where(eq(jobs.id, job.id)))).toMatchObject({ status: "done", cursor: { ...inProcess, autoExcluded: 0 } });
        expect(await flagsById(db)).toEqual(expected);
      } finally {
        if (TEST_ENGINE !== "postgres") await closeDatabase(db);
      }
    });
  });
});
