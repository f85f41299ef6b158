/**
 * The one SDK semantics of `send` for both runtimes: it resolves once the transport has let the message out,
 * and a node that piles up more unsent bytes than its send buffer is told, instead of growing without bound.
 */
import { describe, expect, it } from 'vitest';
import { AlgorithmHost, sendBufferLimit, type CopyTransport, type TextTransport } from '../../src/host/algorithm-host.js';
import { defineAlgorithm } from '../../src/sdk/index.js';
import type { Json, Node } from '../../src/sdk/types.js';
import { testEnvironment } from './host-environment.js';

const MiB = 1024 * 1024;

/**
 * A started host for node 0 with neighbour 1, whose transport is `transmit` and whose timers `setTimer` makes;
 * returns it, the SDK node its algorithm sees, and the failures it reported.
 */
async function hostWith(options: {
  transmit: TextTransport['transmit'];
  onMessage?: (node: Node<unknown, unknown>, message: { payload: unknown }) => void;
  setTimer?: TextTransport['setTimer'];
}): Promise<{ host: AlgorithmHost; node: Node<unknown, unknown>; failures: Error[] }> {
  let seen: Node<unknown, unknown> | undefined;
  const failures: Error[] = [];
  const host = new AlgorithmHost(
    defineAlgorithm({ name: 'probe', init: (node) => void (seen = node as Node<unknown, unknown>), onMessage: (node, message) => options.onMessage?.(node as Node<unknown, unknown>, message) }),
    { id: '0', neighbours: [{ id: '1', weight: 1 }], size: 2, params: {}, seed: 1, maxPayloadBytes: MiB },
    testEnvironment({ transmit: options.transmit, ...(options.setTimer && { setTimer: options.setTimer }), onFailure: (error) => failures.push(error) }),
  );
  await host.start();
  return { host, node: seen!, failures };
}

const nodeWith = (transmit: TextTransport['transmit']) => hostWith({ transmit });

const payload = (): string => 'x'.repeat(MiB - 16);

describe('node.send and flow control', () => {
  it('resolves at once on a transport that never fills (the simulator)', async () => {
    const { node } = await nodeWith(() => undefined);
    for (let i = 0; i < 100; i++) await node.send('1', payload());
  });

  it('resolves when the transport has let the message out, and not before', async () => {
    const out: Array<() => void> = [];
    const { node } = await nodeWith(() => new Promise<void>((resolve) => out.push(resolve)));
    let sent = false;
    const sending = node.send('1', 'hello').then(() => (sent = true));
    await Promise.resolve();
    expect(sent).toBe(false);
    out.shift()!();
    await sending;
    expect(sent).toBe(true);
  });

  it('tells a node that sends faster than its links drain, once its send buffer is full', async () => {
    const out: Array<() => void> = [];
    const { node } = await nodeWith(() => new Promise<void>((resolve) => out.push(resolve)));
    const limit = sendBufferLimit(MiB);
    expect(limit).toBe(8 * MiB);
    for (let i = 0; i < 8; i++) void node.send('1', payload());
    expect(() => node.send('1', payload())).toThrow(/node 0 sends faster than its links drain: 8\.0 MiB are still waiting to go out, and sending 1\.0 MiB more to 1 would pass the 8\.0 MiB limit; `await node\.send\(…\)` waits/);
    // Once some has gone out, there is room again.
    out.shift()!();
    await new Promise((resolve) => setTimeout(resolve, 0));
    await expect(Promise.race([node.send('1', payload()), Promise.resolve('queued')])).resolves.toBe('queued');
  });
});

describe('a copy transport (the simulator), against a text transport (the agent)', () => {
  /** Sends `payload` from node 0 over each kind of transport: what each was handed, or the error `send` threw. */
  async function sendBoth(payload: unknown): Promise<{ text: unknown; copy: unknown }> {
    const outcome = async (environment: TextTransport | CopyTransport, sent: () => unknown): Promise<unknown> => {
      const host = new AlgorithmHost(defineAlgorithm({ name: 'probe', onMessage: () => {} }), { id: '0', neighbours: [{ id: '1', weight: 1 }], size: 2, params: {}, seed: 1, maxPayloadBytes: MiB }, environment);
      await host.start();
      try {
        await host.send('1', payload);
      } catch (error) {
        return (error as Error).message;
      }
      return sent();
    };
    let handed: { payload: unknown; bytes: number } | undefined;
    const text = await outcome(
      testEnvironment({ transmit: (_to, encoded, _edge, bytes) => void (handed = { payload: JSON.parse(encoded), bytes }) }),
      () => handed,
    );
    const copy = await outcome(
      { ...testEnvironment(), carries: 'copy', transmit: (_to, copied, _edge, bytes) => void (handed = { payload: copied, bytes }) },
      () => handed,
    );
    return { text, copy };
  }

  it('hands over what JSON.parse makes of the text, and its size', async () => {
    let deep: unknown = 'bottom';
    for (let i = 0; i < 2000; i++) deep = { down: deep };
    for (const payload of ['é\ud800', [1, , -0, 1e21], { __proto__: null, a: { b: [true, null] } }, deep, 'x'.repeat(MiB - 2)]) {
      const { text, copy } = await sendBoth(payload);
      expect(copy).toEqual(text);
      expect((copy as { bytes: number }).bytes).toBe(Buffer.byteLength(JSON.stringify(payload)));
    }
  });

  it('refuses what is not plain JSON, or too large, in the same words', async () => {
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    for (const payload of [undefined, cycle, 1n, () => 1, NaN, { a: undefined }, [undefined], new Date(0), 'x'.repeat(MiB - 1)]) {
      const { text, copy } = await sendBoth(payload);
      expect(typeof copy).toBe('string');
      expect(copy).toBe(text);
    }
  });
});

describe('the SDK node', () => {
  it('tells a student who took a method off the node how to call it', async () => {
    const { node } = await nodeWith(() => undefined);
    const { send, log } = node;
    expect(() => send('1', 'hello')).toThrow(/node\.send was called without its node: call it as node\.send\(…\), not after taking it off the node \(const \{ send \} = node\)/);
    expect(() => log('x')).toThrow(/node\.log was called without its node/);
    // Getters read through destructuring still work: they are read with the node.
    const { neighbours } = node;
    expect(neighbours.map(({ id }) => id)).toEqual(['1']);
  });
});

describe('freeze at the run’s stop', () => {
  it('handles, sends and counts nothing more, and its timers do not fire', async () => {
    const handled: string[] = [];
    const timers: Array<() => void> = [];
    const transmitted: string[] = [];
    const { host, node, failures } = await hostWith({
      transmit: (_to, encoded) => void transmitted.push(encoded),
      onMessage: (echoing, { payload }) => void (handled.push(String(payload)), echoing.send('1', payload as Json)),
      setTimer: (_ms, timer) => (timers.push(() => timer.expire()), { cancel: () => {} }),
    });
    host.deliver('1', '"before"');
    let fired = false;
    node.setTimer(10, () => void (fired = true));
    host.freeze();
    host.deliver('1', '"after"');
    void node.send('1', 'late');
    timers.forEach((fire) => fire());
    expect(handled).toEqual(['before']);
    expect(transmitted).toEqual(['"before"']);
    expect(fired).toBe(false);
    expect(host.received.get('1')).toEqual({ messages: 1, bytes: 8 });
    expect(host.sent.get('1')).toEqual({ messages: 1, bytes: 8 });
    expect(failures).toEqual([]);
  });
});
