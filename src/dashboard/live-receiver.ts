import { createSocket, type Socket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { LiveDatagram, LiveReports } from '../coordination/protocol.js';
import type { DashboardFeed } from './feed.js';

/**
 * The dashboard's end of the nodes' live reports over UDP (see LiveReports): one socket on an ephemeral port of
 * every address of this host, since a run network's gateway is not known until the run creates it. A datagram
 * counts only with the run's token and from a node of the run, and only if it is not older than one already
 * counted from that node.
 */
export class LiveReceiver {
  private feed: DashboardFeed | undefined;
  private readonly lastSeq = new Map<string, number>();
  /** Datagrams counted, and datagrams refused (wrong token, unknown node, stale or unreadable). */
  readonly counts = { reports: 0, refused: 0 };

  private constructor(
    private readonly socket: Socket,
    readonly token: string,
  ) {
    socket.on('message', (message) => this.receive(message));
  }

  static async open(): Promise<LiveReceiver> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    // Never what keeps the CLI alive: a run that fails before its observer finishes must still let it exit.
    socket.unref();
    // A receive error (a full buffer) is a lost report, which the node's next one makes good.
    socket.on('error', () => {});
    return new LiveReceiver(socket, randomBytes(16).toString('hex'));
  }

  /** The nodes' side of the arrangement, for the run's config. */
  target(everyMs: number): LiveReports {
    return { everyMs, to: { udpPort: this.socket.address().port, token: this.token } };
  }

  /** Reports go to `feed` from now on; before, there is no run to show them in. */
  deliverTo(feed: DashboardFeed): void {
    this.feed = feed;
  }

  close(): void {
    this.socket.close();
  }

  private receive(message: Buffer): void {
    const report = parseDatagram(message);
    const feed = this.feed;
    if (!feed || !report || report.token !== this.token || !feed.knows(report.node) || report.seq < (this.lastSeq.get(report.node) ?? 0)) {
      this.counts.refused += 1;
      return;
    }
    this.lastSeq.set(report.node, report.seq);
    this.counts.reports += 1;
    feed.sentTotals(report.node, report.sent);
    feed.metrics(report.node, report.metrics);
  }
}

const LIVE_DATAGRAM = z.object({
  token: z.string(),
  node: z.string(),
  seq: z.number(),
  sent: z.record(z.string(), z.number()),
  metrics: z.record(z.string(), z.number()),
});

/** A datagram as a LiveDatagram, or undefined when it is not one. */
function parseDatagram(message: Buffer): LiveDatagram | undefined {
  try {
    const parsed = LIVE_DATAGRAM.safeParse(JSON.parse(message.toString('utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined; // not JSON
  }
}
