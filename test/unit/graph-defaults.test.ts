import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { bundleAlgorithm, type AlgorithmBundle } from '../../src/plugins/bundle.js';
import { resolveParamsOnGraph } from '../../src/plugins/params.js';
import { resolveRunFaults } from '../../src/faults/index.js';
import { runAlgorithm } from '../../src/run/run.js';
import type { Topology } from '../../src/topology/types.js';
import { lazyWalkGap } from '../../algorithms/lib/walk-gap.js';
import { simRunRequest, topology } from './sim-helpers.js';
import { ZOO_DIR } from '../zoo.js';

const GEANT = path.join(ZOO_DIR, 'Geant2012.graphml');
let pushSum: AlgorithmBundle;
let geant: Topology;

beforeAll(async () => {
  pushSum = await bundleAlgorithm(path.resolve('algorithms/push-sum.ts'), mkdtempSync(path.join(os.tmpdir(), 'peerlab-graph-defaults-')));
  geant = await topology(GEANT);
});

const onGeant = (assignments: string[]) => resolveParamsOnGraph(pushSum.algorithm, pushSum.graphDefaults, assignments, geant);

describe('graphDefaults: parameter defaults drawn from the graph, in the CLI', () => {
  it('fills a parameter the user did not set, and says which', () => {
    const { params, derived } = onGeant([]);
    const rounds = (params as { rounds: number }).rounds;
    expect(derived).toEqual([`rounds=${rounds}`]);
    // Kempe's bound for 40 nodes and 1e-4 is 113 rounds; this sparse map needs several times more.
    expect(rounds).toBeGreaterThan(400);
  });

  it("never overrides the user's value", () => {
    const { params, derived } = onGeant(['rounds=50', 'tolerance=0.01']);
    expect(params).toMatchObject({ rounds: 50, tolerance: 0.01 });
    expect(derived).toEqual([]);
  });

  it('derives from the parameters the user gave: a looser tolerance needs fewer rounds', () => {
    const strict = (onGeant([]).params as { rounds: number }).rounds;
    const loose = (onGeant(['tolerance=0.01']).params as { rounds: number }).rounds;
    expect(loose).toBeLessThan(strict);
  });

  it("gives variant thesis no rounds (they are not its parameter)", () => {
    const { params, derived } = onGeant(['variant=thesis']);
    expect(derived).toEqual([]);
    expect((params as { rounds?: number }).rounds).toBeUndefined();
  });

  it("names the algorithm's graphDefaults when a derived value is invalid", () => {
    const wrong = () => ({ rounds: -3 });
    expect(() => resolveParamsOnGraph(pushSum.algorithm, wrong, [], geant)).toThrow(/^graphDefaults of push-sum gave rounds of push-sum: /);
  });
});

describe('lazyWalkGap', () => {
  it('matches the closed form on a ring, and takes the slowest component of a disconnected graph', async () => {
    // The lazy walk on a cycle of n nodes has λ₂ = (1 + cos(2π/n)) / 2.
    const ring = await topology('ring:n=20');
    const exact = (1 - Math.cos((2 * Math.PI) / 20)) / 2;
    expect(Math.abs(lazyWalkGap(ring) - exact) / exact).toBeLessThan(0.01);
    // Beside it, a complete graph K5 (gap (1 + 1/4) / 2): the ring is the slower component.
    const both = ring.copy();
    for (let a = 0; a < 5; a++) both.addNode(`k${a}`);
    for (let a = 0; a < 5; a++) for (let b = a + 1; b < 5; b++) both.addEdge(`k${a}`, `k${b}`);
    expect(lazyWalkGap(both)).toBeCloseTo(lazyWalkGap(ring), 6);
  });
});

describe('push-sum on a sparse real map, defaults only', () => {
  it('passes on Geant2012, records the derived rounds in run.json and prints them in the replay line', async () => {
    const resultsRoot = mkdtempSync(path.join(os.tmpdir(), 'peerlab-graph-defaults-run-'));
    const summary = await runAlgorithm(simRunRequest(resultsRoot, 'push-sum', GEANT));
    expect(summary.verdict).toMatch(/all 40 nodes within 0\.0001 of the mean/);
    expect(summary.passed).toBe(true);
    const { derived } = onGeant([]);
    const recorded = JSON.parse(readFileSync(path.join(summary.resultsDir, 'run.json'), 'utf8')) as { algorithm: { params: { rounds: number } } };
    expect(`rounds=${recorded.algorithm.params.rounds}`).toBe(derived[0]);
    expect(summary.replay).toContain(`--param ${derived[0]}`);
  });
});

describe("flood's default root and the faults at the start", () => {
  it('moves past a node 0 a fault removes at the start; a root the user names, or no such fault, keeps it', async () => {
    const flood = await bundleAlgorithm(path.resolve('algorithms/flood.ts'), mkdtempSync(path.join(os.tmpdir(), 'peerlab-graph-defaults-')));
    const graph = await topology('ba:n=20,m=2');
    const resolve = (assignments: string[], removed: string[]) => resolveParamsOnGraph(flood.algorithm, flood.graphDefaults, assignments, graph, new Set(removed));
    expect(resolve([], ['0', '1', '3'])).toEqual({ params: { root: '2' }, derived: ['root=2'] });
    expect(resolve([], [])).toEqual({ params: { root: '0' }, derived: [] });
    expect(resolve([], ['5'])).toEqual({ params: { root: '0' }, derived: [] });
    expect(resolve(['root=0'], ['0'])).toEqual({ params: { root: '0' }, derived: [] });
  });

  it('`--fault "at=0s kill top-degree:5"` on BA(200, 2) floods from the first survivor and passes (issue 11, in the simulator)', async () => {
    const request = simRunRequest(mkdtempSync(path.join(os.tmpdir(), 'peerlab-graph-defaults-')), 'flood', 'ba:n=200,m=2');
    const faults = await resolveRunFaults({ topology: request.topology, seed: 1, faults: ['at=0s kill top-degree:5'], timeoutMs: request.timeoutMs, allowDisconnected: false });
    const hubs = new Set(faults[0]!.nodes);
    expect(hubs.has('0')).toBe(true);
    const summary = await runAlgorithm({ ...request, faults });
    expect(summary.outcome, summary.verdict).toBe('pass');
    const root = /--param root=(\d+)/.exec(summary.replay)?.[1];
    expect(root).toBeDefined();
    expect(hubs.has(root!)).toBe(false);
    expect(summary.verdict).toMatch(/root's surviving component/);
  });
});
