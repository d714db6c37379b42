import { describe, expect, it } from "vitest";
import { listMargins } from "../../../db/queries/margins.js";
import { loadQuestionnaire } from "../../../db/queries/questionnaire.js";
import { findStudy, listSegments } from "../../../db/queries/studies.js";
import { toDefinition } from "../../../server/domain/definition-export.js";
import { profileProblems } from "../../../server/domain/profile.js";
import { paginate } from "../../../server/domain/questionnaire.js";
import { definitionErrors, studyDefinition, type StudyDefinition } from "../../../server/domain/study-definition.js";
import { AGE_GROUPS, brandLiftTemplate } from "../../../server/domain/template.js";
import { translator } from "../../../server/i18n/index.js";
import { createStudyFromDefinition } from "../../../server/services/study-setup.js";
import { brandLiftDefinition } from "../../fixtures/surveys.js";
import { QUESTION_DEFAULTS } from "../../fixtures/questions.js";
import { freshDb } from "../../helpers.js";

/**
 * Profile questions in the study definition (single-choice only, never a metric), their weighting
 * targets (`margins`, for every wave), the template's gender and age questions, and the order rule.
 */

const gender = {
  key: "gender",
  type: "single",
  required: false,
  profile: true,
  text: { ru: "Ваш пол", en: "Your gender" },
  options: [
    { key: "female", text: { en: "Female" } },
    { key: "male", text: { en: "Male" } },
    { key: "prefer_not", text: { en: "Prefer not to say" } },
  ],
};

/** The fixture's questions as JSON input, plus `extra`. */
function definitionWith(extra: object[], fields: object = {}) {
  const base = JSON.parse(JSON.stringify(brandLiftDefinition())) as { questions: object[] };
  return { ...base, questions: [...base.questions, ...extra], ...fields };
}

describe("profile questions in the study definition", () => {
  it("accepts a single-choice profile question and leaves every other question without the mark", () => {
    const def = studyDefinition.parse(definitionWith([gender]));
    expect(def.questions.at(-1)).toMatchObject({ key: "gender", profile: true, required: false });
    expect(def.questions.slice(0, -1).map((q) => q.profile)).toEqual([undefined, undefined, undefined, undefined]);
  });

  it.each(["multi", "scale", "text"])("refuses a %s question marked as profile, in the reader's language", (type) => {
    const q = { ...gender, type, ...(type === "scale" ? { min: 1, max: 5, options: undefined } : type === "text" ? { options: undefined } : {}) };
    const parsed = studyDefinition.safeParse(definitionWith([q]));
    expect(parsed.success).toBe(false);
    expect(definitionErrors(parsed.error!)).toEqual([{ path: "questions[4].profile", message: "Only a single-choice question can be a profile question." }]);
    expect(definitionErrors(parsed.error!, translator("ru"))).toEqual([{ path: "questions[4].profile", message: "Вопросом профиля может быть только вопрос с одним ответом." }]);
  });

  it("refuses a profile question that is also a metric: profile questions never count as metrics", () => {
    const parsed = studyDefinition.safeParse(definitionWith([{ ...gender, metric: { name: "women", positive: ["female"] } }]));
    expect(definitionErrors(parsed.error!)).toEqual([
      { path: "questions[4].profile", message: "A profile question describes the respondent and cannot be a metric: remove the metric or the profile mark." },
    ]);
  });

  it("survives export and import: profile: true on the question, nothing on the others; targets for every wave in `margins`", async () => {
    const db = freshDb();
    const def = studyDefinition.parse(
      definitionWith([gender], {
        margins: [
          { segment: "inactive", wave: null, variable: "gender", shares: { female: "52%", male: 0.48 } },
          { segment: "subscribers", variable: "gender", shares: { male: 0.38, female: 0.62 } },
        ],
      }),
    );
    const study = await createStudyFromDefinition(db, def, null);
    const exported = JSON.parse(JSON.stringify(toDefinition(study, await listSegments(db, study.id), await loadQuestionnaire(db, study.id), await listMargins(db, study.id))));
    expect(exported.questions.at(-1).profile).toBe(true);
    expect(exported.questions.slice(0, -1).map((q: { profile?: boolean }) => q.profile)).toEqual([undefined, undefined, undefined, undefined]);
    // In the study's order (segments, then the question's options), whatever order they came in.
    expect(exported.margins).toEqual([
      { segment: "subscribers", wave: null, variable: "gender", shares: { female: 0.62, male: 0.38 } },
      { segment: "inactive", wave: null, variable: "gender", shares: { female: 0.52, male: 0.48 } },
    ]);

    const again = await createStudyFromDefinition(db, studyDefinition.parse(exported), null);
    const definitionOf = async (id: number) => toDefinition((await findStudy(db, id))!, await listSegments(db, id), await loadQuestionnaire(db, id), await listMargins(db, id));
    expect({ ...(await definitionOf(again.id)), name: "" }).toEqual({ ...(await definitionOf(study.id)), name: "" });
    expect((await loadQuestionnaire(db, again.id)).map((q) => q.profile)).toEqual([false, false, false, false, true]);
    // Without margins the definition has no `margins` field at all.
    expect(toDefinition(study, await listSegments(db, study.id), await loadQuestionnaire(db, study.id))).not.toHaveProperty("margins");
  });

  it("checks a definition's margins as an import does, naming the entry; no wave can be named", () => {
    const parsed = studyDefinition.safeParse(
      definitionWith([gender], {
        margins: [
          { segment: "inactive", wave: "Post", variable: "gender", shares: { female: 0.5, male: 0.5 } },
          { segment: "subscribers", variable: "gender", shares: { female: 0.6, male: 0.3 } },
          { segment: "subscribers", variable: "recall", shares: { yes: 1, no: 0 } },
          { segment: "nobody", variable: "gender", shares: { female: 0.5, male: 0.5 } },
        ],
      }),
    );
    expect(parsed.success).toBe(false);
    expect(definitionErrors(parsed.error!)).toEqual([
      { path: "margins[0].shares.female", message: "a study definition has no waves yet, so its targets are for all waves: remove the wave “Post”." },
      { path: "margins[0].shares.male", message: "a study definition has no waves yet, so its targets are for all waves: remove the wave “Post”." },
      { path: "margins[1]", message: "the shares of subscribers, all waves, gender sum to 0.9, not 1: they must add up to 100% (±0.1%)." },
      { path: "margins[2].shares.yes", message: "the question “recall” is not a profile question: mark it as one in the questionnaire (single-choice questions only)." },
      { path: "margins[2].shares.no", message: "the question “recall” is not a profile question: mark it as one in the questionnaire (single-choice questions only)." },
      { path: "margins[3].shares.female", message: "no segment “nobody” in this study (its segments: subscribers, active_unsubscribed, inactive)." },
      { path: "margins[3].shares.male", message: "no segment “nobody” in this study (its segments: subscribers, active_unsubscribed, inactive)." },
    ]);
    // The study's own segments are what margins name.
    const custom = studyDefinition.safeParse(
      definitionWith([gender], {
        segments: [{ key: "fans", label: { en: "Fans" } }],
        margins: [{ segment: "fans", variable: "gender", shares: { female: 0.5, male: 0.5 } }],
      }),
    );
    expect(custom.success).toBe(true);
  });
});

