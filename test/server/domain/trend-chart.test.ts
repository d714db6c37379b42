import { describe, expect, it } from "vitest";
import { shareAxis, trendLine, type TrendChartPoint } from "../../../server/presenters/charts.js";

/** The trend chart (server/presenters/charts.ts): its dots are the shares given, labels escaped, gaps left, axis round. */

const percent = (share: number) => `${Math.round(share * 100)}%`;
const text = { title: "Aided <awareness>", description: "A & B", percent };
const point = (label: string, p: number | null): TrendChartPoint => ({ label, share: p === null ? null : { p, lower: Math.max(0, p - 0.08), upper: Math.min(1, p + 0.08) } });

/** The two layouts' SVGs: wide, then narrow. */
const layouts = (html: string) => [...html.matchAll(/<svg[\s\S]*?<\/svg>/g)].map((m) => m[0]);

describe("trendLine", () => {
  it("draws one dot per wave with responses, in both layouts, at the share it was given", () => {
    const svgs = layouts(trendLine([point("Base", 0.2), point("M1", 0.31), point("M2", null), point("M3", 0.4)], text));
    expect(svgs).toHaveLength(2);
    for (const svg of svgs) {
      expect([...svg.matchAll(/data-p="([^"]+)"/g)].map((m) => Number(m[1]))).toEqual([0.2, 0.31, 0.4]);
      // The baseline is hollow, the line breaks at the wave without responses: two pieces.
      expect(svg).toMatch(/<circle [^>]*fill="#fff"[^>]*data-p="0.2"/);
      expect((/<path d="([^"]+)"/.exec(svg)?.[1] ?? "").match(/M/g)).toHaveLength(2);
    }
  });

  it("escapes every label and the title", () => {
    const html = trendLine([point("<script>alert(1)</script>", 0.2), point("Q&A \"month\"", 0.3), point("M3", 0.35)], text);
    expect(html).not.toContain("<script>");
    expect(html).toContain("&lt;script&gt;");
    expect(html).toContain("Q&amp;A");
    expect(html).toContain("Aided &lt;awareness&gt;");
  });

  it("labels every wave when there is room, and on a phone with many waves every few and always the latest", () => {
    const waves = ["Base", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul"].map((l, i) => point(l, 0.2 + i * 0.02));
    const [wide, narrow] = layouts(trendLine(waves, text));
    const labels = (svg: string) => [...svg.matchAll(/<tspan[^>]*>([^<]*)<\/tspan>/g)].map((m) => m[1]);
    expect(labels(wide!)).toEqual(["Base", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul"]);
    const shown = labels(narrow!);
    expect(shown[0]).toBe("Base");
    expect(shown.at(-1)).toBe("Jul");
    expect(shown.length).toBeLessThan(8);
  });
});

describe("shareAxis", () => {
  it.each([
    [0.12, 0.38, { lo: 0.1, hi: 0.4, step: 0.1 }],
    [0.21, 0.29, { lo: 0.2, hi: 0.3, step: 0.05 }],
    [0, 1, { lo: 0, hi: 1, step: 0.25 }],
    [0, 0, { lo: 0, hi: 0.05, step: 0.05 }],
    [0.97, 1, { lo: 0.95, hi: 1, step: 0.05 }],
  ])("[%f, %f] → %o", (min, max, expected) => {
    const axis = shareAxis(min, max);
    expect(axis.step).toBe(expected.step);
    expect(axis.lo).toBeCloseTo(expected.lo, 12);
    expect(axis.hi).toBeCloseTo(expected.hi, 12);
  });
});

describe("trendLine markers and KPI targets", () => {
  it("draws a numbered marker per wave with notes and a dashed line per target, inside an axis that reaches the target", () => {
    const html = trendLine([point("Base", 0.2), point("M1", 0.25), point("M2", 0.3)], text, {
      markers: [
        { index: 1, number: 1 },
        { index: 2, number: 2 },
      ],
      targets: [{ share: 0.8, label: "target <80%> by “M2”" }],
    });
    for (const svg of layouts(html)) {
      expect([...svg.matchAll(/<rect [^>]*data-marker="(\d+)"/g)].map((m) => m[1])).toEqual(["1", "2"]);
      expect(svg).toMatch(/<line [^>]*stroke-dasharray="6 4" data-target="0.8"/);
      expect(svg).toContain("target &lt;80%&gt; by “M2”");
      expect(svg).not.toContain("<80%>");
      // The target lies above every interval: the axis grows to 80%, which has a tick label.
      expect(svg).toMatch(/>80%<\/text>/);
    }
  });

  it("leaves markers and targets out when there are none, and ignores a marker outside the waves", () => {
    const plain = trendLine([point("Base", 0.2), point("M1", 0.25)], text);
    const odd = trendLine([point("Base", 0.2), point("M1", 0.25)], text, { markers: [{ index: 5, number: 1 }], targets: [] });
    for (const html of [plain, odd]) {
      expect(html).not.toContain("data-marker");
      expect(html).not.toContain("data-target");
    }
  });
});
