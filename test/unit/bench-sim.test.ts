import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compareToBaseline } from '../../src/bench/report.js';
import { benchSim, simBench } from '../../src/bench/sim.js';
import { fastestProbe, probeEventLoop } from '../../src/bench/sim-probe.js';
import type { RunRequest } from '../../src/run/run.js';
import { simRunRequest } from './sim-helpers.js';

const resultsRoot = mkdtempSync(path.join(os.tmpdir(), 'peerlab-bench-sim-'));
afterAll(() => rmSync(resultsRoot, { recursive: true, force: true }));

const request = (algorithm: string, topology: string): RunRequest => simRunRequest(resultsRoot, algorithm, topology);

describe('bench sim', () => {
  it('measures the bare loop: the events asked for, and the settle after each costs something', async () => {
    const probe = await probeEventLoop(1_000, 50_000);
    expect(probe).toMatchObject({ nodes: 1_000, events: 50_000 });
    expect(probe.eventsPerSecond).toBeCloseTo(50_000 / (probe.wallMs / 1000));
    expect(probe.syncEventsPerSecond).toBeGreaterThan(probe.eventsPerSecond);
    expect(probe.eachEventsPerSecond).toEqual([probe.eventsPerSecond]);
  });

  it('keeps the fastest of two probes at one N, loop by loop, and every probe’s figure', () => {
    const probe = (wallMs: number, syncMs: number) => ({ nodes: 10, events: 1_000, wallMs, eventsPerSecond: 1e6 / wallMs, syncEventsPerSecond: 1e6 / syncMs, eachEventsPerSecond: [1e6 / wallMs] });
    expect(fastestProbe(probe(4, 1), probe(2, 3))).toEqual({ nodes: 10, events: 1_000, wallMs: 2, eventsPerSecond: 500_000, syncEventsPerSecond: 1e6, eachEventsPerSecond: [250_000, 500_000] });
    expect(() => fastestProbe(probe(1, 1), { ...probe(1, 1), nodes: 20 })).toThrow(RangeError);
  });

  it('runs the algorithm through peerlab run beside the probe, and the ratio is messages/s over the probe’s events/s', async () => {
    const before = await probeEventLoop(500, 50_000);
    const sample = await benchSim(request('flood', 'ba:n=500,m=2'), before);
    expect(sample).toMatchObject({ algorithm: 'flood', topology: 'ba:n=500,m=2', nodes: 500, edges: 996 });
    expect(sample.verdict.passed).toBe(true);
    // A flood sends once per edge end except back to the parent: 2·996 − 499.
    expect(sample.messages).toBe(2 * 996 - 499);
    expect(sample.events).toBeGreaterThan(sample.messages);
    expect(sample.messagesPerSecond).toBeCloseTo(sample.messages / (sample.algorithmMs / 1000));
    expect(sample.ratio).toBeCloseTo(sample.messagesPerSecond / sample.probe.eventsPerSecond);
    expect(sample.probe.nodes).toBe(500);
    // Probed again after the run: the ratio's baseline is the faster of the two.
    expect(sample.probe.eachEventsPerSecond).toHaveLength(2);
    expect(sample.probe.eachEventsPerSecond[0]).toBe(before.eventsPerSecond);
    expect(sample.probe.eventsPerSecond).toBe(Math.max(...sample.probe.eachEventsPerSecond));
    expect(sample.wallMs).toBeGreaterThan(sample.algorithmMs);
    // The loop's CPU time is the process's, so V8's other threads may add to it; it cannot be nothing.
    expect(sample.algorithmCpuMs).toBeGreaterThan(0);
    expect(sample.peakRssBytes).toBeGreaterThan(10 * 2 ** 20);
    expect(sample.replay).toBe('peerlab run flood --topology ba:n=500,m=2 --seed 1 --runtime sim --timeout 60');
  });

  it('gates a lower ratio and more memory as regressions, and a higher ratio as an improvement', () => {
    const sample = { algorithm: 'ghs', nodes: 100, replay: 'r', ratio: 0.3, peakRssBytes: 2 ** 30, messages: 10, events: 20 };
    const gate = (current: typeof sample) =>
      compareToBaseline(simBench, [current], { file: 'b.json', peerlab: null, samples: [simBench.gateSample.parse(sample)] }, 20);
    const slower = gate({ ...sample, ratio: 0.2 });
    expect(slower.passed).toBe(false);
    expect(slower.regressions).toEqual(['ghs N=100 ratio to the probe 0.300 → 0.200 (−33% > 20%)']);
    const bigger = gate({ ...sample, peakRssBytes: 2 * 2 ** 30 });
    expect(bigger.regressions).toEqual(['ghs N=100 peak memory 1.00 GiB → 2.00 GiB (+100% > 20%)']);
    const faster = gate({ ...sample, ratio: 0.5 });
    expect(faster.passed).toBe(true);
    expect(faster.improvements).toEqual(['ghs N=100 ratio to the probe 0.300 → 0.500 (+67%)']);
  });
});
