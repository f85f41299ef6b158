/**
 * The discrete-event simulation of one run: every node is an AlgorithmHost in this process (the same host the
 * Docker node agent uses, so an algorithm sees the same SDK semantics), wired to a virtual clock, a seeded
 * delay model and in-memory coordination services instead of gRPC and etcd.
 *
 * Determinism. Everything that happens is an event in one (time, sequence)-ordered queue: node starts,
 * message deliveries, timers, store-watch and barrier wake-ups, control actions (the timers of one instant share
 * one queue entry and come out one by one: agenda.ts). After each event the loop
 * awaits a process.nextTick (now and then a setImmediate), and Node runs every pending microtask before either, including ones
 * queued by microtasks, so all the async work the event set off (AlgorithmHost's dispatch loop, the
 * algorithm's awaits, store calls) has finished, at the event's virtual time, before the next event starts.
 * No real clock and no I/O reach the simulation, so the same graph, algorithm, params and seed give
 * bit-identical outcomes and traces in any process. (An algorithm that reads Date.now() or uses real timers
 * breaks this; one that loops on microtasks forever hangs the process, as it would hang a node.)
 */
import type { Algorithm, DownReason, Json, Neighbour, ServiceRegistry, SharedStore } from '../../sdk/types.js';
import type { LeasedQueues } from '../../host/contention.js';
import { electionQueue } from '../../coordination/keys.js';
import { MOVE_DONE_TIMEOUT_MS, REGISTRATION_TTL_SECONDS, type MigrationRecord } from '../../coordination/protocol.js';
import { PeerlabError } from '../../errors.js';
import { isNodeHeal, touchedBy, type AppliedFault, type FaultEvent } from '../../faults/events.js';
import { AlgorithmHost, type CopyTransport, type EdgeSlot, type HostSnapshot, type InboundEdge } from '../../host/algorithm-host.js';
import { CONSOLE_SINK } from '../../host/console-shim.js';
import type { Cancellable, ClockSkew, Expiring } from '../../host/node-clock.js';
import { copyJson } from '../../util/json-copy.js';
import { createRandom, RandomStream, seededGenerator, type RandomGenerator } from '../../util/random.js';
import { describeLinkChange, LinkSchedule, linkStream, UNSHAPED, type LinkChange } from '../../links/model.js';
import type { NodeState, RegistryChange } from '../types.js';
import { defaultDelay, type DelayContext, type DelayModel } from './delay.js';
import { Settler, asyncActivity, keepWatching, watchAsyncActivity } from './settle.js';
import { Agenda } from './agenda.js';
import { edgeWeight, isSimGraph, neighboursAt, toSimGraph, type SimGraph } from './graph.js';
import { SimServices } from './services.js';
import { PackedReports, packReports, type ReportSource } from './packed-reports.js';
import { SimBarriers, SimQueues, SimStore } from './store.js';
import {
  DEFAULT_MAX_EVENTS,
  DEFAULT_SIM_TIMEOUT_MS,
  type EndReason,
  type SimGroup,
  type SimulationOptions,
  type SimulationSettings,
  type SimulationOutcome,
  type TraceEvent,
} from './types.js';
import { Handler, Slot, StopRequest } from './watchdog-slots.js';
import { SimHosts } from './hosts.js';
import { SimPlacement, type PlacementSite } from './placement.js';

/** How many log lines per node the simulator keeps for `logTail`. */
export const LOG_TAIL_LINES = 100;
export const PROGRESS_EVERY = 16_384;

/** When the event loop began, by the wall clock and by the process's CPU time. */
interface Began {
  readonly wallMs: number;
  readonly cpu: NodeJS.CpuUsage;
}

/** created: not started yet; paused: events held; exited (stopped) and dead (killed): events dropped. */
export type SimNodeState = Extract<NodeState, 'created' | 'running' | 'paused' | 'exited' | 'dead'>;

interface SimNode {
  readonly id: string;
  /** Its position in graph order (and in the SimGraph). */
  readonly index: number;
  /** What it runs: a restart starts the same algorithm afresh. */
  readonly group: SimGroup;
  readonly host: AlgorithmHost;
  state: SimNodeState;
  /**
   * Events that arrived while the node was created or paused, in arrival order; for a running node, the messages
   * that arrived while it is frozen for a move, waiting for its handler to return or its snapshot's trip (see migrateNode).
   */
  held: SimEvent[] | undefined;
  /** Its delay stream (`createRandom(seed, 'sim-delay', id)`'s generator), made on its first send: see MessageContext.random. */
  delayStream: RandomGenerator | undefined;
  logLines: string[] | undefined;
  /** How many times it was paused: a lease expiry scheduled by one pause does not hit the next. */
  pauses: number;
  /** The capacity it wants of its host (node.demand), in the hosts' unit: its process's, so a new host starts at 0. */
  demand: number;
  /** Its service registrations, while its lease has run out during a pause: registered again when it resumes. */
  lapsed: Map<string, Json> | undefined;
}

/**
 * A directed edge a node has sent on, kept in the sender's host's slot for the edge (EdgeSlot): made on the
 * edge's first message, then reached with no lookup. A boxed number stored per message for FIFO was among the
 * dearest steps of a send.
 */
interface Link {
  /** The receiver's index in graph order, not its SimNode: a restart replaces that (see restartNode). */
  readonly target: number;
  /** The latest delivery time handed out on it (for FIFO). */
  lastDelivery: number;
  /**
   * The edge as the receiver's host accepts on it (AlgorithmHost.inbound), so a delivery needs no lookup of the
   * sender among the receiver's neighbours; undefined until asked, and again once the receiver restarted.
   */
  inbound: InboundEdge | undefined;
}

type SimEvent =
  | { readonly kind: 'start'; readonly node: SimNode }
  | Delivery
  | SimTimer
  | { readonly kind: 'wake'; readonly node: SimNode; readonly action: () => void }
  | Membership
  | { readonly kind: 'control'; readonly action: () => void };

/**
 * A message in flight. It carries the receiver's own copy of the payload, made by the sender's host (what JSON.parse
 * of the encoding would give, with no encoding made), and the encoding's size.
 */
interface Delivery {
  readonly kind: 'deliver';
  readonly node: SimNode;
  readonly sender: SimNode;
  readonly inbound: InboundEdge | undefined;
  readonly payload: Json;
  readonly bytes: number;
  readonly id: number;
}

/**
 * A neighbour of the node came up (`reason` undefined) or went down, as the registry tells it: an event of its
 * own rather than a wake-up, so that one addressed to a node that moved reaches the host it moved to.
 */
interface Membership {
  readonly kind: 'membership';
  readonly node: SimNode;
  readonly neighbour: Neighbour;
  readonly reason: DownReason | undefined;
}

/** A node's timer in the agenda, and its own cancel handle: one object per timer. */
class SimTimer implements Cancellable {
  readonly kind = 'timer';
  cancelled = false;

  constructor(
    readonly node: SimNode,
    readonly timer: Expiring,
  ) {}

  cancel(): void {
    this.cancelled = true;
  }
}

/** A move's record while the run goes on: `replayed` grows as the simulator passes messages on (see passOn). */
type MoveRecord = Omit<MigrationRecord, 'replayed'> & { replayed: number };

/** A node's host that moved: the host that took over, and the move's record. */
interface Moved {
  readonly to: SimNode;
  readonly record: MoveRecord;
}

/**
 * The move under way of a `migrate` event that waits for a handler (see migrateNode), and the fault events that
 * wait for it, in order: those that touch what it, or one waiting before them, touches (see touchedBy).
 */
interface MoveTurn {
  blocked: Set<string> | 'everything';
  readonly waiting: FaultEvent[];
}

/** What setTimer answers for a node that is down, or after the run: a timer that never fires. */
const NEVER_ARMED: Cancellable = { cancel() {} };

type Phase = 'idle' | 'running' | 'finished';

/** A node that left the run for good, as its neighbours would learn it: the hook for membership events. */
export interface MembershipChange {
  readonly node: string;
  /** killed: no goodbye (its lease runs out); stopped: a graceful leave (deregistered at once). */
  readonly how: 'killed' | 'stopped';
  /** Virtual ms. */
  readonly time: number;
}