describe("the brand-lift template's profile questions", () => {
  const template = (locale: "ru" | "en") => brandLiftTemplate({ studyName: "T", brand: "Акме", category: "кофейни", locale, competitors: ["Ромашка"], advantages: ["Быстро"] });

  it.each(["ru", "en"] as const)("asks gender and age group last (%s), on a page of their own, optional, with prefer-not, never a metric", async (locale) => {
    const def: StudyDefinition = template(locale);
    const keys = def.questions.map((q) => q.key);
    expect(keys.slice(-2)).toEqual(["gender", "age_group"]);
    const [genderQ, ageQ] = def.questions.slice(-2);
    for (const q of [genderQ!, ageQ!]) {
      expect(q).toMatchObject({ type: "single", profile: true, required: false });
      expect(q.metric).toBeUndefined();
      expect(q.options!.at(-1)).toMatchObject({ key: "prefer_not", text: { ru: "Предпочитаю не отвечать", en: "Prefer not to say" } });
    }
    expect(genderQ!.options!.map((o) => o.key)).toEqual(["female", "male", "prefer_not"]);
    expect(ageQ!.options!.map((o) => [o.key, o.text.en])).toEqual([
      ["age_18_24", "18–24"],
      ["age_25_34", "25–34"],
      ["age_35_44", "35–44"],
      ["age_45_54", "45–54"],
      ["age_55_plus", "55 or older"],
      ["prefer_not", "Prefer not to say"],
    ]);
    expect(AGE_GROUPS).toHaveLength(5);
    // Only the profile questions are profile questions, and every metric question comes before them.
    expect(def.questions.filter((q) => q.profile).map((q) => q.key)).toEqual(["gender", "age_group"]);
    const lastMetric = def.questions.reduce((last, q, i) => (q.metric ? i : last), -1);
    expect(lastMetric).toBeLessThan(keys.indexOf("gender"));
    // A page break before them: with any page size they are alone on the last page.
    expect(def.questions.at(-3)).toMatchObject({ key: "feedback", pageBreakAfter: true });
    const db = freshDb();
    const study = await createStudyFromDefinition(db, { ...def, pageSize: 50 }, null);
    const pages = paginate(await loadQuestionnaire(db, study.id), 50);
    expect(pages.at(-1)!.map((q) => q.key)).toEqual(["gender", "age_group"]);
  });
});

describe("profile questions before metrics", () => {
  const q = (key: string, fields: { profile?: boolean; metricName?: string | null }) => ({ ...QUESTION_DEFAULTS, key, ...fields });

  it("finds each profile question followed by a metric question, naming the first such metric", () => {
    expect(profileProblems([q("aided", { metricName: "aided_awareness" }), q("gender", { profile: true }), q("age", { profile: true })])).toEqual([]);
    expect(
      profileProblems([q("gender", { profile: true }), q("note", {}), q("aided", { metricName: "aided_awareness" }), q("age", { profile: true }), q("fav", { metricName: "favorability" })]),
    ).toEqual([
      { kind: "profile_before_metric", profile: 0, metric: 2 },
      { kind: "profile_before_metric", profile: 3, metric: 4 },
    ]);
  });
});
