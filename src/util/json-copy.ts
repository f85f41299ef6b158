import type { Json } from '../sdk/types.js';

/**
 * What `JSON.parse(JSON.stringify(value))` gives for a value the host has checked is plain JSON (objects with
 * Object's or no prototype, arrays, strings, finite numbers, booleans, null), without the text in between: the
 * simulator's copy of what a node reports or registers with a service, where the round trip through a string was
 * a tenth of a flood's event loop (number formatting and parsing, a string and a parse per result). Equal to
 * the round trip down to what it normalises: -0 becomes 0, an array's holes become null, an own `__proto__`
 * key stays an own property, and keys keep their order.
 */
export function copyJson(value: Json): Json {
  if (typeof value !== 'object' || value === null) return value === 0 ? 0 : value;
  if (Array.isArray(value)) {
    const copy: Json[] = [];
    for (let i = 0; i < value.length; i++) {
      const item = value[i];
      copy.push(item === undefined ? null : copyJson(item));
    }
    return copy;
  }
  const copy: { [key: string]: Json } = {};
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    const item = copyJson(value[key]!);
    // Assigned, `__proto__` would set the copy's prototype; JSON.parse makes it an ordinary own property.
    if (key === '__proto__') Object.defineProperty(copy, key, { value: item, writable: true, enumerable: true, configurable: true });
    else copy[key] = item;
  }
  return copy;
}
