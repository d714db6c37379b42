import { describe, expect, it } from "vitest";
import { countMetricBases } from "../../db/queries/aggregation.js";
import { countCompetitorChoices, sumBrandLeads } from "../../db/queries/competitors.js";
import { studies } from "../../db/schema.js";
import { translator } from "../../server/i18n/index.js";
import { recodeStudy } from "../../server/quality/coding-service.js";
import { metricDefinitions, computeResults, resultsQuery, type StudyResults } from "../../server/services/results.js";
import { createWave } from "../../server/services/study-setup.js";
import { brandLiftDefinition, openSurvey } from "../fixtures/surveys.js";
import { insertResponseWithAnswers } from "../fixtures/responses.js";
import { addUser, freshApp, loggedInAgent } from "../helpers.js";
import { first, unitOfWork } from "../../db/client.js";

/**
 * Competitors as a check (issue 11, item 7), on real migrated SQLite. The aided list of the
 * fixture has the brand (acme), two competitors (rival, third), "other" and "none of these",
 * which name no brand. Respondent i of a wave of n knows acme when i < brand, rival when
 * i < rival (the same people first: answers are correlated, as in real lists) and third when
 * i >= n - third.
 */
interface Wave {
  n: number;
  brand: number;
  rival: number;
  third: number;
}

function choices(w: Wave, i: number): string[] {
  const keys = [i < w.brand && "acme", i < w.rival && "rival", i >= w.n - w.third && "third"].filter((k): k is string => !!k);
  return keys.length ? keys : ["none"];
}

/** Mean and sample variance of d_i = b_i - C_i/2 over a wave, straight from the respondents. */
function leadMoments(w: Wave): { mean: number; variance: number } {
  const d = Array.from({ length: w.n }, (_, i) => {
    const c = choices(w, i);
    return (c.includes("acme") ? 1 : 0) - ((c.includes("rival") ? 1 : 0) + (c.includes("third") ? 1 : 0)) / 2;
  });
  const mean = d.reduce((a, b) => a + b, 0) / d.length;
  return { mean, variance: d.reduce((a, b) => a + (b - mean) ** 2, 0) / (d.length - 1) };
}

async function seedStudy(pre: Wave, post: Wave, extra?: (db: ReturnType<typeof freshApp>["db"], survey: Awaited<ReturnType<typeof openSurvey>>) => Promise<void> | void) {
  const { app, db } = freshApp();
  const survey = await openSurvey(db);
  const postWave = await createWave(db, survey.study.id, "post", "Post");
  const subscribers = survey.segments.find((s) => s.key === "subscribers")!;
  for (const [waveId, w] of [
    [survey.wave.id, pre],
    [postWave.id, post],
  ] as const) {
    for (let i = 0; i < w.n; i++) await insertResponseWithAnswers(db, survey.study.id, { waveId, segmentId: subscribers.id, answers: { aided: choices(w, i), fav: 3 } });
  }
  await extra?.(db, survey);
  const study = first(await db.select().from(studies))!;
  return { app, db, survey, study, postWave };
}

async function results(db: ReturnType<typeof freshApp>["db"], locale: "en" | "ru" = "en"): Promise<StudyResults> {
  const r = await computeResults(db, first(await db.select().from(studies))!, resultsQuery.parse({}), locale, translator(locale));
  if (r === "no_waves") throw new Error("expected results");
  return r;
}

// Brand and both competitors rise by 10 pp: 30/30/20% -> 40/40/30% of 400.
const TREND = { pre: { n: 400, brand: 120, rival: 120, third: 80 }, post: { n: 400, brand: 160, rival: 160, third: 120 } };
// Only the brand rises: competitors flat.
const BRAND_ONLY = { pre: { n: 400, brand: 120, rival: 120, third: 80 }, post: { n: 400, brand: 160, rival: 120, third: 80 } };

const Z95 = 1.959963984540054;

/** The net lift and its 95% interval from the respondents themselves (Welch, normal quantile). */
function expectedNet(pre: Wave, post: Wave) {
  const a = leadMoments(pre);
  const b = leadMoments(post);
  const estimate = b.mean - a.mean;
  const se = Math.sqrt(a.variance / pre.n + b.variance / post.n);
  return { estimate, lower: estimate - Z95 * se, upper: estimate + Z95 * se, se };
}

