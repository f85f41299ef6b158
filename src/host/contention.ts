/**
 * Locks and elections, built the way etcd's own concurrency package builds them (clientv3/concurrency), on one
 * primitive both runtimes supply: a run-wide queue of entries held by the nodes' leases. A node takes its place
 * in the queue and waits until every entry ahead of it is gone; then it holds the lock, or leads. Each waiter
 * watches only the entry just ahead of it, so a release wakes one node, not all of them. An entry of a node
 * that dies goes when its lease runs out, which is what hands a dead holder's lock on.
 *
 * Written once here for both runtimes, so that a lock or an election behaves the same in containers and in the
 * simulator: the runtimes differ only in what a queue is made of (etcd keys, or a map in virtual time).
 */
import { electionQueue, lockQueue } from '../coordination/keys.js';
import type { Election, HeldLock } from '../sdk/types.js';
import { hasShape, SERVICE_NAME } from '../util/names.js';

/** One node's place in a queue. */
export interface QueueEntry {
  readonly node: string;
  readonly value: string;
  /** Orders the queue, earliest first: etcd's create revision of the entry's key, or the simulator's counter. */
  readonly joined: number;
}

/** Run-wide queues of entries held by the nodes' leases, one entry per node per queue; what the runtimes supply. */
export interface LeasedQueues {
  /** Puts this node in `queue` with `value`, or updates the value where it already is (it keeps its place). */
  join(queue: string, value: string): Promise<void>;
  /** The queue's entries, first come first. */
  entries(queue: string): Promise<QueueEntry[]>;
  /** Takes this node's entry out (nothing happens if it has none). */
  leave(queue: string): Promise<void>;
  /** Resolves once `node` has no entry in `queue` (at once if it has none). */
  waitForLeave(queue: string, node: string): Promise<void>;
  /**
   * Calls `onChange` after each change of `queue`, in this node's turn; resolves, once watching, with the
   * function that stops.
   */
  watch(queue: string, onChange: () => void): Promise<() => void>;
}

/** What a lock or election needs of its host: the node, its queues, and how to run the algorithm's callbacks. */
export interface Contender {
  readonly id: string;
  readonly queues: LeasedQueues;
  /** Runs an algorithm callback; an exception in it fails the node. */
  readonly guard: (action: () => void | Promise<void>) => Promise<void>;
  readonly fail: (message: string) => Error;
}

/**
 * Waits until this node is first in `queue`. False if its entry went meanwhile (it resigned, or its lease ran
 * out): it will not become first.
 */
async function waitUntilFirst({ id, queues }: Contender, queue: string): Promise<boolean> {
  for (;;) {
    const entries = await queues.entries(queue);
    const place = entries.findIndex((entry) => entry.node === id);
    if (place < 0) return false;
    if (place === 0) return true;
    await queues.waitForLeave(queue, entries[place - 1]!.node);
  }
}

export class Locks {
  /** Per lock name, the tail of this node's own waiters: calls of `lock` on one node queue behind each other. */
  private readonly localTails = new Map<string, Promise<void>>();

  constructor(private readonly contender: Contender) {}

  async lock(name: string): Promise<HeldLock> {
    checkName(this.contender, 'lock', name);
    const queue = lockQueue(name);
    // One entry per node and queue: a second caller on this node waits here for the first one's release.
    const before = this.localTails.get(name) ?? Promise.resolve();
    let releaseLocally!: () => void;
    const mine = before.then(() => new Promise<void>((resolve) => (releaseLocally = resolve)));
    this.localTails.set(name, mine);
    await before;
    let first: boolean;
    try {
      await this.contender.queues.join(queue, '');
      first = await waitUntilFirst(this.contender, queue);
    } catch (error) {
      // The next caller on this node must not wait for a lock this one never got.
      releaseLocally();
      throw error;
    }
    if (!first) {
      releaseLocally();
      throw this.contender.fail(`node ${this.contender.id} lost its place for lock ${name}: its lease ran out while it waited`);
    }
    let released = false;
    return {
      release: async () => {
        if (released) return;
        released = true;
        await this.contender.queues.leave(queue);
        if (this.localTails.get(name) === mine) this.localTails.delete(name);
        releaseLocally();
      },
    };
  }
}

export function election(contender: Contender, name: string): Election {
  checkName(contender, 'election', name);
  const { queues } = contender;
  const queue = electionQueue(name);
  return {
    async campaign(value = '') {
      await queues.join(queue, value);
      // A candidate that resigns before it leads never will: its campaign stays pending, as etcd's would stay
      // cancelled. The algorithm learns it from having resigned, not from an exception in code that awaits.
      if (!(await waitUntilFirst(contender, queue))) await new Promise<never>(() => {});
    },
    async leader() {
      return (await queues.entries(queue))[0]?.node;
    },
    observe(callback) {
      let stopped = false;
      let told: string | undefined | null = null;
      let reading = Promise.resolve();
      // Reads are chained, so the callback sees leaders in the order the queue changed. A read that fails
      // (etcd gone for half a minute) fails the node, as a failed store call in the algorithm's code would.
      const look = (): void => {
        reading = reading.then(() =>
          contender.guard(async () => {
            const first = (await queues.entries(queue))[0];
            if (stopped || first?.node === told) return;
            told = first?.node;
            await callback(first?.node, first?.value);
          }),
        );
      };
      // The first look comes once the watch is on, so no change falls between the two.
      const watching = queues.watch(queue, look).then((unwatch) => {
        look();
        return unwatch;
      });
      return () => {
        stopped = true;
        void watching.then((unwatch) => unwatch());
      };
    },
    resign: () => queues.leave(queue),
  };
}

function checkName(contender: Contender, what: string, name: unknown): void {
  if (!hasShape(SERVICE_NAME, name)) {
    throw contender.fail(`node ${contender.id}: ${what} name ${JSON.stringify(name)} is not ${SERVICE_NAME.rule}`);
  }
}
