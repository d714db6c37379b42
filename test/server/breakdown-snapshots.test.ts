import { and, eq, inArray } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { unitOfWork, type Db, type Executor } from "../../db/client.js";
import { listChoices, listMetricOutcomes } from "../../db/queries/aggregation.js";
import { loadQuestionnaire } from "../../db/queries/questionnaire.js";
import { findStudy } from "../../db/queries/studies.js";
import { answers, responses, waves, type Locale, type Study } from "../../db/schema.js";
import { createDemoStudy } from "../../server/demo/create.js";
import { localize } from "../../server/domain/questionnaire.js";
import { segmentName } from "../../server/domain/segments.js";
import { translator, type Translate } from "../../server/i18n/index.js";
import { changeExclusion } from "../../server/quality/ledger-service.js";
import { loadBreakdown, loadStudyResults } from "../../server/results-snapshots/load.js";
import { resultsDataVersion } from "../../server/results-snapshots/version.js";
import { configureResultsSnapshots, refreshesSettled } from "../../server/results-snapshots/refresh.js";
import { markResultsStale } from "../../server/results-snapshots/version.js";
import { NO_ANSWER_LEVEL, type Breakdown } from "../../server/services/breakdown.js";
import { ADJUSTMENTS, metricDefinitions, resultsQuery, type StudyResults } from "../../server/services/results.js";
import { liftTable, type ConfidenceLevel, type LiftTableCount } from "../../stats/index.js";
import { addUser, freshApp, freshDb, loggedInAgent } from "../helpers.js";

/**
 * Issue 16: the breakdown page reads counts precomputed per data version (snapshot variant
 * "breakdown") instead of reading every response on each view. Its numbers must be the ones the
 * page computed on the request before; that computation is kept here as the reference.
 */

/** The breakdown as the page computed it on every request before the snapshots (the reference). */
async function breakdownOnRequest(db: Executor, results: StudyResults, variableKey: string | undefined, locale: Locale, t: Translate): Promise<Breakdown | null> {
  const variables = results.questions.filter((q) => q.profile === true && q.type === "single");
  const variable = variables.find((q) => q.key === variableKey) ?? variables[0];
  if (!variable) return null;
  const filter = { waveIds: [results.pre.id, results.post.id], includeFlagged: results.options.flagged };
  const levelOf = new Map<number, string | undefined>();
  const optionKey = new Map(variable.options.map((o) => [o.id, o.key]));
  for (const c of await listChoices(db, [variable.id], filter)) levelOf.set(c.responseId, optionKey.get(c.optionId));
  const exposed = results.segments.filter((s) => s.role === "exposed");
  const levels = [...variable.options.map((o) => o.key), NO_ANSWER_LEVEL];
  const cells = new Map<string, { segment: string; level: string }>();
  for (const s of exposed) {
    for (const level of levels) {
      const option = variable.options.find((o) => o.key === level);
      cells.set(`${s.key}|${level}`, {
        segment: segmentName(s, locale, results.study.defaultLocale, t),
        level: option ? localize(option.text, locale, results.study.defaultLocale) || level : t("breakdown.noAnswer"),
      });
    }
  }
  const counts: LiftTableCount[] = [];
  const metrics = metricDefinitions(results.questions);
  for (const m of metrics) {
    const tally = new Map<string, { x: number; n: number }>();
    for (const o of await listMetricOutcomes(db, m, filter)) {
      const segment = exposed.find((s) => s.id === o.segmentId);
      if (!segment) continue;
      const key = `${segment.key}|${levelOf.get(o.responseId) ?? NO_ANSWER_LEVEL}\u0000${o.waveId}`;
      const cell = tally.get(key) ?? { x: 0, n: 0 };
      cell.x += o.y;
      cell.n += 1;
      tally.set(key, cell);
    }
    for (const [key, c] of tally) {
      const [cell, wave] = key.split("\u0000") as [string, string];
      counts.push({ metric: m.metric, segment: cell, wave, x: c.x, n: c.n });
    }
  }
  const present = new Set(counts.map((c) => c.segment));
  const table = liftTable({
    metrics: metrics.map((m) => ({ key: m.metric, label: results.metricLabels[m.metric]! })),
    segments: [...cells].filter(([key]) => present.has(key)).map(([key, c]) => ({ key, label: `${c.segment}: ${c.level}`, role: "exposed" as const })),
    counts,
    waves: { pre: String(results.pre.id), post: String(results.post.id) },
    confidenceLevel: results.options.confidence as ConfidenceLevel,
    adjustment: results.options.adjustment,
  });
  return { variable, variables, table: { ...table, rows: table.rows.filter((r) => r.kind === "segment") }, cells };
}

