import { describe, expect, it } from "vitest";
import { definitionErrors, studyDefinition } from "../../../server/domain/study-definition.js";
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
