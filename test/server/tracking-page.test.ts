import request from "supertest";
import { describe, expect, it } from "vitest";
import { listWaves } from "../../db/queries/fieldwork.js";
import { insertKpis } from "../../db/queries/kpis.js";
import { insertShareLink } from "../../db/queries/share-links.js";
import { listSegments } from "../../db/queries/studies.js";
import { createDemoStudy } from "../../server/demo/create.js";
import { translator } from "../../server/i18n/index.js";
import { numberFormats } from "../../server/presenters/results.js";
import { IMPRACTICAL_FACTOR } from "../../server/presenters/tracking.js";
import type { KpiResult } from "../../server/services/tracking.js";
import type { Trends } from "../../stats/index.js";
import { seedStudy, type Json } from "../fixtures/tracking.js";
import { addUser, freshApp, loggedInAgent } from "../helpers.js";
import { readerText } from "../support/page-text.js";
import { expectSameTrends } from "../support/trend-page.js";

/**
 * The trends and KPI statuses on the results page, the share-link report and the planner: every
 * number shown is the results JSON's (one truth per number), verdicts worded as the lift table
 * words them, KPI statuses in words in both languages, no keys shown.
 */

const SLOW = 120_000;
const LOCALES = ["en", "ru"] as const;

describe("trends on the results page and the share-link report", () => {
  it("show the JSON's numbers in every row, chart and verdict over a grid of studies and settings", { timeout: SLOW }, async () => {
    const { app, db } = freshApp();
    for (const seed of [3, 7]) {
      const { studyId } = await seedStudy(app, db, seed);
      const agent = await loggedInAgent(app, `r${seed}@example.test`);
      const user = (await addUser(db, "viewer", `v${seed}@example.test`)).id;
      const share = await insertShareLink(db, { studyId, token: `tracking-share-token-${seed}-abcdef`, createdBy: user, expiresAt: null, showVerbatims: false });
      for (const setting of [{ confidence: "0.95", adjustment: "holm" }, { confidence: "0.9", adjustment: "bh" }]) {
        for (const locale of LOCALES) {
          const query = new URLSearchParams({ ...setting, lang: locale }).toString();
          const json = (await agent.get(`/studies/${studyId}/results.json?${query}`).expect(200)).body as Json;
          const trends = json["trends"] as Trends;
          expect(trends.waves).toHaveLength(4);
          const page = (await agent.get(`/studies/${studyId}/results?${query}`).expect(200)).text;
          expectSameTrends(page, json["trends"] as Trends, locale, `page ${seed} ${query}`);
          const shared = (await request(app).get(`/r/${share.token}?${query}`).expect(200)).text;
          expectSameTrends(shared, json["trends"] as Trends, locale, `share ${seed} ${query}`);
          // The KPI table of the share link is the page's, and has a row per KPI of the JSON.
          expect(shownKpis(shared).rows).toEqual(shownKpis(page).rows);
          expect(shownKpis(page).rows).toHaveLength((json["kpis"] as unknown[]).length);
          // The family's size, as a sentence.
          const family = trends.families.find((fam) => fam.kind === "segments")!;
          expect(family.size).toBe(15);
          expect(readerText(page)).toContain(locale === "en" ? `Verdicts account for ${family.size} comparisons per metric` : `Выводы учитывают ${family.size} сравнений на метрику`);
        }
      }
    }
  });

  it("is left out with two waves and no KPIs, and shown with two waves and a KPI", { timeout: SLOW }, async () => {
    const { app, db } = freshApp();
    const plain = await seedStudy(app, db, 5, { kpis: [], labels: ["Baseline", "Month 1"] });
    const agent = await loggedInAgent(app, "r5@example.test");
    const page = (await agent.get(`/studies/${plain.studyId}/results?lang=en`).expect(200)).text;
    expect(page).not.toContain('id="trends"');
    expect(page).not.toContain('id="kpis"');

    const tracked = await seedStudy(app, db, 6, { kpis: [{ metric: "aided_awareness", segment: "subscribers", lift: 0.05, by: "Month 1" }], labels: ["Baseline", "Month 1"] });
    const other = await loggedInAgent(app, "r6@example.test");
    const json = (await other.get(`/studies/${tracked.studyId}/results.json?lang=en`).expect(200)).body as Json;
    const shown = (await other.get(`/studies/${tracked.studyId}/results?lang=en`).expect(200)).text;
    expect(shown).toContain('id="kpis"');
    expectSameTrends(shown, json["trends"] as Trends, "en", "two waves with a KPI");
  });
});

