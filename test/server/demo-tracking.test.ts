import { beforeAll, describe, expect, it } from "vitest";
import type { Db } from "../../db/client.js";
import { listWaves } from "../../db/queries/fieldwork.js";
import { listKpis } from "../../db/queries/kpis.js";
import { listWaveNotes } from "../../db/queries/wave-notes.js";
import { findStudy } from "../../db/queries/studies.js";
import { runDemo } from "../../server/demo/main.js";
import { DEFAULT_SEED, DEMO_METRICS, DEMO_SEGMENTS, type DemoResponse } from "../../server/demo/generate.js";
import {
  createTrackingDemoStudy,
  generateTrackingData,
  trackingPeriods,
  TRACKING_KPIS,
  TRACKING_WAVES,
  type TrackingDemoStudy,
} from "../../server/demo/tracking.js";
import { monthLabel } from "../../server/domain/periods.js";
import { translator } from "../../server/i18n/index.js";
import { computeResults, resultsQuery, type StudyResults } from "../../server/services/results.js";
import { freshDb } from "../helpers.js";

/**
 * The demo tracking study: a baseline and three monthly waves whose KPIs come out met, not met and
 * not yet at the default seed, with the KPI estimates equal to shares counted here from the
 * generator's own records.
 */

const SLOW = 180_000;
const NOW = new Date(Date.UTC(2026, 11, 1, 12));

/** Aware of the brand in the aided list / of an advantage, counted from the records (completed, not excluded). */
function share(responses: readonly DemoResponse[], segment: string, metric: "aided_awareness" | "advantage_awareness"): number {
  const counted = responses.filter((r) => r.segment === segment && r.status === "completed" && !r.excluded);
  if (metric === "aided_awareness") return counted.filter((r) => r.answers.aided.includes("brand")).length / counted.length;
  // The advantages question's base leaves out those who ticked the decoy.
  const base = counted.filter((r) => !(r.answers.advantages ?? []).includes("decoy"));
  return base.filter((r) => (r.answers.advantages ?? []).some((k) => k.startsWith("advantage_"))).length / base.length;
}

describe("the tracking demo's data", () => {
  it("is the same for the same seed and differs for another", () => {
    expect(JSON.stringify(generateTrackingData(DEFAULT_SEED, "en"))).toBe(JSON.stringify(generateTrackingData(DEFAULT_SEED, "en")));
    expect(JSON.stringify(generateTrackingData(DEFAULT_SEED + 1, "en"))).not.toBe(JSON.stringify(generateTrackingData(DEFAULT_SEED, "en")));
  });

  it("has four waves of 300–600 completes per segment, subscribers' awareness rising month after month", () => {
    const data = generateTrackingData(DEFAULT_SEED, "ru");
    expect(data).toHaveLength(TRACKING_WAVES);
    for (const wave of data) {
      for (const segment of DEMO_SEGMENTS) {
        const completes = wave.filter((r) => r.segment === segment && r.status === "completed").length;
        expect(completes).toBeGreaterThan(300);
        expect(completes).toBeLessThan(600);
      }
    }
    const subscribers = data.map((wave) => share(wave, "subscribers", "aided_awareness"));
    for (let i = 1; i < subscribers.length; i++) expect(subscribers[i]).toBeGreaterThan(subscribers[i - 1]!);
  });

  it("fields a week at the end of each of the four months before now, labelled by month", () => {
    const periods = trackingPeriods(NOW);
    expect(periods.map((p) => new Date(p.end).toISOString().slice(0, 10))).toEqual(["2026-08-28", "2026-09-28", "2026-10-28", "2026-11-28"]);
    for (const p of periods) expect(p.start).toBeLessThan(p.end);
    // January: the months before it are in the previous year.
    expect(new Date(trackingPeriods(new Date(Date.UTC(2027, 0, 15)))[0]!.start).toISOString().slice(0, 10)).toBe("2026-09-22");
    expect(monthLabel(new Date(periods[3]!.end), "en", "UTC")).toBe("November 2026");
    expect(monthLabel(new Date(periods[3]!.end), "ru", "UTC")).toBe("Ноябрь 2026");
  });
});