export class Simulation implements PlacementSite {
  /** The members the run started with (node.size in the SDK); nodes that join later are not counted. */
  readonly size: number;
  private readonly graph: SimGraph;
  /** Edges added by joins, per node at either end: the SimGraph holds the graph the run started with. */
  private readonly joinedEdges = new Map<string, Neighbour[]>();
  private readonly settings: SimulationSettings;
  /** What a joining node runs: the run's one group (a run with groups cannot take joins, see joinNode). */
  private readonly joiningGroup: SimGroup | undefined;
  private readonly seed: number;
  private readonly delay: DelayModel;
  private readonly fifo: boolean;
  private readonly timeoutMs: number;
  private readonly untilQuiescent: boolean;
  private readonly maxEvents: number;
  private readonly trace: ((event: TraceEvent) => void) | undefined;
  private readonly logSink: SimulationOptions['log'];
  private readonly consoleSink: SimulationOptions['console'];
  private readonly progress: SimulationOptions['progress'];
  private readonly watchdog: Int32Array;

  private readonly queue = new Agenda<SimEvent>();
  /** What every node's environment asks of this run (see NodeEnvironment). */
  private readonly nodeSide: NodeSide = {
    transmit: (node, to, payload, edge, bytes) => this.transmit(node, to, payload, edge, bytes),
    now: () => this.clock,
    setTimer: (node, ms, timer) => this.setTimer(node, ms, timer),
    barrier: (node, name) => (isUp(node) ? this.barriers.arrive(name, node.id) : never()),
    store: (node) => this.store.forNode(node.id),
    services: (node) => this.services.forNode(node.id),
    queues: (node) => this.queues.forNode(node.id),
    log: (node, line) => this.log(node, line),
    demand: (node, units) => {
      node.demand = units;
    },
    onResult: (node, value) => this.recordResult(node, value),
    onFailure: (node, error) => this.recordFailure(node, error),
  };
  private readonly messageContext: MessageContext;
  private readonly nodes = new Map<string, SimNode>();
  /** Graph order. */
  private readonly order: SimNode[] = [];
  private readonly store: SimStore;
  private readonly services = new SimServices();
  private readonly queues: SimQueues;
  private readonly barriers: SimBarriers;
  private readonly results = new Map<string, Json>();
  /** Nodes killed or stopped before they had a result, and how: the run no longer waits for them. */
  private readonly departed = new Map<string, string>();
  /**
   * Directed edges (`from>to`) whose link a change has touched, in a run whose delay model is not the link
   * model: while changed (params ≠ base), the edge's messages follow this schedule instead of the model.
   */
  private readonly changedLinks = new Map<string, LinkSchedule>();
  private readonly appliedFaults: AppliedFault[] = [];
  /** The registry's changes after the start: leases that ended, nodes that registered again. */
  private readonly registryChanges: RegistryChange[] = [];
  /** By fault (its index), the leader its action hit: what its heal applies to. */
  private readonly leadersHit = new Map<number, string[]>();
  /** Nodes that moved (migrateNode), each to its successor: what was on its way to them goes on there. */
  private readonly movedTo = new Map<SimNode, Moved>();
  /** Every move (migrate, restart), as Docker's new node records it: migrations.ndjson. */
  private readonly migrations: MoveRecord[] = [];
  /** The `migrate` event whose move waits for a handler, if one does: the events that wait for it. */
  private moveTurn: MoveTurn | undefined;
  /** The hosts of a run given some (`--hosts`): where each node runs, what it gets there, who asks it. */
  private readonly hosts: SimHosts | undefined;
  /** The same, when its hosts are placed and far apart: each message between two of them takes their distance too. */
  private readonly distantHosts: SimHosts | undefined;
  /** The placement policy moving nodes between the hosts (`--policy`), with its rounds. */
  private readonly placement: SimPlacement | undefined;
  /** Called as each node leaves the run for good (see MembershipChange). */
  readonly membership: Array<(change: MembershipChange) => void> = [];

  private clock = 0;
  private events = 0;
  private messages = 0;
  /** Messages sent and neither delivered nor dropped yet (held ones for a created or paused node included). */
  private inFlight = 0;
  /**
   * Messages lost because their sender or receiver was taken out (killed or stopped). Those a fault drops on
   * arrival (link down, drop-messages) are counted by the receiving host, as in Docker.
   */
  private lostWithDeparted = 0;
  private phase: Phase = 'idle';
  private destroyed = false;
  private failure: SimulationOutcome['failure'];
  /** The node whose event is being processed: its code, and the microtasks it queued, run until the next event. */
  private speaking: SimNode | undefined;
  /** An error of the simulator or its plug-ins (delay model, trace sink, control action): run() rejects with it. */
  private fatal: Error | undefined;

  constructor(options: SimulationOptions) {
    this.graph = isSimGraph(options.graph) ? options.graph : toSimGraph(options.graph);
    this.messageContext = new MessageContext(this);
    this.seed = options.seed;
    this.delay = options.delay ?? defaultDelay();
    this.fifo = options.fifo ?? true;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_SIM_TIMEOUT_MS;
    this.untilQuiescent = options.until === 'quiescent';
    this.maxEvents = options.maxEvents ?? DEFAULT_MAX_EVENTS;
    this.trace = options.trace;
    this.logSink = options.log;
    this.consoleSink = options.console;
    this.progress = options.progress;
    this.watchdog = options.watchdog ?? new Int32Array(Slot.count);
    if (!(this.timeoutMs > 0) || !Number.isFinite(this.timeoutMs)) {
      throw new PeerlabError(`the simulation timeout must be a positive number of virtual ms, got ${this.timeoutMs}`, {
        hint: 'give a timeout above 0 (peerlab run --timeout takes seconds)',
      });
    }
    if (!Number.isInteger(this.maxEvents) || this.maxEvents <= 0) {
      throw new PeerlabError(`the event cap must be a positive integer, got ${this.maxEvents}`, { hint: 'pass a positive --max-events' });
    }

    const wake = (nodeId: string, action: () => void): void => {
      const node = this.nodes.get(nodeId);
      if (node) this.queue.push(this.clock, { kind: 'wake', node, action });
    };
    this.store = new SimStore(wake);
    this.queues = new SimQueues(wake);
    this.size = this.graph.ids.length;
    this.barriers = new SimBarriers(this.size, wake, (name) => this.emit({ type: 'barrier', time: this.clock, name }));

    const groupOf = assignGroups(this.graph.ids, options);
    this.settings = options;
    const groups = new Set(groupOf.values());
    this.joiningGroup = groups.size === 1 ? [...groups][0] : undefined;
    this.watchdog[Slot.handler] = Handler.state;
    this.graph.ids.forEach((id, index) => {
      this.watchdog[Slot.node] = index;
      const node = this.createNode(id, index, groupOf.get(id)!, neighboursAt(this.graph, index));
      this.nodes.set(id, node);
      this.order.push(node);
    });
    this.watchdog[Slot.handler] = Handler.none;
    this.hosts = options.hosts && new SimHosts(options.hosts);
    this.distantHosts = this.hosts?.placed ? this.hosts : undefined;
    if (options.placement && !this.hosts) throw new PeerlabError('a placement policy needs hosts: it places nodes on hosts', { hint: 'give the simulation hosts (peerlab run --hosts)' });
    this.placement = options.placement && new SimPlacement(this, this.hosts!, options.placement.policy, options.placement);
    this.placement?.start();
  }

  /** The virtual clock, in ms since the run started. */
  get now(): number {
    return this.clock;
  }

  get finished(): boolean {
    return this.phase === 'finished';
  }

  nodeIds(): string[] {
    return this.order.map((node) => node.id);
  }

  runningNodes(): Array<{ id: string; demand: number }> {
    return this.order.filter((node) => node.state === 'running').map(({ id, demand }) => ({ id, demand }));
  }

  nodeState(id: string): SimNodeState {
    return this.node(id).state;
  }

  /** The last `lines` lines node `id` logged. */
  logTail(id: string, lines: number): string {
    const logged = this.node(id).logLines ?? [];
    return logged.slice(Math.max(0, logged.length - lines)).join('\n');
  }

  /** Starts every node not started yet, in graph order, at the current virtual time (what simulate() does). */
  startAll(): void {
    for (const node of this.order) if (node.state === 'created') this.startNode(node.id);
  }

  /** Starts a created node now: it runs init, then receives what was sent to it meanwhile. */
  startNode(id: string): void {
    const node = this.node(id);
    if (node.state !== 'created') {
      throw new PeerlabError(`node ${id} cannot be started: it is ${node.state}`, {
        hint: 'a node that was started runs again only through restartNode (a `restart` fault)',
      });
    }
    node.state = 'running';
    this.queue.push(this.clock, { kind: 'start', node });
    this.release(node);
  }

