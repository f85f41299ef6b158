import { describe, expect, it } from 'vitest';
import { LIVE_WRITES_PER_SECOND, liveReportMs } from '../../src/dashboard/observe.js';

describe("the nodes' live reports while a dashboard watches", () => {
  it('come every second from a small run, and less often as N grows, so the run writes to etcd at a bounded rate', () => {
    expect(liveReportMs(11)).toBe(1000);
    expect(liveReportMs(LIVE_WRITES_PER_SECOND)).toBe(1000);
    expect(liveReportMs(LIVE_WRITES_PER_SECOND + 1)).toBe(2000);
    for (const nodes of [1, 50, 101, 150, 499, 500, 1000, 10_000]) {
      const writesPerSecond = nodes / (liveReportMs(nodes) / 1000);
      expect(writesPerSecond).toBeLessThanOrEqual(LIVE_WRITES_PER_SECOND);
      // Never slower than needed: one second less would break the bound (or is below one second).
      expect(liveReportMs(nodes) === 1000 || nodes / (liveReportMs(nodes) / 1000 - 1) > LIVE_WRITES_PER_SECOND).toBe(true);
    }
  });
});
