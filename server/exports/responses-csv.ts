import { csvFieldEncoder } from "../domain/csv.js";
import type { CsvDialect } from "./csv-dialect.js";
import type { ResponseChunk } from "./response-chunks.js";
import { answerPlan, FIXED_COLUMNS, flagCodes, foldAnswer, isoFormatter, isPlainIsoTime, singleValue, type Cell, type ResponseLayout } from "./responses.js";

/** The most distinct params or flags texts whose encoding is kept (campaign links share a few; past this, each is encoded anew). */
const KEPT_TEXTS = 1024;

/**
 * The raw-responses CSV's line for response k of a chunk (response-chunks.ts), written straight
 * from the chunk rather than through the pivot's cells (responses.ts): byte for byte what
 * csvRowEncoder writes for the cells the pivot makes of the same response
 * (test/server/exports-responses-bytes.test.ts), in a fraction of the time. What repeats is
 * encoded once per export: a wave's id, label and kind, a segment's key, option keys, locales,
 * params and quality flags texts; times and durations are written from tables (see below); a
 * multi question's 0/1 columns are filled as text; the rest goes through the dialect's field
 * encoder as the cells would.
 */
export function responseCsvLines(layout: ResponseLayout, dialect: CsvDialect): (chunk: ResponseChunk, k: number) => string {
  const { delimiter, decimal } = dialect;
  const field = csvFieldEncoder(delimiter, decimal);
  const iso = isoFormatter();
  const time = (ms: number | null): string => (ms === null ? "" : isPlainIsoTime(ms) ? iso(ms)! : field(iso(ms)));
  const seconds = durationSeconds(field, dialect);
  const fixed = FIXED_COLUMNS.length;
  const waves = new Map([...layout.waves].map(([id, w]) => [id, field(id) + delimiter + field(w.label) + delimiter + field(w.kind)]));
  const segments = new Map([...layout.segments].map(([id, key]) => [id, field(key)]));
  const optionKeys = new Map([...layout.optionKeys].map(([id, key]) => [id, field(key)]));
  const status = field("completed");
  const kept = (encode: (text: string) => string) => {
    const texts = new Map<string, string>();
    return (value: string | null): string => {
      if (value === null) return "";
      let encoded = texts.get(value);
      if (encoded === undefined) {
        encoded = encode(value);
        if (texts.size < KEPT_TEXTS) texts.set(value, encoded);
      }
      return encoded;
    };
  };
  const text = kept(field);
  const flags = kept((json) => field(flagCodes(json)));
  const plan = answerPlan(layout);
  const answerColumns = layout.columns.length - fixed;
  const cells = new Array<string>(answerColumns).fill("");
  const valueSeen = new Int32Array(answerColumns);
  const valueFirst = new Int32Array(answerColumns);
  const multiSeen = new Int32Array(plan.multis);
  let serial = 0;

  return (c, k) => {
    const waveId = c.waveIds[k]!;
    const line =
      String(c.ids[k]) +
      delimiter +
      (waves.get(waveId) ?? field(waveId) + delimiter + delimiter) +
      delimiter +
      (segments.get(c.segmentIds[k]!) ?? "") +
      delimiter +
      status +
      delimiter +
      (c.excluded[k] ? "1" : "0") +
      delimiter +
      field(c.excludedReasons[k]) +
      delimiter +
      time(c.startedAt[k]!) +
      delimiter +
      time(c.completedAt[k]!) +
      delimiter +
      seconds(c.durationMs[k]!) +
      delimiter +
      text(c.locales[k]!) +
      delimiter +
      text(c.params[k]!) +
      delimiter +
      flags(c.qualityFlags[k]!);
    if (answerColumns === 0) return line + "\r\n";
    const row = ++serial;
    // Loops, not Array.prototype.fill: the builtin was a slow call per row.
    for (let j = 0; j < answerColumns; j++) cells[j] = "";
    const { questionIds, values } = c.answers;
    let repeated: Map<number, Cell> | undefined;
    for (let i = c.answerStart[k]!, end = c.answerStart[k + 1]!; i < end; i++) {
      const place = plan.slots.get(questionIds[i]!);
      if (!place) continue;
      if (place.multi) {
        if (multiSeen[place.slot] !== row) {
          multiSeen[place.slot] = row;
          for (let j = place.first - fixed, to = j + place.count; j < to; j++) cells[j] = "0";
        }
        const index = place.optionIndex.get(values[i] as number);
        if (index !== undefined) cells[index - fixed] = "1";
        continue;
      }
      const index = place.index - fixed;
      if (valueSeen[index] !== row) {
        valueSeen[index] = row;
        valueFirst[index] = i;
        cells[index] = place.type === "single" ? (optionKeys.get(values[i] as number) ?? "") : field(values[i]);
        continue;
      }
      // Several answers to one value question (in answer id order: orderRepeated): folded as the pivot folds them, then encoded.
      const value = (j: number): Cell => (place.type === "single" ? singleValue(layout, values[j] as number | null) : values[j]!);
      repeated ??= new Map();
      repeated.set(index, foldAnswer(repeated.has(index) ? repeated.get(index)! : value(valueFirst[index]!), value(i)));
    }
    if (repeated) for (const [index, cell] of repeated) cells[index] = field(cell);
    return line + delimiter + cells.join(delimiter) + "\r\n";
  };
}

/** Below this many milliseconds (31 years) a duration's text comes from the table. */
const TABLED_MS = 1e12;

/**
 * The duration_s cell, the field encoder's text of ms / 1000, byte for byte: for whole
 * milliseconds from 0 to TABLED_MS the whole seconds, then the milliseconds after the decimal
 * mark without trailing zeros, from a table (String of the quotient writes exactly that: it is
 * the shortest text that reads back as the same double, the quotient being the double nearest
 * to it and doubles there being far closer together than 0.001); anything else, and a decimal mark
 * that is also the delimiter (quoted), through the encoder. A number-to-text conversion per row
 * was a tenth of the line's time.
 */
export function durationSeconds(field: (value: number | null) => string, dialect: Pick<CsvDialect, "delimiter" | "decimal">): (ms: number | null) => string {
  const fractions = Array.from({ length: 1000 }, (_, ms) => (ms === 0 ? "" : dialect.decimal + String(ms).padStart(3, "0").replace(/0+$/, "")));
  const tabled = dialect.decimal !== dialect.delimiter;
  return (ms) => {
    if (ms === null) return "";
    if (!tabled || !Number.isInteger(ms) || ms < 0 || ms >= TABLED_MS) return field(ms / 1000);
    const whole = Math.floor(ms / 1000);
    return String(whole) + fractions[ms - whole * 1000]!;
  };
}
