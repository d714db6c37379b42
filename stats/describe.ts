import type { AdjustmentMethod } from "./adjust.js";
import type { LiftRow } from "./lift-table.js";
import { SMALL_N, type Verdict } from "./verdict.js";

export type DescribeLocale = "ru" | "en";

const MINUS = "\u2212"; // typographic minus instead of the hyphen Intl prints
const NBSP = "\u00a0";

interface Phrases {
  among: (segment: string, metric: string, control: boolean) => string;
  totalAudience: (metric: string) => string;
  totalSample: (metric: string) => string;
  change: Record<Verdict, (from: string, to: string) => string>;
  beyondTrend: (trend: string) => string;
  pp: string;
  ci: (level: string, lower: string, upper: string) => string;
  adjusted: (size: number, method: string) => string;
  alone: string;
  correction: Record<AdjustmentMethod, string>;
  smallN: (n: string) => string;
}

const PHRASES: Record<DescribeLocale, Phrases> = {
  en: {
    among: (segment, metric, control) => `Among ${segment}${control ? " (control group)" : ""}, ${metric}`,
    totalAudience: (metric) => `Across all segments (weighted by audience size), ${metric}`,
    totalSample: (metric) => `Across all segments (weighted by each segment’s share of respondents), ${metric}`,
    change: {
      rise: (from, to) => `rose from ${from} to ${to}`,
      fall: (from, to) => `fell from ${from} to ${to}`,
      no_change: (from, to) => `showed no detectable change (${from} and ${to})`,
      not_enough_data: (from, to) => `cannot be judged yet: too few respondents (${from} and ${to})`,
    },
    beyondTrend: (trend) => `beyond the market trend of the control group (${trend})`,
    pp: " pp",
    ci: (level, lower, upper) => `${level} CI ${lower} to ${upper}`,
    adjusted: (size, method) => `adjusted for ${size} segments, ${method}`,
    alone: "tested on its own",
    correction: { holm: "Holm", bh: "Benjamini–Hochberg", bonferroni: "Bonferroni" },
    smallN: (n) => `; caution: fewer than ${n} respondents in a wave`,
  },
  // Russian agreement (выросла/выросло/вырос) would depend on the metric label's gender, which a
  // label cannot tell us, so the sentence names the change with a noun: рост, снижение.
  ru: {
    among: (segment, metric, control) => `Сегмент «${segment}»${control ? " (контрольная группа)" : ""}, ${metric}`,
    totalAudience: (metric) => `Все сегменты (взвешено по размеру аудитории), ${metric}`,
    totalSample: (metric) => `Все сегменты (взвешено по доле опрошенных в каждом сегменте), ${metric}`,
    change: {
      rise: (from, to) => `рост с ${from} до ${to}`,
      fall: (from, to) => `снижение с ${from} до ${to}`,
      no_change: (from, to) => `изменение не обнаружено (${from} и ${to})`,
      not_enough_data: (from, to) => `пока нельзя судить: слишком мало ответов (${from} и ${to})`,
    },
    beyondTrend: (trend) => `сверх общего тренда рынка по контрольной группе (${trend})`,
    pp: `${NBSP}п.${NBSP}п.`,
    ci: (level, lower, upper) => `${level} ДИ от ${lower} до ${upper}`,
    adjusted: (size, method) => `с поправкой ${method} на ${size} ${segmentsRu(size)}`,
    alone: "без поправки на множественность",
    correction: { holm: "Холма", bh: "Бенджамини — Хохберга", bonferroni: "Бонферрони" },
    smallN: (n) => `; осторожно: в одной из волн меньше ${n} респондентов`,
  },
};

function segmentsRu(n: number): string {
  const tens = n % 100;
  const ones = n % 10;
  if (tens >= 11 && tens <= 14) return "сегментов";
  if (ones === 1) return "сегмент";
  return ones >= 2 && ones <= 4 ? "сегмента" : "сегментов";
}

/**
 * One sentence summarising a liftTable row, in English or Russian, read from the row's verdict and
 * the interval printed with it (verdictInterval at verdictLevel), e.g.
 *   "Among subscribers, aided awareness rose from 31% to 38%, +7.0 pp (98.3% CI +2.1 to +11.8,
 *    adjusted for 3 segments, Holm)."
 * With a control segment the number is the difference-in-differences, with the market trend.
 *
 * Labels come from the row, so pass labels in the language of `locale`. Numbers are formatted with
 * Intl.NumberFormat for the locale (decimal comma and no-break spaces in Russian), with a
 * typographic minus. Percentages get no decimals unless the two waves would then print the same.
 */
export function describeRow(row: LiftRow, locale: DescribeLocale): string {
  const phrases = PHRASES[locale];
  if (phrases === undefined) throw new RangeError(`describeRow: locale must be "ru" or "en", got ${String(locale)}`);
  const format = formatters(locale);

  const subject =
    row.kind === "total"
      ? row.totalMethod === "audience"
        ? phrases.totalAudience(row.metricLabel)
        : phrases.totalSample(row.metricLabel)
      : phrases.among(row.segmentLabel, row.metricLabel, row.role === "control");
  const [from, to] = format.shares(row.pre.p, row.post.p);
  const estimate = `${format.points(row.verdictEstimate)}${phrases.pp}`;
  const trend = row.differenceInDifferences
    ? ` ${phrases.beyondTrend(`${format.points(row.differenceInDifferences.marketTrend.estimate)}${phrases.pp}`)}`
    : "";
  const ci = phrases.ci(format.level(row.verdictLevel), format.points(row.verdictInterval.lower), format.points(row.verdictInterval.upper));
  const adjustment = row.familySize > 1 ? phrases.adjusted(row.familySize, phrases.correction[row.adjustment]) : phrases.alone;
  const caution = row.warnings.includes("small_n") ? phrases.smallN(String(SMALL_N)) : "";
  const separator = locale === "ru" ? ": " : " ";
  return `${subject}${separator}${phrases.change[row.verdict](from, to)}, ${estimate}${trend} (${ci}, ${adjustment})${caution}.`;
}

interface Formatters {
  shares: (p1: number, p2: number) => [string, string];
  points: (proportion: number) => string;
  level: (level: number) => string;
}

const cache = new Map<DescribeLocale, Formatters>();

function formatters(locale: DescribeLocale): Formatters {
  const cached = cache.get(locale);
  if (cached !== undefined) return cached;
  const percent = [0, 1, 2].map(
    (digits) => new Intl.NumberFormat(locale, { style: "percent", minimumFractionDigits: digits, maximumFractionDigits: digits }),
  );
  const points = new Intl.NumberFormat(locale, { minimumFractionDigits: 1, maximumFractionDigits: 1, signDisplay: "exceptZero" });
  // Adjusted levels such as 98.33% keep one decimal; 95% stays 95%.
  const level = new Intl.NumberFormat(locale, { style: "percent", maximumFractionDigits: 1 });
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
  };
  cache.set(locale, made);
  return made;
}
