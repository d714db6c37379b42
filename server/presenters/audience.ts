import type { AudienceMeasure, Locale } from "../../db/schema.js";
import type { Translate } from "../i18n/index.js";
import type { AudienceAnswer, AudienceGrowth, DayCount, WaveSpan } from "../services/audience-growth.js";
import { escapeXml } from "./charts.js";

/**
 * "Is the audience growing?" for people: one sentence per segment and measure with the change and
 * its percentage ("Подписчики: 48 000 → 52 600, +9,6 % за период"), the growth before the campaign
 * beside it, and a small line chart with the waves shaded. Also the same numbers for the JSON export.
 */

export interface AudienceItem {
  segmentId: number;
  measure: AudienceMeasure | null;
  sentence: string;
  /** The growth over the same length before the campaign, when the series reaches back that far. */
  before: string | null;
  /** Where the numbers come from, when it is not an imported series. */
  note: string | null;
  chart: string | null;
}

export interface AudienceView {
  items: AudienceItem[];
  /** Nothing to answer with: no series, no sizes typed per wave (or no opened wave). */
  message: string | null;
}

export interface AudienceFormats {
  integer: (n: number) => string;
  /** A signed percentage with one decimal at most: +9,6 %. */
  percent: (share: number) => string;
  /** A short date for chart axes. */
  day: (day: string) => string;
  /** A compact count for chart axes (48 тыс.). */
  compact: (n: number) => string;
}

const formatCache = new Map<Locale, AudienceFormats>();

export function audienceFormats(locale: Locale): AudienceFormats {
  let f = formatCache.get(locale);
  if (!f) {
    const tag = locale === "ru" ? "ru-RU" : "en-GB";
    const integer = new Intl.NumberFormat(tag, { maximumFractionDigits: 0 });
    const percent = new Intl.NumberFormat(tag, { style: "percent", maximumFractionDigits: 1, signDisplay: "exceptZero" });
    const compact = new Intl.NumberFormat(tag, { notation: "compact", maximumSignificantDigits: 3 });
    // Days are calendar days already in the study's zone: formatted as UTC so they do not shift.
    const day = new Intl.DateTimeFormat(tag, { dateStyle: "short", timeZone: "UTC" });
    f = {
      integer: (n) => integer.format(n),
      percent: (share) => percent.format(share),
      day: (d) => day.format(new Date(`${d}T00:00:00Z`)),
      compact: (n) => (Math.abs(n) < 10_000 ? integer.format(n) : compact.format(n)),
    };
    formatCache.set(locale, f);
  }
  return f;
}

export interface AudienceLabels {
  segmentLabel: (segmentId: number) => string;
  /** The segment's key: a "subscribers" segment counted in subscribers needs no measure in its label. */
  segmentKey: (segmentId: number) => string;
}

/** "Подписчики" for the subscribers segment's subscribers; "Активные, охват" otherwise. */
export function audienceLabel(segmentId: number, measure: AudienceMeasure | null, labels: AudienceLabels, t: Translate): string {
  const segment = labels.segmentLabel(segmentId);
  if (measure === null || (measure === "subscribers" && labels.segmentKey(segmentId) === "subscribers")) return segment;
  return t("audience.labelWithMeasure", { segment, measure: t(`audience.measureInLabel.${measure}`) });
}

export function audienceSentence(label: string, g: { start: DayCount; end: DayCount; percent: number | null }, f: AudienceFormats, t: Translate): string {
  const values = { label, start: f.integer(g.start.count), end: f.integer(g.end.count) };
  return g.percent === null ? t("audience.sentenceNoPercent", values) : t("audience.sentence", { ...values, percent: f.percent(g.percent) });
}

