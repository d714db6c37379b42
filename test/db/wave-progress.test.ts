import { describe, expect, it, vi } from "vitest";
import { isPostgres } from "../../db/client.js";
import { waveProgress } from "../../db/queries/fieldwork.js";
import { brandLiftDefinition, openSurvey } from "../fixtures/surveys.js";
import { insertResponseWithAnswers } from "../fixtures/responses.js";
import { freshDb } from "../helpers.js";
import { sqlRows } from "../support/sql.js";

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor((s.length - 1) / 2);
  return s.length % 2 ? s[m]! : (s[m]! + s[m + 1]!) / 2;
};

describe("a wave's progress per segment", () => {
  it("counts and takes the median duration of completed, not excluded, responses as computed by hand", async () => {
    const db = freshDb();
    const survey = await openSurvey(db, brandLiftDefinition());
    const [odd, even, empty] = survey.segments;
    const w = survey.wave.id;
    const put = (segmentId: number, durationMs: number, more: { status?: "partial"; excluded?: boolean } = {}) =>
      insertResponseWithAnswers(db, survey.study.id, { waveId: w, segmentId, answers: {}, durationMs, ...more });
    // Odd count (the middle one), even count (the mean of the two middle ones); partials and
    // excluded responses, whatever their durations, are counted apart and left out of the median.
    const oddDurations = [90_000, 30_000, 300_000, 45_000, 61_000];
    const evenDurations = [20_000, 80_000, 50_000, 41_000];
    for (const d of oddDurations) await put(odd!.id, d);
    for (const d of evenDurations) await put(even!.id, d);
    await put(odd!.id, 1, { excluded: true });
    await put(odd!.id, 2, { status: "partial" });
    await put(even!.id, 10_000_000, { excluded: true });

    const progress = await waveProgress(db, w);
    const of = (segmentId: number) => progress.find((p) => p.segmentId === segmentId);
    expect(of(odd!.id)).toMatchObject({ completed: 5, partial: 1, excluded: 1, medianDurationMs: median(oddDurations) });
    expect(of(odd!.id)!.medianDurationMs).toBe(61_000);
    expect(of(even!.id)).toMatchObject({ completed: 4, partial: 0, excluded: 1, medianDurationMs: median(evenDurations) });
    expect(of(even!.id)!.medianDurationMs).toBe(45_500);
    expect(of(even!.id)!.lastCompletedAt).toBeInstanceOf(Date);
    expect(of(empty!.id)).toBeUndefined();
  });

  it("reads the counts and the medians from one covering index, with no sort (SQLite)", async () => {
    const db = freshDb();
    if (isPostgres(db)) return;
    const survey = await openSurvey(db, brandLiftDefinition());
    await insertResponseWithAnswers(db, survey.study.id, { waveId: survey.wave.id, segmentId: survey.segments[0]!.id, answers: {}, durationMs: 1000 });
    // The statements as the query builder writes them, caught as they are prepared.
    const prepare = vi.spyOn(db.$client, "prepare");
    await waveProgress(db, survey.wave.id);
    const statements = prepare.mock.calls.map((c) => String(c[0])).filter((s) => /from "responses"/.test(s));
    prepare.mockRestore();
    expect(statements).toHaveLength(2);
    for (const statement of statements) {
      const params = Array.from(statement.matchAll(/\?/g), () => 1);
      const plan = (await sqlRows<{ detail: string }>(db, `EXPLAIN QUERY PLAN ${statement}`, params)).map((p) => p.detail).join("\n");
      expect(plan).toMatch(/USING COVERING INDEX responses_wave_segment_duration_idx/);
      expect(plan).not.toMatch(/TEMP B-TREE/);
    }
  });
});
