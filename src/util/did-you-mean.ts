import { closest, distance } from 'fastest-levenshtein';

/**
 * The known word `word` is a near miss of (a typo: within max(2, a third of its length) edits), or undefined.
 * Only a near miss is suggested, not whatever word happens to be least far.
 */
export function nearMiss(word: string, known: readonly string[]): string | undefined {
  if (known.length === 0) return undefined;
  const nearest = closest(word, [...known]);
  return distance(word, nearest) <= Math.max(2, Math.floor(word.length / 3)) ? nearest : undefined;
}
