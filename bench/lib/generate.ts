/**
 * Fills a benchmark database with N synthetic responses to the benchmark study, fast, on either
 * engine; the rows come from one generator, so both engines get the same data.
 *
 * SQLite: one raw connection with synchronous=OFF (generation only; the app's connections keep
 * durable commits: db/client.ts), prepared statements, one transaction per 20,000 responses.
 * PostgreSQL: one connection with synchronous_commit=off (this session only), one multi-row
 * `INSERT … SELECT FROM unnest($1::bigint[], …)` per table per 5,000 responses (three statements
 * instead of ~45,000), the next batch generated while the server stores the last; the foreign keys
 * of the three tables dropped during the load and added back at the end (one validating join each
 * instead of a lookup per row), sequences moved past the ids, then VACUUM ANALYZE so the planner
 * and index-only scans see the table as autovacuum eventually would.
 * Both: explicit row ids, secondary indexes of the response tables dropped during the load and
 * rebuilt once at the end (the same definitions as the migrations). Deterministic (a fixed LCG
 * seed); only the random tokens and hashes differ between runs.
 *
 * Shape of the data, as a real brand-lift study: 2 waves (pre, post) x 3 segments (40/35/25 %),
 * 95 % completed (5 % partial with the first three answers), 2 % of completed excluded, 3 % flagged;
 * every question of the template answered: unaided text (brand mentions coded into text_mentions),
 * aided and advantages multi (1-4 options), ad recall single, favorability and consideration 1-5,
 * attention check, optional feedback (25 %); awareness a little higher in the post wave.
 */
import { randomBytes } from "node:crypto";
import Database from "better-sqlite3";
import pg from "pg";
import { isPostgresUrl } from "../../db/client.js";
import { BRAND_CODE } from "../../server/domain/text-coding.js";
import type { SurveyQuestion } from "../../server/domain/questionnaire.js";
import { createBenchDatabase, type BenchStudy } from "./fixture.js";

export interface Generated extends BenchStudy {
  responses: number;
  completed: number;
  answers: number;
  mentions: number;
  seconds: number;
}

/** Deterministic uniform numbers in [0, 1) (Numerical Recipes LCG). */
function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

const BATCH = 20_000;
const POSTGRES_BATCH = 5_000;
const DAY = 24 * 3600 * 1000;

interface ResponseRow {
  id: number;
  waveId: number;
  segmentId: number;
  linkId: number;
  nonce: string;
  status: "partial" | "completed";
  locale: string;
  startedAt: number;
  completedAt: number | null;
  durationMs: number | null;
  params: string | null;
  optionOrder: string;
  browserHash: string;
  networkHash: string;
  qualityFlags: string | null;
  excluded: boolean;
  excludedReason: string | null;
  excludedAt: number | null;
}

/** Where generated rows go: prepared statements (SQLite) or column arrays (PostgreSQL). */
interface Sink {
  response(r: ResponseRow): void;
  answer(id: number, responseId: number, questionId: number, optionId: number | null, valueNumber: number | null, valueText: string | null): void;
  mention(answerId: number, code: string, rank: number): void;
}

interface Counts {
  answers: number;
  mentions: number;
  completed: number;
}

export interface GenerateOptions {
  onProgress?: (done: number) => void;
  /**
   * Text answers as varied as people's: each unaided and feedback answer gets two made-up words
   * (names of places, typos) after the usual text, so hardly two are alike (the coding review
   * queue and themes see tens of thousands of distinct texts, not a dozen). Off by default: the
   * other benchmarks keep their data as measured before.
   */
  variedTexts?: boolean;
}