describe("competitor aggregates in SQL", () => {
  it("count each competitor and sum d_i = b_i - C_i/K over the metric's base, per wave", async () => {
    const { db, survey, postWave } = await seedStudy(TREND.pre, TREND.post, async (db, survey) => {
      // Left out of every base: a partial, an excluded and a flagged-but-counted respondent is in.
      const segmentId = survey.segments[0]!.id;
      await insertResponseWithAnswers(db, survey.study.id, { waveId: survey.wave.id, segmentId, status: "partial", answers: { aided: ["acme", "rival"] } });
      await insertResponseWithAnswers(db, survey.study.id, { waveId: survey.wave.id, segmentId, excluded: true, answers: { aided: ["acme", "rival", "third"] } });
    });
    const filter = { waveIds: [survey.wave.id, postWave.id], includeFlagged: true };
    const r = await results(db);
    const aided = r.questions.find((q) => q.key === "aided")!;
    const id = (key: string) => aided.options.find((o) => o.key === key)!.id;
    const question = {
      metric: "aided_awareness",
      questionId: aided.id,
      kind: "options" as const,
      brand: [id("acme")],
      competitors: [
        { code: "rival", match: id("rival") },
        { code: "third", match: id("third") },
      ],
    };
    const subscribers = survey.segments[0]!.id;
    const bases = (await countMetricBases(db, metricDefinitions(r.questions), filter)).filter((b) => b.metric === "aided_awareness" && b.segmentId === subscribers);
    const leads = await sumBrandLeads(db, [question], filter);
    const counts = await countCompetitorChoices(db, [question], filter);
    for (const [waveId, w] of [
      [survey.wave.id, TREND.pre],
      [postWave.id, TREND.post],
    ] as const) {
      const base = bases.find((b) => b.waveId === waveId)!;
      const lead = leads.find((l) => l.waveId === waveId)!;
      expect(base).toMatchObject({ x: w.brand, n: w.n });
      expect({ n: lead.n, brand: lead.brand, competitors: lead.competitors }).toEqual({ n: w.n, brand: w.brand, competitors: 2 });
      const m = leadMoments(w);
      expect(lead.lead.sum / w.n).toBeCloseTo(m.mean, 15);
      expect((lead.lead.sumSquares - lead.lead.sum ** 2 / w.n) / (w.n - 1)).toBeCloseTo(m.variance, 14);
      // c_i = C_i/2: its mean is the average competitor's share.
      expect(lead.average.sum / w.n).toBeCloseTo((w.rival + w.third) / 2 / w.n, 15);
      expect(counts.filter((c) => c.waveId === waveId).map((c) => [c.code, c.x]).sort()).toEqual([
        ["rival", w.rival],
        ["third", w.third],
      ]);
    }
    // Pre wave, exact integers: Σ(2b - C) = 2·120 - (120 + 80) = 40; 120 know acme and rival
    // (2b - C = 1, or 0 for the 0 of them who also know third), 80 know only third (-1): Σ² = 200.
    expect(leads.find((l) => l.waveId === survey.wave.id)!.lead).toEqual({ sum: 20, sumSquares: 50 });
    // The brand's list: the brand first, then the competitors; "other" and "none of these" name no brand.
    expect(r.competitors.map((c) => [c.metric, c.source, c.brands.map((b) => `${b.code}:${b.label}`)])).toEqual([
      ["aided_awareness", "aided", ["brand:Acme", "rival:Rival", "third:Third"]],
    ]);
  });
});

