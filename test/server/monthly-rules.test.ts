import { describe, expect, it } from "vitest";
import type { Wave } from "../../db/schema.js";
import type { TrendChange, Trends, Verdict } from "../../stats/index.js";
import type { AudienceAnswer, AudienceGrowth } from "../../server/services/audience-growth.js";
import { audienceAnswer, awarenessAnswer, monthOf, themeShifts, THEME_SHIFT } from "../../server/services/monthly.js";

/** The yes / no / not yet rules of the monthly report (server/services/monthly.ts) at their boundaries. */

const wave = (id: number, position: number): Wave => ({ id, studyId: 1, kind: "post", label: `W${id}`, position, status: "closed", openedAt: null, closedAt: null, createdAt: new Date(0) });
const WAVES = [wave(10, 0), wave(11, 1), wave(12, 2)];

describe("which waves have a monthly report", () => {
  it("every wave after the first of a study with three or more; the baseline and strangers not", () => {
    expect(monthOf(WAVES, 11)).toBe(WAVES[1]);
    expect(monthOf(WAVES, 10)).toBe("baseline");
    expect(monthOf(WAVES, 99)).toBe("not_in_study");
    expect(monthOf(WAVES.slice(0, 2), 11)).toBe("not_tracking");
  });
});

function growth(segmentId: number, change: number): AudienceGrowth {
  const start = { day: "2027-01-01", count: 1000 };
  return { segmentId, source: "waves", measure: null, start, end: { day: "2027-02-01", count: 1000 + change }, change, percent: change / 1000, before: null, points: [], chartFrom: start.day, chartTo: "2027-02-01" };
}
const answerOf = (items: AudienceGrowth[]): AudienceAnswer => ({ segmentIds: [1, 2], period: { from: "2027-01-01", to: "2027-02-01", days: 31 }, waves: [], growth: items, single: [] });

describe("has the audience grown?", () => {
  it("yes when one grew and none shrank; no when one shrank or none changed; not yet without two counts", () => {
    expect(audienceAnswer(answerOf([growth(1, 1), growth(2, 0)]), answerOf([])).answer).toBe("yes");
    expect(audienceAnswer(answerOf([growth(1, 50), growth(2, -1)]), answerOf([])).answer).toBe("no");
    expect(audienceAnswer(answerOf([growth(1, 0), growth(2, 0)]), answerOf([])).answer).toBe("no");
    expect(audienceAnswer(answerOf([]), answerOf([growth(1, 5)])).answer).toBe("not_yet");
    expect(audienceAnswer(answerOf([growth(1, 50), growth(2, -1)]), answerOf([]))).toMatchObject({ grew: [1], shrank: [2] });
  });
});

function change(verdict: Verdict): TrendChange {
  const estimate = verdict === "rise" ? 0.1 : verdict === "fall" ? -0.1 : 0;
  return { from: "11", to: "12", change: { estimate, lower: estimate - 0.05, upper: estimate + 0.05 }, pValue: 0.5, adjustedPValue: 0.5, verdict, verdictInterval: { lower: estimate - 0.05, upper: estimate + 0.05 }, verdictLevel: 0.99 };
}
/** `verdict` for both changes of the month, or `previous` / `baseline` each. */
function trendsOf(cells: Array<{ metric: string; segment: string; role?: "exposed" | "control"; verdict?: Verdict | null; previous?: Verdict | null; baseline?: Verdict | null }>): Trends {
  return {
    waves: ["10", "11", "12"],
    baseline: "10",
    confidenceLevel: 0.95,
    alpha: 0.05,
    adjustment: "holm",
    families: [],
    series: cells.map((c) => ({
      metric: c.metric,
      segment: c.segment,
      role: c.role ?? "exposed",
      weighted: false,
      interval: "newcombe",
      family: `${c.metric}:segments`,
      familySize: 9,
      points: [{ wave: "12", share: null, vsPrevious: orNull(c.previous === undefined ? c.verdict : c.previous), vsBaseline: orNull(c.baseline === undefined ? c.verdict : c.baseline) }],
    })),
  };
}

const orNull = (v: Verdict | null | undefined) => (v ? change(v) : null);

