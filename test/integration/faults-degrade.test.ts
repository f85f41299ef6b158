/**
 * Link faults on a real Docker run. degrade and `peerlab link set`: a user-written ping series
 * (test/fixtures/ping-series.ts) on one edge measures its round trip before, during and after the link's delay is
 * raised; the step is the added delay, within what the agents' processing adds on this shared host.
 * drop-messages: a numbered stream shows which messages the receiver dropped, the same ones as in the simulator.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppliedFault } from '../../src/faults/events.js';
import { resolveFaults } from '../../src/faults/index.js';
import { runAlgorithm, type RunRequest } from '../../src/run/run.js';
import { loadTopology } from '../../src/topology/index.js';
import { packageRoot } from '../../src/util/paths.js';
import { missing, numberedStream } from '../unit/numbered-stream.js';
import { leftovers, nodeResults, peerlabIn } from './cli-helpers.js';

let resultsRoot: string;
beforeAll(async () => {
  resultsRoot = await mkdtemp(path.join(os.tmpdir(), 'peerlab-degrade-'));
});
afterAll(async () => {
  await rm(resultsRoot, { recursive: true, force: true });
});

/** How far a step may stray from the added delay: timer and event-loop noise of two agents on a busy 2-core host. */
const TOLERANCE_MS = 25;

type Samples = Array<[sentAt: number, roundTrip: number]>;

