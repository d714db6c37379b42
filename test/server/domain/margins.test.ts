import { describe, expect, it } from "vitest";
import {
  cellsFromDocument,
  marginErrorMessage,
  MARGINS_MAX_CHARS,
  parseMarginsCsv,
  parseMarginsText,
  parseShare,
  validateMargins,
  type MarginCell,
  type MarginScope,
} from "../../../server/domain/margins.js";
import { translator } from "../../../server/i18n/index.js";

/**
 * Weighting targets as text: the CSV and JSON a researcher pastes, and the rules every margin
 * follows before anything is written (server/domain/margins.ts).
 */

const scope: MarginScope = {
  segments: ["subscribers", "active_unsubscribed", "inactive"],
  waves: [
    { id: 11, label: "Pre" },
    { id: 12, label: "Post" },
  ],
  questions: [
    { key: "gender", profile: true, options: ["female", "male", "prefer_not"] },
    { key: "age_group", profile: true, options: ["age_18_34", "age_35_plus", "prefer_not"] },
    { key: "ad_recall", profile: false, options: ["yes", "no"] },
  ],
};

const HEADER = "segment,wave,variable,level,share";
const csv = (...rows: string[]) => [HEADER, ...rows].join("\n");
const en = translator("en");
const ru = translator("ru");

/** Parses CSV and validates it; the error messages in English, or the margins. */
function check(text: string, s: MarginScope = scope) {
  const parsed = parseMarginsCsv(text);
  if (!parsed.ok) return { errors: parsed.errors.map((e) => marginErrorMessage(e, en)), codes: parsed.errors.map((e) => e.code) };
  const v = validateMargins(parsed.cells, s);
  return v.ok ? { margins: v.margins, groups: v.groups } : { errors: v.errors.map((e) => marginErrorMessage(e, en)), codes: v.errors.map((e) => e.code) };
}

describe("parseShare", () => {
  it.each([
    [0.42, 0.42],
    ["0.42", 0.42],
    ["0,42", 0.42],
    ["42%", 0.42],
    ["42 %", 0.42],
    ["42,5%", 0.425],
    ["100%", 1],
    ["0", 0],
    [".5", 0.5],
    ["142%", 1.42],
    ["-0.1", -0.1],
  ])("%s → %s", (raw, expected) => {
    expect(parseShare(raw)).toBeCloseTo(expected, 12);
  });

  it.each(["", "abc", "0.4.2", "1,000,000", "42%%", "4 2x"])("refuses %j", (raw) => {
    expect(parseShare(raw)).toBeNull();
  });

  it("refuses a number that is not finite", () => {
    expect(parseShare(Number.NaN)).toBeNull();
    expect(parseShare(Number.POSITIVE_INFINITY)).toBeNull();
  });
});

