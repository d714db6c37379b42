import { describe, expect, it } from "vitest";
import { codeMentions, normalizeText } from "../../../server/domain/text-coding.js";

describe("text coding", () => {
  const codes = { brand: ["Акме", "Acme"], rival: ["Ривал Кофе", "Rival"] };

  it("normalises case, ё and punctuation", () => {
    expect(normalizeText("  Ёлка,  ЁЖ-кафе!! ")).toBe("елка еж кафе");
  });

  it("finds brands as whole words, in the order they are named", () => {
    expect(codeMentions("Ривал кофе, потом АКМЕ", codes)).toEqual([
      { code: "rival", rank: 0 },
      { code: "brand", rank: 1 },
    ]);
    expect(codeMentions("acme!", codes)).toEqual([{ code: "brand", rank: 0 }]);
  });

  it("does not match inside other words", () => {
    expect(codeMentions("Acmeville and rivalry", codes)).toEqual([]);
    expect(codeMentions("", codes)).toEqual([]);
  });
});
