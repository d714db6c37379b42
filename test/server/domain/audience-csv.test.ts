import { describe, expect, it } from "vitest";
import { AUDIENCE_CSV_MAX_CHARS, parseAudienceCsv, parseCount, parseDay } from "../../../server/domain/audience-csv.js";

describe("audience CSV from community statistics", () => {
  it("reads ';' with DD.MM.YYYY and spaced thousands, and ',' with YYYY-MM-DD", () => {
    const semicolon = parseAudienceCsv("Дата;Подписчики\r\n02.10.2024;48 120\r\n01.10.2024;48\u00a0000\r\n", "subscribers");
    expect(semicolon).toEqual({ ok: true, points: [{ day: "2024-10-01", count: 48000 }, { day: "2024-10-02", count: 48120 }] });
    const comma = parseAudienceCsv("date,reach\n2024-10-01,120500\n2024-10-02,\"121,300\"\n", "reach");
    expect(comma).toEqual({ ok: true, points: [{ day: "2024-10-01", count: 120500 }, { day: "2024-10-02", count: 121300 }] });
  });

  it("accepts a BOM, blank lines, trailing separators, narrow no-break spaces and a file without a header", () => {
    expect(parseAudienceCsv("\uFEFFdate;count;\n\n2024-10-01;1\u202F234;\n", "subscribers")).toEqual({ ok: true, points: [{ day: "2024-10-01", count: 1234 }] });
    expect(parseAudienceCsv("2024-10-01;5\n2024-10-02;6", "subscribers")).toEqual({
      ok: true,
      points: [{ day: "2024-10-01", count: 5 }, { day: "2024-10-02", count: 6 }],
    });
  });

  it("picks the measure's column in a wider export, preferring the total", () => {
    const csv = "Дата;Новые подписчики;Всего подписчиков;Охват\n01.10.2024;12;48 000;90 000\n";
    expect(parseAudienceCsv(csv, "subscribers")).toEqual({ ok: true, points: [{ day: "2024-10-01", count: 48000 }] });
    expect(parseAudienceCsv(csv, "reach")).toEqual({ ok: true, points: [{ day: "2024-10-01", count: 90000 }] });
    const noColumn = parseAudienceCsv("date;likes;comments\n01.10.2024;1;2\n", "reach");
    expect(noColumn).toEqual({ ok: false, errors: [{ code: "noCountColumn", line: 1, value: "date;likes;comments" }] });
  });

  it("reports every bad line with its number and returns no points", () => {
    const result = parseAudienceCsv("date;subscribers\n01.10.2024;48000\n31.02.2024;48100\n03.10.2024;48,5\n04.10.2024\n01.10.2024;47000\n", "subscribers");
    expect(result).toEqual({
      ok: false,
      errors: [
        { code: "date", line: 3, value: "31.02.2024" },
        { code: "count", line: 4, value: "48,5" },
        { code: "columns", line: 5, value: "04.10.2024" },
        { code: "duplicate", line: 6, value: "2024-10-01", firstLine: 2 },
      ],
    });
  });

  it("refuses an unquoted '48,000' split by a ',' separator rather than reading 48", () => {
    const result = parseAudienceCsv("date,subscribers\n2024-10-01,48,000\n", "subscribers");
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors[0]).toMatchObject({ code: "columns", line: 2 });
  });

  it("limits the size and the number of errors shown", () => {
    expect(parseAudienceCsv("x".repeat(AUDIENCE_CSV_MAX_CHARS + 1), "reach")).toEqual({ ok: false, errors: [{ code: "tooLarge", line: 0, value: String(AUDIENCE_CSV_MAX_CHARS) }] });
    const bad = ["date;reach", ...Array.from({ length: 30 }, (_, i) => `bad${i};1`)].join("\n");
    const result = parseAudienceCsv(bad, "reach");
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.errors).toHaveLength(21);
      expect(result.errors.at(-1)).toEqual({ code: "moreErrors", line: 0, value: "10" });
    }
    expect(parseAudienceCsv(" \n\n", "reach")).toEqual({ ok: false, errors: [{ code: "empty", line: 0 }] });
    expect(parseAudienceCsv("date;reach\n", "reach")).toEqual({ ok: false, errors: [{ code: "empty", line: 0 }] });
  });

  it("parses days and counts strictly", () => {
    expect(parseDay("2024-02-29")).toBe("2024-02-29");
    expect(parseDay("29.02.2023")).toBeNull();
    expect(parseDay("1.9.2024")).toBe("2024-09-01");
    expect(parseDay("2024-10-01 00:00:00")).toBe("2024-10-01");
    expect(parseDay("10/01/2024")).toBeNull();
    expect(parseCount("1 234 567")).toBe(1234567);
    expect(parseCount("48'000")).toBe(48000);
    expect(parseCount("1.500")).toBe(1500);
    expect(parseCount("-5")).toBeNull();
    expect(parseCount("12.5")).toBeNull();
    expect(parseCount("")).toBeNull();
  });
});
