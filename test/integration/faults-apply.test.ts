/**
 * A fault schedule applied to a real Docker run: kills, a graceful stop, a pause and resume, and a link taken
 * down, each at its time on the run's clock. The schedule is built by hand (the selectors are another module's
 * job); what is checked here is the mechanism: the containers die as asked, their deaths do not fail the run,
 * faults.ndjson records every event and its lag, and nothing is left behind.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppliedFault, FaultEvent } from '../../src/faults/events.js';
import { RUN_LABEL, NODE_LABEL } from '../../src/docker/engine.js';
import { runAlgorithm, type RunRequest } from '../../src/run/run.js';
import { loadTopology } from '../../src/topology/index.js';
import { leftovers, nodeResults, peerlabIn } from './cli-helpers.js';
import { packageRoot } from '../../src/util/paths.js';
import { expectTakenOver, restartProbe } from '../unit/restart-probe.js';

let resultsRoot: string;

beforeAll(async () => {
  resultsRoot = await mkdtemp(path.join(os.tmpdir(), 'peerlab-faults-'));
});

afterAll(async () => {
  await rm(resultsRoot, { recursive: true, force: true });
});

const TOPOLOGY = 'ba:n=20,m=2';
const SEED = 3;

function event(atMs: number, action: FaultEvent['action'], targets: { nodes?: string[]; edges?: Array<[string, string]> }, fault: number): FaultEvent {
  const spec = `at=${atMs}ms ${action} ${[...(targets.nodes ?? []), ...(targets.edges ?? []).map(([from, to]) => `${from}>${to}`)].join(',')}`;
  return { atMs, action, nodes: targets.nodes ?? [], edges: targets.edges ?? [], fault, spec };
}

/** The state of each of the run's node containers, by node id, as the engine has it. */
function containerStates(runId: string): Map<string, string> {
  const listing = execFileSync('docker', ['ps', '-a', '--filter', `label=${RUN_LABEL}=${runId}`, '--format', `{{.Label "${NODE_LABEL}"}} {{.State}}`], { encoding: 'utf8' });
  return new Map(listing.trim().split('\n').filter(Boolean).map((line) => line.split(' ') as [string, string]));
}

describe('a fault schedule on Docker', () => {
  it('kills, stops, pauses and cuts as scheduled; the run completes with its survivors and leaves nothing', async () => {
    const graph = (await loadTopology(TOPOLOGY, { seed: SEED })).graph;
    // Two victims and a leaver whose loss keeps the rest connected (so every survivor can hear the flood), and a
    // cut edge between two nodes with other ways in.
    const candidates = graph.nodes().filter((id) => id !== '0').sort((a, b) => graph.degree(a) - graph.degree(b) || Number(b) - Number(a));
    const [killedFirst, killedLater, stopped, paused] = candidates;
    const removed = new Set([killedFirst!, killedLater!, stopped!]);
    const survivors = graph.nodes().filter((id) => !removed.has(id));
    const reached = new Set(['0']);
    for (let frontier = ['0']; frontier.length > 0; ) {
      frontier = frontier.flatMap((id) => graph.neighbors(id).filter((next) => !removed.has(next) && !reached.has(next) && reached.add(next)));
    }
    expect(reached.size, 'the survivors stay connected').toBe(survivors.length);
    const cut = graph.edges().map((edge) => graph.extremities(edge)).find(([u, v]) => !removed.has(u) && !removed.has(v) && u !== paused && v !== paused && graph.degree(v) >= 4)!;

    const faults: FaultEvent[] = [
      event(0, 'kill', { nodes: [killedFirst!] }, 0),
      event(200, 'pause', { nodes: [paused!] }, 1),
      event(300, 'link-down', { edges: [cut] }, 2),
      event(500, 'stop', { nodes: [stopped!] }, 3),
      event(1_000, 'kill', { nodes: [killedLater!] }, 4),
      event(1_500, 'resume', { nodes: [paused!] }, 5),
    ];
    let runId = '';
    let statesAtEnd = new Map<string, string>();
    const request: RunRequest = {
      algorithm: 'flood',
      params: [],
      topology: TOPOLOGY,
      seed: SEED,
      allowDisconnected: false,
      // Slow hops, so that the flood is still going when the last faults fire.
      links: 'delay=700ms',
      timeoutMs: 60_000,
      resultsRoot,
      runtime: 'docker',
      faults,
      onRunId: (id) => (runId = id),
      // Once every survivor has a result, before the containers go.
      onStage: (stage) => {
        if (stage === 'collecting') statesAtEnd = containerStates(runId);
      },
    };
    const summary = await runAlgorithm(request);

    expect(summary.missing).toEqual([]);
    expect(statesAtEnd.get(killedFirst!)).toBe('exited');
    expect(statesAtEnd.get(killedLater!)).toBe('exited');
    expect(statesAtEnd.get(stopped!)).toBe('exited');
    expect(statesAtEnd.get(paused!)).toBe('running');
    expect(summary.departed.has(killedFirst!)).toBe(true);
    expect(summary.departed.get(stopped!) ?? 'had a result').toMatch(/stopped at 500 ms|had a result/);

    const applied = (await readFile(path.join(summary.resultsDir, 'faults.ndjson'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as AppliedFault);
    expect(applied.map(({ action, fault }) => [action, fault])).toEqual(faults.map(({ action, fault }) => [action, fault]));
    for (const record of applied) {
      expect(record.error, `${record.spec}`).toBeUndefined();
      expect(record.appliedMs).toBeGreaterThanOrEqual(record.atMs);
      expect(record.appliedMs! - record.atMs, `the lag of ${record.spec}`).toBeLessThan(5_000);
    }
    // The registry as the controller followed it: all 20 at the start, the stopped node gone as soon as it was
    // stopped (a killed one leaves only when its lease runs out, 20 s later, after this run has ended).
    const [atStart, ...changes] = (await readFile(path.join(summary.resultsDir, 'registry.ndjson'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as { atMs: number; registered?: number; node?: string; change?: string });
    expect(atStart).toEqual({ atMs: 0, registered: 20 });
    const leave = changes.find(({ node }) => node === stopped);
    expect(leave).toMatchObject({ change: 'left' });
    // appliedMs is when `docker stop` returned: the node had left by then, during its SIGTERM handler.
    const stop = applied.find(({ action }) => action === 'stop')!;
    expect(leave!.atMs).toBeGreaterThanOrEqual(stop.atMs);
    expect(leave!.atMs).toBeLessThanOrEqual(stop.appliedMs! + 1_000);
    // The graceful leave went through the agent's SIGTERM handler.
    expect(await readFile(path.join(summary.resultsDir, 'logs', `${stopped}.log`), 'utf8')).toMatch(/stopping: leaving the registry/);
    expect(await leftovers(runId)).toEqual({ containers: 0, networks: 0 });
  }, 240_000);
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
