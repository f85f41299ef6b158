/**
 * The node agent's half of a migration (the CLI's half is src/migration/): a node id served by a new container,
 * re-registered under its new address, its neighbours turning to it. Exactly once and in order by construction,
 * as a Chandy–Lamport cut around one node:
 *  - each neighbour, on the `freeze` (from etcd, or from the moving node itself on its link, whichever comes
 *    first: one hop instead of a watch per neighbour), writes a flush marker on its link to the moving node (carrying how many
 *    messages it put on that link), then sends on a new link to the target; the target holds what arrives until
 *    it has restored;
 *  - the moving node stops handling; once every neighbour's marker came, nothing more is in flight to it (FIFO
 *    per link), and the messages it received and did not handle travel in its snapshot;
 *  - it lets its outgoing links drain, then sends its snapshot to the target directly (a Link stream from its own
 *    id: up to megabytes, more than etcd takes in one request);
 *  - the target commits before it handles anything (MigrationDecision); the old node then ends each outgoing
 *    link with an `ended` marker and waits to be removed, and a neighbour takes nothing from the target before that marker: the
 *    target's first message cannot overtake the old node's last.
 * Until the commit the move can be called off (the CLI aborts it when the target died first): the old node has
 * changed nothing but stopped, so it goes on where it stopped, and each neighbour sends it again, on a new link,
 * what it had sent the target (it keeps a copy until the move is decided), then everything after. The old node
 * admits those new links only once every flush marker came: they cannot overtake what the old links still carried.
 * The decision comes on a watch of its own, so it may reach a neighbour before the freeze: an abort then finds it
 * still sending on its old link, where it puts a flush marker and goes on.
 * A restart is the same turn of the neighbours without the cut: the old node is dead, the new one starts afresh.
 */
import type { MigrationControl, MigrationDecision, MigrationRecord, Registration } from '../coordination/protocol.js';
import type { RunKeys } from '../coordination/keys.js';
import type { AlgorithmHost, HostSnapshot } from '../host/algorithm-host.js';
import type { LinkOutbox } from '../links/outbox.js';
import type { EtcdClient } from './etcd-client.js';
import { queuedLink, type OutgoingLink } from './links.js';
import type { Envelope } from './peer-wire.js';
import type { NodeLease } from './registration.js';
import type { TestExit } from './identity.js';

/** A control envelope's JSON: which migration, and what it marks. */
type Marker =
  | { readonly freeze: MigrationControl }
  | { readonly flush: string; readonly seq: number }
  | { readonly ended: string }
  | { readonly handoff: string };

/** What the old node sends the new one. */
export interface Handoff {
  readonly migration: string;
  readonly frozenAt: number;
  /** When (epoch ms) the old node had every flush marker, its snapshot, and its sends drained. */
  readonly flushedAt: number;
  readonly snapshotAt: number;
  readonly drainedAt: number;
  /** When it arrived here (set on arrival). */
  readonly arrivedAt: number;
  readonly host: HostSnapshot;
  /** The registry entries the old node held under its lease (its address, its services): the new one holds them. */
  readonly held: ReadonlyArray<readonly [string, string]>;
  /** Its size on the wire (set on arrival). */
  readonly bytes: number;
}

/** How long the old node waits for its neighbours' flush markers before it gives up, failing the node. */
const MARKERS_TIMEOUT_MS = 30_000;

export interface MigrationContext {
  readonly nodeId: string;
  readonly etcd: EtcdClient;
  readonly keys: RunKeys;
  readonly host: AlgorithmHost;
  readonly lease: NodeLease;
  /** The agent's outgoing links and outboxes, and its neighbours' registrations: migration swaps entries. */
  readonly links: Map<string, OutgoingLink>;
  readonly outboxes: ReadonlyMap<string, LinkOutbox<Envelope>>;
  readonly addresses: Map<string, Promise<Registration>>;
  /** Opens a link to a neighbour (this node's own id: to its new container); `onBroken` by default reports it broken. */
  connect(id: string, address: string, port: number, onBroken?: (error: Error) => void): Promise<OutgoingLink>;
  reportFailure(error: Error, brokenLink?: string): void;
  /** Tests only: where this node exits on purpose (NodeIdentity.testExit). */
  readonly testExit?: TestExit;
}

