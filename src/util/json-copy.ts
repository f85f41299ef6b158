import type { Json } from '../sdk/types.js';

/**
 * The length in bytes of `JSON.stringify(value)`'s UTF-8 for the value copyMeasured last returned a copy of: a
 * module variable the walk adds to, so that neither it nor its callers make an object per message for two results.
 */
export let measuredBytes = 0;

/**
 * What `JSON.parse(JSON.stringify(value))` gives, and the UTF-8 length of the text in between, without making
 * the text: the simulator's copy of each message sent (its size is counted per edge, held to the payload limit
 * and fed to the delay model) and of what a node reports or registers with a service. At 10⁵ simulated GHS
 * nodes the text, a second walk to check the payload and a third to copy it were a tenth of the event loop.
 * Equal to the round trip down to what it normalises: -0 becomes 0, an array's holes become null, an own
 * `__proto__` key stays an own property, and keys keep their order.
 *
 * Returns undefined, having copied nothing the caller should keep, for anything that is not plain JSON
 * (objects with Object's or no prototype, arrays, strings, finite numbers, booleans, null) or that it cannot
 * tell is: a value nested deeper than MAX_DEPTH (a cycle, or just deep), a getter or proxy that throws. The
 * caller then takes the round trip's own way, whose errors say what is wrong.
 */
export function copyMeasured(value: unknown): Json | undefined {
  measuredBytes = 0;
  try {
    return copyOf(value, 0);
  } catch {
    return undefined;
  }
}

/** For a value known to be plain JSON (see copyMeasured): its copy, by the round trip itself if too deep to walk. */
export function copyJson(value: Json): Json {
  const copy = copyMeasured(value);
  return copy === undefined ? (JSON.parse(JSON.stringify(value)) as Json) : copy;
}

/** Deeper than this is taken for a cycle, and left to JSON.stringify to tell from mere depth. */
const MAX_DEPTH = 1000;

/** Thrown inside the walk at the first thing that is not plain JSON: a check per value copied would cost more. */
const NOT_PLAIN = Symbol('not plain JSON');

function copyOf(value: unknown, depth: number): Json {
  switch (typeof value) {
    case 'string':
      measuredBytes += stringBytes(value);
      return value;
    case 'number':
      measuredBytes += numberBytes(value);
      return value === 0 ? 0 : value;
    case 'boolean':
      measuredBytes += value ? 4 : 5;
      return value;
    case 'object':
      if (value === null) {
        measuredBytes += 4;
        return null;
      }
      if (depth === MAX_DEPTH) throw NOT_PLAIN;
      return Array.isArray(value) ? copyArray(value, depth + 1) : copyObject(value, depth + 1);
    default:
      throw NOT_PLAIN;
  }
}

function copyArray(array: readonly unknown[], depth: number): Json[] {
  const length = array.length;
  measuredBytes += length === 0 ? 2 : length + 1;
  // Made at its length, as JSON.parse makes it: grown by push, every copied array (each payload's, each result's)
  // kept room for 17 elements, about 100 bytes more than a short one needs.
  const copy = new Array<Json>(length);
  for (let i = 0; i < length; i++) {
    const item = array[i];
    if (item !== undefined) {
      copy[i] = copyOf(item, depth);
    } else if (i in array) {
      throw NOT_PLAIN;
    } else {
      measuredBytes += 4;
      copy[i] = null;
    }
  }
  return copy;
}

function copyObject(object: object, depth: number): { [key: string]: Json } {
  const prototype: unknown = Object.getPrototypeOf(object);
  if (prototype !== Object.prototype && prototype !== null) throw NOT_PLAIN;
  const copy: { [key: string]: Json } = {};
  let keys = 0;
  for (const key in object) {
    // An inherited enumerable key (a polluted Object.prototype) is none of the payload's: the round trip's check decides.
    if (!Object.hasOwn(object, key)) throw NOT_PLAIN;
    measuredBytes += stringBytes(key) + 1;
    const item = copyOf((object as Record<string, unknown>)[key], depth);
    // Assigned, `__proto__` would set the copy's prototype; JSON.parse makes it an ordinary own property.
    if (key === '__proto__') Object.defineProperty(copy, key, { value: item, writable: true, enumerable: true, configurable: true });
    else copy[key] = item;
    keys++;
  }
  measuredBytes += keys === 0 ? 2 : keys + 1;
  return copy;
}

/** The UTF-8 length of the string as JSON.stringify writes it, quotes and escapes included. */
function stringBytes(text: string): number {
  const length = text.length;
  // One byte per code unit, and what each needs on top.
  let bytes = length + 2;
  for (let i = 0; i < length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) {
      if (unit < 0x20) bytes += SHORT_ESCAPES.has(unit) ? 1 : 5;
      else if (unit === 0x22 || unit === 0x5c) bytes += 1;
    } else if (unit < 0x800) {
      bytes += 1;
    } else if (unit < 0xd800 || unit > 0xdfff) {
      bytes += 2;
    } else if (unit < 0xdc00 && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      // A surrogate pair: two units, four bytes.
      bytes += 2;
      i++;
    } else {
      // A lone surrogate: JSON.stringify writes it as \udXXX.
      bytes += 5;
    }
  }
  return bytes;
}

/** \b \t \n \f \r: the control characters JSON writes in two characters, the others being \u00XX. */
const SHORT_ESCAPES = new Set([0x08, 0x09, 0x0a, 0x0c, 0x0d]);

/** The length of the number as JSON writes it (String(n)), counted without the string for the integers of messages. */
function numberBytes(value: number): number {
  if (!Number.isFinite(value)) throw NOT_PLAIN;
  // From 1e21 on, String writes an exponent; below, an integer's digits in full (powers of ten are exact to 1e22).
  if (!Number.isInteger(value) || value >= 1e21 || value <= -1e21) return String(value).length;
  let bytes = value < 0 ? 2 : 1;
  const magnitude = value < 0 ? -value : value;
  for (let power = 10; magnitude >= power; power *= 10) bytes++;
  return bytes;
}
