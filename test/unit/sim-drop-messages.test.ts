/**
 * drop-messages in the simulator, through `peerlab run`'s own path: the receiver drops the share on arrival, by a
 * seeded draw per message, while the fault lasts; the same seed drops the same messages.
 */
import { mkdtempSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { missing, numberedStream as inRuntime } from './numbered-stream.js';

const resultsRoot = mkdtempSync(path.join(os.tmpdir(), 'peerlab-drops-'));
const numberedStream = (faults: string[], seed?: number) => inRuntime('sim', resultsRoot, faults, seed);

describe('drop-messages in the simulator', () => {
  it('drops about the share on the hit direction while it lasts, nothing else, and counts what it dropped', async () => {
    const { oneGot, zeroGot, applied, summary } = await numberedStream(['at=0s drop-messages:30% edges:0-1 oneway for=1.3s']);
    // Numbers 0–99 arrive before 1.3 s: 100 draws at 30 %, within ±3 standard deviations (4.6 each).
    const lost = missing(oneGot, 0, 100);
    expect(lost.length).toBeGreaterThanOrEqual(16);
    expect(lost.length).toBeLessThanOrEqual(44);
    expect(missing(oneGot, 100, 150)).toEqual([]);
    expect(missing(zeroGot, 0, 150)).toEqual([]);
    expect(oneGot).toEqual([...oneGot].sort((a, b) => a - b));
    expect(summary.metrics.messagesDroppedOnArrival).toBe(lost.length);
    expect(applied.map(({ action, atMs, appliedMs, edges, dropPercent }) => ({ action, atMs, appliedMs, edges, dropPercent }))).toEqual([
      { action: 'drop-messages', atMs: 0, appliedMs: 0, edges: [['0', '1']], dropPercent: 30 },
      { action: 'drop-messages-end', atMs: 1300, appliedMs: 1300, edges: [['0', '1']], dropPercent: undefined },
    ]);
  });

  it('drops the same messages for the same seed, and others for another', async () => {
    const fault = ['at=0s drop-messages:30% edges:0-1 for=1.3s'];
    const first = await numberedStream(fault);
    const again = await numberedStream(fault);
    const other = await numberedStream(fault, 2);
    expect(again.oneGot).toEqual(first.oneGot);
    expect(again.zeroGot).toEqual(first.zeroGot);
    expect(other.oneGot).not.toEqual(first.oneGot);
    // Both directions were hit, each from its own stream.
    expect(missing(first.zeroGot, 0, 100).length).toBeGreaterThan(0);
    expect(missing(first.zeroGot, 0, 100)).not.toEqual(missing(first.oneGot, 0, 100));
  });

  it('counts what a downed link loses as dropped on arrival, under the name Docker counts it by', async () => {
    // Numbers 0–99 arrive (5 ms after 300 ms + 10 ms·k) before the link comes back at 1.3 s.
    const { oneGot, summary } = await numberedStream(['at=0s cut edges:0-1 oneway for=1.3s']);
    expect(missing(oneGot, 0, 150)).toEqual(Array.from({ length: 100 }, (_, k) => k));
    expect(summary.metrics.messagesDroppedOnArrival).toBe(100);
    const run = JSON.parse(await readFile(path.join(summary.resultsDir, 'run.json'), 'utf8')) as Record<string, unknown>;
    expect(JSON.stringify(run)).not.toMatch(/messagesDropped"/);
  });
});