/** The synthetic respondents, batch by batch, from ids onwards; the same sequence on either engine. */
function respondents(setup: BenchStudy, firstResponseId: number, firstAnswerId: number, variedTexts = false) {
  const q = (key: string): SurveyQuestion => {
    const found = setup.questions.find((x) => x.key === key);
    if (!found) throw new Error(`template has no question ${key}`);
    return found;
  };
  const optionId = (question: SurveyQuestion, key: string): number => {
    const found = question.options.find((o) => o.key === key);
    if (!found) throw new Error(`question ${question.key} has no option ${key}`);
    return found.id;
  };
  const unaided = q("unaided");
  const aided = q("aided");
  const adRecall = q("ad_recall");
  const advantages = q("advantages");
  const favorability = q("favorability");
  const consideration = q("consideration");
  const attention = q("attention");
  const feedback = q("feedback");
  const competitors = aided.options.filter((o) => o.key.startsWith("competitor_")).map((o) => o.id);
  const advantageIds = advantages.options.filter((o) => o.key.startsWith("advantage_")).map((o) => o.id);
  const brandOption = optionId(aided, "brand");
  const noBrand = optionId(aided, "none");
  const decoy = optionId(advantages, "decoy");
  const noAdvantage = optionId(advantages, "none");
  const attentionIds = attention.options.map((o) => ({ id: o.id, right: o.key === "somewhat_disagree" }));

  const random = lcg(20240507);
  const chance = (p: number) => random() < p;
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  let answerId = firstAnswerId;
  const counts: Counts = { answers: 0, mentions: 0, completed: 0 };

  const segmentShare = [0.4, 0.75, 1];
  // Awareness per segment (subscribers know the brand best), and the post-wave lift.
  const base = [0.55, 0.35, 0.15];
  const lift = [0.03, 0.05, 0.04];
  const orders = Array.from({ length: 16 }, () =>
    JSON.stringify({
      aided: [...aided.options].sort(() => random() - 0.5).map((o) => o.key),
      advantages: [...advantages.options].sort(() => random() - 0.5).map((o) => o.key),
    }),
  );
  const unawareTexts = ["Rival, Other Brew", "не помню", "Third Cup", "Rival", "Старбакс, Шоколадница", "no idea"];
  const awareTexts = ["Acme", "Acme, Rival", "Rival, Acme and Third Cup", "акме? Acme", "Acme coffee"];
  const feedbackTexts = ["More seats by the window", "Cheaper coffee please", "Faster service in the morning", "Больше десертов", "Всё отлично"];
  const syllables = ["ka", "lo", "mi", "ran", "tes", "vo", "bri", "du", "ne", "sol", "ча", "ко", "ми", "ро", "ту", "зел"];
  const word = () => Array.from({ length: 2 + Math.floor(random() * 2) }, () => pick(syllables)).join("");
  const text = (list: readonly string[]) => (variedTexts ? `${pick(list)}, ${word()} ${word()}` : pick(list));
  const flags = JSON.stringify([{ code: "honeypot" }]);
  const params = JSON.stringify({ src: "vk", utm_campaign: "spring" });
  const t0 = Date.UTC(2024, 3, 1);

  const fill = (from: number, to: number, sink: Sink) => {
    const answer = (responseId: number, questionId: number, option: number | null, value: number | null, text: string | null) => {
      sink.answer(answerId, responseId, questionId, option, value, text);
      counts.answers++;
      return answerId++;
    };
    const bytes = randomBytes((to - from) * (16 + 32 + 32));
    for (let i = from; i < to; i++) {
      const id = firstResponseId + i;
      const post = i % 2 === 1;
      const wave = post ? setup.post : setup.pre;
      const s = random();
      const seg = s < segmentShare[0]! ? 0 : s < segmentShare[1]! ? 1 : 2;
      const link = (post ? setup.links.post : setup.links.pre)[seg]!;
      const partial = chance(0.05);
      const excluded = !partial && chance(0.02);
      const flagged = !partial && !excluded && chance(0.03);
      const startedAt = t0 + (post ? 30 * DAY : 0) + Math.floor(random() * 14 * DAY);
      const duration = 60_000 + Math.floor(random() * 540_000);
      const o = (i - from) * 80;
      sink.response({
        id,
        waveId: wave.id,
        segmentId: link.segmentId,
        linkId: link.id,
        nonce: bytes.subarray(o, o + 16).toString("base64url"),
        status: partial ? "partial" : "completed",
        locale: chance(0.7) ? "ru" : "en",
        startedAt,
        completedAt: partial ? null : startedAt + duration,
        durationMs: partial ? null : duration,
        params: chance(0.3) ? params : null,
        optionOrder: pick(orders),
        browserHash: bytes.subarray(o + 16, o + 48).toString("base64url"),
        networkHash: bytes.subarray(o + 48, o + 80).toString("base64url"),
        qualityFlags: flagged ? flags : null,
        excluded,
        excludedReason: excluded ? "speeder" : null,
        excludedAt: excluded ? startedAt + DAY : null,
      });
      if (!partial) counts.completed++;

      const p = base[seg]! + (post ? lift[seg]! : 0);
      // unaided awareness: a text answer, coded as a brand mention when the brand is named
      const aware = chance(p * 0.6);
      const textId = answer(id, unaided.id, null, null, text(aware ? awareTexts : unawareTexts));
      if (aware) {
        sink.mention(textId, BRAND_CODE, chance(0.7) ? 0 : 1);
        counts.mentions++;
      }
      // aided awareness: the brand and competitors, or "none of these"
      const brands = [...(chance(Math.min(0.95, p + 0.25)) ? [brandOption] : []), ...competitors.filter(() => chance(0.35))];
      for (const b of brands.length ? brands : [noBrand]) answer(id, aided.id, b, null, null);
      // ad recall
      answer(id, adRecall.id, chance(p * 0.5) ? optionId(adRecall, "yes") : optionId(adRecall, chance(0.7) ? "no" : "not_sure"), null, null);
      if (partial) continue; // a respondent who left after the first page
      // advantages, with the decoy now and then
      const claims = [...advantageIds.filter(() => chance(p * 0.7)), ...(chance(0.05) ? [decoy] : [])];
      for (const a of claims.length ? claims : [noAdvantage]) answer(id, advantages.id, a, null, null);
      // favorability and consideration, 1-5 with top-2-box more likely when aware
      answer(id, favorability.id, null, chance(p + 0.15) ? 4 + Math.floor(random() * 2) : 1 + Math.floor(random() * 3), null);
      answer(id, consideration.id, null, chance(p) ? 4 + Math.floor(random() * 2) : 1 + Math.floor(random() * 3), null);
      // attention check: most pass
      const att = chance(0.92) ? attentionIds.find((a) => a.right)! : pick(attentionIds);
      answer(id, attention.id, att.id, null, null);
      if (chance(0.25)) answer(id, feedback.id, null, null, text(feedbackTexts));
    }
  };
  return { fill, counts };
}

