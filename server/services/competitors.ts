import { categoryTrend, netLift, wilson, type ConfidenceLevel, type Interval, type LiftTable, type Verdict } from "../../stats/index.js";
import type { Executor } from "../../db/client.js";
import type { CountFilter } from "../../db/queries/aggregation.js";
import { countCompetitorChoices, sumBrandLeads, type BrandLeadSums, type CompetitorCount, type CompetitorQuestion } from "../../db/queries/competitors.js";
import type { Locale, Segment, Study, Wave } from "../../db/schema.js";
import { localize, type SurveyQuestion } from "../domain/questionnaire.js";
import { BRAND_CODE } from "../domain/text-coding.js";
import { aidedQuestion, codedQuestions, codeDefinitions } from "../quality/coding.js";

/**
 * Competitors as a check on the brand's lift (issue 11, item 7). For the aided list's metric and
 * each unaided (coded) metric: every brand's share per segment and wave, and per exposed segment
 * the brand's lift net of the average competitor lift (stats/netLift on per-respondent
 * differences) with the "category trend" flag (stats/categoryTrend). All intervals are unadjusted,
 * at the results' confidence level: this is a check beside the verdict, not another verdict.
 */

/** One brand's share in one wave and segment: x of the metric's base n, with its Wilson interval. */
export interface CompetitorShare {
  x: number;
  n: number;
  p: number;
  lower: number;
  upper: number;
}

export interface CompetitorBrand {
  /** "brand" for the study's brand, else the competitor's option key. */
  code: string;
  /** The option's text in the reader's language (the study's brand name for the brand). */
  label: string;
  isBrand: boolean;
  /** Per segment (the study's order): the share in the compared pre and post waves (null without respondents). */
  segments: Array<{ segment: string; pre: CompetitorShare | null; post: CompetitorShare | null }>;
}

/** A difference of means between the waves with its interval (fractions). */
export interface NetEstimate extends Interval {
  estimate: number;
  se: number;
  pValue: number;
}

export interface CompetitorNet {
  /** An exposed segment's key. */
  segment: string;
  /** The brand's own row verdict in the lift table. */
  brandVerdict: Verdict;
  /** Mean over the competitors of their lift p2 - p1 (per respondent: C_i/K). */
  competitorLift: NetEstimate;
  /** The brand's lift net of the average competitor lift (per respondent: b_i - C_i/K). */
  netLift: NetEstimate;
  /** The brand rose, the competitors rose, and the net lift's interval contains 0. */
  categoryTrend: boolean;
}

export interface CompetitorCheck {
  metric: string;
  /** "aided": the brand list; "unaided": coded mentions in text answers. */
  source: "aided" | "unaided";
  /** Level of every interval here (unadjusted). */
  confidenceLevel: number;
  /** The study's brand first, then the competitors in the list's order. */
  brands: CompetitorBrand[];
  /** Exposed segments with at least two respondents in each wave. */
  net: CompetitorNet[];
}

export interface CompetitorInput {
  study: Study;
  pre: Wave;
  post: Wave;
  segments: readonly Segment[];
  questions: readonly SurveyQuestion[];
  table: LiftTable;
  confidence: ConfidenceLevel;
  locale: Locale;
}

/** The SQL aggregates behind the checks (see db/queries/competitors.ts), for every checked metric. */
export interface CompetitorCounts {
  leads: BrandLeadSums[];
  choices: CompetitorCount[];
}

/** The metrics that can be checked against competitors, with the competitors' labels. */
function checkedQuestions(input: Pick<CompetitorInput, "study" | "questions" | "locale">): Array<{ q: CompetitorQuestion; source: CompetitorCheck["source"]; brandLabel: string; labels: Map<string, string> }> {
  const { study, questions, locale } = input;
  const aided = aidedQuestion(questions);
  // Competitors are the aided list's brand options: not the brand, not "none"/"other" (the coding's
  // rule), not an attention check or a decoy, which name no brand.
  const decoys = new Set(aided?.metricExclude ?? []);
  const isRival = (key: string) => {
    const o = aided?.options.find((x) => x.key === key);
    return !!o && !o.attentionCheck && !decoys.has(o.key);
  };
  const rivals = codeDefinitions(undefined, questions, [], study.brand, locale, study.defaultLocale).filter((d) => d.kind === "competitor" && isRival(d.code));
  if (rivals.length === 0) return [];
  const labels = new Map(rivals.map((d) => [d.code, d.label]));
  const positive = new Set((aided?.metricPositive ?? []).map(String));
  const brandOptions = aided?.options.filter((o) => positive.has(o.key)) ?? [];
  const brandLabel = brandOptions.length === 1 ? localize(brandOptions[0]!.text, locale, study.defaultLocale) || study.brand : study.brand;

  const out: ReturnType<typeof checkedQuestions> = [];
  if (aided?.metricName && aided.type === "multi" && brandOptions.length > 0) {
    out.push({
      source: "aided",
      brandLabel,
      labels,
      q: {
        metric: aided.metricName,
        questionId: aided.id,
        kind: "options",
        brand: brandOptions.map((o) => o.id),
        competitors: rivals.map((d) => ({ code: d.code, match: aided.options.find((o) => o.key === d.code)!.id })),
        exclude: aided.options.filter((o) => decoys.has(o.key) && !positive.has(o.key)).map((o) => o.id),
      },
    });
  }
  for (const text of codedQuestions(questions)) {
    out.push({
      source: "unaided",
      brandLabel,
      labels,
      q: { metric: text.metricName!, questionId: text.id, kind: "mentions", brand: [BRAND_CODE], competitors: rivals.map((d) => ({ code: d.code, match: d.code })) },
    });
  }
  return out;
}

