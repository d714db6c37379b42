import type { QuestionThemes } from "../quality/themes-service.js";
import type { Translate } from "../i18n/index.js";

/**
 * The one-sentence answer to "What do people think?": how many open answers, and the phrases most
 * respondents used across waves and segments (a theme's answers summed over its groups). The
 * themes and verbatims themselves come later on the page.
 */
export function feedbackSummary(themes: readonly QuestionThemes[], t: Translate, top = 3): string {
  let answers = 0;
  const counts = new Map<string, number>();
  for (const question of themes) {
    for (const group of question.groups) {
      answers += group.summary.answers;
      for (const theme of group.summary.themes) counts.set(theme.label, (counts.get(theme.label) ?? 0) + theme.count);
    }
  }
  const best = [...counts.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .slice(0, top)
    .map(([label]) => `«${label}»`);
  if (answers > 0 && best.length === 0) return t("resultsPage.feedbackSummaryNoThemes", { count: answers });
  return t("resultsPage.feedbackSummary", { count: answers, themes: best.join(", ") });
}
