/**
 * The simulator's hosts (`--hosts` in a simulated run): machines of declared capacity, in the hosts' one unit
 * (seed 000's Table 6.1 gives LINPACK MIPS). The simulator has no CPU, so a host's capacity is a model: each node
 * declares what it wants (`node.demand(units)`), and a host shares its capacity among the nodes running on it as
 * a time-sharing scheduler does, max-min fair: a node that wants less than an equal share gets all it wants, and
 * the rest is split evenly among the others. A node's load, as a placement policy sees it, is what it gets where
 * it runs now: seed 000's "agent MIPS measured on its current host", which is why its CPU-bound `overload` agent
 * measures a host's whole capacity on the central server and little on an outpost.
 *
 * It also counts each node's requests by site, for policies that follow their users (seed 001): every message a
 * node handles counts for the host its sender runs on, per interval of REQUEST_SAMPLE_MS at most (a minute, the
 * grain of seed 001's request log), ending on each policy round.
 */
import type { PeerlabError } from '../../errors.js';
import { geoDelayMs } from '../../links/spec.js';
import { everyHostFull, nodesPerHost, roomOn, whyNoRoom } from '../../placement/room.js';
import type { PlacementHost, RequestSample } from '../../sdk/placement.js';

/** The hosts of a simulated run and where each node starts. */
export interface SimHostsSpec {
  /** In the order listed: ties go to the first. */
  readonly list: readonly PlacementHost[];
  /** Node id → the host it starts on. */
  readonly hostOf: Readonly<Record<string, string>>;
}

/** The longest interval a request sample counts: seed 001's analysis reads its log by the minute. */
export const REQUEST_SAMPLE_MS = 60_000;

/**
 * How many of a node's request samples a policy sees: at a minute each, 16 minutes of history, more than seed
 * 001's 15-minute window and its two 6-minute trend halves.
 */
export const REQUEST_SAMPLES_KEPT = 16;

/** The sample interval for rounds every `everyMs`: the longest up to REQUEST_SAMPLE_MS that divides it, so that samples end on rounds. */
export function requestSampleMs(everyMs: number): number {
  return everyMs / Math.ceil(everyMs / REQUEST_SAMPLE_MS);
}

export class SimHosts {
  readonly list: readonly PlacementHost[];
  private readonly capacityOf: ReadonlyMap<string, number>;
  private readonly hostOfNode: Map<string, string>;
  /** Requests handled since the last sample, by node, by the site (host) of their sender. */
  private readonly counting = new Map<string, Map<string, number>>();
  private readonly samples = new Map<string, RequestSample[]>();
  /** Host → host → one-way delay in ms, when the hosts are placed (latitude and longitude); undefined otherwise. */
  private readonly delays: ReadonlyMap<string, ReadonlyMap<string, number>> | undefined;

  constructor(spec: SimHostsSpec) {
    this.list = spec.list;
    this.capacityOf = new Map(spec.list.map((host) => [host.name, host.capacity]));
    this.hostOfNode = new Map(Object.entries(spec.hostOf));
    // As `--links geo` delays an edge between two placed nodes (src/links/plan.ts): light in fibre over the
    // great-circle distance, plus the per-hop constant of the routers at each end. Nodes on one host: no delay.
    const placed = spec.list.every((host) => host.latitude !== undefined && host.longitude !== undefined);
    this.delays = placed
      ? new Map(spec.list.map((a) => [a.name, new Map(spec.list.map((b) => [b.name, a.name === b.name ? 0 : geoDelayMs(a, b)]))]))
      : undefined;
  }

  /** Whether messages between hosts are delayed by their distance (see delayMs). */
  get placed(): boolean {
    return this.delays !== undefined;
  }

  /** The one-way delay from host `from` to host `to`, in ms: their distance (0 on one host, or unplaced hosts). */
  delayMs(from: string, to: string): number {
    return this.delays?.get(from)?.get(to) ?? 0;
  }

  names(): string[] {
    return this.list.map((host) => host.name);
  }

  has(host: string): boolean {
    return this.capacityOf.has(host);
  }

  /** The host node `id` runs on: where the run's placement put it, or a join or a move (moveTo) since. */
  hostOf(id: string): string {
    const host = this.hostOfNode.get(id);
    if (host === undefined) throw new Error(`node ${id} has no host`);
    return host;
  }

  moveTo(id: string, host: string): void {
    this.hostOfNode.set(id, host);
  }

  /**
   * Where a node goes when nothing says where: to join, any host; to move, any other than its own; of those, one
   * with room (maxNodes). The host with the fewest nodes per unit of capacity (Docker's "fewest nodes per CPU",
   * its CPUs being in proportion to capacity), the first listed on a tie. Refused when every such host is full.
   */
  leastCrowded(running: readonly string[], except?: string): string {
    const count = nodesPerHost(running.map((id) => this.hostOf(id)));
    let best: PlacementHost | undefined;
    const crowding = (host: PlacementHost): number => (count.get(host.name) ?? 0) / host.capacity;
    for (const host of this.list) {
      if (host.name === except || roomOn(host, count.get(host.name) ?? 0) === 0) continue;
      if (best === undefined || crowding(host) < crowding(best)) best = host;
    }
    if (best === undefined) throw everyHostFull(except);
    return best.name;
  }

  /** Why `host` cannot take one more of the `running` nodes (it holds its maxNodes), or undefined if it can. */
  whyNoRoom(host: string, running: readonly string[]): PeerlabError | undefined {
    return whyNoRoom(this.list, host, nodesPerHost(running.map((id) => this.hostOf(id))));
  }

  /** What each of `demands` (node id → units wanted, nodes on one host) gets of the host's capacity, max-min fair. */
  granted(host: string, demands: ReadonlyMap<string, number>): Map<string, number> {
    let left = this.capacityOf.get(host)!;
    const byDemand = [...demands].sort((a, b) => a[1] - b[1]);
    const shares = new Map<string, number>();
    for (const [index, [id, wanted]] of byDemand.entries()) {
      const given = Math.min(wanted, left / (byDemand.length - index));
      shares.set(id, given);
      left -= given;
    }
    return shares;
  }

  /** A message node `to` handled, from node `from`: a request from the site `from` runs on. */
  countRequest(to: string, from: string): void {
    let counts = this.counting.get(to);
    if (counts === undefined) this.counting.set(to, (counts = new Map()));
    const site = this.hostOfNode.get(from);
    if (site !== undefined) counts.set(site, (counts.get(site) ?? 0) + 1);
  }

  /**
   * Closes the interval ending at `atSeconds` for every node: its counts become a sample, the next interval starts
   * at 0. A node never asked anything has no series, so a large run whose nodes do not serve requests keeps none.
   */
  closeRequestInterval(nodes: readonly string[], atSeconds: number): void {
    for (const id of nodes) {
      if (!this.counting.has(id) && !this.samples.has(id)) continue;
      const samples = this.samples.get(id) ?? [];
      samples.push({ at: atSeconds, from: Object.fromEntries(this.counting.get(id) ?? []) });
      if (samples.length > REQUEST_SAMPLES_KEPT) samples.shift();
      this.samples.set(id, samples);
    }
    this.counting.clear();
  }

  /** Node `id`'s last samples, oldest first; none if it never handled a request. */
  requestsOf(id: string): RequestSample[] | undefined {
    const samples = this.samples.get(id);
    return samples?.some((sample) => Object.keys(sample.from).length > 0) ? samples : undefined;
  }
}
