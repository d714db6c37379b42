import { unitOfWork, type Db } from "../../db/client.js";
import { recordAudit, type Acting } from "../../db/queries/audit.js";
import { countLinkUse, insertWave, setWaveSegment } from "../../db/queries/fieldwork.js";
import { loadQuestionnaire } from "../../db/queries/questionnaire.js";
import { insertResponse, replaceAnswers, type AnswerInsert } from "../../db/queries/responses.js";
import { findStudy, listSegments } from "../../db/queries/studies.js";
import type { Locale, Question, QuestionOption, Wave } from "../../db/schema.js";
import { paginate } from "../domain/questionnaire.js";
import { brandLiftTemplate } from "../domain/template.js";
import { translator } from "../i18n/index.js";
import { codeStoredAnswers } from "../quality/coding-service.js";
import { closeWave, createStudyFromDefinition, openWave } from "../services/study-setup.js";
import {
  AUDIENCE,
  CAMPAIGN,
  DEMO_MARGINS,
  DEMO_SEGMENTS,
  DEMO_TARGET,
  DEMO_WAVES,
  generateDemoData,
  trueLifts,
  type DemoAnswers,
  type DemoData,
  type DemoMetric,
  type DemoResponse,
  type DemoSegment,
  type DemoWaveKind,
  type TrueLift,
} from "./generate.js";
import { DEMO_ALIASES, DEMO_BRAND, DEMO_COMPETITORS } from "./texts.js";

/**
 * Writes the demo study to a database: the brand-lift template for the fictional brand Zerno,
 * a pre and a post wave (opened and closed in the past, with targets and audience sizes), and the
 * generated respondents, each wave in one transaction through the same query functions the
 * survey uses (responses, answers in long format, brand and competitor mentions coded as at
 * submission, link use counts). Everything is dated on the study's timeline, before `now`, and
 * every action is in the audit log as the "demo" system actor, not as the user who ran it.
 */

export const DAY_MS = 24 * 3600 * 1000;
/** Fieldwork periods, in days before `now`: the pre wave closes weeks before the post wave opens. */
const PERIODS: Record<DemoWaveKind, { from: number; to: number }> = {
  pre: { from: 42, to: 35 },
  post: { from: 8, to: 1 },
};
/** Days between setting the study up and opening the pre wave. */
const SETUP_DAYS = 3;
export const DEMO: Acting = { systemActor: "demo" };

export interface DemoOptions {
  /** Same seed, same responses. */
  seed: number;
  /** The study's default language (respondents answer in both). */
  locale: Locale;
  /** Who owns the study (created by); the audit names the "demo" actor whoever it is. */
  actorId: number | null;
  /** Fieldwork dates are placed before this moment; default now. */
  now?: Date;
}

export interface DemoStudy {
  studyId: number;
  /** Pre, then post. */
  waveIds: [number, number];
  trueLifts: Record<DemoMetric, Record<DemoSegment, TrueLift>>;
  /** All responses written, completed or not. */
  responses: number;
}

type StoredQuestion = Question & { options: QuestionOption[] };

/** The study definition: the template for Zerno, three pages, the campaign's cost. */
export function demoDefinition(locale: Locale) {
  const t = translator(locale);
  const def = brandLiftTemplate({
    studyName: t("demo.studyName", { brand: DEMO_BRAND }),
    brand: DEMO_BRAND,
    category: t("demo.category"),
    locale,
    competitors: DEMO_COMPETITORS,
    advantages: [t("demo.advantages.freshRoast"), t("demo.advantages.fast"), t("demo.advantages.plantMilk")],
  });
  // Respondents write the brand in Latin and Cyrillic letters: both count for unaided awareness.
  const questions = def.questions.map((q) => (q.key === "unaided" && q.metric ? { ...q, metric: { ...q.metric, match: DEMO_ALIASES } } : q));
  // Each segment's age and gender mix, as its community statistics publish it: the weighting targets for every wave.
  const margins = DEMO_SEGMENTS.flatMap((segment) =>
    (["gender", "age_group"] as const).map((variable) => ({ segment, wave: null, variable, shares: { ...DEMO_MARGINS[segment][variable] } })),
  );
  return { ...def, questions, margins, pageSize: 3, campaignCost: CAMPAIGN[locale].cost, currency: CAMPAIGN[locale].currency };
}