describe("margins CSV", () => {
  it("reads every row with fractions and percentages, an empty wave meaning every wave, and a wave by its label", () => {
    const result = check(
      csv(
        "subscribers,,gender,female,58%",
        "subscribers,,gender,male,0.42",
        "subscribers,Post,gender,female,0.7",
        "subscribers,post,gender,male,30%", // labels match whatever the case
      ),
    );
    expect(result.margins).toEqual([
      { segment: "subscribers", waveId: null, variable: "gender", level: "female", share: 0.58 },
      { segment: "subscribers", waveId: null, variable: "gender", level: "male", share: 0.42 },
      { segment: "subscribers", waveId: 12, variable: "gender", level: "female", share: 0.7 },
      { segment: "subscribers", waveId: 12, variable: "gender", level: "male", share: 0.3 },
    ]);
    expect(result.groups).toEqual([
      { segment: "subscribers", waveId: null },
      { segment: "subscribers", waveId: 12 },
    ]);
  });

  it("reads ';' and tab separated tables (decimal commas), columns in any order, Russian headers, a BOM and blank lines", () => {
    const semicolon = "\uFEFFсегмент;волна;переменная;уровень;доля\r\n\r\ninactive;;gender;female;0,5\r\ninactive;;gender;male;50 %\r\n";
    expect(check(semicolon).margins).toHaveLength(2);
    const tabs = "share\tlevel\tvariable\twave\tsegment\n0.5\tfemale\tgender\t\tinactive\n0.5\tmale\tgender\t\tinactive";
    expect(check(tabs).margins!.map((m) => [m.segment, m.level, m.share])).toEqual([
      ["inactive", "female", 0.5],
      ["inactive", "male", 0.5],
    ]);
    // A quoted decimal comma in a comma-separated file.
    expect(check(csv('inactive,,gender,female,"0,5"', 'inactive,,gender,male,"0,5"')).margins).toHaveLength(2);
  });

  it("refuses a missing header, an unquoted decimal comma split in two, an empty text and an oversized one", () => {
    expect(check("subscribers,,gender,female,0.5").errors).toEqual(["Line 1: the first row must name the columns segment, wave, variable, level and share; found “subscribers,,gender,female,0.5”."]);
    expect(check(csv("subscribers,,gender,female,0,5")).errors).toEqual([
      "Line 2: expected 5 columns, found “subscribers,,gender,female,0,5”. A decimal comma needs quotes or “;” between columns.",
    ]);
    expect(check("  \n\n").codes).toEqual(["empty"]);
    expect(check(HEADER).codes).toEqual(["empty"]);
    expect(check("x".repeat(MARGINS_MAX_CHARS + 1)).codes).toEqual(["tooLarge"]);
  });

  it("names the row of every error: unknown segment, wave, question and answer, not a profile question, prefer-not, shares", () => {
    const result = check(
      csv(
        "members,,gender,female,0.5", // 2
        "subscribers,Later,gender,female,0.5", // 3
        "subscribers,,age,young,0.5", // 4
        "subscribers,,ad_recall,yes,0.5", // 5
        "subscribers,,gender,other,0.5", // 6
        "subscribers,,gender,prefer_not,0.1", // 7
        "subscribers,,gender,female,lots", // 8
        "subscribers,,gender,male,120%", // 9
        "subscribers,,gender,male,-0.2", // 10
      ),
    );
    expect(result.errors).toEqual([
      "Line 2: no segment “members” in this study (its segments: subscribers, active_unsubscribed, inactive).",
      "Line 3: no wave “Later” in this study (its waves: Pre, Post). Leave the wave empty for all waves.",
      "Line 4: no question “age” in this study (its profile questions: gender, age_group).",
      "Line 5: the question “ad_recall” is not a profile question: mark it as one in the questionnaire (single-choice questions only).",
      "Line 6: the question “gender” has no answer “other” (its answers: female, male).",
      "Line 7: “Prefer not to say” (prefer_not) is not a target: the population has no such share. Remove the row.",
      "Line 8: “lots” is not a share: write a fraction such as 0.42 or a percentage such as 42%.",
      "Line 9: the share “120%” is outside 0–1 (0–100%).",
      "Line 10: the share “-0.2” is outside 0–1 (0–100%).",
      "Line 10: the answer “male” of this segment, wave and question is already on line 9.",
    ]);
  });

  it("checks that the shares of one segment, wave and question sum to 1 within 0.001, saying what they sum to", () => {
    const off = check(csv("subscribers,,gender,female,0.6", "subscribers,,gender,male,0.35"));
    expect(off.codes).toEqual(["sum"]);
    expect(off.errors).toEqual(["Line 2: the shares of subscribers, all waves, gender sum to 0.95, not 1: they must add up to 100% (±0.1%)."]);
    const wave = check(csv("inactive,Pre,gender,female,61%", "inactive,Pre,gender,male,40%"));
    expect(wave.errors).toEqual(["Line 2: the shares of inactive, wave “Pre”, gender sum to 1.01, not 1: they must add up to 100% (±0.1%)."]);
    // Published figures rounded to a tenth of a percent add up within the tolerance.
    expect(check(csv("inactive,,age_group,age_18_34,33.3%", "inactive,,age_group,age_35_plus,66.6%")).margins).toHaveLength(2);
    expect(check(csv("inactive,,age_group,age_18_34,33.3%", "inactive,,age_group,age_35_plus,66.5%")).codes).toEqual(["sum"]);
    // In Russian, with a decimal comma.
    const parsed = parseMarginsCsv(csv("subscribers,,gender,female,0.6", "subscribers,,gender,male,0.35"));
    const v = validateMargins(parsed.ok ? parsed.cells : [], scope);
    expect(v.ok ? [] : v.errors.map((e) => marginErrorMessage(e, ru))).toEqual([
      "Строка 2: доли (subscribers, все волны, gender) в сумме дают 0,95, а не 1: они должны составлять 100% (±0,1%).",
    ]);
  });

  it("wants every answer but prefer-not to have a share (0 where nobody is)", () => {
    expect(check(csv("subscribers,,gender,female,1")).errors).toEqual([
      "Line 2: subscribers, all waves, gender has no share for male: give every answer a share, 0 where nobody is.",
    ]);
    expect(check(csv("subscribers,,gender,female,1", "subscribers,,gender,male,0")).margins).toHaveLength(2);
  });

  it("refuses an ambiguous wave label and any wave in a study definition (which has no waves)", () => {
    const twice = { ...scope, waves: [{ id: 1, label: "Wave" }, { id: 2, label: "wave" }, { id: 3, label: "Wave" }] };
    expect(check(csv("inactive,Wave,gender,female,0.5", "inactive,Wave,gender,male,0.5"), twice).codes).toEqual(["ambiguousWave", "ambiguousWave"]);
    // "wave" matches its exact label first, not the other two by case.
    expect(check(csv("inactive,wave,gender,female,0.5", "inactive,wave,gender,male,0.5"), twice).margins!.map((m) => m.waveId)).toEqual([2, 2]);
    expect(check(csv("inactive,Pre,gender,female,0.5", "inactive,Pre,gender,male,0.5"), { ...scope, waves: null }).codes).toEqual(["waveInDefinition", "waveInDefinition"]);
  });

  it("summarises more than 20 errors", () => {
    const rows = Array.from({ length: 30 }, (_, i) => `nobody${i},,gender,female,0.5`);
    const result = check(csv(...rows));
    expect(result.codes).toHaveLength(21);
    expect(result.errors!.at(-1)).toBe("…and 10 more errors.");
  });
});

