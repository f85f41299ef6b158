/**
 * `restart` in the simulator, with the semantics it has in Docker (test/integration/migration.test.ts): a fresh
 * node with empty state takes the id over and registers again, and its neighbours hear its counter start again at
 * 1. The fixture's own numbers are the oracle, as in the Docker test: every node streams 1, 2, 3, … to each
 * neighbour and records any number that is not one more than the last.
 */
import { describe, expect, it } from 'vitest';
import { REGISTRATION_TTL_SECONDS } from '../../src/coordination/protocol.js';
import type { FaultEvent } from '../../src/faults/events.js';
import { constantDelay, Simulation } from '../../src/runtime/sim/index.js';
import type { Json } from '../../src/sdk/types.js';
import { loadAlgorithm, topology } from './sim-helpers.js';
import { expectTakenOver, restartProbe } from './restart-probe.js';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

interface StreamResult {
  readonly sent: Record<string, number>;
  readonly last: Record<string, number>;
  readonly handled: number;
  readonly errors: string[];
}

function event(atMs: number, action: FaultEvent['action'], nodes: string[], edges: Array<[string, string]> = []): FaultEvent {
  return { atMs, action, nodes, edges, fault: 0, spec: `at=${atMs}ms ${action}` };
}

/** seq-stream at 20 messages/s for `durationMs` on every edge of BA(8, 2), each message 30 virtual ms, under `faults`. */
async function streamUnder(faults: FaultEvent[], durationMs = 12_000) {
  const graph = await topology('ba:n=8,m=2', 5);
  const simulation = new Simulation({
    graph,
    algorithm: await loadAlgorithm('test/fixtures/seq-stream.ts'),
    params: { rate: 20, durationMs } as Json,
    seed: 5,
    maxPayloadBytes: 1 << 20,
    delay: constantDelay(30),
  });
  simulation.scheduleFaults(faults);
  simulation.startAll();
  const outcome = await simulation.run();
  expect(outcome.endReason).toBe('complete');
  const results = new Map([...outcome.results].map(([id, value]) => [id, value as unknown as StreamResult]));
  return { graph, outcome, results };
}

describe('restart in the simulator', () => {
  it('a fresh node with empty state takes the id over, and its neighbours hear it count from 1 again', async () => {
    // Between ticks (every 50 ms): what the ticks at 3,000 ms sent is in flight.
    const { graph, outcome, results } = await streamUnder([event(3_010, 'restart', ['2'])]);
    expect(outcome.faults).toEqual([expect.objectContaining({ action: 'restart', nodes: ['2'], appliedMs: 3_010 })]);
    expect(outcome.faults[0]!.error).toBeUndefined();
    expect([...outcome.departed.keys()]).toEqual([]);
    // Its state began anew: it handled only what it received since the restart (about 9 s of the 12 s).
    const restarted = results.get('2')!;
    const received = Object.values(restarted.last).reduce((sum, last) => sum + last, 0);
    expect(restarted.handled).toBeLessThan(received);
    expect(restarted.handled).toBeGreaterThan(0);
    for (const neighbour of graph.neighbors('2')) {
      expect(results.get(neighbour)!.errors.join('; '), `node ${neighbour} heard 2 start over`).toMatch(/^from 2: 1 after \d+$/);
    }
    // Nodes away from it saw an unbroken stream; what was in flight to and from the old node was lost with it.
    for (const id of graph.nodes().filter((id) => id !== '2' && !graph.hasEdge(id, '2'))) expect(results.get(id)!.errors).toEqual([]);
    expect(outcome.lostWithDeparted).toBeGreaterThan(0);
    // The restart registered the node again; it never left the registry.
    expect(outcome.registry.changes).toEqual([{ atMs: 3_010, node: '2', change: 'registered' }]);
  });

  it('is deterministic: the same schedule gives the same results', async () => {
    const first = await streamUnder([event(3_000, 'restart', ['2'])]);
    const second = await streamUnder([event(3_000, 'restart', ['2'])]);
    expect(second.outcome.results).toEqual(first.outcome.results);
    expect(second.outcome.messages).toBe(first.outcome.messages);
  });

  it('a killed node restarted owes a result again; its neighbours heard it down only if its lease ran out first', async () => {
    const ttlMs = REGISTRATION_TTL_SECONDS * 1000;
    // Restarted within the lease: the new lease takes the registration over, nobody hears the node go.
    const early = await streamUnder([event(1_000, 'kill', ['2']), event(2_000, 'restart', ['2'])]);
    expect([...early.outcome.departed.keys()]).toEqual([]);
    expect(early.results.get('2')).toBeDefined();
    expect(early.outcome.registry.changes).toEqual([{ atMs: 2_000, node: '2', change: 'registered' }]);
    // Restarted after it: the lease ran out (left), then the node registered again.
    const late = await streamUnder([event(1_000, 'kill', ['2']), event(1_000 + ttlMs + 500, 'restart', ['2'])], ttlMs + 5_000);
    expect(late.outcome.registry.changes).toEqual([
      { atMs: 1_000 + ttlMs, node: '2', change: 'left' },
      { atMs: 1_000 + ttlMs + 500, node: '2', change: 'registered' },
    ]);
    expect(late.results.get('2')!.handled).toBeGreaterThan(0);
  });

  it('a cut link into the node stays cut across its restart: the fault is the link\'s, not the process\'s', async () => {
    const graph = await topology('ba:n=8,m=2', 5);
    const [cut, open] = graph.neighbors('2');
    const { results } = await streamUnder([event(500, 'link-down', [], [[cut!, '2']]), event(3_000, 'restart', ['2'])]);
    // Nothing from `cut` reached the new node 2, which counts from 0; the other links brought it their streams.
    expect(results.get('2')!.last[cut!]).toBe(0);
    expect(results.get('2')!.last[open!]).toBeGreaterThan(0);
  });

  it('a restarted node comes back under its links, drops, link changes and clock skew, as in Docker', async () => {
    // The same schedule and checks as test/integration/faults-apply.test.ts runs on Docker.
    expectTakenOver(await restartProbe('sim', await mkdtemp(path.join(os.tmpdir(), 'peerlab-restart-'))));
  });

  it('is refused for a node that has not started yet', async () => {
    const graph = await topology('line:n=3');
    const simulation = new Simulation({ graph, algorithm: await loadAlgorithm('algorithms/flood.ts'), params: {}, seed: 1, maxPayloadBytes: 1 << 20, delay: constantDelay(1) });
    expect(() => simulation.restartNode('1')).toThrow(/cannot be restarted: it has not started yet/);
  });
});
