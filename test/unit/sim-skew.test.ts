/**
 * skew in the simulator, through `peerlab run`'s own path: the skewed node's now() and its timers, at exact
 * virtual times, against a leaf whose clock no fault touches.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { clockProbe } from './clock-probe.js';

const resultsRoot = mkdtempSync(path.join(os.tmpdir(), 'peerlab-skew-'));

describe('skew in the simulator', () => {
  it("runs a node's now() and timers off by the offset and rate, a pending timer included, until for= sets the clock right", async () => {
    // Leaves 1 and 2 tick every 100 ms of their own clock; links take 1 ms, so the hub hears each tick 1 ms later.
    const { readings, applied } = await clockProbe('sim', resultsRoot, 3, ['at=250ms skew ids:1 offset=+500ms rate=2 for=200ms'], ['ticks=8', 'tickMs=100'], { links: 'delay=1ms' });
    const fired = (leaf: string) => readings[leaf]!.map(([arrived, reading]) => [arrived - 1, reading]);
    expect(fired('2')).toEqual([100, 200, 300, 400, 500, 600, 700, 800].map((t) => [t, t]));
    expect(fired('1')).toEqual([
      [100, 100],
      [200, 200],
      // At 250 the clock jumps to 750 and runs twice as fast: the timer pending since 200 has 50 ms of node time
      // left, which runs out 25 ms later, when the clock reads 775 + 25 = 800.
      [275, 800],
      [325, 900],
      [375, 1000],
      [425, 1100],
      // At 450 the clock reads 450 again and runs at rate 1; the timer set at 425 had 50 ms left.
      [500, 500],
      [600, 600],
    ]);
    expect(applied.map(({ action, atMs, appliedMs, nodes, skew }) => ({ action, atMs, appliedMs, nodes, skew }))).toEqual([
      { action: 'skew', atMs: 250, appliedMs: 250, nodes: ['1'], skew: { offsetMs: 500, rate: 2 } },
      { action: 'skew-end', atMs: 450, appliedMs: 450, nodes: ['1'], skew: undefined },
    ]);
  });

  it('moves no timer with an offset alone, and slows them with a rate below 1', async () => {
    const { readings } = await clockProbe('sim', resultsRoot, 3, ['at=150ms skew ids:1 offset=-100ms', 'at=150ms skew ids:2 rate=0.5'], ['ticks=4', 'tickMs=100'], { links: 'delay=1ms' });
    const fired = (leaf: string) => readings[leaf]!.map(([arrived, reading]) => [arrived - 1, reading]);
    expect(fired('1')).toEqual([[100, 100], [200, 100], [300, 200], [400, 300]]);
    // From 150 at half speed: the 50 ms left of the pending timer take 100 ms, each later tick 200 ms.
    expect(fired('2')).toEqual([[100, 100], [250, 200], [450, 300], [650, 400]]);
  });
});