async function results(db: Db, study: Study, query: Record<string, string>, locale: Locale): Promise<StudyResults> {
  const loaded = await loadStudyResults(db, study, await resultsDataVersion(db, study.id), resultsQuery.parse(query), locale, translator(locale));
  if (loaded === "computing" || loaded === "no_waves") throw new Error(`results: ${loaded}`);
  return loaded;
}

/** A demo study (two waves, exposed and control segments, flagged and excluded responses), with more exclusions and profile answers taken away. */
async function demoStudy(db: Db, seed: number, locale: Locale): Promise<Study> {
  const id = (await createDemoStudy(db, { seed, locale, actorId: null, now: new Date() })).studyId;
  const study = (await findStudy(db, id))!;
  const waveIds = (await db.select({ id: waves.id }).from(waves).where(eq(waves.studyId, id))).map((w) => w.id);
  const ids = (await db.select({ id: responses.id }).from(responses).where(and(inArray(responses.waveId, waveIds), eq(responses.status, "completed"), eq(responses.excluded, false))).orderBy(responses.id)).map((r) => r.id);
  const questions = await loadQuestionnaire(db, id);
  const gender = questions.find((q) => q.key === "gender")!;
  const age = questions.find((q) => q.key === "age_group")!;
  // Every 7th respondent without a gender, every 11th without an age group: "no answer" cells.
  await unitOfWork(db, async (tx) => {
    await tx.delete(answers).where(and(eq(answers.questionId, gender.id), inArray(answers.responseId, ids.filter((_, i) => i % 7 === 3))));
    await tx.delete(answers).where(and(eq(answers.questionId, age.id), inArray(answers.responseId, ids.filter((_, i) => i % 11 === 5))));
    await markResultsStale(tx, id);
  });
  const admin = await addUser(db, "admin", `admin${seed}@example.test`);
  await changeExclusion(db, study, admin.id, { excluded: true, ids: ids.filter((_, i) => i % 13 === 1), reason: "test" });
  return study;
}

describe("the breakdown from its snapshot", () => {
  it("equals the breakdown computed on the request, over a grid of studies, variables, filters, levels and adjustments", { timeout: 240_000 }, async () => {
    const db = freshDb();
    const studies = [
      { study: await demoStudy(db, 7, "ru"), locale: "ru" as const },
      { study: await demoStudy(db, 3, "en"), locale: "en" as const },
    ];
    const grid = {
      by: [undefined, "gender", "age_group", "no_such_question"],
      flagged: ["1", "0"],
      levels: [
        { confidence: "0.95", adjustment: "holm" },
        { confidence: "0.9", adjustment: "bh" },
        { confidence: "0.99", adjustment: "bonferroni" },
      ],
    };
    expect(grid.levels.map((l) => l.adjustment).sort()).toEqual([...ADJUSTMENTS].sort());
    let compared = 0;
    const verdicts = new Set<string>();
    for (const { study, locale } of studies) {
      const t = translator(locale);
      for (const flagged of grid.flagged) {
        for (const level of grid.levels) {
          const r = await results(db, study, { flagged, ...level }, locale);
          for (const by of grid.by) {
            const expected = await breakdownOnRequest(db, r, by, locale, t);
            const loaded = await loadBreakdown(db, r, await resultsDataVersion(db, r.study.id), by, locale, t);
            if (loaded === null || loaded === "computing") throw new Error(`breakdown: ${loaded}`);
            expect(loaded.freshness.current).toBe(true);
            expect(loaded.breakdown, `study ${study.id}, by ${by}, flagged ${flagged}, ${level.confidence} ${level.adjustment}`).toEqual(expected);
            if (by === "gender") expect(expected!.table.rows.some((row) => row.segment.endsWith(`|${NO_ANSWER_LEVEL}`))).toBe(true);
            for (const row of expected!.table.rows) verdicts.add(row.verdict);
            compared++;
          }
        }
      }
    }
    expect(compared).toBe(2 * 2 * 3 * 4);
    // The grid reaches rows of several verdicts (small cells among them), not one kind only.
    expect(verdicts.size).toBeGreaterThan(2);
  });
});

