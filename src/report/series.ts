import type { NodeReport } from '../coordination/protocol.js';
import { mergeBuckets, type TimelineBucket, type TimelineJson } from '../host/timeline.js';
import { maxOf, minOf } from '../util/extremes.js';

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

  const latest = new Map<string, Map<string, number>>(aligned.map(({ id }) => [id, new Map()]));
  const steps: RunStep[] = [];
  const perNode: RunSeries['perNode'] = [];
  for (let index = 0; index < stepCount; index++) {
    let sent = 0;
    for (const { id, buckets } of aligned) {
      const bucket = buckets[index];
      if (!bucket) continue;
      sent += bucket.sent;
      for (const [name, value] of Object.entries(bucket.metrics ?? {})) latest.get(id)!.set(name, value);
      perNode.push({
        t_ms: index * stepMs,
        node: id,
        sent: bucket.sent,
        received: bucket.received,
        ...Object.fromEntries(metricNames.map((name) => [`metric_${name}`, bucket.metrics?.[name] ?? ''])),
      });
    }
    const end = (index + 1) * stepMs;
    const metrics: RunStep['metrics'] = {};
    for (const name of metricNames) {
      const values = [...latest.values()].map((values) => values.get(name)).filter((value): value is number => value !== undefined);
      if (values.length === 0) continue;
      const sum = values.reduce((total, value) => total + value, 0);
      metrics[name] = { mean: sum / values.length, min: minOf(values), max: maxOf(values), sum, nodes: values.length };
    }
    steps.push({
      t: index * stepMs,
      sent,
      messagesPerSecond: (sent * 1000) / stepMs,
      done: aligned.filter(({ resultMs }) => resultMs !== undefined && resultMs < end).length,
      metrics,
    });
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
