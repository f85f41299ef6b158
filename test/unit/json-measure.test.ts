import { describe, expect, it } from 'vitest';
import { copyJson, copyMeasured, measuredBytes } from '../../src/util/json-copy.js';
import { createRandom, type Random } from '../../src/util/random.js';

/** Code units that JSON writes in a way of their own, each drawn often: escapes, UTF-8 lengths, surrogates. */
const UNITS: ReadonlyArray<(random: Random) => string> = [
  (r) => String.fromCharCode(0x20 + r.int(0x5f)),
  () => '"',
  () => '\\',
  (r) => String.fromCharCode(r.int(0x20)),
  () => '\x7f',
  (r) => String.fromCharCode(0x80 + r.int(0x780)),
  (r) => String.fromCharCode(0x800 + r.int(0xd800 - 0x800)),
  (r) => String.fromCharCode(0xe000 + r.int(0x2000)),
  (r) => String.fromCodePoint(0x10000 + r.int(0x100000)),
  (r) => String.fromCharCode(0xd800 + r.int(0x400)),
  (r) => String.fromCharCode(0xdc00 + r.int(0x400)),
  (r) => String.fromCharCode(0xdc00 + r.int(0x400), 0xd800 + r.int(0x400)),
  (r) => r.pick(['\u2028', '\u2029', '\ufeff', '\uffff', '\u0800', '\u07ff', '\u0080']),
];

const NUMBERS: readonly number[] = [
  0, -0, 1, -1, 9, 10, 99, 100, 2 ** 31, -(2 ** 31), 2 ** 32, 2 ** 53, 2 ** 53 + 2, -(2 ** 53), Number.MAX_SAFE_INTEGER,
  1e20, 99999999999999990000, 999999999999999900000, -999999999999999900000, 1e21, -1e21, 1e22, 1.5e300, Number.MAX_VALUE,
  Number.MIN_VALUE, -Number.MIN_VALUE, 0.1, 1 / 3, -2 / 3, 1e-6, 1e-7, 123e-20, 0.000001234, 5e-324, 1.7976931348623157e308,
];

const KEYS: readonly string[] = ['0', '1', '10', '2', '-1', '01', '1.5', '4294967294', '4294967295', '__proto__', 'constructor', 'toString', 'length', ''];

function randomString(random: Random): string {
  let text = '';
  for (let i = random.int(10); i > 0; i--) text += random.pick(UNITS)(random);
  return text;
}

function randomNumber(random: Random): number {
  switch (random.int(5)) {
    case 0:
      return random.pick(NUMBERS);
    case 1:
      return random.int(2000) - 1000;
    case 2:
      return (random.next() - 0.5) * 10 ** (random.int(60) - 30);
    case 3:
      return Math.round((random.next() - 0.5) * 10 ** random.int(25));
    default:
      return 10 ** (random.int(50) - 25) * (random.int(2) ? 1 : -1);
  }
}

function randomValue(random: Random, depth: number): unknown {
  switch (random.int(depth > 4 ? 4 : 7)) {
    case 0:
      return randomString(random);
    case 1:
      return randomNumber(random);
    case 2:
      return random.pick([true, false, null]);
    case 3:
      return random.int(2) ? randomString(random) : randomNumber(random);
    case 4: {
      const length = random.int(6);
      if (random.int(8) === 0) {
        // Holes, which JSON writes as null.
        const sparse: unknown[] = new Array(length);
        for (let i = 0; i < length; i++) if (random.int(2)) sparse[i] = randomValue(random, depth + 1);
        return sparse;
      }
      return Array.from({ length }, () => randomValue(random, depth + 1));
    }
    default: {
      const object: Record<string, unknown> = random.int(6) === 0 ? Object.create(null) : {};
      for (let i = random.int(6); i > 0; i--) {
        const key = random.int(2) ? random.pick(KEYS) : randomString(random);
        // As JSON.parse makes it: an own property, not the prototype.
        Object.defineProperty(object, key, { value: randomValue(random, depth + 1), enumerable: true, writable: true, configurable: true });
      }
      return object;
    }
  }
}

