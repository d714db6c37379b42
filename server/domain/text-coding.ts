/**
 * Coding of free-text brand mentions (unaided awareness): an answer mentions the brand when one
 * of the brand's aliases appears in it as whole words, after normalisation (case, ё/е,
 * punctuation and spacing). Typos and transliteration come with the text-coding work of the
 * data-quality issue; the mentions table and the aggregation already take the result.
 */

export function normalizeText(text: string): string {
  return text
    .normalize("NFKC")
    .toLowerCase()
    .replace(/ё/g, "е")
    .replace(/[^\p{L}\p{N}]+/gu, " ")
    .trim();
}

/** Position of the first whole-word occurrence of `alias` in `text` (both normalised), or -1. */
function wordIndex(text: string, alias: string): number {
  if (!alias) return -1;
  const haystack = ` ${text} `;
  const i = haystack.indexOf(` ${alias} `);
  return i < 0 ? -1 : i;
}

export interface Mention {
  code: string;
  /** 0 for the code named first in the answer (top of mind). */
  rank: number;
}

/** Codes mentioned in `text`, ordered by where they first appear. */
export function codeMentions(text: string, codes: Record<string, readonly string[]>): Mention[] {
  const normalized = normalizeText(text);
  const found: Array<{ code: string; at: number }> = [];
  for (const [code, aliases] of Object.entries(codes)) {
    const positions = aliases.map((a) => wordIndex(normalized, normalizeText(a))).filter((i) => i >= 0);
    if (positions.length) found.push({ code, at: Math.min(...positions) });
  }
  return found.sort((a, b) => a.at - b.at).map((f, rank) => ({ code: f.code, rank }));
}

/** The code under which a text metric's own brand is counted. */
export const BRAND_CODE = "brand";
