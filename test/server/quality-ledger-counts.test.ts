import { beforeAll, describe, expect, it } from "vitest";
import type { Db } from "../../db/client.js";
import type { Locale, QualityFlag, Study } from "../../db/schema.js";
import { translator } from "../../server/i18n/index.js";
import { codingOverview } from "../../server/quality/coding-service.js";
import { codedQuestions } from "../../server/quality/coding.js";
import { FLAG_CODES, type FlagCode } from "../../server/quality/flags.js";
import { changeExclusion, LEDGER_PAGE_SIZE, ledgerPage, ledgerQuery } from "../../server/quality/ledger-service.js";
import { reviewQueuesSettled } from "../../server/quality/review-queue.js";
import { loadQuestionnaire } from "../../db/queries/questionnaire.js";
import { configureResultsSnapshots } from "../../server/results-snapshots/refresh.js";
import { goodAnswers, insertQualityResponse, templateStudy } from "../fixtures/quality/responses.js";
import { addUser, freshDb } from "../helpers.js";
import { sqlRows } from "../support/sql.js";

/**
 * The ledger's numbers (rows and their total, flag counts, rates per wave × segment) and the coding
 * page's counts, read over indexes and snapshots, against the same numbers counted here from the
 * stored rows: over every state, flag filter, wave and segment, in both languages, and at once after
 * an exclusion.
 */

const flag = (code: FlagCode, question?: string): QualityFlag => ({ code, detail: question ? `question=${question}` : "duration=20000;median=120000" });

/** Flags of the i-th response: several codes, some twice (two questions), most none. */
function flagsOf(i: number): QualityFlag[] | null {
  const flags: QualityFlag[] = [];
  if (i % 5 === 0) flags.push(flag("speeder"));
  if (i % 7 === 0) flags.push(flag("straightlining"), flag("attention", "attention"));
  if (i % 11 === 0) flags.push(flag("duplicate"));
  if (i % 9 === 0) flags.push(flag("gibberish", "unaided"), flag("gibberish", "feedback"));
  return flags.length ? flags : null;
}

async function seed(db: Db) {
  const t = await templateStudy(db);
  for (let i = 0; i < 130; i++) {
    await insertQualityResponse(db, t.study.id, {
      waveId: i % 2 ? t.post.id : t.pre.id,
      segmentId: t.segments[i % t.segments.length]!.id,
      flags: flagsOf(i),
      excluded: (i * 7) % 10 < 2,
      status: i % 13 === 0 ? "partial" : "completed",
      answers: { ...goodAnswers(), unaided: ["Вкусно и точка", "Шоколадница, Starbucks", "не помню", "Кофемания и Вкусно и точка"][i % 4]! },
    });
  }
  // Another study's flagged responses count nowhere here.
  const other = await templateStudy(db, { studyName: "Other" });
  for (let i = 0; i < 8; i++) await insertQualityResponse(db, other.study.id, { waveId: other.pre.id, segmentId: other.segments[0]!.id, flags: [flag("speeder")], excluded: i % 2 === 0 });
  return t;
}

interface Stored {
  id: number;
  waveId: number;
  segmentId: number;
  completed: boolean;
  flagged: boolean;
  codes: Set<string>;
  excluded: boolean;
}

/** The study's responses as stored, read with SQL of our own (flags parsed here). */
async function stored(db: Db, waveIds: readonly number[]): Promise<Stored[]> {
  const rows = await sqlRows<{ id: number; wave_id: number; segment_id: number; status: string; quality_flags: string | QualityFlag[] | null; excluded: number | boolean }>(
    db,
    `SELECT id, wave_id, segment_id, status, quality_flags, excluded FROM responses WHERE wave_id IN (${waveIds.map(() => "?").join(", ")})`,
    waveIds,
  );
  return rows.map((r) => {
    const flags = typeof r.quality_flags === "string" ? (JSON.parse(r.quality_flags) as QualityFlag[]) : r.quality_flags;
    return {
      id: Number(r.id),
      waveId: Number(r.wave_id),
      segmentId: Number(r.segment_id),
      completed: r.status === "completed",
      flagged: flags !== null,
      codes: new Set((flags ?? []).map((f) => f.code)),
      excluded: Boolean(r.excluded),
    };
  });
}

