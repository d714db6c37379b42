import type { Locale } from "../../db/schema.js";
import { primingProblems, type PrimingStudy } from "../domain/priming.js";
import { localize, type SurveyQuestion } from "../domain/questionnaire.js";
import type { Translate } from "../i18n/index.js";

const SNIPPET = 60;

/** The builder's priming warnings as sentences in the user's language (questions by number and wording, never by key). */
export function primingWarnings(study: PrimingStudy, questions: readonly SurveyQuestion[], t: Translate, locale: Locale): string[] {
  const ref = (i: number) => {
    const text = localize(questions[i]?.text, locale, study.defaultLocale);
    return t("priming.question", { n: i + 1, text: text.length > SNIPPET ? `${text.slice(0, SNIPPET - 1).trimEnd()}…` : text });
  };
  return primingProblems(study, questions).map((p) => {
    switch (p.kind) {
      case "names_before_unaided":
        return t("priming.warnings.namesBeforeUnaided", { question: ref(p.question), unaided: ref(p.unaided), names: p.names.join(", ") });
      case "title_names_brand":
        return t("priming.warnings.titleNamesBrand", { title: study.publicTitle ?? "", names: p.names.join(", ") });
      case "unaided_after_aided":
        return t("priming.warnings.unaidedAfterAided", { unaided: ref(p.unaided), aided: ref(p.aided) });
      case "ad_recall_before_awareness":
        return t("priming.warnings.adRecallBeforeAwareness", { adRecall: ref(p.adRecall), awareness: ref(p.awareness) });
    }
  });
}

/** The title respondents see on every page: the study's neutral public title, else a generic "Survey" (never the name or brand). */
export function respondentTitle(study: Pick<PrimingStudy, "publicTitle"> | undefined, t: Translate): string {
  return study?.publicTitle?.trim() || t("priming.surveyTitle");
}
