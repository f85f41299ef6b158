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
});