  /**
   * Stops a node for good (as `docker stop`, a graceful leave): messages to and from it, its timers and wake-ups
   * are lost from now on. It leaves as the node agent does on SIGTERM: its registry entries, locks and
   * candidacies go at once, and its neighbours learn it `left`.
   */
  stopNode(id: string): void {
    this.drop(this.node(id), 'exited');
  }

  /**
   * Kills a node (as `docker kill`): as stopping it, but nothing is deregistered. Its registry entries, locks
   * and candidacies go when its lease runs out (REGISTRATION_TTL_SECONDS later), and only then do its neighbours
   * learn it is down (`lease-expired`), as they would from etcd.
   */
  killNode(id: string): void {
    this.drop(this.node(id), 'dead');
  }

  /**
   * Tells the live neighbours of node `id` that it is up (it restarted or joined): each adds it to
   * `node.neighbours` and gets onNeighbourUp. What restarts and joins call once the node runs again.
   */
  nodeUp(id: string): void {
    const node = this.node(id);
    this.registryChanges.push({ atMs: this.clock, node: id, change: 'registered' });
    for (const neighbour of this.neighboursOf(node)) {
      const target = this.nodes.get(neighbour.id)!;
      if (isUp(target)) this.queue.push(this.clock, { kind: 'membership', node: target, neighbour: { id, weight: neighbour.weight }, reason: undefined });
    }
  }

  /**
   * A new member joins now (churn's join=), attached to the live members `attach` names by new edges of the
   * given weights: it starts (init) at once, registered, and each of those members adds it to
   * `node.neighbours` and gets onNeighbourUp, as in Docker once its container registered.
   */
  joinNode(id: string, attach: readonly Neighbour[]): void {
    if (this.nodes.has(id)) throw new PeerlabError(`node ${id} cannot join: the run has a node ${id} already`);
    if (!this.joiningGroup) throw new PeerlabError(`node ${id} cannot join a run with groups: it would have no role`);
    for (const { id: other } of attach) {
      const member = this.node(other);
      if (!isUp(member)) throw new PeerlabError(`node ${id} cannot attach to node ${other}: it is ${member.state}`);
    }
    // Where a churn join goes on Docker: the host with the fewest nodes per unit of capacity that has room.
    const host = this.hosts?.leastCrowded(this.runningNodes().map((member) => member.id));
    for (const { id: other, weight } of attach) {
      this.edgesAdded(other).push({ id, weight });
      this.edgesAdded(id).push({ id: other, weight });
    }
    const index = this.order.length;
    this.watchdog[Slot.node] = index;
    this.watchdog[Slot.handler] = Handler.state;
    const node = this.createNode(id, index, this.joiningGroup, [...attach]);
    this.watchdog[Slot.handler] = Handler.control;
    this.nodes.set(id, node);
    this.order.push(node);
    if (host !== undefined) this.hosts!.moveTo(id, host);
    this.barriers.join();
    this.emit({ type: 'control', time: this.clock, action: 'join', node: id });
    this.startNode(id);
    this.nodeUp(id);
  }

  /**
   * Restarts node `id` now (a `restart` fault), as a new container takes a node's id over in Docker: a fresh host
   * with empty state runs init, with the neighbours that are up as `node.neighbours`. The old one is gone at once:
   * its timers, what it held, and what is in flight to it or from it are lost (counted as lost with departed
   * nodes); its services, locks and candidacies go with it (in Docker they stay listed, stale, until the old
   * lease runs out). The new one registers: a neighbour that had seen it go down (its lease ran out, or it
   * stopped) gets onNeighbourUp; one that had it up notices nothing but the fresh state, as in Docker, where the
   * new lease overwrites the registry key. The faults on its incoming links stay (they are the links', not the
   * process's), and so does a clock skew, from when it started (it is the machine's clock): as in Docker, where the
   * new container reads the id's control keys as they are. A killed or stopped node may be restarted too:
   * it owes a result again. A result the old one reported stands until the new one reports, as in etcd.
   */
  restartNode(id: string): void {
    const old = this.node(id);
    if (old.state === 'created') throw new PeerlabError(`node ${id} cannot be restarted: it has not started yet`);
    old.state = 'dead';
    for (const event of old.held ?? []) {
      if (event.kind === 'deliver') this.loseWithDeparted(event.id, event.sender.id, id, 'node restarted');
    }
    old.held = undefined;
    this.services.expire(id);
    this.queues.expire(id);
    if (this.departed.delete(id)) this.barriers.rejoin(id);
    this.succeed(old, this.neighboursOf(old).filter((neighbour) => isUp(this.nodes.get(neighbour.id)!)));
    this.emit({ type: 'control', time: this.clock, action: 'restart', node: id });
    this.startNode(id);
    this.nodeUp(id);
    // As Docker's restarted node records it (src/node/agent.ts): no snapshot, nothing carried, nothing replayed
    // (what was in flight to the old host is lost, above); the old host goes and the new one starts at this instant.
    this.recordMove(id, 'restart', this.clock, { snapshotBytes: 0, carried: 0 });
  }

  /**
   * Moves node `id` (a `migrate` fault) into a fresh host, as src/migration moves it to a new container in Docker,
   * with the same SDK semantics (AlgorithmHost's snapshot and resume): refused at once, with Docker's words
   * (`cannot migrate: …`), when a snapshot cannot carry the node (state that is not plain JSON, timers pending and
   * no `restore` hook, a lock held or a candidacy, a `run()` under way), as at Docker's `prepare`. Otherwise, as
   * at Docker's freeze (src/node/migration.ts, leave), it first waits for a handler under way to return (and for the trip, below): one
   * suspended on a store or barrier wake-up (an `await` inside onMessage) runs to its end in the old host, which
   * handles nothing else meanwhile (AlgorithmHost.suspend: its timers wait, neighbours' comings and goings queue)
   * while what arrives for it is held; then the host is asked again (a timer set meanwhile without a `restore`
   * hook makes the move fail, recorded, and the node goes on where it stopped, as Docker's old node calls it off
   * at the freeze). With no handler under way (most moves) all this happens at the fault's instant.
   *
   * Between hosts that are placed (latitude and longitude), the snapshot takes the way from the old host to the
   * new, as a message between them would (SimHosts.delayMs), and the node is frozen meanwhile, what arrives for it
   * held: that is the move's downtime. Otherwise the move takes no virtual time: the simulator has no model of a
   * process's restore (Docker measures 0.1–2 s of downtime, see README "Migration"). Its snapshot goes through JSON as on the wire, and the new host resumes
   * from it (the algorithm's `restore` hook, or node.state set) instead of running init. Nothing is lost,
   * duplicated or reordered: what it had received and not handled travels in the snapshot, what was held and what
   * was in flight to the old host reaches the new one after it, in order, and what the old one sent before the
   * move arrives before anything the new one sends. The old host's timers never fire (its restore hook sets them
   * again). The node stays registered (in Docker the new container takes the id's registration over): no
   * neighbour hears it go or come, and its services, results and barrier arrivals stay; link faults and clock
   * skew stay, as across a restart.
   *
   * `settled` is told once the move is done (or has failed). A handler that has not returned after
   * MOVE_DONE_TIMEOUT_MS of virtual time is given up on as Docker's CLI gives up waiting for the new node (the
   * same words): `settled` gets that error, and the node stays frozen, as the old container does in Docker, its
   * move completing (and recorded) if the handler ever returns.
   */
  migrateNode(id: string, settled: (error?: Error) => void = () => {}, to?: string): void {
    const old = this.node(id);
    // In Docker a paused node cannot answer the move's `prepare`, and a dead or stopped one has nothing to move.
    if (old.state !== 'running') throw new PeerlabError(`node ${id} cannot be migrated: it is ${old.state}`);
    if (old.held !== undefined) throw new PeerlabError(`node ${id} cannot be migrated: it is frozen for a move under way`);
    const refusal = old.host.snapshotRefusal();
    // Refused at `prepare`: Docker's CLI (moveNode) throws before it starts a new container, and writes no record
    // in migrations.ndjson; nor does this.
    if (refusal !== undefined) throw new PeerlabError(`cannot migrate: ${refusal}`);
    const target = this.moveTarget(id, to);
    const frozenAt = this.clock;
    // Between far-apart hosts the snapshot takes the way from one to the other, and the node is away meanwhile.
    const tripMs = target !== undefined && this.distantHosts ? this.distantHosts.delayMs(this.distantHosts.hostOf(id), target) : 0;
    if (!old.host.handlerUnderWay && tripMs === 0) {
      this.move(old, frozenAt, target);
      settled();
      return;
    }
    old.held = [];
    let told = false;
    const tell = (error?: Error): void => {
      if (told) return;
      told = true;
      settled(error);
    };
    // Resolved in the microtasks of the event that woke the handler: the move goes on as an event of its own.
    void old.host.suspend().then(() => {
      if (this.phase !== 'finished') this.queue.push(Math.max(this.clock, frozenAt + tripMs), { kind: 'control', action: () => tell(this.afterFreeze(old, frozenAt, target)) });
    });
    const giveUp = (): void =>
      tell(new PeerlabError(`gave up waiting ${MOVE_DONE_TIMEOUT_MS / 1000} s for node ${id} to resume in its new container: the handler it was in has not returned, and it stays frozen until it does`));
    this.queue.push(this.clock + MOVE_DONE_TIMEOUT_MS, { kind: 'control', action: giveUp });
  }

