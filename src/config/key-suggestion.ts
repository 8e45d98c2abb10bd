/** Case and word separators do not count: `API_KEY`, `api-key` and `apiKey` are one spelling. */
function normalize(key: string): string {
  return key.toLowerCase().replace(/[_-]/g, '');
}

/** Edits (insert, delete, replace, swap two neighbours) that turn `a` into `b`. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [
    i,
    ...Array<number>(b.length).fill(0),
  ]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, d[i - 2]![j - 2]! + 1);
      }
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/** Typos worth a guess: about one in five characters, at least one. */
const tolerance = (s: string) => Math.max(1, Math.floor(s.length / 5));

function closest(written: string, candidates: Array<[string, string]>): string | undefined {
  let best: { key: string; distance: number } | undefined;
  for (const [key, compared] of candidates) {
    const distance = editDistance(written, compared);
    if (distance <= tolerance(written) && (!best || distance < best.distance)) best = { key, distance };
  }
  return best?.key;
}

/**
 * The schema key a person most likely meant by an unknown one: first by the whole dotted name
 * (`kilbill.apikee`), else by its last part alone, so a key put under the wrong block is found too.
 */
export function suggestKey(written: string, keys: Iterable<string>): string | undefined {
  const all = [...keys];
  const byPath = closest(
    normalize(written),
    all.map((k) => [k, normalize(k)]),
  );
  if (byPath) return byPath;
  const leaf = (k: string) => normalize(k.slice(k.lastIndexOf('.') + 1));
  return closest(
    leaf(written),
    all.map((k) => [k, leaf(k)]),
  );
}