/** Answer rows of one response, as the survey's validation produces them. */
function answerRows(questions: readonly StoredQuestion[], answers: DemoAnswers): AnswerInsert[] {
  const rows: AnswerInsert[] = [];
  for (const q of questions) {
    const value: string | string[] | number | undefined = (answers as Record<string, string | string[] | number | undefined>)[q.key];
    if (value === undefined) continue;
    if (q.type === "single" || q.type === "multi") {
      for (const key of Array.isArray(value) ? value : [String(value)]) {
        const option = q.options.find((o) => o.key === key);
        if (!option) throw new Error(`demo: no option ${key} in question ${q.key}`);
        rows.push({ questionId: q.id, optionId: option.id, valueNumber: null, valueText: null });
      }
    } else if (q.type === "scale") {
      rows.push({ questionId: q.id, optionId: null, valueNumber: Number(value), valueText: null });
    } else {
      rows.push({ questionId: q.id, optionId: null, valueNumber: null, valueText: String(value) });
    }
  }
  return rows;
}

async function writeWave(
  db: Db,
  wave: Wave,
  list: readonly DemoResponse[],
  questions: readonly StoredQuestion[],
  segmentIds: ReadonlyMap<string, number>,
  linkIds: ReadonlyMap<number, number>,
  period: { start: number; end: number },
  pageOf: (r: DemoResponse) => number,
): Promise<void> {
  await unitOfWork(db, async (tx) => {
    const texts: Array<{ id: number; questionId: number; valueText: string | null }> = [];
    const excluded = new Map<string, number[]>();
    for (const [i, r] of list.entries()) {
      const segmentId = segmentIds.get(r.segment)!;
      const linkId = linkIds.get(segmentId)!;
      // Never started before the wave opened: the first completes come a questionnaire's length after it.
      const at = Math.max(period.start + (r.durationMs ?? 0), period.start + r.at * (period.end - period.start));
      const completed = r.status === "completed";
      const response = await insertResponse(tx, {
        waveId: wave.id,
        segmentId,
        linkId,
        nonce: `demo-${wave.id}-${i}`,
        status: r.status,
        locale: r.locale,
        startedAt: new Date(completed ? at - r.durationMs! : at),
        completedAt: completed ? new Date(at) : null,
        durationMs: r.durationMs,
        currentPage: pageOf(r),
        params: r.params,
        qualityFlags: r.flags,
        excluded: r.excluded,
        excludedReason: r.excludedReason,
        // Excluded by the demo (no user), when the wave closed; the audit entry below says so.
        excludedBy: null,
        excludedAt: r.excluded ? new Date(period.end) : null,
        // Coded below and flagged by the generator: no background checks pending.
        checkedAt: new Date(completed ? at : period.end),
      });
      if (r.excluded) excluded.set(r.excludedReason ?? "", [...(excluded.get(r.excludedReason ?? "") ?? []), response.id]);
      // A new response has no answers to replace: nothing to delete first.
      const stored = await replaceAnswers(tx, response.id, [], answerRows(questions, r.answers));
      for (const a of stored) if (a.valueText !== null) texts.push(a);
      if (completed) await countLinkUse(tx, linkId);
    }
    // Coded as the survey codes a submission: the brand and the aided list's competitors.
    await codeStoredAnswers(tx, wave.studyId, questions, texts);
    // One entry per reason, as a researcher excludes a selection in the ledger.
    for (const [reason, responseIds] of excluded) {
      await recordAudit(tx, {
        userId: null,
        ...DEMO,
        at: new Date(period.end),
        action: "quality.exclude",
        entityType: "study",
        entityId: wave.studyId,
        details: { responseIds, requested: responseIds.length, reason },
      });
    }
  });
}