  /**
   * The handler a move waited for has returned: the host is asked again whether a snapshot can carry it, and the
   * node moves, or goes on where it stopped. Returns why the move failed, if it did.
   */
  private afterFreeze(old: SimNode, frozenAt: number, target: string | undefined): Error | undefined {
    // Taken out meanwhile other than by a fault (those wait for the move, see waitsForMove): nothing to move.
    if (this.nodes.get(old.id) !== old || old.state !== 'running') return new PeerlabError(`node ${old.id} did not move: it is ${old.state}`);
    const refusal = old.host.snapshotRefusal();
    if (refusal === undefined) {
      this.move(old, frozenAt, target);
      return undefined;
    }
    // As Docker's old node calls the move off at the freeze and goes on (src/node/migration.ts, leave), and its CLI
    // records the failed move (abandoned in src/migration/move.ts): the timers that came due fire now, then what
    // was held arrives.
    const held = old.held ?? [];
    old.held = undefined;
    this.speaking = old;
    this.watchdog[Slot.node] = old.index;
    this.watchdog[Slot.handler] = Handler.timer;
    old.host.unsuspend();
    for (const event of held) this.process(event);
    const failed = `at the freeze, ${refusal}: node ${old.id} went on in its old host`;
    this.recordMove(old.id, 'migrate', frozenAt, { snapshotBytes: 0, carried: 0, failed });
    return new PeerlabError(`migration of node ${old.id} failed: ${failed}`);
  }

  /**
   * The host node `id` moves to: `to` if given, else the least crowded other one; none in a run without hosts,
   * where a move goes to a fresh process in the same place. Refused, as Docker's CLI refuses it, before anything moves.
   */
  private moveTarget(id: string, to: string | undefined): string | undefined {
    const hosts = this.hosts;
    if (hosts === undefined) {
      if (to !== undefined) throw new PeerlabError(`--to ${to}: the run has no hosts to move node ${id} to`, { hint: 'give the run hosts (--hosts), or leave --to out' });
      return undefined;
    }
    if (to !== undefined && !hosts.has(to)) throw new PeerlabError(`--to ${to}: the run has no host ${to}`, { hint: `its hosts: ${hosts.names().join(', ')}` });
    if (to !== undefined && to === hosts.hostOf(id)) throw new PeerlabError(`node ${id} is on ${to} already`, { hint: 'name another host with --to' });
    const running = this.runningNodes().map((node) => node.id);
    if (to === undefined) return hosts.leastCrowded(running, hosts.hostOf(id));
    const full = hosts.whyNoRoom(to, running);
    if (full) throw full;
    return to;
  }

  /** Moves node `old` into a fresh host now (to host `target`, if the run has hosts), from its snapshot (see migrateNode), and records the move. */
  private move(old: SimNode, frozenAt: number, target: string | undefined): void {
    const { id } = old;
    if (target !== undefined) this.hosts!.moveTo(id, target);
    // The wire's JSON round trip (the node agent's handoff is JSON.stringify'd and JSON.parse'd whole, see
    // NodeMigration.leave and arrive): the new host gets what a new container would, not the old host's objects.
    const wire = JSON.stringify(old.host.snapshot());
    const snapshot = JSON.parse(wire) as HostSnapshot;
    const held = old.held;
    old.held = undefined;
    old.state = 'dead';
    const fresh = this.succeed(old, [...snapshot.neighbours]);
    // Docker counts the snapshot's inbox (messages and neighbours' comings and goings) as carried; what was held
    // and what was in flight to the old host is counted as replayed as it is passed on (see passOn).
    const record = this.recordMove(id, 'migrate', frozenAt, { snapshotBytes: Buffer.byteLength(wire), carried: snapshot.inbox.length });
    this.movedTo.set(old, { to: fresh, record });
    fresh.state = 'running';
    // Its delay stream and log go on where they were: the node's, not the host's.
    fresh.delayStream = old.delayStream;
    fresh.logLines = old.logLines;
    // The links out of it go on too, FIFO state and all: its first message cannot overtake its predecessor's last
    // (in Docker the old container's `ended` marker gates them).
    for (const { id: other } of this.neighboursOf(old)) {
      const link = old.host.outbound(other)?.transport;
      const slot = fresh.host.outbound(other);
      if (link !== undefined && slot !== undefined) slot.transport = link;
    }
    this.emit({ type: 'control', time: this.clock, action: 'migrate', node: id });
    // The restore hook is the node's code: what it prints goes to its log, and the watchdog names it.
    this.speaking = fresh;
    this.watchdog[Slot.node] = fresh.index;
    this.watchdog[Slot.handler] = Handler.restore;
    void fresh.host.resume(snapshot);
    this.watchdog[Slot.handler] = Handler.control;
    // After what the snapshot carried (the new host handles that first), as Docker's new node hands over what it held.
    for (const event of held ?? []) this.process(event);
  }

  /**
   * A move's record, as Docker's new node writes it (MigrationRecord), on the run's virtual clock: from the freeze
   * to now, which is the move's instant unless it waited for a handler (the move itself takes no virtual time).
   * No `from` or `to`: the simulator has no addresses.
   */
  private recordMove(node: string, kind: MoveRecord['kind'], frozenAt: number, moved: Pick<MoveRecord, 'snapshotBytes' | 'carried' | 'failed'>): MoveRecord {
    const record: MoveRecord = {
      node,
      migration: `${kind}-${node}-${this.migrations.length + 1}`,
      kind,
      frozenAt,
      resumedAt: this.clock,
      downtimeMs: this.clock - frozenAt,
      ...moved,
      replayed: 0,
    };
    this.migrations.push(record);
    return record;
  }

  /**
   * A fresh host takes node `old`'s id over (a restart or a move), with `neighbours` as `node.neighbours`: the
   * faults on its incoming links and its clock skew stay, and the links into it ask the new host for its edges.
   */
  private succeed(old: SimNode, neighbours: Neighbour[]): SimNode {
    this.watchdog[Slot.node] = old.index;
    this.watchdog[Slot.handler] = Handler.state;
    const fresh = this.createNode(old.id, old.index, old.group, neighbours);
    this.watchdog[Slot.handler] = Handler.control;
    fresh.host.setLinkFaults(old.host.linkFaults());
    fresh.host.setClockSkew(old.host.clockSkew);
    this.nodes.set(old.id, fresh);
    this.order[old.index] = fresh;
    // The links into it hold the old host's edges: each asks the new host for its own at its next message.
    for (const { id: other } of this.neighboursOf(old)) {
      const link = this.nodes.get(other)!.host.outbound(old.id)?.transport as Link | undefined;
      if (link) link.inbound = undefined;
    }
    return fresh;
  }

  private edgesAdded(id: string): Neighbour[] {
    let added = this.joinedEdges.get(id);
    if (!added) this.joinedEdges.set(id, (added = []));
    return added;
  }

  /** A node's neighbours now: those of the graph the run started with, then those that joined attached to it. */
  private neighboursOf(node: SimNode): Neighbour[] {
    const joined = this.joinedEdges.get(node.id);
    const original = node.index < this.graph.ids.length ? neighboursAt(this.graph, node.index) : [];
    return joined ? [...original, ...joined] : original;
  }

  /** The weight of edge from–to, an edge of the starting graph or one a join added (what a delay model reads). */
  weightBetween(from: SimNode, to: SimNode): number {
    const joined = this.joinedEdges.get(from.id)?.find(({ id }) => id === to.id);
    return joined ? joined.weight : edgeWeight(this.graph, from.index, to.index);
  }

  /**
   * The node that leads election `election` now, undefined if none does: what the `leader` fault selector
   * hits, resolved when its event fires (coordination/elections.ts answers the same in Docker).
   */
  leaderOf(election: string): string | undefined {
    return this.queues.first(electionQueue(election));
  }

