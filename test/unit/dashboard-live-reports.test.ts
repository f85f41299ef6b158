import { createSocket, Socket } from 'node:dgram';
import { describe, expect, it, vi } from 'vitest';
import { DashboardFeed } from '../../src/dashboard/feed.js';
import { LiveReceiver } from '../../src/dashboard/live-receiver.js';
import { datagramSender, defaultGateway, liveDatagrams, liveSender, reportLive } from '../../src/node/live-reports.js';
import type { LiveDatagram } from '../../src/coordination/protocol.js';
import { LIVE_REPORTS_PER_SECOND, liveReportMs } from '../../src/dashboard/observe.js';

describe("the nodes' live reports while a dashboard watches", () => {
  it('come every second from a small run, and less often as N grows, so the run reports at a bounded rate', () => {
    expect(liveReportMs(11)).toBe(1000);
    expect(liveReportMs(LIVE_REPORTS_PER_SECOND)).toBe(1000);
    expect(liveReportMs(LIVE_REPORTS_PER_SECOND + 1)).toBe(2000);
    for (const nodes of [1, 50, 101, 150, 499, 500, 1000, 10_000]) {
      const writesPerSecond = nodes / (liveReportMs(nodes) / 1000);
      expect(writesPerSecond).toBeLessThanOrEqual(LIVE_REPORTS_PER_SECOND);
      // Never slower than needed: one second less would break the bound (or is below one second).
      expect(liveReportMs(nodes) === 1000 || nodes / (liveReportMs(nodes) / 1000 - 1) > LIVE_REPORTS_PER_SECOND).toBe(true);
    }
  });
});

describe('live reports as datagrams', () => {
  it("go to the node's default gateway, read from the kernel's routing table", () => {
    const table = [
      'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT',
      'eth0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0',
      'eth0\t00000000\t010011AC\t0003\t0\t0\t0\t00000000\t0\t0\t0',
    ].join('\n');
    expect(defaultGateway(table)).toBe('172.17.0.1');
    expect(defaultGateway(table.split('\n').slice(0, 2).join('\n'))).toBeUndefined();
  });

  it('are split, a node of many neighbours at a time, into datagrams that each fit and together carry every total', () => {
    const sent = Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`node-${i}`, i]));
    const datagrams = liveDatagrams({ sent, metrics: { round: 3 } }, { token: 't', node: '7', seq: 4 });
    expect(datagrams.length).toBeGreaterThan(1);
    const parts = datagrams.map((datagram) => JSON.parse(datagram.toString()) as LiveDatagram);
    for (const [i, datagram] of datagrams.entries()) {
      expect(datagram.length).toBeLessThanOrEqual(60_000);
      expect(parts[i]).toMatchObject({ token: 't', node: '7', seq: 4, metrics: { round: 3 } });
    }
    expect(Object.assign({}, ...parts.map((part) => part.sent))).toEqual(sent);
    expect(liveDatagrams({ sent: { a: 1 }, metrics: {} }, { token: 't', node: '7', seq: 1 })).toHaveLength(1);
  });

  it("reach the dashboard's feed only with the run's token, from a node of the run, and never older than one already counted", async () => {
    const receiver = await LiveReceiver.open();
    const feed = new DashboardFeed(['0', '1']);
    receiver.deliverTo(feed);
    const target = receiver.target(1000);
    if (target.to === 'etcd') throw new Error('a receiver reports over UDP');
    const client = createSocket('udp4');
    const send = (datagram: object) => new Promise<void>((resolve) => client.send(JSON.stringify(datagram), (target.to as { udpPort: number }).udpPort, '127.0.0.1', () => resolve()));
    try {
      const token = target.to.token;
      await send({ token, node: '0', seq: 2, sent: { '1': 5 }, metrics: { round: 2 } });
      await send({ token: 'not-the-token', node: '0', seq: 3, sent: { '1': 50 }, metrics: {} });
      await send({ token, node: '9', seq: 1, sent: { '1': 50 }, metrics: {} });
      await send({ token, node: '0', seq: 1, sent: { '1': 3 }, metrics: { round: 1 } });
      await send({ token, node: '1', seq: 1, sent: { '0': 4 }, metrics: {} });
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(receiver.counts).toEqual({ reports: 2, refused: 3 });
      expect(feed.nodeDetails('0')).toMatchObject({ sent: { '1': 5 }, received: { '1': 4 }, metrics: { round: 2 } });
    } finally {
      client.close();
      receiver.close();
    }
  });
});

