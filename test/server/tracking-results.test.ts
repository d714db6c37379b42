import { describe, expect, it } from "vitest";
import type { LiftRow, TrendSeries } from "../../stats/index.js";
import { seedStudy, type Json } from "../fixtures/tracking.js";
import { freshApp } from "../helpers.js";

describe("trends and KPIs in the results JSON", () => {
  it("has the shapes the issue states: trends per metric × segment and kpis with statuses", async () => {
    const { app, db } = freshApp();
    const { waves, get } = await seedStudy(app, db, 7);
    const json = await get();
    const trends = json["trends"] as Json;
    expect(trends["waves"]).toEqual(waves.map((w) => String(w.id)));
    expect(trends["baseline"]).toBe(String(waves[0]!.id));
    // 2 metrics × 3 segments; 3 exposed segments × (2 × 4 - 3) comparisons per family.
    expect(trends["series"]).toHaveLength(6);
    expect(trends["families"].map((f: Json) => [f.key, f.size, f.comparisons])).toEqual([
      ["aided_awareness:segments", 15, 5],
      ["favorability:segments", 15, 5],
    ]);
    for (const series of trends["series"] as TrendSeries[]) {
      expect(series).toMatchObject({ familySize: 15, weighted: false, interval: "newcombe" });
      expect(series.points.map((p) => p.wave)).toEqual(trends["waves"]);
      const [baseline, ...later] = series.points;
      expect(baseline).toMatchObject({ vsBaseline: null, vsPrevious: null, share: { x: expect.any(Number), n: expect.any(Number), p: expect.any(Number), lower: expect.any(Number), upper: expect.any(Number) } });
      later.forEach((point, i) => {
        for (const change of [point.vsBaseline!, point.vsPrevious!]) {
          expect(Object.keys(change).sort()).toEqual(["adjustedPValue", "change", "from", "pValue", "to", "verdict", "verdictInterval", "verdictLevel"]);
          expect(["rise", "fall", "no_change", "not_enough_data"]).toContain(change.verdict);
        }
        expect(point.vsBaseline!.from).toBe(String(waves[0]!.id));
        expect(point.vsPrevious!.from).toBe(String(waves[i]!.id));
      });
    }
    expect(json["kpis"].map((k: Json) => [k.metric, k.segment, k.kind, k.target, k.wave, k.status])).toEqual([
      ["aided_awareness", "subscribers", "lift", 0.05, "Month 3", "met"],
      ["aided_awareness", "active_unsubscribed", "level", 0.9, "Month 2", "not_met"],
      ["aided_awareness", "inactive", "lift", 0.05, "Month 1", "not_yet"],
      ["favorability", "subscribers", "level", 0.5, "Month 9", "wave_missing"],
    ]);
    const notYet = json["kpis"][2] as Json;
    expect(notYet["respondentsNeeded"]).toBeGreaterThan(30);
    expect(notYet["waveId"]).toBe(waves[1]!.id);
    expect(notYet["interval"].lower).toBeLessThan(0.05);
    expect(notYet["interval"].upper).toBeGreaterThanOrEqual(0.05);
    expect(json["kpis"][3]).toMatchObject({ waveId: null, interval: null, respondentsNeeded: null });
  });

  it("a trend's change for two waves is the lift the results show for that pair: one truth per number", async () => {
    const { app, db } = freshApp();
    for (const seed of [3, 11]) {
      const { waves, get } = await seedStudy(app, db, seed);
      const trends = (await get())["trends"] as { series: TrendSeries[] };
      const pairs: Array<[number, number, "vsBaseline" | "vsPrevious"]> = [
        [0, 1, "vsBaseline"],
        [0, 2, "vsBaseline"],
        [0, 3, "vsBaseline"],
        [1, 2, "vsPrevious"],
        [2, 3, "vsPrevious"],
      ];
      for (const [from, to, which] of pairs) {
        const json = await get(`?pre=${waves[from]!.id}&post=${waves[to]!.id}`);
        // The same trends whichever pair the results compare.
        expect(json["trends"]["series"]).toEqual(trends.series);
        const rows = (json["table"]["rows"] as LiftRow[]).filter((r) => r.kind === "segment");
        expect(rows).toHaveLength(6);
        for (const row of rows) {
          const series = trends.series.find((s) => s.metric === row.metric && s.segment === row.segment)!;
          const point = series.points[to]!;
          const change = point[which]!;
          expect([change.from, change.to]).toEqual([String(waves[from]!.id), String(waves[to]!.id)]);
          expect(change.change).toEqual(row.absoluteLift);
          expect(change.pValue).toBe(row.pValue);
          expect(point.share).toEqual(row.post);
          expect(series.points[from]!.share).toEqual(row.pre);
          // The trend's family is larger (15 against the table's 3), so its verdict is never laxer.
          if (change.verdict === "rise" || change.verdict === "fall") expect(row.verdict).toBe(change.verdict);
        }
      }
    }
  });
});
