/**
 * src/util/csv.ts writes what csv-stringify, with its default options, writes for the same rows, byte for byte:
 * it replaced the library for speed only (see its header), and results files must read as they did.
 */
import { stringify } from 'csv-stringify/sync';
import { describe, expect, it } from 'vitest';
import { csvHeader, csvJoin, csvLine } from '../../src/util/csv.js';
import { createRandom } from '../../src/util/random.js';

/** The text of the rows as writeCsvRows makes it (src/util/files.ts), whatever its batches. */
const csvText = (rows: readonly Record<string, unknown>[], columns: readonly string[], header: boolean): string =>
  csvJoin([...(header ? [csvHeader(columns)] : []), ...rows.map((row) => csvLine(row, columns))]);

describe('csvHeader and csvLine', () => {
  it('equals csv-stringify on rows of every kind of cell, tricky strings included', () => {
    const random = createRandom(7);
    const pick = <T>(values: readonly T[]): T => values[Math.floor(random.next() * values.length)]!;
    const strings = ['', 'plain', 'a,b', 'say "hi"', 'two\nlines', 'cr\r', ' spaced ', '"', ',', 'ü ✓', '=1+2', 'tab\there', '{"json":[1,2]}'];
    const cell = (): unknown =>
      pick([
        () => pick(strings),
        () => (random.next() - 0.5) * 10 ** Math.floor(random.next() * 30 - 10),
        () => Math.floor(random.next() * 1000),
        () => pick([0, -0, NaN, Infinity, -Infinity, 1e21, 5e-7]),
        () => random.next() < 0.5,
        () => null,
        () => undefined,
        () => BigInt(Math.floor(random.next() * 1e6)),
        () => new Date(Math.floor(random.next() * 2e12)),
        () => ({ a: pick(strings), b: [1, 'x,y'] }),
        () => [1, 'two', { three: 3 }],
      ])();
    const columns = ['id', 'with,comma', 'with "quote"', 'metric_x.y', 'last'];
    const rows = Array.from({ length: 2_000 }, () => Object.fromEntries(columns.map((column) => [column, cell()])));
    // A row without some columns: their cells are empty.
    rows.push({ id: 'short' });
    for (const header of [true, false]) expect(csvText(rows, columns, header)).toBe(stringify(rows, { header, columns }));
    expect(csvText([], columns, true)).toBe(stringify([], { header: true, columns }));
    expect(csvText([], columns, false)).toBe(stringify([], { header: false, columns }));
  });
});
