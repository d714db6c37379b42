import type { Question } from "../../db/schema.js";

/**
 * Rules for profile questions (gender, age group…) in a questionnaire, for the builder's
 * warnings. Pure: questions in, problems out.
 *
 * A profile question belongs after every metric question: asked first, questions about the
 * respondent can colour the answers after them (and a respondent who stops part-way should leave
 * the metrics answered, not the profile).
 */

export type ProfileProblem =
  /** The profile question at `profile` (index) comes before the metric question at `metric`. */
  { kind: "profile_before_metric"; profile: number; metric: number };

export function profileProblems(questions: ReadonlyArray<Pick<Question, "profile" | "metricName">>): ProfileProblem[] {
  return questions.flatMap((q, i) => {
    if (!q.profile) return [];
    const metric = questions.findIndex((x, j) => j > i && !!x.metricName);
    return metric >= 0 ? [{ kind: "profile_before_metric" as const, profile: i, metric }] : [];
  });
}
