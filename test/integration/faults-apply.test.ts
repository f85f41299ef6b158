/**
 * Faults on a real Docker run: the shared schedule scenario (scenarios/faults.ts: kills, a stop, a pause, a cut
 * link, each at its time), faults given on the command line and judged by the oracle, a fault on the leader, and
 * restarts.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppliedFault } from '../../src/faults/events.js';
import { connectDocker } from '../../src/docker/engine.js';
import { runAlgorithm } from '../../src/run/run.js';
import { loadTopology } from '../../src/topology/index.js';
import { leftOnEngine, leftovers, nodeResults, peerlabIn } from './cli-helpers.js';
import { packageRoot } from '../../src/util/paths.js';
import { expectTakenOver, restartProbe } from '../unit/restart-probe.js';
import { faultsApplyAsScheduled } from './scenarios/faults.js';

let resultsRoot: string;

beforeAll(async () => {
  resultsRoot = await mkdtemp(path.join(os.tmpdir(), 'peerlab-faults-'));
});

afterAll(async () => {
  await rm(resultsRoot, { recursive: true, force: true });
});

faultsApplyAsScheduled('docker', {
  docker: connectDocker,
  leftBehind: leftOnEngine,
});

describe('faults on the command line, judged by the oracle', () => {
  it('`--fault "at=0s kill top-degree:5"` kills the five hubs; flood passes on the surviving component and the run ends quiet', async () => {
    const topology = 'ba:n=40,m=2';
    const graph = (await loadTopology(topology, { seed: 1 })).graph;
    // The test ranks by degree itself: ties go to the smaller id, as the selector promises.
    const hubs = graph.nodes().sort((a, b) => graph.degree(b) - graph.degree(a) || Number(a) - Number(b)).slice(0, 5);
    const root = graph.nodes().find((id) => !hubs.includes(id) && graph.neighbors(id).some((n) => !hubs.includes(n)))!;
    const { code, stdout, stderr } = await peerlabIn(packageRoot, 'run', 'flood', '--topology', topology, '--param', `root=${root}`, '--fault', 'at=0s kill top-degree:5', '--results', resultsRoot, '--timeout', '120', '--json');
    expect(code, stderr).toBe(0);
    const summary = JSON.parse(stdout) as { runId: string; resultsDir: string; outcome: string; verdict: string; timings: { algorithmMs: number }; replay: string };
    expect(summary.outcome, summary.verdict).toBe('pass');
    expect(summary.verdict).toMatch(/root's surviving component \(5 removed by faults/);
    // Ended quiet, long before the timeout: the nodes cut off from the root never get a result.
    expect(summary.timings.algorithmMs).toBeLessThan(60_000);
    expect(summary.replay).toContain("--fault 'at=0s kill top-degree:5'");
    const applied = (await readFile(path.join(summary.resultsDir, 'faults.ndjson'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as AppliedFault);
    expect(applied).toHaveLength(1);
    expect([...applied[0]!.nodes].sort()).toEqual([...hubs].sort());
    expect(applied[0]!.appliedMs).toBeGreaterThanOrEqual(0);
    expect(applied[0]!.error).toBeUndefined();
    expect(await leftovers(summary.runId)).toEqual({ containers: 0, networks: 0 });
  });
});

describe('a fault on the leader', () => {
  it('`--fault "at=3s kill leader"` kills whoever leads when it fires; leadership moves on within the lease', async () => {
    const { code, stdout, stderr } = await peerlabIn(packageRoot, 'run', 'leader-election', '--topology', 'ba:n=10,m=2', '--param', 'durationMs=30000', '--fault', 'at=3s kill leader', '--results', resultsRoot, '--json');
    expect(code, stderr).toBe(0);
    const summary = JSON.parse(stdout) as { runId: string; resultsDir: string; outcome: string; verdict: string };
    expect(summary.outcome, summary.verdict).toBe('pass');
    expect(summary.verdict).toMatch(/^2 term\(s\), never two leaders at once/);
    const [kill] = (await readFile(path.join(summary.resultsDir, 'faults.ndjson'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as AppliedFault);
    expect(kill).toMatchObject({ action: 'kill', leader: 'leader' });
    expect(kill!.nodes).toHaveLength(1);
    expect(kill!.error).toBeUndefined();
    // The node killed is the first term's leader, as a survivor saw it.
    const survivor = (await nodeResults(summary.resultsDir)).find((result) => result !== undefined) as { terms: Array<{ term: number; leader: string }> };
    expect(survivor.terms[0]!.leader).toBe(kill!.nodes[0]);
    expect(survivor.terms[1]!.leader).not.toBe(kill!.nodes[0]);
    expect(await leftovers(summary.runId)).toEqual({ containers: 0, networks: 0 });
  });
});


describe('a restart on Docker', () => {
  it("the new container comes back under its id's links, drops, link changes and skew; a killed node restarted is a member again", async () => {
    // The same schedule and checks as the simulator's (test/unit/sim-restart.test.ts).
    let runId = '';
    const probe = await restartProbe('docker', resultsRoot, { onRunId: (id) => (runId = id) });
    expectTakenOver(probe);
    expect(await leftovers(runId)).toEqual({ containers: 0, networks: 0 });
  }, 120_000);
});
