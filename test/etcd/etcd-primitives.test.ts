/**
 * The node agent's side of compare-and-swap, locks, elections and membership, against a real etcd process (no
 * Docker): the node client's transaction, ordered range, prefix watch and lease revoke, and the host's locks and
 * elections over the agent's etcd queues, with two "nodes" that each hold their own lease.
 */
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { currentLeader } from '../../src/coordination/elections.js';
import { runKeys } from '../../src/coordination/keys.js';
import type { Registration } from '../../src/coordination/protocol.js';
import { election, Locks } from '../../src/host/contention.js';
import { EtcdClient, type WatchEvent } from '../../src/node/etcd-client.js';
import { etcdLeasedQueues } from '../../src/node/leased-queues.js';
import { followNeighbours } from '../../src/node/membership.js';
import { NodeLease } from '../../src/node/registration.js';
import { RegistrationLeaseKeeper } from '../../src/run/lease-keeper.js';
import type { DownReason, Neighbour } from '../../src/sdk/types.js';
import { startEtcd, type EtcdProcess } from '../etcd-process.js';

let etcd: EtcdProcess;
let reference: Etcd3;
const clients: EtcdClient[] = [];

beforeAll(async () => {
  etcd = await startEtcd();
  reference = new Etcd3({ hosts: etcd.endpoint });
});

afterAll(async () => {
  for (const made of clients) made.close();
  reference?.close();
  await etcd?.stop();
});

function client(): EtcdClient {
  const made = new EtcdClient([etcd.endpoint]);
  clients.push(made);
  return made;
}

const settle = (ms = 300) => new Promise((resolve) => setTimeout(resolve, ms));

/** A node's own etcd client and lease holding `key`, and the lines its lease logged. */
async function registered(key: string): Promise<{ agent: EtcdClient; lines: string[]; lease: NodeLease }> {
  const agent = client();
  const lines: string[] = [];
  const lease = new NodeLease(agent, (line) => lines.push(line));
  await lease.put(key, 'x');
  return { agent, lines, lease };
}

describe('EtcdClient primitives', () => {
  it('compare-and-swap: creates only what is missing, swaps only from the expected value, and tells "" from missing', async () => {
    const etcd = client();
    expect(await etcd.compareAndSwap('/cas/a', undefined, 'one')).toBe(true);
    expect(await etcd.compareAndSwap('/cas/a', undefined, 'two')).toBe(false);
    expect(await etcd.compareAndSwap('/cas/a', 'two', 'three')).toBe(false);
    expect(await etcd.compareAndSwap('/cas/a', 'one', 'three')).toBe(true);
    expect(await reference.get('/cas/a').string()).toBe('three');
    expect(await etcd.compareAndSwap('/cas/missing', '', 'x')).toBe(false);
    await reference.put('/cas/empty').value('');
    expect(await etcd.compareAndSwap('/cas/empty', undefined, 'x')).toBe(false);
    expect(await etcd.compareAndSwap('/cas/empty', '', 'x')).toBe(true);
  });

  it('compare-and-swap: of 20 racing increments from two clients, each counts once', async () => {
    const [a, b] = [client(), client()];
    await a.put('/cas/count', '0');
    const increment = async (etcd: EtcdClient): Promise<void> => {
      for (;;) {
        const { value } = await etcd.get('/cas/count');
        if (await etcd.compareAndSwap('/cas/count', value, String(Number(value) + 1))) return;
      }
    };
    await Promise.all(Array.from({ length: 20 }, (_, i) => increment(i % 2 ? a : b)));
    expect(await reference.get('/cas/count').string()).toBe('20');
  });

  it('lists a prefix by create revision, a rewrite keeping its place, and watches the prefix with keys', async () => {
    const etcd = client();
    const events: WatchEvent[] = [];
    const stop = await etcd.watchPrefix('/q/', (event) => events.push(event), () => {});
    await etcd.put('/q/z', '1');
    await etcd.put('/q/a', '2');
    await etcd.put('/q/z', '3');
    await etcd.delete('/q/a');
    await settle();
    stop();
    expect((await etcd.getPrefixByCreation('/q/')).map(({ key, value }) => [key, value])).toEqual([['/q/z', '3']]);
    await etcd.put('/q/m', '4');
    expect((await etcd.getPrefixByCreation('/q/')).map(({ key }) => key)).toEqual(['/q/z', '/q/m']);
    expect(events.map(({ type, key, value }) => [type, key, value])).toEqual([
      ['put', '/q/z', '1'],
      ['put', '/q/a', '2'],
      ['put', '/q/z', '3'],
      ['delete', '/q/a', ''],
    ]);
  });

  it('a lease renewal answered late is not a lost lease: it waits for etcd, past the calls’ 10 s deadline', async () => {
    const { agent, lines, lease } = await registered('/late/registered');
    const id = await lease.current();
    const renewal = agent.keepAlive(id);
    // Longer than a call's deadline, shorter than the 20 s TTL: on a starved host the answer comes this late.
    await etcd.freeze(12_000);
    await expect(renewal).resolves.toBeGreaterThan(0);
    await settle();
    expect(lines.filter((line) => line.includes('lost'))).toEqual([]);
    expect(await lease.current()).toBe(id);
    expect(String((await reference.get('/late/registered').exec()).kvs[0]?.lease)).toBe(id);
    await lease.leave();
  }, 30_000);

  it('a lease etcd no longer knows is replaced, and the keys held under it are written again', async () => {
    const { lines, lease } = await registered('/lost/registered');
    const first = await lease.current();
    await reference.leaseClient.leaseRevoke({ ID: first });
    expect(await reference.get('/lost/registered').string()).toBeNull();
    // The next renewal (every 20/3 s) is answered "0 seconds left": a new lease, and the key again.
    let value: string | null = null;
    for (let waited = 0; value === null && waited < 10_000; waited += 200) {
      await settle(200);
      value = await reference.get('/lost/registered').string();
    }
    expect(value).toBe('x');
    expect(lines).toContain('registration lease lost (etcd no longer knows it); registering again');
    expect(await lease.current()).not.toBe(first);
    await lease.leave();
  }, 20_000);

  it('revoking a lease deletes every key it holds at once', async () => {
    const etcd = client();
    const lease = new NodeLease(etcd, () => {});
    await lease.put('/r/registered', 'x');
    await etcd.put('/r/entry', 'y', await lease.current());
    await lease.leave();
    expect(await reference.getAll().prefix('/r/').keys()).toEqual([]);
  });
});