/** A neighbour's move from its freeze until it is decided: what this node sent the target meanwhile, and how to go back. */
interface Undecided {
  readonly migration: string;
  /** The neighbour's registration before the move: its old container, which goes on if the move is aborted. */
  readonly old: Promise<Registration>;
  readonly sent: Envelope[];
  /** The link to the target failed: a failure only if the move commits (the CLI aborts a move whose target died). */
  broken?: Error;
}

export class NodeMigration {
  /** Messages put on the current link to each neighbour, and arrived on the current link from each. */
  private readonly onWire = new Map<string, number>();
  private readonly arrived = new Map<string, number>();
  /** Neighbours that moved: their new container's stream is admitted once their old one ended (the gate opens). */
  private readonly gates = new Map<string, { readonly opened: Promise<void>; readonly open: () => void }>();
  /** The old node's side: flush markers received, and who is still owed one. */
  private readonly flushed = new Set<string>();
  private flushedAll: (() => void) | undefined;
  /** Migrations this node's neighbours are in, whose freeze it has acted on (it comes twice, see above). */
  private readonly turned = new Set<string>();
  /** By neighbour: its move under way, not yet decided. */
  private readonly undecided = new Map<string, Undecided>();
  /** Neighbours' moves that were aborted: their targets' links are dropped, whatever becomes of them. */
  private readonly abandoned = new Set<string>();
  /** The old node's side: its own moves' fates, by migration, as they are decided (perhaps before its freeze came). */
  private readonly decisions = new Map<string, { readonly decided: Promise<MigrationDecision>; readonly decide: (decision: MigrationDecision) => void }>();
  /** The old node's side: new links from neighbours wait while it is leaving (see leave). */
  private stayed: Promise<void> | undefined;
  /** The new node's side: the snapshot, once it arrived. */
  private handoffArrived: (handoff: Handoff) => void = () => {};
  readonly handoff = new Promise<Handoff>((resolve) => (this.handoffArrived = resolve));

  constructor(private readonly ctx: MigrationContext) {}

  /** Puts a message on the link to `to` (what the agent's transmit and outboxes call), counting it. */
  wire(to: string, envelope: Envelope): Promise<void> {
    this.onWire.set(to, (this.onWire.get(to) ?? 0) + 1);
    this.undecided.get(to)?.sent.push(envelope);
    return this.ctx.links.get(to)!.send(envelope);
  }

  /** An arriving envelope: a marker is taken here (true); an algorithm message is counted and left to the host. */
  arrive(from: string, envelope: Envelope): boolean {
    if (!envelope.control) {
      this.arrived.set(from, (this.arrived.get(from) ?? 0) + 1);
      return false;
    }
    const marker = JSON.parse(envelope.control) as Marker;
    if ('freeze' in marker) {
      this.turnTo(from, marker.freeze);
    } else if ('flush' in marker) {
      const arrived = this.arrived.get(from) ?? 0;
      if (arrived !== marker.seq) {
        this.ctx.reportFailure(new Error(`migration ${marker.flush}: ${from} put ${marker.seq} messages on its link to ${this.ctx.nodeId}, and ${arrived} arrived`));
      }
      // That link is done: a move called off has the neighbour send on a new one, counted from 0.
      this.arrived.set(from, 0);
      this.flushed.add(from);
      this.flushedAll?.();
    } else if ('ended' in marker) {
      this.arrived.set(from, 0);
      this.gates.get(from)?.open();
      this.gates.delete(from);
    } else {
      const arrivedAt = Date.now();
      const sent = JSON.parse(envelope.payload) as Omit<Handoff, 'migration' | 'bytes' | 'arrivedAt'>;
      this.handoffArrived({ ...sent, migration: marker.handoff, bytes: Buffer.byteLength(envelope.payload), arrivedAt });
    }
    return true;
  }

  /**
   * Before a stream from `from` delivers: the stream of a neighbour's new container waits until the old one's
   * stream has ended, so the new container's first message comes after the old one's last.
   */
  async admitted(from: string): Promise<void> {
    await this.gates.get(from)?.opened;
    await this.stayed;
  }

