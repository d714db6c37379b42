import { describe, expect, it } from "vitest";
import { loadQuestionnaire } from "../../../db/queries/questionnaire.js";
import { listSegments } from "../../../db/queries/studies.js";
import { toDefinition } from "../../../server/domain/definition-export.js";
import { definitionErrors, studyDefinition } from "../../../server/domain/study-definition.js";
import { brandLiftTemplate } from "../../../server/domain/template.js";
import { createStudyFromDefinition } from "../../../server/services/study-setup.js";
import { freshDb } from "../../helpers.js";
import { brandLiftDefinition } from "../../fixtures/surveys.js";

describe("study definition", () => {
  it("accepts the DESIGN.md example shape with defaults filled in", () => {
    const def = brandLiftDefinition();
    expect(def.questions[1]).toMatchObject({ key: "recall", required: true, randomize: false });
    expect(def.questions[0]!.options![4]).toMatchObject({ key: "none", exclusive: true, pinned: true, attentionCheck: false });
  });

  it("lists every problem by JSON path", () => {
    const parsed = studyDefinition.safeParse({
      name: "",
      brand: "B",
      locale: "de",
      surprise: 1,
      questions: [
        { key: "Bad Key", type: "single", text: { en: "?" }, options: [{ key: "a", text: { en: "A" } }] },
        { key: "s", type: "scale", min: 5, max: 1, text: { ru: "?" }, metric: { name: "m", positive: [9] } },
        { key: "m", type: "multi", text: {}, options: [{ key: "a", text: { en: "A" } }, { key: "a", text: { en: "B" } }], metric: { name: "x", positive: ["zzz"] } },
        { key: "m", type: "text", text: { en: "?" } },
      ],
    });
    expect(parsed.success).toBe(false);
    const paths = definitionErrors(parsed.error!).map((e) => e.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        "name",
        "locale",
        "surprise",
        "questions[0].key",
        "questions[0].options",
        "questions[1].max",
        "questions[2].text",
        "questions[2].options[1].key",
        "questions[2].metric.positive[0]",
      ]),
    );
  });

  it("refuses two questions with the same key", () => {
    const def = brandLiftDefinition();
    const parsed = studyDefinition.safeParse({ ...def, questions: [...def.questions, def.questions[0]] });
    expect(definitionErrors(parsed.error!)).toEqual([{ path: "questions[4].key", message: 'duplicate question key "aided"' }]);
  });
});

describe("page breaks in the study definition", () => {
  const q = (key: string) => ({ key, type: "text", text: { en: "?" } });

  it("stores a break on the question before it; one after the last question ends nothing", () => {
    const def = studyDefinition.parse({ name: "n", brand: "b", locale: "en", publicTitle: " Survey ", questions: [q("a"), { type: "page_break" }, q("b"), q("c"), { type: "page_break" }] });
    expect(def.publicTitle).toBe("Survey");
    expect(def.questions.map((x) => [x.key, x.pageBreakAfter ?? false])).toEqual([["a", true], ["b", false], ["c", false]]);
  });

  it("refuses a leading break, two in a row, and a duplicate key after a break, at the element's own index", () => {
    const errors = (questions: object[]) => definitionErrors(studyDefinition.safeParse({ name: "n", brand: "b", locale: "en", questions }).error!);
    expect(errors([{ type: "page_break" }, q("a")])).toEqual([{ path: "questions[0]", message: "a page break must follow a question: remove it from the start" }]);
    expect(errors([q("a"), { type: "page_break" }, { type: "page_break" }, q("b")])).toEqual([{ path: "questions[2]", message: "two page breaks in a row: remove one" }]);
    expect(errors([q("a"), { type: "page_break" }, q("a")])).toEqual([{ path: "questions[2].key", message: 'duplicate question key "a"' }]);
  });
});

describe("decoy options of a metric (metric.exclude)", () => {
  const withExclude = (exclude: unknown, at = 0) => {
    const def = JSON.parse(JSON.stringify(brandLiftDefinition())) as { questions: Array<{ metric?: Record<string, unknown> }> };
    def.questions[at]!.metric = { ...def.questions[at]!.metric, exclude };
    return studyDefinition.safeParse({ ...def, locale: "ru" });
  };

  it("accepts option keys that do not count for the metric", () => {
    const parsed = withExclude(["rival"]);
    expect(parsed.success && parsed.data.questions[0]!.metric).toEqual({ name: "aided_awareness", positive: ["acme"], exclude: ["rival"] });
  });

  it("refuses unknown keys, positive keys and decoys on a question without options, by JSON path", () => {
    expect(definitionErrors(withExclude(["ghost"]).error!)).toEqual([{ path: "questions[0].metric.exclude[0]", message: '"ghost" is not an option key' }]);
    expect(definitionErrors(withExclude(["rival", "acme"]).error!)).toEqual([
      { path: "questions[0].metric.exclude[1]", message: '"acme" is positive: a decoy cannot also count as aware' },
    ]);
    expect(definitionErrors(withExclude(["4"], 2).error!)).toEqual([{ path: "questions[2].metric.exclude", message: "only a choice question's options can be excluded (decoys)" }]);
    expect(definitionErrors(withExclude([]).error!).map((e) => e.path)).toEqual(["questions[0].metric.exclude"]);
  });

  it("survives export and import, and the template's advantage question leaves decoy choosers out", async () => {
    const db = freshDb();
    const study = await createStudyFromDefinition(db, withExclude(["rival"]).data!, null);
    const exported = JSON.parse(JSON.stringify(toDefinition(study, await listSegments(db, study.id), await loadQuestionnaire(db, study.id))));
    expect(studyDefinition.parse(exported).questions[0]!.metric).toEqual({ name: "aided_awareness", positive: ["acme"], exclude: ["rival"] });
    const template = brandLiftTemplate({ studyName: "T", brand: "Акме", locale: "ru", competitors: ["Ромашка"], advantages: ["Быстро", "Дёшево"] });
    expect(template.questions.find((q) => q.key === "advantages")!.metric).toEqual({ name: "advantage_awareness", positive: ["advantage_1", "advantage_2"], exclude: ["decoy"] });
  });
});