/**
 * Whether `copy` is what JSON.parse made of the text: the same own keys in the same order, prototypes, no holes
 * and Object.is on the leaves. Not toStrictEqual, which takes an own `constructor` key for the object's class.
 */
function sameAsParsed(copy: unknown, parsed: unknown): boolean {
  if (typeof parsed !== 'object' || parsed === null) return Object.is(copy, parsed);
  if (typeof copy !== 'object' || copy === null || Object.getPrototypeOf(copy) !== Object.getPrototypeOf(parsed)) return false;
  const keys = Reflect.ownKeys(copy);
  const parsedKeys = Reflect.ownKeys(parsed);
  return (
    keys.length === parsedKeys.length &&
    keys.every((key, i) => key === parsedKeys[i] && sameAsParsed(Reflect.get(copy, key), Reflect.get(parsed, key)))
  );
}

/** Every object and array in the value, to check the copy shares none of them. */
function containers(value: unknown, found = new Set<object>()): Set<object> {
  if (typeof value === 'object' && value !== null) {
    found.add(value);
    for (const item of Object.values(value)) containers(item, found);
  }
  return found;
}

describe('copyMeasured', () => {
  it('gives the JSON round trip and the byte length of its text, for random plain JSON', () => {
    const random = createRandom(7, 'json-measure');
    for (let i = 0; i < 5000; i++) {
      const value = randomValue(random, 0);
      const text = JSON.stringify(value);
      const copy = copyMeasured(value);
      expect(measuredBytes, text).toBe(Buffer.byteLength(text));
      expect(sameAsParsed(copy, JSON.parse(text)), text).toBe(true);
      expect(JSON.stringify(copy)).toBe(text);
      const original = containers(value);
      for (const container of containers(copy)) expect(original.has(container)).toBe(false);
    }
  });

  it('counts every code unit and number as JSON.stringify writes it', () => {
    const units = ['"', '\\', '\b', '\f', '\n', '\r', '\t', '/', '\u2028', '\ud83d\ude00', '\ud83d', '\ude00', '\ude00\ud83d', 'a\ud800', '\udfff\udbff'];
    for (let unit = 0; unit < 0x20; unit++) units.push(String.fromCharCode(unit));
    for (const text of [...units, ...units.map((unit) => `x${unit}y`)]) {
      expect(copyMeasured(text)).toBe(text);
      expect(measuredBytes, JSON.stringify(text)).toBe(Buffer.byteLength(JSON.stringify(text)));
      copyMeasured({ [text]: 1 });
      expect(measuredBytes, JSON.stringify({ [text]: 1 })).toBe(Buffer.byteLength(JSON.stringify({ [text]: 1 })));
    }
    for (const number of NUMBERS) {
      copyMeasured(number);
      expect(measuredBytes, String(number)).toBe(JSON.stringify(number).length);
    }
  });

  it('signals what is not plain JSON, or too deep to walk, instead of copying it', () => {
    const cycle: Record<string, unknown> = { a: 1 };
    cycle.self = cycle;
    const arrayCycle: unknown[] = [1];
    arrayCycle.push([arrayCycle]);
    class Point {
      x = 1;
    }
    const notPlain: unknown[] = [
      undefined,
      () => 1,
      Symbol('s'),
      10n,
      NaN,
      Infinity,
      -Infinity,
      cycle,
      arrayCycle,
      { a: undefined },
      [1, undefined],
      { a: [NaN] },
      { a: { b: 1n } },
      { f: () => 1 },
      { toJSON: () => 1 },
      new Date(0),
      new Map(),
      new Set(),
      new Point(),
      Object.create({ inherited: 1 }),
      new Number(1),
      new String('s'),
      new Uint8Array(2),
      /x/,
      {
        get failing(): number {
          throw new Error('no');
        },
      },
      new Proxy({}, { getPrototypeOf: () => { throw new Error('no'); } }),
    ];
    for (const value of notPlain) expect(copyMeasured(value)).toBeUndefined();
    let deep: unknown = 1;
    for (let i = 0; i < 1500; i++) deep = [deep];
    expect(copyMeasured(deep)).toBeUndefined();
    expect(sameAsParsed(copyJson(deep as never), deep)).toBe(true);
  });
});
