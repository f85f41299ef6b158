/**
 * The CLI's waits for a key (a move's steps) when etcd goes away: through a restart, or down when the wait
 * begins, a wait sees the change once etcd is back, even one made while its watch was being made again; an etcd
 * gone for longer than a call is retried fails the wait, naming the key, instead of leaving it waiting for ever.
 */
import type { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connectEtcd, followPrefixFrom, nextChange, nextRevision, valueOnceSet, type PrefixEvent } from '../../src/coordination/etcd.js';
import { startEtcd, type EtcdProcess } from '../etcd-process.js';

let etcd: EtcdProcess;

beforeAll(async () => {
  etcd = await startEtcd();
});

afterAll(async () => {
  await etcd?.stop();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** etcd's own count of the watchers it serves (a gauge of its Prometheus metrics). */
async function watchers(): Promise<number> {
  const metrics = await (await fetch(`${etcd.endpoint}/metrics`)).text();
  return Number(/^etcd_debugging_mvcc_watcher_total (\S+)$/m.exec(metrics)![1]);
}

/** A client of the test's etcd for `work`, closed after it whatever happens. */
async function withClient(work: (client: Etcd3) => Promise<void>): Promise<void> {
  const client = connectEtcd(etcd.endpoint);
  try {
    await work(client);
  } finally {
    client.close();
  }
}

async function revisionNow(client: Etcd3): Promise<string> {
  return (await client.get('any').exec()).header.revision;
}

it('a wait goes on through an etcd restart and sees a put made once etcd is back', async () => {
  await withClient(async (client) => {
    const waiting = valueOnceSet(client, 'restart-test/step');
    await sleep(500);
    expect(await watchers()).toBe(1);
    await etcd.restart();
    await client.put('restart-test/step').value('done');
    expect(await waiting).toBe('done');
  });
}, 60_000);

it('a wait that begins while etcd is down sees the put once etcd is back', async () => {
  await withClient(async (client) => {
    const from = nextRevision(await revisionNow(client));
    await etcd.kill();
    const read = valueOnceSet(client, 'down-test/read');
    const change = nextChange(client, 'down-test/change', from, 'put');
    await sleep(3_000);
    await etcd.start();
    await client.put('down-test/read').value('read');
    await client.put('down-test/change').value('changed');
    expect(await read).toBe('read');
    expect((await change).value.toString()).toBe('changed');
  });
}, 60_000);

it('a wait sees a put etcd had not yet sent it when its watch broke', async () => {
  await withClient(async (client) => {
    // Put after the revision the wait starts from: etcd sends it to the wait's watch up to 100 ms after confirming
    // the watch, as it does for a put made while a broken watch was being made again.
    const from = nextRevision(await revisionNow(client));
    await client.put('replay-test/step').value('done');
    const waiting = nextChange(client, 'replay-test/step', from, 'put');
    // etcd confirms watches one at a time, in order: once it has confirmed this one, it has just confirmed the
    // wait's, and etcd is killed before the put is on its way.
    await client.watch().key('replay-test/after').create();
    await etcd.restart();
    expect((await waiting).value.toString()).toBe('done');
  });
}, 30_000);

it('a prefix follower gets every change once, in order, through a restart that came before etcd had replayed them', async () => {
  const client = connectEtcd(etcd.endpoint);
  const seen: string[] = [];
  let stop: (() => Promise<void>) | undefined;
  try {
    // As for the wait above: changes after the follower's start revision that etcd had not replayed to its watch
    // when etcd went down (etcd3 had already moved its start past them), then one made once etcd is back.
    const from = nextRevision(await revisionNow(client));
    await client.put('follow-test/a').value('1');
    await client.put('follow-test/b').value('2');
    await client.delete().key('follow-test/a');
    stop = await followPrefixFrom(client, 'follow-test/', from, (event: PrefixEvent) => seen.push(`${event.type} ${event.name}`), (lost) => seen.push(`lost: ${lost.message}`));
    await client.watch().key('follow-test-after').create();
    await etcd.restart();
    await client.put('follow-test/c').value('3');
    for (let waited = 0; seen.length < 4 && waited < 20_000; waited += 100) await sleep(100);
    await sleep(500);
    expect(seen).toEqual(['put a', 'put b', 'delete a', 'put c']);
  } finally {
    await stop?.();
    client.close();
  }
}, 30_000);

it('a prefix follower made again past a revision etcd compacted away says that it lost its watch, and stops at once', async () => {
  const client = connectEtcd(etcd.endpoint);
  const seen: string[] = [];
  const lost: string[] = [];
  try {
    const stop = await followPrefixFrom(client, 'lost-test/', nextRevision(await revisionNow(client)), (event) => seen.push(`${event.type} ${event.name}`), (error) => lost.push(error.message));
    await client.put('lost-test/a').value('1');
    for (let waited = 0; seen.length < 1 && waited < 10_000; waited += 100) await sleep(100);
    // Changes elsewhere, then a compaction past them: the live watch is not touched, but the follower resumes
    // from the revision after `a`, which is gone once etcd restarts and the watch is made again.
    await client.put('lost-elsewhere').value('1');
    const { header } = await client.put('lost-elsewhere').value('2').exec();
    await client.kv.compact({ revision: header.revision });
    expect(lost).toEqual([]);
    // Another watch on the client keeps its stream up once etcd has cancelled the follower's (as in a run).
    await client.watch().key('lost-other').create();
    await etcd.restart();
    for (let waited = 0; lost.length < 1 && waited < 20_000; waited += 100) await sleep(100);
    expect(seen).toEqual(['put a']);
    expect(lost).toHaveLength(1);
    expect(lost[0]).toMatch(/^etcd cancelled the watch on lost-test\/ from revision \d+: that revision was compacted away$/);
    // Stopping it does not wait for an answer etcd will never send about a watch it cancelled.
    await expect(Promise.race([stop().then(() => 'stopped'), sleep(3_000).then(() => 'still waiting')])).resolves.toBe('stopped');
  } finally {
    client.close();
  }
}, 60_000);

it('a wait fails naming its key once etcd has not answered for 30 s, and leaves no watch behind', async () => {
  await withClient(async (client) => {
    const from = nextRevision(await revisionNow(client));
    await etcd.kill();
    await Promise.all([
      expect(nextChange(client, 'gone-test/change', from, 'put')).rejects.toThrow(
        /^gave up waiting for gone-test\/change: etcd did not answer for 30 s \(14 UNAVAILABLE: .*ECONNREFUSED/,
      ),
      // Its read is retried as long as any call, about half a minute.
      expect(valueOnceSet(client, 'gone-test/read')).rejects.toThrow(/^gave up waiting for gone-test\/read: etcd did not answer its read \(14 UNAVAILABLE: .*ECONNREFUSED/),
    ]);
    await etcd.start();
    // A watch left behind would be made again within etcd3's backoff (at most 5 s).
    await sleep(6_000);
    expect(await watchers()).toBe(0);
  });
}, 120_000);

it('a wait from a revision etcd compacted away fails naming its key', async () => {
  await withClient(async (client) => {
    const from = nextRevision(await revisionNow(client));
    await client.put('compact-test/other').value('1');
    const { header } = await client.put('compact-test/other').value('2').exec();
    await client.kv.compact({ revision: header.revision });
    await expect(nextChange(client, 'compact-test/step', from, 'put')).rejects.toThrow(/^gave up waiting for compact-test\/step: etcd cancelled its watch from revision \d+$/);
  });
}, 20_000);
