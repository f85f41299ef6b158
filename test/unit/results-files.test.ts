import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { CSV_GZIP_ABOVE_BYTES, writeCsv, writeCsvRows } from '../../src/util/files.js';
import { tempDir } from './experiment-helpers.js';

const rows = (n: number) => Array.from({ length: n }, (_, i) => ({ id: String(i), result: JSON.stringify({ hops: i % 7 }), label: `node, "${i}"` }));
const columns = ['id', 'result', 'label'];

describe('large CSVs are written compressed', () => {
  it('writes a small CSV as it is, and one past the threshold as .csv.gz with the same text', async () => {
    const dir = tempDir('peerlab-csv-');
    const file = path.join(dir, 'nodes.csv');
    expect(await writeCsv(file, rows(10), columns, { gzipAbove: 10_000 })).toBe(file);
    const plain = readFileSync(file, 'utf8');
    expect(plain.split('\n')[1]).toBe('0,"{""hops"":0}","node, ""0"""');

    // The same file rewritten larger (an experiment's summary is, after each run): only the .gz remains.
    expect(await writeCsv(file, rows(1_000), columns, { gzipAbove: 10_000 })).toBe(`${file}.gz`);
    expect(readdirSync(dir)).toEqual(['nodes.csv.gz']);
    const text = gunzipSync(readFileSync(`${file}.gz`)).toString('utf8');
    expect(text.startsWith(plain.split('\n').slice(0, 11).join('\n'))).toBe(true);
    expect(text.trim().split('\n')).toHaveLength(1_001);
    expect(readFileSync(`${file}.gz`).length).toBeLessThan(Buffer.byteLength(text) / 3);

    // And back under it: the plain file again, and no stale .gz beside it.
    expect(await writeCsv(file, rows(10), columns, { gzipAbove: 10_000 })).toBe(file);
    expect(readdirSync(dir)).toEqual(['nodes.csv']);
  });

  it('never compresses without a threshold, and the run files\' threshold is the documented 1 MiB', async () => {
    const dir = tempDir('peerlab-csv-');
    expect(await writeCsv(path.join(dir, 'summary.csv'), rows(20_000), columns)).toBe(path.join(dir, 'summary.csv'));
    expect(CSV_GZIP_ABOVE_BYTES).toBe(1024 * 1024);
  });

  it('writes rows made one at a time, in batches, as the same text as writeCsv', async () => {
    const dir = tempDir('peerlab-csv-');
    function* made(n: number) {
      yield* rows(n);
    }
    await writeCsv(path.join(dir, 'whole.csv'), rows(100_001), columns);
    await writeCsvRows(path.join(dir, 'batched.csv'), made(100_001), columns);
    expect(readFileSync(path.join(dir, 'batched.csv'), 'utf8')).toBe(readFileSync(path.join(dir, 'whole.csv'), 'utf8'));
    expect(readdirSync(dir).sort()).toEqual(['batched.csv', 'whole.csv']);
  });
});
