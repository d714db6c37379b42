/**
 * Fills a temp database with N synthetic responses to the benchmark study, fast: one raw
 * connection with synchronous=OFF (generation only; the app's connections keep FULL), prepared
 * statements, one transaction per 20,000 responses, explicit row ids, secondary indexes of the
 * response tables dropped during the load and rebuilt once at the end (same SQL as the migrations). Deterministic (a fixed LCG
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
const DAY = 24 * 3600 * 1000;

export async function generateDatabase(path: string, n: number, onProgress?: (done: number) => void): Promise<Generated> {
  const started = performance.now();
  const setup = await createBenchDatabase(path);
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
       current_page, params, option_order, browser_hash, network_hash, quality_flags, excluded, excluded_reason, excluded_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const insertAnswer = sqlite.prepare("INSERT INTO answers (id, response_id, question_id, option_id, value_number, value_text) VALUES (?, ?, ?, ?, ?, ?)");
  const insertMention = sqlite.prepare("INSERT INTO text_mentions (answer_id, code, rank) VALUES (?, ?, ?)");

  const random = lcg(20240507);
  const chance = (p: number) => random() < p;
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const firstResponseId = ((sqlite.prepare("SELECT max(id) AS m FROM responses").get() as { m: number | null }).m ?? 0) + 1;
  let answerId = ((sqlite.prepare("SELECT max(id) AS m FROM answers").get() as { m: number | null }).m ?? 0) + 1;
  let answers = 0;
  let mentions = 0;
  let completed = 0;

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
  const flags = JSON.stringify([{ code: "honeypot" }]);
  const params = JSON.stringify({ src: "vk", utm_campaign: "spring" });
  const t0 = Date.UTC(2024, 3, 1);

  const answer = (responseId: number, questionId: number, option: number | null, value: number | null, text: string | null) => {
    insertAnswer.run(answerId, responseId, questionId, option, value, text);
    answers++;
    return answerId++;
  };

  const batch = sqlite.transaction((from: number, to: number) => {
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
      insertResponse.run(
        id,
        wave.id,
        link.segmentId,
        link.id,
        bytes.subarray(o, o + 16).toString("base64url"),
        partial ? "partial" : "completed",
        chance(0.7) ? "ru" : "en",
        startedAt,
        partial ? null : startedAt + duration,
        partial ? null : duration,
        chance(0.3) ? params : null,
        pick(orders),
        bytes.subarray(o + 16, o + 48).toString("base64url"),
        bytes.subarray(o + 48, o + 80).toString("base64url"),
        flagged ? flags : null,
        excluded ? 1 : 0,
        excluded ? "speeder" : null,
        excluded ? startedAt + DAY : null,
      );
      if (!partial) completed++;

      const p = base[seg]! + (post ? lift[seg]! : 0);
      // unaided awareness: a text answer, coded as a brand mention when the brand is named
      const aware = chance(p * 0.6);
      const textId = answer(id, unaided.id, null, null, aware ? pick(awareTexts) : pick(unawareTexts));
      if (aware) {
        insertMention.run(textId, BRAND_CODE, chance(0.7) ? 0 : 1);
        mentions++;
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
      if (chance(0.25)) answer(id, feedback.id, null, null, pick(feedbackTexts));
    }
  });
  for (let from = 0; from < n; from += BATCH) {
    batch(from, Math.min(n, from + BATCH));
    onProgress?.(Math.min(n, from + BATCH));
  }
  for (const ix of indexes) sqlite.exec(ix.sql);
  // A checkpointed, empty WAL before the app reads the file (synchronous=OFF ends with this connection).
  sqlite.pragma("wal_checkpoint(TRUNCATE)");
  sqlite.close();
  return { ...setup, responses: n, completed, answers, mentions, seconds: (performance.now() - started) / 1000 };
}