describe("the tracking demo study", () => {
  let db: Db;
  let demo: TrackingDemoStudy;
  let results: StudyResults;
  const data = generateTrackingData(DEFAULT_SEED, "en");

  beforeAll(async () => {
    db = freshDb();
    demo = await createTrackingDemoStudy(db, { seed: DEFAULT_SEED, locale: "en", actorId: null, now: NOW });
    const study = (await findStudy(db, demo.studyId))!;
    const computed = await computeResults(db, study, resultsQuery.parse({ weighted: "0" }), "en", translator("en"));
    if (typeof computed === "string") throw new Error(computed);
    results = computed;
  }, SLOW);

  it("has a baseline and three monthly waves, closed in order, and the KPIs agreed up front", async () => {
    const waves = await listWaves(db, demo.studyId);
    expect(waves.map((w) => [w.kind, w.label, w.status])).toEqual([
      ["pre", "Baseline, August 2026", "closed"],
      ["tracking", "September 2026", "closed"],
      ["tracking", "October 2026", "closed"],
      ["tracking", "November 2026", "closed"],
    ]);
    for (let i = 1; i < waves.length; i++) expect(waves[i]!.openedAt!.getTime()).toBeGreaterThan(waves[i - 1]!.closedAt!.getTime());
    expect(demo.responses).toBe(data.flat().length);
    const kpis = await listKpis(db, demo.studyId);
    expect(kpis.map((k) => [k.metric, k.segmentKey])).toEqual(TRACKING_KPIS.map((k) => [k.metric, k.segment]));
  });

  it("records the work of each month, whose spend gives each period a cost per lifted user or says why not", async () => {
    const notes = await listWaveNotes(db, demo.studyId);
    expect(new Set(notes.map((n) => n.waveLabel))).toEqual(new Set(demo.labels.slice(1)));
    expect(notes.filter((n) => n.kind === "spend").every((n) => n.amount! > 0 && n.currency === "USD")).toBe(true);
    const periods = results.costs.filter((c) => c.spend !== null);
    expect(new Set(periods.map((c) => c.waveId))).toEqual(new Set(demo.waveIds.slice(1)));
    for (const c of periods) expect(c.costPerLiftedUser === null ? c.note : c.costPerLiftedUser.amount).toBeTruthy();
  });

  it("meets one KPI, misses one and cannot decide the third, at the default seed", () => {
    expect(results.kpis.map((k) => [k.metric, k.segment, k.wave, k.status])).toEqual(
      TRACKING_KPIS.map((k) => [k.metric, k.segment, demo.labels[k.by], k.expected]),
    );
    const notYet = results.kpis.find((k) => k.status === "not_yet")!;
    expect(notYet.respondentsNeeded!).toBeGreaterThan(notYet.respondents!);
  });

  it("estimates each KPI from the shares counted here in the generator's records", () => {
    for (const [i, kpi] of TRACKING_KPIS.entries()) {
      const at = share(data[kpi.by]!, kpi.segment, kpi.metric);
      const expected = "lift" in kpi ? at - share(data[0]!, kpi.segment, kpi.metric) : at;
      expect(results.kpis[i]!.estimate).toBeCloseTo(expected, 12);
    }
  });

  it("shows a trend for every metric and segment over the four waves", () => {
    expect(results.trends).not.toBeNull();
    const series = results.trends!.series;
    expect(series.length).toBe(DEMO_METRICS.length * DEMO_SEGMENTS.length);
    for (const s of series) expect(s.points.map((p) => p.wave)).toEqual(results.trends!.waves);
    expect(results.trends!.waves).toHaveLength(TRACKING_WAVES);
  });
});

describe("npm run demo -- --tracking", () => {
  it("creates the tracking study and prints its KPI statuses in the chosen language", async () => {
    const db = freshDb();
    const out: string[] = [];
    const err: string[] = [];
    const code = await runDemo(["--tracking", "--locale", "ru"], db, { baseUrl: "http://localhost:3999", defaultLocale: "en" }, { out: (l) => out.push(l), err: (l) => err.push(l) });
    expect([code, err]).toEqual([0, []]);
    const text = out.join("\n");
    expect(text).toContain("Демо: ежемесячный трекинг Zerno");
    expect(text).toMatch(/Подсказанное знание, Подписчики: достигнут; .+: не достигнут; Подсказанное знание, .+: пока не ясно\./);
    expect(text).toContain("http://localhost:3999/studies/1/results");
    expect((await listWaves(db, 1)).map((w) => w.label)[0]).toMatch(/^Базовая волна, /);
  }, SLOW);
});
