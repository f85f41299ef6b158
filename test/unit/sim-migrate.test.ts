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
  describe('a move that comes while a handler is in mid-await', () => {
    const run = async (params: Json) => simulation('line:n=3', await loadAlgorithm('test/fixtures/awaiting-handler.ts'), [event(20, 'migrate', ['1'])], { params });

    it('waits, as Docker\'s freeze does, for the handler to return: its change after the await moves with the node', async () => {
      const { outcome, trace } = await run({ goAtMs: 50 });
      expect(outcome.endReason).toBe('complete');
      // The handler of `wait` got `go` at 50 ms, in the old host, before the snapshot; the ping that came meanwhile
      // was held and handled by the new host.
      expect(outcome.results.get('1')).toEqual({ got: 'from 2', pings: 1, ticked: false });
      expect(outcome.faults).toEqual([expect.objectContaining({ action: 'migrate', nodes: ['1'], atMs: 20, appliedMs: 50 })]);
      expect(outcome.faults[0]!.error).toBeUndefined();
      expect(trace).toContainEqual({ type: 'control', time: 50, action: 'migrate', node: '1' });
      expect(outcome.migrations).toEqual([
        { node: '1', migration: 'migrate-1-1', kind: 'migrate', frozenAt: 20, resumedAt: 50, downtimeMs: 30, snapshotBytes: expect.any(Number), carried: 0, replayed: 1 },
      ]);
    });

    it('is recorded as failed, and the node goes on, when the handler left what a snapshot cannot carry (Docker: at the freeze)', async () => {
      const { outcome } = await run({ goAtMs: 50, timerAfterWait: true });
      expect(outcome.endReason).toBe('complete');
      const failed = 'at the freeze, node 1 has 1 timer(s) pending, which a snapshot cannot carry: give the algorithm a restore(node, saved) hook that sets them again: node 1 went on in its old host';
      expect(outcome.faults[0]!.error).toBe(`migration of node 1 failed: ${failed}`);
      expect(outcome.migrations).toEqual([
        { node: '1', migration: 'migrate-1-1', kind: 'migrate', frozenAt: 20, resumedAt: 50, downtimeMs: 30, snapshotBytes: 0, carried: 0, replayed: 0, failed },
      ]);
      // Its timer fired, and the held ping arrived, in its own host.
      expect(outcome.results.get('1')).toEqual({ got: 'from 2', pings: 1, ticked: true });
    });

    it('gives up after Docker\'s 60 s on a handler that never returns; the node stays frozen, nothing is recorded', async () => {
      const { outcome } = await run({ goAtMs: 0 });
      expect(outcome.endReason).toBe('stalled');
      expect(outcome.faults).toEqual([expect.objectContaining({ action: 'migrate', appliedMs: 60_020 })]);
      expect(outcome.faults[0]!.error).toMatch(/^gave up waiting 60 s for node 1 to resume in its new container/);
      expect(outcome.migrations).toEqual([]);
      expect(outcome.missing).toEqual(['1']);
    });

    it('holds the events on the node until the move is done, as Docker\'s schedule does: they apply late', async () => {
      const algorithm = await loadAlgorithm('test/fixtures/awaiting-handler.ts');
      const { outcome } = await simulation('line:n=3', algorithm, [event(20, 'migrate', ['1']), event(25, 'pause', ['1']), event(26, 'pause', ['0']), event(27, 'resume', ['0']), event(60, 'resume', ['1'])], {
        params: { goAtMs: 50 },
      });
      expect(outcome.faults.map(({ action, nodes, appliedMs, error }) => ({ action, nodes, appliedMs, error }))).toEqual([
        // Node 0's events do not wait for node 1's move.
        { action: 'pause', nodes: ['0'], appliedMs: 26, error: undefined },
        { action: 'resume', nodes: ['0'], appliedMs: 27, error: undefined },
        { action: 'migrate', nodes: ['1'], appliedMs: 50, error: undefined },
        { action: 'pause', nodes: ['1'], appliedMs: 50, error: undefined },
        { action: 'resume', nodes: ['1'], appliedMs: 60, error: undefined },
      ]);
      expect(outcome.results.get('1')).toEqual({ got: 'from 2', pings: 1, ticked: false });
    });
  });

  it('records each move as Docker does: the snapshot\'s size, what it carried, and what was in flight and passed on', async () => {
    const seqStream = await loadAlgorithm('test/fixtures/seq-stream.ts');
    const faults = [event(1_010, 'migrate', ['2']), event(2_000, 'restart', ['4']), event(2_010, 'migrate', ['3', '2'])];
    const { outcome } = await simulation('ba:n=8,m=2', seqStream, faults, { delay: constantDelay(30), params: { rate: 20, durationMs: 3_000 } });
    expect(outcome.migrations.map(({ node, kind, frozenAt, resumedAt, downtimeMs }) => ({ node, kind, frozenAt, resumedAt, downtimeMs }))).toEqual([
      { node: '2', kind: 'migrate', frozenAt: 1_010, resumedAt: 1_010, downtimeMs: 0 },
      { node: '4', kind: 'restart', frozenAt: 2_000, resumedAt: 2_000, downtimeMs: 0 },
      { node: '3', kind: 'migrate', frozenAt: 2_010, resumedAt: 2_010, downtimeMs: 0 },
      { node: '2', kind: 'migrate', frozenAt: 2_010, resumedAt: 2_010, downtimeMs: 0 },
    ]);
    for (const record of outcome.migrations.filter(({ kind }) => kind === 'migrate')) {
      // What ticks at 1,000 and 2,000 ms sent is 30 ms on its way at the move: passed on to the new host.
      expect(record.replayed, `node ${record.node}`).toBeGreaterThan(0);
      expect(record.snapshotBytes).toBeGreaterThan(100);
      expect(record.carried).toBe(0);
      expect(record).not.toHaveProperty('to');
    }
    expect(outcome.migrations[1]).toMatchObject({ snapshotBytes: 0, carried: 0, replayed: 0 });
  });
});