  /**
   * Follows the run's migration control keys and decisions: this node's own, and its neighbours'. A decision is
   * only ever written after some node's control key, so the decisions are watched from the first control key this
   * node sees on: nothing is missed, and a run without moves holds one watch per node, not two.
   */
  async follow(ownMigration: string | undefined): Promise<() => void> {
    const { etcd, keys, nodeId, addresses } = this.ctx;
    const refused = (reason: string): void => this.ctx.reportFailure(new Error(`etcd refused to watch the run's migrations: ${reason}`));
    let decisions: Promise<() => void> | undefined;
    const followDecisions = (fromRevision: bigint): void => {
      if (decisions) return;
      decisions = etcd.watchPrefix(
        keys.migrationsPrefix,
        (event) => {
          if (event.type !== 'put' || !event.key.endsWith('/decided')) return;
          const [id, migration] = event.key.slice(keys.migrationsPrefix.length).split('/') as [string, string];
          const decision = event.value as MigrationDecision;
          if (id === nodeId) {
            if (migration !== ownMigration) this.decision(migration).decide(decision);
          } else if (addresses.has(id)) {
            if (decision === 'committed') this.settle(id, migration);
            else this.turnBack(id, migration);
          }
        },
        refused,
        fromRevision,
      );
      decisions.catch((error: Error) => this.ctx.reportFailure(error));
    };
    const stopControls = await etcd.watchPrefix(
      keys.migrationsControlPrefix,
      (event) => {
        if (event.type !== 'put') return;
        followDecisions(event.revision);
        const id = event.key.slice(keys.migrationsControlPrefix.length);
        const control = JSON.parse(event.value) as MigrationControl;
        if (id === nodeId) {
          if (control.migration !== ownMigration) void this.onOwn(control).catch((error: Error) => this.ctx.reportFailure(error));
        } else if (addresses.has(id) && control.phase !== 'prepare') {
          this.turnTo(id, control);
        }
      },
      refused,
    );
    return () => {
      stopControls();
      void decisions?.then((stop) => stop(), () => {});
    };
  }

  /** This node's own move's fate, made on first use: the decision may come before the freeze. */
  private decision(migration: string): { readonly decided: Promise<MigrationDecision>; readonly decide: (decision: MigrationDecision) => void } {
    let entry = this.decisions.get(migration);
    if (!entry) {
      let decide: (decision: MigrationDecision) => void = () => {};
      const decided = new Promise<MigrationDecision>((resolve) => (decide = resolve));
      this.decisions.set(migration, (entry = { decided, decide }));
    }
    return entry;
  }

  private async onOwn(control: MigrationControl): Promise<void> {
    const { etcd, keys, nodeId, host } = this.ctx;
    if (control.phase === 'prepare') {
      const refusal = host.snapshotRefusal();
      await etcd.put(keys.migrationStep(nodeId, control.migration, 'prepared'), JSON.stringify(refusal ? { refusal } : {}));
    } else if (control.phase === 'freeze') {
      await this.leave(control);
    }
  }

  /**
   * Neighbour `id` moved (freeze) or restarted (takeover): the link to its old container ends, with a flush
   * marker if that container is there to read it, and what this node sends it goes to `control.target` from now.
   */
  private turnTo(id: string, control: MigrationControl): void {
    if (this.turned.has(control.migration)) return;
    this.turned.add(control.migration);
    const { address, port } = control.target!;
    const old = this.ctx.links.get(id);
    if (control.phase === 'freeze') {
      old?.send({ payload: '', control: JSON.stringify({ flush: control.migration, seq: this.onWire.get(id) ?? 0 } satisfies Marker) });
      let open: () => void = () => {};
      const opened = new Promise<void>((resolve) => (open = resolve));
      this.gates.set(id, { opened, open });
      this.undecided.set(id, { migration: control.migration, old: this.ctx.addresses.get(id)!, sent: [] });
    } else {
      this.arrived.set(id, 0);
    }
    // A restart's old container is gone before its takeover: nothing would answer the close.
    if (control.phase === 'freeze') void old?.close();
    else old?.drop();
    this.onWire.set(id, 0);
    this.ctx.addresses.set(id, Promise.resolve({ id, role: '', address, port, registeredAt: Date.now() }));
    this.ctx.links.set(id, queuedLink(this.connectOrReport(id, address, port, control.phase === 'freeze' ? control.migration : undefined)));
  }

  /** Neighbour `id`'s move committed: the copies go, and a link to its target that failed meanwhile is a failure. */
  private settle(id: string, migration: string): void {
    const move = this.undecided.get(id);
    if (move?.migration !== migration) return;
    this.undecided.delete(id);
    if (move.broken) this.ctx.reportFailure(move.broken, id);
  }