  /**
   * Takes the directed edge down: until linkUp, node `to` drops on arrival every message from `from`, in flight
   * or sent later, in its host, as the node agent does (so both runtimes count them alike).
   */
  linkDown(from: string, to: string): void {
    this.edgeBetween(from, to);
    this.node(to).host.setLinkFrom(from, true);
    this.emit({ type: 'control', time: this.clock, action: `link-down ${from}>${to}` });
  }

  linkUp(from: string, to: string): void {
    this.edgeBetween(from, to);
    this.node(to).host.setLinkFrom(from, false);
    this.emit({ type: 'control', time: this.clock, action: `link-up ${from}>${to}` });
  }

  /**
   * Changes the directed edge's link from now on (a `degrade` fault); undefined restores what the run gave it.
   * With the link model, the edge's own LinkSchedule changes, as the Docker agent's outbox does: same FIFO
   * state, same random stream. With another delay model, the edge follows a LinkSchedule of its own (unshaped
   * but for the change, on the edge's link stream) until restored, then the model again; FIFO holds across.
   */
  changeLink(from: string, to: string, change: LinkChange | undefined): void {
    this.edgeBetween(from, to);
    const key = `${from}>${to}`;
    let schedule = this.delay.link?.(from, to) ?? this.changedLinks.get(key);
    if (schedule === undefined && change !== undefined) {
      schedule = new LinkSchedule(UNSHAPED, createRandom(this.seed, ...linkStream(from, to)));
      this.changedLinks.set(key, schedule);
    }
    schedule?.change(change);
    this.emit({ type: 'control', time: this.clock, action: change === undefined ? `link-restore ${key}` : `link-change ${key} ${describeLinkChange(change)}` });
  }

  /** From now on node `to` drops `percent` % of what arrives from `from` (0 ends it): a drop-messages fault. */
  dropShare(from: string, to: string, percent: number): void {
    this.edgeBetween(from, to);
    this.node(to).host.setDropShare(from, percent);
    this.emit({ type: 'control', time: this.clock, action: percent > 0 ? `drop-messages ${from}>${to} ${percent}%` : `drop-messages-end ${from}>${to}` });
  }

  /**
   * Schedules a resolved fault schedule: each event applies at exactly its atMs of virtual time, so
   * AppliedFault.appliedMs = atMs. An event that cannot apply (pausing a node that is dead) is recorded with
   * its error and does not end the run, as in Docker. Events due after the run has ended never happen.
   */
  scheduleFaults(events: readonly FaultEvent[]): void {
    for (const event of events) this.at(event.atMs, () => this.applyFault(event));
  }

  /** Every fault event applied so far, in the order applied. */
  get faults(): readonly AppliedFault[] {
    return this.appliedFaults;
  }

  /**
   * `leader[:NAME]` hits whoever leads when the event fires; its heal (a resume) hits the node its action hit,
   * which may no longer lead by then.
   */
  private leaderHit(event: FaultEvent & { leader: string }, errors: string[]): string[] {
    if (isNodeHeal(event.action)) return this.leadersHit.get(event.fault) ?? [];
    const leader = this.leaderOf(event.leader);
    if (leader === undefined) errors.push(`no node leads election ${event.leader}`);
    const hit = leader === undefined ? [] : [leader];
    this.leadersHit.set(event.fault, hit);
    return hit;
  }

  private applyFault(event: FaultEvent): void {
    if (this.waitsForMove(event)) return;
    const errors: string[] = [];
    const each = <T>(items: readonly T[], act: (item: T) => void): void => {
      for (const item of items) {
        try {
          act(item);
        } catch (error) {
          errors.push(asError(error).message);
        }
      }
    };
    const nodes = event.leader === undefined ? event.nodes : this.leaderHit({ ...event, leader: event.leader }, errors);
    switch (event.action) {
      case 'kill':
        each(nodes, (id) => this.killNode(id));
        break;
      case 'stop':
        each(nodes, (id) => this.stopNode(id));
        break;
      case 'pause':
        each(nodes, (id) => this.pauseNode(id));
        break;
      case 'resume':
        each(nodes, (id) => this.resumeNode(id));
        break;
      case 'link-down':
        each(event.edges, ([from, to]) => this.linkDown(from, to));
        break;
      case 'link-up':
        each(event.edges, ([from, to]) => this.linkUp(from, to));
        break;
      case 'degrade':
        each(event.edges, ([from, to]) => this.changeLink(from, to, event.link ?? {}));
        break;
      case 'restore':
        each(event.edges, ([from, to]) => this.changeLink(from, to, undefined));
        break;
      case 'drop-messages':
      case 'drop-messages-end':
        each(event.edges, ([from, to]) => this.dropShare(from, to, event.action === 'drop-messages' ? (event.dropPercent ?? 0) : 0));
        break;
      case 'skew':
      case 'skew-end':
        each(nodes, (id) => this.skewClock(id, event.action === 'skew' ? event.skew : undefined));
        break;
      case 'restart':
        each(nodes, (id) => this.restartNode(id));
        break;
      case 'join':
        each(nodes, (id) => this.joinNode(id, event.attach ?? []));
        break;
      case 'migrate': {
        // As DockerFaultSchedule.act moves them: one node after another, and a move that fails (see migrateNode)
        // ends the event there, the node and those after it staying where they are. It is recorded with its error,
        // once its moves are done (a move may wait for a handler), and the run goes on, as DockerFaultSchedule.apply
        // records moveNode's error without failing the run. Meanwhile the events that touch what it touches wait.
        const things = touchedBy(event);
        const turn: MoveTurn = { blocked: things === 'everything' ? things : new Set(things), waiting: [] };
        this.moveTurn = turn;
        this.migrateEach(nodes, (error) => {
          this.recordFault(event, nodes, error === undefined ? errors : [...errors, error.message]);
          this.moveTurn = undefined;
          for (const waiting of turn.waiting) this.applyFault(waiting);
        });
        return;
      }
    }
    this.recordFault(event, nodes, errors);
  }

  private recordFault(event: FaultEvent, nodes: readonly string[], errors: readonly string[]): void {
    this.appliedFaults.push({ ...event, nodes, appliedMs: this.clock, ...(errors.length > 0 && { error: errors.join('; ') }) });
  }

  /** Moves `ids` one after another (see migrateNode), each once the one before has moved; `done` once all have, or one failed. */
  private migrateEach(ids: readonly string[], done: (error?: Error) => void): void {
    const next = (index: number): void => {
      if (index === ids.length) return done();
      try {
        this.migrateNode(ids[index]!, (error) => (error === undefined ? next(index + 1) : done(error)));
      } catch (error) {
        done(asError(error));
      }
    };
    next(0);
  }

  /**
   * Whether `event` must wait for the move under way, as DockerFaultSchedule.applyInTurn has it wait (touchedBy):
   * it acts on a node the move's event acts on, it is a move itself (one at a time), it is on the leader (it waits
   * for everything), or it touches what an event waiting before it touches. If so it waits, and is applied in
   * order once the move is done, its appliedMs saying how late.
   */
  private waitsForMove(event: FaultEvent): boolean {
    const turn = this.moveTurn;
    if (turn === undefined) return false;
    const things = touchedBy(event);
    const blocked = turn.blocked;
    if (blocked !== 'everything' && things !== 'everything' && !things.some((thing) => blocked.has(thing))) return false;
    turn.waiting.push(event);
    if (things === 'everything') turn.blocked = things;
    else if (blocked !== 'everything') for (const thing of things) blocked.add(thing);
    return true;
  }

  /** From now on node `id`'s clock runs off as `skew` says (undefined sets it right): a skew fault, in its host. */
  skewClock(id: string, skew: ClockSkew | undefined): void {
    const node = this.node(id);
    if (node.state === 'exited' || node.state === 'dead') throw new PeerlabError(`node ${id}'s clock cannot be skewed: it is ${node.state}`);
    node.host.setClockSkew(skew);
    this.emit({ type: 'control', time: this.clock, action: skew ? `skew offset=${skew.offsetMs}ms rate=${skew.rate}` : 'skew-end', node: id });
  }

