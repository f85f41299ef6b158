/**
 * The simulator's coordination services: the run's shared key-value store (with compare-and-swap), its
 * barriers, and the lease-held queues that locks and elections are made of, in memory, with the semantics of
 * their etcd counterparts (node/etcd-client.ts, node/leased-queues.ts and the run controller). Reads and writes
 * take no virtual time; a watch that fires (a waited-for key appears or goes, a barrier opens) does not
 * resolve on the spot but through `wake`, which the simulation turns into an event addressed to the waiting
 * node, so the waiter runs in its own turn and not at all if that node is paused or gone.
 */
import type { LeasedQueues, QueueEntry } from '../../host/contention.js';
import type { SharedStore } from '../../sdk/types.js';

/** Runs `action` for node `nodeId` as a simulation event at the current virtual time. */
export type Wake = (nodeId: string, action: () => void) => void;

interface Waiter<T> {
  readonly nodeId: string;
  readonly resolve: (value: T) => void;
}

export class SimStore {
  private readonly values = new Map<string, string>();
  private readonly putWaiters = new Map<string, Array<Waiter<string>>>();
  private readonly deleteWaiters = new Map<string, Array<Waiter<void>>>();

  constructor(private readonly wake: Wake) {}

  /** The store as node `nodeId` sees it (the same keys for every node; the id only routes wake-ups). */
  forNode(nodeId: string): SharedStore {
    return {
      get: async (key) => this.values.get(key),
      put: async (key, value) => this.put(key, value),
      delete: async (key) => this.delete(key),
      waitFor: (key) => {
        const value = this.values.get(key);
        if (value !== undefined) return Promise.resolve(value);
        return new Promise((resolve) => addWaiter(this.putWaiters, key, { nodeId, resolve }));
      },
      waitForDelete: (key) => {
        if (!this.values.has(key)) return Promise.resolve();
        return new Promise((resolve) => addWaiter(this.deleteWaiters, key, { nodeId, resolve }));
      },
      // Atomic as an etcd transaction is: nothing else runs between the comparison and the write.
      compareAndSwap: async (key, expected, next) => {
        if (this.values.get(key) !== expected) return false;
        this.put(key, next);
        return true;
      },
    };
  }

  /** Like an etcd put: every put, even of an unchanged value, fires the key's watchers. */
  put(key: string, value: string): void {
    const text = String(value);
    this.values.set(key, text);
    for (const waiter of takeWaiters(this.putWaiters, key)) this.wake(waiter.nodeId, () => waiter.resolve(text));
  }

  /** Like an etcd delete: only deleting a key that exists fires its watchers. */
  delete(key: string): void {
    if (!this.values.delete(key)) return;
    for (const waiter of takeWaiters(this.deleteWaiters, key)) this.wake(waiter.nodeId, () => waiter.resolve());
  }

  clear(): void {
    this.values.clear();
    this.putWaiters.clear();
    this.deleteWaiters.clear();
  }
}

/**
 * Barriers as the run controller serves them: a barrier named X opens once every node of the run has
 * arrived at X, and stays open (a node arriving later passes at once).
 */
export class SimBarriers {
  private readonly arrivals = new Map<string, { nodes: Set<string>; waiters: Array<Waiter<void>> }>();
  private readonly open = new Set<string>();
  /** Nodes a fault took out: as the controller does, a barrier no longer waits for them. */
  private readonly departed = new Set<string>();

  /**
   * @param size every node of the run, started or not: as with the controller, a barrier waits for every node
   *   but those a fault killed or stopped.
   */
  constructor(
    private size: number,
    private readonly wake: Wake,
    private readonly onOpen: (name: string) => void = () => {},
  ) {}

  /** A node joined the run: as with the controller, every barrier not yet open waits for it too. */
  join(): void {
    this.size += 1;
  }

  arrive(name: string, nodeId: string): Promise<void> {
    if (this.open.has(name)) return Promise.resolve();
    let barrier = this.arrivals.get(name);
    if (!barrier) {
      barrier = { nodes: new Set(), waiters: [] };
      this.arrivals.set(name, barrier);
    }
    const { nodes, waiters } = barrier;
    const arrived = new Promise<void>((resolve) => waiters.push({ nodeId, resolve }));
    nodes.add(nodeId);
    this.openIfComplete(name);
    return arrived;
  }

