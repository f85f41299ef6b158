/**
 * The host's half of a migration, without containers: a suspended node handles nothing but keeps what arrives;
 * its snapshot carries state, counters and unhandled messages; a new host resumed from it handles those first,
 * in order, and goes on from the same state; one whose move is called off goes on itself. What a snapshot cannot
 * carry (timers without a restore hook, a run() under way, a lock or candidacy) is refused in one line.
 */
import { describe, expect, it } from 'vitest';
import { AlgorithmHost, type HostEnvironment } from '../../src/host/algorithm-host.js';
import type { LeasedQueues } from '../../src/host/contention.js';
import { defineAlgorithm } from '../../src/sdk/index.js';
import type { Algorithm, AlgorithmDefinition, Message, Node } from '../../src/sdk/types.js';
import { testEnvironment } from './host-environment.js';

const environment = (timers: Array<() => void> = []): HostEnvironment =>
  testEnvironment({ setTimer: (_ms, timer) => (timers.push(() => timer.expire()), { cancel: () => {} }) });

// `any`: each test's hooks see the counter's state, whatever the SDK's generic parameters make of it.
const counter = (extra: Partial<AlgorithmDefinition<never, any>> = {}): Algorithm =>
  defineAlgorithm({
    name: 'counter',
    state: () => ({ seen: [] as number[] }),
    onMessage: (node: Node<never, { seen: number[] }>, { payload }: Message) => void node.state.seen.push(payload as number),
    ...extra,
  } as never);

const hostOf = (algorithm: Algorithm, timers?: Array<() => void>) =>
  new AlgorithmHost(algorithm, { id: '0', neighbours: [{ id: '1', weight: 1 }], size: 2, params: {}, seed: 1, maxPayloadBytes: 1 << 20 }, environment(timers));

describe('a host moving to a new one', () => {
  it('carries state, counters and the unhandled messages, which the new host handles first, in order', async () => {
    const old = hostOf(counter());
    await old.start();
    old.deliver('1', '1');
    old.deliver('1', '2');
    await old.suspend();
    old.deliver('1', '3');
    old.deliver('1', '4');
    const snapshot = JSON.parse(JSON.stringify(old.snapshot()));
    expect(snapshot.saved).toEqual({ seen: [1, 2] });
    expect(snapshot.inbox).toEqual([{ from: '1', payload: 3 }, { from: '1', payload: 4 }]);
    expect(snapshot.received['1'].messages).toBe(4);

    const successor = hostOf(counter());
    successor.deliver('1', '5');
    await successor.resume(snapshot);
    successor.deliver('1', '6');
    expect(successor.snapshot().saved).toEqual({ seen: [1, 2, 3, 4, 5, 6] });
    expect(successor.received.get('1')!.messages).toBe(6);
  });

  it('carries the link faults on the edges into it: a cut link stays cut, a drop share stays', async () => {
    const hostWith = () =>
      new AlgorithmHost(
        counter(),
        { id: '0', neighbours: [{ id: '1', weight: 1 }, { id: '2', weight: 1 }, { id: '3', weight: 1 }], size: 4, params: {}, seed: 1, maxPayloadBytes: 1 << 20 },
        environment(),
      );
    const old = hostWith();
    await old.start();
    expect(old.snapshot()).toMatchObject({ cutFrom: [], dropShare: {} });
    old.setLinkFrom('1', true);
    old.setDropShare('2', 100);
    old.setDropShare('3', 100);
    old.setDropShare('3', 0);
    await old.suspend();
    const snapshot = JSON.parse(JSON.stringify(old.snapshot()));
    expect(snapshot).toMatchObject({ cutFrom: ['1'], dropShare: { '2': 100 } });

    const successor = hostWith();
    await successor.resume(snapshot);
    expect([successor.dropsOnArrival('1'), successor.dropsOnArrival('2'), successor.dropsOnArrival('3')]).toEqual(['link down', 'drop-messages', undefined]);
    successor.setLinkFrom('1', false);
    expect(successor.dropsOnArrival('1')).toBeUndefined();
    expect(Object.fromEntries(successor.dropped)).toEqual({ '1': 1, '2': 1 });
  });

  it('fires no timer while suspended', async () => {
    const timers: Array<() => void> = [];
    let fired = 0;
    const old = hostOf(counter({ init: (node) => void node.setTimer(10, () => void (fired += 1)), restore: () => {} }), timers);
    await old.start();
    await old.suspend();
    timers.forEach((fire) => fire());
    expect(fired).toBe(0);
  });

  it('fires the timers that came due while suspended once the move is called off, and handles again', async () => {
    const timers: Array<() => void> = [];
    let fired = 0;
    const old = hostOf(counter({ init: (node) => void node.setTimer(10, () => void (fired += 1)), restore: () => {} }), timers);
    await old.start();
    await old.suspend();
    old.deliver('1', '1');
    timers.forEach((fire) => fire());
    expect(fired).toBe(0);
    old.unsuspend();
    expect(fired).toBe(1);
    expect(old.snapshot().saved).toEqual({ seen: [1] });
  });

  it('refuses a node in a lock or election queue, whose entries its container\'s lease holds', async () => {
    const queues: LeasedQueues = {
      join: async () => {},
      entries: async () => [{ node: '0', value: '', joined: 1 }],
      leave: async () => {},
      waitForLeave: async () => {},
      watch: async () => () => {},
    };
    const host = new AlgorithmHost(counter(), { id: '0', neighbours: [], size: 1, params: {}, seed: 1, maxPayloadBytes: 1 << 20 }, testEnvironment({ queues: () => queues }));
    await host.start();
    const held = await host.lock('l');
    await host.election('e').campaign('0');
    expect(host.snapshotRefusal()).toBe("node 0 holds or waits for lock l, election e, which its container's lease holds and a snapshot cannot carry: release the lock or resign before it moves");
    await held.release();
    await host.election('e').resign();
    expect(host.snapshotRefusal()).toBeUndefined();
  });

  it('refuses what a snapshot cannot carry, in one line each', async () => {
    const withTimer = hostOf(counter({ init: (node) => void node.setTimer(10, () => {}) }));
    await withTimer.start();
    expect(withTimer.snapshotRefusal()).toBe('node 0 has 1 timer(s) pending, which a snapshot cannot carry: give the algorithm a restore(node, saved) hook that sets them again');
    const sequential = hostOf(counter({ onMessage: undefined, run: (node) => node.receive().then(() => {}) }));
    await sequential.start();
    expect(sequential.snapshotRefusal()).toMatch(/inside its algorithm's run\(\)/);
    const restored = hostOf(counter({ init: (node) => void node.setTimer(10, () => {}), restore: () => {} }));
    await restored.start();
    expect(restored.snapshotRefusal()).toBeUndefined();
  });
});
