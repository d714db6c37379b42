/**
 * The trends section of a results page, share-link report or monthly report, read back from its
 * HTML and checked against the results JSON's trends: one truth per number.
 */
import { expect } from "vitest";
import { messages, translator } from "../../server/i18n/index.js";
import { numberFormats } from "../../server/presenters/results.js";
import type { TrendChange, Trends } from "../../stats/index.js";
import { cellText, readerText } from "./page-text.js";

export interface ShownTrendRow {
  wave: string;
  share: string;
  /** The change's cell and its verdict's cell. */
  vsPrevious: [string, string];
  vsBaseline: [string, string];
}

/** Each trend block of the page, in order: its heading, its rows' cells and its chart's dots (wide layout). */
export function shownTrends(html: string) {
  const section = /<section class="trends"[\s\S]*?<\/section>/.exec(html)?.[0] ?? "";
  return [...section.matchAll(/<div class="trend" id="trend-\d+">([\s\S]*?)<\/table>/g)].map((m) => {
    const block = m[1]!;
    const rows = [...block.matchAll(/<tr data-wave="(\d+)">([\s\S]*?)<\/tr>/g)].map((r): ShownTrendRow => ({
      wave: r[1]!,
      share: cellText(r[2]!, "share"),
      vsPrevious: [cellText(r[2]!, "vs-previous"), cellText(r[2]!, "(?:verdict )?vs-previous-verdict")],
      vsBaseline: [cellText(r[2]!, "vs-baseline"), cellText(r[2]!, "(?:verdict )?vs-baseline-verdict")],
    }));
    const wide = /<div class="chart-wide">([\s\S]*?)<\/div>/.exec(block)?.[1] ?? "";
    const dots = [...wide.matchAll(/<circle [^>]*data-p="([^"]+)"/g)].map((d) => Number(d[1]));
    return { heading: readerText(/<h4>([\s\S]*?)<\/h4>/.exec(block)?.[1] ?? ""), rows, dots };
  });
}

/** A change's cell and verdict as the page must word them, computed from the JSON's change. */
export function expectedChange(c: TrendChange | null, locale: "en" | "ru"): [string, string] {
  if (!c) return ["—", "—"];
  const f = numberFormats(locale);
  const value = readerText(`${f.pp(c.change.estimate)} [${f.ppNumber(c.verdictInterval.lower)}; ${f.ppNumber(c.verdictInterval.upper)}] ${translator(locale)("verdict.interval", { level: f.level(c.verdictLevel) })}`);
  return [value, messages[locale].verdict.labels[c.verdict]];
}

/** The page's trends against the JSON's, series by series, row by row and dot by dot. */
export function expectSameTrends(html: string, trends: Trends, locale: "en" | "ru", where: string): void {
  const f = numberFormats(locale);
  const shown = shownTrends(html);
  expect(shown, where).toHaveLength(trends.series.length);
  trends.series.forEach((series, i) => {
    const block = shown[i]!;
    expect(block.rows.map((r) => r.wave), `${where} waves`).toEqual(series.points.map((p) => p.wave));
    expect(block.dots, `${where} chart`).toEqual(series.points.flatMap((p) => (p.share ? [p.share.p] : [])));
    series.points.forEach((point, j) => {
      const row = block.rows[j]!;
      const at = `${where} ${series.metric}/${series.segment}/${point.wave}`;
      expect(row.share, at).toBe(point.share ? readerText(`${f.percent(point.share.p)} [${f.percent(point.share.lower)}; ${f.percent(point.share.upper)}]`) : readerText(translator(locale)("tracking.trends.noData")));
      expect(row.vsPrevious, at).toEqual(expectedChange(point.vsPrevious, locale));
      expect(row.vsBaseline, at).toEqual(expectedChange(point.vsBaseline, locale));
    });
  });
}
