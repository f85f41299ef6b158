import type { Algorithm, DownReason, Election, HeldLock, Json, Message, Neighbour, Node, ServiceRegistry, SharedStore } from '../sdk/types.js';
import type { EdgeCount } from '../coordination/protocol.js';
import { createRandom, type Random } from '../util/random.js';
import { hasShape, SERVICE_NAME } from '../util/names.js';
import { election, Locks, type Contender, type LeasedQueues } from './contention.js';
import { NodeClock, type Cancellable, type ClockSkew, type Expiring, type SkewInForce } from './node-clock.js';
import { Timeline } from './timeline.js';
import { compareNodeIds } from '../util/node-ids.js';
import { copyMeasured, measuredBytes } from '../util/json-copy.js';

/**
 * Runs one algorithm instance for one node. The node agent (containers) and the simulator both use it, so an
 * algorithm behaves the same under either: the host owns the SDK semantics (overlay check, payload rules, FIFO
 * dispatch, receive queues, result and metrics, locks and elections, the live neighbour list) and the
 * environment supplies only transport, clock, store, service registry and lease-held queues, and tells the host
 * when a neighbour goes down or comes up.
 */
export type HostEnvironment = TextTransport | CopyTransport;

/**
 * A transport that sends the payload's JSON text over a wire (the node agent's gRPC links). `transmit` hands it
 * the text, to arrive per edge in the order given; with flow control (HTTP/2) it returns a promise that resolves
 * once the message has left this node's buffers. `edge` is the edge's slot for the transport's own state (see
 * EdgeSlot), `bytes` the text's UTF-8 length.
 */
export interface TextTransport extends HostServices {
  readonly carries: 'text';
  transmit(to: string, encoded: string, edge: EdgeSlot, bytes: number): Promise<void> | void;
}

/**
 * A transport that hands the receiver its own copy of the payload (see acceptOn), in memory, and never fills (the
 * simulator): no text is made for it. `payload` is that copy, what JSON.parse of the text would give, and `bytes`
 * the text's UTF-8 length; to arrive per edge in the order given.
 */
export interface CopyTransport extends HostServices {
  readonly carries: 'copy';
  transmit(to: string, payload: Json, edge: EdgeSlot, bytes: number): void;
}

/** What an environment supplies besides the transport. */
export interface HostServices {
  now(): number;
  setTimer(ms: number, timer: Expiring): Cancellable;
  barrier(name: string): Promise<void>;
  /**
   * The coordination primitives, each opened on the node's first use of it: most algorithms use none, and at
   * 10⁶ simulated nodes an unused handle per node costs hundreds of megabytes.
   */
  store(): SharedStore;
  /** This node's view of the service registry; the host checks names and info, and sorts what it lists. */
  services(): ServiceRegistry;
  /** Queues of entries held by this node's lease: the host makes locks and elections of them. */
  queues(): LeasedQueues;
  log(line: string): void;
  /** The capacity this node wants of its host from now on (node.demand, checked): see SimHosts and the agent's CpuDemand. */
  demand(units: number): void;
  onResult(value: Json): void;
  /** A failure of the algorithm code (exception, bad payload); the run fails and names this node. */
  onFailure(error: Error): void;
}

/**
 * One edge out of a node, as its transport sees it: a slot for the transport's own state on the edge, handed
 * over with every message on it, so that a transport finds that state without a lookup by the receiver's id.
 * The simulator keeps its link (FIFO order) there: its map per sender, looked up per message, was a quarter of
 * its own time per send in a 10⁵-node GHS. The slot lives as long as the host.
 */
export interface EdgeSlot {
  transport: unknown;
}

/**
 * One edge into a node, from the receiver's side: what `inbound` answers and `acceptOn` takes, so that a transport
 * that knows the edge a message came on (the simulator keeps it with the sender's link) hands it over without
 * the receiver looking the sender up. Opaque: valid as long as the receiving host.
 */
export interface InboundEdge {
  readonly [INBOUND]: true;
}

export interface HostOptions {
  readonly id: string;
  readonly neighbours: readonly Neighbour[];
  readonly size: number;
  readonly params: unknown;
  readonly seed: number;
  readonly maxPayloadBytes: number;
}

/**
 * How much a node may have handed to `send` that its links have not yet taken: enough for bursts (and for a
 * few of the largest payloads), far below a node's memory limit, so that a node sending faster than its links
 * drain is told, not killed by the kernel.
 */
export function sendBufferLimit(maxPayloadBytes: number): number {
  return Math.max(8 * 1024 * 1024, 4 * maxPayloadBytes);
}

/** Why a message was dropped on arrival: a link fault, a drop-messages fault, or the run is over. */
export type DropCause = 'link down' | 'drop-messages' | 'run stopped';

export class AlgorithmError extends Error {
  override name = 'AlgorithmError';
}

/** A neighbour went down or came up: dispatched in turn with the messages, to onNeighbourDown / onNeighbourUp. */
class MembershipChange {
  constructor(
    readonly neighbour: Neighbour,
    readonly down: DownReason | undefined,
  ) {}
}

