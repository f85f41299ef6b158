import { expect, it } from 'vitest';
import type { Json } from '../../src/sdk/types.js';
import { copyJson } from '../../src/util/json-copy.js';

const roundTrip = (value: Json): Json => JSON.parse(JSON.stringify(value)) as Json;

it('gives what a JSON round trip gives, as a copy of its own', () => {
  const nested = { a: [1, 'two', { three: [null, true] }], b: { c: -0.5e-300 } };
  for (const value of [null, true, false, 0, 1.5, 'text', [], {}, nested, [[[]]], { 2: 'b', 1: 'a', z: 0, y: 1 }]) {
    const copy = copyJson(value as Json);
    expect(copy).toStrictEqual(roundTrip(value as Json));
    expect(JSON.stringify(copy)).toBe(JSON.stringify(value));
    if (typeof value === 'object' && value !== null) expect(copy).not.toBe(value);
  }
  const copy = copyJson(nested) as typeof nested;
  nested.a.push(4);
  nested.b.c = 1;
  expect(copy).toStrictEqual({ a: [1, 'two', { three: [null, true] }], b: { c: -0.5e-300 } });
});

it('normalises as the round trip does: -0, holes, __proto__, prototypes', () => {
  expect(Object.is(copyJson(-0), 0)).toBe(true);
  expect(Object.is((copyJson([-0]) as number[])[0], 0)).toBe(true);
  expect(copyJson([1, , 3] as Json)).toStrictEqual([1, null, 3]);
  const own = JSON.parse('{"__proto__":{"x":1},"y":2}') as Json;
  const copy = copyJson(own) as Record<string, Json>;
  expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
  expect(Object.keys(copy)).toEqual(['__proto__', 'y']);
  expect(JSON.stringify(copy)).toBe('{"__proto__":{"x":1},"y":2}');
  const bare = Object.assign(Object.create(null) as Record<string, Json>, { k: 1 });
  expect(Object.getPrototypeOf(copyJson(bare))).toBe(Object.prototype);
});