describe("a node's new process (moved or restarted)", () => {
  it('is heard at once: its reports are not older than those of the process it replaced', async () => {
    const receiver = await LiveReceiver.open();
    const feed = new DashboardFeed(['0', '1']);
    receiver.deliverTo(feed);
    const { to } = receiver.target(1000);
    if (to === 'etcd') throw new Error('a receiver reports over UDP');
    const settle = () => new Promise((resolve) => setTimeout(resolve, 200));
    const old = datagramSender('0', to, '127.0.0.1');
    let successor: ReturnType<typeof datagramSender> | undefined;
    try {
      // The old process has reported for a while; the new one, started after, counts afresh.
      for (let round = 1; round <= 5; round++) old({ sent: { '1': round }, metrics: {} }, '');
      await settle();
      successor = datagramSender('0', to, '127.0.0.1');
      successor({ sent: { '1': 7 }, metrics: { moved: 1 } }, '');
      await settle();
      // Each sender's first report, of nothing sent yet (made with the sender), and the six above.
      expect(receiver.counts).toEqual({ reports: 8, refused: 0 });
      expect(feed.nodeDetails('0')).toMatchObject({ sent: { '1': 7 }, metrics: { moved: 1 } });
    } finally {
      old.close?.();
      successor?.close?.();
      receiver.close();
    }
  });
});

describe('a datagram sender', () => {
  it('binds its socket and sends a first report when it is made (before the start line), not at the first report of the algorithm', async () => {
    const bind = vi.spyOn(Socket.prototype, 'bind');
    const send = vi.spyOn(Socket.prototype, 'send');
    const sender = datagramSender('0', { udpPort: 9, token: 'x' }, '127.0.0.1');
    try {
      expect(bind).toHaveBeenCalledTimes(1);
      expect(send).toHaveBeenCalledTimes(1);
      expect(JSON.parse(String(send.mock.calls[0]![0]))).toMatchObject({ node: '0', sent: {}, metrics: {} });
      sender({ sent: { '1': 2 }, metrics: {} }, '');
      expect(bind).toHaveBeenCalledTimes(1);
      expect(send).toHaveBeenCalledTimes(2);
    } finally {
      sender.close?.();
      bind.mockRestore();
      send.mockRestore();
    }
  });
});

describe('live reports through etcd (nodes that may not reach the CLI, a Swarm run)', () => {
  it('are put at the first message after each interval, only when changed, and after three quiet intervals without one', () => {
    vi.useFakeTimers();
    try {
      const puts: string[] = [];
      let sent = 1;
      const reporting = reportLive({
        everyMs: 1000,
        current: () => ({ sent: { '4': sent }, metrics: {} }),
        send: liveSender({ node: '3', to: 'etcd', putInEtcd: async (json) => puts.push(json) }),
      });
      // The first interval ends at a random point of the first second: a message after it is reported.
      vi.advanceTimersByTime(1000);
      expect(puts).toEqual([]);
      reporting.activity();
      expect(puts).toEqual([JSON.stringify({ sent: { '4': 1 }, metrics: {} })]);
      // Not again within the interval, and not when nothing changed.
      sent = 2;
      reporting.activity();
      expect(puts).toHaveLength(1);
      vi.advanceTimersByTime(1000);
      sent = 5;
      reporting.activity();
      expect(puts.at(-1)).toBe(JSON.stringify({ sent: { '4': 5 }, metrics: {} }));
      reporting.activity();
      expect(puts).toHaveLength(2);
      // No message for three intervals: the node wakes to report what changed.
      sent = 7;
      vi.advanceTimersByTime(2999);
      expect(puts).toHaveLength(2);
      vi.advanceTimersByTime(1);
      expect(puts.at(-1)).toBe(JSON.stringify({ sent: { '4': 7 }, metrics: {} }));
      reporting.stop();
      sent = 9;
      vi.advanceTimersByTime(5000);
      reporting.activity();
      expect(puts).toHaveLength(3);
    } finally {
      vi.useRealTimers();
    }
  });
});
