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

let chartCounter = 0;
const nextId = () => `chart-${++chartCounter}`;

/** Pre vs post share per segment of one metric, with interval whiskers. Horizontal bars fit phones. */
export function awarenessBars(rows: readonly LiftRow[], text: ChartText): string {
  const id = nextId();
  const labelWidth = 170;
  const width = 640;
  const plot = width - labelWidth - 70;
  const rowHeight = 46;
  const top = 30;
  const height = top + rows.length * rowHeight + 34;
  const x = (share: number) => labelWidth + Math.max(0, Math.min(1, share)) * plot;
  const parts: string[] = [];

  for (const tick of [0, 0.25, 0.5, 0.75, 1]) {
    parts.push(
      `<line x1="${fixed(x(tick))}" x2="${fixed(x(tick))}" y1="${top - 6}" y2="${height - 28}" stroke="#ddd"/>`,
      `<text x="${fixed(x(tick))}" y="${height - 12}" text-anchor="middle" font-size="11" fill="#555">${escapeXml(text.percent(tick))}</text>`,
    );
  }
  rows.forEach((row, i) => {
    const y = top + i * rowHeight;
    parts.push(`<text x="${labelWidth - 8}" y="${y + 20}" text-anchor="end" font-size="12" fill="#222">${escapeXml(truncate(row.segmentLabel, 26))}</text>`);
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
        `<text x="${fixed(Math.max(x(w.upper), barEnd) + 6)}" y="${by + 12}" font-size="11" fill="#222">${escapeXml(text.percent(w.p))}</text>`,
      );
    }
  });
  const legend = [
    `<rect x="${labelWidth}" y="6" width="12" height="12" fill="#fff" stroke="${PRE}" stroke-width="2"/>`,
    `<text x="${labelWidth + 18}" y="16" font-size="12" fill="#222">${escapeXml(text.pre)}</text>`,
    `<rect x="${labelWidth + 140}" y="6" width="12" height="12" fill="${POST}" stroke="${POST}" stroke-width="2"/>`,
    `<text x="${labelWidth + 158}" y="16" font-size="12" fill="#222">${escapeXml(text.post)}</text>`,
  ];
  return svg(id, width, height, text, [...legend, ...parts]);
}

/** Round tick step (in shares) for a symmetric axis up to `extent`: at most 4 steps each side. */
export function tickStep(extent: number): number {
  for (const step of [0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5]) if (extent / step <= 4) return step;
  return 0.5;
}

/**
 * The verdict's measure (lift, or lift beyond the control) with the interval printed beside the
 * verdict, for every row, around a zero line: filled dot for a detected rise or fall, hollow
 * otherwise. It reads row.verdict and row.verdictInterval only, so it cannot disagree with the table.
 */
export function liftDots(rows: readonly LiftRow[], text: ChartText): string {
  const id = nextId();
  const labelWidth = 260;
  const width = 680;
  const plot = width - labelWidth - 30;
  const rowHeight = 26;
  const top = 14;
  const height = top + rows.length * rowHeight + 34;
  const widest = Math.max(0.01, ...rows.flatMap((r) => [Math.abs(r.verdictInterval.lower), Math.abs(r.verdictInterval.upper)]));
  const step = tickStep(widest);
  const extent = Math.ceil(widest / step - 1e-9) * step;
  const x = (lift: number) => labelWidth + ((lift + extent) / (2 * extent)) * plot;
  const parts: string[] = [];
  for (let k = -Math.round(extent / step); k <= Math.round(extent / step); k++) {
    const tick = k * step;
    parts.push(
      `<line x1="${fixed(x(tick))}" x2="${fixed(x(tick))}" y1="${top - 4}" y2="${height - 28}" stroke="${k === 0 ? "#222" : "#ddd"}"${k === 0 ? ' stroke-width="1.5"' : ""}/>`,
      `<text x="${fixed(x(tick))}" y="${height - 12}" text-anchor="middle" font-size="11" fill="#555">${escapeXml(text.pp(tick))}</text>`,
    );
  }
  rows.forEach((row, i) => {
    const y = top + i * rowHeight + 10;
    const changed = row.verdict === "rise" || row.verdict === "fall";
    const colour = row.verdict === "rise" ? RISE : row.verdict === "fall" ? FALL : NEUTRAL;
    const label = `${row.metricLabel} · ${row.segmentLabel}`;
    const interval = row.verdictInterval;
    parts.push(
      `<text x="${labelWidth - 8}" y="${y + 4}" text-anchor="end" font-size="12" fill="#222">${escapeXml(truncate(label, 40))}</text>`,
      `<line x1="${fixed(x(interval.lower))}" x2="${fixed(x(interval.upper))}" y1="${y}" y2="${y}" stroke="${colour}" stroke-width="2"/>`,
      changed
        ? `<circle cx="${fixed(x(row.verdictEstimate))}" cy="${y}" r="5" fill="${colour}" data-verdict="${row.verdict}"/>`
        : `<circle cx="${fixed(x(row.verdictEstimate))}" cy="${y}" r="5" fill="#fff" stroke="${colour}" stroke-width="2" data-verdict="${row.verdict}"/>`,
    );
  });
  return svg(id, width, height, text, parts);
}

function svg(id: string, width: number, height: number, text: ChartText, parts: string[]): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="100%" role="img" aria-labelledby="${id}-t ${id}-d" font-family="${FONT}">` +
    `<title id="${id}-t">${escapeXml(text.title)}</title><desc id="${id}-d">${escapeXml(text.description)}</desc>` +
    parts.join("") +
    `</svg>`
  );
}

function truncate(s: string, max: number): string {
  return [...s].length > max ? [...s].slice(0, max - 1).join("") + "…" : s;
}