  /**
   * Neighbour `id`'s move was aborted: its old container goes on. No `ended` marker will come from it; what this
   * node sent the target goes to it again, in order, on a new link (its old one ended with the flush marker).
   */
  private turnBack(id: string, migration: string): void {
    if (!this.turned.has(migration)) {
      // The abort came before the freeze: this node never turned. Its old link counts from 0 again after the marker.
      this.turned.add(migration);
      void this.ctx.links.get(id)?.send({ payload: '', control: JSON.stringify({ flush: migration, seq: this.onWire.get(id) ?? 0 } satisfies Marker) });
      this.onWire.set(id, 0);
      return;
    }
    const move = this.undecided.get(id);
    if (move?.migration !== migration) return;
    this.undecided.delete(id);
    this.abandoned.add(migration);
    this.gates.get(id)?.open();
    this.gates.delete(id);
    // Dropped, not closed: what it holds goes again to the old container below, and a link still opening to the
    // given-up target would otherwise deliver it to whichever container gets that address next (seen in CI: the
    // next move's new container received the copies a second time).
    this.ctx.links.get(id)?.drop();
    this.onWire.set(id, 0);
    this.ctx.addresses.set(id, move.old);
    this.ctx.links.set(id, queuedLink(move.old.then(({ address, port }) => this.connectOrReport(id, address, port))));
    for (const envelope of move.sent) void this.wire(id, envelope);
  }

  /**
   * A link to neighbour `id` (at its new container, for `migration`): a failure is reported, but one to the
   * target of a move not yet decided waits for the decision, and one of an aborted move is dropped.
   */
  private connectOrReport(id: string, address: string, port: number, migration?: string): Promise<OutgoingLink> {
    const failed = (error: Error, brokenLink?: string): void => {
      if (migration === undefined) return this.ctx.reportFailure(error, brokenLink);
      const move = this.undecided.get(id);
      if (move?.migration === migration) move.broken ??= error;
      else if (!this.abandoned.has(migration)) this.ctx.reportFailure(error, brokenLink);
    };
    const opening = this.ctx.connect(id, address, port, (error) => failed(error, id));
    opening.catch((error: Error) => failed(new Error(`could not reach the new container of node ${id} at ${address}:${port}: ${error.message}`)));
    return opening;
  }