const estimateOf = (r: ReturnType<typeof netLift>): NetEstimate => ({ estimate: r.estimate, lower: r.lower, upper: r.upper, se: r.se, pValue: r.pValue });

/** The SQL aggregates of every metric with an aided list or coded mentions (what competitorChecksOf reads). */
export async function countCompetitors(db: Executor, study: Study, questions: readonly SurveyQuestion[], filter: CountFilter): Promise<CompetitorCounts> {
  // Which options and codes are counted does not depend on the reader's language, only their labels do.
  const checked = checkedQuestions({ study, questions, locale: study.defaultLocale }).map((c) => c.q);
  if (checked.length === 0) return { leads: [], choices: [] };
  return { leads: await sumBrandLeads(db, checked, filter), choices: await countCompetitorChoices(db, checked, filter) };
}

/** Competitors' shares and the net lift per metric with an aided list or coded mentions (the SQL aggregates → stats). */
export function competitorChecksOf({ leads, choices }: CompetitorCounts, input: CompetitorInput): CompetitorCheck[] {
  const checked = checkedQuestions(input);
  if (checked.length === 0) return [];
  const conf = input.confidence;

  return checked.map(({ q, source, brandLabel, labels }) => {
    const leadOf = (segmentId: number, waveId: number): BrandLeadSums | undefined =>
      leads.find((l) => l.metric === q.metric && l.segmentId === segmentId && l.waveId === waveId);
    const share = (x: number, n: number | undefined): CompetitorShare | null =>
      n ? { x, n, p: x / n, ...wilson(x, n, conf) } : null;
    const shares = (count: (segmentId: number, waveId: number) => number): CompetitorBrand["segments"] =>
      input.segments.map((s) => ({
        segment: s.key,
        pre: share(count(s.id, input.pre.id), leadOf(s.id, input.pre.id)?.n),
        post: share(count(s.id, input.post.id), leadOf(s.id, input.post.id)?.n),
      }));
    const chosen = (code: string) => (segmentId: number, waveId: number) =>
      choices.find((c) => c.metric === q.metric && c.code === code && c.segmentId === segmentId && c.waveId === waveId)?.x ?? 0;

    const brands: CompetitorBrand[] = [
      { code: BRAND_CODE, label: brandLabel, isBrand: true, segments: shares((sid, wid) => leadOf(sid, wid)?.brand ?? 0) },
      ...q.competitors.map((c) => ({ code: c.code, label: labels.get(c.code) ?? c.code, isBrand: false, segments: shares(chosen(c.code)) })),
    ];

    const net: CompetitorNet[] = [];
    for (const s of input.segments) {
      if (s.role !== "exposed") continue;
      const row = input.table.rows.find((r) => r.id === `${q.metric}:${s.key}`);
      const a = leadOf(s.id, input.pre.id);
      const b = leadOf(s.id, input.post.id);
      if (!row || !a || !b || a.n < 2 || b.n < 2) continue;
      const competitorLift = estimateOf(netLift({ n: a.n, ...a.average }, { n: b.n, ...b.average }, { conf }));
      const netOfCompetitors = estimateOf(netLift({ n: a.n, ...a.lead }, { n: b.n, ...b.lead }, { conf }));
      net.push({
        segment: s.key,
        brandVerdict: row.verdict,
        competitorLift,
        netLift: netOfCompetitors,
        categoryTrend: categoryTrend(row.verdict, competitorLift, netOfCompetitors),
      });
    }
    return { metric: q.metric, source, confidenceLevel: conf, brands, net };
  });
}
