import { describe, expect, it } from "vitest";
import { toCsvRow } from "../../../server/domain/csv.js";

describe("toCsvRow", () => {
  it("quotes per RFC 4180 and ends rows with CRLF", () => {
    expect(toCsvRow(["a", 'say "hi"', "x,y", "line\nbreak", null, 3])).toBe('a,"say ""hi""","x,y","line\nbreak",,3\r\n');
  });

  it("neutralises cells that a spreadsheet would run as formulas, but not numbers", () => {
    expect(toCsvRow(["=1+1", "+7", "-cmd", "@SUM(A1)", "\tx", "\rx", -0.05])).toBe(
      "'=1+1,'+7,'-cmd,'@SUM(A1),'\tx,\"'\rx\",-0.05\r\n",
    );
  });

  it("quotes the chosen delimiter", () => {
    expect(toCsvRow(["a;b", "c,d"], ";")).toBe('"a;b";c,d\r\n');
  });
});
