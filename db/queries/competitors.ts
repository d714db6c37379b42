import { sql, type SQL } from "drizzle-orm";
import { rawRows, type Executor } from "../client.js";
import { TRUE } from "../portable.js";
import { answers, responses, textMentions } from "../schema.js";
import { eligible, type CountFilter } from "./aggregation.js";

/**
 * Competitors as a check on the brand's lift, as SQL aggregates (nothing loaded per response):
 * how many respondents know each competitor, and, per wave × segment, the sums behind the brand's
 * lift net of the average competitor. The base is the metric's own (see countMetricBases):
 * respondents counted in results who answered the question (a non-empty text for mentions) and
 * picked no decoy option.
 */

export interface CompetitorQuestion {
  /** The metric of the question (aided or unaided awareness). */
  metric: string;
  questionId: number;
  /** "options": an aided list (multi question); "mentions": coded text answers. */
  kind: "options" | "mentions";
  /** What marks the brand: the metric's positive option ids, or its mention codes. */
  brand: ReadonlyArray<number | string>;
  /** Each competitor's code (its option key) and what marks it: an option id or a mention code. */
  competitors: ReadonlyArray<{ code: string; match: number | string }>;
  /** Decoy option ids (kind options): whoever picks one is out of the base. */
  exclude?: readonly number[];
}

export interface CompetitorCount {
  metric: string;
  /** The competitor's code. */
  code: string;
  waveId: number;
  segmentId: number;
  /** Respondents of the base who chose (or named) it. */
  x: number;
}

/** Σy and Σy² of one respondent-level variable over a cell. */
export interface Sums {
  sum: number;
  sumSquares: number;
}

export interface BrandLeadSums {
  metric: string;
  waveId: number;
  segmentId: number;
  /** Respondents in the base (as countMetricBases' n). */
  n: number;
  /** Of them, aware of the brand (as countMetricBases' x). */
  brand: number;
  /** K, the number of competitors. */
  competitors: number;
  /** d_i = b_i - C_i/K: the brand's lead over the average competitor. */
  lead: Sums;
  /** c_i = C_i/K: the share of competitors respondent i knows. */
  average: Sums;
}

const list = (values: ReadonlyArray<number | string>) =>
  sql.join(
    values.map((v) => sql`${v}`),
    sql`, `,
  );

/** Answer rows of the question that count for its base (before the decoy rule). */
function answerRows(q: CompetitorQuestion, filter: CountFilter): SQL {
  const answered = q.kind === "mentions" ? sql` AND trim(coalesce(${answers.valueText}, '')) <> ''` : sql``;
  return sql`${answers.questionId} = ${q.questionId} AND ${eligible(filter)}${answered}`;
}

/** No decoy among the respondent's answers to the question (always true without decoys). */
function noDecoy(q: CompetitorQuestion): SQL {
  const exclude = q.kind === "options" ? (q.exclude ?? []) : [];
  if (exclude.length === 0) return TRUE;
  return sql`NOT EXISTS (SELECT 1 FROM ${answers} AS dq WHERE dq.response_id = ${answers.responseId} AND dq.question_id = ${q.questionId} AND dq.option_id IN (${list(exclude)}))`;
}

/** Respondents of the base who chose (options) or named (mentions) each competitor, per wave and segment. */
export async function countCompetitorChoices(db: Executor, questions: readonly CompetitorQuestion[], filter: CountFilter): Promise<CompetitorCount[]> {
  if (filter.waveIds.length === 0) return [];
  const out: CompetitorCount[] = [];
  for (const q of questions) {
    if (q.competitors.length === 0) continue;
    const codeOf = new Map(q.competitors.map((c) => [String(c.match), c.code]));
    const matches = list(q.competitors.map((c) => c.match));
    const rows: Array<{ waveId: number; segmentId: number; match: number | string; x: number }> = await (
      q.kind === "options"
        ? rawRows<{ waveId: number; segmentId: number; match: number; x: number }>(db, sql`
            SELECT ${responses.waveId} AS "waveId", ${responses.segmentId} AS "segmentId", ${answers.optionId} AS "match",
                   count(DISTINCT ${answers.responseId}) AS x
            FROM ${answers} INNER JOIN ${responses} ON ${responses.id} = ${answers.responseId}
            WHERE ${answerRows(q, filter)} AND ${answers.optionId} IN (${matches}) AND ${noDecoy(q)}
            GROUP BY ${responses.waveId}, ${responses.segmentId}, ${answers.optionId}`)
        : rawRows<{ waveId: number; segmentId: number; match: string; x: number }>(db, sql`
            SELECT ${responses.waveId} AS "waveId", ${responses.segmentId} AS "segmentId", tm.code AS "match",
                   count(DISTINCT ${answers.responseId}) AS x
            FROM ${textMentions} AS tm
              INNER JOIN ${answers} ON ${answers.id} = tm.answer_id
              INNER JOIN ${responses} ON ${responses.id} = ${answers.responseId}
            WHERE ${answerRows(q, filter)} AND tm.code IN (${matches})
            GROUP BY ${responses.waveId}, ${responses.segmentId}, tm.code`)
    );
    for (const r of rows) out.push({ metric: q.metric, code: codeOf.get(String(r.match))!, waveId: r.waveId, segmentId: r.segmentId, x: r.x });
  }
  return out;
}