interface ArrivalFaults {
  /** Neighbours whose link to this node a fault has taken down: what they send is dropped on arrival. */
  readonly cutFrom: Set<string>;
  /** Neighbours whose messages a `drop-messages` fault drops a share of on arrival: the share, in percent. */
  readonly dropShare: Map<string, number>;
  /**
   * What each arriving message on such an edge draws from: one seeded stream per directed edge, the same in both
   * runtimes, carried on across repeated faults on the edge.
   */
  readonly dropStreams: Map<string, Random>;
}

interface PendingReceive {
  readonly from: string | undefined;
  readonly resolve: (message: Message) => void;
}

export class AlgorithmHost {
  /**
   * Every node this one may exchange messages with (its overlay neighbours, and those that joined later), with the
   * traffic on the edge: one small object per edge and one map per node, where two maps of counts and a set of
   * ids cost a simulated node of degree 4 about 700 bytes.
   */
  private readonly traffic = new Map<string, EdgeTraffic>();
  readonly metrics: Record<string, number> = {};
  /** Messages, metrics and the result over the run's time: both runtimes put it in the node's final report. */
  readonly timeline = new Timeline();
  private readonly node: SdkNode;
  /** The neighbours that are up now: `node.neighbours`, replaced (not changed) when one goes or comes. */
  private liveNeighbours: readonly Neighbour[];
  /** Messages and membership changes waiting for the algorithm: held until init has run, then fed to it one at a time. */
  private readonly inbox: Array<Message | MembershipChange> = [];
  /**
   * Messages for `receive()`, when the algorithm has no onMessage or the message is past it, and the receives
   * waiting for one. This and the other collections below that most algorithms never use are made on first use:
   * empty, they were about 250 bytes of every simulated node.
   */
  private mailbox: Message[] | undefined;
  private pendingReceives: PendingReceive[] | undefined;
  /** Bytes handed to `send` that the transport has not yet sent. */
  private unsentBytes = 0;
  private started = false;
  private dispatching = false;
  private reported = false;
  private failed = false;
  /** Set at the run's stop: nothing is handled, sent or counted any more (see freeze). */
  private frozen = false;
  /** Set while the node migrates (see suspend): messages are counted and queued, nothing is handled. */
  private suspended = false;
  /** Timers that came due while suspended: a move called off fires them (see unsuspend), a completed one drops them. */
  private dueWhileSuspended: Array<() => unknown> | undefined;
  /** The handler being awaited, if one returned a promise: a suspension waits for it. */
  private handling: Promise<void> | undefined;
  /** Set once `run` has returned (or thrown): a sequential algorithm still inside it cannot be moved. */
  private runEnded = false;
  /** What `node.now()` and the node's timers run on: the run's clock, unless a skew fault is on. */
  private readonly clock: NodeClock;
  /**
   * The faults that act on links into this node, made on the first such fault: at 10⁶ simulated nodes three
   * empty collections per node cost hundreds of megabytes, and a node none has hit answers per message at once.
   */
  private arrivalFaults: ArrivalFaults | undefined;
  /** Messages dropped on arrival (their link was down, or a drop-messages fault took them), by sender; made on the first. */
  private droppedFrom: Map<string, number> | undefined;
  // Made on the node's first use of each (see the getters and contender below).
  private randomStream: Random | undefined;
  private sharedStore: SharedStore | undefined;
  private serviceRegistry: ServiceRegistry | undefined;
  private contenderState: Contender | undefined;
  private locks: Locks | undefined;
  /**
   * The lock and election queues this node has an entry in (`locks/<name>`, `elections/<name>`): held by its
   * container's lease, which a snapshot cannot carry (see snapshotRefusal).
   */
  private queued: Set<string> | undefined;

  constructor(
    private readonly algorithm: Algorithm,
    private readonly options: HostOptions,
    private readonly env: HostEnvironment,
  ) {
    this.clock = new NodeClock(env);
    this.liveNeighbours = options.neighbours;
    for (const neighbour of options.neighbours) this.admit(neighbour);
    const { id, neighbours, size, params } = options;
    this.node = createSdkNode(this, options, algorithm.state?.({ id, neighbours, size, params }));
  }

  /** Messages and bytes sent, by receiver. */
  get sent(): ReadonlyMap<string, EdgeCount> {
    return this.counts('sent');
  }

  /** Messages and bytes received (and not dropped on arrival), by sender. */
  get received(): ReadonlyMap<string, EdgeCount> {
    return this.counts('received');
  }

  /** Messages dropped on arrival (their link was down, or a drop-messages fault took them), by sender. */
  get dropped(): ReadonlyMap<string, number> {
    return this.droppedFrom ?? NONE_DROPPED;
  }

  private counts(direction: 'sent' | 'received'): Map<string, EdgeCount> {
    const counts = new Map<string, EdgeCount>();
    for (const [id, traffic] of this.traffic) counts.set(id, direction === 'sent' ? traffic.sentCount : traffic.receivedCount);
    return counts;
  }

  private countDropped(from: string, messages: number): void {
    const dropped = (this.droppedFrom ??= new Map());
    dropped.set(from, (dropped.get(from) ?? 0) + messages);
  }

  get hasResult(): boolean {
    return this.reported;
  }

