import type { Db } from "../../db/client.js";
import { listThemeAnswers } from "../../db/queries/quality.js";
import type { Locale, Segment, Wave } from "../../db/schema.js";
import { localize, type SurveyQuestion } from "../domain/questionnaire.js";
import { DEFAULT_MIN_COUNT, summarizeThemes, type ThemeSummary } from "./themes.js";

/** Feedback themes per open question, wave and segment, for the results page and the report. */

/** Answers read per page at most: a summary of 50,000 answers says what a larger one would. */
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

/** Open feedback questions: text questions without a metric. */
export function feedbackQuestions(questions: readonly SurveyQuestion[]): SurveyQuestion[] {
  return questions.filter((q) => q.type === "text" && !q.metricName);
}

export async function feedbackThemes(
  db: Db,
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
): Promise<QuestionThemes[]> {
  const questions = feedbackQuestions(input.questions);
  const waves = input.waves.filter((w) => !input.waveId || w.id === input.waveId);
  const segments = input.segments.filter((s) => !input.segmentId || s.id === input.segmentId);
  const rows = await listThemeAnswers(db, {
    questionIds: questions.map((q) => q.id),
    waveIds: waves.map((w) => w.id),
    includeFlagged: input.includeFlagged,
    limit: MAX_THEME_ANSWERS,
  });
  const byGroup = new Map<string, Array<{ text: string }>>();
  for (const r of rows) {
    const key = `${r.questionId}|${r.waveId}|${r.segmentId}`;
    const list = byGroup.get(key);
    if (list) list.push({ text: r.text });
    else byGroup.set(key, [{ text: r.text }]);
  }
  return questions.map((q) => ({
    questionId: q.id,
    label: localize(q.text, input.locale, input.fallback) || q.key,
    top: TOP_THEMES,
    minCount: DEFAULT_MIN_COUNT,
    groups: waves.flatMap((wave) =>
      segments.flatMap((segment) => {
        const answers = byGroup.get(`${q.id}|${wave.id}|${segment.id}`);
        return answers ? [{ wave, segment, summary: summarizeThemes(answers) }] : [];
      }),
    ),
  }));
}
