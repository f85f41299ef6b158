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
 *  - it lets its outgoing links drain and ends each with an `ended` marker, then sends its snapshot to the target
 *    directly (a Link stream from its own id: up to megabytes, more than etcd takes in one request);
 *  - a neighbour takes nothing from the target before the old node's `ended` marker: the target's first
 *    message cannot overtake the old node's last.
 * A restart is the same turn of the neighbours without the cut: the old node is dead, the new one starts afresh.
 */
import type { MigrationControl, MigrationRecord, Registration } from '../coordination/protocol.js';
import type { RunKeys } from '../coordination/keys.js';
import type { AlgorithmHost, HostSnapshot } from '../host/algorithm-host.js';
import type { LinkOutbox } from '../links/outbox.js';
import type { EtcdClient } from './etcd-client.js';
import { queuedLink, type OutgoingLink } from './links.js';
import type { Envelope } from './peer-wire.js';
import type { NodeLease } from './registration.js';

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
  connect(id: string, address: string, port: number): Promise<OutgoingLink>;
  reportFailure(error: Error): void;
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
  /** The new node's side: the snapshot, once it arrived. */
  private handoffArrived: (handoff: Handoff) => void = () => {};
  readonly handoff = new Promise<Handoff>((resolve) => (this.handoffArrived = resolve));

  constructor(private readonly ctx: MigrationContext) {}

  /** Puts a message on the link to `to` (what the agent's transmit and outboxes call), counting it. */
  wire(to: string, envelope: Envelope): Promise<void> {
    this.onWire.set(to, (this.onWire.get(to) ?? 0) + 1);
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
  }

  /** Follows the run's migration control keys: this node's own, and its neighbours'. */
  follow(ownMigration: string | undefined): Promise<() => void> {
    const { etcd, keys } = this.ctx;
    return etcd.watchPrefix(
      keys.migrationsControlPrefix,
      (event) => {
        if (event.type !== 'put') return;
        const id = event.key.slice(keys.migrationsControlPrefix.length);
        const control = JSON.parse(event.value) as MigrationControl;
        if (id === this.ctx.nodeId) {
          if (control.migration !== ownMigration) void this.onOwn(control).catch((error: Error) => this.ctx.reportFailure(error));
        } else if (this.ctx.addresses.has(id) && control.phase !== 'prepare') {
          this.turnTo(id, control);
        }
      },
      (reason) => this.ctx.reportFailure(new Error(`etcd refused to watch the run's migrations: ${reason}`)),
    );
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
    } else {
      this.arrived.set(id, 0);
    }
    void old?.close();
    this.onWire.set(id, 0);
    this.ctx.addresses.set(id, Promise.resolve({ id, role: '', address, port, registeredAt: Date.now() }));
    this.ctx.links.set(id, queuedLink(this.connectOrReport(id, address, port)));
  }

  private connectOrReport(id: string, address: string, port: number): Promise<OutgoingLink> {
    const opening = this.ctx.connect(id, address, port);
    opening.catch((error: Error) => this.ctx.reportFailure(new Error(`could not reach the new container of node ${id} at ${address}:${port}: ${error.message}`)));
    return opening;
  }

  /** The old node's side: stop, collect the cut, drain, hand the snapshot to the target, and exit. */
  private async leave(control: MigrationControl): Promise<void> {
    const { host, links, outboxes, lease, nodeId } = this.ctx;
    const frozenAt = Date.now();
    // The neighbours hear it from this node too, one hop on each link, often before etcd's watch reaches them.
    for (const link of links.values()) void link.send({ payload: '', control: JSON.stringify({ freeze: control } satisfies Marker) });
    // Connected while the markers come: the transfer is then the snapshot's bytes alone.
    const connecting = this.ctx.connect(nodeId, control.target!.address, control.target!.port);
    connecting.catch(() => {}); // awaited below, where a failure fails the node
    await host.suspend();
    const owed = (): string[] => host.neighbours.map(({ id }) => id).filter((id) => !this.flushed.has(id));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`migration ${control.migration}: no flush marker from ${owed().join(', ')} within ${MARKERS_TIMEOUT_MS / 1000} s`)), MARKERS_TIMEOUT_MS);
      this.flushedAll = () => {
        if (owed().length > 0) return;
        clearTimeout(timer);
        resolve();
      };
      this.flushedAll();
    });
    const flushedAt = Date.now();
    const snapshot = host.snapshot();
    const snapshotAt = Date.now();
    // What this node sent before it stopped leaves before the `ended` marker: shaped links hold it in outboxes.
    while ([...outboxes.values()].some((outbox) => outbox.queued > 0)) await new Promise((resolve) => setTimeout(resolve, 2));
    // Nothing needs the `ended` markers to have arrived before the snapshot leaves: each neighbour's gate waits for its own.
    const ending = [...links.values()].map((link) => {
      void link.send({ payload: '', control: JSON.stringify({ ended: control.migration } satisfies Marker) });
      return link.close();
    });
    const handoff: Omit<Handoff, 'migration' | 'bytes' | 'arrivedAt'> = { frozenAt, flushedAt, snapshotAt, drainedAt: Date.now(), host: snapshot, held: lease.heldEntries() };
    const target = await connecting;
    void target.send({ payload: JSON.stringify(handoff), control: JSON.stringify({ handoff: control.migration } satisfies Marker) });
    await Promise.all([target.close(), ...ending]);
    // The node lives on in its new container: this one goes without a word (its lease's keys are the new one's now).
    process.exit(0);
  }

  /**
   * The new node's side, once the snapshot arrived: the host takes over from it, the registry entries are held
   * under this node's lease with its own address, and links open to every neighbour. Returns the record.
   */
  async takeOver(handoff: Handoff, registration: Registration, neighbourIds: readonly string[], counted: () => number): Promise<Omit<MigrationRecord, 'replayed'> & { replayedSoFar: () => number }> {
    const { host, lease, keys, nodeId, links, addresses } = this.ctx;
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