describe('the CLI renewing the leases of nodes that wait for the start', () => {
  const keys = runKeys('keeper-test');
  const secondsLeft = async (lease: string): Promise<number> => Number((await reference.leaseClient.leaseTimeToLive({ ID: lease })).TTL);
  /** For the cases that end before the start: the keeper never asks which nodes run. */
  const noneRun = async (): Promise<ReadonlySet<string>> => new Set();

  it('a registered node leaves its renewals to the keeper until the start, then renews its own again', async () => {
    // Held before the node registers, as in a bring-up (the second case below registers first).
    const keeper = await RegistrationLeaseKeeper.hold(reference, keys.leaseKeeper, keys.nodesPrefix, noneRun);
    const { agent, lease } = await registered(keys.node('a'));
    const id = await lease.current();
    const renewals = vi.spyOn(agent, 'keepAlive');
    const watches = vi.spyOn(agent, 'nextEvent');
    const handedOver = lease.leaveRenewalsTo(keys.leaseKeeper, keys.start);
    // Longer than a renewal period (20/3 s): the node would have renewed once.
    await settle(8_000);
    expect(renewals).not.toHaveBeenCalled();
    // Unrenewed, 12 s would be left; the keeper renewed it at ~6.7 s.
    expect(await secondsLeft(id)).toBeGreaterThan(15);
    expect(await keeper.handBack()).toEqual([]);
    await reference.put(keys.start).value(String(Date.now()));
    await handedOver;
    // Renewed at once at the start, not only at the node's phase: the keeper's last round may be a while ago.
    expect(renewals).toHaveBeenCalledWith(id);
    // Both watches (the keeper key's and the start key's) are cancelled once the start decided it.
    expect(watches.mock.calls.map(([key, , , signal]) => [key, signal?.aborted])).toEqual([
      [keys.leaseKeeper, true],
      [keys.start, true],
    ]);
    // Then at its own phase again.
    await settle(7_000);
    expect(renewals.mock.calls.length).toBeGreaterThanOrEqual(2);
    await keeper.release();
    // Let go once: asked again (a keeper that lost its watch lets go before the controller's close asks), it is
    // the same letting go, not a second revoke.
    expect(keeper.release()).toBe(keeper.release());
    await lease.leave();
    await reference.delete().key(keys.start);
  }, 30_000);

  it('a node renews its own at once when the keeper lets go, and one whose lease etcd lost registers again', async () => {
    const [b, c] = [await registered(keys.node('b')), await registered(keys.node('c'))];
    const [bLease, cLease] = [await b.lease.current(), await c.lease.current()];
    const keeper = await RegistrationLeaseKeeper.hold(reference, keys.leaseKeeper, keys.nodesPrefix, noneRun);
    const handedOver = [b, c].map(({ lease }) => lease.leaveRenewalsTo(keys.leaseKeeper, keys.start));
    await settle(100);
    const renewals = vi.spyOn(b.agent, 'keepAlive');
    await reference.leaseClient.leaseRevoke({ ID: cLease });
    expect(await reference.get(keys.node('c')).string()).toBeNull();
    expect(await keeper.handBack()).toEqual(['c']);
    await keeper.release();
    await Promise.all(handedOver);
    expect(renewals).toHaveBeenCalledWith(bLease);
    let value: string | null = null;
    for (let waited = 0; value === null && waited < 5_000; waited += 100) {
      await settle(100);
      value = await reference.get(keys.node('c')).string();
    }
    expect(value).toBe('x');
    expect(c.lines).toContain('registration lease lost (etcd no longer knows it); registering again');
    await b.lease.leave();
    await c.lease.leave();
  }, 20_000);

  it('for a TTL after the start it still renews the leases of the nodes that run, no fault hit and did not register again, then none', async () => {
    const keeper = await RegistrationLeaseKeeper.hold(reference, keys.leaseKeeper, keys.nodesPrefix, async () => new Set(['starved', 'faulted', 'moved']));
    // Leases that no node renews: to etcd, a node starved at the start, a dead one, one a fault hit, and one whose
    // node was moved from outside the run (its new container runs under the same id).
    const leaseOf = async (node: string): Promise<string> => {
      const lease = reference.lease(20, { autoKeepAlive: false });
      await lease.put(keys.node(node)).value('x');
      return lease.grant();
    };
    const [starved, , , moved] = [await leaseOf('starved'), await leaseOf('dead'), await leaseOf('faulted'), await leaseOf('moved')];
    await settle(200);
    expect(await keeper.handBack()).toEqual([]);
    keeper.guardAfterStart();
    keeper.forget(['faulted']);
    // The moved node's new process registers under a lease of its own, which it renews itself.
    const movedAgain = reference.lease(20);
    await movedAgain.put(keys.node('moved')).value('y');
    // A TTL and a moment after the last renewal before the start: renewed after it, only the starved node's lease
    // is left (the last round after the start was at 20 s).
    await settle(21_500);
    expect(await secondsLeft(starved!)).toBeGreaterThan(15);
    expect(await reference.get(keys.node('dead')).string()).toBeNull();
    expect(await reference.get(keys.node('faulted')).string()).toBeNull();
    expect(await secondsLeft(moved!)).toBeLessThanOrEqual(0);
    expect(await reference.get(keys.node('moved')).string()).toBe('y');
    await movedAgain.revoke();
    // No round after the third: by 28 s, a renewal at 26.7 s would have left more than 18 s.
    await settle(6_500);
    expect(await secondsLeft(starved!)).toBeLessThan(15);
    await keeper.release();
    await reference.leaseClient.leaseRevoke({ ID: starved! });
  }, 40_000);

  it('a node that registers after the start, or finds no keeper, keeps renewing its own', async () => {
    const { agent, lease } = await registered(keys.node('d'));
    const renewals = vi.spyOn(agent, 'keepAlive');
    await lease.leaveRenewalsTo(keys.leaseKeeper, keys.start);
    await settle(7_000);
    expect(renewals).toHaveBeenCalledTimes(1);
    await lease.leave();
  }, 15_000);
});

