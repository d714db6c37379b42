import type { Executor } from "../../db/client.js";
import { listThemeAnswers } from "../../db/queries/quality.js";
import type { Locale, Segment, Wave } from "../../db/schema.js";
import { localize, type SurveyQuestion } from "../domain/questionnaire.js";
import { DEFAULT_MIN_COUNT, summarizeThemes, type ThemeSummary } from "./themes.js";

/** Feedback themes per open question, wave and segment, for the results page and the report. */

/** Answers read per question, wave and segment at most: a summary of 50,000 answers says what a larger one would. */
export const MAX_THEME_ANSWERS = 50_000;
/** Themes shown per group before "all themes": a dozen phrases is what a reader takes in. */
export const TOP_THEMES = 12;

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

/** The themes of one question in one wave and segment, as computed (no labels: any reader's language). */
export interface ThemeGroupData {
  questionId: number;
  waveId: number;
  segmentId: number;
  summary: ThemeSummary;
}

/** Open feedback questions: text questions without a metric. */
export function feedbackQuestions(questions: readonly SurveyQuestion[]): SurveyQuestion[] {
  return questions.filter((q) => q.type === "text" && !q.metricName);
}

/**
 * The themes of every open question in every wave and segment, each group from its first
 * MAX_THEME_ANSWERS answers (so a group's themes are the same whether or not the page filters by
 * wave or segment). CPU-heavy on large studies: computed with the results' snapshot, off the request.
 */
export async function computeThemeGroups(
  db: Executor,
  input: { questions: readonly SurveyQuestion[]; waves: readonly Wave[]; segments: readonly Segment[]; includeFlagged: boolean },
): Promise<ThemeGroupData[]> {
  const groups: ThemeGroupData[] = [];
  for (const q of feedbackQuestions(input.questions)) {
    for (const wave of input.waves) {
      for (const segment of input.segments) {
        const rows = await listThemeAnswers(db, { questionIds: [q.id], waveIds: [wave.id], segmentId: segment.id, includeFlagged: input.includeFlagged, limit: MAX_THEME_ANSWERS });
        if (rows.length > 0) groups.push({ questionId: q.id, waveId: wave.id, segmentId: segment.id, summary: summarizeThemes(rows) });
      }
    }
  }
  return groups;
}

/** The themes shown: per open question, its groups of the chosen wave and segment (all when none), labelled in the reader's language. */
export function feedbackThemes(
  groups: readonly ThemeGroupData[],
  input: {
    questions: readonly SurveyQuestion[];
    waves: readonly Wave[];
    segments: readonly Segment[];
    waveId?: number | undefined;
    segmentId?: number | undefined;
    locale: Locale;
    fallback: Locale;
  },
): QuestionThemes[] {
  const waves = input.waves.filter((w) => !input.waveId || w.id === input.waveId);
  const segments = input.segments.filter((s) => !input.segmentId || s.id === input.segmentId);
  const byGroup = new Map(groups.map((g) => [`${g.questionId}|${g.waveId}|${g.segmentId}`, g.summary]));
  return feedbackQuestions(input.questions).map((q) => ({
    questionId: q.id,
    label: localize(q.text, input.locale, input.fallback) || q.key,
    top: TOP_THEMES,
    minCount: DEFAULT_MIN_COUNT,
    groups: waves.flatMap((wave) =>
      segments.flatMap((segment) => {
        const summary = byGroup.get(`${q.id}|${wave.id}|${segment.id}`);
        return summary ? [{ wave, segment, summary }] : [];
      }),
    ),
  }));
}
