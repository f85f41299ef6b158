import { describe, expect, it } from 'vitest';
import type { NodeReport } from '../../src/coordination/protocol.js';
import { PackedReports, packReports, SIMULATED_STARTUP, transferables } from '../../src/runtime/sim/packed-reports.js';

/** Every shape a simulated node's report takes: dropped or not, timeline or not, null buckets, metrics in set order. */
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
  ['c', { metrics: { only: 7 }, sent: { b: { messages: 1, bytes: 9 } }, received: {}, startup: SIMULATED_STARTUP }],
]);

describe('packed reports', () => {
  it('come back as the reports that were packed: every number exact, every key in its order, iterated in order', () => {
    const packed = new PackedReports(packReports(REPORTS));
    expect(packed.size).toBe(3);
    expect([...packed.keys()]).toEqual(['b', 'a', 'c']);
    for (const [id, report] of packed) {
      expect(report).toStrictEqual(REPORTS.get(id));
      expect(JSON.stringify(report)).toBe(JSON.stringify(REPORTS.get(id)));
      expect(Object.is(report.metrics.alpha, REPORTS.get(id)!.metrics.alpha)).toBe(true);
    }
    expect(packed.get('a')).toStrictEqual(REPORTS.get('a'));
    expect(packed.get('missing')).toBeUndefined();
    expect(packed.has('c')).toBe(true);
  });

  it('cross threads as transferred buffers, not as one object per number', () => {
    const pack = packReports(REPORTS);
    const { port1, port2 } = new MessageChannel();
    const received = new Promise<NodeReport[]>((resolve) => {
      port2.onmessage = (message) => resolve([...new PackedReports(message.data).values()]);
    });
    port1.postMessage(pack, transferables(pack));
    expect(pack.values.length).toBe(0);
    return received.then((reports) => {
      port1.close();
      port2.close();
      expect(reports).toStrictEqual([...REPORTS.values()]);
    });
  });
});
