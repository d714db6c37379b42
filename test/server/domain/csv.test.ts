import { describe, expect, it } from "vitest";
import { csvRowEncoder, toCsvRow, type CsvDecimal, type CsvDelimiter } from "../../../server/domain/csv.js";

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

describe("csvRowEncoder", () => {
  it("writes every row byte for byte as toCsvRow, non-finite numbers as empty fields", () => {
    const rows: Array<Array<string | number | null | undefined>> = [
      ["a", 'say "hi"', "x,y", "a;b", "line\nbreak", "cr\rx", null, undefined, 3, -0.05, 1e21, 1.5e-7, 0, -0],
      ["=1+1", "+7", "-cmd", "@SUM(A1)", "\tx", "\rx", "", " =not", "'", '"', "Ёлки, «палки»; 🙂", 61.234, 4],
      [],
      [null],
      [{ "k": 1 }.k, '{"rid":"a,b","src":"x"}'],
    ];
    const formats: Array<[CsvDelimiter, CsvDecimal]> = [[",", "."], [";", ","], [",", ","]];
    for (const [delimiter, decimal] of formats) {
      const encode = csvRowEncoder(delimiter, decimal);
      for (const row of rows) expect(encode(row), `${delimiter}${decimal} ${JSON.stringify(row)}`).toBe(toCsvRow(row, delimiter, decimal));
      expect(encode([1, Number.NaN, Number.POSITIVE_INFINITY, "x"])).toBe(toCsvRow([1, null, null, "x"], delimiter, decimal));
    }
  });
});
