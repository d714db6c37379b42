import { describe, expect, it } from "vitest";
import { isPostgres } from "../../db/client.js";
import { countAware, countMetricBases, countMetricBasesWithEveryone, countRespondents } from "../../db/queries/aggregation.js";
import { loadQuestionnaire } from "../../db/queries/questionnaire.js";
import { createWave } from "../../server/services/study-setup.js";
import { metricDefinitions } from "../../server/services/results.js";
import { brandLiftDefinition, openSurvey } from "../fixtures/surveys.js";
import { insertResponseWithAnswers } from "../fixtures/responses.js";
import { freshDb } from "../helpers.js";
import { sqlColumn, sqlRows } from "../support/sql.js";

const textDefinition = () => {
  const def = brandLiftDefinition();
  def.questions.push({
    key: "unaided",
    type: "text",
    required: false,
    randomize: false,
    text: { ru: "Какие бренды вы знаете?" },
    metric: { name: "unaided_awareness", match: ["Акме", "Acme"] },
  });
  return def;
};

describe("aggregation", () => {
  it("counts aware respondents and respondents per metric, segment and wave, as counted by hand", async () => {
    const db = freshDb();
    const survey = await openSurvey(db, textDefinition());
    const post = await createWave(db, survey.study.id, "post", "Post");
    const [subs, active] = survey.segments;
    const id = survey.study.id;
    const pre = survey.wave.id;
    const add = (waveId: number, segmentId: number, answers: Record<string, string | string[] | number>, extra = {}) =>
      insertResponseWithAnswers(db, id, { waveId, segmentId, answers, ...extra });

    // Pre, subscribers: 4 counted (aided aware: 2; fav top-2: 3; unaided: 1), 1 excluded, 1 partial, 1 flagged.
    await add(pre, subs!.id, { aided: ["acme", "rival"], fav: 5, unaided: "Акме и кто-то" });
    await add(pre, subs!.id, { aided: ["acme"], fav: 4, unaided: "не знаю" });
    await add(pre, subs!.id, { aided: ["rival"], fav: 4 });
    await add(pre, subs!.id, { aided: ["none"], fav: 1, unaided: "Acmeville" });
    await add(pre, subs!.id, { aided: ["acme"], fav: 5 }, { excluded: true });
    await add(pre, subs!.id, { aided: ["acme"] }, { status: "partial" });
    await add(pre, subs!.id, { aided: ["acme"], fav: 5 }, { flags: [{ code: "speeder" }] });
    // Post, subscribers: 2 counted, both aided aware; multi with several positives counts once.
    await add(post.id, subs!.id, { aided: ["acme", "rival"], fav: 3 });
    await add(post.id, subs!.id, { aided: ["acme"], fav: 2, unaided: "ACME!" });
    // Pre, active: 1 counted, nothing aware.
    await add(pre, active!.id, { aided: ["none"], fav: 3 });

    const metrics = metricDefinitions(await loadQuestionnaire(db, id));
    expect(metrics.map((m) => m.metric)).toEqual(["aided_awareness", "favorability", "unaided_awareness"]);

    const all = { waveIds: [pre, post.id], includeFlagged: true };
    const n = (await countRespondents(db, all)).sort((a, b) => a.waveId - b.waveId || a.segmentId - b.segmentId);
    expect(n).toEqual([
      { waveId: pre, segmentId: subs!.id, n: 5, excluded: 1, flagged: 1 },
      { waveId: pre, segmentId: active!.id, n: 1, excluded: 0, flagged: 0 },
      { waveId: post.id, segmentId: subs!.id, n: 2, excluded: 0, flagged: 0 },
    ]);
    const x = await countAware(db, metrics, all);
    const get = (metric: string, waveId: number, segmentId: number) =>
      x.find((c) => c.metric === metric && c.waveId === waveId && c.segmentId === segmentId)?.x ?? 0;
    expect(get("aided_awareness", pre, subs!.id)).toBe(3); // two plus the flagged one
    expect(get("favorability", pre, subs!.id)).toBe(4);
    expect(get("unaided_awareness", pre, subs!.id)).toBe(1);
    expect(get("aided_awareness", post.id, subs!.id)).toBe(2);
    expect(get("unaided_awareness", post.id, subs!.id)).toBe(1);
    expect(get("aided_awareness", pre, active!.id)).toBe(0);

    const clean = { waveIds: [pre, post.id], includeFlagged: false };
    expect((await countRespondents(db, clean)).find((r) => r.waveId === pre && r.segmentId === subs!.id)?.n).toBe(4);
    const cleanX = await countAware(db, metrics, clean);
    expect(cleanX.find((c) => c.metric === "aided_awareness" && c.waveId === pre && c.segmentId === subs!.id)?.x).toBe(2);
    expect(cleanX.find((c) => c.metric === "favorability" && c.waveId === pre && c.segmentId === subs!.id)?.x).toBe(3);
  });

  it("uses an index for every metric count", async () => {
    const db = freshDb();
    const survey = await openSurvey(db, textDefinition());
    const metrics = metricDefinitions(await loadQuestionnaire(db, survey.study.id));
    const query =
      "SELECT count(DISTINCT a.response_id) FROM answers a JOIN responses r ON r.id = a.response_id WHERE a.question_id = ? AND a.option_id IN (?) AND r.wave_id IN (?) AND r.status = 'completed' AND r.excluded = FALSE GROUP BY r.wave_id, r.segment_id";
    const params = [metrics[0]!.questionId, metrics[0]!.positive[0], survey.wave.id];
    if (!isPostgres(db)) {
      const plan = await sqlRows<{ detail: string }>(db, `EXPLAIN QUERY PLAN ${query}`, params);
      expect(plan.map((p) => p.detail).join("\n")).toMatch(/answers_question_option_idx/);
      return;
    }
    // PostgreSQL's planner goes by statistics: on empty tables a sequential scan is the cheapest
    // plan, so the plan is only telling on data. A realistic one: ten waves of 1,000 completed
    // responses, each choosing a third of the questionnaire's options; then ANALYZE.
    for (let i = 1; i < 10; i++) await createWave(db, survey.study.id, "post", `Wave ${i}`);
    await sqlRows(
      db,
      `INSERT INTO responses (wave_id, segment_id, nonce, status, locale, started_at, completed_at)
       SELECT w.id, s.id, 'n' || w.id || '-' || g, 'completed', 'ru', 0, 1
       FROM waves w CROSS JOIN generate_series(1, 1000) g JOIN segments s ON s.study_id = w.study_id AND s.key = 'subscribers'
       WHERE w.study_id = ?`,
      [survey.study.id],
    );
    await sqlRows(
      db,
      `INSERT INTO answers (response_id, question_id, option_id)
       SELECT r.id, o.question_id, o.id FROM responses r CROSS JOIN options o JOIN questions q ON q.id = o.question_id
       WHERE q.study_id = ? AND (r.id + o.id) % 3 = 0`,
      [survey.study.id],
    );
    await sqlRows(db, "ANALYZE responses");
    await sqlRows(db, "ANALYZE answers");
    const [explained] = await sqlColumn<string | object>(db, `EXPLAIN (FORMAT JSON) ${query}`, params);
    const plan = (typeof explained === "string" ? JSON.parse(explained) : explained) as Array<{ Plan: PlanNode }>;
    const nodes: PlanNode[] = [];
    const walk = (node: PlanNode) => {
      nodes.push(node);
      node.Plans?.forEach(walk);
    };
    walk(plan[0]!.Plan);
    const summary = nodes.map((n) => `${n["Node Type"]} ${n["Relation Name"] ?? ""} ${n["Index Name"] ?? ""}`).join("\n");
    expect(nodes.filter((n) => n["Node Type"] === "Seq Scan" && ["answers", "responses"].includes(n["Relation Name"] ?? "")), summary).toEqual([]);
    expect(nodes.some((n) => n["Index Name"] === "answers_question_option_idx"), summary).toBe(true);
  });
});

