import { describe, expect, it } from "vitest";
import { countAware, countRespondents } from "../../db/queries/aggregation.js";
import { loadQuestionnaire } from "../../db/queries/questionnaire.js";
import { createWave } from "../../server/services/study-setup.js";
import { metricDefinitions } from "../../server/services/results.js";
import { brandLiftDefinition, openSurvey } from "../fixtures/surveys.js";
import { insertResponseWithAnswers } from "../fixtures/responses.js";
import { freshDb } from "../helpers.js";

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
  it("counts aware respondents and respondents per metric, segment and wave, as counted by hand", () => {
    const db = freshDb();
    const survey = openSurvey(db, textDefinition());
    const post = createWave(db, survey.study.id, "post", "Post");
    const [subs, active] = survey.segments;
    const id = survey.study.id;
    const pre = survey.wave.id;
    const add = (waveId: number, segmentId: number, answers: Record<string, string | string[] | number>, extra = {}) =>
      insertResponseWithAnswers(db, id, { waveId, segmentId, answers, ...extra });

    // Pre, subscribers: 4 counted (aided aware: 2; fav top-2: 3; unaided: 1), 1 excluded, 1 partial, 1 flagged.
    add(pre, subs!.id, { aided: ["acme", "rival"], fav: 5, unaided: "Акме и кто-то" });
    add(pre, subs!.id, { aided: ["acme"], fav: 4, unaided: "не знаю" });
    add(pre, subs!.id, { aided: ["rival"], fav: 4 });
    add(pre, subs!.id, { aided: ["none"], fav: 1, unaided: "Acmeville" });
    add(pre, subs!.id, { aided: ["acme"], fav: 5 }, { excluded: true });
    add(pre, subs!.id, { aided: ["acme"] }, { status: "partial" });
    add(pre, subs!.id, { aided: ["acme"], fav: 5 }, { flags: [{ code: "speeder" }] });
    // Post, subscribers: 2 counted, both aided aware; multi with several positives counts once.
    add(post.id, subs!.id, { aided: ["acme", "rival"], fav: 3 });
    add(post.id, subs!.id, { aided: ["acme"], fav: 2, unaided: "ACME!" });
    // Pre, active: 1 counted, nothing aware.
    add(pre, active!.id, { aided: ["none"], fav: 3 });

    const metrics = metricDefinitions(loadQuestionnaire(db, id));
    expect(metrics.map((m) => m.metric)).toEqual(["aided_awareness", "favorability", "unaided_awareness"]);

    const all = { waveIds: [pre, post.id], includeFlagged: true };
    const n = countRespondents(db, all).sort((a, b) => a.waveId - b.waveId || a.segmentId - b.segmentId);
    expect(n).toEqual([
      { waveId: pre, segmentId: subs!.id, n: 5, excluded: 1, flagged: 1 },
      { waveId: pre, segmentId: active!.id, n: 1, excluded: 0, flagged: 0 },
      { waveId: post.id, segmentId: subs!.id, n: 2, excluded: 0, flagged: 0 },
    ]);
    const x = countAware(db, metrics, all);
    const get = (metric: string, waveId: number, segmentId: number) =>
      x.find((c) => c.metric === metric && c.waveId === waveId && c.segmentId === segmentId)?.x ?? 0;
    expect(get("aided_awareness", pre, subs!.id)).toBe(3); // two plus the flagged one
    expect(get("favorability", pre, subs!.id)).toBe(4);
    expect(get("unaided_awareness", pre, subs!.id)).toBe(1);
    expect(get("aided_awareness", post.id, subs!.id)).toBe(2);
    expect(get("unaided_awareness", post.id, subs!.id)).toBe(1);
    expect(get("aided_awareness", pre, active!.id)).toBe(0);

    const clean = { waveIds: [pre, post.id], includeFlagged: false };
    expect(countRespondents(db, clean).find((r) => r.waveId === pre && r.segmentId === subs!.id)?.n).toBe(4);
    const cleanX = countAware(db, metrics, clean);
    expect(cleanX.find((c) => c.metric === "aided_awareness" && c.waveId === pre && c.segmentId === subs!.id)?.x).toBe(2);
    expect(cleanX.find((c) => c.metric === "favorability" && c.waveId === pre && c.segmentId === subs!.id)?.x).toBe(3);
  });

  it("uses an index for every metric count", () => {
    const db = freshDb();
    const survey = openSurvey(db, textDefinition());
    const metrics = metricDefinitions(loadQuestionnaire(db, survey.study.id));
    const plan = db.$client
      .prepare(
        "EXPLAIN QUERY PLAN SELECT count(DISTINCT a.response_id) FROM answers a JOIN responses r ON r.id = a.response_id WHERE a.question_id = ? AND a.option_id IN (?) AND r.wave_id IN (?) AND r.status = 'completed' AND r.excluded = 0 GROUP BY r.wave_id, r.segment_id",
      )
      .all(metrics[0]!.questionId, metrics[0]!.positive[0], survey.wave.id) as Array<{ detail: string }>;
    expect(plan.map((p) => p.detail).join("\n")).toMatch(/answers_question_option_idx/);
  });
});
