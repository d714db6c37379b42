import { describe, expect, it } from "vitest";
import { endsPage, isUnaided, paginate, type Pageable } from "../../../server/domain/questionnaire.js";

/** Questions as pagination sees them: `b` a page break after it, `u` an unaided question, `-` plain. */
function qs(pattern: string): Array<Pageable & { id: number }> {
  return [...pattern].map((c, id) => ({
    id,
    type: c === "u" ? "text" : "single",
    metricName: c === "u" ? "unaided_awareness" : null,
    metricMatch: c === "u" ? ["Acme"] : null,
    pageBreakAfter: c === "b",
  }));
}
const ids = (pages: Array<Array<{ id: number }>>) => pages.map((p) => p.map((q) => q.id));

describe("paginate", () => {
  it("keeps one page without a page size or breaks, and cuts by the page size", () => {
    expect(ids(paginate(qs("----"), null))).toEqual([[0, 1, 2, 3]]);
    expect(ids(paginate(qs("----"), 0))).toEqual([[0, 1, 2, 3]]);
    expect(ids(paginate(qs("-----"), 2))).toEqual([[0, 1], [2, 3], [4]]);
    expect(ids(paginate(qs("--"), 5))).toEqual([[0, 1]]);
    expect(paginate(qs(""), 3)).toEqual([[]]);
  });

  it("starts a new page after a page break, and counts the page size again from there", () => {
    expect(ids(paginate(qs("-b---"), null))).toEqual([[0, 1], [2, 3, 4]]);
    expect(ids(paginate(qs("b----"), 3))).toEqual([[0], [1, 2, 3], [4]]);
    expect(ids(paginate(qs("--b--"), 2))).toEqual([[0, 1], [2], [3, 4]]);
    // A break after the last question makes no empty page.
    expect(ids(paginate(qs("--b"), null))).toEqual([[0, 1, 2]]);
  });

  it("always ends the page after an unaided question, whatever the page size", () => {
    expect(ids(paginate(qs("u---"), null))).toEqual([[0], [1, 2, 3]]);
    expect(ids(paginate(qs("u---"), 10))).toEqual([[0], [1, 2, 3]]);
    expect(ids(paginate(qs("-u--"), 3))).toEqual([[0, 1], [2, 3]]);
    expect(ids(paginate(qs("-u-b-u"), null))).toEqual([[0, 1], [2, 3], [4, 5]]);
  });

  it("knows an unaided question by its text metric with brand aliases", () => {
    const [u, plain] = qs("u-");
    expect([isUnaided(u!), isUnaided(plain!), endsPage(u!), endsPage(plain!)]).toEqual([true, false, true, false]);
    expect(isUnaided({ type: "text", metricName: null, metricMatch: ["Acme"] })).toBe(false);
    expect(isUnaided({ type: "text", metricName: "unaided_awareness", metricMatch: [] })).toBe(false);
  });
});