/** The KPI table's rows as a reader sees them. */
function shownKpis(html: string) {
  const section = /<section class="kpis"[\s\S]*?<\/section>/.exec(html)?.[0] ?? "";
  return {
    text: readerText(section),
    rows: [...section.matchAll(/<tr class="kpi-[a-z_]+">([\s\S]*?)<\/tr>/g)].map((m) => [...m[1]!.matchAll(/<t[hd][^>]*>([\s\S]*?)<\/t[hd]>/g)].map((c) => readerText(c[1]!))),
  };
}

describe("KPI statuses on the results page", () => {
  it("says each status in words, in English and Russian, with labels and no keys", { timeout: SLOW }, async () => {
    const { app, db } = freshApp();
    const { studyId } = await seedStudy(app, db, 7);
    const agent = await loggedInAgent(app, "r7@example.test");
    const expected = {
      en: {
        target: ["lift +5.0 pp against the baseline by “Month 3”", "level 90.0% by “Month 2”", "lift +5.0 pp against the baseline by “Month 1”", "level 50.0% by “Month 9”"],
        status: ["met", "not met", /^not yet — the estimate is too close to the target for a realistic wave to decide it \(it would take about [\d,]+ respondents in the segment; now [\d,]+\)$/, /^the wave has not run yet — were the share to stay at the baseline’s, a wave of [\d,]+ respondents in the segment would decide it$/],
      },
      ru: {
        target: ["прирост +5,0 п. п. к исходной волне не позже волны «Month 3»", "уровень 90,0 % не позже волны «Month 2»", "прирост +5,0 п. п. к исходной волне не позже волны «Month 1»", "уровень 50,0 % не позже волны «Month 9»"],
        status: ["достигнут", "не достигнут", /^пока не ясно — оценка слишком близка к цели, чтобы это решила реальная волна \(понадобилось бы около [\d\s]+ респондентов в сегменте; сейчас [\d\s]+\)$/, /^волна ещё не проводилась — если доля останется как в исходной волне, решит волна объёмом [\d ]+ в сегменте$/],
      },
    };
    for (const locale of LOCALES) {
      const json = (await agent.get(`/studies/${studyId}/results.json?lang=${locale}`).expect(200)).body as Json;
      const kpis = json["kpis"] as KpiResult[];
      const html = (await agent.get(`/studies/${studyId}/results?lang=${locale}`).expect(200)).text;
      const shown = shownKpis(html);
      expect(shown.rows).toHaveLength(4);
      const e = expected[locale];
      const metricLabel = new Map((json["metrics"] as Array<{ key: string; label: string }>).map((m) => [m.key, m.label]));
      const segmentLabel = new Map((json["segments"] as Array<{ key: string; label: string }>).map((s) => [s.key, s.label]));
      shown.rows.forEach((row, i) => {
        const [metric, segment, target, , status] = row;
        expect(metric).toBe(readerText(metricLabel.get(kpis[i]!.metric)!));
        expect(segment).toBe(readerText(segmentLabel.get(kpis[i]!.segment)!));
        expect(target).toBe(readerText(e.target[i]!));
        const want = e.status[i]!;
        if (typeof want === "string") expect(status).toBe(want);
        else expect(status).toMatch(want);
      });
      // not yet: the JSON's needed and the wave's respondents; over ten times the wave, out of reach rather than planned.
      const notYet = kpis[2]!;
      expect(notYet.status).toBe("not_yet");
      expect(notYet.respondentsNeeded!).toBeGreaterThan(IMPRACTICAL_FACTOR * notYet.respondents!);
      const [needed, now] = [notYet.respondentsNeeded!, notYet.respondents!].map((n) => readerText(numberFormats(locale).integer(n)));
      expect(shown.rows[2]![4]).toContain(locale === "en" ? `(it would take about ${needed} respondents in the segment; now ${now})` : `(понадобилось бы около ${needed} респондентов в сегменте; сейчас ${now})`);
      // Segment labels, never the segment or metric keys or the status codes.
      for (const key of ["aided_awareness", "favorability", "active_unsubscribed", "subscribers", "not_yet", "not_met", "wave_missing", "no_data"]) {
        expect(shown.text, key).not.toContain(key);
      }
      const trendsText = readerText(/<section class="trends"[\s\S]*?<\/section>/.exec(html)![0]);
      for (const key of ["aided_awareness", "active_unsubscribed", "no_change", "not_enough_data"]) expect(trendsText, key).not.toContain(key);
    }
  });
});