/** Fills `location` (a SQLite file path or a postgres:// URL) with the study and n responses. */
export async function generateDatabase(location: string, n: number, options: GenerateOptions = {}): Promise<Generated> {
  const started = performance.now();
  const setup = await createBenchDatabase(location);
  const counts = isPostgresUrl(location) ? await fillPostgres(location, setup, n, options) : fillSqlite(location, setup, n, options);
  return { ...setup, responses: n, ...counts, seconds: (performance.now() - started) / 1000 };
}

function fillSqlite(path: string, setup: BenchStudy, n: number, { onProgress, variedTexts }: GenerateOptions): Counts {
  const sqlite = new Database(path);
  sqlite.pragma("journal_mode = WAL");
  sqlite.pragma("synchronous = OFF");
  sqlite.pragma("cache_size = -262144"); // 256 MB while generating
  sqlite.pragma("foreign_keys = OFF"); // ids are generated consistently below
  // Bulk load without secondary indexes, then build each once (a sort instead of millions of B-tree inserts).
  const indexes = sqlite
    .prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ('responses', 'answers', 'text_mentions')")
    .all() as Array<{ name: string; sql: string }>;
  for (const ix of indexes) sqlite.exec(`DROP INDEX "${ix.name}"`);
  const insertResponse = sqlite.prepare(
    `INSERT INTO responses (id, wave_id, segment_id, link_id, nonce, status, locale, started_at, completed_at, duration_ms,
       current_page, params, option_order, browser_hash, network_hash, quality_flags, excluded, excluded_reason, excluded_at, checked_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const insertAnswer = sqlite.prepare("INSERT INTO answers (id, response_id, question_id, option_id, value_number, value_text) VALUES (?, ?, ?, ?, ?, ?)");
  const insertMention = sqlite.prepare("INSERT INTO text_mentions (answer_id, code, rank) VALUES (?, ?, ?)");
  const maxId = (table: string) => (sqlite.prepare(`SELECT max(id) AS m FROM ${table}`).get() as { m: number | null }).m ?? 0;
  const { fill, counts } = respondents(setup, maxId("responses") + 1, maxId("answers") + 1, variedTexts);
  const sink: Sink = {
    response: (r) =>
      insertResponse.run(
        r.id, r.waveId, r.segmentId, r.linkId, r.nonce, r.status, r.locale, r.startedAt, r.completedAt, r.durationMs,
        r.params, r.optionOrder, r.browserHash, r.networkHash, r.qualityFlags, r.excluded ? 1 : 0, r.excludedReason, r.excludedAt,
        // Coded and flagged as generated: no background checks pending.
        r.completedAt ?? r.startedAt,
      ),
    answer: (...row) => insertAnswer.run(...row),
    mention: (...row) => insertMention.run(...row),
  };
  const batch = sqlite.transaction((from: number, to: number) => fill(from, to, sink));
  for (let from = 0; from < n; from += BATCH) {
    batch(from, Math.min(n, from + BATCH));
    onProgress?.(Math.min(n, from + BATCH));
  }
  for (const ix of indexes) sqlite.exec(ix.sql);
  // A checkpointed, empty WAL before the app reads the file (synchronous=OFF ends with this connection).
  sqlite.pragma("wal_checkpoint(TRUNCATE)");
  sqlite.close();
  return counts;
}

const RESPONSE_COLUMNS =
  "id, wave_id, segment_id, link_id, nonce, status, locale, started_at, completed_at, duration_ms, params, option_order, browser_hash, network_hash, quality_flags, excluded, excluded_reason, excluded_at";
const INSERT_RESPONSES = `INSERT INTO responses (${RESPONSE_COLUMNS}, current_page, checked_at)
  SELECT id, wave_id, segment_id, link_id, nonce, status, locale, started_at, completed_at, duration_ms, params::json, option_order::json,
         browser_hash, network_hash, quality_flags::json, excluded, excluded_reason, excluded_at, 0, coalesce(completed_at, started_at)
  FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::text[], $6::text[], $7::text[], $8::bigint[], $9::bigint[],
              $10::bigint[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[], $16::boolean[], $17::text[], $18::bigint[])
       AS t(${RESPONSE_COLUMNS})`;
const INSERT_ANSWERS = `INSERT INTO answers (id, response_id, question_id, option_id, value_number, value_text)
  SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::float8[], $6::text[])`;
const INSERT_MENTIONS = `INSERT INTO text_mentions (answer_id, code, rank) SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[])`;
const LOADED_TABLES = ["responses", "answers", "text_mentions"];

async function fillPostgres(url: string, setup: BenchStudy, n: number, { onProgress, variedTexts }: GenerateOptions): Promise<Counts> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    // This session only: the app's connections keep the server's setting.
    await client.query("SET synchronous_commit = off");
    await client.query("SET maintenance_work_mem = '256MB'");
    const indexes = (
      await client.query<{ name: string; def: string }>(
        `SELECT i.indexname AS name, i.indexdef AS def FROM pg_indexes i
         WHERE i.schemaname = 'public' AND i.tablename = ANY($1) AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)`,
        [LOADED_TABLES],
      )
    ).rows;
    const foreignKeys = (
      await client.query<{ tbl: string; name: string; def: string }>(
        `SELECT conrelid::regclass::text AS tbl, conname AS name, pg_get_constraintdef(oid) AS def FROM pg_constraint
         WHERE contype = 'f' AND conrelid::regclass::text = ANY($1)`,
        [LOADED_TABLES],
      )
    ).rows;
    for (const fk of foreignKeys) await client.query(`ALTER TABLE "${fk.tbl}" DROP CONSTRAINT "${fk.name}"`);
    for (const ix of indexes) await client.query(`DROP INDEX "${ix.name}"`);

    const maxId = async (table: string) => (await client.query<{ m: number | null }>(`SELECT max(id)::float8 AS m FROM ${table}`)).rows[0]!.m ?? 0;
    const { fill, counts } = respondents(setup, (await maxId("responses")) + 1, (await maxId("answers")) + 1, variedTexts);
    const columns = () => ({
      responses: Array.from({ length: 18 }, () => [] as unknown[]),
      answers: Array.from({ length: 6 }, () => [] as unknown[]),
      mentions: Array.from({ length: 3 }, () => [] as unknown[]),
    });
    let pending: Promise<unknown> = Promise.resolve();
    for (let from = 0; from < n; from += POSTGRES_BATCH) {
      const to = Math.min(n, from + POSTGRES_BATCH);
      const c = columns();
      const push = (target: unknown[][], values: unknown[]) => values.forEach((v, k) => target[k]!.push(v));
      fill(from, to, {
        response: (r) =>
          push(c.responses, [
            r.id, r.waveId, r.segmentId, r.linkId, r.nonce, r.status, r.locale, r.startedAt, r.completedAt, r.durationMs,
            r.params, r.optionOrder, r.browserHash, r.networkHash, r.qualityFlags, r.excluded, r.excludedReason, r.excludedAt,
          ]),
        answer: (...row) => push(c.answers, row),
        mention: (...row) => push(c.mentions, row),
      });
      // The server stores the previous batch while this one was generated; one batch in flight at a time.
      await pending;
      pending = (async () => {
        await client.query(INSERT_RESPONSES, c.responses);
        await client.query(INSERT_ANSWERS, c.answers);
        await client.query(INSERT_MENTIONS, c.mentions);
        onProgress?.(to);
      })();
    }
    await pending;
    for (const ix of indexes) await client.query(ix.def);
    for (const fk of foreignKeys) await client.query(`ALTER TABLE "${fk.tbl}" ADD CONSTRAINT "${fk.name}" ${fk.def}`);
    for (const table of ["responses", "answers"]) {
      await client.query(`SELECT setval(pg_get_serial_sequence('${table}', 'id'), (SELECT max(id) FROM ${table}))`);
    }
    await client.query(`VACUUM ANALYZE ${LOADED_TABLES.join(", ")}`);
    return counts;
  } finally {
    await client.end();
  }
}