interface PlanNode {
  "Node Type": string;
  "Relation Name"?: string;
  "Index Name"?: string;
  Plans?: PlanNode[];
}

describe("metric bases", () => {
  it("counts n as who answered, and who was left out of each metric, per wave and segment", async () => {
    const db = freshDb();
    const survey = await openSurvey(db, textDefinition());
    const post = await createWave(db, survey.study.id, "post", "Post");
    const [subs, active] = survey.segments;
    const id = survey.study.id;
    const pre = survey.wave.id;
    const add = (waveId: number, segmentId: number, answers: Record<string, string | string[] | number>, extra = {}) =>
      insertResponseWithAnswers(db, id, { waveId, segmentId, answers, ...extra });

    // The same respondents as above.
    await add(pre, subs!.id, { aided: ["acme", "rival"], fav: 5, unaided: "Акме и кто-то" });
    await add(pre, subs!.id, { aided: ["acme"], fav: 4, unaided: "не знаю" });
    await add(pre, subs!.id, { aided: ["rival"], fav: 4 });
    await add(pre, subs!.id, { aided: ["none"], fav: 1, unaided: "Acmeville" });
    await add(pre, subs!.id, { aided: ["acme"], fav: 5 }, { excluded: true });
    await add(pre, subs!.id, { aided: ["acme"] }, { status: "partial" });
    await add(pre, subs!.id, { aided: ["acme"], fav: 5 }, { flags: [{ code: "speeder" }] });
    await add(post.id, subs!.id, { aided: ["acme", "rival"], fav: 3 });
    await add(post.id, subs!.id, { aided: ["acme"], fav: 2, unaided: "ACME!" });
    await add(pre, active!.id, { aided: ["none"], fav: 3 });
    // A blank text answer is not an answer; a screened-out visitor is nobody's respondent.
    await add(post.id, subs!.id, { aided: ["rival"], fav: 4, unaided: "   " });
    await add(post.id, subs!.id, {}, { status: "screened_out" });

    const metrics = metricDefinitions(await loadQuestionnaire(db, id));
    const bases = await countMetricBases(db, metrics, { waveIds: [pre, post.id], includeFlagged: true });
    const cell = (metric: string, waveId: number, segmentId: number) => {
      const found = bases.find((b) => b.metric === metric && b.waveId === waveId && b.segmentId === segmentId);
      if (!found) throw new Error(`no cell ${metric} ${waveId} ${segmentId}`);
      const { x, n, skipped, partial, excluded, decoy, flagged } = found;
      return { x, n, skipped, partial, excluded, decoy, flagged };
    };
    expect(bases).toHaveLength(3 * 3);
    expect(cell("aided_awareness", pre, subs!.id)).toEqual({ x: 3, n: 5, skipped: 0, partial: 1, excluded: 1, decoy: 0, flagged: 0 });
    expect(cell("favorability", pre, subs!.id)).toEqual({ x: 4, n: 5, skipped: 0, partial: 1, excluded: 1, decoy: 0, flagged: 0 });
    // The optional unaided question: two completed respondents skipped it; they are not "unaware".
    expect(cell("unaided_awareness", pre, subs!.id)).toEqual({ x: 1, n: 3, skipped: 2, partial: 1, excluded: 1, decoy: 0, flagged: 0 });
    expect(cell("unaided_awareness", post.id, subs!.id)).toEqual({ x: 1, n: 1, skipped: 2, partial: 0, excluded: 0, decoy: 0, flagged: 0 });
    expect(cell("aided_awareness", post.id, subs!.id)).toEqual({ x: 2, n: 3, skipped: 0, partial: 0, excluded: 0, decoy: 0, flagged: 0 });
    expect(cell("unaided_awareness", pre, active!.id)).toEqual({ x: 0, n: 0, skipped: 1, partial: 0, excluded: 0, decoy: 0, flagged: 0 });

    // Flagged responses off: the flagged one leaves n and is counted as flagged, not as skipped.
    const clean = await countMetricBases(db, metrics, { waveIds: [pre, post.id], includeFlagged: false });
    const c = (metric: string) => clean.find((b) => b.metric === metric && b.waveId === pre && b.segmentId === subs!.id)!;
    expect(c("aided_awareness")).toMatchObject({ x: 2, n: 4, skipped: 0, partial: 1, excluded: 1, flagged: 1 });
    expect(c("unaided_awareness")).toMatchObject({ x: 1, n: 3, skipped: 1, partial: 1, excluded: 1, flagged: 1 });

    // Everyone (the sensitivity view): the excluded one is back in n, under the same base rule.
    const everyone = await countMetricBases(db, metrics, { waveIds: [pre, post.id], includeFlagged: true, includeExcluded: true });
    const e = (metric: string) => everyone.find((b) => b.metric === metric && b.waveId === pre && b.segmentId === subs!.id)!;
    expect(e("aided_awareness")).toMatchObject({ x: 4, n: 6, skipped: 0, partial: 1, excluded: 0, flagged: 0 });
    expect(e("unaided_awareness")).toMatchObject({ x: 1, n: 3, skipped: 3, partial: 1, excluded: 0 });

    // Both sides in one reading (the results' snapshot) count exactly what the two calls count.
    for (const includeFlagged of [true, false]) {
      const both = await countMetricBasesWithEveryone(db, metrics, { waveIds: [pre, post.id], includeFlagged });
      expect(both.bases).toEqual(includeFlagged ? bases : clean);
      expect(both.everyone).toEqual(everyone);
    }
  });

  it("leaves respondents who pick a decoy out of the metric's base, aware or not", async () => {
    const db = freshDb();
    const def = brandLiftDefinition();
    const aided = def.questions.find((q) => q.key === "aided")!;
    aided.options!.splice(3, 0, { key: "fake", text: { ru: "Выдуманный", en: "Made up" }, exclusive: false, pinned: false, attentionCheck: false });
    aided.metric = { name: "aided_awareness", positive: ["acme"], exclude: ["fake"] };
    const survey = await openSurvey(db, def);
    const [subs] = survey.segments;
    const add = (aidedKeys: string[]) =>
      insertResponseWithAnswers(db, survey.study.id, { waveId: survey.wave.id, segmentId: subs!.id, answers: { aided: aidedKeys, fav: 3, recall: "no" } });
    await add(["acme"]);
    await add(["acme", "rival"]);
    await add(["rival"]);
    await add(["acme", "fake"]); // aware, but also "knows" the made-up brand
    await add(["fake"]);
    await add(["none"]);

    const metrics = metricDefinitions(await loadQuestionnaire(db, survey.study.id));
    const aidedMetric = metrics.find((m) => m.metric === "aided_awareness")!;
    expect(aidedMetric.exclude).toHaveLength(1);
    const bases = await countMetricBases(db, metrics, { waveIds: [survey.wave.id], includeFlagged: true });
    expect(bases.find((b) => b.metric === "aided_awareness")).toMatchObject({ x: 2, n: 4, skipped: 0, decoy: 2 });
    // Other metrics keep the decoy choosers.
    expect(bases.find((b) => b.metric === "favorability")).toMatchObject({ x: 0, n: 6, decoy: 0 });
    const both = await countMetricBasesWithEveryone(db, metrics, { waveIds: [survey.wave.id], includeFlagged: false });
    expect(both.bases).toEqual(await countMetricBases(db, metrics, { waveIds: [survey.wave.id], includeFlagged: false }));
    expect(both.everyone).toEqual(await countMetricBases(db, metrics, { waveIds: [survey.wave.id], includeFlagged: true, includeExcluded: true }));
  });
});
