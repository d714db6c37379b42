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
  it("describes a rise with the interval printed beside the verdict", () => {
    const [en] = table("aided awareness", [["subscribers", "subscribers", 310, 1000, 380, 1000]]);
    expect(describeRow(en!, "en")).toBe("Among subscribers, aided awareness rose from 31% to 38%, +7.0 pp (95% CI +2.8 to +11.1, tested on its own).");
    const [ru] = table("узнаваемость с подсказкой", [["subscribers", "подписчики", 310, 1000, 380, 1000]]);
    expect(describeRow(ru!, "ru")).toBe(
      `Сегмент «подписчики», узнаваемость с подсказкой: рост с 31${NBSP}% до 38${NBSP}%, +7,0${NBSP}п.${NBSP}п. (95${NBSP}% ДИ от +2,8 до +11,1, без поправки на множественность).`,
    );
  });

  it("describes a fall, with a typographic minus, at another level", () => {
    const extra = { confidenceLevel: 0.9, adjustment: "bh" } as const;
    const [en] = table("aided awareness", [["subscribers", "subscribers", 380, 1000, 310, 1000]], extra);
    expect(describeRow(en!, "en")).toBe("Among subscribers, aided awareness fell from 38% to 31%, \u22127.0 pp (90% CI \u221210.5 to \u22123.5, tested on its own).");
    const [ru] = table("узнаваемость с подсказкой", [["subscribers", "подписчики", 380, 1000, 310, 1000]], extra);
    expect(describeRow(ru!, "ru")).toBe(
      `Сегмент «подписчики», узнаваемость с подсказкой: снижение с 38${NBSP}% до 31${NBSP}%, \u22127,0${NBSP}п.${NBSP}п. (90${NBSP}% ДИ от \u221210,5 до \u22123,5, без поправки на множественность).`,
    );
  });

  it("names the family and prints the interval at the level the row was tested at", () => {
    const rows = table("aided awareness", [
      ["a", "subscribers", 300, 1000, 380, 1000],
      ["b", "active", 300, 1000, 330, 1000],
      ["c", "inactive", 100, 1000, 104, 1000],
    ]);
    // Holm over 3: the rise passes at alpha/3 (98.3%); the others fail and show the Bonferroni level.
    expect(describeRow(rows[0]!, "en")).toBe(
      "Among subscribers, aided awareness rose from 30% to 38%, +8.0 pp (98.3% CI +2.9 to +13.0, adjusted for 3 segments, Holm).",
    );
    expect(describeRow(rows[1]!, "en")).toBe(
      "Among active, aided awareness showed no detectable change (30% and 33%), +3.0 pp (98.3% CI \u22122.0 to +8.0, adjusted for 3 segments, Holm).",
    );
    expect(describeRow(rows[1]!, "ru")).toBe(
      `Сегмент «active», aided awareness: изменение не обнаружено (30${NBSP}% и 33${NBSP}%), +3,0${NBSP}п.${NBSP}п. (98,3${NBSP}% ДИ от \u22122,0 до +8,0, с поправкой Холма на 3 сегмента).`,
    );
    expect(describeRow(rows[3]!, "en")).toBe(
      "Across all segments (weighted by each segment’s share of respondents), aided awareness rose from 23% to 27%, +3.8 pp (95% CI +1.7 to +5.9, tested on its own).",
    );
    expect(describeRow(rows[3]!, "ru")).toMatch(/^Все сегменты \(взвешено по доле опрошенных в каждом сегменте\), aided awareness: рост /);
  });

  it("says the 2/20 -> 9/25 row rose, as its interval does, and warns that the sample is small", () => {
    const [row] = table("aided awareness", [["active", "active", 2, 20, 9, 25]]);
    expect(row!.verdict).toBe("rise");
    expect(describeRow(row!, "en")).toBe(
      "Among active, aided awareness rose from 10% to 36%, +26.0 pp (95% CI +0.5 to +46.8, tested on its own); caution: fewer than 30 respondents in a wave.",
    );
    expect(describeRow(row!, "ru")).toMatch(/; осторожно: в одной из волн меньше 30 респондентов\.$/);
  });

  it("says there is not enough data when a small sample shows no change", () => {
    const [row] = table("aided awareness", [["active", "active", 3, 20, 5, 25]]);
    expect(row!.verdict).toBe("not_enough_data");
    expect(describeRow(row!, "en")).toMatch(/^Among active, aided awareness cannot be judged yet: too few respondents \(15% and 20%\)/);
    expect(describeRow(row!, "ru")).toMatch(/: пока нельзя судить: слишком мало ответов \(15\u00a0% и 20\u00a0%\)/);
  });

  it("leads with the difference-in-differences and names the market trend when there is a control", () => {
    const rows = liftTable({
      metrics: [{ key: "aided", label: "aided awareness" }],
      segments: [{ key: "s", label: "subscribers" }, { key: "c", label: "holdout", role: "control" }],
      waves: { pre: "pre", post: "post" },
      counts: [
        { metric: "aided", segment: "s", wave: "pre", x: 300, n: 1000 },
        { metric: "aided", segment: "s", wave: "post", x: 400, n: 1000 },
        { metric: "aided", segment: "c", wave: "pre", x: 300, n: 1000 },
        { metric: "aided", segment: "c", wave: "post", x: 330, n: 1000 },
      ],
    }).rows;
    expect(describeRow(rows[0]!, "en")).toBe(
      "Among subscribers, aided awareness rose from 30% to 40%, +7.0 pp beyond the market trend of the control group (+3.0 pp) (95% CI +1.2 to +12.8, tested on its own).",
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
    expect(describeRow(rows[0]!, "en")).toMatch(/^Among holdout \(control group\), aided awareness showed no detectable change \(25% and 26%\)/);
    expect(describeRow(rows[0]!, "ru")).toMatch(/^Сегмент «holdout» \(контрольная группа\), aided awareness: изменение не обнаружено \(25\u00a0% и 26\u00a0%\)/);
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

  it("prints shares with a decimal when whole percentages would read the same", () => {
    const [row] = table("aided awareness", [["s", "s", 312, 1000, 314, 1000]]);
    expect(describeRow(row!, "en")).toContain("(31.2% and 31.4%)");
  });

  it("rejects an unknown locale", () => {
    const [row] = table("aided awareness", [["s", "s", 312, 1000, 314, 1000]]);
    expect(() => describeRow(row!, "de" as "en")).toThrow(new RangeError('describeRow: locale must be "ru" or "en", got de'));
  });
});
