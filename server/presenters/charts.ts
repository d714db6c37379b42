import { createHash } from "node:crypto";
import type { LiftRow } from "../../stats/index.js";

/**
 * Server-rendered SVG charts: no client library, readable without JavaScript, printable.
 * Every piece of text is escaped here (labels come from researchers). Colours are from the
 * Okabe–Ito palette, safe for the common colour-vision deficiencies; pre and post also differ
 * in pattern (hollow vs filled) so the chart survives greyscale printing.
 */

const PRE = "#E69F00";
const POST = "#0072B2";
const RISE = "#009E73";
const FALL = "#D55E00";
const NEUTRAL = "#666666";
const FONT = "system-ui, -apple-system, Segoe UI, Roboto, Arial, sans-serif";

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

const fixed = (n: number) => (Math.round(n * 10) / 10).toString();

export interface ChartText {
  /** Title read by screen readers and shown as the chart's heading. */
  title: string;
  /** A sentence-level summary for assistive technology (the table beside it has every number). */
  description: string;
  pre: string;
  post: string;
  /** Formats a share 0..1 as a percentage, in the reader's locale. */
  percent: (share: number) => string;
  /** Formats a lift in percentage points, signed. */
  pp: (share: number) => string;
}


/**
 * Every chart comes in two layouts, switched by CSS at 640 px, so its text stays at least ~11 px on
 * screen at any width: a wide one (labels beside the data, viewBox ~650 units for a ~700 px column)
 * and a narrow one (labels above the data, viewBox 340 units for a phone). An SVG scales its text
 * with its width, so one layout for both would print 6 px text on a phone.
 */
function layouts(wide: string, narrow: string): string {
  return `<div class="chart-wide">${wide}</div><div class="chart-narrow">${narrow}</div>`;
}

const LABEL_SIZE = 12;
const TICK_SIZE = 12;
/** Average advance of a character at 12 px in the fonts above (Cyrillic is a little wider than Latin). */
const CHAR_WIDTH = 7;

/** Splits a label into lines of at most `maxChars`, at spaces where possible; at most `maxLines`, the last cut with "…". */
export function wrapLabel(text: string, maxChars: number, maxLines = 2): string[] {
  const words = text.split(/\s+/).filter(Boolean);
  const lines: string[] = [];
  let line = "";
  for (let word of words) {
    while ([...word].length > maxChars) {
      if (line) {
        lines.push(line);
        line = "";
      }
      lines.push([...word].slice(0, maxChars).join(""));
      word = [...word].slice(maxChars).join("");
    }
    const candidate = line ? `${line} ${word}` : word;
    if ([...candidate].length <= maxChars) line = candidate;
    else {
      lines.push(line);
      line = word;
    }
  }
  if (line) lines.push(line);
  if (lines.length <= maxLines) return lines;
  const kept = lines.slice(0, maxLines);
  kept[maxLines - 1] = truncate(`${kept[maxLines - 1]} ${lines.slice(maxLines).join(" ")}`, maxChars);
  return kept;
}

/** A multi-line label: one <text> with a <tspan> per line. */
function label(lines: readonly string[], x: number, y: number, anchor: "start" | "end", weight = 400): string {
  const spans = lines.map((l, i) => `<tspan x="${fixed(x)}" dy="${i === 0 ? 0 : LABEL_SIZE + 3}">${escapeXml(l)}</tspan>`).join("");
  return `<text x="${fixed(x)}" y="${fixed(y)}" text-anchor="${anchor}" font-size="${LABEL_SIZE}"${weight !== 400 ? ` font-weight="${weight}"` : ""} fill="#222">${spans}</text>`;
}

const LINE_HEIGHT = LABEL_SIZE + 3;

/** Pre vs post share per segment of one metric, with interval whiskers (unadjusted Wilson, the table's level). */
export function awarenessBars(rows: readonly LiftRow[], text: ChartText): string {
  return layouts(barsLayout(rows, text, "wide"), barsLayout(rows, text, "narrow"));
}

