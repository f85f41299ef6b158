/**
 * runSeries (src/report/series.ts) against a reference that does the same the plain way: each node's timeline
 * widened to the grid bucket by bucket as objects, then every step summed over every node. Random timelines of
 * mixed widths, empty buckets, metrics set several times within a step, nodes without a timeline or a result.
 */
import { describe, expect, it } from 'vitest';
import type { NodeReport } from '../../src/coordination/protocol.js';
import { MAX_BUCKETS, Timeline, type TimelineBucket, type TimelineJson } from '../../src/host/timeline.js';
import { runSeries, type RunStep } from '../../src/report/series.js';
import { createRandom } from '../../src/util/random.js';

type Bucket = { sent: number; received: number; metrics: Record<string, number> };

function reference(reports: ReadonlyMap<string, NodeReport>): { stepMs: number; steps: RunStep[]; rows: Array<Record<string, number | string>> } {
  const timelines = [...reports].filter((entry): entry is [string, NodeReport & { timeline: TimelineJson }] => entry[1].timeline !== undefined);
  const stepMs = Math.max(1, ...timelines.map(([, timeline]) => timeline.timeline.bucketMs));
  const grids = timelines.map(([id, { timeline }]) => {
    const grid: Array<Bucket | undefined> = [];
    timeline.buckets.forEach((bucket: TimelineBucket | null, index) => {
      const step = Math.floor(index / (stepMs / timeline.bucketMs));
      grid.length = Math.max(grid.length, step + 1);
      if (!bucket) return;
      const into = (grid[step] ??= { sent: 0, received: 0, metrics: {} });
      into.sent += bucket.sent;
      into.received += bucket.received;
      Object.assign(into.metrics, bucket.metrics);
    });
    return { id, grid, resultMs: timeline.resultMs };
  });
  const stepCount = Math.max(0, ...grids.map(({ grid, resultMs }) => Math.max(grid.length, resultMs === undefined ? 0 : Math.floor(resultMs / stepMs) + 1)));
  const names = [...new Set(grids.flatMap(({ grid }) => grid.flatMap((bucket) => Object.keys(bucket?.metrics ?? {}))))].sort();
  const latest = grids.map(() => new Map<string, number>());
  const steps: RunStep[] = [];
  const rows: Array<Record<string, number | string>> = [];
  for (let step = 0; step < stepCount; step++) {
    let sent = 0;
    grids.forEach(({ id, grid }, node) => {
      const bucket = grid[step];
      if (!bucket) return;
      sent += bucket.sent;
      for (const [name, value] of Object.entries(bucket.metrics)) latest[node]!.set(name, value);
      rows.push({ t_ms: step * stepMs, node: id, sent: bucket.sent, received: bucket.received, ...Object.fromEntries(names.map((name) => [`metric_${name}`, bucket.metrics[name] ?? ''])) });
    });
    const metrics: RunStep['metrics'] = {};
    for (const name of names) {
      const values = latest.filter((values) => values.has(name)).map((values) => values.get(name)!);
      if (values.length === 0) continue;
      const sum = values.reduce((total, value) => total + value, 0);
      metrics[name] = { mean: sum / values.length, min: Math.min(...values), max: Math.max(...values), sum, nodes: values.length };
    }
    const done = grids.filter(({ resultMs }) => resultMs !== undefined && resultMs < (step + 1) * stepMs).length;
    steps.push({ t: step * stepMs, sent, messagesPerSecond: (sent * 1000) / stepMs, done, metrics });
  }
  return { stepMs, steps, rows };
}

function randomReports(seed: number, nodes: number): Map<string, NodeReport> {
  const random = createRandom(seed, 'series-test');
  const below = (n: number) => Math.floor(random.next() * n);
  const reports = new Map<string, NodeReport>();
  for (let node = 0; node < nodes; node++) {
    const timeline = new Timeline();
    // Some nodes act briefly (fine buckets), some for long (wide ones); some set metrics, some report a result.
    const span = [5, 40, 300, 5_000][below(4)]!;
    for (let event = below(60); event > 0; event--) {
      const time = random.next() * span;
      const kind = below(5);
      if (kind < 2) timeline.sent(time);
      else if (kind < 4) timeline.received(time);
      else timeline.metric(time, ['level', 'x', 'fragment'][below(3)]!, below(7) - 3 + random.next());
    }
    if (below(3) > 0) timeline.result(span + random.next() * span);
    const withTimeline = below(10) > 0;
    reports.set(`n${node}`, { metrics: {}, sent: {}, received: {}, startup: { registeredMs: 0, connectedMs: 0, startLagMs: 0 }, ...(withTimeline ? { timeline: timeline.toJSON() } : {}) });
  }
  return reports;
}

describe('the run series', () => {
  it.each([1, 2, 3, 4, 5])('is what summing every node at every step gives, for random timelines (seed %i)', (seed) => {
    const reports = randomReports(seed, 200);
    const series = runSeries(reports);
    const expected = reference(reports);
    expect(series.stepMs).toBe(expected.stepMs);
    expect(series.steps.length).toBeLessThanOrEqual(MAX_BUCKETS);
    expect(series.steps).toStrictEqual(expected.steps);
    expect([...series.rows()]).toStrictEqual(expected.rows);
    expect(series.rowCount).toBe(expected.rows.length);
  });

  it('is empty for reports without timelines', () => {
    const series = runSeries(new Map([['a', { metrics: {}, sent: {}, received: {}, startup: { registeredMs: 0, connectedMs: 0, startLagMs: 0 } }]]));
    expect(series.steps).toEqual([]);
    expect(series.rowCount).toBe(0);
    expect([...series.rows()]).toEqual([]);
  });
});