  /** The node is gone for good: barriers that waited only for it open now. */
  depart(nodeId: string): void {
    this.departed.add(nodeId);
    for (const [name, { nodes }] of [...this.arrivals]) {
      nodes.delete(nodeId);
      this.openIfComplete(name);
    }
  }

  /** A departed node is back (restarted): barriers not yet open wait for it again. */
  rejoin(nodeId: string): void {
    this.departed.delete(nodeId);
  }

  private openIfComplete(name: string): void {
    const barrier = this.arrivals.get(name);
    if (!barrier || barrier.nodes.size + this.departed.size < this.size) return;
    this.open.add(name);
    this.arrivals.delete(name);
    this.onOpen(name);
    for (const waiter of barrier.waiters) this.wake(waiter.nodeId, () => waiter.resolve());
  }

  clear(): void {
    this.arrivals.clear();
    this.open.clear();
  }
}

function addWaiter<T>(waiters: Map<string, Array<Waiter<T>>>, key: string, waiter: Waiter<T>): void {
  const list = waiters.get(key);
  if (list) list.push(waiter);
  else waiters.set(key, [waiter]);
}

function takeWaiters<T>(waiters: Map<string, Array<Waiter<T>>>, key: string): Array<Waiter<T>> {
  const list = waiters.get(key);
  if (!list) return [];
  waiters.delete(key);
  return list;
}

/**
 * The run's lease-held queues (locks and elections, see host/contention.ts) as etcd keeps them: one entry per
 * node and queue, ordered by a counter that stands for etcd's create revision, gone when the node leaves the
 * queue or its lease ends (`expire`). A change wakes the queue's watchers and the waiters for a leaving entry,
 * each in its own node's turn.
 */
export class SimQueues {
  private readonly queues = new Map<string, Map<string, QueueEntry>>();
  private readonly leaveWaiters = new Map<string, Array<Waiter<void>>>();
  private readonly watchers = new Map<string, Set<{ readonly nodeId: string; readonly onChange: () => void }>>();
  private revision = 0;

  constructor(private readonly wake: Wake) {}

  forNode(nodeId: string): LeasedQueues {
    return {
      join: async (queue, value) => {
        const entries = this.queues.get(queue) ?? new Map<string, QueueEntry>();
        this.queues.set(queue, entries);
        const joined = entries.get(nodeId)?.joined ?? ++this.revision;
        entries.set(nodeId, { node: nodeId, value: String(value), joined });
        this.changed(queue);
      },
      entries: async (queue) => [...(this.queues.get(queue)?.values() ?? [])].sort((a, b) => a.joined - b.joined),
      leave: async (queue) => this.remove(queue, nodeId),
      waitForLeave: (queue, node) => {
        if (!this.queues.get(queue)?.has(node)) return Promise.resolve();
        return new Promise((resolve) => addWaiter(this.leaveWaiters, `${queue}\0${node}`, { nodeId, resolve }));
      },
      watch: async (queue, onChange) => {
        const watcher = { nodeId, onChange };
        const watchers = this.watchers.get(queue) ?? new Set();
        this.watchers.set(queue, watchers);
        watchers.add(watcher);
        return () => watchers.delete(watcher);
      },
    };
  }

  /** The node first in line in `queue` (the lock's holder, the election's leader), undefined if it is empty. */
  first(queue: string): string | undefined {
    let first: QueueEntry | undefined;
    for (const entry of this.queues.get(queue)?.values() ?? []) if (!first || entry.joined < first.joined) first = entry;
    return first?.node;
  }

  /** The node's lease ended: its entries leave every queue. */
  expire(nodeId: string): void {
    for (const queue of this.queues.keys()) this.remove(queue, nodeId);
  }

  clear(): void {
    this.queues.clear();
    this.leaveWaiters.clear();
    this.watchers.clear();
  }

  private remove(queue: string, nodeId: string): void {
    if (!this.queues.get(queue)?.delete(nodeId)) return;
    for (const waiter of takeWaiters(this.leaveWaiters, `${queue}\0${nodeId}`)) this.wake(waiter.nodeId, () => waiter.resolve());
    this.changed(queue);
  }

  private changed(queue: string): void {
    for (const watcher of this.watchers.get(queue) ?? []) this.wake(watcher.nodeId, watcher.onChange);
  }
}
