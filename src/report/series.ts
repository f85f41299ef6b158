import type { NodeReport } from '../coordination/protocol.js';
import { mergeBuckets, type TimelineBucket, type TimelineJson } from '../host/timeline.js';
import { maxOf } from '../util/extremes.js';

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
  /** Per node and step, what it did: the rows of timeseries.csv. */
  readonly perNode: Array<Record<string, number | string>>;
  readonly metricNames: string[];
}

/** Puts the nodes' timelines on one time grid (the widest node's bucket width) and aggregates them per step. */
export function runSeries(reports: ReadonlyMap<string, NodeReport>): RunSeries {
  const timelines = [...reports].filter((entry): entry is [string, NodeReport & { timeline: TimelineJson }] => entry[1].timeline !== undefined);
  const stepMs = maxOf(timelines.map(([, report]) => report.timeline.bucketMs), 1);
  const aligned = timelines.map(([id, report]) => ({ id, buckets: rebucket(report.timeline, stepMs), resultMs: report.timeline.resultMs }));
  const stepCount = maxOf(
    aligned.map(({ buckets, resultMs }) => Math.max(buckets.length, resultMs === undefined ? 0 : Math.floor(resultMs / stepMs) + 1)),
    0,
  );
  const metricNames = [...new Set(aligned.flatMap(({ buckets }) => buckets.flatMap((bucket) => Object.keys(bucket?.metrics ?? {}))))].sort();

  // Each metric's latest value per node (in `aligned` order, the order the sums were always taken in) and the
  // result times in order: a step then reads flat arrays, where one array per metric and step of every node's
  // values made a run of 10⁵ nodes spend seconds here (minutes on a loaded host).
  const metricIndex = new Map(metricNames.map((name, index) => [name, index]));
  const latest = metricNames.map(() => new Float64Array(aligned.length));
  const isSet = metricNames.map(() => new Uint8Array(aligned.length));
  const resultTimes = aligned.flatMap(({ resultMs }) => (resultMs === undefined ? [] : [resultMs])).sort((a, b) => a - b);
  let done = 0;
  const steps: RunStep[] = [];
  const perNode: RunSeries['perNode'] = [];
  for (let index = 0; index < stepCount; index++) {
    let sent = 0;
    aligned.forEach(({ id, buckets }, node) => {
      const bucket = buckets[index];
      if (!bucket) return;
      sent += bucket.sent;
      for (const [name, value] of Object.entries(bucket.metrics ?? {})) {
        const metric = metricIndex.get(name)!;
        latest[metric]![node] = value;
        isSet[metric]![node] = 1;
      }
      perNode.push({
        t_ms: index * stepMs,
        node: id,
        sent: bucket.sent,
        received: bucket.received,
        ...Object.fromEntries(metricNames.map((name) => [`metric_${name}`, bucket.metrics?.[name] ?? ''])),
      });
    });
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
    steps.push({ t: index * stepMs, sent, messagesPerSecond: (sent * 1000) / stepMs, done, metrics });
  }
  return { stepMs, steps, perNode, metricNames };
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
