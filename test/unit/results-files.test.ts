import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { stringify } from 'csv-stringify/sync';
import { describe, expect, it } from 'vitest';
import { GZIP_ABOVE_BYTES, readCsv, readJsonFile, writeCsvRows, writeJsonFile } from '../../src/util/files.js';
import { tempDir } from './experiment-helpers.js';

const row = (i: number) => ({ id: String(i), result: JSON.stringify({ hops: i % 7 }), label: `node, "${i}"` });
const rows = (n: number) => Array.from({ length: n }, (_, i) => row(i));
const columns = ['id', 'result', 'label'];
/** What writeCsv made before it streamed: the whole text in one stringify (each made once). */
const wholes = new Map<number, string>();
const whole = (n: number) => wholes.get(n) ?? wholes.set(n, stringify(rows(n), { header: true, columns })).get(n)!;
/** The rows made one at a time, as the run's files make theirs. */
function* made(n: number, throwAt = Infinity) {
  for (let i = 0; i < n; i++) {
    if (i === throwAt) throw new Error('row failed');
    yield row(i);
  }
}
const gunzipped = (file: string) => gunzipSync(readFileSync(file)).toString('utf8');

describe('CSVs are written a batch at a time, large ones compressed', () => {
  it('writes a small CSV as it is, the same bytes as one stringify of all its rows', async () => {
    const dir = tempDir('peerlab-csv-');
    const file = path.join(dir, 'nodes.csv');
    expect(await writeCsvRows(file, made(10), columns, { gzipAbove: GZIP_ABOVE_BYTES })).toBe(file);
    expect(readFileSync(file, 'utf8')).toBe(whole(10));
    expect(readFileSync(file, 'utf8').split('\n')[1]).toBe('0,"{""hops"":0}","node, ""0"""');
    expect(readCsv(file)).toHaveLength(10);
    expect(readdirSync(dir)).toEqual(['nodes.csv']);
  });

  it('writes a text past the threshold as .csv.gz holding the same text, and readCsv reads it', async () => {
    const dir = tempDir('peerlab-csv-');
    const file = path.join(dir, 'nodes.csv');
    // ~2.3 MB of text, in texts of 64 KiB: the first 16 are read ahead to pass 1 MiB.
    expect(Buffer.byteLength(whole(60_000))).toBeGreaterThan(2 * GZIP_ABOVE_BYTES);
    expect(await writeCsvRows(file, made(60_000), columns, { gzipAbove: GZIP_ABOVE_BYTES })).toBe(`${file}.gz`);
    expect(readdirSync(dir)).toEqual(['nodes.csv.gz']);
    expect(gunzipped(`${file}.gz`)).toBe(whole(60_000));
    expect(readFileSync(`${file}.gz`).length).toBeLessThan(Buffer.byteLength(whole(60_000)) / 3);
    expect(readCsv(file)?.[59_999]).toEqual({ id: '59999', result: '{"hops":2}', label: 'node, "59999"' });
  });

  it('holds several batches before deciding, then streams them and the rest through gzip, in order', async () => {
    const dir = tempDir('peerlab-csv-');
    const file = path.join(dir, 'edges.csv');
    // ~8.0 MB of text: 3 MiB of it is read ahead, the rest follows.
    expect(await writeCsvRows(file, made(200_001), columns, { gzipAbove: 3 * 1024 * 1024 })).toBe(`${file}.gz`);
    expect(gunzipped(`${file}.gz`)).toBe(whole(200_001));
    // Just under the threshold stays plain: the decision is on the whole text's size, as it was.
    const size = Buffer.byteLength(whole(200_001));
    expect(await writeCsvRows(file, made(200_001), columns, { gzipAbove: size })).toBe(file);
    expect(readFileSync(file, 'utf8')).toBe(whole(200_001));
    expect(await writeCsvRows(file, made(200_001), columns, { gzipAbove: size - 1 })).toBe(`${file}.gz`);
    expect(readdirSync(dir)).toEqual(['edges.csv.gz']);
  });

  it('removes the other form, whichever way the file crosses the threshold', async () => {
    const dir = tempDir('peerlab-csv-');
    const file = path.join(dir, 'nodes.csv');
    await writeCsvRows(file, made(10), columns, { gzipAbove: 10_000 });
    // The same file rewritten larger (an experiment's summary is, after each run): only the .gz remains.
    expect(await writeCsvRows(file, made(1_000), columns, { gzipAbove: 10_000 })).toBe(`${file}.gz`);
    expect(readdirSync(dir)).toEqual(['nodes.csv.gz']);
    expect(gunzipped(`${file}.gz`)).toBe(whole(1_000));
    // And back under it: the plain file again, and no stale .gz beside it.
    expect(await writeCsvRows(file, made(10), columns, { gzipAbove: 10_000 })).toBe(file);
    expect(readdirSync(dir)).toEqual(['nodes.csv']);
    expect(readFileSync(file, 'utf8')).toBe(whole(10));
  });

  it('leaves no partial file and removes nothing when the rows throw part-way', async () => {
    // Thrown while reading ahead (before a file is opened), after the switch to gzip, and while streaming plain.
    for (const [gzipAbove, written] of [[10 * GZIP_ABOVE_BYTES, 'plain'], [GZIP_ABOVE_BYTES, 'gzip'], [undefined, 'plain']] as const) {
      const dir = tempDir('peerlab-csv-');
      const file = path.join(dir, 'nodes.csv');
      writeFileSync(file, 'id\nold\n');
      writeFileSync(`${file}.gz`, 'stale, but not ours to remove on a failure');
      await expect(writeCsvRows(file, made(200_000, 120_000), columns, { gzipAbove })).rejects.toThrow('row failed');
      expect(readdirSync(dir).sort(), `${written}, gzipAbove ${gzipAbove}`).toEqual(['nodes.csv', 'nodes.csv.gz']);
      expect(readFileSync(file, 'utf8')).toBe('id\nold\n');
    }
  });

  it('writes the header alone for no rows, and never compresses without a threshold', async () => {
    const dir = tempDir('peerlab-csv-');
    const empty = path.join(dir, 'empty.csv');
    expect(await writeCsvRows(empty, [], columns, { gzipAbove: 1_000 })).toBe(empty);
    expect(readFileSync(empty, 'utf8')).toBe('id,result,label\n');
    const summary = path.join(dir, 'summary.csv');
    expect(await writeCsvRows(summary, rows(100_001), columns)).toBe(summary);
    expect(readFileSync(summary, 'utf8')).toBe(whole(100_001));
    expect(readdirSync(dir).sort()).toEqual(['empty.csv', 'summary.csv']);
    expect(GZIP_ABOVE_BYTES).toBe(1024 * 1024);
  });
});

