/**
 * The watchdog blames a node only for its own handler (src/runtime/sim/stuck.ts): at the deadline on a loaded
 * machine, a simulation between events or moving on must not be reported as "node N did not return".
 */
import { describe, expect, it } from 'vitest';
import { judge, STARVED_SHARE, type ThreadReading } from '../../src/runtime/sim/stuck.js';
import { Simulation } from '../../src/runtime/sim/simulation.js';
import { Handler, Slot } from '../../src/runtime/sim/watchdog-slots.js';
import { defineAlgorithm } from '../../src/sdk/index.js';
import { topology } from './sim-helpers.js';

const GRACE_MS = 500;
const inHandler: ThreadReading = { node: 7, handler: Handler.onMessage, from: 6, event: 41, cpuMs: 1_000 };

describe('the watchdog’s judgement after a grace period', () => {
  it('blames the node whose handler held the thread, burning CPU, for the whole grace period', () => {
    expect(judge(inHandler, { ...inHandler, cpuMs: 1_000 + GRACE_MS }, GRACE_MS)).toBe('stuck');
    expect(judge({ ...inHandler, handler: Handler.timer }, { ...inHandler, handler: Handler.timer, cpuMs: 1_400 }, GRACE_MS)).toBe('stuck');
  });

  it('does not blame the node that ran last while the simulator works between events (a collection, the reports)', () => {
    const between = { node: -1, handler: Handler.none, from: 6, event: 41 };
    expect(judge({ ...between, cpuMs: 1_000 }, { ...between, cpuMs: 1_000 + GRACE_MS }, GRACE_MS)).toBe('moving');
  });

  it('does not blame a node when the simulation moved on to another event', () => {
    expect(judge(inHandler, { ...inHandler, node: 12, event: 42, cpuMs: 1_000 + GRACE_MS }, GRACE_MS)).toBe('moving');
  });

  it('waits while the thread got too little CPU to tell', () => {
    expect(judge(inHandler, { ...inHandler, cpuMs: 1_000 + GRACE_MS * STARVED_SHARE - 10 }, GRACE_MS)).toBe('starved');
  });
});

describe('what the simulation tells its watchdog', () => {
  it('names the node and handler that run, and no node once the event’s code has settled', async () => {
    const slots = new Int32Array(Slot.count);
    const seen: string[] = [];
    const look = (where: string): void => void seen.push(`${where}: node ${slots[Slot.node]} handler ${slots[Slot.handler]}`);
    const algorithm = defineAlgorithm({
      name: 'watched',
      init(node) {
        if (node.id === '2') node.send('3', 'ping');
        if (node.id === '3') node.setTimer(5, () => look('timer at 3'));
      },
      async onMessage(node) {
        look(`message at ${node.id}`);
        await Promise.resolve(); // still its code: a microtask the message queued
        look(`after an await at ${node.id}`);
        node.result(null);
      },
    });
    const graph = await topology('ring:n=6');
    const simulation = new Simulation({ graph, algorithm, params: {}, seed: 1, maxPayloadBytes: 1024, watchdog: slots });
    simulation.startAll();
    const outcome = await simulation.run();
    expect(outcome.endReason).toBe('stalled'); // only node 3 reports, and nothing is left to happen
    expect(seen).toEqual([
      `message at 3: node 3 handler ${Handler.onMessage}`,
      `after an await at 3: node 3 handler ${Handler.onMessage}`,
      `timer at 3: node 3 handler ${Handler.timer}`,
    ]);
    // After the run (its reports, the outcome's copy) the simulator's own work: no node to blame.
    expect([slots[Slot.node], slots[Slot.handler]]).toEqual([-1, Handler.none]);
  });
});