interface Filter {
  state: "flagged" | "excluded" | "all";
  flag?: FlagCode;
  wave?: number;
  segment?: number;
}

async function expectLedgerAsCounted(db: Db, study: Study, f: Filter, locale: Locale, all: readonly Stored[]) {
  const matching = all
    .filter((r) => r.completed)
    .filter((r) => (f.state === "flagged" ? r.flagged : f.state === "excluded" ? r.excluded : true))
    .filter((r) => !f.flag || r.codes.has(f.flag))
    .filter((r) => !f.wave || r.waveId === f.wave)
    .filter((r) => !f.segment || r.segmentId === f.segment)
    .map((r) => r.id)
    .sort((a, b) => b - a);
  const pages = Math.max(1, Math.ceil(matching.length / LEDGER_PAGE_SIZE));
  for (const page of new Set([1, pages])) {
    const query = ledgerQuery.parse({ state: f.state, flag: f.flag, wave: f.wave ? String(f.wave) : undefined, segment: f.segment ? String(f.segment) : undefined, page: String(page) });
    const shown = await ledgerPage(db, study, query, locale, translator(locale));
    const where = `${JSON.stringify(f)} page ${page} ${locale}`;
    expect(shown.total, where).toBe(matching.length);
    expect(shown.pages, where).toBe(pages);
    expect(
      shown.rows.map((r) => r.id),
      where,
    ).toEqual(matching.slice((page - 1) * LEDGER_PAGE_SIZE, page * LEDGER_PAGE_SIZE));
  }
}

async function expectAggregatesAsCounted(db: Db, study: Study, locale: Locale, all: readonly Stored[]) {
  const page = await ledgerPage(db, study, ledgerQuery.parse({}), locale, translator(locale));
  const completed = all.filter((r) => r.completed);
  expect(page.flagCounts.map((c) => [c.code, c.n, c.excluded])).toEqual(
    FLAG_CODES.map((code) => {
      const carrying = completed.filter((r) => r.codes.has(code));
      return [code, carrying.length, carrying.filter((r) => r.excluded).length];
    }),
  );
  const cells = new Map<string, { completed: number; excluded: number; flagged: number }>();
  for (const r of completed) {
    const key = `${r.waveId}|${r.segmentId}`;
    const c = cells.get(key) ?? { completed: 0, excluded: 0, flagged: 0 };
    c.completed += 1;
    if (r.excluded) c.excluded += 1;
    else if (r.flagged) c.flagged += 1;
    cells.set(key, c);
  }
  expect(page.rates.map((r) => [`${r.wave.id}|${r.segment.id}`, r.completed, r.excluded, r.flagged, r.rate])).toEqual(
    page.waves.flatMap((w) =>
      page.segments.flatMap((s) => {
        const c = cells.get(`${w.id}|${s.id}`);
        return c ? [[`${w.id}|${s.id}`, c.completed, c.excluded, c.flagged, c.excluded / c.completed]] : [];
      }),
    ),
  );
}

/** Statements per page view times this grid: minutes on a loaded PostgreSQL, so each state is a test of its own with room. */
const GRID_TIMEOUT = 120_000;
const FLAGS = [undefined, "speeder", "straightlining", "attention", "duplicate", "gibberish", "honeypot"] as const;

