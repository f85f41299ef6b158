/**
 * skew on a real Docker run: test/fixtures/clock-probe.ts on a star of 4. Leaves tick every 100 ms of their own
 * clock and send the hub their now(); the hub's arrival time stands for the run's clock (its clock is not skewed,
 * and a message takes about a millisecond). The skew starts when its control key reaches the agent: after the
 * fault's recorded lag plus the watch's, so samples within SETTLE_MS of a change are left out.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clockProbe } from '../unit/clock-probe.js';
import { leftovers } from './cli-helpers.js';

let resultsRoot: string;
beforeAll(async () => {
  resultsRoot = await mkdtemp(path.join(os.tmpdir(), 'peerlab-skew-'));
});
afterAll(async () => {
  await rm(resultsRoot, { recursive: true, force: true });
});

/** How far the least delayed reading of a window may stray from what the skew predicts, on a busy 2-core host. */
const BOUND_MS = 30;
/** Samples this soon after a change are left out: the control key's way to the agent. */
const SETTLE_MS = 150;
/**
 * Samples before this are left out: a node that reads the run's start late (etcd's watch on a busy host) counts
 * what arrives meanwhile at 0, so the hub's clock is not yet the run's.
 */
const WARM_UP_MS = 300;

describe('skew on Docker', () => {
  it("a skewed node's now() reads off by the offset, and its timers run at the rate, within the bound", async () => {
    let runId = '';
    const { readings, applied } = await clockProbe(
      'docker',
      resultsRoot,
      4,
      ['at=1s skew ids:1 offset=+500ms for=1.5s', 'at=1s skew ids:2 rate=1.5'],
      ['ticks=50', 'tickMs=100'],
      { onRunId: (id) => (runId = id) },
    );
    expect(applied.map(({ action, nodes, skew, error }) => ({ action, nodes, skew, error }))).toEqual([
      { action: 'skew', nodes: ['1'], skew: { offsetMs: 500, rate: 1 }, error: undefined },
      { action: 'skew', nodes: ['2'], skew: { offsetMs: 0, rate: 1.5 }, error: undefined },
      { action: 'skew-end', nodes: ['1'], skew: undefined, error: undefined },
    ]);
    const [offsetOn, rateOn, offsetOff] = applied.map((fault) => fault.appliedMs!);
    // reading − arrival is the skew less the message's latency, which only ever makes it smaller: the largest in
    // a window is the skew as the least delayed message saw it.
    const ahead = (leaf: string, from: number, to: number) => {
      const window = readings[leaf]!.filter(([arrived]) => arrived >= from && arrived < to);
      expect(window.length, `leaf ${leaf}'s readings between ${from} and ${to} ms`).toBeGreaterThan(3);
      const [arrived, reading] = window.reduce((best, pair) => (pair[1] - pair[0] > best[1] - best[0] ? pair : best));
      return { arrived, by: reading - arrived };
    };
    const endOf = (leaf: string) => readings[leaf]!.at(-1)![0];

    // Leaf 3, never skewed, reads the run's clock; leaf 1 is 500 ms ahead while skewed, right before and after.
    const seen = {
      leaf3: ahead('3', WARM_UP_MS, endOf('3') + 1).by,
      before: ahead('1', WARM_UP_MS, 950).by,
      during: ahead('1', offsetOn! + SETTLE_MS, offsetOff!).by,
      after: ahead('1', offsetOff! + SETTLE_MS, endOf('1') + 1).by,
    };
    expect(Math.abs(seen.leaf3)).toBeLessThanOrEqual(BOUND_MS);
    expect(Math.abs(seen.before)).toBeLessThanOrEqual(BOUND_MS);
    expect(Math.abs(seen.during - 500)).toBeLessThanOrEqual(BOUND_MS);
    expect(Math.abs(seen.after)).toBeLessThanOrEqual(BOUND_MS);

    // Leaf 2 gains 0.5 ms a ms from the skew on: between an early and a late window its lead grows at rate − 1.
    const early = ahead('2', rateOn! + SETTLE_MS, rateOn! + 600);
    const late = ahead('2', endOf('2') - 500, endOf('2') + 1);
    const rate = 1 + (late.by - early.by) / (late.arrived - early.arrived);
    expect(Math.abs(rate - 1.5)).toBeLessThan(0.08);
    // Its timers run at the rate too: its ticks come 1.5 times as often as leaf 3's over the same time (both are
    // late by the same event-loop lateness in node time, so the ratio holds on a busy host too).
    const spacingOf = (leaf: string) => {
      const ticks = readings[leaf]!.filter(([arrived]) => arrived >= rateOn! + SETTLE_MS && arrived <= endOf('2'));
      return (ticks.at(-1)![0] - ticks[0]![0]) / (ticks.length - 1);
    };
    const spacing = spacingOf('2');
    const timerRate = spacingOf('3') / spacing;
    expect(Math.abs(timerRate - 1.5)).toBeLessThan(0.15);
    console.log(
      `skew on Docker: lag ${applied.map((fault) => fault.appliedMs! - fault.atMs).join('/')} ms; leaf 1 ahead by ${seen.before.toFixed(1)} / ${seen.during.toFixed(1)} / ${seen.after.toFixed(1)} ms ` +
        `(before/during/after), leaf 3 by ${seen.leaf3.toFixed(1)}; leaf 2 clock rate ${rate.toFixed(3)}, a tick every ${spacing.toFixed(1)} ms, timer rate ${timerRate.toFixed(3)} against leaf 3`,
    );
    expect(await leftovers(runId)).toEqual({ containers: 0, networks: 0 });
  }, 180_000);
});