export function audienceView(answer: AudienceAnswer, labels: AudienceLabels, locale: Locale, t: Translate): AudienceView {
  const f = audienceFormats(locale);
  if (!answer.period) return { items: [], message: t("audience.noPeriod") };
  const items: AudienceItem[] = [];
  for (const g of answer.growth) {
    const label = audienceLabel(g.segmentId, g.measure, labels, t);
    const sentence = audienceSentence(label, g, f, t);
    const before = g.before
      ? g.before.percent === null
        ? t("audience.beforeNoPercent", { start: f.integer(g.before.start.count), end: f.integer(g.before.end.count) })
        : t("audience.before", { percent: f.percent(g.before.percent), start: f.integer(g.before.start.count), end: f.integer(g.before.end.count) })
      : null;
    const chartText = {
      title: t("audience.chartTitle", { label }),
      description: [t("audience.chartDesc", { sentence, from: f.day(g.chartFrom), to: f.day(g.chartTo) }), before ?? ""].join(" ").trim(),
    };
    items.push({
      segmentId: g.segmentId,
      measure: g.measure,
      sentence,
      before,
      note: g.source === "waves" ? t("audience.fromWaves") : null,
      chart: audienceChart(g, answer.waves, chartText, f),
    });
  }
  for (const s of answer.single) {
    const label = audienceLabel(s.segmentId, s.measure, labels, t);
    items.push({
      segmentId: s.segmentId,
      measure: s.measure,
      sentence: t("audience.single", { label, count: f.integer(s.point.count) }),
      before: null,
      note: s.source === "waves" ? t("audience.fromWaves") : null,
      chart: null,
    });
  }
  // Segments in the study's order (a stable sort keeps subscribers before reach within one).
  const rank = (id: number) => answer.segmentIds.indexOf(id);
  items.sort((a, b) => rank(a.segmentId) - rank(b.segmentId));
  return { items, message: items.length === 0 ? t("audience.unknown") : null };
}

// ---------------------------------------------------------------- chart

/** Chart geometry: small enough for three in a row on a 900 px page at 1:1, so text stays 11 px. */
export const AUDIENCE_CHART = { width: 280, height: 128, left: 68, right: 10, top: 34, bottom: 100, font: 11 } as const;
const FONT = "system-ui, -apple-system, Segoe UI, Roboto, Arial, sans-serif";
const LINE = "#0072B2";
const BEFORE = "#888888";
const WAVE = "#E69F00";
/** Average glyph width of the chart's font as a share of its size: places labels inside the box. */
export const GLYPH = 0.62;

const DAY_MS = 24 * 3600 * 1000;
const dayNumber = (day: string) => Math.round(Date.parse(`${day}T00:00:00Z`) / DAY_MS);
const fixed = (n: number) => (Math.round(n * 10) / 10).toString();
let counter = 0;

function truncate(s: string, max: number): string {
  return [...s].length > max ? [...s].slice(0, Math.max(1, max - 1)).join("") + "…" : s;
}

