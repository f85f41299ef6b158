/**
 * `migrate` in the simulator, with the semantics it has in Docker (src/migration, src/node/migration.ts): the node
 * moves into a fresh host through AlgorithmHost's snapshot (a JSON round trip, as on the wire) and resume, at the
 * fault's virtual time, losing, duplicating and reordering nothing; a node a snapshot cannot carry is refused in
 * Docker's words, recorded, and goes on where it was.
 */
import { describe, expect, it } from 'vitest';
import type { FaultEvent } from '../../src/faults/events.js';
import { constantDelay, exponentialDelay, Simulation, type DelayModel, type TraceEvent } from '../../src/runtime/sim/index.js';
import { defineAlgorithm } from '../../src/sdk/index.js';
import type { Algorithm, AlgorithmDefinition, Json, Node } from '../../src/sdk/types.js';
import { loadAlgorithm, topology } from './sim-helpers.js';

function event(atMs: number, action: FaultEvent['action'], nodes: string[]): FaultEvent {
  return { atMs, action, nodes, edges: [], fault: 0, spec: `at=${atMs}ms ${action}` };
}

interface Tick {
  readonly node: string;
  readonly at: number;
  readonly count: number;
}

type Counter = Node<never, { count: number }>;

/**
 * Every node counts in node.state every 10 ms of its own timer, and reports at 10; its restore hook puts the saved
 * count back and sets the timer again. `ticks` records every tick, of every host, and `restored` what each restore
 * was given; `extra` changes the algorithm (no restore hook, state that is not JSON).
 */
function counter(ticks: Tick[], extra: Partial<AlgorithmDefinition<never, any>> = {}, restored: Array<{ at: number; saved: Json }> = []): Algorithm {
  const schedule = (node: Counter): void => {
    node.setTimer(10, () => {
      node.state.count += 1;
      ticks.push({ node: node.id, at: node.now(), count: node.state.count });
      if (node.state.count === 10) node.result({ count: node.state.count });
      else schedule(node);
    });
  };
  return defineAlgorithm({
    name: 'counter',
    state: () => ({ count: 0 }),
    init: (node: Counter) => schedule(node),
    onMessage: () => {},
    restore: (node: Counter, saved: Json) => {
      restored.push({ at: node.now(), saved: structuredClone(saved) });
      Object.assign(node.state, saved);
      schedule(node);
    },
    ...extra,
  } as never);
}

async function simulation(spec: string, algorithm: Algorithm, faults: FaultEvent[], options: { delay?: DelayModel; params?: Json; seed?: number } = {}) {
  const trace: TraceEvent[] = [];
  const sim = new Simulation({
    graph: await topology(spec, 5),
    algorithm,
    params: options.params ?? {},
    seed: options.seed ?? 5,
    maxPayloadBytes: 1 << 20,
    delay: options.delay ?? constantDelay(1),
    trace: (traced) => trace.push(traced),
  });
  sim.scheduleFaults(faults);
  sim.startAll();
  const outcome = await sim.run();
  return { outcome, trace };
}

interface StreamResult {
  readonly sent: Record<string, number>;
  readonly last: Record<string, number>;
  readonly handled: number;
  readonly errors: string[];
}

