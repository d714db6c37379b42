import { osaDistance } from "../quality/distance.js";
import { cyrillicForm, fixMixedScript, isCyrillic, phoneticKey, stripCaseEnding } from "../quality/transliteration.js";

/**
 * Coding of free-text brand mentions (unaided awareness): which brands an answer names, and in
 * what order (the first is "top of mind").
 *
 * An alias matches a run of whole words of the answer when, after normalisation (case, ё/е,
 * punctuation, look-alike letters of the other script), their phonetic keys (Cyrillic and Latin
 * brought to one spelling, see ../quality/transliteration.ts) are
 * - equal, or
 * - within a typo allowance scaled with the alias's length: restricted Damerau–Levenshtein
 *   distance 0 up to 4 letters, 1 for 5–7 letters, 2 from 8 letters; or
 * - equal once a Russian case ending is taken off the last word on both sides ("в Пятёрочке",
 *   "на Озоне"), when the stem keeps at least four letters (three for an alias typed in
 *   Cyrillic), and the answer's word is not shorter than the alias's.
 * Words may be run together or split ("кока кола", "cocacola"): a k-word alias is also compared
 * with k−1 and k+1 words joined. When matches overlap the closest wins, then the longer alias,
 * so "Яндекс Еда" is not also counted as "Яндекс". Inside a word nothing matches: "Acmeville"
 * does not name Acme.
 */

