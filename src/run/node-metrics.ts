/** How a per-node metric (`node.metric(name, value)`) becomes one number per run, for summary.csv and plots. */
export const NODE_AGGREGATIONS = ['mean', 'sum', 'min', 'max', 'median'] as const;
export type NodeAggregation = (typeof NODE_AGGREGATIONS)[number];

/** Metric name → aggregation → value, over the nodes that set the metric (a node that never set it is not a 0). */
export type NodeMetricAggregates = Record<string, Record<NodeAggregation, number>>;

export function aggregateNodeMetrics(perNode: Iterable<{ readonly metrics: Readonly<Record<string, number>> }>): NodeMetricAggregates {
  const values = new Map<string, number[]>();
  for (const { metrics } of perNode) {
    for (const [name, value] of Object.entries(metrics)) {
      if (!Number.isFinite(value)) continue;
      // Appended in place: copying the list per node made this quadratic, minutes at 10⁵ nodes after report.html.
      const list = values.get(name);
      if (list) list.push(value);
      else values.set(name, [value]);
    }
  }
  const aggregates: NodeMetricAggregates = {};
  for (const [name, list] of [...values].sort(([a], [b]) => a.localeCompare(b))) {
    const sorted = list.sort((a, b) => a - b);
    const sum = sorted.reduce((total, value) => total + value, 0);
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
