/**
 * degrade in the simulator, through `peerlab run`'s own path: the edge's LinkSchedule changes at the fault's
 * virtual time and is restored after for=, so a ping series measures exactly the round trip the links give.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AppliedFault } from '../../src/faults/events.js';
import { resolveFaults } from '../../src/faults/index.js';
import { runAlgorithm } from '../../src/run/run.js';
import { nodeResults } from '../integration/cli-helpers.js';
import { simRunRequest, topology } from './sim-helpers.js';

const resultsRoot = mkdtempSync(path.join(os.tmpdir(), 'peerlab-degrade-'));

/** Node 0's round trips to node 1 on line:n=2, as [ping sent at, round trip] in virtual ms. */
async function pingSeries(links: string | undefined, faults: string[]) {
  const graph = await topology('line:n=2');
  const request = { ...simRunRequest(resultsRoot, 'test/fixtures/ping-series.ts', 'line:n=2'), links, params: ['durationMs=3000', 'gapMs=10'] };
  const summary = await runAlgorithm({ ...request, faults: resolveFaults(faults, { graph, seed: 1, timeoutMs: request.timeoutMs }) });
  const [result] = (await nodeResults(summary.resultsDir)) as Array<{ samples: Record<string, Array<[number, number]>> }>;
  const applied = readFileSync(path.join(summary.resultsDir, 'faults.ndjson'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as AppliedFault);
  return { samples: result!.samples['1']!, applied, summary };
}

const roundTrips = (samples: Array<[number, number]>, from: number, to: number) => samples.filter(([sentAt]) => sentAt > from && sentAt < to).map(([, rtt]) => rtt);

describe('degrade in the simulator', () => {
  it('adds its delay to one direction from at= until for= runs out, exactly, and records both events', async () => {
    const { samples, applied } = await pingSeries('delay=10ms', ['at=1s degrade edges:0-1 delay=100ms oneway for=1s']);
    expect(new Set(roundTrips(samples, 0, 1000))).toEqual(new Set([20]));
    // 0 → 1 now takes 100 ms instead of 10; 1 → 0 is untouched.
    expect(new Set(roundTrips(samples, 1000, 2000))).toEqual(new Set([110]));
    expect(new Set(roundTrips(samples, 2000, 3000))).toEqual(new Set([20]));
    expect(applied.map(({ action, atMs, appliedMs, edges }) => ({ action, atMs, appliedMs, edges }))).toEqual([
      { action: 'degrade', atMs: 1000, appliedMs: 1000, edges: [['0', '1']] },
      { action: 'restore', atMs: 2000, appliedMs: 2000, edges: [['0', '1']] },
    ]);
    expect(applied[0]!.link).toEqual({ delayMs: 100 });
  });

  it('changes only what it names: a rate on a delayed link adds serialisation time, both directions', async () => {
    // "ping" and "pong" as JSON are 6 bytes: 48 bits at 4800 bit/s take 10 ms to serialise.
    const { samples } = await pingSeries('delay=10ms', ['at=1s degrade edges:0-1 rate=4800bit']);
    // A ping sent just before 1 s meets the changed link on its way back.
    expect(new Set(roundTrips(samples, 0, 980))).toEqual(new Set([20]));
    expect(new Set(roundTrips(samples, 980, 1000))).toEqual(new Set([30]));
    expect(new Set(roundTrips(samples, 1000, 3000))).toEqual(new Set([40]));
  });

  it('on a run without --links, the changed edge follows the link model until restored, then the default delay again', async () => {
    const { samples } = await pingSeries(undefined, ['at=1s degrade edges:0-1 delay=100ms oneway for=1s']);
    const slowest = (from: number, to: number) => Math.max(...roundTrips(samples, from, to));
    expect(slowest(0, 900)).toBeLessThan(30);
    // 100 ms out, the default exponential delay of 1 ms mean back.
    for (const rtt of roundTrips(samples, 1000, 2000)) expect(rtt).toBeGreaterThanOrEqual(100);
    expect(slowest(1000, 2000)).toBeLessThan(130);
    expect(slowest(2000, 3000)).toBeLessThan(30);
  });
});
