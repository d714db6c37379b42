import { describe, expect, it } from "vitest";
import { describeRow, liftTable } from "../../stats/index.js";
import type { LiftRow, LiftTableInput } from "../../stats/index.js";

const NBSP = "\u00a0";

/** A one-metric table with the given segments, each [key, label, x1, n1, x2, n2]. */
function table(
  metricLabel: string,
  segments: Array<[string, string, number, number, number, number]>,
  extra: Partial<LiftTableInput> = {},
): LiftRow[] {
  return liftTable({
    metrics: [{ key: "aided", label: metricLabel }],
    segments: segments.map(([key, label]) => ({ key, label })),
    waves: { pre: "pre", post: "post" },
    counts: segments.flatMap(([segment, , x1, n1, x2, n2]) => [
      { metric: "aided", segment, wave: "pre", x: x1, n: n1 },
      { metric: "aided", segment, wave: "post", x: x2, n: n2 },
    ]),
    ...extra,
  }).rows;
}

// The numbers in these sentences come from liftTable, whose fields are verified against R in
// lift-table.test.ts; here the subject is the wording and the locale formatting.
describe("describeRow", () => {
  it("describes a rise", () => {
    const [en] = table("aided awareness", [["subscribers", "subscribers", 310, 1000, 380, 1000]]);
    expect(describeRow(en!, "en")).toBe(
      "Among subscribers, aided awareness rose from 31% to 38% (+7.0 pp, 95% CI +2.8 to +11.1); significant after Holm correction (p < 0.001).",
    );
    const [ru] = table("узнаваемость с подсказкой", [["subscribers", "подписчики", 310, 1000, 380, 1000]]);
    expect(describeRow(ru!, "ru")).toBe(
      `Сегмент «подписчики», узнаваемость с подсказкой: рост с 31${NBSP}% до 38${NBSP}% (+7,0${NBSP}п.${NBSP}п., 95${NBSP}% ДИ от +2,8 до +11,1); статистически значимо с учётом поправки Холма (p < 0,001).`,
    );
  });

  it("describes a fall, with a typographic minus, at another level and adjustment", () => {
    const extra = { confidenceLevel: 0.9, adjustment: "bh" } as const;
    const [en] = table("aided awareness", [["subscribers", "subscribers", 380, 1000, 310, 1000]], extra);
    expect(describeRow(en!, "en")).toBe(
      "Among subscribers, aided awareness fell from 38% to 31% (\u22127.0 pp, 90% CI \u221210.5 to \u22123.5); significant after Benjamini–Hochberg correction (p < 0.001).",
    );
    const [ru] = table("узнаваемость с подсказкой", [["subscribers", "подписчики", 380, 1000, 310, 1000]], extra);
    expect(describeRow(ru!, "ru")).toBe(
      `Сегмент «подписчики», узнаваемость с подсказкой: снижение с 38${NBSP}% до 31${NBSP}% (\u22127,0${NBSP}п.${NBSP}п., 90${NBSP}% ДИ от \u221210,5 до \u22123,5); статистически значимо с учётом поправки Бенджамини — Хохберга (p < 0,001).`,
    );
  });

  it("describes no change, quoting the adjusted p-value", () => {
    const rows = table("aided awareness", [
      ["a", "subscribers", 300, 1000, 330, 1000],
      ["b", "inactive", 300, 1000, 310, 1000],
    ], { adjustment: "bonferroni" });
    // > p.adjust(c(prop.test(c(330, 300), c(1000, 1000), correct = FALSE)$p.value, ...), "bonferroni")[1]  0.4461089
    expect(describeRow(rows[0]!, "en")).toBe(
      "Among subscribers, aided awareness went from 30% to 33% (+3.0 pp, 95% CI \u22121.1 to +7.1); not significant after Bonferroni correction (p = 0.45).",
    );
    expect(describeRow(rows[0]!, "ru")).toBe(
      `Сегмент «subscribers», aided awareness: изменение с 30${NBSP}% до 33${NBSP}% (+3,0${NBSP}п.${NBSP}п., 95${NBSP}% ДИ от \u22121,1 до +7,1); статистически незначимо с учётом поправки Бонферрони (p = 0,45).`,
    );
    expect(describeRow(rows[2]!, "en")).toBe(
      "Across all segments (pooled), aided awareness went from 30% to 32% (+2.0 pp, 95% CI \u22120.9 to +4.9); not significant after Bonferroni correction (p = 0.51).",
    );
    expect(describeRow(rows[2]!, "ru")).toBe(
      `Все сегменты (объединённая выборка), aided awareness: изменение с 30${NBSP}% до 32${NBSP}% (+2,0${NBSP}п.${NBSP}п., 95${NBSP}% ДИ от \u22120,9 до +4,9); статистически незначимо с учётом поправки Бонферрони (p = 0,51).`,
    );
  });

  it("warns about small samples and names Fisher's test", () => {
    const [row] = table("aided awareness", [["active", "active", 2, 20, 9, 25]]);
    expect(row!.test).toBe("fisher");
    expect(describeRow(row!, "en")).toMatch(
      /^Among active, aided awareness went from 10% to 36% \(\+26\.0 pp, 95% CI [^)]+\); not significant after Holm correction \(Fisher’s exact test, p = 0\.0[0-9]+\); caution: fewer than 30 respondents in a wave\.$/,
    );
    expect(describeRow(row!, "ru")).toMatch(
      /; статистически незначимо с учётом поправки Холма \(точный тест Фишера, p = 0,0[0-9]+\); осторожно: в одной из волн меньше 30 респондентов\.$/,
    );
  });

  it("marks a control segment", () => {
    const rows = liftTable({
      metrics: [{ key: "aided", label: "aided awareness" }],
      segments: [{ key: "holdout", label: "holdout", role: "control" }],
      waves: { pre: "pre", post: "post" },
      counts: [
        { metric: "aided", segment: "holdout", wave: "pre", x: 100, n: 400 },
        { metric: "aided", segment: "holdout", wave: "post", x: 104, n: 400 },
      ],
    }).rows;
    expect(describeRow(rows[0]!, "en")).toMatch(/^Among holdout \(control group\), aided awareness went from 25% to 26% /);
    expect(describeRow(rows[0]!, "ru")).toMatch(/^Сегмент «holdout» \(контрольная группа\), aided awareness: изменение с 25 % до 26 % /);
  });

  it("names a stratified total", () => {
    const rows = liftTable({
      metrics: [{ key: "aided", label: "aided awareness" }],
      segments: [{ key: "a", audienceSize: 1000 }, { key: "b", audienceSize: 3000 }],
      waves: { pre: "pre", post: "post" },
      counts: [
        { metric: "aided", segment: "a", wave: "pre", x: 100, n: 400 },
        { metric: "aided", segment: "a", wave: "post", x: 140, n: 400 },
        { metric: "aided", segment: "b", wave: "pre", x: 120, n: 400 },
        { metric: "aided", segment: "b", wave: "post", x: 130, n: 400 },
      ],
    }).rows;
    expect(describeRow(rows[2]!, "en")).toMatch(/^Across all segments \(weighted by audience size\), aided awareness /);
    expect(describeRow(rows[2]!, "ru")).toMatch(/^Все сегменты \(взвешено по размеру аудитории\), aided awareness: /);
  });

  it("prints the p-value with enough digits to stay on its side of alpha, and shares with a decimal when needed", () => {
    const [row] = table("aided awareness", [["s", "s", 312, 1000, 314, 1000]]);
    expect(describeRow(row!, "en")).toContain("went from 31.2% to 31.4%");
    expect(describeRow({ ...row!, adjustedPValue: 0.0496, verdict: "rise" }, "en")).toContain("(p = 0.0496)");
    expect(describeRow({ ...row!, adjustedPValue: 0.0504 }, "en")).toContain("(p = 0.05)");
    expect(describeRow({ ...row!, adjustedPValue: 0.0123 }, "ru")).toContain("(p = 0,012)");
    expect(describeRow({ ...row!, adjustedPValue: 1 }, "en")).toContain("(p = 1)");
  });

  it("rejects an unknown locale", () => {
    const [row] = table("aided awareness", [["s", "s", 312, 1000, 314, 1000]]);
    expect(() => describeRow(row!, "de" as "en")).toThrow(new RangeError('describeRow: locale must be "ru" or "en", got de'));
  });
});
