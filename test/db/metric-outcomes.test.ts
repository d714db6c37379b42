import { describe, expect, it } from "vitest";
import { countMetricBases, listMetricOutcomes, type CountFilter } from "../../db/queries/aggregation.js";
import { loadQuestionnaire } from "../../db/queries/questionnaire.js";
import { createWave } from "../../server/services/study-setup.js";
import { metricDefinitions } from "../../server/services/results.js";
import { brandLiftDefinition, openSurvey } from "../fixtures/surveys.js";
import { insertResponseWithAnswers } from "../fixtures/responses.js";
import { freshDb } from "../helpers.js";

/** A small deterministic generator, so a failure names a seed that reproduces it. */
function generator(seed: number) {
  let s = seed >>> 0;
  const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  return { next, pick: <T,>(items: readonly T[]) => items[Math.floor(next() * items.length)]! };
}

describe("respondent-level metric outcomes (for weighting)", () => {
  it.each([1, 2, 3, 4, 5])("agree with the counted bases cell by cell, under every filter (seed %i)", async (seed) => {
    const db = freshDb();
    const def = brandLiftDefinition();
    const aided = def.questions.find((q) => q.key === "aided")!;
    aided.options!.splice(3, 0, { key: "fake", text: { ru: "Выдуманный", en: "Made up" }, exclusive: false, pinned: false, attentionCheck: false });
    aided.metric = { name: "aided_awareness", positive: ["acme"], exclude: ["fake"] };
    def.questions.push({ key: "unaided", type: "text", required: false, randomize: false, text: { ru: "Какие бренды вы знаете?" }, metric: { name: "unaided_awareness", match: ["Акме", "Acme"] } });
    const survey = await openSurvey(db, def);
    const post = await createWave(db, survey.study.id, "post", "Post");
    const random = generator(seed);
    const choices = [["acme"], ["rival"], ["acme", "rival"], ["fake"], ["acme", "fake"], ["none"]];
    for (let i = 0; i < 120; i++) {
      const answers: Record<string, string | string[] | number> = {};
      if (random.next() < 0.9) answers["aided"] = random.pick(choices);
      if (random.next() < 0.85) answers["fav"] = 1 + Math.floor(random.next() * 5);
      if (random.next() < 0.7) answers["unaided"] = random.pick(["Acme", "акме!", "не знаю", "  ", "Rival"]);
      await insertResponseWithAnswers(db, survey.study.id, {
        waveId: random.next() < 0.5 ? survey.wave.id : post.id,
        segmentId: random.pick(survey.segments).id,
        answers,
        ...(random.next() < 0.1 ? { status: "partial" as const } : {}),
        ...(random.next() < 0.1 ? { excluded: true } : {}),
        ...(random.next() < 0.15 ? { flags: [{ code: "speeder" }] } : {}),
      });
    }
    const metrics = metricDefinitions(await loadQuestionnaire(db, survey.study.id));
    const filters: CountFilter[] = [
      { waveIds: [survey.wave.id, post.id], includeFlagged: true },
      { waveIds: [survey.wave.id, post.id], includeFlagged: false },
      { waveIds: [survey.wave.id, post.id], includeFlagged: true, includeExcluded: true },
    ];
    for (const filter of filters) {
      const bases = await countMetricBases(db, metrics, filter);
      for (const m of metrics) {
        const outcomes = await listMetricOutcomes(db, m, filter);
        expect(new Set(outcomes.map((o) => o.responseId)).size, m.metric).toBe(outcomes.length);
        for (const b of bases.filter((x) => x.metric === m.metric)) {
          const cell = outcomes.filter((o) => o.waveId === b.waveId && o.segmentId === b.segmentId);
          expect([cell.reduce((s, o) => s + o.y, 0), cell.length], `${m.metric} wave ${b.waveId} segment ${b.segmentId}`).toEqual([b.x, b.n]);
        }
      }
    }
  });
});