describe('locks and elections over the agent’s etcd queues', () => {
  const keys = runKeys('primitives-test');

  /** A node as the agent makes it: its own etcd client and lease, and the host's locks and elections over them. */
  function node(id: string) {
    const etcd = client();
    const lease = new NodeLease(etcd, () => {});
    const failures: Error[] = [];
    const contender = {
      id,
      queues: etcdLeasedQueues(etcd, lease, keys, id, (error) => failures.push(error)),
      guard: async (action: () => void | Promise<void>) => {
        try {
          await action();
        } catch (error) {
          failures.push(error as Error);
        }
      },
      fail: (message: string) => new Error(message),
    };
    return { lease, failures, locks: new Locks(contender), election: (name: string) => election(contender, name) };
  }

  it('gives a lock to one node at a time, in the order they asked, and a revoked lease hands it on', async () => {
    const [a, b, c] = [node('a'), node('b'), node('c')];
    const order: string[] = [];
    await a.locks.lock('critical');
    const waiting = [b, c].map(async (n, i) => {
      await settle(100 * i);
      const lock = await n.locks.lock('critical');
      order.push(i === 0 ? 'b' : 'c');
      if (i === 0) await lock.release();
    });
    await settle(400);
    expect(order).toEqual([]);
    // a's node "dies" gracefully: its lease goes, and with it its place.
    await a.lease.leave();
    await Promise.all(waiting);
    expect(order).toEqual(['b', 'c']);
    expect([...a.failures, ...b.failures, ...c.failures]).toEqual([]);
  });

  it('elects the first candidate, tells observers each leader with its value, and hands over on resign', async () => {
    const [a, b] = [node('a'), node('b')];
    const seen: Array<[string | null, string | null]> = [];
    const stop = b.election('boss').observe((leader, value) => void seen.push([leader ?? null, value ?? null]));
    await settle();
    await a.election('boss').campaign('at a');
    let bLeads = false;
    const bCampaign = b.election('boss').campaign('at b').then(() => (bLeads = true));
    await settle();
    expect(bLeads).toBe(false);
    expect(await b.election('boss').leader()).toBe('a');
    expect(await currentLeader(reference, 'primitives-test', 'boss')).toBe('a');
    await a.election('boss').resign();
    await bCampaign;
    expect(await a.election('boss').leader()).toBe('b');
    expect(await currentLeader(reference, 'primitives-test', 'boss')).toBe('b');
    expect(await currentLeader(reference, 'primitives-test', 'other')).toBeUndefined();
    await settle();
    stop();
    expect(seen).toEqual([
      [null, null],
      ['a', 'at a'],
      ['b', 'at b'],
    ]);
  });
});

