/**
 * "Did you mean …?" for names users type: config keys, stream names, object and field API names.
 */

/**
 * The known name a typo most likely meant: the same once case, `_` and `-` are ignored (also with one
 * of `suffixes` added, such as a custom object's `__c`), or within a small edit distance (1 for short
 * names, 2 from 6 characters on).
 */
export function nearestName(
  key: string,
  known: readonly string[],
  suffixes: readonly string[] = [],
): string | undefined {
  const plain = (k: string): string => k.toLowerCase().replace(/[_-]/g, '');
  const typed = plain(key);
  for (const candidate of [typed, ...suffixes.map((suffix) => plain(key + suffix))]) {
    const exact = known.find((k) => plain(k) === candidate);
    if (exact !== undefined) return exact;
  }
  const limit = typed.length >= 6 ? 2 : 1;
  let best: { key: string; distance: number } | undefined;
  for (const k of known) {
    const distance = editDistance(typed, plain(k));
    if (distance <= limit && (best === undefined || distance < best.distance)) best = { key: k, distance };
  }
  return best?.key;
}

/** Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps. */
function editDistance(a: string, b: string): number {
  const rows: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const row = rows[i]!;
      const above = rows[i - 1]!;
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min(above[j]! + 1, row[j - 1]! + 1, above[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        row[j] = Math.min(row[j]!, rows[i - 2]![j - 2]! + 1);
      }
    }
  }
  return rows[a.length]![b.length]!;
}