/**
 * Per wave × segment, the sums of d_i = b_i - C_i/K and of c_i = C_i/K over the base (b_i: knows
 * the brand; C_i: how many of the K competitors). SQL first groups the answers per response into
 * (b_i, C_i), then sums the integers K b_i - C_i, its square, C_i and C_i² per cell, so the sums are
 * exact; the division by K (and K²) happens here.
 */
export async function sumBrandLeads(db: Executor, questions: readonly CompetitorQuestion[], filter: CountFilter): Promise<BrandLeadSums[]> {
  if (filter.waveIds.length === 0) return [];
  const out: BrandLeadSums[] = [];
  for (const q of questions) {
    const k = q.competitors.length;
    if (k === 0 || q.brand.length === 0) continue;
    const brand = list(q.brand);
    // K is our own count of competitors, written as a literal so both engines type the products as integers.
    const K = sql.raw(String(k));
    const rivals = list(q.competitors.map((c) => c.match));
    const perResponse =
      q.kind === "options"
        ? sql`
            SELECT ${responses.waveId} AS wave_id, ${responses.segmentId} AS segment_id,
                   max(CASE WHEN ${answers.optionId} IN (${brand}) THEN 1 ELSE 0 END) AS b,
                   count(DISTINCT CASE WHEN ${answers.optionId} IN (${rivals}) THEN ${answers.optionId} END) AS c
            FROM ${answers} INNER JOIN ${responses} ON ${responses.id} = ${answers.responseId}
            WHERE ${answerRows(q, filter)} AND ${noDecoy(q)}
            GROUP BY ${answers.responseId}, ${responses.waveId}, ${responses.segmentId}`
        : sql`
            SELECT ${responses.waveId} AS wave_id, ${responses.segmentId} AS segment_id,
                   coalesce(max(CASE WHEN tm.code IN (${brand}) THEN 1 ELSE 0 END), 0) AS b,
                   count(DISTINCT CASE WHEN tm.code IN (${rivals}) THEN tm.code END) AS c
            FROM ${answers} INNER JOIN ${responses} ON ${responses.id} = ${answers.responseId}
              LEFT JOIN ${textMentions} AS tm ON tm.answer_id = ${answers.id}
            WHERE ${answerRows(q, filter)}
            GROUP BY ${answers.responseId}, ${responses.waveId}, ${responses.segmentId}`;
    const rows = await rawRows<{ waveId: number; segmentId: number; n: number; brand: number; lead: number; leadSquares: number; chosen: number; chosenSquares: number }>(db, sql`
      SELECT wave_id AS "waveId", segment_id AS "segmentId", count(*) AS n, sum(b) AS brand,
             sum(${K} * b - c) AS lead, sum((${K} * b - c) * (${K} * b - c)) AS "leadSquares",
             sum(c) AS chosen, sum(c * c) AS "chosenSquares"
      FROM (${perResponse}) AS per_response
      GROUP BY wave_id, segment_id`);
    for (const r of rows) {
      out.push({
        metric: q.metric,
        waveId: r.waveId,
        segmentId: r.segmentId,
        n: r.n,
        brand: r.brand,
        competitors: k,
        lead: { sum: r.lead / k, sumSquares: r.leadSquares / (k * k) },
        average: { sum: r.chosen / k, sumSquares: r.chosenSquares / (k * k) },
      });
    }
  }
  return out;
}
