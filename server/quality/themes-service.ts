import { unitOfWork, type Db, type Executor } from "../../db/client.js";
import { listWaves } from "../../db/queries/fieldwork.js";
import { findStudyJobs } from "../../db/queries/jobs.js";
import { findThemeSnapshot, listGroupThemeAnswers, saveThemeSnapshot, themeAnswerCutoff } from "../../db/queries/quality.js";
import { loadQuestionnaire } from "../../db/queries/questionnaire.js";
import { findStudy, listSegments } from "../../db/queries/studies.js";
import type { Locale, Segment, Study, Wave } from "../../db/schema.js";
import { localize, type SurveyQuestion } from "../domain/questionnaire.js";
import { cursorOf, type JobStep, type StepResult } from "../jobs/contract.js";
import { startJob } from "../jobs/queue.js";
import { DEFAULT_MIN_COUNT, summarizeThemes, type ThemeSummary } from "./themes.js";

/**
 * Feedback themes per open question, wave and segment, for the results page and the report.
 * Summarising tens of thousands of answers is too much for a request: the "themes" job computes
 * them group by group and stores them as a snapshot (result_snapshots, variant "themes:…"); pages
 * read the snapshot, say when it was computed, and queue a new computation when it is older than
 * THEMES_MAX_AGE_MS or the questionnaire changed since.
 */

/** Answers read per study at most: a summary of 50,000 answers says what a larger one would. */
export const MAX_THEME_ANSWERS = 50_000;
/** Themes shown per group before "all themes": a dozen phrases is what a reader takes in. */
export const TOP_THEMES = 12;
/** How old a snapshot may be before a page asks for a new one (answers keep coming during fieldwork). */
export const THEMES_MAX_AGE_MS = 2 * 60_000;

export interface ThemeGroup {
  wave: Wave;
  segment: Segment;
  summary: ThemeSummary;
}

export interface QuestionThemes {
  questionId: number;
  label: string;
  /** Themes shown per group before the rest is folded away (TOP_THEMES). */
  top: number;
  /** Answers a phrase needs to be a theme. */
  minCount: number;
  groups: ThemeGroup[];
}

/** Open feedback questions: text questions without a metric. */
export function feedbackQuestions(questions: readonly SurveyQuestion[]): SurveyQuestion[] {
  return questions.filter((q) => q.type === "text" && !q.metricName);
}

interface StoredGroup {
  questionId: number;
  waveId: number;
  segmentId: number;
  summary: ThemeSummary;
}

/** Flagged responses' answers counted or not: one snapshot each. */
const variantOf = (includeFlagged: boolean) => `themes:${includeFlagged ? "flagged" : "clean"}`;

export interface StoredThemes {
  themes: QuestionThemes[];
  /** When the themes shown were computed; null when none have been yet. */
  computedAt: Date | null;
  /** A newer computation is queued or running. */
  updating: boolean;
}

/**
 * The study's themes as last computed (filtered to a wave or segment, labelled in `locale`); when
 * the snapshot is missing, older than THEMES_MAX_AGE_MS or from before the last questionnaire
 * change, a themes job is queued (unless one is waiting or running already).
 */
export async function storedThemes(
  db: Db,
  study: Study,
  input: {
    questions: readonly SurveyQuestion[];
    waves: readonly Wave[];
    segments: readonly Segment[];
    includeFlagged: boolean;
    waveId?: number | undefined;
    segmentId?: number | undefined;
    locale: Locale;
    fallback: Locale;
  },
  now = new Date(),
): Promise<StoredThemes> {
  const snapshot = await findThemeSnapshot(db, study.id, variantOf(input.includeFlagged));
  const fresh = snapshot !== undefined && snapshot.dataVersion === String(study.version) && now.getTime() - snapshot.computedAt.getTime() < THEMES_MAX_AGE_MS;
  if (!fresh) await queueThemes(db, study, input.includeFlagged);
  const stored = snapshot ? (JSON.parse(snapshot.payload) as { groups: StoredGroup[] }).groups : [];
  const waves = input.waves.filter((w) => !input.waveId || w.id === input.waveId);
  const segments = input.segments.filter((s) => !input.segmentId || s.id === input.segmentId);
  const themes = feedbackQuestions(input.questions).map((q) => ({
    questionId: q.id,
    label: localize(q.text, input.locale, input.fallback) || q.key,
    top: TOP_THEMES,
    minCount: DEFAULT_MIN_COUNT,
    groups: waves.flatMap((wave) =>
      segments.flatMap((segment) => {
        const group = stored.find((g) => g.questionId === q.id && g.waveId === wave.id && g.segmentId === segment.id);
        return group ? [{ wave, segment, summary: group.summary }] : [];
      }),
    ),
  }));
  return { themes, computedAt: snapshot?.computedAt ?? null, updating: !fresh };
}

