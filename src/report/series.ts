import type { NodeReport } from '../coordination/protocol.js';
import type { TimelineJson } from '../host/timeline.js';
import { GrowingArray } from '../util/growing-array.js';

/** One time step of the whole run, from every node's timeline. */
export interface RunStep {
  /** Start of the step, in ms of the run clock (virtual in the simulator). */
  readonly t: number;
  readonly sent: number;
  readonly messagesPerSecond: number;
  /** Nodes with a result by the end of the step. */
  readonly done: number;
  /** Per metric, over the nodes that have set it so far (each at its latest value). */
  readonly metrics: Record<string, MetricStep>;
}

export interface MetricStep {
  readonly mean: number;
  readonly min: number;
  readonly max: number;
  readonly sum: number;
  readonly nodes: number;
}

export interface RunSeries {
  readonly stepMs: number;
  readonly steps: RunStep[];
  readonly metricNames: string[];
  /** The columns of timeseries.csv, and how many rows rows() makes. */
  readonly columns: string[];
  readonly rowCount: number;
  /**
   * Per step and per node that did something in it, what it did: the rows of timeseries.csv, each made as it is
   * read. A ba:n=10⁴ GHS has 12 per node, so a 10⁶-node run has about 1.2·10⁷: as an array of objects, more than
   * the main thread's heap.
   */
  rows(): Generator<Record<string, number | string>>;
}

/**
 * Puts the nodes' timelines on one time grid (the widest node's bucket width) and aggregates them per step.
 * Each report's timeline is read once, and only its buckets are kept, in typed arrays: `reports` may decode each
 * report as it is read (the simulator's PackedReports), and at 10⁶ nodes the reports, or the buckets as objects,
 * do not fit the main thread's heap.
 */
export function runSeries(reports: ReadonlyMap<string, NodeReport>): RunSeries {
  const buckets = new BucketColumns();
  const resultTimes: number[] = [];
  for (const [id, report] of reports) {
    const { timeline } = report;
    if (timeline === undefined) continue;
    buckets.addNode(id, timeline);
    if (timeline.resultMs !== undefined) resultTimes.push(timeline.resultMs);
  }
  const { stepMs, stepCount: bucketSteps } = buckets.putOnGrid();
  let stepCount = bucketSteps;
  for (const resultMs of resultTimes) stepCount = Math.max(stepCount, Math.floor(resultMs / stepMs) + 1);
  resultTimes.sort((a, b) => a - b);
  const metricNames = [...buckets.metricNames].sort();
  // Where each metric, in the order first seen, stands among the sorted names.
  const sortedIndex = Uint32Array.from(buckets.metricNames, (name) => metricNames.indexOf(name));
  const order = buckets.byStep(stepCount);

  // Each metric's latest value per node (in the reports' order, the order the sums were always taken in): a step
  // then reads flat arrays, where one array per metric and step of every node's values made a run of 10⁵ nodes
  // spend seconds here (minutes on a loaded host).
  const nodeCount = buckets.ids.length;
  const latest = metricNames.map(() => new Float64Array(nodeCount));
  const isSet = metricNames.map(() => new Uint8Array(nodeCount));
  // A metric no node set in a step has the aggregate it had: only those set are summed again, over every node.
  const changed = new Uint8Array(metricNames.length);
  const current: Array<MetricStep | undefined> = metricNames.map(() => undefined);
  const steps: RunStep[] = [];
  let done = 0;
  let at = 0;
  for (let step = 0; step < stepCount; step++) {
    let sent = 0;
    for (; at < order.length && buckets.steps.at(order[at]!) === step; at++) {
      const bucket = order[at]!;
      const node = buckets.nodes.at(bucket);
      sent += buckets.sent.at(bucket);
      for (let place = buckets.metricStarts.at(bucket); place < buckets.metricStarts.at(bucket + 1); place++) {
        const metric = sortedIndex[buckets.metrics.at(place)]!;
        latest[metric]![node] = buckets.values.at(place);
        isSet[metric]![node] = 1;
        changed[metric] = 1;
      }
    }
    const metrics: RunStep['metrics'] = {};
    metricNames.forEach((name, metric) => {
      if (changed[metric] === 1) current[metric] = aggregate(latest[metric]!, isSet[metric]!);
      changed[metric] = 0;
      const value = current[metric];
      if (value !== undefined) metrics[name] = { ...value };
    });
    const end = (step + 1) * stepMs;
    while (done < resultTimes.length && resultTimes[done]! < end) done++;
    steps.push({ t: step * stepMs, sent, messagesPerSecond: (sent * 1000) / stepMs, done, metrics });
  }

  const metricColumns = metricNames.map((name) => `metric_${name}`);
  return {
    stepMs,
    steps,
    metricNames,
    columns: ['t_ms', 'node', 'sent', 'received', ...metricColumns],
    rowCount: order.length,
    *rows() {
      const cells: Array<number | string> = metricNames.map(() => '');
      for (const bucket of order) {
        cells.fill('');
        for (let place = buckets.metricStarts.at(bucket); place < buckets.metricStarts.at(bucket + 1); place++) {
          cells[sortedIndex[buckets.metrics.at(place)]!] = buckets.values.at(place);
        }
        const row: Record<string, number | string> = {
          t_ms: buckets.steps.at(bucket) * stepMs,
          node: buckets.ids[buckets.nodes.at(bucket)]!,
          sent: buckets.sent.at(bucket),
          received: buckets.received.at(bucket),
        };
        metricColumns.forEach((column, metric) => (row[column] = cells[metric]!));
        yield row;
      }
    },
  };
}