function barsLayout(rows: readonly LiftRow[], text: ChartText, layout: "wide" | "narrow"): string {
  const wide = layout === "wide";
  const width = wide ? 640 : 340;
  const labelWidth = wide ? 190 : 4;
  const plot = width - labelWidth - 56;
  const x = (share: number) => labelWidth + Math.max(0, Math.min(1, share)) * plot;
  const labels = rows.map((row) => wrapLabel(row.segmentLabel, wide ? Math.floor((labelWidth - 12) / CHAR_WIDTH) : Math.floor((width - 8) / CHAR_WIDTH)));
  const top = 30;
  const parts: string[] = [];
  let y = top;
  rows.forEach((row, i) => {
    const lines = labels[i]!;
    if (wide) parts.push(label(lines, labelWidth - 8, y + 16, "end"));
    else {
      parts.push(label(lines, labelWidth, y + LABEL_SIZE, "start"));
      y += lines.length * LINE_HEIGHT + 2;
    }
    const bars: Array<[typeof row.pre, string, boolean, number]> = [
      [row.pre, PRE, false, y + 4],
      [row.post, POST, true, y + 22],
    ];
    for (const [w, colour, filled, by] of bars) {
      const barEnd = x(w.p);
      parts.push(
        `<rect x="${labelWidth}" y="${by}" width="${fixed(barEnd - labelWidth)}" height="14" fill="${filled ? colour : "#fff"}" stroke="${colour}" stroke-width="2"/>`,
        `<line x1="${fixed(x(w.lower))}" x2="${fixed(x(w.upper))}" y1="${by + 7}" y2="${by + 7}" stroke="#222" stroke-width="1.5"/>`,
        `<line x1="${fixed(x(w.lower))}" x2="${fixed(x(w.lower))}" y1="${by + 2}" y2="${by + 12}" stroke="#222" stroke-width="1.5"/>`,
        `<line x1="${fixed(x(w.upper))}" x2="${fixed(x(w.upper))}" y1="${by + 2}" y2="${by + 12}" stroke="#222" stroke-width="1.5"/>`,
        `<text x="${fixed(Math.max(x(w.upper), barEnd) + 5)}" y="${by + 12}" font-size="${TICK_SIZE}" fill="#222">${escapeXml(text.percent(w.p))}</text>`,
      );
    }
    y += wide ? Math.max(44, lines.length * LINE_HEIGHT + 14) : 44;
  });
  const height = y + 30;
  for (const tick of [0, 0.25, 0.5, 0.75, 1]) {
    parts.unshift(`<line x1="${fixed(x(tick))}" x2="${fixed(x(tick))}" y1="${top - 6}" y2="${height - 26}" stroke="#ddd"/>`);
    parts.push(`<text x="${fixed(x(tick))}" y="${height - 10}" text-anchor="${tick === 0 && !wide ? "start" : "middle"}" font-size="${TICK_SIZE}" fill="#555">${escapeXml(text.percent(tick))}</text>`);
  }
  const legendX = wide ? labelWidth : labelWidth;
  const legend = [
    `<rect x="${legendX}" y="6" width="12" height="12" fill="#fff" stroke="${PRE}" stroke-width="2"/>`,
    `<text x="${legendX + 18}" y="16" font-size="${LABEL_SIZE}" fill="#222">${escapeXml(truncate(text.pre, 20))}</text>`,
    `<rect x="${legendX + 160}" y="6" width="12" height="12" fill="${POST}" stroke="${POST}" stroke-width="2"/>`,
    `<text x="${legendX + 178}" y="16" font-size="${LABEL_SIZE}" fill="#222">${escapeXml(truncate(text.post, 20))}</text>`,
  ];
  return svg(width, height, text, [...legend, ...parts]);
}

/** Round tick step (in shares) for a symmetric axis up to `extent`: at most 4 steps each side. */
export function tickStep(extent: number): number {
  for (const step of [0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5]) if (extent / step <= 4) return step;
  return 0.5;
}

/**
 * The verdict's measure (lift, or lift beyond the control) with the interval printed beside the
 * verdict, for every row, grouped by metric, around a zero line with round ticks: a filled dot for
 * a detected rise or fall, hollow otherwise. It reads row.verdict and row.verdictInterval only, so
 * it cannot disagree with the table.
 */
export function liftDots(rows: readonly LiftRow[], text: ChartText): string {
  return layouts(dotsLayout(rows, text, "wide"), dotsLayout(rows, text, "narrow"));
}

