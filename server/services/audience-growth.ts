import type { Db } from "../../db/client.js";
import { listAudienceSeries } from "../../db/queries/audience.js";
import { listWaveSegments, listWaves } from "../../db/queries/fieldwork.js";
import type { AudienceMeasure, Study, Wave } from "../../db/schema.js";

/**
 * "Is the audience growing?": per segment and measure, the count at the start and at the end of
 * the study's period (the first wave's opening to the last wave's closing, or today while a wave
 * is open), the change and its percentage, and — when the imported series reaches back that far —
 * the growth over an equally long period before the campaign, so a rise can be told apart from the
 * trend the community was already on. `audienceGrowth` is pure; `loadAudienceGrowth` reads the
 * database for it.
 */

export interface DayCount {
  /** YYYY-MM-DD in the study's time zone. */
  day: string;
  count: number;
}

export interface WaveSpan {
  id: number;
  label: string;
  from: string;
  /** The closing day, or today for a wave still open. */
  to: string;
  /** Audience sizes typed on the wave page, by segment id. */
  sizes: ReadonlyMap<number, number | null>;
}

export interface GrowthChange {
  start: DayCount;
  end: DayCount;
  change: number;
  /** change / start; null when the start is 0. */
  percent: number | null;
}

export interface AudienceGrowth extends GrowthChange {
  segmentId: number;
  /** Which count: an imported series of a measure, or the sizes typed per wave. */
  source: "series" | "waves";
  measure: AudienceMeasure | null;
  /** The same number of days just before the period, when the series reaches back that far. */
  before: (GrowthChange & { days: number }) | null;
  /** What the chart draws: the points from `chartFrom` to the period's end. */
  points: DayCount[];
  chartFrom: string;
  chartTo: string;
}

export interface AudienceAnswer {
  segmentIds: readonly number[];
  /** The study's period; null before any wave has opened. */
  period: { from: string; to: string; days: number } | null;
  waves: WaveSpan[];
  growth: AudienceGrowth[];
  /** Segments with a single measurement: a count, nothing to compare it with. */
  single: Array<{ segmentId: number; source: "series" | "waves"; measure: AudienceMeasure | null; point: DayCount }>;
}

export interface AudienceGrowthInput {
  segmentIds: readonly number[];
  waves: readonly WaveSpan[];
  series: ReadonlyArray<{ segmentId: number; measure: AudienceMeasure; day: string; count: number }>;
}

const DAY_MS = 24 * 3600 * 1000;
const dayNumber = (day: string) => Math.round(Date.parse(`${day}T00:00:00Z`) / DAY_MS);
const dayString = (n: number) => new Date(n * DAY_MS).toISOString().slice(0, 10);
const changeOf = (start: DayCount, end: DayCount): GrowthChange => ({
  start,
  end,
  change: end.count - start.count,
  percent: start.count > 0 ? (end.count - start.count) / start.count : null,
});

/** The last point on or before `day` (points sorted by day). */
function atOrBefore(points: readonly DayCount[], day: string): DayCount | undefined {
  let found: DayCount | undefined;
  for (const p of points) {
    if (p.day > day) break;
    found = p;
  }
  return found;
}

