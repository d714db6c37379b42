/**
 * Damerau–Levenshtein distance in its restricted form (optimal string alignment): insertions,
 * deletions, substitutions and transpositions of two adjacent characters each cost 1, and no
 * substring is edited twice. That is the usual reading of "typo distance": "Старбакс" →
 * "Старабкс" is one transposition.
 *
 * `max` bounds the work: once every cell of a row exceeds it the answer is `max + 1`.
 *
 * @example osaDistance("acme", "amce") // 1
 * @example osaDistance("abibas", "adidas") // 2
 */
export function osaDistance(a: string, b: string, max = Infinity): number {
  if (a === b) return 0;
  const n = a.length;
  const m = b.length;
  if (Math.abs(n - m) > max) return max + 1;
  if (n === 0) return m;
  if (m === 0) return n;
  // Three rows: two back (for transpositions), previous, current.
  let back = new Array<number>(m + 1).fill(0);
  let prev = Array.from({ length: m + 1 }, (_, j) => j);
  let cur = new Array<number>(m + 1).fill(0);
  for (let i = 1; i <= n; i++) {
    cur[0] = i;
    let rowMin = i;
    const ai = a.charCodeAt(i - 1);
    for (let j = 1; j <= m; j++) {
      const bj = b.charCodeAt(j - 1);
      const cost = ai === bj ? 0 : 1;
      let d = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && ai === b.charCodeAt(j - 2) && a.charCodeAt(i - 2) === bj) d = Math.min(d, back[j - 2]! + 1);
      cur[j] = d;
      if (d < rowMin) rowMin = d;
    }
    if (rowMin > max) return max + 1;
    [back, prev, cur] = [prev, cur, back];
  }
  return prev[m]!;
}