  /** Freezes a node: its deliveries, timers and wake-ups are held, in order, until it is resumed. */
  pauseNode(id: string): void {
    const node = this.node(id);
    if (node.state !== 'running') throw new PeerlabError(`node ${id} cannot be paused: it is ${node.state}`);
    node.state = 'paused';
    this.emit({ type: 'control', time: this.clock, action: 'pause', node: id });
    // A frozen agent renews nothing: paused past the lease's time to live, the node drops out as a dead one would.
    const pause = ++node.pauses;
    const lapse = (): void => {
      if (node.state === 'paused' && node.pauses === pause) node.lapsed = this.endLease(node, 'lease-expired');
    };
    this.queue.push(this.clock + REGISTRATION_TTL_SECONDS * 1000, { kind: 'control', action: lapse });
  }

  /**
   * Releases a paused node's held events at the current virtual time, in the order they arrived. If its lease
   * ran out meanwhile, it registers again at once, as the node agent does under a new lease: its services are
   * back and its neighbours learn it is up; its locks and candidacies stay lost.
   */
  resumeNode(id: string): void {
    const node = this.node(id);
    if (node.state !== 'paused') throw new PeerlabError(`node ${id} cannot be resumed: it is ${node.state}`);
    node.state = 'running';
    this.emit({ type: 'control', time: this.clock, action: 'resume', node: id });
    this.release(node);
    if (!node.lapsed) return;
    this.services.restore(id, node.lapsed);
    node.lapsed = undefined;
    this.nodeUp(id);
  }

  /**
   * Runs `action` as an event at virtual time `timeMs` (not before now): how faults and churn are injected
   * deterministically. An exception in it aborts the run (run() rejects with it).
   */
  at(timeMs: number, action: () => void): void {
    if (this.phase === 'finished') throw new PeerlabError('the simulation has finished');
    if (Number.isNaN(timeMs)) throw new RangeError('Simulation.at() needs a time, got NaN');
    this.queue.push(Math.max(timeMs, this.clock), { kind: 'control', action });
  }

  /** Runs `action` as an event `ms` virtual ms from now. */
  after(ms: number, action: () => void): void {
    this.at(this.clock + Math.max(0, ms), action);
  }

  /** Ends the run (a running run() resolves with endReason 'destroyed') and drops every node and key. */
  destroy(): void {
    this.destroyed = true;
    for (const node of this.order) {
      if (node.state !== 'exited' && node.state !== 'dead') node.state = 'exited';
      node.held = undefined;
    }
    this.queue.clear();
    this.store.clear();
    this.services.clear();
    this.queues.clear();
    this.barriers.clear();
    if (this.phase === 'idle') this.phase = 'finished';
  }

  get isDestroyed(): boolean {
    return this.destroyed;
  }

  /**
   * Runs events until every node has a result (and, with `until: 'quiescent'`, no message is in flight), a node fails, the virtual timeout or the event cap is reached,
   * or nothing is left to happen. Nodes must have been started (startAll, or SimRuntime.startNodes).
   */
  async run(): Promise<SimulationOutcome> {
    if (this.phase !== 'idle') throw new PeerlabError('a Simulation runs only once');
    this.phase = 'running';
    const began: Began = { wallMs: performance.now(), cpu: process.cpuUsage() };
    // What an algorithm prints with console.* goes to the log of the node that printed it (see console-shim.ts).
    const sinks = globalThis as { [CONSOLE_SINK]?: (line: string) => void };
    const outerSink = sinks[CONSOLE_SINK];
    sinks[CONSOLE_SINK] = (line) => (this.speaking ? this.print(this.speaking, line) : process.stderr.write(`${line}\n`));
    try {
      return await this.loop(began);
    } finally {
      sinks[CONSOLE_SINK] = outerSink;
    }
  }

  /**
   * Runs events one after another, each once everything the one before set off has settled, until the run ends:
   * what run() awaits. An event whose code queued nothing (see asyncActivity) has nothing to settle, and the
   * next runs at once; the others wait for the Settler, as does every YIELD_EVERY-th, so the process's own event
   * loop still turns.
   */
  private loop(began: Began): Promise<SimulationOutcome> {
    return new Promise((resolve, reject) => {
      const unwatch = watchAsyncActivity();
      const turn = (): void => {
        try {
          for (;;) {
            keepWatching();
            const before = asyncActivity();
            const reason = this.advance();
            if (reason !== undefined) {
              unwatch();
              resolve(this.finish(reason, began));
              return;
            }
            if (asyncActivity() !== before || Settler.yieldsAfter(this.events)) {
              settler.after(this.events);
              return;
            }
            this.settled();
          }
        } catch (error) {
          unwatch();
          reject(asError(error));
        }
      };
      const settler = new Settler(() => {
        this.settled();
        turn();
      });
      turn();
    });
  }

  /** The event's code, and every microtask it queued, has run: what runs now is the simulator's own. */
  private settled(): void {
    this.watchdog[Slot.node] = -1;
    this.watchdog[Slot.handler] = Handler.none;
    if (this.progress && this.events % PROGRESS_EVERY === 0) this.reportProgress();
  }

  /**
   * Runs events until one ran code (it must settle before the next: undefined) or the run ends (why). Events
   * that ran no code (held for a node that is not running, lost with a departed one) are passed at once.
   */
  private advance(): EndReason | undefined {
    for (;;) {
      if (this.fatal) {
        this.phase = 'finished';
        this.queue.clear();
        throw this.fatal;
      }
      if (this.destroyed) return 'destroyed';
      if (this.failure) return 'failure';
      if (this.results.size + this.departed.size === this.order.length && (!this.untilQuiescent || this.inFlight === 0)) return 'complete';
      if (this.queue.empty) return 'stalled';
      const time = this.queue.nextTime;
      if (time > this.timeoutMs) {
        this.clock = this.timeoutMs;
        return 'timeout';
      }
      if (this.events >= this.maxEvents) return 'event-cap';
      if (this.watchdog[Slot.stop] === StopRequest.interrupt) return 'interrupted';
      this.clock = time;
      this.watchdog[Slot.event] = this.events;
      if (this.process(this.queue.pop()!)) {
        this.events += 1;
        return undefined;
      }
      this.watchdog[Slot.node] = -1;
      this.watchdog[Slot.handler] = Handler.none;
    }
  }

  private finish(reason: EndReason, began: Began): SimulationOutcome {
    this.phase = 'finished';
    this.queue.clear();
    const wallMs = performance.now() - began.wallMs;
    const cpu = process.cpuUsage(began.cpu);
    this.reportProgress();
    return {
      results: this.results,
      reports: this.collectReports(),
      missing: this.order.filter((node) => !this.results.has(node.id) && !this.departed.has(node.id)).map((node) => node.id),
      departed: this.departed,
      faults: this.appliedFaults,
      migrations: this.migrations,
      ...(this.placement && { placements: this.placement.rounds }),
      registry: { atStart: this.size, changes: this.registryChanges },
      lostWithDeparted: this.lostWithDeparted,
      timedOut: reason === 'timeout' || reason === 'stalled',
      endReason: reason,
      failure: this.failure,
      virtualTimeMs: this.clock,
      wallMs,
      cpuMs: (cpu.user + cpu.system) / 1000,
      events: this.events,
      messages: this.messages,
      inFlight: this.inFlight,
    };
  }

