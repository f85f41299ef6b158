/**
 * The node agent's etcd client against a real etcd: reads, writes, waits that see changes made after they
 * began, leases that are renewed or expire, and a clear failure when etcd is not there.
 */
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runKeys } from '../../src/coordination/keys.js';
import { enableRunAuth, NODE_USER, type RunCredentials } from '../../src/etcd/auth.js';
import { EtcdClient } from '../../src/node/etcd-client.js';
import { startEtcd, type EtcdProcess } from '../etcd-process.js';

let etcd: EtcdProcess;
let reference: Etcd3;
let nodeClient: EtcdClient;

beforeAll(async () => {
  etcd = await startEtcd();
  reference = new Etcd3({ hosts: etcd.endpoint });
  nodeClient = new EtcdClient([etcd.endpoint]);
});

/** etcd's own count of open watch streams (all clients). */
async function watchStreams(): Promise<number> {
  const metrics = await (await fetch(`${etcd.endpoint}/metrics`)).text();
  return Number(/^etcd_debugging_mvcc_watch_stream_total (\d+)/m.exec(metrics)?.[1]);
}

afterAll(async () => {
  nodeClient?.close();
  reference?.close();
  await etcd?.stop();
});

describe('EtcdClient', () => {
  it('reads what etcd3 wrote and writes what etcd3 reads, including unicode and deletes', async () => {
    await reference.put('/t/a').value('héllo → 1');
    expect((await nodeClient.get('/t/a')).value).toBe('héllo → 1');
    expect((await nodeClient.get('/t/missing')).value).toBeUndefined();
    await nodeClient.put('/t/b', '{"x":[1,2]}');
    expect(await reference.get('/t/b').string()).toBe('{"x":[1,2]}');
    await nodeClient.delete('/t/b');
    expect(await reference.get('/t/b').string()).toBeNull();
  });

  it('lists the keys under a prefix, and only those', async () => {
    for (const [key, value] of [['/p/a/1', 'one'], ['/p/a/2', 'two'], ['/p/ab', 'not under /p/a/'], ['/p/b/1', 'nor this']]) await reference.put(key!).value(value!);
    expect(await nodeClient.getPrefix('/p/a/')).toEqual([
      { key: '/p/a/1', value: 'one' },
      { key: '/p/a/2', value: 'two' },
    ]);
    expect(await nodeClient.getPrefix('/p/none/')).toEqual([]);
  });

  it('waits for keys written later, several at once, and for deletes', async () => {
    const waits = ['/w/1', '/w/2', '/w/3'].map((key) => nodeClient.waitFor(key));
    await new Promise((resolve) => setTimeout(resolve, 200));
    await reference.put('/w/2').value('two');
    await reference.put('/w/1').value('one');
    await reference.put('/w/3').value('three');
    expect(await Promise.all(waits)).toEqual(['one', 'two', 'three']);
    expect(await nodeClient.waitFor('/w/1')).toBe('one');

    const deleted = nodeClient.waitForDelete('/w/2');
    let settled = false;
    void deleted.then(() => (settled = true));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(settled).toBe(false);
    await reference.delete().key('/w/2');
    await deleted;
  });

  it('reads several keys in one transaction, and waits for each one missing from it', async () => {
    await reference.put('/e/1').value('one');
    expect(await nodeClient.getAll(['/e/1', '/e/2'])).toMatchObject({ values: ['one', undefined] });
    const waits = nodeClient.waitForEach(['/e/1', '/e/2', '/e/3']);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await reference.put('/e/3').value('three');
    await reference.put('/e/2').value('two');
    expect(await Promise.all(waits)).toEqual(['one', 'two', 'three']);
    expect(nodeClient.waitForEach([])).toEqual([]);
  });

  it('binds keys to a lease that keep-alive renews and that expires without it', async () => {
    const lease = await nodeClient.grantLease(2);
    await nodeClient.put('/l/renewed', 'x', lease);
    for (let i = 0; i < 4; i++) {
      await new Promise((resolve) => setTimeout(resolve, 700));
      expect(await nodeClient.keepAlive(lease)).toBeGreaterThan(0);
    }
    expect((await nodeClient.get('/l/renewed')).value).toBe('x');
    await new Promise((resolve) => setTimeout(resolve, 3_500));
    expect((await nodeClient.get('/l/renewed')).value).toBeUndefined();
    expect(await nodeClient.keepAlive(lease)).toBe(0);
  });

  it('gives the shared store of the SDK, confined to its prefix', async () => {
    const store = nodeClient.store((key) => `/s/${key}`);
    const later = store.waitFor('k');
    await store.put('k', 'v');
    expect(await later).toBe('v');
    expect(await reference.get('/s/k').string()).toBe('v');
    await store.delete('k');
    expect(await store.get('k')).toBeUndefined();
  });

  it('keeps every watch on one stream, and a stopped watch hears nothing more', async () => {
    const streamsBefore = await watchStreams();
    expect(streamsBefore).toBeGreaterThanOrEqual(0); // a number: etcd still exports the gauge
    const client = new EtcdClient([etcd.endpoint]);
    try {
      const heard: string[] = [];
      const stops = await Promise.all(['/m/a/', '/m/b/'].map((prefix) => client.watchPrefix(prefix, (event) => heard.push(event.key), () => {})));
      const waits = Array.from({ length: 20 }, (_, index) => client.waitFor(`/m/key/${index}`));
      await new Promise((resolve) => setTimeout(resolve, 300));
      // 22 watches, one stream (the JSON nodeClient held a connection, and a stream, for each).
      expect(await watchStreams()).toBe(streamsBefore + 1);
      stops[1]!();
      for (let index = 0; index < 20; index++) await reference.put(`/m/key/${index}`).value(String(index));
      await reference.put('/m/a/1').value('x');
      await reference.put('/m/b/1').value('x');
      expect(await Promise.all(waits)).toEqual(Array.from({ length: 20 }, (_, index) => String(index)));
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(heard).toEqual(['/m/a/1']);
      stops[0]!();
    } finally {
      client.close();
    }
  });

  it('watches again after etcd restarts, missing nothing written while it was away', async () => {
    const client = new EtcdClient([etcd.endpoint]);
    try {
      const heard: string[] = [];
      const stop = await client.watchPrefix('/r/', (event) => heard.push(`${event.type} ${event.key}=${event.value}`), () => {});
      await reference.put('/r/1').value('before');
      await vi.waitFor(() => expect(heard).toEqual(['put /r/1=before']), { timeout: 5_000 });
      const lease = await client.grantLease(60);
      await etcd.restart();
      // Written by another client before this one's stream is back: the watch is made again from its next revision.
      await reference.put('/r/2').value('while away');
      await reference.delete().key('/r/1');
      await vi.waitFor(() => expect(heard).toEqual(['put /r/1=before', 'put /r/2=while away', 'delete /r/1=']), { timeout: 20_000 });
      // Calls and lease renewals reach the restarted etcd on a new connection.
      expect((await client.get('/r/2')).value).toBe('while away');
      await vi.waitFor(async () => expect(await client.keepAlive(lease)).toBeGreaterThan(0), { timeout: 20_000, interval: 500 });
      stop();
    } finally {
      client.close();
    }
  }, 60_000);

  it('refuses a watch made again after a break from a revision etcd compacted away meanwhile, instead of skipping what changed', async () => {
    const client = new EtcdClient([etcd.endpoint]);
    try {
      const heard: string[] = [];
      const refused: string[] = [];
      const stop = await client.followPrefix('/lost/', (event) => heard.push(`${event.type} ${event.key}`), (reason) => refused.push(reason));
      // Another watch keeps the client's stream in use, as a node's other watches do.
      const other = await client.watchPrefix('/lost-other/', () => {}, () => {});
      await reference.put('/lost/a').value('1');
      await vi.waitFor(() => expect(heard).toEqual(['put /lost/a']), { timeout: 5_000 });
      // Changes elsewhere, and a compaction past them: the live watch resumes from the revision after /lost/a.
      await reference.put('/lost-elsewhere').value('1');
      const { header } = await reference.put('/lost-elsewhere').value('2').exec();
      await reference.kv.compact({ revision: header.revision });
      await etcd.restart();
      await vi.waitFor(() => expect(refused).toHaveLength(1), { timeout: 20_000 });
      expect(refused[0]).toMatch(/^revision \d+ was compacted away \(etcd keeps \d+ on\), and the changes since with it$/);
      await reference.put('/lost/b').value('2');
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(heard).toEqual(['put /lost/a']);
      stop();
      other();
    } finally {
      client.close();
    }
  }, 60_000);

  it('fails a call to an endpoint that is not etcd with the endpoint in the message', async () => {
    // Two attempts, not the half minute a node gives etcd: the message is the same.
    const nowhere = new EtcdClient(['http://127.0.0.1:1'], undefined, { attempts: 2, firstDelayMs: 100, maxDelayMs: 100 });
    await expect(nowhere.get('/x')).rejects.toThrow(/127\.0\.0\.1:1/);
    nowhere.close();
  });
});