describe("the exclusion ledger's numbers", () => {
  let db: Db;
  let seeded: Awaited<ReturnType<typeof seed>>;
  beforeAll(async () => {
    db = freshDb();
    seeded = await seed(db);
  }, GRID_TIMEOUT);
  const all = () => stored(db, [seeded.pre.id, seeded.post.id]);

  it("are the stored responses counted: flag counts and rates per wave and segment, in both languages", async () => {
    const responses = await all();
    expect(responses.filter((r) => r.completed && r.flagged).length).toBeGreaterThan(40);
    for (const locale of ["en", "ru"] as const) await expectAggregatesAsCounted(db, seeded.study, locale, responses);
  });

  for (const state of ["flagged", "excluded", "all"] as const) {
    it(`list and count the ${state} responses as stored, for every flag, wave and segment, in both languages`, async () => {
      const { study, pre, post, segments } = seeded;
      const responses = await all();
      for (const locale of ["en", "ru"] as const) {
        for (const f of FLAGS) {
          for (const wave of locale === "en" ? [undefined, pre.id, post.id] : [undefined, post.id]) {
            for (const segment of locale === "en" ? [undefined, ...segments.map((s) => s.id)] : [undefined, segments[1]!.id]) {
              await expectLedgerAsCounted(db, study, { state, ...(f ? { flag: f } : {}), ...(wave ? { wave } : {}), ...(segment ? { segment } : {}) }, locale, responses);
            }
          }
        }
      }
    }, GRID_TIMEOUT);
  }

  it("follow an exclusion and a restore at once, rows and numbers", async () => {
    const { study, post, segments } = seeded;
    const before = await all();
    const researcher = await addUser(db, "researcher");
    const toExclude = before.filter((r) => r.completed && r.flagged && !r.excluded).slice(0, 5).map((r) => r.id);
    const toRestore = before.filter((r) => r.completed && r.excluded).slice(0, 1).map((r) => r.id);
    expect(await changeExclusion(db, study, researcher.id, { excluded: true, ids: toExclude, reason: "checked by hand" })).toEqual({ ok: true, changed: toExclude });
    expect(await changeExclusion(db, study, researcher.id, { excluded: false, ids: toRestore, reason: "a real respondent" })).toEqual({ ok: true, changed: toRestore });
    const responses = await all();
    for (const locale of ["en", "ru"] as const) {
      await expectAggregatesAsCounted(db, study, locale, responses);
      for (const state of ["flagged", "excluded", "all"] as const) {
        for (const f of [undefined, "speeder", "gibberish"] as const) {
          await expectLedgerAsCounted(db, study, { state, ...(f ? { flag: f } : {}) }, locale, responses);
          await expectLedgerAsCounted(db, study, { state, ...(f ? { flag: f } : {}), wave: post.id, segment: segments[0]!.id }, locale, responses);
        }
      }
    }
  }, GRID_TIMEOUT);
});

describe("the coding page's counts", () => {
  /** Coded answers per code of completed, not excluded responses of the study, and how many named it first: counted here. */
  async function counted(db: Db, study: Study, waveIds: readonly number[]) {
    const questionIds = codedQuestions(await loadQuestionnaire(db, study.id)).map((q) => q.id);
    const rows = await sqlRows<{ code: string; rank: number; excluded: number | boolean; status: string }>(
      db,
      `SELECT m.code AS code, m.rank AS rank, r.excluded AS excluded, r.status AS status
       FROM text_mentions m JOIN answers a ON a.id = m.answer_id JOIN responses r ON r.id = a.response_id
       WHERE a.question_id IN (${questionIds.map(() => "?").join(", ")}) AND r.wave_id IN (${waveIds.map(() => "?").join(", ")})`,
      [...questionIds, ...waveIds],
    );
    const counts = new Map<string, { n: number; first: number }>();
    for (const r of rows.filter((x) => x.status === "completed" && !x.excluded)) {
      const c = counts.get(r.code) ?? { n: 0, first: 0 };
      c.n += 1;
      if (Number(r.rank) === 0) c.first += 1;
      counts.set(r.code, c);
    }
    return counts;
  }

  it("are the stored mentions counted, computed on the request and in the background, after an exclusion too", { timeout: GRID_TIMEOUT }, async () => {
    const db = freshDb();
    const { study, pre, post } = await seed(db);
    const expected = await counted(db, study, [pre.id, post.id]);
    expect(expected.size).toBeGreaterThan(2);
    const inline = await codingOverview(db, study, "ru");
    expect(inline.queue?.current).toBe(true);
    expect(inline.queue?.mentions).toEqual(expected);

    const researcher = await addUser(db, "researcher");
    const some = (await stored(db, [pre.id, post.id])).filter((r) => r.completed && !r.excluded).slice(0, 7).map((r) => r.id);
    await changeExclusion(db, study, researcher.id, { excluded: true, ids: some, reason: "checked by hand" });
    configureResultsSnapshots(db, { syncLimit: 0 });
    const updating = await codingOverview(db, study, "en");
    expect(updating.queue?.current).toBe(false);
    expect(updating.queue?.mentions).toEqual(expected);
    await reviewQueuesSettled(db);
    const after = await codingOverview(db, study, "en");
    expect(after.queue?.current).toBe(true);
    const recounted = await counted(db, study, [pre.id, post.id]);
    expect(recounted).not.toEqual(expected);
    expect(after.queue?.mentions).toEqual(recounted);
  });
});
