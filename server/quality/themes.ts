import snowball from "snowball-stemmers";
import { normalizeText } from "../domain/text-coding.js";
import { isCyrillic } from "./transliteration.js";
import { isStopWord } from "./stopwords.js";

/**
 * Themes of open feedback: the short phrases respondents share, in Russian and English,
 * deterministic (the same answers give the same themes, whatever their order).
 *
 * 1. Each answer is cut into clauses at punctuation and at the conjunctions that join two ideas
 *    ("и", "но", "and", "but"…), and normalised (case, ё/е); words with digits go.
 * 2. A negation ("не", "not", "dont"…) is glued to the next word: "не нравится" is one token of
 *    two words, so a complaint is not counted as praise.
 * 3. Stop words go (stopwords.ts); every other word is reduced to its Snowball stem (Russian for
 *    Cyrillic words, English for Latin).
 * 4. A phrase is one to three adjacent tokens of a clause, two or three words in all (so a glued
 *    negation on its own is a phrase, a single word never is). Its key is its stems in code-point
 *    order: "быстрая доставка", "быстрой доставки" and "доставка быстрая" are one phrase.
 * 5. A phrase's count is the number of answers using it, each answer once. Phrases of fewer than
 *    `minCount` answers go.
 * 6. Phrases that say the same thing merge into one theme: longest first (then more answers,
 *    more content words, written earlier, label), each phrase not yet taken becomes a theme and takes every
 *    untaken phrase with exactly its answers (another clause of the same answers), and, step by
 *    step through shared stems, every untaken phrase with nearly its answers (the two sets share
 *    at least NEAR of the larger). So "доставка быстро" goes into "доставка быстро дешево" when
 *    nearly everyone who wrote one wrote the other, and the overlapping trigrams of "ближайшей
 *    кофейни далеко идти" are one theme. A theme's count is the union of its phrases' answers.
 * 7. Label: the most used spelling of the leading phrase, with the stop words between its words
 *    as written ("цены на кофе"; ties: shorter, then code-point order). Order: count descending,
 *    then label.
 * 8. Examples: up to three distinct answers using the leading phrase, preferring those up to
 *    200 characters, longer first, then code-point order.
 *
 * Cost: one pass over the answers, a map of phrases, then a merge over the phrases that pass
 * `minCount`, compared only with those sharing a stem and of similar size.
 */

const russian = snowball.newStemmer("russian");
const english = snowball.newStemmer("english");
const NEGATIONS = new Set(["не", "ни", "not", "no", "never", "dont", "doesnt", "didnt", "cant", "cannot", "isnt", "wont", "havent", "hasnt", "wasnt", "arent", "werent", "wouldnt", "couldnt", "shouldnt"]);
/** Conjunctions between two ideas: a phrase across them would glue the ideas together. */
const CLAUSE_BREAKS = new Set(["и", "а", "но", "или", "однако", "зато", "and", "but", "or", "however", "although", "though"]);
/** Normalisation drops apostrophes; labels show them again. */
const CONTRACTIONS: Record<string, string> = Object.fromEntries(
  ["dont", "doesnt", "didnt", "cant", "isnt", "wont", "havent", "hasnt", "wasnt", "arent", "werent", "wouldnt", "couldnt", "shouldnt"].map((w) => [w, `${w.slice(0, -1)}'t`]),
);
/** Share of the larger answer set the smaller must reach (and share) for two phrases to merge. */
const NEAR = 0.8;
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
  /** Stems of the leading phrase in code-point order, joined by a space: what is counted. */
  key: string;
  /** The most used spelling of the leading phrase. */
  label: string;
  /** Answers in the theme (each once), and their share of all answers. */
  count: number;
  share: number;
  examples: string[];
}

export interface ThemeSummary {
  /** Answers with some text. */
  answers: number;
  /** Themes of at least minCount answers, before the `limit` cut. */
  total: number;
  themes: ThemeItem[];
}

export interface ThemeOptions {
  /** Themes kept, most common first. */
  limit?: number;
  minCount?: number;
  examples?: number;
}

/**
 * Three answers at least: two answers sharing a two-word phrase happen by chance in a few hundred,
 * three is the fewest that reads as something people say, and it still finds themes in a group of
 * a few dozen answers.
 */
export const DEFAULT_MIN_COUNT = 3;

export interface Token {
  stem: string;
  surface: string;
  /** 2 for a negation glued to its word. */
  words: number;
  /** Stop words dropped between the previous token of the clause and this one, as written. */
  gap: string;
}

const wordCache = new Map<string, string[]>();

