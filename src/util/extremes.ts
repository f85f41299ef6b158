/**
 * Math.max(...values), Math.min(...values) and target.push(...items) without the spread. A spread passes every
 * value as one argument on the call stack, and past roughly 100,000 of them (one per node or edge of a large
 * simulated run) V8 throws "Maximum call stack size exceeded". Hand-written, not d3-array: its max() skips NaN
 * and answers undefined for nothing, where every caller here relies on Math.max's own answers (-Infinity for no
 * values, NaN if any value is NaN).
 */

/** The largest of `values`, or `floor` if none is larger: Math.max(floor, ...values). */
export function maxOf(values: Iterable<number>, floor = -Infinity): number {
  let largest = floor;
  for (const value of values) largest = Math.max(largest, value);
  return largest;
}

/** The smallest of `values`, or `ceiling` if none is smaller: Math.min(ceiling, ...values). */
export function minOf(values: Iterable<number>, ceiling = Infinity): number {
  let smallest = ceiling;
  for (const value of values) smallest = Math.min(smallest, value);
  return smallest;
}

/** Appends `items` to `target` in order: target.push(...items). */
export function pushAll<T>(target: T[], items: Iterable<T>): void {
  for (const item of items) target.push(item);
}
