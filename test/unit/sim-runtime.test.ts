import { describe, expect, it } from 'vitest';
import { PeerlabError } from '../../src/errors.js';
import { constantDelay, Simulation, SimRuntime, type TraceEvent } from '../../src/runtime/sim/index.js';
import { loadAlgorithm, topology } from './sim-helpers.js';

async function floodOnLine(trace?: (event: TraceEvent) => void) {
  const algorithm = await loadAlgorithm('algorithms/flood.ts');
  const graph = await topology('line:n=10');
  const simulation = new Simulation({ graph, algorithm, params: {}, seed: 1, maxPayloadBytes: 1 << 20, delay: constantDelay(1), trace });
  const runtime = new SimRuntime('sim-test', simulation);
  await runtime.startNodes(graph.nodes().map((id) => ({ id, env: {} })));
  return { simulation, runtime };
}

describe('SimRuntime', () => {
  // Killed, not stopped: a node that stops leaves node.neighbours at once, and flood would not send to it.
  it('killing a node loses the messages to it', async () => {
    const trace: TraceEvent[] = [];
    const { simulation, runtime } = await floodOnLine((event) => trace.push(event));
    simulation.at(0.5, () => void runtime.killNode('5'));
    const outcome = await simulation.run();
    expect(outcome.endReason).toBe('stalled');
    // The stopped node is not waited for: it departed; those behind it, alive, are missing.
    expect(outcome.missing).toEqual(['6', '7', '8', '9']);
    expect([...outcome.departed.keys()]).toEqual(['5']);
    expect(outcome.reports.has('5')).toBe(false);
    expect(trace).toContainEqual(expect.objectContaining({ type: 'drop', from: '4', to: '5', time: 5 }));
    const states = Object.fromEntries((await runtime.listNodes()).map((node) => [node.id, node.state]));
    expect(states['5']).toBe('dead');
    expect(states['4']).toBe('running');
  });

  it('pausing holds a node’s deliveries until it is resumed', async () => {
    const { simulation, runtime } = await floodOnLine();
    simulation.at(0.5, () => void runtime.pauseNode('5'));
    simulation.at(50, () => {
      expect(simulation.nodeState('5')).toBe('paused');
      void runtime.resumeNode('5');
    });
    const outcome = await simulation.run();
    expect(outcome.endReason).toBe('complete');
    expect(outcome.virtualTimeMs).toBe(54);
    expect(outcome.results.get('9')).toMatchObject({ distance: 9, parent: '8' });
  });

  it('keeps each node’s log tail', async () => {
    const algorithm = await loadAlgorithm('test/fixtures/sim-store.ts');
    const lines: string[] = [];
    const simulation = new Simulation({
      graph: await topology('ring:n=4'),
      algorithm,
      params: {},
      seed: 1,
      maxPayloadBytes: 1 << 20,
      log: (id, line, time) => lines.push(`${time} ${id}: ${line}`),
    });
    const runtime = new SimRuntime('sim-test', simulation);
    await runtime.startNodes(['0', '1', '2', '3'].map((id) => ({ id, env: {} })));
    await simulation.run();
    expect(await runtime.logTail('2', 10)).toBe('saw from 0 at 5');
    expect(lines).toContain('5 1: saw from 0 at 5');
  });

  it('says clearly what the simulator cannot do, and destroys', async () => {
    const { runtime } = await floodOnLine();
    await expect(runtime.exec('1', ['ls'])).rejects.toThrow(/not supported in the simulator/);
    await expect(runtime.connectNode('1', 'net')).rejects.toBeInstanceOf(PeerlabError);
    await expect(runtime.disconnectNode('1', 'net')).rejects.toThrow(/not supported in the simulator/);
    await expect(runtime.stopNode('99')).rejects.toThrow(/no node 99/);
    expect(runtime.kind).toBe('sim');
    expect(await runtime.listNodes()).toHaveLength(10);
    await runtime.destroy();
    expect(await runtime.listNodes()).toEqual([]);
  });
});
