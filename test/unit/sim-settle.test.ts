/**
 * The simulator runs the next event at once after one whose code queued nothing (src/runtime/sim/settle.ts), and
 * waits for everything else: whatever a handler sets off through a promise, queueMicrotask or process.nextTick
 * still runs at its own virtual instant, before the next event, as it did when every event waited.
 */
import { describe, expect, it } from 'vitest';
import { Simulation } from '../../src/runtime/sim/simulation.js';
import { Settler, asyncActivity, watchAsyncActivity } from '../../src/runtime/sim/settle.js';
import { defineAlgorithm } from '../../src/sdk/index.js';
import { topology } from './sim-helpers.js';

type Defer = (then: () => void) => void;

const DEFERRALS: Record<string, Defer> = {
  'a promise': (then) => void Promise.resolve().then(then),
  'an await': (then) => void (async () => {
    await null;
    then();
  })(),
  queueMicrotask: (then) => queueMicrotask(then),
  'process.nextTick': (then) => process.nextTick(then),
  'a tick that queues a microtask': (then) => process.nextTick(() => queueMicrotask(then)),
};

/** Every node pings each neighbour once; what it defers on a ping is logged with the node's clock. */
async function run(defer: Defer | undefined, beforeRun = (): void => {}): Promise<string[]> {
  const log: string[] = [];
  const algorithm = defineAlgorithm({
    name: 'deferring',
    state: () => ({ heard: 0 }),
    init(node) {
      for (const neighbour of node.neighbours) node.send(neighbour.id, 'ping');
    },
    onMessage(node, { from }) {
      log.push(`${node.now()} ${node.id} got ${from}`);
      defer?.(() => log.push(`${node.now()} ${node.id} after ${from}`));
      node.state.heard += 1;
      if (node.state.heard === node.neighbours.length) node.result(null);
    },
  });
  const graph = await topology('ba:n=40,m=2', 3);
  const simulation = new Simulation({ graph, algorithm, params: {}, seed: 1, maxPayloadBytes: 1024 });
  simulation.startAll();
  beforeRun();
  await simulation.run();
  return log;
}

describe('events after code that queued nothing run at once; the rest settle first', () => {
  for (const [how, defer] of Object.entries(DEFERRALS)) {
    it(`runs what a handler deferred through ${how} at the handler's instant, before the next event`, async () => {
      const log = await run(defer);
      expect(log.length).toBeGreaterThan(100);
      for (let at = 0; at < log.length; at += 2) {
        const [time, node, , from] = log[at]!.split(' ');
        expect(log[at + 1]).toBe(`${time} ${node} after ${from}`);
      }
    });
  }

  it('still sees process.nextTick when something puts back, a tick after the run began, the one it had found', async () => {
    // What vitest's RPC does (withSafeTimers): it sets Node's nextTick, and puts back a tick later the one it found,
    // which is Node's if no simulation ran then. On CI that restore came just after a run had begun, every tick a
    // handler deferred after it went uncounted, and the next event ran before it (stop 45).
    const found = process.nextTick;
    const log = await run(DEFERRALS['process.nextTick'], () => process.nextTick(() => (process.nextTick = found)));
    expect(log.length).toBeGreaterThan(100);
    for (let at = 0; at < log.length; at += 2) {
      const [time, node, , from] = log[at]!.split(' ');
      expect(log[at + 1]).toBe(`${time} ${node} after ${from}`);
    }
    expect(process.nextTick).toBe(found);
  });

  it('gives the same order of handlers whether or not they defer', async () => {
    const plain = await run(undefined);
    const deferred = (await run(DEFERRALS['an await'])).filter((line) => line.includes(' got '));
    expect(deferred).toEqual(plain);
  });
});

describe('asyncActivity', () => {
  it('counts promises made and settled, queueMicrotask and process.nextTick, only while watched', async () => {
    const read = (act: () => void): number => {
      const before = asyncActivity();
      act();
      return asyncActivity() - before;
    };
    const unwatch = watchAsyncActivity();
    try {
      expect(read(() => Math.sqrt(2))).toBe(0);
      expect(read(() => void Promise.resolve())).toBeGreaterThan(0);
      let resolve!: () => void;
      const pending = new Promise<void>((done) => (resolve = done));
      expect(read(() => resolve())).toBeGreaterThan(0);
      await pending;
      expect(read(() => queueMicrotask(() => {}))).toBe(1);
      expect(read(() => process.nextTick(() => {}))).toBe(1);
    } finally {
      unwatch();
    }
    expect(read(() => void Promise.resolve())).toBe(0);
    expect(read(() => queueMicrotask(() => {}))).toBe(0);
  });

  it('still lets the process turn every YIELD_EVERY events', () => {
    expect(Settler.yieldsAfter(1024)).toBe(true);
    expect(Settler.yieldsAfter(1023)).toBe(false);
  });
});
