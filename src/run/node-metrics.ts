import { GrowingArray } from '../util/growing-array.js';

/** How a per-node metric (`node.metric(name, value)`) becomes one number per run, for summary.csv and plots. */
export const NODE_AGGREGATIONS = ['mean', 'sum', 'min', 'max', 'median'] as const;
export type NodeAggregation = (typeof NODE_AGGREGATIONS)[number];

/** Metric name → aggregation → value, over the nodes that set the metric (a node that never set it is not a 0). */
export type NodeMetricAggregates = Record<string, Record<NodeAggregation, number>>;

export function aggregateNodeMetrics(perNode: Iterable<{ readonly metrics: Readonly<Record<string, number>> }>): NodeMetricAggregates {
  // Typed arrays, sorted natively: a 10⁶-node GHS sets nine metrics on every node, which took 4.1–6.8 s as arrays of
  // numbers sorted with a comparator, 2.1–2.4 s so. The order is the same but for -0 and 0 (the native sort puts -0
  // first), which sum alike and print alike.
  const values = new Map<string, GrowingArray<Float64Array>>();
  for (const { metrics } of perNode) {
    for (const name in metrics) {
      const value = metrics[name]!;
      if (!Number.isFinite(value)) continue;
      let list = values.get(name);
      if (list === undefined) values.set(name, (list = new GrowingArray(Float64Array)));
      list.push(value);
    }
  }
  const aggregates: NodeMetricAggregates = {};
  for (const [name, list] of [...values].sort(([a], [b]) => a.localeCompare(b))) {
    const sorted = list.view().sort();
    let sum = 0;
    for (const value of sorted) sum += value;
    const middle = Math.floor(sorted.length / 2);
    aggregates[name] = {
      mean: sum / sorted.length,
      sum,
      min: sorted[0]!,
      max: sorted.at(-1)!,
      median: sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2,
    };
  }
  return aggregates;
}

/** summary.csv's column of a node metric under an aggregation: `node.<metric>.<aggregation>`. */
export function nodeMetricColumn(metric: string, aggregation: NodeAggregation): string {
  return `node.${metric}.${aggregation}`;
}
