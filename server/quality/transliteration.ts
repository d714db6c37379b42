/**
 * Script handling for coding brand mentions: respondents write a Latin brand in Cyrillic
 * ("Старбакс"), a Russian brand in Latin ("Pyaterochka"), or mix both in one word (a Latin "C"
 * in "Cбер"). Every word is reduced to one Latin phonetic key, so a Latin alias matches Cyrillic
 * text and the other way round; Russian case endings are handled on the Cyrillic form.
 *
 * The keys are for comparison only, never shown.
 */

const CYRILLIC = /\p{Script=Cyrillic}/u;
const LATIN = /\p{Script=Latin}/u;

/** Letters that look alike in the two scripts, Latin → Cyrillic (both cases). */
const LATIN_LOOKALIKES: Record<string, string> = {
  A: "А", a: "а", B: "В", C: "С", c: "с", E: "Е", e: "е", H: "Н", K: "К", k: "к", M: "М",
  O: "О", o: "о", P: "Р", p: "р", T: "Т", X: "Х", x: "х", Y: "У", y: "у",
};
const CYRILLIC_LOOKALIKES: Record<string, string> = Object.fromEntries(Object.entries(LATIN_LOOKALIKES).map(([l, c]) => [c, l]));

/**
 * A word written in two scripts is brought to the script of most of its letters, where the
 * minority letters have a look-alike: "Cтарбакс" (Latin C) → "Старбакс", "Аdidas" → "Adidas".
 */
export function fixMixedScript(word: string): string {
  let cyr = 0;
  let lat = 0;
  for (const ch of word) {
    if (CYRILLIC.test(ch)) cyr++;
    else if (LATIN.test(ch)) lat++;
  }
  if (cyr === 0 || lat === 0) return word;
  const map = cyr >= lat ? LATIN_LOOKALIKES : CYRILLIC_LOOKALIKES;
  let out = "";
  for (const ch of word) out += map[ch] ?? ch;
  return out;
}

export function isCyrillic(word: string): boolean {
  return CYRILLIC.test(word);
}

/** Russian (and common Ukrainian) letters to Latin, close to how Russians transliterate by ear. */
const CYR_TO_LAT: Record<string, string> = {
  а: "a", б: "b", в: "v", г: "g", д: "d", е: "e", ё: "e", ж: "zh", з: "z", и: "i", й: "i",
  к: "k", л: "l", м: "m", н: "n", о: "o", п: "p", р: "r", с: "s", т: "t", у: "u", ф: "f",
  х: "h", ц: "ts", ч: "ch", ш: "sh", щ: "sh", ъ: "", ы: "i", ь: "", э: "e", ю: "iu", я: "ia",
  і: "i", ї: "i", є: "e", ґ: "g",
};

/** Lower-case Cyrillic to Latin letters (other characters unchanged). */
export function cyrillicToLatin(word: string): string {
  let out = "";
  for (const ch of word) out += CYR_TO_LAT[ch] ?? ch;
  return out;
}

/** Latin digraphs first, then single letters: the reading a Russian speaker would give. */
const LAT_TO_CYR: Array<[RegExp, string]> = [
  [/shch|sch/g, "щ"], [/sh/g, "ш"], [/ch/g, "ч"], [/zh/g, "ж"], [/kh/g, "х"], [/ts/g, "ц"],
  [/ya|ia/g, "я"], [/yu|iu/g, "ю"], [/yo/g, "е"], [/ph/g, "ф"], [/ck/g, "к"], [/qu/g, "кв"],
  [/x/g, "кс"], [/j/g, "дж"], [/c(?=[eiy])/g, "с"],
];
const LAT_SINGLE: Record<string, string> = {
  a: "а", b: "б", c: "к", d: "д", e: "е", f: "ф", g: "г", h: "х", i: "и", k: "к", l: "л", m: "м",
  n: "н", o: "о", p: "п", q: "к", r: "р", s: "с", t: "т", u: "у", v: "в", w: "в", y: "и", z: "з",
};

/** Lower-case Latin to Cyrillic, as a Russian reader would spell it ("lada" → "лада"). */
export function latinToCyrillic(word: string): string {
  let s = word;
  for (const [re, to] of LAT_TO_CYR) s = s.replace(re, to);
  let out = "";
  for (const ch of s) out += LAT_SINGLE[ch] ?? ch;
  return out;
}

/**
 * The phonetic key of a normalised word: Cyrillic transliterated, diacritics dropped, and
 * spellings that sound alike folded together (ck/k, c/k/s, ph/f, w/v, x/ks, y/i, doubled
 * letters, a final z/s…), so "Starbucks" and "Старбакс" differ by one letter, and
 * "Кока-Кола"/"Coca-Cola" not at all.
 */
export function phoneticKey(word: string): string {
  let s = cyrillicToLatin(word)
    .normalize("NFD")
    .replace(/\p{M}/gu, "");
  s = s
    .replace(/sch/g, "sh")
    .replace(/tch/g, "ch")
    .replace(/dzh|dj/g, "j")
    .replace(/kh/g, "h")
    .replace(/ph/g, "f")
    .replace(/ck/g, "k")
    .replace(/qu/g, "kv")
    .replace(/q/g, "k")
    .replace(/x/g, "ks")
    .replace(/w/g, "v")
    .replace(/c(?!h)(?=[eiy])/g, "s")
    .replace(/c(?!h)/g, "k")
    .replace(/ee/g, "i")
    .replace(/oo/g, "u")
    .replace(/y/g, "i")
    .replace(/ie/g, "i")
    .replace(/z$/, "s")
    .replace(/(.)\1+/g, "$1");
  return s.replace(/[^\p{L}\p{N}]/gu, "");
}

/**
 * Russian noun and adjective case endings, longest first. Brand names are declined in answers
 * ("в Пятёрочке", "на Озоне", "Ладу"), and a typo allowance of 0 for short names cannot absorb it.
 */
const CASE_ENDINGS = [
  "ами", "ями", "ого", "его", "ому", "ему", "ыми", "ими",
  "ах", "ях", "ам", "ям", "ом", "ем", "ой", "ей", "ою", "ею", "ов", "ев", "ое", "ая", "яя",
  "ый", "ий", "ую", "юю", "ые", "ие", "ых", "их", "ым", "им",
  "а", "я", "у", "ю", "е", "ы", "и", "ь", "й",
];

/** The word without one Russian case ending, keeping at least three letters; undefined when none applies. */
export function stripCaseEnding(cyrillicWord: string): string | undefined {
  if ([...cyrillicWord].length < 4) return undefined;
  for (const ending of CASE_ENDINGS) {
    if (cyrillicWord.endsWith(ending) && [...cyrillicWord].length - ending.length >= 3) return cyrillicWord.slice(0, -ending.length);
  }
  return undefined;
}

/** The Cyrillic spelling of a normalised word (as typed when Cyrillic, read aloud when Latin). */
export function cyrillicForm(word: string): string {
  return isCyrillic(word) ? word : latinToCyrillic(word);
}