describe('membership from the registry', () => {
  it('tells a neighbour that left from one whose lease ran out, and one that came back', async () => {
    const keys = runKeys('membership-test');
    const etcd = client();
    const events: Array<[string, string, DownReason | 'up']> = [];
    const host = {
      neighbourDown: (id: string, reason: DownReason) => void events.push(['down', id, reason]),
      neighbourUp: (neighbour: Neighbour) => void events.push(['up', neighbour.id, 'up']),
    };
    const registration = (id: string): Registration => ({ id, role: 'r', address: '10.0.0.1', port: 1, registeredAt: 0 });
    const leaving = client();
    const leavingLease = new NodeLease(leaving, () => {});
    await leavingLease.put(keys.node('1'), JSON.stringify(registration('1')));
    const crashing = await etcd.grantLease(2);
    await etcd.put(keys.node('2'), JSON.stringify(registration('2')), crashing);
    const stop = await followNeighbours(etcd, keys, new Map([['1', 1], ['2', 2]]), host, (error) => {
      throw error;
    });

    // Node 1 leaves as the agent does on SIGTERM: marks its registration, then revokes its lease.
    await leaving.put(keys.node('1'), JSON.stringify({ ...registration('1'), leaving: true }), await leavingLease.current());
    await leavingLease.leave();
    await settle();
    expect(events).toEqual([['down', '1', 'left']]);
    // Node 2 stops renewing: its key goes when the lease runs out; then it registers again.
    for (let waited = 0; events.length < 2 && waited < 10_000; waited += 200) await settle(200);
    expect(events[1]).toEqual(['down', '2', 'lease-expired']);
    await etcd.put(keys.node('2'), JSON.stringify(registration('2')));
    await etcd.put(keys.node('9'), JSON.stringify(registration('9')));
    await settle();
    stop();
    expect(events.slice(2)).toEqual([['up', '2', 'up']]);
  });
});