function dotsLayout(rows: readonly LiftRow[], text: ChartText, layout: "wide" | "narrow"): string {
  const wide = layout === "wide";
  const width = wide ? 660 : 340;
  const labelWidth = wide ? 210 : 0;
  // Room for half a tick label ("+40,0 п. п.") beyond each end of the axis.
  const margin = 40;
  const left = labelWidth + margin;
  const plot = width - left - margin;
  const widest = Math.max(0.01, ...rows.flatMap((r) => [Math.abs(r.verdictInterval.lower), Math.abs(r.verdictInterval.upper)]));
  const step = tickStep(widest);
  const extent = Math.ceil(widest / step - 1e-9) * step;
  const x = (lift: number) => left + ((lift + extent) / (2 * extent)) * plot;
  const top = 8;
  const parts: string[] = [];
  let y = top;
  const metrics = [...new Set(rows.map((r) => r.metric))];
  for (const metric of metrics) {
    const group = rows.filter((r) => r.metric === metric);
    const heading = wrapLabel(group[0]!.metricLabel, Math.floor((width - 8) / CHAR_WIDTH), 2);
    parts.push(label(heading, 4, y + LABEL_SIZE, "start", 600));
    y += heading.length * LINE_HEIGHT + 8;
    for (const row of group) {
      const lines = wrapLabel(row.segmentLabel, wide ? Math.floor((labelWidth - 16) / CHAR_WIDTH) : Math.floor((width - 16) / CHAR_WIDTH));
      let lineY: number;
      if (wide) {
        parts.push(label(lines, labelWidth, y + 12, "end"));
        lineY = y + 8;
        y += Math.max(22, lines.length * LINE_HEIGHT + 7);
      } else {
        parts.push(label(lines, 12, y + LABEL_SIZE, "start"));
        lineY = y + lines.length * LINE_HEIGHT + 8;
        y = lineY + 14;
      }
      const changed = row.verdict === "rise" || row.verdict === "fall";
      const colour = row.verdict === "rise" ? RISE : row.verdict === "fall" ? FALL : NEUTRAL;
      const interval = row.verdictInterval;
      parts.push(
        `<line x1="${fixed(x(interval.lower))}" x2="${fixed(x(interval.upper))}" y1="${lineY}" y2="${lineY}" stroke="${colour}" stroke-width="2"/>`,
        changed
          ? `<circle cx="${fixed(x(row.verdictEstimate))}" cy="${lineY}" r="5" fill="${colour}" data-verdict="${row.verdict}"/>`
          : `<circle cx="${fixed(x(row.verdictEstimate))}" cy="${lineY}" r="5" fill="#fff" stroke="${colour}" stroke-width="2" data-verdict="${row.verdict}"/>`,
      );
    }
    y += 6;
  }
  const height = y + 30;
  const ticks: string[] = [];
  for (let k = -Math.round(extent / step); k <= Math.round(extent / step); k++) {
    const tick = k * step;
    // On a phone only the ends and zero are labelled, so the labels never touch.
    const last = Math.round(extent / step);
    const shown = wide || k === 0 || Math.abs(k) === last;
    ticks.push(`<line x1="${fixed(x(tick))}" x2="${fixed(x(tick))}" y1="${top}" y2="${height - 26}" stroke="${k === 0 ? "#222" : "#ddd"}"${k === 0 ? ' stroke-width="1.5"' : ""}/>`);
    if (shown) parts.push(`<text x="${fixed(x(tick))}" y="${height - 10}" text-anchor="middle" font-size="${TICK_SIZE}" fill="#555">${escapeXml(text.pp(tick))}</text>`);
  }
  return svg(width, height, text, [...ticks, ...parts]);
}

/**
 * A chart's SVG. Its id (what aria-labelledby names) is a digest of what it draws: the same page
 * renders the same HTML whenever and wherever it is rendered, which kept pages rely on
 * (results-snapshots/page-cache.ts); the two layouts of a chart and different charts differ.
 */