describe("margins JSON", () => {
  const doc = {
    margins: [
      { segment: "subscribers", wave: null, variable: "gender", shares: { female: 0.58, male: "42%" } },
      { segment: "inactive", wave: "Post", variable: "age_group", shares: { age_18_34: 0.3, age_35_plus: 0.7 } },
    ],
  };

  it("reads one entry per segment, wave and question, shares by answer as fractions or percentages", () => {
    const parsed = parseMarginsText(JSON.stringify(doc));
    expect(parsed.format).toBe("json");
    const v = validateMargins(parsed.ok ? parsed.cells : [], scope);
    expect(v.ok && v.margins).toEqual([
      { segment: "subscribers", waveId: null, variable: "gender", level: "female", share: 0.58 },
      { segment: "subscribers", waveId: null, variable: "gender", level: "male", share: 0.42 },
      { segment: "inactive", waveId: 12, variable: "age_group", level: "age_18_34", share: 0.3 },
      { segment: "inactive", waveId: 12, variable: "age_group", level: "age_35_plus", share: 0.7 },
    ]);
    // An absent wave means every wave too.
    const absent = cellsFromDocument({ margins: [{ segment: "inactive", variable: "gender", shares: { female: 0.5, male: 0.5 } }] });
    expect(absent.ok && absent.cells.map((c) => c.wave)).toEqual([null, null]);
  });

  it("names the entry and answer of an error", () => {
    const bad = { margins: [{ ...doc.margins[0]!, shares: { female: 0.58, male: "42%", prefer_not: 0 } }, { ...doc.margins[0]!, shares: { female: 0.5, male: 0.5 } }] };
    const parsed = parseMarginsText(JSON.stringify(bad));
    const v = validateMargins(parsed.ok ? parsed.cells : [], scope);
    expect(v.ok ? [] : v.errors.map((e) => marginErrorMessage(e, en))).toEqual([
      "Entry 1, answer “prefer_not”: “Prefer not to say” (prefer_not) is not a target: the population has no such share. Remove the row.",
      "Entry 2, answer “female”: the answer “female” of this segment, wave and question is already in entry 1.",
      "Entry 2, answer “male”: the answer “male” of this segment, wave and question is already in entry 1.",
    ]);
  });

  it("refuses text that is not JSON or not the format, naming the field", () => {
    const broken = parseMarginsText('{"margins": [');
    expect(broken.ok).toBe(false);
    expect(!broken.ok && broken.errors[0]!.code).toBe("json");
    const shape = cellsFromDocument({ margins: [{ segment: "subscribers", variable: "gender", shares: {}, level: "female" }] });
    expect(shape.ok ? [] : shape.errors.map((e) => marginErrorMessage(e, en))).toEqual([
      "Entry 1: “margins.0.shares” does not fit the format {\"margins\": [{\"segment\", \"wave\", \"variable\", \"shares\": {answer: share}}]}.",
      "Entry 1: “margins.0.level” does not fit the format {\"margins\": [{\"segment\", \"wave\", \"variable\", \"shares\": {answer: share}}]}.",
    ]);
    const root = cellsFromDocument([1, 2]);
    expect(!root.ok && root.errors.map((e) => e.values["path"])).toEqual(["(root)"]);
    const shares = cellsFromDocument({ margins: [{ segment: "subscribers", variable: "gender", shares: { female: true } }] });
    expect(!shares.ok && shares.errors.map((e) => e.values["path"])).toEqual(["margins.0.shares.female"]);
  });

  it("takes no margins as nothing to import", () => {
    const parsed = cellsFromDocument({ margins: [] });
    const v = validateMargins(parsed.ok ? parsed.cells : [], scope);
    expect(!v.ok && v.errors.map((e) => e.code)).toEqual(["empty"]);
  });
});

describe("cells", () => {
  it("trims what was typed around keys and labels", () => {
    const cells: MarginCell[] = [
      { at: { kind: "line", line: 2 }, segment: " inactive ", wave: " Pre ", variable: " gender", level: "female ", share: " 50% " },
      { at: { kind: "line", line: 3 }, segment: "inactive", wave: "Pre", variable: "gender", level: "male", share: 0.5 },
    ];
    const v = validateMargins(cells, scope);
    expect(v.ok && v.margins.map((m) => [m.segment, m.waveId, m.variable, m.level, m.share])).toEqual([
      ["inactive", 11, "gender", "female", 0.5],
      ["inactive", 11, "gender", "male", 0.5],
    ]);
  });
});
