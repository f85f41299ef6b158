/**
 * Node ids in the order people read them: numerically where both are numbers ("2" before "10"), otherwise as
 * text. One order for every listing, selector and tie-break, so that a seeded choice over sorted ids picks the
 * same nodes wherever it is made.
 */
export function compareNodeIds(a: string, b: string): number {
  const [x, y] = [Number(a), Number(b)];
  return Number.isFinite(x) && Number.isFinite(y) && a.trim() !== '' && b.trim() !== '' ? x - y || a.localeCompare(b) : a.localeCompare(b);
}
