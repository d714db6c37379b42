import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { listAudienceSeries, upsertAudiencePoints } from "../../db/queries/audience.js";
import { setWaveSegment } from "../../db/queries/fieldwork.js";
import { audiencePoints, waves } from "../../db/schema.js";
import { translator } from "../../server/i18n/index.js";
import { AUDIENCE_CHART, GLYPH, audienceChart, audienceFormats, audienceView } from "../../server/presenters/audience.js";
import { audienceGrowth, type WaveSpan } from "../../server/services/audience-growth.js";
import { createWave, openWave } from "../../server/services/study-setup.js";
import { openSurvey } from "../fixtures/surveys.js";
import { addUser, csrfFrom, freshApp, loggedInAgent } from "../helpers.js";

const SUBS = 1;
const ACTIVE = 2;
const INACTIVE = 3;
const noSizes = new Map<number, number | null>();
const WAVES: WaveSpan[] = [
  { id: 10, label: "До кампании", from: "2024-10-01", to: "2024-10-07", sizes: new Map([[INACTIVE, 400_000]]) },
  { id: 11, label: "После кампании", from: "2024-11-24", to: "2024-11-30", sizes: new Map([[INACTIVE, 410_000]]) },
];
// 60 days of study; the series reaches back 60 days before it (2024-08-02).
const SERIES = [
  { day: "2024-08-01", count: 47_000 },
  { day: "2024-09-15", count: 47_500 },
  { day: "2024-10-01", count: 48_000 },
  { day: "2024-11-01", count: 50_000 },
  { day: "2024-11-30", count: 52_600 },
].map((p) => ({ ...p, segmentId: SUBS, measure: "subscribers" as const }));

const labels = {
  segmentLabel: (id: number) => ({ [SUBS]: "Подписчики", [ACTIVE]: "Активные, не подписаны", [INACTIVE]: "Неактивная аудитория" })[id] ?? "",
  segmentKey: (id: number) => ({ [SUBS]: "subscribers", [ACTIVE]: "active_unsubscribed", [INACTIVE]: "inactive" })[id] ?? "",
};