export function audienceGrowth(input: AudienceGrowthInput): AudienceAnswer {
  const waves = [...input.waves].sort((a, b) => (a.from < b.from ? -1 : a.from > b.from ? 1 : a.id - b.id));
  if (waves.length === 0) return { segmentIds: input.segmentIds, period: null, waves: [], growth: [], single: [] };
  const from = waves[0]!.from;
  const to = waves.reduce((m, w) => (w.to > m ? w.to : m), waves[0]!.to);
  // A period of one day still has a length, so "the same length before" is never empty.
  const days = Math.max(1, dayNumber(to) - dayNumber(from));
  const beforeFrom = dayString(dayNumber(from) - days);
  const answer: AudienceAnswer = { segmentIds: input.segmentIds, period: { from, to, days }, waves, growth: [], single: [] };

  for (const segmentId of input.segmentIds) {
    const measures = new Map<AudienceMeasure, DayCount[]>();
    for (const p of input.series) {
      if (p.segmentId !== segmentId) continue;
      const list = measures.get(p.measure) ?? [];
      list.push({ day: p.day, count: p.count });
      measures.set(p.measure, list);
    }
    let answered = false;
    for (const measure of ["subscribers", "reach"] as const) {
      const points = (measures.get(measure) ?? []).sort((a, b) => (a.day < b.day ? -1 : 1));
      // Start: the count on the first day (or the last before it); a series that begins inside
      // the period starts from its first point.
      const start = atOrBefore(points, from) ?? points.find((p) => p.day <= to);
      const end = atOrBefore(points, to);
      if (!start || !end) continue;
      answered = true;
      if (end.day === start.day) {
        answer.single.push({ segmentId, source: "series", measure, point: end });
        continue;
      }
      const reachesBack = start.day <= from ? atOrBefore(points, beforeFrom) : undefined;
      const before = reachesBack ? { ...changeOf(reachesBack, start), days } : null;
      // The chart shows the period and, for context, up to the same length before it.
      const chartFrom = [before?.start.day ?? beforeFrom, start.day].reduce((a, b) => (a < b ? a : b));
      const firstShown = points.find((p) => p.day >= chartFrom)?.day ?? start.day;
      const shownFrom = [firstShown, from].reduce((a, b) => (a < b ? a : b));
      answer.growth.push({
        segmentId,
        source: "series",
        measure,
        ...changeOf(start, end),
        before,
        points: points.filter((p) => p.day >= shownFrom && p.day <= to),
        chartFrom: shownFrom,
        chartTo: to,
      });
    }
    if (answered) continue;

    // No series: the audience sizes typed per wave, each at its wave's opening day.
    const typed = waves.flatMap((w) => {
      const size = w.sizes.get(segmentId);
      return size === null || size === undefined ? [] : [{ day: w.from, count: size }];
    });
    if (typed.length === 0) continue;
    const start = typed[0]!;
    const end = typed[typed.length - 1]!;
    if (typed.length === 1) {
      answer.single.push({ segmentId, source: "waves", measure: null, point: start });
      continue;
    }
    answer.growth.push({
      segmentId,
      source: "waves",
      measure: null,
      ...changeOf(start, end),
      before: null,
      points: typed,
      chartFrom: from,
      chartTo: to,
    });
  }
  return answer;
}

/** Formats per zone: making one costs far more than using it (it was most of a results page's audience section). */
const dayFormats = new Map<string, Intl.DateTimeFormat>();

function dayFormat(zone: string): Intl.DateTimeFormat {
  let format = dayFormats.get(zone);
  if (!format) {
    format = new Intl.DateTimeFormat("en-CA", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" });
    dayFormats.set(zone, format);
  }
  return format;
}

/** YYYY-MM-DD of an instant in a time zone (the study's, else the server's). */
export function dayIn(at: Date, timeZone: string | null | undefined): string {
  const parts = dayFormat(timeZone || Intl.DateTimeFormat().resolvedOptions().timeZone).formatToParts(at);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? "";
  return `${get("year")}-${get("month")}-${get("day")}`;
}

/** The study's opened waves as day spans, with the audience sizes typed for them. */
export async function waveSpans(db: Db, study: Study, waves: readonly Wave[], now: Date): Promise<WaveSpan[]> {
  const today = dayIn(now, study.timeZone);
  const spans: WaveSpan[] = [];
  for (const w of waves.filter((w) => w.openedAt)) {
    const from = dayIn(w.openedAt!, study.timeZone);
    const to = w.closedAt ? dayIn(w.closedAt, study.timeZone) : today;
    // A closing recorded before the opening (clock or data error) is read as a one-day wave.
    spans.push({ id: w.id, label: w.label, from, to: to < from ? from : to, sizes: new Map((await listWaveSegments(db, w.id)).map((r) => [r.segmentId, r.audienceSize])) });
  }
  return spans;
}

/** The answer for a study, from its stored series and wave sizes. */
export async function loadAudienceGrowth(db: Db, study: Study, segmentIds: readonly number[], now = new Date()): Promise<AudienceAnswer> {
  return audienceGrowth({
    segmentIds,
    waves: await waveSpans(db, study, await listWaves(db, study.id), now),
    series: await listAudienceSeries(db, study.id),
  });
}
