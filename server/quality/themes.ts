import snowball from "snowball-stemmers";
import { normalizeText } from "../domain/text-coding.js";
import { isCyrillic } from "./transliteration.js";
import { isStopWord } from "./stopwords.js";

/**
 * Themes of open feedback: the terms and two-word phrases most respondents use, in Russian and
 * English, deterministic (the same answers give the same summary, whatever their order).
 *
 * 1. Each answer is cut into clauses at punctuation and normalised (case, ё/е); words with digits go.
 * 2. A negation ("не", "not", "no", "never", "dont"…) is glued to the next word: "не нравится" is
 *    one term, so a complaint is not counted as praise.
 * 3. Stop words go (stopwords.ts); every other word is reduced to its Snowball stem (Russian for
 *    Cyrillic words, English for Latin): "доставка", "доставку", "доставки" are one term.
 * 4. A term's count is the number of answers using it (not of uses); a phrase is two adjacent
 *    remaining words of one clause. Only terms and phrases of at least `minCount` answers are kept.
 * 5. Order: count descending, then label (code-point order). The label is the most used spelling
 *    of the term (ties: code-point order).
 * 6. Examples: up to three distinct answers using the term, preferring those up to 200
 *    characters, longer first, then code-point order.
 */

const russian = snowball.newStemmer("russian");
const english = snowball.newStemmer("english");
const NEGATIONS = new Set(["не", "ни", "not", "no", "never", "dont", "doesnt", "didnt", "cant", "cannot", "isnt", "wont"]);
/** Normalisation drops apostrophes; labels show them again. */
const CONTRACTIONS: Record<string, string> = { dont: "don't", doesnt: "doesn't", didnt: "didn't", cant: "can't", isnt: "isn't", wont: "won't" };
const stemCache = new Map<string, string>();

/** The Snowball stem of a lower-case word, Russian or English by its script. */
export function stemWord(word: string): string {
  let stem = stemCache.get(word);
  if (stem === undefined) {
    stem = isCyrillic(word) ? russian.stem(word) : english.stem(word);
    if (stemCache.size > 50_000) stemCache.clear();
    stemCache.set(word, stem);
  }
  return stem;
}

export interface ThemeAnswer {
  text: string;
}

export interface ThemeItem {
  /** Stems joined by a space: what is counted. */
  key: string;
  /** The most used spelling. */
  label: string;
  /** Answers using it, and their share of all answers. */
  count: number;
  share: number;
  examples: string[];
}

export interface ThemeSummary {
  /** Answers with some text. */
  answers: number;
  terms: ThemeItem[];
  phrases: ThemeItem[];
}

export interface ThemeOptions {
  terms?: number;
  phrases?: number;
  minCount?: number;
  examples?: number;
}

interface Token {
  stem: string;
  surface: string;
}

/** Content words of an answer, clause by clause. */
export function themeTokens(text: string): Token[][] {
  return text
    .split(/[.,;:!?()[\]{}"«»„“”\n\r…/|]+|\s[-–—]\s/)
    .map((clause) => {
      const words = normalizeText(clause)
        .split(" ")
        .filter((w) => w && !/\d/.test(w));
      const tokens: Token[] = [];
      for (let i = 0; i < words.length; i++) {
        const w = words[i]!;
        if (NEGATIONS.has(w) && i + 1 < words.length && !NEGATIONS.has(words[i + 1]!)) {
          const next = words[++i]!;
          tokens.push({ stem: `${w} ${stemWord(next)}`, surface: `${CONTRACTIONS[w] ?? w} ${next}` });
        } else if (!isStopWord(w) && !NEGATIONS.has(w) && [...w].length >= 2) {
          tokens.push({ stem: stemWord(w), surface: w });
        }
      }
      return tokens;
    })
    .filter((c) => c.length > 0);
}

const byCodePoint = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

class Tally {
  private readonly answers = new Map<string, Set<number>>();
  private readonly surfaces = new Map<string, Map<string, number>>();

  add(key: string, surface: string, answer: number) {
    let set = this.answers.get(key);
    if (!set) this.answers.set(key, (set = new Set()));
    set.add(answer);
    let forms = this.surfaces.get(key);
    if (!forms) this.surfaces.set(key, (forms = new Map()));
    forms.set(surface, (forms.get(surface) ?? 0) + 1);
  }

  top(texts: readonly string[], n: number, minCount: number, examples: number): ThemeItem[] {
    const items: ThemeItem[] = [];
    for (const [key, set] of this.answers) {
      if (set.size < minCount) continue;
      const label = [...this.surfaces.get(key)!].sort((a, b) => b[1] - a[1] || byCodePoint(a[0], b[0]))[0]![0];
      items.push({ key, label, count: set.size, share: set.size / texts.length, examples: pickExamples([...set].map((i) => texts[i]!), examples) });
    }
    return items.sort((a, b) => b.count - a.count || byCodePoint(a.label, b.label)).slice(0, n);
  }
}

function pickExamples(candidates: readonly string[], n: number): string[] {
  const distinct = [...new Set(candidates.map((t) => t.trim()))];
  const long = (t: string) => (t.length > 200 ? 1 : 0);
  return distinct.sort((a, b) => long(a) - long(b) || (long(a) ? a.length - b.length : b.length - a.length) || byCodePoint(a, b)).slice(0, n);
}

/** Terms and phrases of a group of answers (see the module comment for the rules). */
export function summarizeThemes(answers: readonly ThemeAnswer[], options: ThemeOptions = {}): ThemeSummary {
  const { terms = 10, phrases = 5, minCount = 2, examples = 3 } = options;
  // Sorted texts: the summary cannot depend on the order answers arrive in.
  const texts = answers
    .map((a) => a.text.trim())
    .filter((t) => /[\p{L}]/u.test(t))
    .sort(byCodePoint);
  const termTally = new Tally();
  const phraseTally = new Tally();
  texts.forEach((text, i) => {
    for (const clause of themeTokens(text)) {
      clause.forEach((t, j) => {
        termTally.add(t.stem, t.surface, i);
        const next = clause[j + 1];
        if (next) phraseTally.add(`${t.stem} ${next.stem}`, `${t.surface} ${next.surface}`, i);
      });
    }
  });
  return {
    answers: texts.length,
    terms: termTally.top(texts, terms, minCount, examples),
    phrases: phraseTally.top(texts, phrases, minCount, examples),
  };
}
