/**
 * A node's live reports while a dashboard watches its run (RunConfig.liveReports): its traffic per neighbour and
 * its metrics, every interval, to the dashboard's UDP port on the node's default gateway, or through etcd.
 */
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import type { LiveDatagram, LiveReport, LiveReports } from '../coordination/protocol.js';

/** Bytes of report JSON per datagram: under the 65,507 a UDP datagram can carry, with room for the envelope. */
export const LIVE_DATAGRAM_BYTES = 60_000;

/**
 * The IPv4 default gateway in a Linux routing table (/proc/net/route: addresses in hex, least significant byte
 * first), or undefined when there is no default route.
 */
export function defaultGateway(routeTable: string): string | undefined {
  for (const line of routeTable.split('\n').slice(1)) {
    const [, destination, gateway] = line.trim().split(/\s+/);
    if (destination !== '00000000' || gateway === undefined || !/^[0-9A-Fa-f]{8}$/.test(gateway)) continue;
    const value = Number.parseInt(gateway, 16);
    return [0, 8, 16, 24].map((shift) => (value >>> shift) & 0xff).join('.');
  }
  return undefined;
}

/** A report as datagrams: one, or parts of the same `seq` that each carry part of `sent` and all the metrics. */
export function liveDatagrams(report: LiveReport, envelope: Omit<LiveDatagram, keyof LiveReport>, maxBytes = LIVE_DATAGRAM_BYTES): Buffer[] {
  const whole = Buffer.from(JSON.stringify({ ...envelope, ...report } satisfies LiveDatagram));
  if (whole.length <= maxBytes) return [whole];
  const entries = Object.entries(report.sent);
  const parts = Math.ceil(whole.length / maxBytes) + 1;
  const size = Math.ceil(entries.length / parts);
  const datagrams: Buffer[] = [];
  for (let i = 0; i < entries.length; i += size) {
    datagrams.push(Buffer.from(JSON.stringify({ ...envelope, sent: Object.fromEntries(entries.slice(i, i + size)), metrics: report.metrics } satisfies LiveDatagram)));
  }
  return datagrams;
}

/**
 * Reports `current()` every `everyMs` once started, skipping a report equal to the last one; each node at its own
 * phase of the interval, since all of them, started by the same signal, would otherwise report in one burst that the
 * algorithm's first messages queue behind. Returns how to stop.
 */
export function reportLive(options: {
  readonly node: string;
  readonly liveReports: LiveReports;
  readonly current: () => LiveReport;
  /** The report through etcd (`to: 'etcd'`); a lost one only delays the dashboard by one interval. */
  readonly putInEtcd: (json: string) => Promise<unknown>;
}): () => void {
  const { to, everyMs } = options.liveReports;
  const send: LiveSender = to === 'etcd' ? (_report, json) => void options.putInEtcd(json).catch(() => {}) : datagramSender(options.node, to);
  let last = '';
  const report = () => {
    const current = options.current();
    const json = JSON.stringify(current);
    if (json === last) return;
    last = json;
    send(current, json);
  };
  let timer: NodeJS.Timeout | undefined;
  const phase = setTimeout(() => {
    report();
    timer = setInterval(report, everyMs);
  }, Math.random() * everyMs);
  return () => {
    clearTimeout(phase);
    clearInterval(timer);
    send.close?.();
  };
}

/** Sends a report, given also as the JSON already made to compare it with the last (etcd's value as it is). */
export type LiveSender = ((report: LiveReport, json: string) => void) & { close?: () => void };

/**
 * Sends reports to the dashboard's port on `gateway`, this node's default gateway. Without a default route, reports
 * are not sent, and the dashboard shows this node's state but not its traffic until its final report.
 */
export function datagramSender(node: string, to: { udpPort: number; token: string }, gateway = defaultGateway(readFileSync('/proc/net/route', 'utf8'))): LiveSender {
  if (gateway === undefined) return () => {};
  const socket = createSocket('udp4');
  socket.unref();
  // A datagram that cannot be sent (the host's buffers full) is a lost report, which the next one makes good.
  socket.on('error', () => {});
  // From the host clock, which every container shares: the dashboard counts no report older than one it counted
  // from the node, and a moved or restarted node's new process must not start below its old one.
  let seq = 0;
  const send = (report: LiveReport) => {
    seq = Math.max(seq + 1, Date.now());
    for (const datagram of liveDatagrams(report, { token: to.token, node, seq })) socket.send(datagram, to.udpPort, gateway);
  };
  return Object.assign(send, { close: () => socket.close() });
}