/** One wave of a demo study: its kind and label, fieldwork dates, audience sizes and respondents. */
export interface DemoWave {
  kind: Wave["kind"];
  label: string;
  /** Fieldwork period in ms since the epoch. */
  period: { start: number; end: number };
  audience: Record<DemoSegment, number>;
  responses: readonly DemoResponse[];
}

/**
 * Writes a demo study's waves as fieldwork would have made them: all planned when the study was
 * set up, each opened and closed on its period's dates, then its respondents. Returns the wave ids
 * and the number of responses written.
 */
export async function writeDemoWaves(db: Db, studyId: number, waves: readonly DemoWave[], setUpAt: Date): Promise<{ waveIds: number[]; responses: number }> {
  const study = (await findStudy(db, studyId))!;
  const questions = await loadQuestionnaire(db, studyId);
  const segments = await listSegments(db, studyId);
  const segmentIds = new Map(segments.map((s) => [s.key, s.id]));
  // The page each respondent is on as the survey paginates: the last for a complete one, else the page after its last answer.
  const pages = paginate(questions, study.pageSize);
  const pageOfKey = new Map(pages.flatMap((p, i) => p.map((q) => [q.key, i] as const)));
  const pageOf = (r: DemoResponse) =>
    r.status === "completed" ? pages.length - 1 : Math.max(-1, ...Object.keys(r.answers).map((k) => pageOfKey.get(k) ?? -1)) + 1;

  const created: Wave[] = [];
  for (const w of waves) created.push(await insertWave(db, { studyId, kind: w.kind, label: w.label, createdAt: setUpAt }));
  let written = 0;
  for (const [i, w] of waves.entries()) {
    const wave = created[i]!;
    for (const s of segments) await setWaveSegment(db, wave.id, s.id, { target: DEMO_TARGET, audienceSize: w.audience[s.key as DemoSegment] ?? null });
    const links = await openWave(db, wave, null, { ...DEMO, at: new Date(w.period.start) });
    const linkIds = new Map(links.map((l) => [l.segmentId, l.id]));
    await closeWave(db, { ...wave, status: "open" }, null, { ...DEMO, at: new Date(w.period.end) });
    // The exclusions, made once the wave closed, are logged after its closing.
    await writeWave(db, wave, w.responses, questions, segmentIds, linkIds, w.period, pageOf);
    written += w.responses.length;
  }
  return { waveIds: created.map((w) => w.id), responses: written };
}

/** Stamped now, after the fieldwork dates: the one entry that says when the demo was generated. */
export async function auditDemo(db: Db, studyId: number, seed: number, responses: number): Promise<void> {
  await recordAudit(db, { userId: null, ...DEMO, action: "study.demo", entityType: "study", entityId: studyId, details: { seed, responses } });
}

/** The study is set up this many days before its first wave opens. */
export const setUpBefore = (firstWaveStart: number) => new Date(firstWaveStart - SETUP_DAYS * DAY_MS);

/**
 * Creates one demo study with both waves and all responses; returns its ids and the lifts built
 * into the data. Every call creates a new study (ids differ; counts are the same for a seed).
 */
export async function createDemoStudy(db: Db, options: DemoOptions, data: DemoData = generateDemoData(options.seed, options.locale)): Promise<DemoStudy> {
  const { locale, actorId } = options;
  const now = (options.now ?? new Date()).getTime();
  const t = translator(locale);
  const waves: DemoWave[] = DEMO_WAVES.map((kind) => ({
    kind,
    label: t(kind === "pre" ? "demo.wavePre" : "demo.wavePost"),
    period: { start: now - PERIODS[kind].from * DAY_MS, end: now - PERIODS[kind].to * DAY_MS },
    audience: AUDIENCE[kind],
    responses: data[kind],
  }));
  const setUpAt = setUpBefore(waves[0]!.period.start);
  const study = await createStudyFromDefinition(db, demoDefinition(locale), actorId, { ...DEMO, at: setUpAt });
  const written = await writeDemoWaves(db, study.id, waves, setUpAt);
  await auditDemo(db, study.id, options.seed, written.responses);
  return { studyId: study.id, waveIds: [written.waveIds[0]!, written.waveIds[1]!], trueLifts: trueLifts(), responses: written.responses };
}
