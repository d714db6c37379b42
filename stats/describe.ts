import type { AdjustmentMethod } from "./adjust.js";
import type { LiftRow } from "./lift-table.js";
import { SMALL_N } from "./lift-table.js";

export type DescribeLocale = "ru" | "en";

const MINUS = "\u2212"; // typographic minus instead of the hyphen Intl prints
const NBSP = "\u00a0";

interface Phrases {
  among: (segment: string, metric: string, control: boolean) => string;
  totalStratified: (metric: string) => string;
  totalPooled: (metric: string) => string;
  change: Record<LiftRow["verdict"], (from: string, to: string) => string>;
  pp: string;
  ci: (level: string, lower: string, upper: string) => string;
  significant: string;
  notSignificant: string;
  correction: Record<AdjustmentMethod, string>;
  fisher: string;
  smallN: (n: string) => string;
}

const PHRASES: Record<DescribeLocale, Phrases> = {
  en: {
    among: (segment, metric, control) => `Among ${segment}${control ? " (control group)" : ""}, ${metric}`,
    totalStratified: (metric) => `Across all segments (weighted by audience size), ${metric}`,
    totalPooled: (metric) => `Across all segments (pooled), ${metric}`,
    change: {
      rise: (from, to) => `rose from ${from} to ${to}`,
      fall: (from, to) => `fell from ${from} to ${to}`,
      no_change: (from, to) => `went from ${from} to ${to}`,
    },
    pp: " pp",
    ci: (level, lower, upper) => `${level} CI ${lower} to ${upper}`,
    significant: "significant after",
    notSignificant: "not significant after",
    correction: { holm: "Holm correction", bh: "Benjamini–Hochberg correction", bonferroni: "Bonferroni correction" },
    fisher: "Fisher’s exact test, ",
    smallN: (n) => `; caution: fewer than ${n} respondents in a wave`,
  },
  // Russian agreement (выросла/выросло/вырос) would depend on the metric label's gender, which a
  // label cannot tell us, so the sentence names the change with a noun: рост, снижение, изменение.
  ru: {
    among: (segment, metric, control) => `Сегмент «${segment}»${control ? " (контрольная группа)" : ""}, ${metric}`,
    totalStratified: (metric) => `Все сегменты (взвешено по размеру аудитории), ${metric}`,
    totalPooled: (metric) => `Все сегменты (объединённая выборка), ${metric}`,
    change: {
      rise: (from, to) => `рост с ${from} до ${to}`,
      fall: (from, to) => `снижение с ${from} до ${to}`,
      no_change: (from, to) => `изменение с ${from} до ${to}`,
    },
    pp: `${NBSP}п.${NBSP}п.`,
    ci: (level, lower, upper) => `${level} ДИ от ${lower} до ${upper}`,
    significant: "статистически значимо с учётом",
    notSignificant: "статистически незначимо с учётом",
    correction: { holm: "поправки Холма", bh: "поправки Бенджамини — Хохберга", bonferroni: "поправки Бонферрони" },
    fisher: "точный тест Фишера, ",
    smallN: (n) => `; осторожно: в одной из волн меньше ${n} респондентов`,
  },
};

/**
 * One sentence summarising a liftTable row for a report, in English or Russian, e.g.
 *   "Among subscribers, aided awareness rose from 31% to 38% (+7.0 pp, 95% CI +2.1 to +11.8);
 *    significant after Holm correction (p = 0.004)."
 *   "Сегмент «подписчики», узнаваемость с подсказкой: рост с 31 % до 38 % (+7,0 п. п., 95 % ДИ от
 *    +2,1 до +11,8); статистически значимо с учётом поправки Холма (p = 0,004)."
 *
 * Labels come from the row (the metric and segment labels given to liftTable), so pass labels in
 * the language of `locale`; total rows use a fixed phrase for "all segments". Numbers are formatted
 * with Intl.NumberFormat for the locale (decimal comma and no-break spaces in Russian), with a
 * typographic minus. The p-value quoted is the adjusted one that decides the verdict; it gets as
 * many significant digits (2 to 6) as it takes for its rounded value to sit on the same side of
 * alpha as the exact one, and is written "p < 0.001" below 0.001. Percentages get no decimals
 * unless the two waves would then print the same.
 */