  /**
   * Runs init, then starts `run` (not awaited: it may wait for messages) and releases held messages. At once when
   * init returns no promise (most do), as a handler's message is followed at once by the next: every simulated
   * node starts so, and two async frames and their promises per start were a tenth of what a 10⁵-node flood
   * allocated. A promise only if init returned one, settled once the node has started.
   */
  start(): Promise<void> | undefined {
    const initialising = this.call(initialise, undefined);
    if (initialising === undefined) {
      this.begin();
      return undefined;
    }
    return initialising.then(() => this.begin());
  }

  private begin(): void {
    if (this.failed) return;
    this.started = true;
    if (this.algorithm.run) void this.guard(() => this.algorithm.run!(this.node)).finally(() => (this.runEnded = true));
    this.dispatch();
  }

  /**
   * Why a snapshot cannot carry this node now, or undefined if it can. A snapshot carries data: node.state (or
   * what the algorithm's `snapshot` hook returns), the host's counters and the messages not yet handled. It
   * cannot carry code that is under way: a `run` that has not returned, or timers, whose callbacks only the
   * algorithm's `restore` hook can set again.
   */
  snapshotRefusal(): string | undefined {
    const { id } = this.options;
    if (this.algorithm.run && !this.runEnded) return `node ${id} is inside its algorithm's run(), which a snapshot cannot carry (only onMessage-style algorithms move)`;
    if (this.pendingTimers > 0 && !this.algorithm.restore) {
      return `node ${id} has ${this.pendingTimers} timer(s) pending, which a snapshot cannot carry: give the algorithm a restore(node, saved) hook that sets them again`;
    }
    if (this.queued !== undefined && this.queued.size > 0) {
      const entries = [...this.queued].map((queue) => queue.replace(/^locks\//, 'lock ').replace(/^elections\//, 'election '));
      return `node ${id} holds or waits for ${entries.join(', ')}, which its container's lease holds and a snapshot cannot carry: release the lock or resign before it moves`;
    }
    const saved = this.algorithm.snapshot ? this.algorithm.snapshot(this.node) : this.node.state;
    if (saved !== undefined && !isPlainJson(saved)) return `node ${id}'s ${this.algorithm.snapshot ? 'snapshot()' : 'state'} is not plain JSON, so it cannot be moved`;
    return undefined;
  }

  /**
   * The node is about to move: from now on it handles nothing and fires no timer, while arriving messages are
   * still counted and queued (they travel in the snapshot). Resolves once a handler under way has returned.
   */
  async suspend(): Promise<void> {
    this.suspended = true;
    while (this.handling) await this.handling;
  }

  /** Whether a handler that returned a promise has not settled yet: what suspend waits for (the simulator asks first). */
  get handlerUnderWay(): boolean {
    return this.handling !== undefined;
  }

  /**
   * The move was called off (its new container died before it took over): the node handles again, from where it
   * stopped, and the timers that came due meanwhile fire now, in the order they came due.
   */
  unsuspend(): void {
    this.suspended = false;
    const due = this.dueWhileSuspended ?? [];
    this.dueWhileSuspended = undefined;
    for (const callback of due) this.fire(callback);
    this.dispatch();
  }

  /** Everything the node's successor needs to carry on exactly where this one stopped (see restore). */
  snapshot(): HostSnapshot {
    const refusal = this.snapshotRefusal();
    if (refusal) throw new AlgorithmError(refusal);
    const saved = this.algorithm.snapshot ? this.algorithm.snapshot(this.node) : this.node.state;
    return {
      saved: (saved ?? null) as Json,
      sent: Object.fromEntries(this.sent),
      received: Object.fromEntries(this.received),
      dropped: Object.fromEntries(this.dropped),
      metrics: { ...this.metrics },
      reported: this.reported,
      neighbours: [...this.liveNeighbours],
      inbox: this.inbox.map((item) => (item instanceof MembershipChange ? { neighbour: item.neighbour, down: item.down ?? null } : item)),
      mailbox: [...(this.mailbox ?? [])],
      ...this.linkFaults(),
    };
  }

  /** The faults on the links into this node (cut, dropping a share): a link's, so a successor on its id keeps them. */
  linkFaults(): Pick<HostSnapshot, 'cutFrom' | 'dropShare'> {
    return { cutFrom: [...(this.arrivalFaults?.cutFrom ?? [])], dropShare: Object.fromEntries(this.arrivalFaults?.dropShare ?? []) };
  }

  /** Takes over the faults on the links into a predecessor on this node's id (see linkFaults). */
  setLinkFaults({ cutFrom, dropShare }: Pick<HostSnapshot, 'cutFrom' | 'dropShare'>): void {
    for (const from of cutFrom) this.setLinkFrom(from, true);
    for (const [from, percent] of Object.entries(dropShare)) this.setDropShare(from, percent);
  }

  /**
   * Takes over from a moved node's snapshot instead of starting: its state (through the algorithm's `restore`
   * hook when it has one, which also sets its timers again), its counters, and the messages it had not yet
   * handled, which are handled first, before anything that arrives here.
   */
  async resume(snapshot: HostSnapshot): Promise<void> {
    // Added to what this host counted already: a message that arrived here before the snapshot counts too.
    for (const neighbour of snapshot.neighbours) this.admit(neighbour);
    for (const [id, { messages, bytes }] of Object.entries(snapshot.sent)) {
      const traffic = this.admit({ id });
      traffic.sentMessages += messages;
      traffic.sentBytes += bytes;
    }
    for (const [id, { messages, bytes }] of Object.entries(snapshot.received)) {
      const traffic = this.admit({ id });
      traffic.receivedMessages += messages;
      traffic.receivedBytes += bytes;
    }
    for (const [id, count] of Object.entries(snapshot.dropped)) this.countDropped(id, count);
    Object.assign(this.metrics, snapshot.metrics);
    this.reported = snapshot.reported;
    this.liveNeighbours = snapshot.neighbours;
    this.setLinkFaults(snapshot);
    // Ahead of whatever arrived here while the snapshot travelled: those came later on every edge.
    this.inbox.unshift(...snapshot.inbox.map((item) => ('payload' in item ? item : new MembershipChange(item.neighbour, item.down ?? undefined))));
    if (snapshot.mailbox.length > 0) (this.mailbox ??= []).push(...snapshot.mailbox);
    await this.guard(() => {
      if (this.algorithm.restore) return this.algorithm.restore(this.node, snapshot.saved);
      this.node.state = snapshot.saved;
    });
    if (this.failed) return;
    this.started = true;
    this.runEnded = true;
    this.dispatch();
  }

  /**
   * The run has stopped: from now on the node handles nothing, sends nothing and counts nothing, so the totals it
   * reports are a consistent cut. Every message counted as received was counted as sent by its sender before the
   * sender froze, and what was sent but not received before the receiver froze is what was in flight.
   */
  freeze(): void {
    this.frozen = true;
  }

  /** Timers set (and sleeps begun) that have neither fired nor been cancelled: a node with none is idle between messages. */
  get pendingTimers(): number {
    return this.clock.timersPending;
  }

  /**
   * A `skew` fault: from now on `node.now()` and the node's timers run off as NodeClock describes; undefined
   * ends it. A skew in force since earlier (taken over from a predecessor on this node's id) goes on from its
   * `sinceMs`. The run's own records (timeline, traces) stay on the run's clock.
   */
  setClockSkew(skew: ClockSkew | SkewInForce | undefined): void {
    this.clock.setSkew(skew, skew && 'sinceMs' in skew ? skew.sinceMs : undefined);
  }

  /** The skew on this node's clock, if any: a successor on its id takes it over (the simulator's restart). */
  get clockSkew(): SkewInForce | undefined {
    return this.clock.skewInForce;
  }

  /** A fault takes the link from `from` to this node down (every message on it is lost) or brings it back up. */
  setLinkFrom(from: string, down: boolean): void {
    if (down) this.faultsOnArrival().cutFrom.add(from);
    else this.arrivalFaults?.cutFrom.delete(from);
  }

  /**
   * A `drop-messages` fault: from now on `percent` % of what `from` sends this node is dropped on arrival, each
   * message by a draw from the edge's own seeded stream (0 ends it). gRPC itself is reliable: the loss is the
   * fault's, not the network's. The stream carries on across repeated faults on the edge.
   */
  setDropShare(from: string, percent: number): void {
    if (percent <= 0) this.arrivalFaults?.dropShare.delete(from);
    else this.faultsOnArrival().dropShare.set(from, percent);
  }

  /**
   * Called by the transport for each arriving message, in per-edge FIFO order: dropped if a fault takes it (see
   * dropsOnArrival), else accepted.
   */
  deliver(from: string, encoded: string): void {
    if (this.dropsOnArrival(from) === undefined) this.accept(from, encoded);
  }

  /**
   * Whether a fault takes the message now arriving from `from`, and which: its link is down, or a `drop-messages`
   * draw hits it. A message a fault takes is counted in `dropped` (the run's messagesDroppedOnArrival, in both
   * runtimes), not in `received`. Asked once per arriving message, in order: the simulator asks it before it
   * traces the delivery, then accepts. After the run's stop everything is dropped uncounted.
   */
  dropsOnArrival(from: string): DropCause | undefined {
    if (this.frozen) return 'run stopped';
    const faults = this.arrivalFaults;
    if (faults === undefined) return undefined;
    let cause: DropCause | undefined = faults.cutFrom.has(from) ? 'link down' : undefined;
    const percent = faults.dropShare.get(from);
    if (cause === undefined && percent !== undefined) {
      let random = faults.dropStreams.get(from);
      if (!random) faults.dropStreams.set(from, (random = createRandom(this.options.seed, 'drop-messages', from, this.options.id)));
      if (random.next() * 100 < percent) cause = 'drop-messages';
    }
    if (cause !== undefined) this.countDropped(from, 1);
    return cause;
  }

  private faultsOnArrival(): ArrivalFaults {
    return (this.arrivalFaults ??= { cutFrom: new Set(), dropShare: new Map(), dropStreams: new Map() });
  }

  /** A message that arrived as text and was not dropped: decoded, counted, and queued for the algorithm. */
  accept(from: string, encoded: string): void {
    if (this.frozen) return;
    this.acceptOn(this.traffic.get(from), from, JSON.parse(encoded) as Json, Buffer.byteLength(encoded));
  }

  /** The edge from `from` as `acceptOn` takes it; undefined while `from` is not a neighbour this node may hear. */
  inbound(from: string): InboundEdge | undefined {
    return this.traffic.get(from);
  }

  /** The slot of the edge to `to` that `transmit` is handed (see EdgeSlot); undefined while `to` is not a neighbour. */
  outbound(to: string): EdgeSlot | undefined {
    return this.traffic.get(to);
  }

  /**
   * A message that arrived on edge `edge` (`inbound(from)`) and was not dropped, already decoded: counted, and
   * queued for the algorithm. `payload` becomes the receiver's own: the caller keeps no reference to it, and
   * `bytes` is the size of its encoding. An undefined edge is a sender that is no neighbour: refused.
   */
  acceptOn(edge: InboundEdge | undefined, from: string, payload: Json, bytes: number): void {
    if (this.frozen) return;
    if (edge === undefined) {
      throw new AlgorithmError(`node ${this.options.id} refused a message from ${from}: not an overlay neighbour`);
    }
    const traffic = edge as EdgeTraffic;
    traffic.receivedMessages += 1;
    traffic.receivedBytes += bytes;
    this.timeline.received(this.env.now());
    this.offer({ from, payload });
  }

  /**
   * Neighbour `id` is down (its registration is gone): it leaves `node.neighbours`, and onNeighbourDown is
   * called in turn with the messages that arrived before. Nothing happens for a node that is not a live neighbour.
   */
  neighbourDown(id: string, reason: DownReason): void {
    const neighbour = this.liveNeighbours.find((n) => n.id === id);
    if (!neighbour) return;
    this.liveNeighbours = this.liveNeighbours.filter((n) => n !== neighbour);
    this.offer(new MembershipChange(neighbour, reason));
  }

  /**
   * `neighbour` is up: back after it went down, or joined after the start. It joins `node.neighbours` and may
   * exchange messages with this node; onNeighbourUp is called in turn. Nothing happens for a live neighbour.
   */
  neighbourUp(neighbour: Neighbour): void {
    if (this.liveNeighbours.some((n) => n.id === neighbour.id)) return;
    this.admit(neighbour);
    this.liveNeighbours = [...this.liveNeighbours, neighbour].sort((a, b) => compareNodeIds(a.id, b.id));
    this.offer(new MembershipChange(neighbour, undefined));
  }

  /** A neighbour this node may exchange messages with from now on, with its traffic counted: its counter. */
  private admit({ id }: Pick<Neighbour, 'id'>): EdgeTraffic {
    let traffic = this.traffic.get(id);
    if (traffic === undefined) this.traffic.set(id, (traffic = new EdgeTraffic()));
    return traffic;
  }

  /**
   * Feeds the inbox to the algorithm one message at a time, in order. A handler that returns without a promise
   * (most do) is followed at once by the next message; one that returns a promise holds the rest until it
   * settles. No promise is made per message unless the handler makes one: the simulator's per-message cost.
   */
  private dispatch(): void {
    if (!this.started || this.dispatching || this.failed || this.frozen || this.suspended) return;
    this.dispatching = true;
    while (this.inbox.length > 0 && !this.failed && !this.frozen && !this.suspended) {
      const pending = this.handle(this.inbox.shift()!);
      if (pending) {
        this.awaitHandler(pending);
        return;
      }
    }
    this.dispatching = false;
  }

  /**
   * A message or membership change for the algorithm, in turn after those before it. Handed over at once when
   * the inbox is empty and the node free to handle it (nearly every simulated message), without passing through
   * the inbox: a shift that empties an array leaves V8's fast path for the runtime, which drops the array's
   * storage, so the next push allocated new storage for a long-lived array, a pointer every scavenge visits.
   */
  private offer(item: Message | MembershipChange): void {
    if (this.inbox.length > 0 || !this.started || this.dispatching || this.failed || this.frozen || this.suspended) {
      this.inbox.push(item);
      this.dispatch();
      return;
    }
    this.dispatching = true;
    const pending = this.handle(item);
    if (pending) {
      this.awaitHandler(pending);
      return;
    }
    this.dispatching = false;
    // The handler's own calls may have queued more (a membership change it caused): they follow now.
    this.dispatch();
  }

  /** A handler returned a promise: the inbox waits until it settles, then goes on. */
  private awaitHandler(pending: Promise<void>): void {
    this.handling = pending.then(() => {
      this.handling = undefined;
      this.dispatching = false;
      this.dispatch();
    });
  }

  /** Runs the algorithm on one message or membership change: a promise only if its handler returned one. */
  private handle(item: Message | MembershipChange): Promise<void> | undefined {
    if (item instanceof MembershipChange) return this.call(announce, item);
    if (!this.algorithm.onMessage) {
      this.offerToReceivers(item);
      return undefined;
    }
    return this.call(this.algorithm.onMessage, item);
  }

  /** Runs a handler; a promise only if it returned one, and an exception (or rejection) fails the node. */
  private call<Item>(handler: (node: Node<unknown, unknown>, item: Item, algorithm: Algorithm) => unknown, item: Item): Promise<void> | undefined {
    let returned: unknown;
    try {
      returned = handler.call(this.algorithm, this.node, item, this.algorithm);
    } catch (error) {
      this.fail(asError(error));
      return undefined;
    }
    if (!(returned instanceof Promise)) return undefined;
    return returned.then(
      () => {},
      (error: unknown) => this.fail(asError(error)),
    );
  }

  /**
   * Runs a timer's callback: an exception, or a rejection of the promise it returns, fails the node. No promise
   * of its own (guard's): at 10⁵ simulated nodes ticking each round, that is a promise per node per round.
   */
  private fire(callback: () => unknown): void {
    try {
      const returned = callback();
      if (returned instanceof Promise) returned.catch((error: unknown) => this.fail(asError(error)));
    } catch (error) {
      this.fail(asError(error));
    }
  }

  private offerToReceivers(message: Message): void {
    const index = this.pendingReceives?.findIndex((p) => p.from === undefined || p.from === message.from) ?? -1;
    if (index >= 0) {
      this.pendingReceives!.splice(index, 1)[0]!.resolve(message);
    } else {
      (this.mailbox ??= []).push(message);
    }
  }

  private async guard(action: () => void | Promise<void>): Promise<void> {
    try {
      await action();
    } catch (error) {
      this.fail(asError(error));
    }
  }

  private fail(error: Error): void {
    if (this.failed) return;
    this.failed = true;
    this.env.onFailure(error);
  }

  private encode(to: string, payload: unknown): { encoded: string; bytes: number } {
    let encoded: string | undefined;
    try {
      encoded = JSON.stringify(payload);
    } catch (error) {
      throw new AlgorithmError(`node ${this.options.id}: payload to ${to} is not serialisable as JSON (${String(error)})`);
    }
    if (encoded === undefined || !isPlainJson(payload)) {
      throw new AlgorithmError(
        `node ${this.options.id}: payload to ${to} is not plain JSON (use objects, arrays, strings, finite numbers, booleans, null)`,
      );
    }
    return { encoded, bytes: this.checkSize(to, Buffer.byteLength(encoded)) };
  }

  private checkSize(to: string, bytes: number): number {
    const { id, maxPayloadBytes } = this.options;
    if (bytes > maxPayloadBytes) throw new AlgorithmError(`node ${id}: payload to ${to} is ${bytes} bytes, over the ${maxPayloadBytes}-byte limit`);
    return bytes;
  }

  /** What `node.send` does: checked, counted, handed to the transport (see SdkNode). */
  send(to: string, payload: unknown): Promise<void> {
    const { id } = this.options;
    if (typeof to !== 'string') {
      // A common slip: ids are strings, and send(1, …) would otherwise be told 1 is no neighbour when "1" is.
      throw new AlgorithmError(
        `node ${id} cannot send to ${typeof to === 'number' ? to : JSON.stringify(to)}: node ids are strings, not ${typeof to}s (write send(${JSON.stringify(String(to))}, …), or use neighbour.id)`,
      );
    }
    const traffic = this.traffic.get(to);
    if (traffic === undefined) {
      throw new AlgorithmError(`node ${id} cannot send to ${to}: not an overlay neighbour (neighbours: ${[...this.traffic.keys()].join(', ')})`);
    }
    if (this.env.carries === 'copy') {
      // One walk checks, copies and measures the payload, and no text is made.
      let copy = copyMeasured(payload);
      let bytes = measuredBytes;
      if (copy === undefined) {
        // Not plain JSON, or too deep to walk: encode's errors say which, and a payload only deep is copied from its text.
        const encoding = this.encode(to, payload);
        copy = JSON.parse(encoding.encoded) as Json;
        bytes = encoding.bytes;
      } else {
        this.checkSize(to, bytes);
      }
      if (this.count(to, traffic, bytes)) this.env.transmit(to, copy, traffic, bytes);
      return SENT;
    }
    const { encoded, bytes } = this.encode(to, payload);
    if (!this.count(to, traffic, bytes)) return SENT;
    const sending = this.env.transmit(to, encoded, traffic, bytes);
    if (!sending) return SENT;
    this.unsentBytes += bytes;
    return sending.then(() => {
      this.unsentBytes -= bytes;
    });
  }

  /** Counts a checked message as sent; false if it is not to go out since the run has stopped. */
  private count(to: string, traffic: EdgeTraffic, bytes: number): boolean {
    if (this.frozen) return false;
    const limit = sendBufferLimit(this.options.maxPayloadBytes);
    if (this.unsentBytes + bytes > limit) {
      throw new AlgorithmError(
        `node ${this.options.id} sends faster than its links drain: ${mebibytes(this.unsentBytes)} are still waiting to go out, and sending ${mebibytes(bytes)} more to ${to} would pass the ${mebibytes(limit)} limit; \`await node.send(…)\` waits until a message has gone`,
      );
    }
    traffic.sentMessages += 1;
    traffic.sentBytes += bytes;
    this.timeline.sent(this.env.now());
    return true;
  }

  /** What `node.receive` does: the first matching message held, or the next to arrive. */
  receive(from: string | undefined): Promise<Message> {
    const index = this.mailbox?.findIndex((m) => from === undefined || m.from === from) ?? -1;
    if (index >= 0) return Promise.resolve(this.mailbox!.splice(index, 1)[0]!);
    return new Promise((resolve) => (this.pendingReceives ??= []).push({ from, resolve }));
  }

  /** What `node.now` answers: the node's clock (the run's, unless a skew fault is on). */
  now(): number {
    return this.clock.now();
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => void this.clock.timer(ms, resolve));
  }

  setTimer(ms: number, callback: () => void): () => void {
    // A timer due while the node migrates is its successor's to set again (the algorithm's restore hook), or this
    // node's to fire if the move is called off (unsuspend).
    const timer = this.clock.timer(ms, () => {
      if (this.frozen) return;
      if (this.suspended) (this.dueWhileSuspended ??= []).push(callback);
      else this.fire(callback);
    });
    return () => this.clock.cancel(timer);
  }

  barrier(name: string): Promise<void> {
    return this.env.barrier(name);
  }

  /** The node's seeded random stream, made on first use (its draws are the same whenever that is). */
  get random(): Random {
    return (this.randomStream ??= createRandom(this.options.seed, 'node', this.options.id));
  }

  get store(): SharedStore {
    return (this.sharedStore ??= this.env.store());
  }

  get services(): ServiceRegistry {
    return (this.serviceRegistry ??= checkedServices(this.options.id, this.env.services()));
  }

  lock(name: string): Promise<HeldLock> {
    return (this.locks ??= new Locks(this.contender())).lock(name);
  }

  election(name: string): Election {
    return election(this.contender(), name);
  }

  log(values: readonly unknown[]): void {
    this.env.log(values.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join(' '));
  }

  metric(name: string, value: number): void {
    this.metrics[name] = value;
    this.timeline.metric(this.env.now(), name, value);
  }

  demand(units: number): void {
    if (!(units >= 0) || !Number.isFinite(units)) throw new AlgorithmError(`node ${this.options.id}: node.demand(${units}) needs a finite number ≥ 0 of the hosts' capacity unit`);
    this.env.demand(units);
  }

  result(value: Json): void {
    const { id } = this.options;
    if (this.reported) throw new AlgorithmError(`node ${id} called result() twice`);
    if (!isPlainJson(value)) throw new AlgorithmError(`node ${id}: result is not plain JSON`);
    this.reported = true;
    this.timeline.result(this.env.now());
    this.env.onResult(value);
  }

  /** Locks and elections, which most algorithms never use, are set up on first use. */
  private contender(): Contender {
    return (this.contenderState ??= {
      id: this.options.id,
      queues: this.trackedQueues(this.env.queues()),
      guard: (action: () => void | Promise<void>) => this.guard(action),
      fail: (message: string) => new AlgorithmError(message),
    });
  }

  /** The environment's queues, noting which ones this node is in (see queued). */
  private trackedQueues(queues: LeasedQueues): LeasedQueues {
    return {
      ...queues,
      join: (queue, value) => {
        (this.queued ??= new Set()).add(queue);
        return queues.join(queue, value);
      },
      leave: (queue) => {
        this.queued?.delete(queue);
        return queues.leave(queue);
      },
    };
  }

  /** The neighbours that are up now: what `node.neighbours` answers. */
  get neighbours(): readonly Neighbour[] {
    return this.liveNeighbours;
  }
}

/** A node's snapshot as it travels to its successor (JSON): see AlgorithmHost.snapshot and resume. */
export interface HostSnapshot {
  /** node.state, or what the algorithm's `snapshot` hook returned. */
  readonly saved: Json;
  readonly sent: Record<string, EdgeCount>;
  readonly received: Record<string, EdgeCount>;
  readonly dropped: Record<string, number>;
  readonly metrics: Record<string, number>;
  readonly reported: boolean;
  readonly neighbours: readonly Neighbour[];
  /** Received and not yet handled, in order: messages, and neighbours that went down (down set) or came up. */
  readonly inbox: ReadonlyArray<Message | { readonly neighbour: Neighbour; readonly down: DownReason | null }>;
  readonly mailbox: readonly Message[];
  readonly cutFrom: readonly string[];
  readonly dropShare: Record<string, number>;
}

/** Messages and bytes on one edge, both ways, as the host counts them, and the transport's slot on it. */
class EdgeTraffic implements EdgeSlot, InboundEdge {
  declare readonly [INBOUND]: true;
  transport: unknown = undefined;
  sentMessages = 0;
  sentBytes = 0;
  receivedMessages = 0;
  receivedBytes = 0;