describe("the planner proposes the wave size that decides each KPI not decided yet", () => {
  it("lists the not-yet KPI with the JSON's respondents needed, in both languages", { timeout: SLOW }, async () => {
    const { app, db } = freshApp();
    const { studyId } = await seedStudy(app, db, 7);
    const agent = await loggedInAgent(app, "r7@example.test");
    const kpis = (await agent.get(`/studies/${studyId}/results.json`).expect(200)).body["kpis"] as KpiResult[];
    const notYet = kpis.filter((k) => k.status === "not_yet");
    expect(notYet).toHaveLength(1);
    for (const locale of LOCALES) {
      const html = (await agent.get(`/studies/${studyId}/planner?lang=${locale}`).expect(200)).text;
      const section = /<section aria-labelledby="kpi-sizes-heading"[\s\S]*?<\/section>/.exec(html)![0];
      // The not-yet KPI, then the one whose wave has not run yet, planned from the baseline's share.
      const planned = kpis.filter((k) => k.status === "wave_missing");
      expect(planned.map((k) => k.plannedRespondents)).toEqual([expect.any(Number)]);
      expect([...section.matchAll(/<data class="kpi-size" value="(\d+)">/g)].map((m) => Number(m[1]))).toEqual(kpis.flatMap((k) => (k.status === "not_yet" ? [k.respondentsNeeded] : k.status === "wave_missing" ? [k.plannedRespondents] : [])));
      expect(readerText(section)).toContain(translator(locale)("tracking.planner.planned"));
      expect(readerText(section)).toContain(translator(locale)("tracking.planner.heading"));
      expect(readerText(section)).not.toContain("aided_awareness");
      expect(readerText(section)).not.toContain("inactive ");
    }
  });

  it("has no KPI section for a study without KPIs, and says when every KPI is decided", { timeout: SLOW }, async () => {
    const { app, db } = freshApp();
    const plain = await seedStudy(app, db, 5, { kpis: [], labels: ["Baseline", "Month 1"] });
    const agent = await loggedInAgent(app, "r5@example.test");
    expect((await agent.get(`/studies/${plain.studyId}/planner?lang=en`).expect(200)).text).not.toContain("kpi-sizes");
    const decided = await seedStudy(app, db, 8, { kpis: [{ metric: "aided_awareness", segment: "subscribers", lift: 0.05, by: "Month 3" }] });
    const other = await loggedInAgent(app, "r8@example.test");
    const kpis = (await other.get(`/studies/${decided.studyId}/results.json`).expect(200)).body["kpis"] as KpiResult[];
    expect(kpis[0]!.status).toBe("met");
    expect(readerText((await other.get(`/studies/${decided.studyId}/planner?lang=en`).expect(200)).text)).toContain(translator("en")("tracking.planner.none"));
  });
});

describe("weighted trends on the page", () => {
  it("say they are weighted and show the JSON's weighted numbers", { timeout: SLOW }, async () => {
    const { app, db } = freshApp();
    const admin = await addUser(db, "admin");
    const { studyId } = await createDemoStudy(db, { seed: 7, locale: "ru", actorId: null, now: new Date() });
    // A KPI makes a two-wave study show its trends; the demo has margins for every segment.
    const segment = (await listSegments(db, studyId)).find((s) => s.role === "exposed")!;
    const waves = await listWaves(db, studyId);
    await insertKpis(db, studyId, [{ position: 0, metric: "aided_awareness", segmentId: segment.id, kind: "lift", target: 0.05, byWave: waves[1]!.label }]);
    const agent = await loggedInAgent(app, admin.email);
    for (const locale of LOCALES) {
      const json = (await agent.get(`/studies/${studyId}/results.json?lang=${locale}`).expect(200)).body as Json;
      const trends = json["trends"] as Trends;
      expect(trends.series.every((s) => s.weighted && s.interval === "wald")).toBe(true);
      const page = (await agent.get(`/studies/${studyId}/results?lang=${locale}`).expect(200)).text;
      expectSameTrends(page, json["trends"] as Trends, locale, `weighted ${locale}`);
      expect(readerText(page)).toContain(readerText(translator(locale)("tracking.trends.weighted")));
      const plainJson = (await agent.get(`/studies/${studyId}/results.json?lang=${locale}&weighted=0`).expect(200)).body as Json;
      const plainPage = (await agent.get(`/studies/${studyId}/results?lang=${locale}&weighted=0`).expect(200)).text;
      expectSameTrends(plainPage, plainJson["trends"] as Trends, locale, `unweighted ${locale}`);
      expect(readerText(plainPage)).not.toContain(readerText(translator(locale)("tracking.trends.weighted")));
    }
  });
});