export function describeRow(row: LiftRow, locale: DescribeLocale): string {
  const phrases = PHRASES[locale];
  if (phrases === undefined) throw new RangeError(`describeRow: locale must be "ru" or "en", got ${String(locale)}`);
  const format = formatters(locale);

  const subject =
    row.kind === "total"
      ? row.totalMethod === "stratified"
        ? phrases.totalStratified(row.metricLabel)
        : phrases.totalPooled(row.metricLabel)
      : phrases.among(row.segmentLabel, row.metricLabel, row.role === "control");
  const [from, to] = format.shares(row.pre.p, row.post.p);
  const lift = row.absoluteLift;
  const liftText = `${format.points(lift.estimate)}${phrases.pp}`;
  const ciText = phrases.ci(format.level(row.confidenceLevel), format.points(lift.lower), format.points(lift.upper));
  const verdictText = `${row.verdict === "no_change" ? phrases.notSignificant : phrases.significant} ${phrases.correction[row.adjustment]}`;
  const test = row.test === "fisher" ? phrases.fisher : "";
  const pText = format.pValue(row.adjustedPValue, row.alpha);
  const caution = row.warnings.includes("small_n") ? phrases.smallN(String(SMALL_N)) : "";
  const separator = locale === "ru" ? ": " : " ";
  return `${subject}${separator}${phrases.change[row.verdict](from, to)} (${liftText}, ${ciText}); ${verdictText} (${test}${pText})${caution}.`;
}

interface Formatters {
  shares: (p1: number, p2: number) => [string, string];
  points: (proportion: number) => string;
  level: (level: number) => string;
  pValue: (p: number, alpha: number) => string;
}

const cache = new Map<DescribeLocale, Formatters>();

function formatters(locale: DescribeLocale): Formatters {
  const cached = cache.get(locale);
  if (cached !== undefined) return cached;
  const percent = [0, 1, 2].map(
    (digits) => new Intl.NumberFormat(locale, { style: "percent", minimumFractionDigits: digits, maximumFractionDigits: digits }),
  );
  const points = new Intl.NumberFormat(locale, { minimumFractionDigits: 1, maximumFractionDigits: 1, signDisplay: "exceptZero" });
  const level = new Intl.NumberFormat(locale, { style: "percent", maximumFractionDigits: 0 });
  const significant = [2, 3, 4, 5, 6].map((digits) => new Intl.NumberFormat(locale, { maximumSignificantDigits: digits }));
  const threshold = new Intl.NumberFormat(locale, { maximumFractionDigits: 3 }).format(0.001);
  const minus = (text: string): string => text.replace(/-/g, MINUS);
  const made: Formatters = {
    shares: (p1, p2) => {
      // The fewest decimals that still show two different shares as different.
      for (const f of percent) {
        const a = f.format(p1);
        const b = f.format(p2);
        if (a !== b || p1 === p2) return [a, b];
      }
      const last = percent[percent.length - 1]!;
      return [last.format(p1), last.format(p2)];
    },
    points: (proportion) => minus(points.format(proportion * 100)),
    level: (value) => level.format(value),
    pValue: (p, alpha) => {
      if (p < 0.001) return `p < ${threshold}`;
      for (let k = 0; k < significant.length; k++) {
        const digits = k + 2;
        const rounded = Number(p.toPrecision(digits));
        if (rounded < alpha === p < alpha || k === significant.length - 1) return `p = ${significant[k]!.format(p)}`;
      }
      return `p = ${significant[0]!.format(p)}`;
    },
  };
  cache.set(locale, made);
  return made;
}