describe("the breakdown of a large study", () => {
  it("is prepared in the background: 'being prepared' first, then the counts said current, the last ones marked as updating after a change", { timeout: 120_000 }, async () => {
    const { app, db } = freshApp();
    const study = await demoStudy(db, 5, "en");
    configureResultsSnapshots(db, { syncLimit: 0 });
    await addUser(db, "viewer");
    const agent = await loggedInAgent(app, "viewer@example.test");
    const url = `/studies/${study.id}/breakdown?by=gender`;
    /** The rows of the page's tables, without the freshness line. */
    const tables = (html: string) => [...html.matchAll(/<tbody>[\s\S]*?<\/tbody>/g)].map((m) => m[0]);
    const freshness = (html: string) => /<p class="freshness[^"]*" id="freshness" role="status" data-current="(true|false)">([^<]*)<\/p>/.exec(html);

    // Nothing computed yet: the results first, then the breakdown's counts (held until both languages are seen), each said to be in preparation.
    const none = await agent.get(`${url}&lang=en`).expect(200);
    expect(none.headers["refresh"]).toBe("5");
    await refreshesSettled(db);
    let prepared!: () => void;
    const preparation = new Promise<void>((resolve) => (prepared = resolve));
    configureResultsSnapshots(db, { beforeRefresh: () => preparation });
    const preparing = await agent.get(`${url}&lang=en`).expect(200);
    expect(preparing.headers["refresh"]).toBe("5");
    expect(preparing.text).toContain("The breakdown is being prepared");
    expect(tables(preparing.text)).toEqual([]);
    const ru = await agent.get(`${url}&lang=ru`).expect(200);
    expect(ru.text).toContain("Разбивка готовится");
    prepared();
    await refreshesSettled(db);

    const ready = await agent.get(`${url}&lang=en`).expect(200);
    expect(ready.headers["refresh"]).toBeUndefined();
    expect(freshness(ready.text)?.[1]).toBe("true");
    expect(freshness(ready.text)?.[2]).toMatch(/^Computed .+ from [\d,]+ responses\.$/);
    const before = tables(ready.text);
    expect(before.length).toBeGreaterThan(0);
    const readyRu = await agent.get(`${url}&lang=ru`).expect(200);
    expect(freshness(readyRu.text)?.[2]).toMatch(/^Рассчитано .+ по [\d\s\u00a0]+ ответ/);
    const t = translator("en");
    const r = await results(db, study, {}, "en");
    const loaded = await loadBreakdown(db, r, await resultsDataVersion(db, r.study.id), "gender", "en", t);
    expect(loaded !== null && loaded !== "computing" && loaded.breakdown).toEqual(await breakdownOnRequest(db, r, "gender", "en", t));

    // A change: until the recomputation ends, the page shows the last counts, marked as updating.
    let resume!: () => void;
    const held = new Promise<void>((resolve) => (resume = resolve));
    configureResultsSnapshots(db, { beforeRefresh: () => held });
    const admin = await addUser(db, "researcher");
    const some = (await db.select({ id: responses.id }).from(responses).where(and(inArray(responses.waveId, [r.post.id]), eq(responses.status, "completed"), eq(responses.excluded, false))).limit(300)).map((x) => x.id);
    await changeExclusion(db, study, admin.id, { excluded: true, ids: some, reason: "test" });
    const stale = await agent.get(`${url}&lang=en`).expect(200);
    expect(freshness(stale.text)?.[1]).toBe("false");
    expect(freshness(stale.text)?.[2]).toContain("The data has changed since");
    expect(tables(stale.text)).toEqual(before);

    resume();
    await refreshesSettled(db);
    const fresh = await agent.get(`${url}&lang=en`).expect(200);
    expect(freshness(fresh.text)?.[1]).toBe("true");
    expect(tables(fresh.text)).not.toEqual(before);
    const after = await results(db, study, {}, "en");
    const reloaded = await loadBreakdown(db, after, await resultsDataVersion(db, after.study.id), "gender", "en", t);
    expect(reloaded !== null && reloaded !== "computing" && reloaded.breakdown).toEqual(await breakdownOnRequest(db, after, "gender", "en", t));
  });
});