function median(values: number[]): number {
  expect(values.length, 'samples in the window').toBeGreaterThan(5);
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

const during = (samples: Samples, from: number, to: number) => median(samples.filter(([sentAt]) => sentAt >= from && sentAt < to).map(([, rtt]) => rtt));

function request(durationMs: number): RunRequest {
  return {
    algorithm: 'test/fixtures/ping-series.ts',
    params: [`durationMs=${durationMs}`, 'gapMs=20'],
    topology: 'line:n=2',
    seed: 1,
    allowDisconnected: false,
    timeoutMs: 60_000,
    resultsRoot,
    runtime: 'docker',
  };
}

async function node0Samples(resultsDir: string): Promise<Samples> {
  const [result] = (await nodeResults(resultsDir)) as Array<{ samples: Record<string, Samples> }>;
  return result!.samples['1']!;
}

describe('degrade on Docker', () => {
  it("`at=1.5s degrade edges:0-1 delay=100ms oneway for=1.5s` adds 100 ms to the round trip while it lasts, on an edge the run did not shape", async () => {
    const graph = (await loadTopology('line:n=2', { seed: 1 })).graph;
    let runId = '';
    const faults = resolveFaults(['at=1.5s degrade edges:0-1 delay=100ms oneway for=1.5s'], { graph, seed: 1, timeoutMs: 60_000 });
    const summary = await runAlgorithm({ ...request(4500), faults, onRunId: (id) => (runId = id) });
    expect(summary.missing).toEqual([]);
    const samples = await node0Samples(summary.resultsDir);
    const before = during(samples, 300, 1400);
    const degraded = during(samples, 1700, 2800);
    const after = during(samples, 3300, 4500);
    expect(Math.abs(degraded - before - 100), `round trips ${before} → ${degraded} ms`).toBeLessThan(TOLERANCE_MS);
    expect(Math.abs(after - before), `round trips ${before} → ${after} ms once restored`).toBeLessThan(TOLERANCE_MS);

    const applied = (await readFile(path.join(summary.resultsDir, 'faults.ndjson'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as AppliedFault);
    expect(applied.map(({ action, atMs, edges, link, error }) => ({ action, atMs, edges, link, error }))).toEqual([
      { action: 'degrade', atMs: 1500, edges: [['0', '1']], link: { delayMs: 100 }, error: undefined },
      { action: 'restore', atMs: 3000, edges: [['0', '1']], link: undefined, error: undefined },
    ]);
    for (const record of applied) expect(record.appliedMs! - record.atMs, 'lag').toBeLessThan(1_000);
    expect(await leftovers(runId)).toEqual({ containers: 0, networks: 0 });
  }, 180_000);

  it('`peerlab link set <run> 0-1 --delay 100ms --oneway` on a run that is up adds 100 ms on a shaped edge; a non-edge gets one line', async () => {
    let runId = '';
    const lines: Record<string, { code: number; stderr: string }> = {};
    let changed: Promise<void> | undefined;
    const summary = await runAlgorithm({
      ...request(12_000),
      links: 'delay=10ms',
      onRunId: (id) => (runId = id),
      onStage: (stage) => {
        if (stage !== 'running') return;
        changed = (async () => {
          lines.nonEdge = await peerlabIn(packageRoot, 'link', 'set', runId, '0-7', '--delay', '100ms');
          lines.set = await peerlabIn(packageRoot, 'link', 'set', runId, '0-1', '--delay', '100ms', '--oneway');
        })();
      },
    });
    await changed;
    expect(lines.nonEdge!.code).toBe(2);
    expect(lines.nonEdge!.stderr.trim()).toBe(`error: 0-7 is not an edge of run ${runId} — node 0's neighbours are 1`);
    expect(lines.set!.code, lines.set!.stderr).toBe(0);
    expect(summary.missing).toEqual([]);
    const samples = await node0Samples(summary.resultsDir);
    // The two CLI calls take a few seconds (more on a loaded host): the first samples come before the change,
    // the last ones after it.
    const before = during(samples, 0, 500);
    const after = during(samples, 11_000, 12_000);
    expect(before, 'two 10 ms hops').toBeGreaterThanOrEqual(20);
    expect(Math.abs(after - before - 100), `round trips ${before} → ${after} ms`).toBeLessThan(TOLERANCE_MS);
    // The change by hand is in faults.ndjson as the schedule's own degrade, made while the run was up.
    const applied = (await readFile(path.join(summary.resultsDir, 'faults.ndjson'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as AppliedFault);
    expect(applied.map(({ action, edges, link, spec, fault }) => ({ action, edges, link, spec, fault }))).toEqual([
      { action: 'degrade', edges: [['0', '1']], link: { delayMs: 100 }, spec: 'link set 0-1 --delay 100ms --oneway', fault: -1 },
    ]);
    expect(applied[0]!.appliedMs! - applied[0]!.atMs, 'lag').toBeGreaterThanOrEqual(0);
    expect(applied[0]!.appliedMs!, 'applied within the run').toBeLessThan(12_000);
    expect(await leftovers(runId)).toEqual({ containers: 0, networks: 0 });
  }, 180_000);
});

describe('drop-messages on Docker', () => {
  it('`at=0s drop-messages:30% edges:0-1 oneway for=1.3s` drops on arrival the very messages the simulator drops, and only while it lasts', async () => {
    const faults = ['at=0s drop-messages:30% edges:0-1 oneway for=1.3s'];
    let runId = '';
    const docker = await numberedStream('docker', resultsRoot, faults, 1, { onRunId: (id) => (runId = id) });
    const sim = await numberedStream('sim', resultsRoot, faults, 1);
    // Numbers below 80 arrive well inside the fault and above 120 well after it, whatever the agents' lag: each
    // arriving message draws from the edge's seeded stream in FIFO order, so both runtimes drop the same ones.
    const lost = missing(docker.oneGot, 0, 80);
    expect(lost.length, 'some were dropped').toBeGreaterThan(5);
    expect(lost).toEqual(missing(sim.oneGot, 0, 80));
    expect(missing(docker.oneGot, 120, 150)).toEqual([]);
    expect(missing(docker.zeroGot, 0, 150)).toEqual([]);
    expect(docker.summary.metrics.messagesDroppedOnArrival).toBe(missing(docker.oneGot, 0, 150).length);
    expect(docker.applied.map(({ action, dropPercent, error }) => ({ action, dropPercent, error }))).toEqual([
      { action: 'drop-messages', dropPercent: 30, error: undefined },
      { action: 'drop-messages-end', dropPercent: undefined, error: undefined },
    ]);
    expect(await leftovers(runId)).toEqual({ containers: 0, networks: 0 });
  }, 180_000);
});