  /**
   * The old node's side: stop, collect the cut, drain, hand the snapshot to the target, and wait for the move's
   * fate: committed, end its links and say so; aborted, go on where it stopped.
   */
  private async leave(control: MigrationControl): Promise<void> {
    const { host, links, outboxes, lease, nodeId, etcd, keys } = this.ctx;
    // Tests make the old container die here, before it hands anything over (test/integration/migration-robust.test.ts).
    if (this.ctx.testExit === 'frozen') process.exit(70);
    const frozenAt = Date.now();
    const { decided } = this.decision(control.migration);
    let stay: () => void = () => {};
    this.stayed = new Promise<void>((resolve) => (stay = resolve));
    // The neighbours hear it from this node too, one hop on each link, often before etcd's watch reaches them.
    for (const link of links.values()) void link.send({ payload: '', control: JSON.stringify({ freeze: control } satisfies Marker) });
    // Connected while the markers come: the transfer is then the snapshot's bytes alone. A target that cannot be
    // reached, or whose link breaks, is the CLI's to judge: it aborts the move if the target died.
    const connecting = this.ctx.connect(nodeId, control.target!.address, control.target!.port, () => {});
    await host.suspend();
    const owed = (): string[] => host.neighbours.map(({ id }) => id).filter((id) => !this.flushed.has(id));
    // Every neighbour sends its marker, even when the move is aborted meanwhile: it turned at the freeze first.
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`migration ${control.migration}: no flush marker from ${owed().join(', ')} within ${MARKERS_TIMEOUT_MS / 1000} s`)), MARKERS_TIMEOUT_MS);
      this.flushedAll = () => {
        if (owed().length > 0) return;
        clearTimeout(timer);
        resolve();
      };
      this.flushedAll();
    });
    this.flushed.clear();
    const flushedAt = Date.now();
    // What changed since `prepare` (a lock taken, a timer set without a restore hook) can make the snapshot
    // impossible now: this node then calls the move off itself, as the CLI does for a target that died.
    const refusal = host.snapshotRefusal();
    if (refusal) await etcd.compareAndSwap(keys.migrationStep(nodeId, control.migration, 'decided'), undefined, 'aborted' satisfies MigrationDecision);
    const handingOver = (async () => {
      if (refusal) return;
      const snapshot = host.snapshot();
      const snapshotAt = Date.now();
      // What this node sent before it stopped leaves before the `ended` marker: shaped links hold it in outboxes.
      while ([...outboxes.values()].some((outbox) => outbox.queued > 0)) await new Promise((resolve) => setTimeout(resolve, 2));
      const handoff: Omit<Handoff, 'migration' | 'bytes' | 'arrivedAt'> = { frozenAt, flushedAt, snapshotAt, drainedAt: Date.now(), host: snapshot, held: lease.heldEntries() };
      const target = await connecting;
      void target.send({ payload: JSON.stringify(handoff), control: JSON.stringify({ handoff: control.migration } satisfies Marker) });
      await target.close();
    })();
    handingOver.catch(() => {}); // a target that died: see connecting
    const decision = await decided;
    this.decisions.delete(control.migration);
    if (decision === 'aborted') {
      // The target is dead or given up: a link to it still opening must not hand this snapshot to whichever
      // container gets its address next.
      void connecting.then((target) => target.drop(), () => {});
      // Nothing has changed here but the pause: the node goes on, and its neighbours' new links are admitted.
      host.unsuspend();
      stay();
      this.stayed = undefined;
      await etcd.put(keys.migrationStep(nodeId, control.migration, 'resumed'), JSON.stringify({ frozenAt, resumedAt: Date.now(), ...(refusal && { refusal }) }));
      return;
    }
    // The target committed, so it has the snapshot, and the drain came before it. Each neighbour takes the target's
    // stream once this node's `ended` marker arrived: after everything this node sent.
    await Promise.all(
      [...links.values()].map((link) => {
        void link.send({ payload: '', control: JSON.stringify({ ended: control.migration } satisfies Marker) });
        return link.close();
      }),
    );
    // The node lives on in its new container (its lease's keys are the new one's now). This one stays, doing
    // nothing, until the CLI removes it: exiting by itself, it could be the node's last container to die, say
    // after a new one that crashed, and the crash watch would take the end of a handover for the node's crash.
    await etcd.put(keys.migrationStep(nodeId, control.migration, 'left'), String(Date.now()));
  }

  /**
   * The new node's side, once the snapshot arrived: the host takes over from it, the registry entries are held
   * under this node's lease with its own address, and links open to every neighbour. Returns the record.
   */
  async takeOver(handoff: Handoff, registration: Registration, neighbourIds: readonly string[], counted: () => number): Promise<Omit<MigrationRecord, 'replayed'> & { replayedSoFar: () => number }> {
    const { host, lease, keys, nodeId, links, addresses, etcd } = this.ctx;
    // The point of no return, before this node handles or sends anything: unless the CLI aborted the move first
    // (this container was taken for dead), the old node ends its links and exits, and the neighbours drop their copies.
    if (!(await etcd.compareAndSwap(keys.migrationStep(nodeId, handoff.migration, 'decided'), undefined, 'committed' satisfies MigrationDecision))) {
      console.error(`[node ${nodeId}] migration ${handoff.migration} was aborted before this container took over: it goes`);
      process.exit(0);
    }
    for (const id of neighbourIds) {
      links.set(id, queuedLink(addresses.get(id)!.then(({ address, port }) => this.connectOrReport(id, address, port))));
    }
    const before = counted();
    await host.resume(handoff.host);
    const resumedAt = Date.now();
    const from = handoff.held.find(([key]) => key === keys.node(nodeId))?.[1];
    for (const [key, value] of handoff.held) void lease.put(key, key === keys.node(nodeId) ? JSON.stringify(registration) : value);
    return {
      node: nodeId,
      migration: handoff.migration,
      kind: 'migrate',
      frozenAt: handoff.frozenAt,
      resumedAt,
      downtimeMs: resumedAt - handoff.frozenAt,
      phasesMs: {
        markers: handoff.flushedAt - handoff.frozenAt,
        snapshot: handoff.snapshotAt - handoff.flushedAt,
        drain: handoff.drainedAt - handoff.snapshotAt,
        transfer: handoff.arrivedAt - handoff.drainedAt,
        restore: resumedAt - handoff.arrivedAt,
      },
      snapshotBytes: handoff.bytes,
      carried: handoff.host.inbox.length,
      ...(from && { from: (JSON.parse(from) as Registration).address }),
      to: registration.address,
      replayedSoFar: () => counted() - before,
    };
  }
}
