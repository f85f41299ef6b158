/**
 * A fault schedule applied to a real container run: kills, a graceful stop, a pause and resume, and a link taken
 * down, each at its time on the run's clock. The schedule is built by hand (the selectors are another module's
 * job); what is checked here is the mechanism: the containers die as asked, their deaths do not fail the run,
 * faults.ndjson records every event and its lag, and nothing is left behind. Registered by faults-apply.test.ts
 * on Docker and by swarm.test.ts on the local Swarm, where each fault reaches the engine its node runs on.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppliedFault, FaultEvent } from '../../../src/faults/events.js';
import { attachRunNodes } from '../../../src/run/attach.js';
import { runAlgorithm, type RunRequest } from '../../../src/run/run.js';
import type { NodeState, RuntimeKind } from '../../../src/runtime/types.js';
import { loadTopology } from '../../../src/topology/index.js';

const TOPOLOGY = 'ba:n=20,m=2';
const SEED = 3;

function event(atMs: number, action: FaultEvent['action'], targets: { nodes?: string[]; edges?: Array<[string, string]> }, fault: number): FaultEvent {
  const spec = `at=${atMs}ms ${action} ${[...(targets.nodes ?? []), ...(targets.edges ?? []).map(([from, to]) => `${from}>${to}`)].join(',')}`;
  return { atMs, action, nodes: targets.nodes ?? [], edges: targets.edges ?? [], fault, spec };
}

export interface FaultsScenarioEngine {
  /** The engine `peerlab status` asks about the run (on the Swarm: its manager). */
  readonly docker: () => Promise<Docker>;
  /** What the run left on the engines, described (e.g. "container ×2"); empty when nothing. */
  readonly leftBehind: (runId: string) => Promise<string[]>;
}

export function faultsApplyAsScheduled(runtime: Exclude<RuntimeKind, 'sim'>, engine: FaultsScenarioEngine): void {
  describe(`a fault schedule on ${runtime}`, () => {
    let resultsRoot: string;
    beforeAll(async () => {
      resultsRoot = await mkdtemp(path.join(os.tmpdir(), 'peerlab-faults-'));
    });
    afterAll(async () => {
      await rm(resultsRoot, { recursive: true, force: true });
    });

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
      let statesAtEnd: Promise<Map<string, NodeState>> = Promise.resolve(new Map());
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
        runtime,
        faults,
        onRunId: (id) => (runId = id),
        // Once every survivor has a result, before the containers go: each node's container as its engine has it.
        onStage: (stage) => {
          if (stage !== 'collecting') return;
          statesAtEnd = engine
            .docker()
            .then((docker) => attachRunNodes(docker, runId))
            .then((nodes) => nodes.listNodes())
            .then((nodes) => new Map(nodes.map((node) => [node.id, node.state])));
        },
      };
      const summary = await runAlgorithm(request);
      const states = await statesAtEnd;

      expect(summary.runtime).toBe(runtime);
      expect(summary.missing).toEqual([]);
      expect(states.get(killedFirst!)).toBe('exited');
      expect(states.get(killedLater!)).toBe('exited');
      expect(states.get(stopped!)).toBe('exited');
      expect(states.get(paused!)).toBe('running');
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
      // appliedMs is when the engine's stop returned: the node had left by then, during its SIGTERM handler.
      const stop = applied.find(({ action }) => action === 'stop')!;
      expect(leave!.atMs).toBeGreaterThanOrEqual(stop.atMs);
      expect(leave!.atMs).toBeLessThanOrEqual(stop.appliedMs! + 1_000);
      // The graceful leave went through the agent's SIGTERM handler.
      expect(await readFile(path.join(summary.resultsDir, 'logs', `${stopped}.log`), 'utf8')).toMatch(/stopping: leaving the registry/);
      expect(await engine.leftBehind(runId)).toEqual([]);
    }, 240_000);
  });
}
