import { describe, expect, it } from "vitest";
import type { Question, QuestionOption } from "../../../db/schema.js";
import { primingProblems, type PrimingStudy } from "../../../server/domain/priming.js";
import type { SurveyQuestion } from "../../../server/domain/questionnaire.js";
import { QUESTION_DEFAULTS } from "../../fixtures/questions.js";

let nextId = 1;
function question(key: string, fields: Partial<Question> & { options?: Array<Partial<QuestionOption> & { key: string; text: QuestionOption["text"] }> }): SurveyQuestion {
  const id = nextId++;
  const { options = [], ...rest } = fields;
  return {
    ...QUESTION_DEFAULTS,
    id,
    key,
    position: id,
    type: "single",
    text: { ru: "?", en: "?" },
    ...rest,
    options: options.map((o, position) => ({ id: id * 100 + position, questionId: id, position, exclusive: false, pinned: false, attentionCheck: false, ...o })),
  };
}

const study: PrimingStudy = { brand: "Бодрость", publicTitle: "Опрос о кофейнях", pageSize: null, defaultLocale: "ru" };

const unaided = () =>
  question("unaided", { type: "text", text: { ru: "Какие кофейни вы знаете?", en: "Which coffee shops do you know?" }, metricName: "unaided_awareness", metricMatch: ["Бодрость", "Bodrost"] });
const aided = () =>
  question("aided", {
    type: "multi",
    text: { ru: "Какие из этих брендов вы знаете?", en: "Which of these brands do you know?" },
    metricName: "aided_awareness",
    metricPositive: ["brand"],
    options: [
      { key: "brand", text: { ru: "Бодрость", en: "Bodrost" } },
      { key: "rival", text: { ru: "Зёрнышко", en: "Zernyshko" } },
      { key: "none", text: { ru: "Ни один из них", en: "None of these" }, exclusive: true, pinned: true },
    ],
  });
const recall = () =>
  question("ad_recall", {
    text: { ru: "Видели ли вы рекламу бренда «Бодрость»?", en: "Have you seen Bodrost ads?" },
    metricName: "ad_recall",
    metricPositive: ["yes"],
    options: [
      { key: "yes", text: { ru: "Да", en: "Yes" } },
      { key: "no", text: { ru: "Нет", en: "No" } },
    ],
  });
const fav = (text = { ru: "Как вы относитесь к бренду «Бодрость»?", en: "How do you feel about Bodrost?" }) =>
  question("fav", { type: "scale", scaleMin: 1, scaleMax: 5, text, metricName: "favorability", metricPositive: [4, 5] });

describe("primingProblems", () => {
  it("finds nothing in a questionnaire that asks unaided awareness first, then the list, then ad recall", () => {
    expect(primingProblems(study, [unaided(), aided(), recall(), fav()])).toEqual([]);
    // A page size does not matter: the unaided question always ends its page.
    expect(primingProblems({ ...study, pageSize: 10 }, [unaided(), aided(), recall(), fav()])).toEqual([]);
  });

  it("flags a question that names the brand or a competitor before the unaided question (any language, case, ё/е, declined)", () => {
    const intro = question("intro", { text: { ru: "Вы бывали в «ЗЕРНЫШКЕ»?", en: "Have you been to a coffee shop?" }, options: [{ key: "y", text: { ru: "Да", en: "Yes" } }, { key: "n", text: { ru: "Нет", en: "No" } }] });
    const help = question("mood", { text: { ru: "Как настроение?", en: "Mood?" }, help: { en: "Like after a cup of bodrost" }, options: [{ key: "ok", text: { ru: "Хорошо", en: "Fine" } }, { key: "bad", text: { ru: "Плохо", en: "Bad" } }] });
    const problems = primingProblems(study, [intro, help, unaided(), aided(), recall()]);
    expect(problems).toEqual([
      { kind: "names_before_unaided", question: 0, unaided: 2, names: ["Зёрнышко"] },
      { kind: "names_before_unaided", question: 1, unaided: 2, names: ["Бодрость"] },
    ]);
  });

  it("flags what shares the unaided question's page, and stops flagging once a page break separates them", () => {
    const before = fav();
    const qs = [before, unaided(), aided()];
    expect(primingProblems(study, qs)).toEqual([{ kind: "names_before_unaided", question: 0, unaided: 1, names: ["Бодрость"] }]);
    // Moved after the unaided question: fine.
    expect(primingProblems(study, [unaided(), before, aided()])).toEqual([]);
    // A question with neutral wording before it is fine too.
    expect(primingProblems(study, [fav({ ru: "Как часто вы пьёте кофе?", en: "How often do you drink coffee?" }), unaided(), aided()])).toEqual([]);
  });

  it("flags the unaided question after the aided list (whose options name the brand)", () => {
    const problems = primingProblems(study, [aided(), unaided(), recall()]);
    expect(problems).toContainEqual({ kind: "unaided_after_aided", unaided: 1, aided: 0 });
    expect(problems).toContainEqual({ kind: "names_before_unaided", question: 0, unaided: 1, names: ["Бодрость", "Зёрнышко"] });
  });

  it("flags ad recall before an awareness question", () => {
    expect(primingProblems(study, [unaided(), recall(), aided()])).toEqual([{ kind: "ad_recall_before_awareness", adRecall: 1, awareness: 2 }]);
    const advantages = question("advantages", { type: "multi", metricName: "advantage_awareness", metricPositive: ["a"], options: [{ key: "a", text: { ru: "Быстро", en: "Fast" } }, { key: "b", text: { ru: "Дёшево", en: "Cheap" } }] });
    expect(primingProblems(study, [unaided(), aided(), recall(), advantages])).toEqual([{ kind: "ad_recall_before_awareness", adRecall: 2, awareness: 3 }]);
  });

  it("flags a public title that names the brand, and not a neutral or missing one", () => {
    const qs = [unaided(), aided()];
    expect(primingProblems({ ...study, publicTitle: "Опрос от Бодрости" }, qs)).toEqual([{ kind: "title_names_brand", names: ["Бодрость"] }]);
    expect(primingProblems({ ...study, publicTitle: "Bodrost survey" }, qs)).toEqual([{ kind: "title_names_brand", names: ["Бодрость"] }]);
    expect(primingProblems({ ...study, publicTitle: null }, qs)).toEqual([]);
  });

  it("knows the brand by the study's name for it even without an unaided question", () => {
    const q = question("q", { text: { ru: "Вы знаете бодрость?", en: "?" }, options: [{ key: "y", text: { ru: "Да", en: "Yes" } }, { key: "n", text: { ru: "Нет", en: "No" } }] });
    expect(primingProblems({ ...study, publicTitle: "Бодрость" }, [q])).toEqual([{ kind: "title_names_brand", names: ["Бодрость"] }]);
  });
});