  private process(event: SimEvent): boolean {
    const watchdog = this.watchdog;
    this.speaking = event.kind === 'control' ? undefined : event.node;
    if (event.kind === 'control') {
      watchdog[Slot.node] = -1;
      watchdog[Slot.handler] = Handler.control;
      try {
        event.action();
      } catch (error) {
        this.abort(error);
      }
      return true;
    }
    const node = event.node;
    switch (node.state) {
      case 'exited':
      case 'dead': {
        // A node that moved: its messages and membership changes reach its new host, in the order they came, and
        // its timers, store and barrier wake-ups go with its old one (the new one's restore hook sets its own).
        const moved = this.movedTo.size === 0 ? undefined : this.movedTo.get(node);
        if (moved !== undefined && event.kind === 'deliver') return this.passOn(event, moved);
        if (moved !== undefined && event.kind === 'membership') return this.process({ ...event, node: moved.to });
        if (event.kind === 'deliver') this.loseWithDeparted(event.id, event.sender.id, node.id, `node ${node.state}`);
        return false;
      }
      case 'created':
      case 'paused':
        (node.held ??= []).push(event);
        return false;
      case 'running':
        break;
    }
    // What a node sent before it moved was on its way already (in Docker it drains before the handoff).
    if (event.kind === 'deliver' && !isUp(event.sender) && !this.movedTo.has(event.sender)) {
      this.loseWithDeparted(event.id, event.sender.id, node.id, `node ${event.sender.id} ${event.sender.state}`);
      return false;
    }
    watchdog[Slot.node] = node.index;
    watchdog[Slot.handler] = HANDLER_OF[event.kind];
    if (event.kind === 'deliver') watchdog[Slot.from] = event.sender.index;
    try {
      switch (event.kind) {
        case 'start':
          this.emit({ type: 'start', time: this.clock, node: node.id });
          void node.host.start();
          return true;
        case 'deliver': {
          // Frozen for a move that waits for its handler (see migrateNode): held for the host it moves to.
          if (node.held !== undefined) {
            node.held.push(event);
            return false;
          }
          // Link faults and drop-messages act on arrival, in the host, as in the node agent; it counts the drop.
          const cause = node.host.dropsOnArrival(event.sender.id);
          if (cause !== undefined) {
            this.dropMessage(event.id, event.sender.id, node.id, cause);
            return false;
          }
          this.inFlight -= 1;
          this.hosts?.countRequest(node.id, event.sender.id);
          // Guarded here, not only in emit(): the event object would otherwise be built for every message untraced.
          if (this.trace) this.emit({ type: 'deliver', time: this.clock, id: event.id, from: event.sender.id, to: node.id });
          // Unknown at the send (a joining node's edge its receiver had not admitted yet): looked up now.
          node.host.acceptOn(event.inbound ?? node.host.inbound(event.sender.id), event.sender.id, event.payload, event.bytes);
          return true;
        }
        case 'timer':
          if (event.cancelled) return false;
          if (this.trace) this.emit({ type: 'timer', time: this.clock, node: node.id });
          event.timer.expire();
          return true;
        case 'wake':
          event.action();
          return true;
        case 'membership':
          if (event.reason === undefined) node.host.neighbourUp(event.neighbour);
          else node.host.neighbourDown(event.neighbour.id, event.reason);
          return true;
      }
    } catch (error) {
      // As in the node agent: a delivery the host refuses fails the receiving node.
      this.recordFailure(node, asError(error));
      return true;
    }
  }

  /**
   * A message to a host its node moved out of (held while it was frozen, or in flight at the move) goes to the
   * node's host now, counted in the move's `replayed`: in Docker, what the neighbours sent the new container while
   * it restored, held and handed over. A message that met several moves counts in the first.
   */
  private passOn(event: Delivery, moved: Moved): boolean {
    let host = moved.to;
    for (let next = this.movedTo.get(host); next !== undefined; next = this.movedTo.get(host)) host = next.to;
    // Unless it is lost after all: its sender was taken out, or the node since.
    if (isUp(host) && (isUp(event.sender) || this.movedTo.has(event.sender))) moved.record.replayed += 1;
    return this.process({ ...event, node: host, inbound: undefined });
  }

  private createNode(id: string, index: number, group: SimGroup, neighbours: Neighbour[]): SimNode {
    const { algorithm, params: rawParams } = group;
    const options = this.settings;
    const env = new NodeEnvironment(this.nodeSide);
    // Parsed per node, as each node agent parses the run config: no node shares another's params object.
    const params = algorithm.params ? algorithm.params.parse(rawParams) : {};
    const host = new AlgorithmHost(
      algorithm,
      { id, neighbours, size: this.size, params, seed: options.seed, maxPayloadBytes: options.maxPayloadBytes },
      env,
    );
    env.node = { id, index, group, host, state: 'created', held: undefined, delayStream: undefined, logLines: undefined, pauses: 0, lapsed: undefined, demand: 0 };
    return env.node;
  }

  private transmit(sender: SimNode, to: string, payload: Json, edge: EdgeSlot, bytes: number): void {
    if (this.phase === 'finished' || !isUp(sender)) return;
    let link = edge.transport as Link | undefined;
    if (link === undefined) {
      const receiver = this.nodes.get(to);
      if (!receiver) throw new PeerlabError(`node ${sender.id} sent to ${to}, which is not in the run`);
      edge.transport = link = { target: receiver.index, lastDelivery: -Infinity, inbound: undefined };
    }
    const target = this.order[link.target]!;
    const inbound = (link.inbound ??= target.host.inbound(sender.id));
    const stream = (sender.delayStream ??= seededGenerator(this.seed, 'sim-delay', sender.id));
    let delay: number;
    // Most runs change no link: no edge key is built per message then.
    const changed = this.changedLinks.size === 0 ? undefined : this.changedLinks.get(`${sender.id}>${to}`);
    try {
      delay = changed && changed.params !== changed.base
        ? changed.arrival(this.clock, bytes) - this.clock
        : this.delay.delay(this.messageContext.set(sender, target, this.clock, payload, bytes, stream));
    } catch (error) {
      this.abort(error);
      return;
    }
    if (!(delay >= 0) || delay === Infinity) {
      this.abort(new PeerlabError(`delay model ${this.delay.spec} gave ${delay} ms for a message ${sender.id} → ${to}`, {
        hint: 'a delay must be a finite number of virtual ms ≥ 0',
      }));
      return;
    }
    // The way between the hosts they are on now, on top of the link's own delay (FIFO still holds: see below).
    if (this.distantHosts) delay += this.distantHosts.delayMs(this.distantHosts.hostOf(sender.id), this.distantHosts.hostOf(to));
    let deliverAt = this.clock + delay;
    if (this.fifo) {
      if (link.lastDelivery > deliverAt) deliverAt = link.lastDelivery;
      link.lastDelivery = deliverAt;
    }
    const id = this.messages++;
    this.inFlight += 1;
    // The receiver's copy is the receiver's to change: the trace keeps one of its own.
    if (this.trace) this.emit({ type: 'send', time: this.clock, id, from: sender.id, to, deliverAt, bytes, payload: copyJson(payload) });
    this.queue.push(deliverAt, { kind: 'deliver', node: target, sender, inbound, payload, bytes, id });
  }

  private setTimer(node: SimNode, ms: number, timer: Expiring): Cancellable {
    if (this.phase === 'finished' || !isUp(node)) return NEVER_ARMED;
    // As setTimeout does, a negative or NaN delay means "as soon as possible": here, later at this instant.
    const wait = ms > 0 ? ms : 0;
    const event = new SimTimer(node, timer);
    this.queue.pushTimer(this.clock + wait, event);
    return event;
  }

  private log(node: SimNode, line: string): void {
    if (!isUp(node)) return;
    const lines = (node.logLines ??= []);
    lines.push(line);
    if (lines.length > LOG_TAIL_LINES) lines.splice(0, lines.length - LOG_TAIL_LINES);
    this.emit({ type: 'log', time: this.clock, node: node.id, line });
    try {
      this.logSink?.(node.id, line, this.clock);
    } catch (error) {
      this.abort(error);
    }
  }

  /** A line the node's code printed with console.*: kept apart from node.log() lines, and not traced. */
  private print(node: SimNode, line: string): void {
    if (!isUp(node)) return;
    try {
      if (this.consoleSink) this.consoleSink(node.id, line);
      else process.stderr.write(`${line}\n`);
    } catch (error) {
      this.abort(error);
    }
  }

  private recordResult(node: SimNode, value: Json): void {
    if (this.phase === 'finished' || !isUp(node)) return;
    // Copied as the agent's JSON round trip through etcd would: later changes to the object do not count.
    const copy = copyJson(value);
    this.results.set(node.id, copy);
    if (this.trace) this.emit({ type: 'result', time: this.clock, node: node.id, value: copy });
  }

  private recordFailure(node: SimNode, error: Error): void {
    if (this.failure || this.phase === 'finished' || !isUp(node)) return;
    this.failure = { nodeId: node.id, message: error.message, stack: error.stack };
    this.emit({ type: 'failure', time: this.clock, node: node.id, message: error.message });
  }

  private drop(node: SimNode, state: 'exited' | 'dead'): void {
    if (node.state === 'exited' || node.state === 'dead') return;
    node.state = state;
    const how = state === 'dead' ? 'killed' : 'stopped';
    this.emit({ type: 'control', time: this.clock, action: state === 'dead' ? 'kill' : 'stop', node: node.id });
    if (state === 'exited') this.endLease(node, 'left');
    else {
      // Unless a restart took the id over first: its new lease holds the registration then, as in etcd.
      const expire = (): void => {
        if (this.nodes.get(node.id) === node) this.endLease(node, 'lease-expired');
      };
      this.queue.push(this.clock + REGISTRATION_TTL_SECONDS * 1000, { kind: 'control', action: expire });
    }
    for (const event of node.held ?? []) {
      if (event.kind === 'deliver') this.loseWithDeparted(event.id, event.sender.id, node.id, `node ${state}`);
    }
    node.held = undefined;
    if (!this.results.has(node.id)) this.departed.set(node.id, `${how} at ${this.clock} virtual ms`);
    this.barriers.depart(node.id);
    for (const listener of this.membership) {
      try {
        listener({ node: node.id, how, time: this.clock });
      } catch (error) {
        this.abort(error);
      }
    }
  }

