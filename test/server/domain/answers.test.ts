import { describe, expect, it } from "vitest";
import { validatePage } from "../../../server/domain/answers.js";
import type { SurveyQuestion } from "../../../server/domain/questionnaire.js";
import { QUESTION_DEFAULTS } from "../../fixtures/questions.js";

const base = { ...QUESTION_DEFAULTS, text: { en: "?" } };
const option = (id: number, key: string, exclusive = false) => ({
  id,
  questionId: 1,
  key,
  position: id,
  text: { en: key },
  exclusive,
  pinned: false,
  attentionCheck: false,
});
const multi: SurveyQuestion = { ...base, id: 1, key: "m", type: "multi", options: [option(10, "a"), option(11, "b"), option(12, "none", true)] };
const scale: SurveyQuestion = { ...base, id: 2, key: "s", type: "scale", scaleMin: 0, scaleMax: 10, options: [] };
const text: SurveyQuestion = { ...base, id: 3, key: "t", type: "text", required: false, maxLength: 5, options: [] };

describe("validatePage", () => {
  it("turns valid answers into long-format rows, repeated option keys once", () => {
    const v = validatePage([multi, scale, text], { q_m: ["a", "b", "a"], q_s: "0", q_t: "  héllo " });
    expect(v.errors).toEqual({});
    expect(v.rows).toEqual([
      { questionId: 1, optionId: 10, valueNumber: null, valueText: null },
      { questionId: 1, optionId: 11, valueNumber: null, valueText: null },
      { questionId: 2, optionId: null, valueNumber: 0, valueText: null },
      { questionId: 3, optionId: null, valueNumber: null, valueText: "héllo" },
    ]);
  });

  it("allows the exclusive option alone", () => {
    expect(validatePage([multi], { q_m: "none" }).rows).toHaveLength(1);
    expect(validatePage([multi], { q_m: ["none", "a"] }).errors).toEqual({ m: { code: "exclusive" } });
  });

  it("counts characters, not bytes or UTF-16 units, against the text limit", () => {
    expect(validatePage([text], { q_t: "ёёёёё" }).errors).toEqual({});
    expect(validatePage([text], { q_t: "😀😀😀😀😀" }).errors).toEqual({});
    expect(validatePage([text], { q_t: "ёёёёёё" }).errors).toEqual({ t: { code: "tooLong", params: { max: 5 } } });
  });

  it("rejects scale values that are not whole numbers within bounds", () => {
    for (const bad of ["11", "-1", "1e1", "0x5", " ", "5.0"]) {
      const v = validatePage([scale], { q_s: bad });
      expect(Object.keys(v.errors), bad).toEqual(["s"]);
    }
  });

  it("ignores values of other types (objects) and keeps what was sent", () => {
    const v = validatePage([multi], { q_m: { a: 1 } as unknown as string });
    expect(v.errors).toEqual({ m: { code: "required" } });
    expect(validatePage([multi], { q_m: ["a", "zzz"] }).kept).toEqual({ m: ["a", "zzz"] });
  });
});