describe("is the audience growing? (the numbers)", () => {
  const answer = audienceGrowth({ segmentIds: [SUBS, ACTIVE, INACTIVE], waves: WAVES, series: SERIES });

  it("measures the study's period from the first opening to the last closing, with the growth before it", () => {
    expect(answer.period).toEqual({ from: "2024-10-01", to: "2024-11-30", days: 60 });
    const subs = answer.growth.find((g) => g.segmentId === SUBS)!;
    expect(subs).toMatchObject({ source: "series", measure: "subscribers", start: { day: "2024-10-01", count: 48_000 }, end: { day: "2024-11-30", count: 52_600 }, change: 4_600 });
    expect(subs.percent).toBeCloseTo(4_600 / 48_000, 12);
    // The last point on or before 2024-08-02 (60 days before the start) to the start.
    expect(subs.before).toMatchObject({ start: { day: "2024-08-01", count: 47_000 }, end: { day: "2024-10-01", count: 48_000 }, change: 1_000, days: 60 });
    expect(subs.before!.percent).toBeCloseTo(1_000 / 47_000, 12);
  });

  it("gives no comparison when the series does not reach back the same length", () => {
    const short = audienceGrowth({ segmentIds: [SUBS], waves: WAVES, series: SERIES.filter((p) => p.day >= "2024-09-01") });
    expect(short.growth[0]!.before).toBeNull();
    expect(short.growth[0]!.start).toEqual({ day: "2024-10-01", count: 48_000 });
  });

  it("falls back to the audience sizes typed per wave", () => {
    const inactive = answer.growth.find((g) => g.segmentId === INACTIVE)!;
    expect(inactive).toMatchObject({ source: "waves", measure: null, start: { day: "2024-10-01", count: 400_000 }, end: { day: "2024-11-24", count: 410_000 }, change: 10_000, before: null });
    expect(inactive.percent).toBeCloseTo(0.025, 12);
    // The active segment has neither: it is not answered.
    expect(answer.growth.some((g) => g.segmentId === ACTIVE)).toBe(false);
  });

  it("counts to today while the last wave is open, and has no period before any wave opened", () => {
    const open = audienceGrowth({ segmentIds: [SUBS], waves: [{ ...WAVES[0]!, to: "2024-11-01" }], series: SERIES });
    expect(open.growth[0]!.end).toEqual({ day: "2024-11-01", count: 50_000 });
    expect(audienceGrowth({ segmentIds: [SUBS], waves: [], series: SERIES }).period).toBeNull();
  });

  it("says it in one Russian sentence per segment, with no-break spaces as Intl writes them", () => {
    const view = audienceView(answer, labels, "ru", translator("ru"));
    expect(view.message).toBeNull();
    expect(view.items.map((i) => i.sentence)).toEqual([
      "Подписчики: 48\u00a0000 → 52\u00a0600, +9,6\u00a0% за период",
      "Неактивная аудитория: 400\u00a0000 → 410\u00a0000, +2,5\u00a0% за период",
    ]);
    expect(view.items[0]!.before).toBe("До кампании: +2,1\u00a0% за такой же срок (47\u00a0000 → 48\u00a0000).");
    expect(view.items[1]!.note).toBe("по размерам, указанным для волн");
    const en = audienceView(answer, labels, "en", translator("en"));
    expect(en.items[0]!.sentence).toBe("Подписчики: 48,000 → 52,600, +9.6% over the period");
    expect(en.items[0]!.before).toBe("Before the campaign: +2.1% over the same length (47,000 → 48,000).");
  });

  it("names the measure when it is not the segment's own, and says when there is one measurement only", () => {
    const reach = audienceGrowth({
      segmentIds: [ACTIVE, INACTIVE],
      waves: [WAVES[0]!, { ...WAVES[1]!, sizes: noSizes }],
      series: [
        { segmentId: ACTIVE, measure: "reach", day: "2024-10-01", count: 120_000 },
        { segmentId: ACTIVE, measure: "reach", day: "2024-11-30", count: 150_000 },
      ],
    });
    const view = audienceView(reach, labels, "ru", translator("ru"));
    expect(view.items.map((i) => i.sentence)).toEqual([
      "Активные, не подписаны — охват: 120\u00a0000 → 150\u00a0000, +25\u00a0% за период",
      "Неактивная аудитория: 400\u00a0000 — одно измерение, сравнивать пока не с чем",
    ]);
    const none = audienceView(audienceGrowth({ segmentIds: [ACTIVE], waves: WAVES, series: [] }), labels, "ru", translator("ru"));
    expect(none.message).toContain("Размер аудитории пока не известен");
  });
});

