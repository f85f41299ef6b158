/**
 * A placement policy applied to a simulated run, as src/placement/live.ts applies one to a container run: every
 * period of virtual time, the nodes' loads and the hosts go into the policy, and each node whose host it changes
 * is migrated there, one move at a time (Simulation.migrateNode, the same move a `migrate` fault makes). Each
 * round is recorded as Docker records it (PlacementRound): results/<run>/placements.ndjson.
 *
 * What differs is the measurement. Docker reads what each node's process used; the simulator has no CPU, so a
 * node's load is the share of its host's declared capacity that its declared demand gets there (SimHosts), and
 * its requests are the messages it handled, by the host of their sender, per sample interval (SimHosts). Both
 * are deterministic: the same run makes the same rounds.
 */
import type { LivePlacementRequest } from '../../placement/live.js';
import { simulatePlacement, type PlacementRound } from '../../placement/simulate.js';
import { HostUtility } from '../../placement/utility.js';
import type { PlacementInput, PlacementPolicy } from '../../sdk/placement.js';
import { requestSampleMs, type SimHosts } from './hosts.js';
import { compareNodeIds } from '../../util/node-ids.js';

/** What a policy round asks of the simulation it runs in. */
export interface PlacementSite {
  /** The virtual clock, in ms. */
  readonly now: number;
  readonly finished: boolean;
  at(timeMs: number, action: () => void): void;
  /** The nodes running now, in graph order, each with the capacity it wants (node.demand). */
  runningNodes(): ReadonlyArray<{ readonly id: string; readonly demand: number }>;
  /** Moves node `id` to host `to`; throws when it is refused at once, tells `settled` once it moved or failed. */
  migrateNode(id: string, settled: (error?: Error) => void, to: string): void;
}

export type SimPlacementRequest = Pick<LivePlacementRequest, 'everyMs' | 'hold' | 'settings'>;

export class SimPlacement {
  readonly rounds: PlacementRound[] = [];

  /** A round is moving nodes (its moves may wait for a handler): the next waits for it. */
  private underWay = false;
  private nextRoundAt: number;
  private readonly utility = new HostUtility();

  constructor(
    private readonly site: PlacementSite,
    private readonly hosts: SimHosts,
    private readonly policy: PlacementPolicy,
    private readonly request: SimPlacementRequest,
  ) {
    this.nextRoundAt = request.everyMs;
  }

  /**
   * Request samples close every requestSampleMs, which divides the period, and rounds come on the samples at
   * k × everyMs, k ≥ 1, once each has closed the interval that ends there; a round still moving nodes when the
   * next is due delays it to the next period's time.
   */
  start(): void {
    const sampleMs = requestSampleMs(this.request.everyMs);
    const tick = (): void => {
      this.hosts.closeRequestInterval(
        this.site.runningNodes().map((node) => node.id),
        this.site.now / 1000,
      );
      if (!this.underWay && this.site.now >= this.nextRoundAt) this.round();
      if (!this.site.finished) this.site.at(this.site.now + sampleMs, tick);
    };
    this.site.at(sampleMs, tick);
  }

  private round(): void {
    const atMs = this.site.now;
    const input = this.measure();
    // A policy that throws or answers what cannot be fails the run, as on Docker (LivePlacement's failure).
    const outcome = simulatePlacement(this.policy, input);
    const moves: Array<PlacementRound['moves'][number]> = [];
    this.underWay = true;
    const done = (): void => {
      this.rounds.push({ atMs, input, placement: Object.fromEntries(input.nodes.map((node) => [node.name, outcome.placement[node.name] ?? node.host])), moves });
      const every = this.request.everyMs;
      this.nextRoundAt = Math.max(atMs + every, Math.ceil(this.site.now / every) * every);
      this.underWay = false;
    };
    const next = (index: number): void => {
      const move = outcome.moves[index];
      if (move === undefined) return done();
      const settled = (error?: Error): void => {
        moves.push({ ...move, moved: error === undefined, ...(error && { why: error.message }) });
        next(index + 1);
      };
      try {
        this.site.migrateNode(move.node, settled, move.to);
      } catch (error) {
        settled(error as Error);
      }
    };
    next(0);
  }

  /** The policy's input now: hosts as declared, running nodes in id order (greedy policies take them first come, first served). */
  private measure(): PlacementInput {
    const running = [...this.site.runningNodes()].sort((a, b) => compareNodeIds(a.id, b.id));
    const granted = new Map<string, number>();
    for (const host of this.hosts.names()) {
      const demands = new Map(running.filter((node) => this.hosts.hostOf(node.id) === host).map((node) => [node.id, node.demand]));
      for (const [id, share] of this.hosts.granted(host, demands)) granted.set(id, share);
    }
    const nodes = running.map(({ id }) => {
      const requests = this.hosts.requestsOf(id);
      return { name: id, host: this.hosts.hostOf(id), load: granted.get(id)!, hold: this.request.hold.includes(id), ...(requests && { requests: [...requests] }) };
    });
    return { hosts: this.utility.rate(this.site.now / 1000, this.hosts.list, nodes), nodes, settings: this.request.settings };
  }
}