  get sentCount(): EdgeCount {
    return { messages: this.sentMessages, bytes: this.sentBytes };
  }

  get receivedCount(): EdgeCount {
    return { messages: this.receivedMessages, bytes: this.receivedBytes };
  }
}

const NONE_DROPPED: ReadonlyMap<string, number> = new Map();

/** Brands InboundEdge, so that only the host's own edges are one. */
declare const INBOUND: unique symbol;

/** Where each SDK node keeps its host: a symbol, so an algorithm never meets it by accident. */
const HOST = Symbol('peerlab.host');

type SdkNode = Node<unknown, unknown> & { state: unknown; readonly [HOST]: AlgorithmHost };

/**
 * What an algorithm gets as `node`: a plain object of a few fields whose methods and getters are shared by every
 * node and hand each call to the node's host. Shared, not closures made per node: at 10⁶ simulated nodes the two
 * dozen closures a node had were gigabytes. Plain and own, not a class, so that `{ ...node, random: … }` (how a
 * test or a wrapper changes one thing of a node) still works: spreading copies the methods and the host.
 */
function createSdkNode(host: AlgorithmHost, { id, size, params }: HostOptions, state: unknown): SdkNode {
  const node = { id, size, params, state, [HOST]: host, ...SDK_METHODS };
  // Added after the literal, one shared getter each: V8 builds an object literal with getters in its slow
  // dictionary mode, where every node.send would be a hash lookup.
  for (const [name, get] of SDK_GETTERS) Object.defineProperty(node, name, { get, enumerable: true });
  return node as unknown as SdkNode;
}

/**
 * The host of the node a method was called on. A method taken off the node (`const { send } = node`) is called
 * without it: the student is told how to call it instead of meeting "cannot read properties of undefined".
 */
function hostOf(node: SdkNode | undefined, method: string): AlgorithmHost {
  const host = node?.[HOST];
  if (host === undefined) {
    throw new AlgorithmError(`node.${method} was called without its node: call it as node.${method}(…), not after taking it off the node (const { ${method} } = node)`);
  }
  return host;
}

const SDK_METHODS = {
  send(this: SdkNode, to: string, payload: Json): Promise<void> {
    return hostOf(this, 'send').send(to, payload);
  },
  receive(this: SdkNode, options: { from?: string } = {}): Promise<Message> {
    return hostOf(this, 'receive').receive(options.from);
  },
  now(this: SdkNode): number {
    return hostOf(this, 'now').now();
  },
  sleep(this: SdkNode, ms: number): Promise<void> {
    return hostOf(this, 'sleep').sleep(ms);
  },
  setTimer(this: SdkNode, ms: number, callback: () => void): () => void {
    return hostOf(this, 'setTimer').setTimer(ms, callback);
  },
  barrier(this: SdkNode, name: string): Promise<void> {
    return hostOf(this, 'barrier').barrier(name);
  },
  lock(this: SdkNode, name: string): Promise<HeldLock> {
    return hostOf(this, 'lock').lock(name);
  },
  election(this: SdkNode, name: string): Election {
    return hostOf(this, 'election').election(name);
  },
  log(this: SdkNode, ...values: unknown[]): void {
    hostOf(this, 'log').log(values);
  },
  metric(this: SdkNode, name: string, value: number): void {
    hostOf(this, 'metric').metric(name, value);
  },
  demand(this: SdkNode, units: number): void {
    hostOf(this, 'demand').demand(units);
  },
  result(this: SdkNode, value: Json): void {
    hostOf(this, 'result').result(value);
  },
};

const SDK_GETTERS: ReadonlyArray<readonly [string, (this: SdkNode) => unknown]> = [
  ['neighbours', function (this: SdkNode) {
    return hostOf(this, 'neighbours').neighbours;
  }],
  ['random', function (this: SdkNode) {
    return hostOf(this, 'random').random;
  }],
  ['store', function (this: SdkNode) {
    return hostOf(this, 'store').store;
  }],
  ['services', function (this: SdkNode) {
    return hostOf(this, 'services').services;
  }],
];

const SENT: Promise<void> = Promise.resolve();

/** Calls the algorithm's init, if it has one. */
function initialise(node: Node<unknown, unknown>, _item: undefined, algorithm: Algorithm): unknown {
  return algorithm.init?.(node);
}

/** Calls the algorithm's handler for a membership change, if it has one. */
function announce(node: Node<unknown, unknown>, { neighbour, down }: MembershipChange, algorithm: Algorithm): unknown {
  if (down) return algorithm.onNeighbourDown?.(node, neighbour.id, down);
  return algorithm.onNeighbourUp?.(node, neighbour);
}

function mebibytes(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** Both runtimes get the same rules and the same order: names that are safe as one etcd key segment, JSON info. */
function checkedServices(id: string, registry: ServiceRegistry): ServiceRegistry {
  const checkName = (service: unknown): void => {
    if (!hasShape(SERVICE_NAME, service)) {
      throw new AlgorithmError(`node ${id}: service name ${JSON.stringify(service)} is not ${SERVICE_NAME.rule}`);
    }
  };
  return {
    async register(service, info = null) {
      checkName(service);
      if (!isPlainJson(info)) throw new AlgorithmError(`node ${id}: the info registered with service ${service} is not plain JSON`);
      await registry.register(service, info);
    },
    async deregister(service) {
      checkName(service);
      await registry.deregister(service);
    },
    async discover(service) {
      checkName(service);
      const instances = await registry.discover(service);
      return instances.sort((a, b) => compareNodeIds(a.node, b.node));
    },
  };
}


function asError(error: unknown): Error {
  return error instanceof Error ? error : new AlgorithmError(String(error));
}

function isPlainJson(value: unknown): boolean {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value);
  if (Array.isArray(value)) return value.every(isPlainJson);
  if (typeof value === 'object') {
    const prototype = Object.getPrototypeOf(value);
    if (prototype !== Object.prototype && prototype !== null) return false;
    // A loop, not Object.values(): every message sent is checked, and an array per object is garbage per message.
    for (const key in value) {
      if (!isPlainJson((value as Record<string, unknown>)[key])) return false;
    }
    return true;
  }
  return false;
}
