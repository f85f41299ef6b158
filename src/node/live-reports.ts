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

/** Quiet intervals after which a node with traffic not yet reported wakes to report it. */
const QUIET_INTERVALS = 3;

/** A node's live reports: `activity` where the node is awake anyway (a message arrived), `stop` at its end. */
export interface LiveReporting {
  activity(): void;
  stop(): void;
}

/**
 * Where a node's live reports go: a put in etcd (`to: 'etcd'`), or a datagram to the dashboard. Made before the
 * start line (see datagramSender).
 */
export function liveSender(options: {
  readonly node: string;
  readonly to: LiveReports['to'];
  /** The report through etcd; a lost one only delays the dashboard by one interval. */
  readonly putInEtcd: (json: string) => Promise<unknown>;
}): LiveSender {
  const { to } = options;
  return to === 'etcd' ? (_report, json) => void options.putInEtcd(json).catch(() => {}) : datagramSender(options.node, to);
}

/**
 * Reports `current()` through `send`, when it changed, at the node's first activity once `everyMs` has passed
 * since its last report, and wakes the node for it only after QUIET_INTERVALS intervals without activity. A
 * wake-up of its own cost a waiting node 1.5–2.6 ms of CPU on a busy host (cold caches, issue 9 §7): on a timer,
 * the reports made a 500-node GHS run's algorithm take 26–31 % longer with the dashboard, its nodes spending
 * 2.2–2.6 ms more each (README, "Seeing a run"). The first interval ends at a random point, so that the nodes,
 * started by one signal, do not all report at once.
 */
export function reportLive(options: { readonly everyMs: number; readonly current: () => LiveReport; readonly send: LiveSender }): LiveReporting {
  const { everyMs, send } = options;
  let last = '';
  let lastAt = Date.now() - Math.random() * everyMs;
  let stopped = false;
  const report = () => {
    lastAt = Date.now();
    const current = options.current();
    const json = JSON.stringify(current);
    if (json !== last) {
      last = json;
      send(current, json);
    }
    quiet.refresh();
  };
  const quiet = setTimeout(report, QUIET_INTERVALS * everyMs);
  return {
    activity: () => {
      if (!stopped && Date.now() - lastAt >= everyMs) report();
    },
    stop: () => {
      stopped = true;
      clearTimeout(quiet);
      send.close?.();
    },
  };
}

/** Sends a report, given also as the JSON already made to compare it with the last (etcd's value as it is). */
export type LiveSender = ((report: LiveReport, json: string) => void) & { close?: () => void };

/**
 * Sends reports to the dashboard's port on `gateway`, by default this node's default gateway. Without a default
 * route, reports are not sent, and the dashboard shows this node's state but not its traffic until its final report.
 *
 * The socket is made and bound at once, so before the start line, and the node's report of nothing sent yet goes
 * out at once too: a UDP socket's first bind loads Node's cluster and child_process modules and compiles dgram's
 * code, 1.5–1.9 ms of CPU on an idle host with the agent's own modules loaded, and its first send 0.5 ms more (the
 * next 0.1 ms). Made at a node's first report, that fell in the algorithm: with the dashboard a 500-node GHS run's
 * nodes spent 2.3–4.5 s more CPU during it in 6 of 7 pairs (README, "Seeing a run").
 */
export function datagramSender(node: string, to: { udpPort: number; token: string }, gateway = defaultGateway(readFileSync('/proc/net/route', 'utf8'))): LiveSender {
  const socket = gateway === undefined ? undefined : createSocket('udp4');
  if (socket) {
    socket.unref();
    // A datagram that cannot be sent (the host's buffers full) is a lost report, which the next one makes good.
    socket.on('error', () => {});
    socket.bind(0);
  }
  // From the host clock, which every container shares: the dashboard counts no report older than one it counted
  // from the node, and a moved or restarted node's new process must not start below its old one.
  let seq = 0;
  const send = (report: LiveReport) => {
    seq = Math.max(seq + 1, Date.now());
    if (!socket || gateway === undefined) return;
    for (const datagram of liveDatagrams(report, { token: to.token, node, seq })) socket.send(datagram, to.udpPort, gateway);
  };
  send({ sent: {}, metrics: {} });
  return Object.assign(send, { close: () => socket?.close() });
}
