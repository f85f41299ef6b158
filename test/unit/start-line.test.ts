/**
 * The node agent's start line (src/node/start-line.ts) against an etcd whose every answer takes 60 ms, as on a
 * loaded host: the node's watches are in place before it says ready, and it begins at the start moment itself.
 * The timers and the clock are fake, so the lag is exact however busy the host is (beside the Docker tests on CI's
 * two cores a real timer can fire tens of ms late).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { reachStartLine } from '../../src/node/start-line.js';

const ETCD_ROUND_TRIP_MS = 60;
/** What the controller gives the slowest node to read the start moment (RunController.start's lead). */
const LEAD_MS = 2 * ETCD_ROUND_TRIP_MS;
const answer = <T>(value: T, ms = ETCD_ROUND_TRIP_MS) => new Promise<T>((resolve) => setTimeout(() => resolve(value), ms));

describe('start line', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('watches before ready, then begins within a few ms of the start moment however slow etcd is', async () => {
    const order: string[] = [];
    let startMoment: Promise<number> | undefined;
    // A watch is a read and a stream opened, behind others' requests: slower than one put.
    const watch = (name: string) => answer(name, 2.5 * ETCD_ROUND_TRIP_MS).then(() => void order.push(`watching ${name}`));
    const line = reachStartLine({
      preparing: [watch('link faults'), watch('message drops'), watch('link changes'), watch('membership')],
      sayReady: async () => {
        await answer(undefined);
        order.push('ready');
        // The controller announces a moment LEAD_MS ahead once every node is ready; the node reads it one round trip later.
        startMoment = answer(Date.now() + LEAD_MS);
      },
      startMoment: () => startMoment!,
    });
    await vi.runAllTimersAsync();
    const { startedAt, lagMs } = await line;
    expect(order.at(-1)).toBe('ready');
    expect(order).toHaveLength(5);
    // Not a round trip after the moment, when the node read it, but at the moment itself.
    expect(Date.now()).toBe(startedAt);
    expect(lagMs).toBe(0);
  });

  it('reports how late a node that read the moment after it passed began', async () => {
    const line = reachStartLine({ preparing: [], sayReady: async () => {}, startMoment: () => answer(Date.now() - 50) });
    await vi.runAllTimersAsync();
    // The moment was 50 ms past when asked for, and its answer took a round trip more.
    expect((await line).lagMs).toBe(50 + ETCD_ROUND_TRIP_MS);
  });
});