describe('migrate in the simulator', () => {
  it('moves a node into a new host that goes on from its state: its restore hook sets its timer again, the old one never fires', async () => {
    const ticks: Tick[] = [];
    const restored: Array<{ at: number; saved: Json }> = [];
    const { outcome, trace } = await simulation('line:n=3', counter(ticks, {}, restored), [event(55, 'migrate', ['1'])]);
    expect(outcome.endReason).toBe('complete');
    expect(outcome.faults).toEqual([expect.objectContaining({ action: 'migrate', nodes: ['1'], appliedMs: 55 })]);
    expect(outcome.faults[0]!.error).toBeUndefined();
    // The state it had before the move (5 ticks, at 10–50 ms) is the state the new host resumed from.
    expect(restored).toEqual([{ at: 55, saved: { count: 5 } }]);
    // It counted on from there on its new timer (due 10 ms after the move); the old host's, due at 60 ms, never fired.
    const moved = ticks.filter(({ node }) => node === '1');
    expect(moved.map(({ count }) => count)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(moved.map(({ at }) => at)).toEqual([10, 20, 30, 40, 50, 65, 75, 85, 95, 105]);
    expect(outcome.results.get('1')).toEqual({ count: 10 });
    // It never left: no registry change, nobody departed.
    expect(outcome.registry.changes).toEqual([]);
    expect([...outcome.departed.keys()]).toEqual([]);
    expect(trace).toContainEqual({ type: 'control', time: 55, action: 'migrate', node: '1' });
  });

  it('refuses, in Docker\'s words, a node whose state is not plain JSON: recorded, and the node goes on where it was', async () => {
    const ticks: Tick[] = [];
    const algorithm = counter(ticks, { state: () => ({ count: 0, seen: new Map<string, number>() }) });
    const { outcome, trace } = await simulation('line:n=3', algorithm, [event(55, 'migrate', ['1'])]);
    expect(outcome.endReason).toBe('complete');
    expect(outcome.faults).toEqual([expect.objectContaining({ action: 'migrate', nodes: ['1'], appliedMs: 55 })]);
    expect(outcome.faults[0]!.error).toBe("cannot migrate: node 1's state is not plain JSON, so it cannot be moved");
    // Its own timer went on, on its own host.
    expect(ticks.filter(({ node }) => node === '1').map(({ at }) => at)).toEqual([10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
    expect(trace.some((traced) => traced.type === 'control' && traced.action === 'migrate')).toBe(false);
  });

  it('refuses a node with a timer pending and no restore hook', async () => {
    const ticks: Tick[] = [];
    const { outcome } = await simulation('line:n=3', counter(ticks, { restore: undefined }), [event(55, 'migrate', ['1'])]);
    expect(outcome.endReason).toBe('complete');
    expect(outcome.faults[0]!.error).toBe(
      'cannot migrate: node 1 has 1 timer(s) pending, which a snapshot cannot carry: give the algorithm a restore(node, saved) hook that sets them again',
    );
    expect(outcome.results.get('1')).toEqual({ count: 10 });
  });

  it('moves the nodes of one event one after another, and a refusal ends the event there, as on Docker', async () => {
    const restored: Array<{ at: number; saved: Json }> = [];
    const algorithm = counter([], { state: ({ id }: { id: string }) => (id === '1' ? { count: 0, seen: new Map() } : { count: 0 }) }, restored);
    const { outcome } = await simulation('line:n=3', algorithm, [event(55, 'migrate', ['0', '1', '2'])]);
    expect(outcome.faults[0]!.error).toBe("cannot migrate: node 1's state is not plain JSON, so it cannot be moved");
    // Node 0 moved; node 2, after the refused one, stayed where it was.
    expect(restored).toEqual([{ at: 55, saved: { count: 5 } }]);
  });

  it('refuses a node that is not running', async () => {
    const { outcome } = await simulation('line:n=3', counter([]), [event(20, 'pause', ['1']), event(30, 'migrate', ['1']), event(40, 'resume', ['1'])]);
    expect(outcome.faults.map(({ error }) => error)).toEqual([undefined, 'node 1 cannot be migrated: it is paused', undefined]);
  });

  for (const [name, delay] of [
    ['30 ms a message', constantDelay(30)],
    ['exponential delays (mean 30 ms), FIFO per edge', exponentialDelay(30)],
  ] as const) {
    it(`a sequence-number stream over moves loses, duplicates and reorders nothing (${name})`, async () => {
      // Between ticks (every 50 ms) and on them: what the ticks sent is in flight both ways at each move.
      const faults = [event(3_010, 'migrate', ['2']), event(3_020, 'migrate', ['3']), event(6_000, 'migrate', ['2']), event(8_025, 'migrate', ['2'])];
      const seqStream = await loadAlgorithm('test/fixtures/seq-stream.ts');
      // Each move restored the node on a new host, from its snapshot.
      const restored: string[] = [];
      const algorithm: Algorithm = { ...seqStream, restore: (node, saved) => (restored.push(node.id), seqStream.restore!(node, saved)) };
      const { outcome } = await simulation('ba:n=8,m=2', algorithm, faults, { delay, params: { rate: 20, durationMs: 12_000 } });
      expect(outcome.endReason).toBe('complete');
      expect(outcome.faults.map(({ error }) => error)).toEqual([undefined, undefined, undefined, undefined]);
      expect(restored).toEqual(['2', '3', '2', '2']);
      const graph = await topology('ba:n=8,m=2', 5);
      const results = new Map([...outcome.results].map(([id, value]) => [id, value as unknown as StreamResult]));
      for (const id of graph.nodes()) {
        const result = results.get(id)!;
        expect(result.errors, `node ${id}: gaps, repeats or reorderings`).toEqual([]);
        for (const from of graph.neighbors(id)) expect(result.last[from], `${from}→${id}`).toBe(results.get(from)!.sent[id]! - 1);
        // Its count of handled messages went on across its moves: exactly what it received over the whole run.
        expect(result.handled, `node ${id}'s counter`).toBe(Object.values(result.last).reduce((sum, last) => sum + last, 0));
      }
      expect(outcome.lostWithDeparted).toBe(0);
      expect(outcome.registry.changes).toEqual([]);
    });
  }

  it('is deterministic: the same seed gives the same trace, moves included', async () => {
    const run = () =>
      simulation('ba:n=8,m=2', seqStream!, [event(1_010, 'migrate', ['2']), event(2_000, 'migrate', ['4'])], {
        delay: exponentialDelay(30),
        params: { rate: 20, durationMs: 3_000 },
      });
    const seqStream = await loadAlgorithm('test/fixtures/seq-stream.ts');
    const first = await run();
    const second = await run();
    expect(first.trace.filter((traced) => traced.type === 'control')).toEqual([
      { type: 'control', time: 1_010, action: 'migrate', node: '2' },
      { type: 'control', time: 2_000, action: 'migrate', node: '4' },
    ]);
    expect(second.trace).toEqual(first.trace);
    expect(second.outcome.results).toEqual(first.outcome.results);
  });
});