/** Sum, range and mean of the values of the nodes that set them; undefined when none did. */
function aggregate(values: Float64Array, set: Uint8Array): MetricStep | undefined {
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  let nodes = 0;
  for (let node = 0; node < values.length; node++) {
    if (set[node] === 0) continue;
    const value = values[node]!;
    sum += value;
    min = Math.min(min, value);
    max = Math.max(max, value);
    nodes++;
  }
  return nodes === 0 ? undefined : { mean: sum / nodes, min, max, sum, nodes };
}

/**
 * The nodes' buckets that are not empty, in columns, node after node and in time order within a node: per bucket
 * its node, its place in time (its index in the node's timeline, then its step on the run's grid), its counts and
 * where its metrics start in `metrics` and `values`.
 */
class BucketColumns {
  readonly ids: string[] = [];
  /** Metric names in the order first seen; `metrics` holds indexes into it. */
  readonly metricNames: string[] = [];
  private readonly metricIndex = new Map<string, number>();
  /** Per node: its bucket width, and how many buckets its timeline has (empty ones too). */
  private readonly bucketMs: number[] = [];
  private readonly lengths: number[] = [];
  readonly nodes = new GrowingArray(Uint32Array);
  readonly steps = new GrowingArray(Uint32Array);
  readonly sent = new GrowingArray(Float64Array);
  readonly received = new GrowingArray(Float64Array);
  /** Per bucket, where its metrics start in `metrics` and `values`; one more at the end. */
  readonly metricStarts = new GrowingArray(Uint32Array);
  readonly metrics = new GrowingArray(Uint32Array);
  readonly values = new GrowingArray(Float64Array);

  constructor() {
    this.metricStarts.push(0);
  }

  addNode(id: string, timeline: TimelineJson): void {
    const node = this.ids.push(id) - 1;
    this.bucketMs.push(timeline.bucketMs);
    this.lengths.push(timeline.buckets.length);
    timeline.buckets.forEach((bucket, index) => {
      if (!bucket) return;
      this.nodes.push(node);
      this.steps.push(index);
      this.sent.push(bucket.sent);
      this.received.push(bucket.received);
      for (const name in bucket.metrics) {
        let metric = this.metricIndex.get(name);
        if (metric === undefined) this.metricIndex.set(name, (metric = this.metricNames.push(name) - 1));
        this.metrics.push(metric);
        this.values.push(bucket.metrics[name]!);
      }
      this.metricStarts.push(this.metrics.length);
    });
  }

  /**
   * Widens every node's buckets to the widest node's, in place: a node's buckets that fall in one step become
   * one, their counts summed and each metric at its last value, in the place it was first set. Returns the width
   * and how many steps the widened timelines span.
   */
  putOnGrid(): { stepMs: number; stepCount: number } {
    const stepMs = this.bucketMs.reduce((widest, ms) => Math.max(widest, ms), 1);
    let stepCount = 0;
    this.lengths.forEach((length, node) => {
      if (length > 0) stepCount = Math.max(stepCount, Math.floor((length - 1) / (stepMs / this.bucketMs[node]!)) + 1);
    });
    const { nodes, steps, sent, received, metricStarts, metrics, values } = this;
    const count = nodes.length;
    let kept = -1;
    let keptMetrics = 0;
    for (let bucket = 0; bucket < count; bucket++) {
      const node = nodes.at(bucket);
      const step = Math.floor(steps.at(bucket) / (stepMs / this.bucketMs[node]!));
      const from = metricStarts.at(bucket);
      const to = metricStarts.at(bucket + 1);
      if (kept >= 0 && nodes.at(kept) === node && steps.at(kept) === step) {
        sent.set(kept, sent.at(kept) + sent.at(bucket));
        received.set(kept, received.at(kept) + received.at(bucket));
      } else {
        kept += 1;
        nodes.set(kept, node);
        steps.set(kept, step);
        sent.set(kept, sent.at(bucket));
        received.set(kept, received.at(bucket));
        metricStarts.set(kept, keptMetrics);
      }
      const keptFrom = metricStarts.at(kept);
      for (let place = from; place < to; place++) {
        const metric = metrics.at(place);
        let same = keptFrom;
        while (same < keptMetrics && metrics.at(same) !== metric) same++;
        if (same === keptMetrics) metrics.set(keptMetrics++, metric);
        values.set(same, values.at(place));
      }
    }
    const keptCount = kept + 1;
    metricStarts.set(keptCount, keptMetrics);
    for (const column of [nodes, steps, sent, received]) column.truncate(keptCount);
    metricStarts.truncate(keptCount + 1);
    metrics.truncate(keptMetrics);
    values.truncate(keptMetrics);
    return { stepMs, stepCount };
  }

  /** Every bucket's index, step by step, and within a step in the nodes' order (a stable counting sort by step). */
  byStep(stepCount: number): Uint32Array {
    const starts = new Uint32Array(stepCount + 1);
    for (let bucket = 0; bucket < this.steps.length; bucket++) starts[this.steps.at(bucket) + 1]! += 1;
    for (let step = 0; step < stepCount; step++) starts[step + 1]! += starts[step]!;
    const order = new Uint32Array(this.steps.length);
    for (let bucket = 0; bucket < this.steps.length; bucket++) order[starts[this.steps.at(bucket)]!++] = bucket;
    return order;
  }
}
