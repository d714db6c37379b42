/**
 * A simple, explainable test for gibberish in open answers (key mashing, filler), in Russian and
 * English. It looks only at the letters of the answer and flags it when one of these holds:
 *
 * - `repeated`: one letter repeated, three or more times ("ааааа", "xxx");
 * - `no_vowels`: five letters or more and not one vowel ("sdfgh", "пргнш"); four-letter
 *   abbreviations ("HSBC", "МТС") pass;
 * - `keyboard`: a word that is a run of neighbouring keys of one keyboard row, at least four long
 *   ("asdf", "йцукен", "фыва", "qwerty"), or contains such a run of six or more;
 * - `low_diversity`: six letters or more from only two distinct letters ("хахаха", "абабаб"), or
 *   fifteen or more from at most four;
 * - `consonants`: half of the letters or more sit in words with seven consonants in a row.
 *
 * It never looks words up: a real word can trip it (a surname that is a keyboard run), which is
 * why flags are reviewed by a researcher, not applied automatically.
 */

export type GibberishRule = "repeated" | "no_vowels" | "keyboard" | "low_diversity" | "consonants";

const VOWELS = new Set([..."aeiouyаеёиоуыэюяіїє"]);
const ROWS = ["qwertyuiop", "asdfghjkl", "zxcvbnm", "йцукенгшщзхъ", "фывапролджэ", "ячсмитьбю", "1234567890"];

/** Length of the longest run of neighbouring keys (either direction) in `word`. */
function longestKeyRun(word: string): number {
  let best = 1;
  let run = 1;
  let direction = 0;
  for (let i = 1; i < word.length; i++) {
    const step = keyStep(word[i - 1]!, word[i]!);
    if (step !== 0 && (run === 1 || step === direction)) {
      run++;
      direction = step;
    } else {
      run = step !== 0 ? 2 : 1;
      direction = step;
    }
    if (run > best) best = run;
  }
  return word.length ? best : 0;
}

/** +1 or −1 when `b` is the key right or left of `a` on the same row, else 0. */
function keyStep(a: string, b: string): number {
  for (const row of ROWS) {
    const i = row.indexOf(a);
    if (i < 0) continue;
    const j = row.indexOf(b);
    if (j === i + 1) return 1;
    if (j === i - 1) return -1;
    return 0;
  }
  return 0;
}

/** Letters of the answer, lower case, ё as е, grouped by word. */
function letterWords(text: string): string[] {
  return text
    .normalize("NFKC")
    .toLowerCase()
    .replace(/ё/g, "е")
    .split(/[^\p{L}]+/u)
    .filter(Boolean);
}

/** Whether the answer has any letter or digit at all ("-", "..." and "" have none). */
export function hasContent(text: string): boolean {
  return /[\p{L}\p{N}]/u.test(text);
}

/** The first rule the answer breaks, or undefined when it reads as words. */
export function gibberishRule(text: string): GibberishRule | undefined {
  const words = letterWords(text);
  const letters = words.join("");
  const n = [...letters].length;
  if (n === 0) return undefined;
  const distinct = new Set(letters).size;
  if (n >= 3 && distinct === 1) return "repeated";
  if (n >= 5 && ![...letters].some((c) => VOWELS.has(c))) return "no_vowels";
  if (words.some((w) => (w.length >= 4 && longestKeyRun(w) === w.length) || longestKeyRun(w) >= 6)) return "keyboard";
  if ((n >= 6 && distinct <= 2) || (n >= 15 && distinct <= 4)) return "low_diversity";
  const clustered = words.filter((w) => /[^aeiouyаеиоуыэюяіїє]{7}/u.test(w)).reduce((s, w) => s + w.length, 0);
  if (clustered * 2 >= n) return "consonants";
  return undefined;
}