/** Every <text> of an SVG with where it starts and ends, from its anchor and an average glyph width. */
function textBoxes(svg: string) {
  return [...svg.matchAll(/<text x="([\d.-]+)" y="([\d.-]+)" font-size="(\d+)" text-anchor="(\w+)"[^>]*>([^<]*)<\/text>/g)].map((m) => {
    const [x, y, size] = [Number(m[1]), Number(m[2]), Number(m[3])];
    const text = m[5]!.replace(/&[a-z#0-9]+;/g, "x");
    const width = [...text].length * size * GLYPH;
    const left = m[4] === "start" ? x : m[4] === "end" ? x - width : x - width / 2;
    return { text, size, left, right: left + width, top: y - size, bottom: y + size * 0.25 };
  });
}

describe("the audience chart", () => {
  const t = translator("ru");
  const f = audienceFormats("ru");

  it("keeps every label inside its viewBox at 11 px or more, with the waves shaded and labelled", () => {
    const long = [
      { ...WAVES[0]!, label: "До кампании, первая волна опроса с очень длинным названием" },
      { ...WAVES[1]!, label: "После кампании — итоговая" },
      { id: 12, label: "Контроль", from: "2024-11-29", to: "2024-11-30", sizes: noSizes },
    ];
    const answer = audienceGrowth({ segmentIds: [SUBS], waves: long, series: [...SERIES, { segmentId: SUBS, measure: "subscribers", day: "2024-09-01", count: 1_234_567 }] });
    const svg = audienceChart(answer.growth[0]!, answer.waves, { title: "t", description: "d" }, f);
    expect(svg).toMatch(new RegExp(`viewBox="0 0 ${AUDIENCE_CHART.width} ${AUDIENCE_CHART.height}"`));
    expect(svg).toMatch(/role="img"/);
    expect(svg).toMatch(/<title id="[^"]+">t<\/title><desc id="[^"]+">d<\/desc>/);
    const boxes = textBoxes(svg);
    expect(boxes.length).toBeGreaterThanOrEqual(7);
    for (const b of boxes) {
      expect(b.size, b.text).toBeGreaterThanOrEqual(11);
      expect(b.left, b.text).toBeGreaterThanOrEqual(0);
      expect(b.right, b.text).toBeLessThanOrEqual(AUDIENCE_CHART.width);
      expect(b.top, b.text).toBeGreaterThanOrEqual(0);
      expect(b.bottom, b.text).toBeLessThanOrEqual(AUDIENCE_CHART.height);
    }
    // Three waves, three shaded spans; the labels that would collide sit on different rows.
    expect(svg.match(/fill-opacity="0.18"/g)).toHaveLength(3);
    const waveLabels = boxes.filter((b) => b.bottom < AUDIENCE_CHART.top);
    expect(waveLabels).toHaveLength(3);
    for (let i = 0; i < waveLabels.length; i++)
      for (let j = i + 1; j < waveLabels.length; j++) {
        const [a, b] = [waveLabels[i]!, waveLabels[j]!];
        const overlap = a.top === b.top && a.left < b.right && b.left < a.right;
        expect(overlap, `${a.text} / ${b.text}`).toBe(false);
      }
    // The series before the period is drawn apart from the period itself.
    expect(svg).toContain('stroke-dasharray="4 3"');
    expect(svg).toContain("1,23\u00a0млн");
  });

  it("labels the two ends of the axis differently when the counts hardly change", () => {
    for (const [from, to] of [
      [400_100, 400_800],
      [1_234_000, 1_234_900],
      [52_600, 52_640],
      [999_500, 999_900],
      [400_000, 400_000],
    ] as const) {
      const flat = [from, from, to, to].map((count, i) => ({ ...SERIES[i]!, count }));
      const answer = audienceGrowth({ segmentIds: [SUBS], waves: WAVES, series: flat });
      const svg = audienceChart(answer.growth[0]!, answer.waves, { title: "t", description: "d" }, f);
      const axis = textBoxes(svg).filter((b) => b.left < AUDIENCE_CHART.left).map((b) => b.text);
      expect(axis, `${from}..${to}`).toHaveLength(2);
      expect(new Set(axis).size, `${from}..${to}: ${axis.join(" / ")}`).toBe(2);
    }
  });

  it("escapes wave labels", () => {
    const answer = audienceGrowth({ segmentIds: [SUBS], waves: [{ ...WAVES[0]!, label: `<b>"x"&` }, WAVES[1]!], series: SERIES });
    const svg = audienceView(answer, labels, "ru", t).items[0]!.chart!;
    expect(svg).toContain("&lt;b&gt;&quot;x&quot;&amp;");
    expect(svg).not.toContain("<b>");
  });
});

/** A study with a pre wave 2024-10-01..07 and a post wave 2024-11-24..30 (Moscow days). */
async function seedStudy(db: ReturnType<typeof freshApp>["db"]) {
  const survey = await openSurvey(db);
  const post = await createWave(db, survey.study.id, "post", "Post");
  await openWave(db, post, null);
  await db.update(waves).set({ status: "closed", openedAt: new Date("2024-10-01T09:00:00Z"), closedAt: new Date("2024-10-07T18:00:00Z") }).where(eq(waves.id, survey.wave.id));
  await db.update(waves).set({ status: "closed", openedAt: new Date("2024-11-24T09:00:00Z"), closedAt: new Date("2024-11-30T18:00:00Z") }).where(eq(waves.id, post.id));
  const segment = (key: string) => survey.segments.find((s) => s.key === key)!;
  return { study: survey.study, pre: survey.wave, post, subscribers: segment("subscribers"), inactive: segment("inactive") };
}

const CSV = "Дата;Подписчики\n01.08.2024;47 000\n01.10.2024;48 000\n01.11.2024;50 000\n30.11.2024;52 600\n";

describe("audience page", () => {
  it("imports a pasted CSV for a researcher (303), shows the answer and what is stored, and deletes it", async () => {
    const { app, db } = freshApp();
    const s = await seedStudy(db);
    await addUser(db, "researcher");
    const agent = await loggedInAgent(app, "researcher@example.test");
    const page = await agent.get(`/studies/${s.study.id}/audience?lang=ru`).expect(200);
    expect(page.text).toContain("Пока ничего не загружено.");
    expect(page.text).toContain('aria-current="page">Аудитория<');
    const posted = await agent
      .post(`/studies/${s.study.id}/audience`)
      .type("form")
      .send({ _csrf: csrfFrom(page.text), segment: String(s.subscribers.id), measure: "subscribers", csv: CSV })
      .expect(303);
    expect(posted.headers["location"]).toBe(`/studies/${s.study.id}/audience?imported=4&s=${s.subscribers.id}&m=subscribers`);
    expect(await listAudienceSeries(db, s.study.id)).toHaveLength(4);
    const after = await agent.get(String(posted.headers["location"])).expect(200);
    expect(after.text).toContain("Загружено дней для сегмента «Подписчики» (подписчики): 4.");
    expect(after.text).toContain("Подписчики: 48\u00a0000 → 52\u00a0600, +9,6\u00a0% за период");
    expect(after.text).toContain("До кампании: +2,1\u00a0% за такой же срок");
    expect(after.text).toMatch(/<td>01\.08\.2024<\/td><td>30\.11\.2024<\/td>/);

    // Re-importing overwrites days; "replace" empties the series first.
    await agent.post(`/studies/${s.study.id}/audience`).type("form").send({ _csrf: csrfFrom(after.text), segment: String(s.subscribers.id), measure: "subscribers", csv: "date;n\n2024-11-30;53000\n" }).expect(303);
    expect((await listAudienceSeries(db, s.study.id)).find((p) => p.day === "2024-11-30")!.count).toBe(53_000);
    await agent.post(`/studies/${s.study.id}/audience`).type("form").send({ _csrf: csrfFrom(after.text), segment: String(s.subscribers.id), measure: "subscribers", csv: "date;n\n2024-11-30;53000\n", replace: "1" }).expect(303);
    expect(await listAudienceSeries(db, s.study.id)).toHaveLength(1);

    await agent.post(`/studies/${s.study.id}/audience/delete`).type("form").send({ _csrf: csrfFrom(after.text), segment: String(s.subscribers.id), measure: "subscribers" }).expect(303);
    expect(await listAudienceSeries(db, s.study.id)).toHaveLength(0);
  });

  it("reports a bad line by its number and stores nothing", async () => {
    const { app, db } = freshApp();
    const s = await seedStudy(db);
    await addUser(db, "researcher");
    const agent = await loggedInAgent(app, "researcher@example.test");
    const page = await agent.get(`/studies/${s.study.id}/audience?lang=ru`).expect(200);
    const res = await agent
      .post(`/studies/${s.study.id}/audience`)
      .type("form")
      .send({ _csrf: csrfFrom(page.text), segment: String(s.subscribers.id), measure: "subscribers", csv: "Дата;Подписчики\n01.10.2024;48 000\n02.10.2024;сорок\n" })
      .expect(422);
    expect(res.text).toContain("Строка 3: «сорок» — не целое число людей.");
    expect(res.text).toContain("Ничего не загружено");
    // The pasted text is kept for correcting.
    expect(res.text).toContain("02.10.2024;сорок");
    expect(await db.select().from(audiencePoints)).toHaveLength(0);
    // A segment of another study is refused.
    await agent.post(`/studies/${s.study.id}/audience`).type("form").send({ _csrf: csrfFrom(page.text), segment: "999", measure: "subscribers", csv: CSV }).expect(422);
    expect(await db.select().from(audiencePoints)).toHaveLength(0);
  });

  it("lets a viewer read but not import (403), and refuses a post without its CSRF token", async () => {
    const { app, db } = freshApp();
    const s = await seedStudy(db);
    await addUser(db, "viewer");
    await addUser(db, "researcher");
    const viewer = await loggedInAgent(app, "viewer@example.test");
    const page = await viewer.get(`/studies/${s.study.id}/audience`).expect(200);
    expect(page.text).not.toContain(`action="/studies/${s.study.id}/audience"`);
    await viewer.post(`/studies/${s.study.id}/audience`).type("form").send({ _csrf: csrfFrom(page.text), segment: String(s.subscribers.id), measure: "subscribers", csv: CSV }).expect(403);
    await viewer.post(`/studies/${s.study.id}/audience/delete`).type("form").send({ _csrf: csrfFrom(page.text), segment: String(s.subscribers.id), measure: "subscribers" }).expect(403);
    const researcher = await loggedInAgent(app, "researcher@example.test");
    await researcher.post(`/studies/${s.study.id}/audience`).type("form").send({ segment: String(s.subscribers.id), measure: "subscribers", csv: CSV }).expect(403);
    expect(await db.select().from(audiencePoints)).toHaveLength(0);
  });

  it("answers the first question on the results page and the report, and in the JSON export", async () => {
    const { app, db } = freshApp();
    const s = await seedStudy(db);
    await upsertAudiencePoints(db, { studyId: s.study.id, segmentId: s.subscribers.id, measure: "subscribers" }, [
      { day: "2024-08-01", count: 47_000 },
      { day: "2024-10-01", count: 48_000 },
      { day: "2024-11-30", count: 52_600 },
    ]);
    await setWaveSegment(db, s.pre.id, s.inactive.id, { target: null, audienceSize: 400_000 });
    await setWaveSegment(db, s.post.id, s.inactive.id, { target: null, audienceSize: 410_000 });
    await addUser(db, "viewer");
    const agent = await loggedInAgent(app, "viewer@example.test");
    for (const path of ["results", "report"]) {
      const res = await agent.get(`/studies/${s.study.id}/${path}?lang=ru`).expect(200);
      expect(res.text).toContain("Подписчики: 48\u00a0000 → 52\u00a0600, +9,6\u00a0% за период");
      expect(res.text).toContain("Неактивная аудитория: 400\u00a0000 → 410\u00a0000, +2,5\u00a0% за период");
      expect(res.text).toMatch(/<figure class="audience-chart"><svg[^>]+role="img"/);
    }
    const json = (await agent.get(`/studies/${s.study.id}/results.json`).expect(200)).body;
    expect(json.audience.period).toEqual({ from: "2024-10-01", to: "2024-11-30", days: 60 });
    expect(json.audience.growth).toEqual([
      {
        segment: "subscribers",
        measure: "subscribers",
        source: "series",
        start: { day: "2024-10-01", count: 48_000 },
        end: { day: "2024-11-30", count: 52_600 },
        change: 4_600,
        percent: 4_600 / 48_000,
        before: { start: { day: "2024-08-01", count: 47_000 }, end: { day: "2024-10-01", count: 48_000 }, change: 1_000, percent: 1_000 / 47_000, days: 60 },
      },
      { segment: "inactive", measure: null, source: "waves", start: { day: "2024-10-01", count: 400_000 }, end: { day: "2024-11-24", count: 410_000 }, change: 10_000, percent: 0.025, before: null },
    ]);
  });
});