describe("is awareness growing?", () => {
  const metrics = ["aided_awareness", "favorability"];
  const rule = (cells: Parameters<typeof trendsOf>[0]) => awarenessAnswer(trendsOf(cells), WAVES[2]!, metrics, []).answer;
  it("yes when an exposed awareness series rose against the previous wave and none fell", () => {
    expect(rule([{ metric: "aided_awareness", segment: "a", verdict: "rise" }, { metric: "aided_awareness", segment: "b", verdict: "not_enough_data" }])).toBe("yes");
  });
  it("yes when one rose since the baseline though no month-on-month change is detectable", () => {
    expect(rule([{ metric: "aided_awareness", segment: "a", previous: "no_change", baseline: "rise" }, { metric: "aided_awareness", segment: "b", verdict: "no_change" }])).toBe("yes");
  });
  it("no when one fell over the month though it stands above the baseline, or fell since the baseline", () => {
    expect(rule([{ metric: "aided_awareness", segment: "a", previous: "fall", baseline: "rise" }])).toBe("no");
    expect(rule([{ metric: "aided_awareness", segment: "a", previous: "rise", baseline: "fall" }])).toBe("no");
  });
  it("no when one fell, even with another rising; no when every one shows no change", () => {
    expect(rule([{ metric: "aided_awareness", segment: "a", verdict: "rise" }, { metric: "aided_awareness", segment: "b", verdict: "fall" }])).toBe("no");
    expect(rule([{ metric: "aided_awareness", segment: "a", verdict: "no_change" }, { metric: "aided_awareness", segment: "b", verdict: "no_change" }])).toBe("no");
  });
  it("not yet when nothing moved and some series have too few respondents or no data", () => {
    expect(rule([{ metric: "aided_awareness", segment: "a", previous: "no_change", baseline: "not_enough_data" }])).toBe("not_yet");
    expect(rule([{ metric: "aided_awareness", segment: "a", verdict: "no_change" }, { metric: "aided_awareness", segment: "b", verdict: "not_enough_data" }])).toBe("not_yet");
    expect(rule([{ metric: "aided_awareness", segment: "a", verdict: "no_change" }, { metric: "aided_awareness", segment: "b", verdict: null }])).toBe("not_yet");
  });
  it("reads neither control segments nor metrics other than awareness", () => {
    expect(rule([{ metric: "favorability", segment: "a", verdict: "fall" }, { metric: "aided_awareness", segment: "c", role: "control", verdict: "fall" }, { metric: "aided_awareness", segment: "a", verdict: "rise" }])).toBe("yes");
    expect(awarenessAnswer(trendsOf([{ metric: "favorability", segment: "a", verdict: "rise" }]), WAVES[2]!, ["favorability"], []).answer).toBe("not_yet");
  });
});

describe("themes that rose or fell", () => {
  const theme = (key: string, count: number, answers: number) => ({ key, label: key, count, share: count / answers, examples: [`${key}!`] });
  const group = (waveId: number, answers: number, themes: ReturnType<typeof theme>[]) => ({ questionId: 1, waveId, segmentId: 7, summary: { answers, themes } });
  it("count a move of exactly THEME_SHIFT, not less", () => {
    const shifts = themeShifts([group(11, 100, [theme("a", 20, 100), theme("b", 30, 100)]), group(12, 100, [theme("a", 25, 100), theme("b", 26, 100)])], [1], WAVES[1]!, WAVES[2]!);
    expect(THEME_SHIFT).toBe(0.05);
    expect(shifts.map((s) => [s.key, s.direction])).toEqual([["a", "rose"]]);
  });
  it("count a theme missing from a wave at its bound (minCount − 1 answers), so a small group calls nothing", () => {
    // 30 answers: a missing theme may have had 2 (6.7 %); 3 now (10 %) is only 3.3 pp more.
    expect(themeShifts([group(11, 30, []), group(12, 30, [theme("a", 3, 30)])], [1], WAVES[1]!, WAVES[2]!)).toEqual([]);
    const rose = themeShifts([group(11, 30, []), group(12, 30, [theme("a", 6, 30)])], [1], WAVES[1]!, WAVES[2]!);
    expect(rose).toMatchObject([{ key: "a", direction: "rose", previous: { answers: 30, count: null, share: null }, month: { count: 6 } }]);
    expect(rose[0]!.change).toBeCloseTo(6 / 30 - 2 / 30, 12);
    const fell = themeShifts([group(11, 40, [theme("b", 10, 40)]), group(12, 40, [])], [1], WAVES[1]!, WAVES[2]!);
    expect(fell).toMatchObject([{ key: "b", direction: "fell", examples: ["b!"] }]);
  });
  it("compare nothing when either wave has no answers in the segment", () => {
    expect(themeShifts([group(12, 30, [theme("a", 20, 30)])], [1], WAVES[1]!, WAVES[2]!)).toEqual([]);
  });
});