/** Lower case, ё → е, look-alike letters fixed per word, apostrophes dropped, other punctuation → one space. */
export function normalizeText(text: string): string {
  return text
    .normalize("NFKC")
    .replace(/[\p{L}\p{M}\p{N}'’ʼ`]+/gu, (word) => fixMixedScript(word))
    .toLowerCase()
    .replace(/ё/g, "е")
    .replace(/(\p{L})['’ʼ`](?=\p{L})/gu, "$1")
    .replace(/[^\p{L}\p{N}]+/gu, " ")
    .trim();
}

export interface Mention {
  code: string;
  /** 0 for the code named first in the answer (top of mind). */
  rank: number;
}

/** The code under which a text metric's own brand is counted. */
export const BRAND_CODE = "brand";

/** Typo allowance by the number of letters of the alias: 0 up to 4, 1 for 5–7, 2 from 8. */
export function typoAllowance(letters: number): number {
  return letters <= 4 ? 0 : letters <= 7 ? 1 : 2;
}

interface CompiledAlias {
  code: string;
  alias: string;
  words: number;
  letters: number;
  allowance: number;
  key: string;
  /** Key with a case ending taken off the last word (undefined when none applies or the stem is too short). */
  stemKey: string | undefined;
  /** Whether the alias's last word is long enough to be matched by a declined form of itself ("Ozon" → "Озоне"). */
  declinable: boolean;
  /** Letters of the last word in Cyrillic: a declined form in the answer is at least as long. */
  lastCyrillicLength: number;
}

export interface Codebook {
  aliases: CompiledAlias[];
  maxWords: number;
}

interface Word {
  key: string;
  /** Key of the word without a case ending, and that stem's length in Cyrillic letters. */
  stem: string | undefined;
  stemLength: number;
  cyrillicLength: number;
}

function analyse(word: string): Word {
  const cyr = cyrillicForm(word);
  const stripped = stripCaseEnding(cyr);
  return {
    key: phoneticKey(word),
    stem: stripped ? phoneticKey(stripped) : undefined,
    stemLength: stripped ? [...stripped].length : 0,
    cyrillicLength: [...cyr].length,
  };
}

/** Prepares aliases per code once, for coding many answers. Empty aliases are ignored. */
export function compileCodebook(codes: Readonly<Record<string, readonly string[]>>): Codebook {
  const aliases: CompiledAlias[] = [];
  const seen = new Set<string>();
  for (const [code, list] of Object.entries(codes)) {
    for (const alias of list) {
      const words = normalizeText(alias).split(" ").filter(Boolean);
      if (words.length === 0) continue;
      const analysed = words.map(analyse);
      const key = analysed.map((w) => w.key).join("");
      if (!key || seen.has(`${code}|${key}`)) continue;
      seen.add(`${code}|${key}`);
      const last = analysed[analysed.length - 1]!;
      const head = analysed.slice(0, -1).map((w) => w.key).join("");
      // Short stems match too much ("Nike" read as "нике" → "ник"); an alias typed in Cyrillic is trusted down to three letters ("Лада" → "лад").
      const minStem = isCyrillic(words[words.length - 1]!) ? 3 : 4;
      const letters = words.join("").length;
      aliases.push({
        code,
        alias,
        words: words.length,
        letters,
        allowance: typoAllowance(letters),
        key,
        stemKey: last.stem !== undefined && last.stemLength >= minStem ? head + last.stem : undefined,
        declinable: last.cyrillicLength >= minStem,
        lastCyrillicLength: last.cyrillicLength,
      });
    }
  }
  return { aliases, maxWords: Math.max(0, ...aliases.map((a) => a.words)) };
}

/** A stretch of an answer's words [start, end) naming `code`. */
export interface MatchedSpan {
  code: string;
  alias: string;
  start: number;
  end: number;
  /** 0 exact (or the same word declined), else the number of typos. */
  distance: number;
}

/**
 * Words of an answer that are coded: brands are named near the start of an answer to "which
 * brands do you know", and coding costs words × aliases, so a 2,000-character answer must not cost
 * sixty times a short one (on the background worker and in every recode after an alias).
 */
export const CODED_WORDS = 60;

/** The normalised words of an answer and the spans naming codes among its first CODED_WORDS, overlaps resolved. */
export function matchSpans(text: string, codebook: Codebook): { words: string[]; spans: MatchedSpan[] } {
  const words = normalizeText(text).split(" ").filter(Boolean);
  if (words.length === 0 || codebook.aliases.length === 0) return { words, spans: [] };
  const coded = Math.min(words.length, CODED_WORDS);
  const analysed = words.slice(0, coded).map(analyse);
  const candidates: Array<MatchedSpan & { letters: number }> = [];
  const widest = codebook.maxWords + 1;
  for (let start = 0; start < coded; start++) {
    let key = "";
    for (let size = 1; size <= widest && start + size <= coded; size++) {
      const last = analysed[start + size - 1]!;
      const head = key;
      key += last.key;
      const stemKey = last.stem === undefined ? undefined : head + last.stem;
      for (const a of codebook.aliases) {
        if (size < a.words - 1 || size > a.words + 1) continue;
        let distance: number | undefined;
        const declined = stemKey !== undefined && size === a.words && last.cyrillicLength >= a.lastCyrillicLength;
        if (key === a.key) distance = 0;
        else if (declined && ((a.stemKey !== undefined && stemKey === a.stemKey) || (a.declinable && stemKey === a.key))) distance = 0;
        else if (a.allowance > 0) {
          const d = osaDistance(key, a.key, a.allowance);
          if (d <= a.allowance) distance = d;
        }
        if (distance !== undefined) candidates.push({ code: a.code, alias: a.alias, start, end: start + size, distance, letters: a.letters });
      }
    }
  }
  candidates.sort((x, y) => x.distance - y.distance || y.letters - x.letters || x.start - y.start || x.end - y.end || (x.code < y.code ? -1 : x.code > y.code ? 1 : 0));
  const taken = new Array<boolean>(words.length).fill(false);
  const spans: MatchedSpan[] = [];
  for (const c of candidates) {
    let free = true;
    for (let i = c.start; i < c.end; i++) if (taken[i]) free = false;
    if (!free) continue;
    for (let i = c.start; i < c.end; i++) taken[i] = true;
    spans.push({ code: c.code, alias: c.alias, start: c.start, end: c.end, distance: c.distance });
  }
  spans.sort((x, y) => x.start - y.start);
  return { words, spans };
}

/** Codes named in `text`, each once, ordered by where they are first named. */
export function codeText(text: string, codebook: Codebook): Mention[] {
  const seen = new Set<string>();
  const out: Mention[] = [];
  for (const span of matchSpans(text, codebook).spans) {
    if (seen.has(span.code)) continue;
    seen.add(span.code);
    out.push({ code: span.code, rank: out.length });
  }
  return out;
}

/** Codes mentioned in `text`, ordered by where they first appear (compiles the aliases each call). */
export function codeMentions(text: string, codes: Readonly<Record<string, readonly string[]>>): Mention[] {
  return codeText(text, compileCodebook(codes));
}
