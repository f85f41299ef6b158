/**
 * The controller's waits leave no etcd watch behind. A wait that the keys already there complete (every node
 * was ready before the wait began) used to leave its watch running: it was created after the wait had ended, was
 * never cancelled, and its client's retries kept the CLI from exiting once the run's etcd was gone. A watch etcd
 * cancels (etcd3 then drops it without a word) fails the wait at once instead of leaving it to its timeout.
 */
import { Etcd3 } from 'etcd3';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { nextChange, nextRevision, valueOnceSet } from '../../src/coordination/etcd.js';
import { RunController } from '../../src/run/controller.js';
import { runKeys } from '../../src/coordination/keys.js';
import { startEtcd, type EtcdProcess } from '../etcd-process.js';

let etcd: EtcdProcess;
/** Each test's own client, so that what one leaves open (a watch) is closed before the next counts watchers. */
let client: Etcd3;

beforeAll(async () => {
  etcd = await startEtcd();
});

afterAll(async () => {
  await etcd?.stop();
});

beforeEach(() => {
  client = new Etcd3({ hosts: etcd.endpoint });
});

afterEach(() => {
  client.close();
});

/** etcd's own count of the watchers it serves (a gauge of its Prometheus metrics). */
async function watchers(): Promise<number> {
  return metric('etcd_debugging_mvcc_watcher_total');
}

/** One of etcd's Prometheus metrics, without labels. */
async function metric(name: string): Promise<number> {
  const metrics = await (await fetch(`${etcd.endpoint}/metrics`)).text();
  const line = new RegExp(`^${name} (\\S+)$`, 'm').exec(metrics);
  if (!line) throw new Error(`etcd reports no ${name}`);
  return Number(line[1]);
}

it('a wait that the keys already there complete cancels its watch', async () => {
  const keys = runKeys('watch-test');
  for (const id of ['a', 'b']) await client.put(`${keys.readyPrefix}${id}`).value(JSON.stringify({ id }));
  const before = await watchers();
  const controller = await RunController.open(client, 'watch-test', ['a', 'b']);
  const ready = await controller.waitReady({ check: async () => {}, withoutProgressMs: 10_000 });
  expect([...ready.keys()].sort()).toEqual(['a', 'b']);
  await controller.close();
  // The leaked watch was created a moment after the wait ended: give it that moment to show.
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  expect(await watchers()).toBe(before);
});

it('bring-up waits for as long as nodes keep becoming ready, and gives up once none has for the stall budget', async () => {
  const keys = runKeys('stall-test');
  const ids = ['a', 'b', 'c', 'd', 'e', 'f'];
  const controller = await RunController.open(client, 'stall-test', ids);
  const began = Date.now();
  const waiting = controller.waitReady({ check: async () => {}, withoutProgressMs: 800 });
  waiting.catch(() => {});
  // One node ready every 400 ms: 2 s in all, more than twice the budget, but never 800 ms without progress.
  for (const id of ids.slice(0, 5)) {
    await new Promise((resolve) => setTimeout(resolve, 400));
    await client.put(`${keys.readyPrefix}${id}`).value(JSON.stringify({ id }));
  }
  // f never comes: the wait ends 800 ms after e, naming f.
  await expect(waiting).rejects.toThrow(/^1 of 6 nodes were not connected after \d+ s, and none became ready in the last 0\.8 s \(f\)$/);
  expect(Date.now() - began).toBeGreaterThan(2_000 + 700);
  await controller.close();
});

it('the registry log counts a node whose key went and came back (a lease lost after the start) once, when it came back', async () => {
  const keys = runKeys('registry-test');
  const controller = await RunController.open(client, 'registry-test', ['a', 'b']);
  const registration = (id: string, registeredAt: number) => JSON.stringify({ id, role: 'x', address: '10.0.0.1', port: 1, registeredAt });
  const before = Date.now() - 1_000;
  for (const id of ['a', 'b']) await client.put(keys.node(id)).value(registration(id, before));
  const follower = await controller.followRegistry();
  const startedAt = Date.now();
  await new Promise((resolve) => setTimeout(resolve, 50));
  // b's lease runs out after the start, and b writes its entry again under a new lease, as it was.
  await client.delete().key(keys.node('b'));
  await new Promise((resolve) => setTimeout(resolve, 50));
  await client.put(keys.node('b')).value(registration('b', before));
  await new Promise((resolve) => setTimeout(resolve, 200));
  const log = follower.log(startedAt);
  await follower.stop();
  await controller.close();
  expect(log.atStart).toBe(2);
  expect(log.changes.map(({ node, change }) => `${node} ${change}`)).toEqual(['b left', 'b registered']);
  expect(log.changes[1]!.atMs).toBeGreaterThanOrEqual(log.changes[0]!.atMs);
});

it('a wait for a key (a move\'s steps) watches instead of asking again and again, and an aborted one leaves no watch', async () => {
  const before = await watchers();
  const rangesBefore = await metric('etcd_mvcc_range_total');
  const waiting = valueOnceSet(client, 'wait-test/step');
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  await client.put('wait-test/step').value('done');
  expect(await waiting).toBe('done');
  // One read before the watch (and the metric's own scrape is no range): a poll every 10 ms made ~100.
  expect((await metric('etcd_mvcc_range_total')) - rangesBefore).toBeLessThan(5);
  // A key already there is answered by the read alone.
  expect(await valueOnceSet(client, 'wait-test/step')).toBe('done');

  const giveUp = new AbortController();
  const deleted = nextChange(client, 'wait-test/step', nextRevision((await client.get('wait-test/step').exec()).header.revision), 'delete', giveUp.signal);
  giveUp.abort(new Error('given up'));
  await expect(deleted).rejects.toThrow('given up');
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  expect(await watchers()).toBe(before);
});

it('a wait whose watch etcd cancelled (made again past a compacted revision) fails saying so, not at its timeout', async () => {
  const keys = runKeys('lost-test');
  const controller = await RunController.open(client, 'lost-test', ['a', 'b']);
  const began = Date.now();
  const waiting = controller.waitReady({ check: async () => {}, withoutProgressMs: 60_000 });
  waiting.catch(() => {});
  await client.put(`${keys.readyPrefix}a`).value(JSON.stringify({ id: 'a' }));
  // Changes elsewhere and a compaction past them, then a restart: each watch is made again from a revision gone.
  await new Promise((resolve) => setTimeout(resolve, 500));
  await client.put('lost-test-elsewhere').value('1');
  const { header } = await client.put('lost-test-elsewhere').value('2').exec();
  await client.kv.compact({ revision: header.revision });
  await etcd.restart();
  await expect(waiting).rejects.toThrow(/etcd cancelled the watch on \S+ from revision \d+: that revision was compacted away$/);
  expect(Date.now() - began).toBeLessThan(30_000);
  await controller.close();
}, 60_000);
