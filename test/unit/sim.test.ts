import { beforeAll, describe, expect, it } from 'vitest';
import type { Algorithm, Json } from '../../src/sdk/types.js';
import { constantDelay, parseDelay, simulate, type DelayContext, type SimulationOptions, type SimulationSettings, type TraceEvent } from '../../src/runtime/sim/index.js';
import { verifyFlood } from '../../src/verify/flood.js';
import type { Topology } from '../../src/topology/index.js';
import { loadAlgorithm, topology } from './sim-helpers.js';

const MAX_PAYLOAD = 1024 * 1024;

function options(graph: Topology, algorithm: Algorithm, extra: Partial<SimulationSettings> & { params?: Json } = {}): SimulationOptions {
  return { graph, algorithm, params: {}, seed: 1, maxPayloadBytes: MAX_PAYLOAD, ...extra };
}

describe('simulate: flood', () => {
  let flood: Algorithm;
  let graph: Topology;
  beforeAll(async () => {
    flood = await loadAlgorithm('algorithms/flood.ts');
    graph = await topology('ba:n=200,m=2');
  });

  it('floods ba:n=200,m=2 along a valid tree under the default (exponential) delay', async () => {
    const outcome = await simulate(options(graph, flood));
    expect(outcome.endReason).toBe('complete');
    expect(outcome.timedOut).toBe(false);
    expect(outcome.failure).toBeUndefined();
    expect(outcome.missing).toEqual([]);
    expect(outcome.results.size).toBe(200);
    expect(outcome.reports.size).toBe(200);
    const verdict = verifyFlood({ graph, results: outcome.results, params: {} });
    expect(verdict.failures).toEqual([]);
    expect(verdict.passed).toBe(true);
  });

  it('follows BFS exactly under a constant delay', async () => {
    const outcome = await simulate(options(graph, flood, { delay: constantDelay(1) }));
    const verdict = verifyFlood({ graph, results: outcome.results, params: {} });
    expect(verdict.passed).toBe(true);
    expect(verdict.metrics.exactDistanceShare).toBe(1);
    // Synchronous rounds: the last node is reached at the eccentricity of the root.
    expect(outcome.virtualTimeMs).toBe(verdict.metrics.eccentricity);
  });

  it('counts every message in the node reports', async () => {
    const outcome = await simulate(options(graph, flood, { delay: constantDelay(1) }));
    let sent = 0;
    for (const report of outcome.reports.values()) for (const edge of Object.values(report.sent)) sent += edge.messages;
    expect(sent).toBe(outcome.messages);
    expect(outcome.reports.get('0')!.sent).toHaveProperty(graph.neighbors('0')[0]!);
  });

  it('is deterministic: the same seed replays bit for bit, another seed does not', async () => {
    const run = async (seed: number) => {
      const trace: TraceEvent[] = [];
      const outcome = await simulate(options(graph, flood, { seed, trace: (event) => trace.push(event) }));
      const { wallMs: _wall, cpuMs: _cpu, ...rest } = outcome;
      return { ...rest, results: [...outcome.results], reports: [...outcome.reports], trace };
    };
    const first = await run(7);
    const second = await run(7);
    expect(second).toEqual(first);
    expect(JSON.stringify(second)).toBe(JSON.stringify(first));
    expect(first.trace.some((event) => event.type === 'send')).toBe(true);
    const other = await run(8);
    expect(JSON.stringify(other.trace)).not.toBe(JSON.stringify(first.trace));
  });
});