describe('EtcdClient on a run etcd with authentication', () => {
  const runId = 'auth-test';
  const keys = runKeys(runId);
  let secured: EtcdProcess;
  let root: Etcd3;
  let node: EtcdClient;
  let credentials: RunCredentials;

  beforeAll(async () => {
    // Tokens that expire after 2 s, so that the test sees the nodeClient log in again.
    secured = await startEtcd('127.0.0.1', ['--auth-token-ttl', '2', '--bcrypt-cost', '4']);
    const open = new Etcd3({ hosts: secured.endpoint });
    credentials = await enableRunAuth(open, runId);
    open.close();
    root = new Etcd3({ hosts: secured.endpoint, auth: credentials.root });
    node = new EtcdClient([secured.endpoint], credentials.node);
  });

  afterAll(async () => {
    node?.close();
    root?.close();
    await secured?.stop();
  });

  it('lets a node read the run and write what nodes report, and nothing else', async () => {
    await root.put(keys.config).value('{"size":1}');
    expect((await node.get(keys.config)).value).toBe('{"size":1}');
    await node.put(keys.result('1'), '42');
    await node.put(keys.barrierArrival('b', '1'), '1');
    await node.store((key) => keys.store(key)).put('k', 'v');
    expect(await root.get(keys.result('1')).string()).toBe('42');
    for (const key of [keys.stop, keys.start, keys.config, keys.topology('1'), keys.barrierOpen('b'), '/peerlab/other-run/results/1']) {
      await expect(node.put(key, 'x'), key).rejects.toThrow(new RegExp(`etcd refused to write ${key}: permission denied`));
    }
    await expect(node.get('/peerlab/other-run/config')).rejects.toThrow(/permission denied|HTTP 403/);
  });

  it('refuses anyone without a login', async () => {
    const anonymous = new EtcdClient([secured.endpoint]);
    await expect(anonymous.put(keys.stop, 'x')).rejects.toThrow(/user name is empty/);
    anonymous.close();
    const wrong = new EtcdClient([secured.endpoint], { username: NODE_USER, password: 'guess' });
    await expect(wrong.get(keys.config)).rejects.toThrow(/authentication failed/);
    wrong.close();
  });

  it('logs in again when its token expires, for calls and for watches', async () => {
    await node.put(keys.result('2'), 'before');
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    await node.put(keys.result('2'), 'after the token expired');
    expect(await root.get(keys.result('2')).string()).toBe('after the token expired');

    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const stop = node.waitFor(keys.stop);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await root.put(keys.stop).value('now');
    expect(await stop).toBe('now');
  });

  it('uses the token it was given, and logs in with its password once etcd no longer knows that token', async () => {
    const given = new EtcdClient([secured.endpoint], { ...credentials.node, token: credentials.node.token });
    await given.put(keys.result('3'), 'with the shared token');
    given.close();
    const stale = new EtcdClient([secured.endpoint], { ...credentials.node, token: 'not-a-token.1' });
    await stale.put(keys.result('3'), 'after logging in again');
    stale.close();
    expect(await root.get(keys.result('3')).string()).toBe('after logging in again');
  });

  it('fails a watch that the role may not read, instead of waiting for ever', async () => {
    await expect(node.waitFor('/peerlab/other-run/control/stop')).rejects.toThrow(/permission denied/);
  });
});
