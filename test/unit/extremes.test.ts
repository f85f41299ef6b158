import { describe, expect, it } from 'vitest';
import type { NodeReport } from '../../src/coordination/protocol.js';
import { Timeline } from '../../src/host/timeline.js';
import { runSeries } from '../../src/report/series.js';
import { maxOf, minOf, pushAll } from '../../src/util/extremes.js';

// Past ~100,000 arguments a spread (Math.max(...values)) overflows the call stack: one value per node of a large run.
const MANY = 200_000;

describe('extremes without a spread', () => {
  it('finds the largest and smallest of 200,000 values, and appends 200,000 items', () => {
    const values = Array.from({ length: MANY }, (_, index) => (index * 7919) % MANY);
    expect(maxOf(values)).toBe(MANY - 1);
    expect(minOf(values)).toBe(0);
    const target = ['first'];
    pushAll(target, values.map(String));
    expect(target).toHaveLength(MANY + 1);
    expect(target.at(-1)).toBe(String(values.at(-1)));
  });

  it("answers as Math.max and Math.min do: the bound for no values, NaN if any value is NaN", () => {
    expect(maxOf([])).toBe(-Infinity);
    expect(minOf([])).toBe(Infinity);
    expect(maxOf([], 1)).toBe(1);
    expect(maxOf([3, 5], 4)).toBe(5);
    expect(minOf([3, 5], 4)).toBe(3);
    expect(maxOf([1, NaN, 2])).toBeNaN();
  });

  it('aggregates the timelines of 200,000 nodes (what a 10^5-node simulated run overflowed on)', () => {
    const reports = new Map<string, NodeReport>();
    for (let node = 0; node < MANY; node++) {
      const timeline = new Timeline();
      timeline.sent(node % 50);
      timeline.metric(node % 50, 'level', node % 17);
      timeline.result(node % 50);
      reports.set(String(node), { metrics: {}, sent: {}, received: {}, startup: { registeredMs: 0, connectedMs: 0, startLagMs: 0 }, timeline: timeline.toJSON() });
    }
    const series = runSeries(reports);
    expect(series.steps.reduce((total, step) => total + step.sent, 0)).toBe(MANY);
    expect(series.steps.at(-1)!.done).toBe(MANY);
    expect(series.steps.at(-1)!.metrics.level).toMatchObject({ min: 0, max: 16, nodes: MANY });
  });
});