async function queueThemes(db: Db, study: Study, includeFlagged: boolean): Promise<void> {
  const active = await findStudyJobs(db, study.id, "themes", ["queued", "running"]);
  if (active.some((j) => j.params?.["flagged"] === includeFlagged)) return;
  await startJob(db, { teamId: study.teamId, studyId: study.id, kind: "themes", params: { flagged: includeFlagged } });
}

/** A themes job's cursor: the groups to summarise, how far it is, and the summaries so far. */
interface ThemesCursor {
  groups: Array<[number, number, number]>;
  next: number;
  /** The last answer read (MAX_THEME_ANSWERS in answer id order), null for all. */
  maxAnswerId: number | null;
  /** The study's version when the job started: the snapshot is of it. */
  version: number;
  startedAt: number;
  computed: StoredGroup[];
}

/**
 * The "themes" job: a first step lists the groups (question × wave × segment) and where the
 * answers read stop; then one group per step (its answers read and summarised); the last step
 * stores the snapshot.
 */
export const themesJobStep: JobStep = async (db, job, run) => {
  const studyId = job.studyId!;
  const includeFlagged = job.params?.["flagged"] === true;
  const c = cursorOf<ThemesCursor>(job);
  if (c.groups === undefined) return startThemes(db, studyId, includeFlagged);
  const cursor = c as ThemesCursor;
  const total = cursor.groups.length;
  if (cursor.next < total) {
    const [questionId, waveId, segmentId] = cursor.groups[cursor.next]!;
    const answers = await listGroupThemeAnswers(db, { questionId, waveId, segmentId, includeFlagged, maxId: cursor.maxAnswerId });
    const computed = answers.length ? [...cursor.computed, { questionId, waveId, segmentId, summary: summarizeThemes(answers) }] : cursor.computed;
    return { cursor: { ...cursor, next: cursor.next + 1, computed }, done: cursor.next + 1, total };
  }
  const now = new Date();
  const result: StepResult = { cursor: null, done: total, total, result: { groups: cursor.computed.length } };
  await unitOfWork(db, async (tx) => {
    await saveThemeSnapshot(tx, {
      studyId,
      variant: variantOf(includeFlagged),
      dataVersion: String(cursor.version),
      payload: JSON.stringify({ groups: cursor.computed }),
      computedAt: now,
      durationMs: Math.max(0, now.getTime() - cursor.startedAt),
    });
    await run.save(tx, result);
  });
  return result;
};

async function startThemes(db: Executor, studyId: number, includeFlagged: boolean): Promise<StepResult> {
  const study = await findStudy(db, studyId);
  const questions = feedbackQuestions(await loadQuestionnaire(db, studyId));
  const waves = await listWaves(db, studyId);
  const segments = await listSegments(db, studyId);
  const groups = questions.flatMap((q) => waves.flatMap((w) => segments.map((s): [number, number, number] => [q.id, w.id, s.id])));
  const maxAnswerId = await themeAnswerCutoff(db, { questionIds: questions.map((q) => q.id), waveIds: waves.map((w) => w.id), includeFlagged, limit: MAX_THEME_ANSWERS });
  const cursor: ThemesCursor = { groups, next: 0, maxAnswerId, version: study?.version ?? 0, startedAt: Date.now(), computed: [] };
  return { cursor: { ...cursor }, done: 0, total: groups.length };
}