function svg(width: number, height: number, text: Pick<ChartText, "title" | "description">, parts: string[]): string {
  const body = parts.join("");
  const id = `chart-${createHash("sha1").update(`${width}\u0000${height}\u0000${text.title}\u0000${text.description}\u0000${body}`).digest("hex").slice(0, 12)}`;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="100%" role="img" aria-labelledby="${id}-t ${id}-d" font-family="${FONT}">` +
    `<title id="${id}-t">${escapeXml(text.title)}</title><desc id="${id}-d">${escapeXml(text.description)}</desc>` +
    body +
    `</svg>`
  );
}

function truncate(s: string, max: number): string {
  return [...s].length > max ? [...s].slice(0, max - 1).join("") + "…" : s;
}

/** One wave of a trend chart: its label and share with interval, or null without responses. */
export interface TrendChartPoint {
  label: string;
  share: { p: number; lower: number; upper: number } | null;
}

export interface TrendChartText {
  title: string;
  description: string;
  percent: (share: number) => string;
}

/**
 * What a trend chart shows beside the shares: a numbered marker above each wave whose period has
 * notes on the work (the legend under the chart says them in words), and a dashed line per KPI
 * target share on this metric × segment, labelled in words.
 */
export interface TrendChartExtras {
  /** Point index → the marker's number, as the legend under the chart lists it. */
  markers?: ReadonlyArray<{ index: number; number: number }>;
  targets?: ReadonlyArray<{ share: number; label: string }>;
}

/**
 * A metric's share in one segment per wave with its interval (the trend table's numbers): dots
 * joined by a line, whiskers for the intervals, the baseline hollow. The axis spans the intervals
 * in round steps, so a few points of change stay visible. Waves without responses leave a gap.
 */
export function trendLine(points: readonly TrendChartPoint[], text: TrendChartText, extras: TrendChartExtras = {}): string {
  return layouts(trendLayout(points, text, "wide", extras), trendLayout(points, text, "narrow", extras));
}

/** Round axis bounds and step (shares) around [min, max]: at most 5 steps. */
export function shareAxis(min: number, max: number): { lo: number; hi: number; step: number } {
  const span = Math.max(0, max - min);
  const step = [0.05, 0.1, 0.2, 0.25].find((s) => span / s <= 4) ?? 0.25;
  const lo = Math.max(0, Math.floor(min / step + 1e-9) * step);
  let hi = Math.min(1, Math.ceil(max / step - 1e-9) * step);
  if (hi - lo < step - 1e-9) hi = Math.min(1, lo + step);
  return { lo, hi: hi > lo ? hi : lo + step, step };
}

function trendLayout(points: readonly TrendChartPoint[], text: TrendChartText, layout: "wide" | "narrow", extras: TrendChartExtras): string {
  const wide = layout === "wide";
  const width = wide ? 640 : 340;
  // Room for a tick label such as "100 %" left of the axis.
  const left = 46;
  const right = 10;
  const markers = extras.markers ?? [];
  const targets = extras.targets ?? [];
  // A band above the plot for the markers' numbers.
  const top = markers.length ? 40 : 20;
  const plotHeight = wide ? 150 : 140;
  const plot = width - left - right;
  const shown = points.flatMap((p) => (p.share ? [p.share] : []));
  // The axis spans the intervals and every target, so a target line is never drawn off the chart.
  const lows = [...shown.map((s) => s.lower), ...targets.map((g) => g.share)];
  const highs = [...shown.map((s) => s.upper), ...targets.map((g) => g.share)];
  const axis = lows.length ? shareAxis(Math.min(...lows), Math.max(...highs)) : { lo: 0, hi: 1, step: 0.25 };
  const col = plot / Math.max(1, points.length);
  const x = (i: number) => left + col * (i + 0.5);
  const y = (share: number) => top + (1 - (Math.max(axis.lo, Math.min(axis.hi, share)) - axis.lo) / (axis.hi - axis.lo)) * plotHeight;
  const parts: string[] = [];
  for (let k = 0; axis.lo + k * axis.step <= axis.hi + 1e-9; k++) {
    const tick = axis.lo + k * axis.step;
    parts.push(
      `<line x1="${left}" x2="${width - right}" y1="${fixed(y(tick))}" y2="${fixed(y(tick))}" stroke="#ddd"/>`,
      `<text x="${left - 6}" y="${fixed(y(tick) + 4)}" text-anchor="end" font-size="${TICK_SIZE}" fill="#555">${escapeXml(text.percent(tick))}</text>`,
    );
  }
  // The line, broken where a wave has no responses.
  let path = "";
  points.forEach((p, i) => {
    if (!p.share) return;
    path += `${points[i - 1]?.share ? "L" : "M"}${fixed(x(i))} ${fixed(y(p.share.p))} `;
  });
  if (path) parts.push(`<path d="${path.trim()}" fill="none" stroke="${POST}" stroke-width="2"/>`);
  // Values above the whiskers only where a column has room for them.
  const values = col >= 58;
  points.forEach((p, i) => {
    if (!p.share) return;
    const cx = fixed(x(i));
    const { lower, upper } = p.share;
    parts.push(
      `<line x1="${cx}" x2="${cx}" y1="${fixed(y(lower))}" y2="${fixed(y(upper))}" stroke="#222" stroke-width="1.5"/>`,
      `<line x1="${fixed(x(i) - 4)}" x2="${fixed(x(i) + 4)}" y1="${fixed(y(lower))}" y2="${fixed(y(lower))}" stroke="#222" stroke-width="1.5"/>`,
      `<line x1="${fixed(x(i) - 4)}" x2="${fixed(x(i) + 4)}" y1="${fixed(y(upper))}" y2="${fixed(y(upper))}" stroke="#222" stroke-width="1.5"/>`,
      i === 0
        ? `<circle cx="${cx}" cy="${fixed(y(p.share.p))}" r="5" fill="#fff" stroke="${PRE}" stroke-width="2" data-p="${p.share.p}"/>`
        : `<circle cx="${cx}" cy="${fixed(y(p.share.p))}" r="5" fill="${POST}" data-p="${p.share.p}"/>`,
    );
    if (values) parts.push(`<text x="${cx}" y="${fixed(y(upper) - 5)}" text-anchor="middle" font-size="${TICK_SIZE}" fill="#222">${escapeXml(text.percent(p.share.p))}</text>`);
  });
  // Targets: dashed lines across the plot, labelled at the right end, above the line (below it
  // when a label above would touch the previous one or leave the chart).
  let lastLabelY = Number.NEGATIVE_INFINITY;
  [...targets]
    .sort((a, b) => b.share - a.share)
    .forEach((g) => {
      const ly = y(g.share);
      let labelY = ly - 4;
      if (labelY - LABEL_SIZE < top - 2 || labelY - lastLabelY < LINE_HEIGHT) labelY = ly + LABEL_SIZE + 2;
      lastLabelY = labelY;
      parts.push(
        `<line x1="${left}" x2="${width - right}" y1="${fixed(ly)}" y2="${fixed(ly)}" stroke="${FALL}" stroke-width="1.5" stroke-dasharray="6 4" data-target="${g.share}"/>`,
        `<text x="${width - right - 2}" y="${fixed(labelY)}" text-anchor="end" font-size="${LABEL_SIZE}" fill="#222" paint-order="stroke" stroke="#fff" stroke-width="3">${escapeXml(truncate(g.label, Math.floor((plot - 8) / CHAR_WIDTH)))}</text>`,
      );
    });
  // Markers: a dotted line down the wave's column and its number in a badge above the plot.
  for (const m of markers) {
    if (m.index < 0 || m.index >= points.length) continue;
    const mx = fixed(x(m.index));
    parts.push(
      `<line x1="${mx}" x2="${mx}" y1="${top - 6}" y2="${top + plotHeight}" stroke="${NEUTRAL}" stroke-width="1" stroke-dasharray="2 3"/>`,
      `<rect x="${fixed(x(m.index) - 10)}" y="${top - 30}" width="20" height="20" rx="3" fill="#fff" stroke="${NEUTRAL}" stroke-width="1.5" data-marker="${m.number}"/>`,
      `<text x="${mx}" y="${top - 15}" text-anchor="middle" font-size="${LABEL_SIZE}" font-weight="600" fill="#222">${m.number}</text>`,
    );
  }
  // Wave labels under the axis; on a narrow chart with many waves, every few and always the
  // latest (the table lists all).
  const stride = Math.max(1, Math.ceil((6 * CHAR_WIDTH + 6) / col));
  const last = points.length - 1;
  const labelTop = top + plotHeight + 18;
  let lines = 1;
  points.forEach((p, i) => {
    if (i !== last && (i % stride !== 0 || last - i < stride)) return;
    const room = Math.min(col * stride, 2 * Math.min(x(i), width - x(i))) - 6;
    const wrapped = wrapLabel(p.label, Math.max(3, Math.floor(room / CHAR_WIDTH)));
    lines = Math.max(lines, wrapped.length);
    const spans = wrapped.map((l, j) => `<tspan x="${fixed(x(i))}" dy="${j === 0 ? 0 : LINE_HEIGHT}">${escapeXml(l)}</tspan>`).join("");
    parts.push(`<text x="${fixed(x(i))}" y="${labelTop}" text-anchor="middle" font-size="${LABEL_SIZE}" fill="#222">${spans}</text>`);
  });
  const height = labelTop + (lines - 1) * LINE_HEIGHT + 8;
  return svg(width, height, text, parts);
}