/** normalizeText of one whitespace-free chunk, cached: it is the costly step, and words repeat. */
function chunkWords(chunk: string): string[] {
  let words = wordCache.get(chunk);
  if (words === undefined) {
    words = normalizeText(chunk)
      .split(" ")
      .filter((w) => w && !/\d/.test(w));
    if (wordCache.size > 50_000) wordCache.clear();
    wordCache.set(chunk, words);
  }
  return words;
}

/** Content tokens of an answer, clause by clause. */
export function themeTokens(text: string): Token[][] {
  const clauses: Token[][] = [];
  for (const part of text.split(/[.,;:!?()[\]{}"«»„“”\n\r…/|]+|\s[-–—]\s/)) {
    const words = part.split(/\s+/).flatMap(chunkWords);
    let tokens: Token[] = [];
    let gap = "";
    for (let i = 0; i < words.length; i++) {
      const w = words[i]!;
      if (CLAUSE_BREAKS.has(w)) {
        if (tokens.length) clauses.push(tokens);
        tokens = [];
        gap = "";
      } else if (NEGATIONS.has(w) && i + 1 < words.length && !NEGATIONS.has(words[i + 1]!) && !CLAUSE_BREAKS.has(words[i + 1]!)) {
        const next = words[++i]!;
        tokens.push({ stem: `${w} ${stemWord(next)}`, surface: `${CONTRACTIONS[w] ?? w} ${next}`, words: 2, gap });
        gap = "";
      } else if (!isStopWord(w) && !NEGATIONS.has(w) && [...w].length >= 2) {
        tokens.push({ stem: stemWord(w), surface: w, words: 1, gap });
        gap = "";
      } else if (tokens.length) {
        const shown = CONTRACTIONS[w] ?? w;
        gap = gap ? `${gap} ${shown}` : shown;
      }
    }
    if (tokens.length) clauses.push(tokens);
  }
  return clauses;
}

const byCodePoint = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

interface Phrase {
  key: string;
  stems: string[];
  words: number;
  /** Answer indexes, ascending, each once. */
  answers: number[];
  /** The first spelling seen and its uses; others only when there are (most phrases have one). */
  surface: string;
  surfaceUses: number;
  surfaces: Map<string, number> | null;
  /** Sum of the token positions (within its answer) where it starts, over its uses. */
  positions: number;
  uses: number;
  label: string;
}

/** Every phrase of one answer: 1–3 adjacent tokens of a clause, 2–3 words, no stem twice. */
function eachPhrase(clauses: Token[][], visit: (stems: string[], surface: string, words: number, position: number) => void) {
  let position = 0;
  for (const clause of clauses) {
    for (let i = 0; i < clause.length; i++) {
      let words = 0;
      let surface = "";
      const stems: string[] = [];
      for (let j = i; j < clause.length && j < i + 3; j++) {
        const t = clause[j]!;
        words += t.words;
        if (words > 3 || stems.includes(t.stem)) break;
        stems.push(t.stem);
        surface = j === i ? t.surface : `${surface} ${t.gap ? `${t.gap} ` : ""}${t.surface}`;
        if (words >= 2) visit(stems, surface, words, position + i);
      }
    }
    position += clause.length;
  }
}

/** Size of the intersection of two ascending lists. */
function shared(a: readonly number[], b: readonly number[]): number {
  let n = 0;
  for (let i = 0, j = 0; i < a.length && j < b.length; ) {
    if (a[i]! < b[j]!) i++;
    else if (a[i]! > b[j]!) j++;
    else n++, i++, j++;
  }
  return n;
}

/** A short key for an answer set (its size and a hash); equal sets have equal keys. */
function answerSetKey(list: readonly number[]): string {
  let h = 0x811c9dc5;
  for (const n of list) h = Math.imul(h ^ n, 0x01000193) >>> 0;
  return `${list.length}:${h}`;
}

function sameList(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((n, i) => n === b[i]);
}

function union(lists: ReadonlyArray<readonly number[]>): number[] {
  return lists.length === 1 ? [...lists[0]!] : [...new Set(lists.flat())].sort((a, b) => a - b);
}

function pickExamples(candidates: readonly string[], n: number): string[] {
  const distinct = [...new Set(candidates.map((t) => t.trim()))];
  const long = (t: string) => (t.length > 200 ? 1 : 0);
  return distinct.sort((a, b) => long(a) - long(b) || (long(a) ? a.length - b.length : b.length - a.length) || byCodePoint(a, b)).slice(0, n);
}

/** Themes of a group of answers (see the module comment for the rules). */
export function summarizeThemes(answers: readonly ThemeAnswer[], options: ThemeOptions = {}): ThemeSummary {
  const { limit = 50, minCount = DEFAULT_MIN_COUNT, examples = 3 } = options;
  // Sorted texts: the themes cannot depend on the order answers arrive in.
  const texts = answers
    .map((a) => a.text.trim())
    .filter((t) => /[\p{L}]/u.test(t))
    .sort(byCodePoint);

  const phrases = new Map<string, Phrase>();
  texts.forEach((text, i) => {
    eachPhrase(themeTokens(text), (stems, surface, words, position) => {
      const key = stems.length === 1 ? stems[0]! : stems.length === 2 && stems[0]! < stems[1]! ? `${stems[0]} ${stems[1]}` : [...stems].sort(byCodePoint).join(" ");
      let p = phrases.get(key);
      if (!p) {
        p = { key, stems: [...stems], words, answers: [], surface, surfaceUses: 0, surfaces: null, positions: 0, uses: 0, label: "" };
        phrases.set(key, p);
      }
      // Answers come in index order, so the last one tells whether this answer is counted yet.
      if (p.answers[p.answers.length - 1] !== i) p.answers.push(i);
      if (surface === p.surface) p.surfaceUses++;
      else (p.surfaces ??= new Map()).set(surface, (p.surfaces.get(surface) ?? 0) + 1);
      p.positions += position;
      p.uses++;
    });
  });

  const candidates: Phrase[] = [];
  for (const p of phrases.values()) {
    if (p.answers.length < minCount) continue;
    p.label = [[p.surface, p.surfaceUses] as const, ...(p.surfaces ?? [])].sort((a, b) => b[1] - a[1] || a[0].length - b[0].length || byCodePoint(a[0], b[0]))[0]![0];
    candidates.push(p);
  }
  // Leading phrases: longest, then most answers, then more content words ("кофе отличный"
  // before "не менял"), then the one written earlier in the answers ("реклама в ленте
  // попадалась" before "ленте попадалась часто").
  candidates.sort(
    (a, b) =>
      b.words - a.words ||
      b.answers.length - a.answers.length ||
      b.stems.length - a.stems.length ||
      a.positions * b.uses - b.positions * a.uses ||
      byCodePoint(a.label, b.label) ||
      byCodePoint(a.key, b.key),
  );

  const byStem = new Map<string, Phrase[]>();
  for (const p of candidates) {
    for (const s of p.stems) {
      const list = byStem.get(s);
      if (list) list.push(p);
      else byStem.set(s, [p]);
    }
  }
  const bySet = new Map<string, Phrase[]>();
  for (const p of candidates) {
    const list = bySet.get(answerSetKey(p.answers));
    if (list) list.push(p);
    else bySet.set(answerSetKey(p.answers), [p]);
  }
  const taken = new Set<Phrase>();
  const themes: ThemeItem[] = [];
  for (const head of candidates) {
    if (taken.has(head)) continue;
    taken.add(head);
    // Phrases of exactly the head's answers, wherever they stand (another clause of the same
    // answers: "точек в спальных районах, до ближайшей далеко идти" is one theme, not two).
    const members = [head];
    for (const p of bySet.get(answerSetKey(head.answers))!) {
      if (taken.has(p) || !sameList(p.answers, head.answers)) continue;
      taken.add(p);
      members.push(p);
    }
    // Phrases overlapping the theme's phrases (through a shared stem, so "loyalty card" joins
    // "app instead of paper" through "card app instead") with nearly the head's answers; compared
    // with the head, not with each other, so a chain cannot drift to other answers.
    for (let m = 0; m < members.length; m++) {
      for (const stem of members[m]!.stems) {
        for (const p of byStem.get(stem)!) {
          if (taken.has(p)) continue;
          const large = Math.max(p.answers.length, head.answers.length);
          if (Math.min(p.answers.length, head.answers.length) < NEAR * large || shared(p.answers, head.answers) < NEAR * large) continue;
          taken.add(p);
          members.push(p);
        }
      }
    }
    const all = union(members.map((p) => p.answers));
    themes.push({
      key: head.key,
      label: head.label,
      count: all.length,
      share: all.length / texts.length,
      examples: pickExamples(head.answers.map((i) => texts[i]!), examples),
    });
  }
  themes.sort((a, b) => b.count - a.count || byCodePoint(a.label, b.label) || byCodePoint(a.key, b.key));
  return { answers: texts.length, total: themes.length, themes: themes.slice(0, limit) };
}
