import { describe, expect, it } from 'vitest';
import { aggregateNodeMetrics, nodeMetricColumn } from '../../src/run/node-metrics.js';

describe('per-node metrics aggregated per run', () => {
  it('gives mean, sum, min, max and median over the nodes that set each metric', () => {
    const aggregates = aggregateNodeMetrics([{ metrics: { hops: 1, load: 4 } }, { metrics: { hops: 4 } }, { metrics: { hops: 2, load: 1 } }, { metrics: { hops: 9 } }, { metrics: {} }]);
    expect(aggregates).toEqual({
      hops: { mean: 4, sum: 16, min: 1, max: 9, median: 3 },
      load: { mean: 2.5, sum: 5, min: 1, max: 4, median: 2.5 },
    });
    expect(nodeMetricColumn('hops', 'median')).toBe('node.hops.median');
  });

  it('skips values that are not finite numbers and has nothing for no nodes', () => {
    expect(aggregateNodeMetrics([{ metrics: { x: Number.NaN } }, { metrics: { x: 2 } }])).toEqual({ x: { mean: 2, sum: 2, min: 2, max: 2, median: 2 } });
    expect(aggregateNodeMetrics([])).toEqual({});
  });

  it('grows about linearly with the nodes (it runs on every run summary, 10⁵ nodes and more in the simulator)', () => {
    const nodes = (count: number) => Array.from({ length: count }, (_, index) => ({ metrics: { level: index % 17, sent: index * 3, fragment: count - index } }));
    // The least CPU time of five, so a busy machine's pauses weigh little; CPU time, not wall time, for the same reason.
    const cpuMs = (perNode: ReturnType<typeof nodes>) =>
      Math.min(
        ...[1, 2, 3, 4, 5].map(() => {
          const before = process.cpuUsage();
          aggregateNodeMetrics(perNode);
          const used = process.cpuUsage(before);
          return (used.user + used.system) / 1000;
        }),
      );
    const small = nodes(12_500);
    const large = nodes(100_000);
    cpuMs(small); // warm up the JIT
    // Eight times the nodes: n log n gives about 9×, a copy per node (the bug this guards against) gives 64×.
    expect(cpuMs(large) / Math.max(cpuMs(small), 1)).toBeLessThan(24);
  });
});
