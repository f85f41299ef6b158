/**
 * The link model of one directed overlay edge, shared by the simulator and the Docker node agent (layer 1,
 * messages): both ask a LinkSchedule when a message sent now arrives, so the two runtimes run one model, not
 * two that are meant to agree. Pure: no clock and no I/O, one seeded random stream per directed edge.
 *
 * A message of B payload bytes sent at time t on edge u→v:
 *   1. waits until the edge has finished serialising the messages before it, then takes B·8/rate to serialise;
 *   2. travels for delay + jitter, jitter drawn per message: `uniform` is uniform in [−jitter, +jitter]
 *      (netem's default), `exponential` adds an exponential draw of mean jitter; the sum is never below 0;
 *   3. with loss p > 0, each of its ⌈B/1448⌉ TCP segments is lost with probability p, and every loss of a
 *      segment costs one retransmission timeout, RTO = RTT + 200 ms (Linux: srtt + max(4·rttvar, TCP_RTO_MIN),
 *      with RTT taken as twice this edge's delay), doubling on each repeated loss; the message waits for its
 *      slowest segment. A gRPC stream is reliable, so this is what loss costs a message, not a drop;
 *   4. is never delivered before the message sent before it on the same edge (FIFO, as TCP).
 */
import type { Random } from '../util/random.js';

export type JitterDistribution = 'uniform' | 'exponential';

/** What one direction of an edge is given. Units are in the names, so topology.json reads on its own. */
export interface LinkParams {
  /** One-way propagation delay. */
  readonly delayMs: number;
  readonly jitterMs: number;
  readonly jitterDistribution: JitterDistribution;
  /** Share of packets lost, in percent. */
  readonly lossPercent: number;
  /** Bandwidth in bit/s; null is unlimited. */
  readonly rateBps: number | null;
  /** Packets the packet layer's queue holds before it drops; null leaves the kernel's default. */
  readonly queuePackets: number | null;
}

/** Both directions of an undirected graph edge: `forward` is source → target as graphology stores the edge. */
export interface EdgeLink {
  readonly forward: LinkParams;
  readonly backward: LinkParams;
}

export const UNSHAPED: LinkParams = { delayMs: 0, jitterMs: 0, jitterDistribution: 'uniform', lossPercent: 0, rateBps: null, queuePackets: null };

/** TCP's maximum segment size on a 1500-byte Ethernet MTU with timestamps. */
export const TCP_SEGMENT_BYTES = 1448;
/** Linux's TCP_RTO_MIN, the floor of the variance term of the retransmission timeout. */
export const TCP_MIN_RTO_MS = 200;

/** The random stream of one directed edge, the same in every runtime: `createRandom(seed, ...linkStream(u, v))`. */
export function linkStream(from: string, to: string): string[] {
  return ['link', from, to];
}

/**
 * A change to one directed edge's link during a run (a `degrade` fault, `peerlab link set`): the parameters it
 * names replace the edge's own, the rest stay as the run gave them. Plain data: it travels in an etcd key to the
 * sending node, and in a FaultEvent to the simulator.
 */
export type LinkChange = Partial<Pick<LinkParams, 'delayMs' | 'jitterMs' | 'jitterDistribution' | 'lossPercent' | 'rateBps'>>;

/** `delay=100ms loss=1%`: how a change reads in records and messages. */
export function describeLinkChange(change: LinkChange): string {
  const parts: string[] = [];
  if (change.delayMs !== undefined) parts.push(`delay=${change.delayMs}ms`);
  if (change.jitterMs !== undefined) parts.push(`jitter=${change.jitterDistribution === 'exponential' ? 'exp:' : ''}${change.jitterMs}ms`);
  if (change.lossPercent !== undefined) parts.push(`loss=${change.lossPercent}%`);
  if (change.rateBps !== undefined) parts.push(`rate=${change.rateBps === null ? 'unlimited' : `${change.rateBps}bit`}`);
  return parts.join(' ');
}

/** One directed edge's state: when its sender is free again, and when its last message arrives. */
export class LinkSchedule {
  private busyUntil = -Infinity;
  private lastArrival = -Infinity;
  /** What the edge carries now: `base`, or base with a change applied. */
  params: LinkParams;

  constructor(
    /** What the run gave the edge; a change is applied on top of it, and undoing the change restores it. */
    readonly base: LinkParams,
    private readonly random: Random,
  ) {
    this.params = base;
  }

  /**
   * Changes the link from now on (undefined restores the run's own). Messages already handed to the edge keep
   * the arrival times they were given, and a message sent later never overtakes them: FIFO holds across it.
   */
  change(change: LinkChange | undefined): void {
    this.params = change === undefined ? this.base : { ...this.base, ...change };
  }

  /** When the last message handed to the edge has been serialised onto it, at its rate (ms, the same clock). */
  get serialisedBy(): number {
    return this.busyUntil;
  }

  /** When a message of `bytes` payload bytes handed to the edge at `now` (ms) arrives, in the same clock. */
  arrival(now: number, bytes: number): number {
    const { delayMs, jitterMs, jitterDistribution, lossPercent, rateBps } = this.params;
    const start = Math.max(now, this.busyUntil);
    this.busyUntil = rateBps === null ? start : start + (bytes * 8 * 1000) / rateBps;
    let flight = delayMs;
    if (jitterMs > 0) {
      const u = this.random.next();
      flight += jitterDistribution === 'uniform' ? jitterMs * (2 * u - 1) : -jitterMs * Math.log(1 - u);
    }
    const arrival = Math.max(this.lastArrival, this.busyUntil + Math.max(0, flight) + this.retransmissionMs(bytes, lossPercent, delayMs));
    this.lastArrival = arrival;
    return arrival;
  }

  private retransmissionMs(bytes: number, lossPercent: number, delayMs: number): number {
    if (lossPercent <= 0) return 0;
    const p = Math.min(lossPercent, 99) / 100;
    const segments = Math.max(1, Math.ceil(bytes / TCP_SEGMENT_BYTES));
    let slowest = 0;
    for (let segment = 0; segment < segments; segment++) {
      let wait = 0;
      let timeout = 2 * delayMs + TCP_MIN_RTO_MS;
      while (this.random.next() < p) {
        wait += timeout;
        timeout *= 2;
      }
      slowest = Math.max(slowest, wait);
    }
    return slowest;
  }
}
