import { describe, expect, it } from 'vitest';
import type { NodeReport } from '../../src/coordination/protocol.js';
import { PackedReports, packReports, SIMULATED_STARTUP, transferables, type ReportSource } from '../../src/runtime/sim/packed-reports.js';

/** Every shape a simulated node's report takes: dropped or not, result time or not, null buckets, metrics in set order. */
const REPORTS = new Map<string, NodeReport>([
  [
    'b',
    {
      metrics: { zeta: 1.5, alpha: -0, nan: Number.NaN },
      sent: { a: { messages: 3, bytes: 120 }, '10': { messages: 1, bytes: 2 ** 40 } },
      received: { a: { messages: 2, bytes: 80 } },
      dropped: { a: 1 },
      startup: SIMULATED_STARTUP,
      timeline: {
        bucketMs: 4,
        buckets: [{ sent: 1, received: 0 }, null, { sent: 2, received: 2, metrics: { zeta: 1.5, alpha: 0.1 + 0.2 } }],
        resultMs: 9.123456789,
      },
    },
  ],
  ['a', { metrics: {}, sent: {}, received: {}, startup: SIMULATED_STARTUP, timeline: { bucketMs: 1, buckets: [null] } }],
  ['c', { metrics: { only: 7 }, sent: { b: { messages: 1, bytes: 9 } }, received: {}, startup: SIMULATED_STARTUP, timeline: { bucketMs: 2, buckets: [] } }],
]);

/** Each report as the simulator's host holds it: its counts in maps (insertion order: '10' after 'a'). */
function* sources(): Generator<[string, ReportSource]> {
  for (const [id, report] of REPORTS) {
    yield [
      id,
      {
        metrics: report.metrics,
        sent: new Map(Object.entries(report.sent)),
        received: new Map(Object.entries(report.received)),
        dropped: new Map(Object.entries(report.dropped ?? {})),
        timeline: report.timeline!,
      },
    ];
  }
}

/** A decoded report part by part (its `dropped` is undefined, not absent, when nothing was dropped). */
function expectSame(report: NodeReport, expected: NodeReport): void {
  expect(report.metrics).toStrictEqual(expected.metrics);
  expect(report.sent).toStrictEqual(expected.sent);
  expect(report.received).toStrictEqual(expected.received);
  expect(report.dropped).toStrictEqual(expected.dropped);
  expect(report.startup).toStrictEqual(expected.startup);
  expect(report.timeline).toStrictEqual(expected.timeline);
  expect(JSON.stringify(report)).toBe(JSON.stringify(expected));
  expect({ ...report }).toEqual(expected);
}

describe('packed reports', () => {
  it('come back as the reports that were packed: every number exact, every key in its order, iterated in order', () => {
    const packed = new PackedReports(packReports(sources()));
    expect(packed.size).toBe(3);
    expect([...packed.keys()]).toEqual(['b', 'a', 'c']);
    for (const [id, report] of packed) {
      expectSame(report, REPORTS.get(id)!);
    }
    const b = packed.get('b')!;
    expect(Object.is(b.metrics.alpha, -0)).toBe(true);
    expect(Object.keys(b.metrics)).toEqual(['zeta', 'alpha', 'nan']);
    expect(Object.keys(b.timeline!.buckets[2]!.metrics!)).toEqual(['zeta', 'alpha']);
    expectSame(packed.get('a')!, REPORTS.get('a')!);
    expect(packed.get('missing')).toBeUndefined();
    expect(packed.has('c')).toBe(true);
  });

  it('decode each part when it is read, once, and read the same whatever was read before', () => {
    const packed = new PackedReports(packReports(sources()));
    const report = packed.get('b')!;
    // Read out of order: the timeline's place is found without the edge counts decoded.
    expect(report.timeline).toStrictEqual(REPORTS.get('b')!.timeline);
    expect(report.received).toStrictEqual(REPORTS.get('b')!.received);
    expect(report.sent).toBe(report.sent);
    expect(report.timeline).toBe(report.timeline);
    expect(Object.keys(report)).toEqual(['metrics', 'sent', 'received', 'dropped', 'startup', 'timeline']);
  });

  it('cross threads as transferred buffers, not as one object per number', () => {
    const pack = packReports(sources());
    const { port1, port2 } = new MessageChannel();
    const received = new Promise<NodeReport[]>((resolve) => {
      port2.onmessage = (message) => resolve([...new PackedReports(message.data).values()]);
    });
    port1.postMessage(pack, transferables(pack));
    expect(pack.values.length).toBe(0);
    return received.then((reports) => {
      port1.close();
      port2.close();
      reports.forEach((report, index) => expectSame(report, [...REPORTS.values()][index]!));
    });
  });
});
