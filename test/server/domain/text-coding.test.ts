import { describe, expect, it } from "vitest";
import { CODED_WORDS, codeMentions, matchSpans, compileCodebook, normalizeText } from "../../../server/domain/text-coding.js";

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

  it("codes the first CODED_WORDS words of an answer only, so its length bounds its cost", () => {
    const filler = (n: number) => Array.from({ length: n }, (_, i) => `слово${i}`).join(" ");
    expect(codeMentions(`${filler(CODED_WORDS - 1)} Acme`, codes)).toEqual([{ code: "brand", rank: 0 }]);
    expect(codeMentions(`${filler(CODED_WORDS)} Acme`, codes)).toEqual([]);
    // A mention starting inside the bound is still coded (here by its one-word alias "Rival").
    expect(codeMentions(`${filler(CODED_WORDS - 1)} Ривал кофе`, codes)).toEqual([{ code: "rival", rank: 0 }]);
    const long = matchSpans(`Acme ${filler(400)} Rival`, compileCodebook(codes));
    expect(long.words).toHaveLength(402);
    expect(long.spans.map((s) => s.code)).toEqual(["brand"]);
  });
});
