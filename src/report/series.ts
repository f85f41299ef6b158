import type { NodeReport } from '../coordination/protocol.js';
import { mergeBuckets, type TimelineBucket, type TimelineJson } from '../host/timeline.js';
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
  readonly metrics: Record<string, { mean: number; min: number; max: number; sum: number; nodes: number }>;
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
 * Each report is read once for the grid and once for its buckets, and only the buckets are kept, in typed
 * arrays: `reports` may decode each report as it is read (the simulator's PackedReports), and at 10⁶ nodes the
 * reports, or the buckets as objects, do not fit the main thread's heap.
 */
export function runSeries(reports: ReadonlyMap<string, NodeReport>): RunSeries {
  let stepMs = 1;
  for (const [, timeline] of timelinesOf(reports)) stepMs = Math.max(stepMs, timeline.bucketMs);
  const aligned = new AlignedTimelines();
  const resultTimes: number[] = [];
  let stepCount = 0;
  for (const [id, timeline] of timelinesOf(reports)) {
    stepCount = Math.max(stepCount, aligned.add(id, rebucket(timeline, stepMs)));
    if (timeline.resultMs === undefined) continue;
    resultTimes.push(timeline.resultMs);
    stepCount = Math.max(stepCount, Math.floor(timeline.resultMs / stepMs) + 1);
  }
  resultTimes.sort((a, b) => a - b);
  const metricNames = [...aligned.metricNames].sort();
  // Where each metric, in the order first seen, stands among the sorted names.
  const sortedIndex = Uint32Array.from(aligned.metricNames, (name) => metricNames.indexOf(name));

  // Each metric's latest value per node (in `aligned` order, the order the sums were always taken in): a step
  // then reads flat arrays, where one array per metric and step of every node's values made a run of 10⁵ nodes
  // spend seconds here (minutes on a loaded host).
  const latest = metricNames.map(() => new Float64Array(aligned.ids.length));
  const isSet = metricNames.map(() => new Uint8Array(aligned.ids.length));
  const sentPerStep = new Float64Array(stepCount);
  const steps: RunStep[] = [];
  let done = 0;
  let index = 0;
  const closeStepsBefore = (step: number): void => {
    for (; index < step; index++) {
      const end = (index + 1) * stepMs;
      const metrics: RunStep['metrics'] = {};
      metricNames.forEach((name, metric) => {
        const values = latest[metric]!;
        const set = isSet[metric]!;
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
        if (nodes > 0) metrics[name] = { mean: sum / nodes, min, max, sum, nodes };
      });
      while (done < resultTimes.length && resultTimes[done]! < end) done++;
      const sent = sentPerStep[index]!;
      steps.push({ t: index * stepMs, sent, messagesPerSecond: (sent * 1000) / stepMs, done, metrics });
    }
  };
  for (const { step, node, bucket } of aligned.byStep(stepCount)) {
    closeStepsBefore(step);
    sentPerStep[step] = sentPerStep[step]! + aligned.sent.at(bucket);
    aligned.forEachMetric(bucket, (metric, value) => {
      latest[sortedIndex[metric]!]![node] = value;
      isSet[sortedIndex[metric]!]![node] = 1;
    });
  }
  closeStepsBefore(stepCount);

  const metricColumns = metricNames.map((name) => `metric_${name}`);
  return {
    stepMs,
    steps,
    metricNames,
    columns: ['t_ms', 'node', 'sent', 'received', ...metricColumns],
    rowCount: aligned.bucketCount,
    *rows() {
      const cells: Array<number | string> = metricNames.map(() => '');
      for (const { step, node, bucket } of aligned.byStep(stepCount)) {
        cells.fill('');
        aligned.forEachMetric(bucket, (metric, value) => (cells[sortedIndex[metric]!] = value));
        const row: Record<string, number | string> = { t_ms: step * stepMs, node: aligned.ids[node]!, sent: aligned.sent.at(bucket), received: aligned.received.at(bucket) };
        metricColumns.forEach((column, metric) => (row[column] = cells[metric]!));
        yield row;
      }
    },
  };
}

/** Each report's timeline, for the reports that have one, in the reports' order. */
function* timelinesOf(reports: ReadonlyMap<string, NodeReport>): Generator<[string, TimelineJson]> {
  for (const [id, report] of reports) if (report.timeline !== undefined) yield [id, report.timeline];
}

/** The nodes' timelines on one grid, in columns: per node its buckets that are not empty, per bucket its step, counts and metrics. */
class AlignedTimelines {
  readonly ids: string[] = [];
  /** Metric names in the order first seen; `metrics` holds indexes into it. */
  readonly metricNames: string[] = [];
  private readonly metricIndex = new Map<string, number>();
  /** Per node, where its buckets start; one more at the end. */
  private readonly nodeStarts = new GrowingArray(Uint32Array);
  private readonly steps = new GrowingArray(Uint32Array);
  readonly sent = new GrowingArray(Float64Array);
  readonly received = new GrowingArray(Float64Array);
  /** Per bucket, where its metrics start in `metrics` and `values`; one more at the end. */
  private readonly metricStarts = new GrowingArray(Uint32Array);
  private readonly metrics = new GrowingArray(Uint32Array);
  private readonly values = new GrowingArray(Float64Array);

  constructor() {
    this.nodeStarts.push(0);
    this.metricStarts.push(0);
  }

  get bucketCount(): number {
    return this.steps.length;
  }

  /** Adds a node's buckets; returns how many steps they span. */
  add(id: string, buckets: ReadonlyArray<TimelineBucket | null>): number {
    this.ids.push(id);
    buckets.forEach((bucket, step) => {
      if (!bucket) return;
      this.steps.push(step);
      this.sent.push(bucket.sent);
      this.received.push(bucket.received);
      for (const [name, value] of Object.entries(bucket.metrics ?? {})) {
        let metric = this.metricIndex.get(name);
        if (metric === undefined) this.metricIndex.set(name, (metric = this.metricNames.push(name) - 1));
        this.metrics.push(metric);
        this.values.push(value);
      }
      this.metricStarts.push(this.metrics.length);
    });
    this.nodeStarts.push(this.steps.length);
    return buckets.length;
  }

  forEachMetric(bucket: number, visit: (metric: number, value: number) => void): void {
    for (let at = this.metricStarts.at(bucket); at < this.metricStarts.at(bucket + 1); at++) visit(this.metrics.at(at), this.values.at(at));
  }

  /** Every bucket, step by step, and within a step node by node. */
  *byStep(stepCount: number): Generator<{ step: number; node: number; bucket: number }> {
    const nodes = this.ids.length;
    const next = Uint32Array.from({ length: nodes }, (_, node) => this.nodeStarts.at(node));
    for (let step = 0; step < stepCount; step++) {
      for (let node = 0; node < nodes; node++) {
        const bucket = next[node]!;
        if (bucket === this.nodeStarts.at(node + 1) || this.steps.at(bucket) !== step) continue;
        next[node] = bucket + 1;
        yield { step, node, bucket };
      }
    }
  }
}

function rebucket(timeline: TimelineJson, stepMs: number): Array<TimelineBucket | null> {
  const factor = stepMs / timeline.bucketMs;
  const out: Array<TimelineBucket | null> = [];
  timeline.buckets.forEach((bucket, index) => {
    const target = Math.floor(index / factor);
    out[target] = mergeBuckets(out[target] ?? null, bucket);
  });
  return Array.from(out, (bucket) => bucket ?? null);
}