  /** A message that will not be delivered: traced with why. */
  private dropMessage(id: number, from: string, to: string, reason: string): void {
    this.inFlight -= 1;
    this.emit({ type: 'drop', time: this.clock, id, from, to, reason });
  }

  private loseWithDeparted(id: number, from: string, to: string, reason: string): void {
    this.lostWithDeparted += 1;
    this.dropMessage(id, from, to, reason);
  }

  private edgeBetween(from: string, to: string): void {
    const source = this.node(from);
    if (!this.neighboursOf(source).some(({ id }) => id === to)) {
      throw new PeerlabError(`there is no edge ${from}→${to} in this run`);
    }
  }

  /**
   * The lease of a node that is down ends: at once when it left gracefully, after the lease's time to live when
   * it died or was paused (it stopped renewing). Everything the lease held goes, and the neighbours that are up
   * learn it. Returns the node's service registrations that went.
   */
  private endLease(node: SimNode, reason: DownReason): Map<string, Json> {
    const services = this.services.expire(node.id);
    this.queues.expire(node.id);
    this.registryChanges.push({ atMs: this.clock, node: node.id, change: 'left' });
    if (reason === 'lease-expired') this.emit({ type: 'control', time: this.clock, action: 'lease expired', node: node.id });
    for (const { id, weight } of this.neighboursOf(node)) {
      const neighbour = this.nodes.get(id)!;
      if (isUp(neighbour)) this.queue.push(this.clock, { kind: 'membership', node: neighbour, neighbour: { id: node.id, weight }, reason });
    }
    return services;
  }

  private release(node: SimNode): void {
    const held = node.held;
    node.held = undefined;
    for (const event of held ?? []) this.queue.push(this.clock, event);
  }

  private collectReports(): PackedReports {
    const running = function* (order: readonly SimNode[]): Generator<[string, ReportSource]> {
      for (const node of order) {
        if (node.state !== 'running' && node.state !== 'paused') continue;
        const { host } = node;
        yield [node.id, { metrics: host.metrics, sent: host.sent, received: host.received, dropped: host.dropped, timeline: host.timeline.toJSON() }];
      }
    };
    return new PackedReports(packReports(running(this.order)));
  }

  private reportProgress(): void {
    if (!this.progress) return;
    try {
      this.progress({
        virtualTimeMs: this.clock,
        events: this.events,
        messages: this.messages,
        results: this.results.size,
        size: this.size,
      });
    } catch (error) {
      this.abort(error);
    }
  }

  private emit(event: TraceEvent): void {
    if (!this.trace) return;
    try {
      this.trace(event);
    } catch (error) {
      this.abort(error);
    }
  }

  /** A simulator-side error: recorded, so it is not blamed on the node whose call happened to reach it. */
  private abort(error: unknown): void {
    this.fatal ??= asError(error);
  }

  private node(id: string): SimNode {
    const node = this.nodes.get(id);
    if (!node) throw new PeerlabError(`there is no node ${id} in this run`, { hint: `node ids are 0..${this.size - 1}` });
    return node;
  }
}

/** What a node's environment asks of its simulation, for that node: one object per run. */
interface NodeSide {
  transmit(node: SimNode, to: string, payload: Json, edge: EdgeSlot, bytes: number): void;
  now(): number;
  setTimer(node: SimNode, ms: number, timer: Expiring): Cancellable;
  barrier(node: SimNode, name: string): Promise<void>;
  store(node: SimNode): SharedStore;
  services(node: SimNode): ServiceRegistry;
  queues(node: SimNode): LeasedQueues;
  log(node: SimNode, line: string): void;
  demand(node: SimNode, units: number): void;
  onResult(node: SimNode, value: Json): void;
  onFailure(node: SimNode, error: Error): void;
}

/**
 * A node's environment: its host's calls, handed to the run with the node. A class of two fields rather than an
 * object of ten closures, which at 10⁶ nodes cost over half a gigabyte.
 */
class NodeEnvironment implements CopyTransport {
  /** On the prototype, not a field: a field is memory per node. */
  get carries(): 'copy' {
    return 'copy';
  }

  /** Set as soon as the node is made: its host, made first, calls nothing back before that. */
  node!: SimNode;

  constructor(private readonly side: NodeSide) {}

  transmit(to: string, payload: Json, edge: EdgeSlot, bytes: number): void {
    this.side.transmit(this.node, to, payload, edge, bytes);
  }

  now(): number {
    return this.side.now();
  }

  setTimer(ms: number, timer: Expiring): Cancellable {
    return this.side.setTimer(this.node, ms, timer);
  }

  barrier(name: string): Promise<void> {
    return this.side.barrier(this.node, name);
  }

  store(): SharedStore {
    return this.side.store(this.node);
  }

  services(): ServiceRegistry {
    return this.side.services(this.node);
  }

  queues(): LeasedQueues {
    return this.side.queues(this.node);
  }

  log(line: string): void {
    this.side.log(this.node, line);
  }

  demand(units: number): void {
    this.side.demand(this.node, units);
  }

  onResult(value: Json): void {
    this.side.onResult(this.node, value);
  }

  onFailure(error: Error): void {
    this.side.onFailure(this.node, error);
  }
}

/**
 * What a delay model sees of a message; its weight and text are made only if the model asks. One per
 * simulation, refilled for each message (DelayContext is valid only during the call): no object per message.
 */
class MessageContext implements DelayContext {
  private sender!: SimNode;
  private target!: SimNode;
  private message: Json = null;
  now = 0;
  bytes = 0;
  /** One Random for every sender's stream, pointed at the sender's for each message. */
  readonly random = new RandomStream(seededGenerator());

  constructor(private readonly simulation: Simulation) {}

  set(sender: SimNode, target: SimNode, now: number, message: Json, bytes: number, stream: RandomGenerator): this {
    this.sender = sender;
    this.target = target;
    this.now = now;
    this.message = message;
    this.bytes = bytes;
    this.random.generator = stream;
    return this;
  }

  get from(): string {
    return this.sender.id;
  }

  get to(): string {
    return this.target.id;
  }

  get weight(): number {
    return this.simulation.weightBetween(this.sender, this.target);
  }

  /** Made only if the model asks: no stock model does, and the simulator makes no text of a message otherwise. */
  get payload(): string {
    return JSON.stringify(this.message);
  }
}

/** Which group each node is in: every node of the graph in exactly one (a run without groups is one group). */
function assignGroups(ids: readonly string[], options: SimulationOptions): Map<string, SimGroup> {
  const groups = options.groups ?? [{ role: options.algorithm.name, algorithm: options.algorithm, params: options.params, nodes: ids }];
  const inGraph = new Set(ids);
  const groupOf = new Map<string, SimGroup>();
  for (const group of groups) {
    checkParams(group.algorithm, group.params);
    for (const id of group.nodes) {
      const other = groupOf.get(id);
      if (other) throw new PeerlabError(`node ${id} is in two groups, ${other.role} and ${group.role}`, { hint: 'give every node one role' });
      if (!inGraph.has(id)) throw new PeerlabError(`group ${group.role} names node ${id}, which is not in the topology`);
      groupOf.set(id, group);
    }
  }
  const without = ids.filter((id) => !groupOf.has(id));
  if (without.length > 0) {
    throw new PeerlabError(`${without.length} node(s) have no role (${without.slice(0, 5).join(', ')})`, { hint: 'give every node one role' });
  }
  return groupOf;
}

function checkParams(algorithm: Algorithm, params: Json): void {
  if (!algorithm.params) return;
  const parsed = algorithm.params.safeParse(params);
  if (parsed.success) return;
  const issue = parsed.error.issues[0];
  throw new PeerlabError(`parameters of ${algorithm.name}: ${issue ? `${issue.path.join('.') || '(all)'}: ${issue.message}` : 'invalid'}`, {
    hint: `see the params schema of ${algorithm.name}`,
  });
}

const HANDLER_OF: Record<Exclude<SimEvent['kind'], 'control'>, Handler> = {
  start: Handler.start,
  deliver: Handler.onMessage,
  timer: Handler.timer,
  wake: Handler.wake,
  membership: Handler.wake,
};

function isUp(node: SimNode): boolean {
  return node.state === 'running' || node.state === 'paused';
}

function never(): Promise<never> {
  return new Promise(() => {});
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