describe('simulate: what the delay model and the trace see', () => {
  it('shows the delay model each message as it is sent, though one context serves them all', async () => {
    const flood = await loadAlgorithm('algorithms/flood.ts');
    const graph = await topology('ba:n=60,m=2');
    const seen: Array<{ from: string; to: string; time: number; bytes: number; weight: number }> = [];
    const recording = {
      spec: 'recording',
      delay: (context: DelayContext) => {
        seen.push({ from: context.from, to: context.to, time: context.now, bytes: context.bytes, weight: context.weight });
        return context.random.next();
      },
    };
    const trace: TraceEvent[] = [];
    const outcome = await simulate(options(graph, flood, { delay: recording, trace: (event) => trace.push(event) }));
    expect(outcome.endReason).toBe('complete');
    const sends = trace.flatMap((event) => (event.type === 'send' ? [{ from: event.from, to: event.to, time: event.time, bytes: event.bytes }] : []));
    expect(sends).toHaveLength(outcome.messages);
    expect(seen.map(({ weight: _weight, ...message }) => message)).toEqual(sends);
    for (const { from, to, weight } of seen) expect(weight).toBe(graph.getEdgeAttribute(graph.edge(from, to)!, 'weight'));
  });

  it('gives the same outcome traced and untraced', async () => {
    const flood = await loadAlgorithm('algorithms/flood.ts');
    const graph = await topology('ba:n=200,m=2');
    const run = async (trace?: (event: TraceEvent) => void) => {
      const { wallMs: _wall, cpuMs: _cpu, ...outcome } = await simulate(options(graph, flood, { seed: 3, trace }));
      return JSON.stringify({ ...outcome, results: [...outcome.results], reports: [...outcome.reports] });
    };
    expect(await run(() => {})).toBe(await run());
  });
});

describe('simulate: SDK semantics', () => {
  it('keeps per-edge FIFO order under a widely spread delay, and reorders without it', async () => {
    const probe = await loadAlgorithm('test/fixtures/fifo-probe.ts');
    const graph = await topology('ba:n=30,m=2');
    const outOfOrder = async (fifo: boolean) => {
      const outcome = await simulate(options(graph, probe, { params: { count: 50 }, delay: parseDelay('uniform:0..100'), fifo }));
      expect(outcome.endReason).toBe('complete');
      return [...outcome.results.values()].reduce<number>((sum, value) => sum + (value as { outOfOrder: number }).outOfOrder, 0);
    };
    expect(await outOfOrder(true)).toBe(0);
    expect(await outOfOrder(false)).toBeGreaterThan(0);
  });

  it('opens a barrier only when the last node arrives', async () => {
    const algorithm = await loadAlgorithm('test/fixtures/sim-barrier.ts');
    const outcome = await simulate(options(await topology('ring:n=20'), algorithm));
    expect(outcome.endReason).toBe('complete');
    const values = [...outcome.results.values()] as Array<{ arrived: number; passed: number; passedSecond: number }>;
    const lastArrival = Math.max(...values.map((v) => v.arrived));
    expect(new Set(values.map((v) => v.arrived)).size).toBeGreaterThan(10);
    for (const { passed, passedSecond } of values) {
      expect(passed).toBe(lastArrival);
      expect(passedSecond).toBeGreaterThanOrEqual(passed);
    }
    expect(new Set(values.map((v) => v.passedSecond)).size).toBe(1);
  });

  it('serves the shared store: waitFor wakes on put, waitForDelete on delete, at the virtual time they happen', async () => {
    const algorithm = await loadAlgorithm('test/fixtures/sim-store.ts');
    const outcome = await simulate(options(await topology('ring:n=5'), algorithm));
    expect(outcome.endReason).toBe('complete');
    expect(outcome.results.get('0')).toEqual({ value: null, at: 20 });
    for (const id of ['1', '2', '3', '4']) expect(outcome.results.get(id)).toEqual({ value: 'from 0', at: 5, deletedAt: 20 });
  });

  it('lets all of a handler’s async work finish at the delivery’s virtual time', async () => {
    const algorithm = await loadAlgorithm('test/fixtures/async-relay.ts');
    const outcome = await simulate(options(await topology('ba:n=100,m=2'), algorithm, { delay: constantDelay(1) }));
    expect(outcome.endReason).toBe('complete');
    for (const value of outcome.results.values()) {
      const { hops, at } = value as { hops: number; at: number };
      expect(at).toBe(hops);
    }
  });
});