describe("category trend", () => {
  it("brand and both competitors +10 pp: 'category trend', and a net lift whose interval contains 0", async () => {
    const { app, db, survey } = await seedStudy(TREND.pre, TREND.post);
    const r = await results(db);
    const check = r.competitors[0]!;
    const brand = check.brands[0]!.segments.find((s) => s.segment === "subscribers")!;
    expect(brand.pre).toMatchObject({ x: 120, n: 400, p: 0.3 });
    expect(brand.post).toMatchObject({ x: 160, n: 400, p: 0.4 });
    expect(check.brands[2]!.segments[0]!.post).toMatchObject({ x: 120, n: 400, p: 0.3 });
    // Wilson 95% for 120/400: prop.test(120, 400, correct = FALSE)$conf.int = 0.2571677 0.3466372
    expect(brand.pre!.lower).toBeCloseTo(0.2571677, 7);
    expect(brand.pre!.upper).toBeCloseTo(0.3466372, 7);
    // Segments without respondents have no shares and no net lift.
    expect(check.brands[0]!.segments.find((s) => s.segment === "inactive")).toEqual({ segment: "inactive", pre: null, post: null });

    expect(r.table.rows.find((x) => x.id === "aided_awareness:subscribers")!.verdict).toBe("rise");
    expect(check.net).toHaveLength(1);
    const net = check.net[0]!;
    const expected = expectedNet(TREND.pre, TREND.post);
    expect(net.segment).toBe("subscribers");
    expect(net.competitorLift.estimate).toBeCloseTo(0.1, 14);
    expect(net.competitorLift.lower).toBeGreaterThan(0);
    expect(net.netLift.estimate).toBeCloseTo(0, 15);
    expect(net.netLift.se).toBeCloseTo(expected.se, 14);
    expect(net.netLift.lower).toBeCloseTo(expected.lower, 14);
    expect(net.netLift.upper).toBeCloseTo(expected.upper, 14);
    // se = sqrt(var_pre/400 + var_post/400) of d: 0.027190961199033, interval ±5.33 pp.
    expect(net.netLift.se).toBeCloseTo(0.027190961199033, 14);
    expect(net.netLift.lower).toBeLessThan(0);
    expect(net.categoryTrend).toBe(true);

    await addUser(db, "viewer");
    const agent = await loggedInAgent(app, "viewer@example.test");
    const page = await agent.get(`/studies/${survey.study.id}/results?lang=en`).expect(200);
    const note = "Category trend: competitors rose about as much; net of the average competitor: 0.0\u00a0pp [\u22125.3\u00a0pp; +5.3\u00a0pp] (95% interval).";
    expect(page.text).toContain(note);
    // The note sits on the brand's verdict in the metric's verdict list.
    expect(page.text).toMatch(new RegExp(`<li class="verdict-rise">Among subscribers, aided awareness rose[^<]*(<span class="hint">[^<]*</span>)? <span class="category-trend">${escape(note)}</span></li>`));
    // The table: brands are option texts, the brand first; before → after and the change per segment.
    const table = page.text.slice(page.text.indexOf('<div class="competitors">'));
    expect(table).toContain("<h4>Competitors</h4>");
    expect(table.indexOf(">Acme <span")).toBeLessThan(table.indexOf(">Rival<"));
    expect(table).toContain("30.0% → 40.0% <strong class=\"change\">+10.0\u00a0pp</strong>");
    expect(table).toContain("20.0% → 30.0% <strong class=\"change\">+10.0\u00a0pp</strong>");
    expect(table).toContain("Average competitor");
    expect(table).toMatch(/Acme net of the average competitor<\/th>\s*<td data-label="Subscribers">0\.0\u00a0pp \[\u22125\.3\u00a0pp; \+5\.3\u00a0pp\] <span class="warning">category trend<\/span>/);
    expect(table).not.toContain("aided_awareness");
    expect(table).not.toContain(">rival<");

    const ru = await agent.get(`/studies/${survey.study.id}/results?lang=ru`).expect(200);
    expect(ru.text).toContain("Тренд категории: конкуренты выросли примерно так же; за вычетом среднего конкурента: 0,0\u00a0п.\u00a0п. [\u22125,3\u00a0п.\u00a0п.; +5,3\u00a0п.\u00a0п.] (интервал 95\u00a0%).");
    expect(ru.text).toContain("<h4>Конкуренты</h4>");
    expect(ru.text).toContain(">Соперник<");
    expect(ru.text).toContain("Акме <span class=\"hint\">(наш бренд)</span>");

    // The JSON export carries the same numbers the page printed.
    const json = JSON.parse((await agent.get(`/studies/${survey.study.id}/results.json?lang=en`).expect(200)).text) as { competitors: typeof r.competitors };
    expect(json.competitors).toEqual(JSON.parse(JSON.stringify(r.competitors)));
    const jn = json.competitors[0]!.net[0]!;
    expect(jn.categoryTrend).toBe(true);
    expect((jn.netLift.lower * 100).toFixed(1)).toBe("-5.3");
    expect((jn.netLift.upper * 100).toFixed(1)).toBe("5.3");
    expect(json.competitors[0]!.brands.map((b) => b.label)).toEqual(["Acme", "Rival", "Third"]);
  });

  it("only the brand +10 pp: no 'category trend', a net lift above 0", async () => {
    const { app, db, survey } = await seedStudy(BRAND_ONLY.pre, BRAND_ONLY.post);
    const r = await results(db);
    const net = r.competitors[0]!.net[0]!;
    const expected = expectedNet(BRAND_ONLY.pre, BRAND_ONLY.post);
    expect(net.competitorLift.estimate).toBeCloseTo(0, 15);
    expect(net.netLift.estimate).toBeCloseTo(0.1, 14);
    expect(net.netLift.lower).toBeCloseTo(expected.lower, 14);
    expect(net.netLift.upper).toBeCloseTo(expected.upper, 14);
    expect(net.netLift.lower).toBeGreaterThan(0);
    expect(net.categoryTrend).toBe(false);

    await addUser(db, "viewer");
    const agent = await loggedInAgent(app, "viewer@example.test");
    const page = await agent.get(`/studies/${survey.study.id}/results?lang=en`).expect(200);
    expect(page.text).not.toContain("Category trend");
    expect(page.text).not.toContain("category trend</span>");
    const f = (v: number) => `${v < 0 ? "\u2212" : "+"}${Math.abs(v * 100).toFixed(1)}\u00a0pp`;
    expect(page.text).toContain(`Acme net of the average competitor</th>`);
    expect(page.text).toContain(`${f(0.1)} [${f(expected.lower)}; ${f(expected.upper)}]`);
    const json = JSON.parse((await agent.get(`/studies/${survey.study.id}/results.json`).expect(200)).text) as { competitors: typeof r.competitors };
    expect(json.competitors[0]!.net[0]).toEqual(JSON.parse(JSON.stringify(net)));
  });

  it("unaided answers: competitors coded in the text count, per respondent", async () => {
    const def = brandLiftDefinition();
    def.questions.unshift({
      key: "unaided",
      type: "text",
      text: { ru: "Какие бренды вы знаете?", en: "Which brands do you know?" },
      metric: { name: "unaided_awareness", match: ["Acme"] },
    } as (typeof def.questions)[number]);
    const { db } = freshApp();
    const survey = await openSurvey(db, def);
    const post = await createWave(db, survey.study.id, "post", "Post");
    const segmentId = survey.segments[0]!.id;
    const answer = (waveId: number, text: string) => insertResponseWithAnswers(db, survey.study.id, { waveId, segmentId, answers: { unaided: text, aided: ["none"] } });
    for (let i = 0; i < 10; i++) await answer(survey.wave.id, i < 3 ? "Acme, Rival" : i < 5 ? "Третий" : "не знаю");
    for (let i = 0; i < 10; i++) await answer(post.id, i < 6 ? "Acme и Rival, Third" : "Rival");
    await answer(post.id, "   "); // an empty answer is not in the base
    await unitOfWork(db, async (tx) => recodeStudy(tx, survey.study.id));
    const r = await results(db);
    const check = r.competitors.find((c) => c.metric === "unaided_awareness")!;
    expect(check.source).toBe("unaided");
    const cell = (code: string) => check.brands.find((b) => b.code === code)!.segments.find((s) => s.segment === "subscribers")!;
    expect([cell("brand").pre, cell("brand").post].map((s) => [s!.x, s!.n])).toEqual([[3, 10], [6, 10]]);
    expect([cell("rival").pre, cell("rival").post].map((s) => [s!.x, s!.n])).toEqual([[3, 10], [10, 10]]);
    expect([cell("third").pre, cell("third").post].map((s) => [s!.x, s!.n])).toEqual([[2, 10], [6, 10]]);
    // d = b - C/2: pre 3 × (1 - 1/2) + 2 × (-1/2) = 0.5 → mean 0.05; post 6 × (1 - 1) + 4 × (-1/2) = -2 → mean -0.2.
    const net = check.net.find((n) => n.segment === "subscribers")!;
    expect(net.netLift.estimate).toBeCloseTo(-0.25, 15);
    expect(net.competitorLift.estimate).toBeCloseTo((10 + 6 - 3 - 2) / 2 / 10, 15);
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