export function audienceChart(g: AudienceGrowth, waves: readonly WaveSpan[], text: { title: string; description: string }, f: AudienceFormats): string {
  const { width, height, left, right, top, bottom, font } = AUDIENCE_CHART;
  const id = `audience-chart-${++counter}`;
  const d0 = dayNumber(g.chartFrom);
  const d1 = Math.max(d0 + 1, dayNumber(g.chartTo));
  const x = (day: string) => left + ((Math.min(d1, Math.max(d0, dayNumber(day))) - d0) / (d1 - d0)) * (width - left - right);
  const counts = g.points.map((p) => p.count);
  let lo = Math.min(...counts);
  let hi = Math.max(...counts);
  if (hi === lo) {
    lo = Math.max(0, lo - 1);
    hi = hi + 1;
  }
  // Counts that differ below the compact labels' 3 significant digits would label both ends alike
  // (400 тыс. / 400 тыс.): the axis then spans the nearest round counts that the labels tell apart.
  if (f.compact(lo) === f.compact(hi)) {
    const step = 10 ** Math.max(0, Math.floor(Math.log10(hi)) - 2);
    lo = Math.floor(lo / step) * step;
    hi = Math.max(lo + step, Math.ceil(hi / step) * step);
  }
  const y = (n: number) => bottom - ((n - lo) / (hi - lo)) * (bottom - top);
  const parts: string[] = [];
  const label = (tx: number, ty: number, s: string, anchor: "start" | "middle" | "end", fill = "#444") =>
    `<text x="${fixed(tx)}" y="${fixed(ty)}" font-size="${font}" text-anchor="${anchor}" fill="${fill}">${escapeXml(s)}</text>`;

  // Waves: shaded spans with their labels above the plot, on a second row where they would overlap.
  const rowEnds = [-Infinity, -Infinity];
  for (const w of waves) {
    if (w.to < g.chartFrom || w.from > g.chartTo) continue;
    const x0 = x(w.from);
    const x1 = Math.max(x0 + 3, x(w.to));
    parts.push(`<rect x="${fixed(x0)}" y="${top}" width="${fixed(x1 - x0)}" height="${bottom - top}" fill="${WAVE}" fill-opacity="0.18"/>`);
    // A label takes at most half the width, on the first of two rows where it fits; where
    // neither has room it is shortened into the free end of a row, or left out (the span stays).
    const glyph = font * GLYPH;
    let name = truncate(w.label, Math.floor(width / 2 / glyph));
    let half = ([...name].length * glyph) / 2;
    let cx = Math.min(width - 2 - half, Math.max(2 + half, (x0 + x1) / 2));
    let row = rowEnds.findIndex((end) => cx - half > end + 4);
    if (row < 0) {
      row = rowEnds[0]! <= rowEnds[1]! ? 0 : 1;
      const free = width - 2 - (rowEnds[row]! + 4);
      const chars = Math.floor(free / glyph);
      if (chars < 4) continue;
      name = truncate(w.label, chars);
      half = ([...name].length * glyph) / 2;
      cx = rowEnds[row]! + 4 + half;
    }
    rowEnds[row] = cx + half;
    parts.push(label(cx, row === 0 ? 12 : 26, name, "middle", "#7a5200"));
  }
  // Axes: the lowest and highest count, the first and last day.
  parts.push(
    `<line x1="${left}" x2="${width - right}" y1="${bottom}" y2="${bottom}" stroke="#bbb"/>`,
    label(left - 4, y(hi) + 4, f.compact(hi), "end"),
    label(left - 4, y(lo) + 4, f.compact(lo), "end"),
    label(left, bottom + 15, f.day(g.chartFrom), "start"),
    label(width - right, bottom + 15, f.day(g.chartTo), "end"),
  );
  // The series: grey before the study's period, blue within it.
  const path = (points: readonly DayCount[]) => points.map((p) => `${fixed(x(p.day))},${fixed(y(p.count))}`).join(" ");
  const beforePart = g.points.filter((p) => p.day <= g.start.day);
  const periodPart = g.points.filter((p) => p.day >= g.start.day);
  if (beforePart.length > 1) parts.push(`<polyline points="${path(beforePart)}" fill="none" stroke="${BEFORE}" stroke-width="1.5" stroke-dasharray="4 3"/>`);
  if (periodPart.length > 1) parts.push(`<polyline points="${path(periodPart)}" fill="none" stroke="${LINE}" stroke-width="2"/>`);
  for (const p of [g.start, g.end]) parts.push(`<circle cx="${fixed(x(p.day))}" cy="${fixed(y(p.count))}" r="3.5" fill="${LINE}"/>`);

  return (
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-labelledby="${id}-t ${id}-d" font-family="${FONT}" class="audience-chart">` +
    `<title id="${id}-t">${escapeXml(text.title)}</title><desc id="${id}-d">${escapeXml(text.description)}</desc>` +
    parts.join("") +
    `</svg>`
  );
}

// ---------------------------------------------------------------- JSON export

export interface AudienceJson {
  /** The study's period (first wave's opening to last wave's closing, or today), YYYY-MM-DD; null before any wave opened. */
  period: { from: string; to: string; days: number } | null;
  /** Per segment and measure; percent is a fraction (0.096 = +9.6 %), null when the start is 0. */
  growth: Array<{
    segment: string;
    measure: AudienceMeasure | null;
    source: "series" | "waves";
    start: DayCount;
    end: DayCount;
    change: number;
    percent: number | null;
    before: { start: DayCount; end: DayCount; change: number; percent: number | null; days: number } | null;
  }>;
  /** Segments with one measurement only. */
  single: Array<{ segment: string; measure: AudienceMeasure | null; source: "series" | "waves"; point: DayCount }>;
}

export function audienceJson(answer: AudienceAnswer, segmentKey: (segmentId: number) => string): AudienceJson {
  return {
    period: answer.period,
    growth: answer.growth.map((g) => ({
      segment: segmentKey(g.segmentId),
      measure: g.measure,
      source: g.source,
      start: g.start,
      end: g.end,
      change: g.change,
      percent: g.percent,
      before: g.before,
    })),
    single: answer.single.map((s) => ({ segment: segmentKey(s.segmentId), measure: s.measure, source: s.source, point: s.point })),
  };
}