describe('simulate: failures and timeouts', () => {
  it('stops at the first failure and names the node, with its stack', async () => {
    const algorithm = await loadAlgorithm('test/fixtures/throw-on-node-7.ts');
    const trace: TraceEvent[] = [];
    const outcome = await simulate(options(await topology('ba:n=50,m=2'), algorithm, { trace: (event) => trace.push(event) }));
    expect(outcome.endReason).toBe('failure');
    expect(outcome.timedOut).toBe(false);
    expect(outcome.failure?.nodeId).toBe('7');
    expect(outcome.failure?.message).toBe('fixture: node 7 fails on purpose');
    expect(outcome.failure?.stack).toMatch(/fails on purpose[\s\S]*\n\s+at /);
    expect(outcome.missing).toContain('7');
    // The run stops: nothing is delivered after the failure.
    const failedAt = trace.findIndex((event) => event.type === 'failure');
    expect(failedAt).toBeGreaterThanOrEqual(0);
    expect(trace.slice(failedAt).some((event) => event.type === 'deliver' || event.type === 'timer')).toBe(false);
  });

  it('reports a node that never calls result as missing when nothing is left to happen', async () => {
    const algorithm = await loadAlgorithm('test/fixtures/silent-node-3.ts');
    const outcome = await simulate(options(await topology('ring:n=10'), algorithm));
    expect(outcome.timedOut).toBe(true);
    expect(outcome.endReason).toBe('stalled');
    expect(outcome.missing).toEqual(['3']);
    expect(outcome.results.size).toBe(9);
  });

  it('stops at the virtual timeout', async () => {
    const algorithm = await loadAlgorithm('test/fixtures/tick-forever.ts');
    const outcome = await simulate(options(await topology('ring:n=10'), algorithm, { params: { period: 10 }, timeoutMs: 5_000 }));
    expect(outcome.timedOut).toBe(true);
    expect(outcome.endReason).toBe('timeout');
    expect(outcome.virtualTimeMs).toBe(5_000);
    expect(outcome.missing).toEqual(['3']);
  });

  it('stops a zero-delay livelock at the event cap', async () => {
    const algorithm = await loadAlgorithm('test/fixtures/tick-forever.ts');
    const outcome = await simulate(options(await topology('ring:n=10'), algorithm, { params: { period: 0 }, maxEvents: 10_000 }));
    expect(outcome.timedOut).toBe(false);
    expect(outcome.endReason).toBe('event-cap');
    expect(outcome.events).toBe(10_000);
    expect(outcome.virtualTimeMs).toBe(0);
    expect(outcome.missing).toEqual(['3']);
  });

  it('fails a node that sends to a non-neighbour', async () => {
    const algorithm = await loadAlgorithm('test/fixtures/bad-send.ts');
    const outcome = await simulate(options(await topology('ring:n=10'), algorithm, { params: { mode: 'non-neighbour' } }));
    expect(outcome.endReason).toBe('failure');
    expect(outcome.failure?.nodeId).toBe('5');
    expect(outcome.failure?.message).toMatch(/node 5 cannot send to 0: not an overlay neighbour/);
    expect(outcome.failure?.stack).toBeDefined();
  });

  it('fails a node that sends an unserialisable payload', async () => {
    const algorithm = await loadAlgorithm('test/fixtures/bad-send.ts');
    const outcome = await simulate(options(await topology('ring:n=10'), algorithm, { params: { mode: 'unserialisable' } }));
    expect(outcome.endReason).toBe('failure');
    expect(outcome.failure?.nodeId).toBe('5');
    expect(outcome.failure?.message).toMatch(/node 5: payload to 4 is not serialisable/);
  });

  it('refuses parameters the algorithm rejects before any node starts', async () => {
    const algorithm = await loadAlgorithm('test/fixtures/bad-send.ts');
    await expect(simulate(options(await topology('ring:n=4'), algorithm, { params: { mode: 'nonsense' } as Json }))).rejects.toThrow(
      /parameters of bad-send: mode/,
    );
  });

  it('rejects (does not blame a node) when the delay model misbehaves', async () => {
    const flood = await loadAlgorithm('algorithms/flood.ts');
    const delay = { spec: 'broken', delay: () => Number.NaN };
    await expect(simulate(options(await topology('ring:n=4'), flood, { delay }))).rejects.toThrow(/delay model broken gave NaN/);
  });
});