describe("a run's JSON files, large ones compact and compressed", () => {
  const verdict = (nodes: number) => ({ passed: true, summary: 'ok', expected: Object.fromEntries(Array.from({ length: nodes }, (_, i) => [String(i), i % 5])) });

  it('writes a small one indented, a large one compact as .json.gz, removing the other form; readJsonFile reads both', async () => {
    const dir = tempDir('peerlab-json-');
    const file = path.join(dir, 'verify.json');
    expect(await writeJsonFile(file, verdict(10), { gzipAbove: 10_000 })).toBe(file);
    expect(readFileSync(file, 'utf8')).toBe(`${JSON.stringify(verdict(10), null, 2)}\n`);
    expect(await readJsonFile(file)).toEqual(verdict(10));
    // Past the threshold by its compact size: the indented text would pass it sooner.
    const large = verdict(2_000);
    expect(JSON.stringify(large).length).toBeGreaterThan(10_000);
    expect(await writeJsonFile(file, large, { gzipAbove: 10_000 })).toBe(`${file}.gz`);
    expect(readdirSync(dir)).toEqual(['verify.json.gz']);
    expect(gunzipped(`${file}.gz`)).toBe(JSON.stringify(large));
    expect(await readJsonFile(file)).toEqual(large);
    expect(await writeJsonFile(file, large, { gzipAbove: JSON.stringify(large).length })).toBe(file);
    expect(readdirSync(dir)).toEqual(['verify.json']);
    expect(await readJsonFile(path.join(dir, 'topology.json'))).toBeUndefined();
  });
});
