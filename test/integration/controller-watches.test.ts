/**
 * The controller's waits leave no etcd watch behind. A wait that the keys already there complete (every node
 * was ready before the wait began) used to leave its watch running: it was created after the wait had ended, was
 * never cancelled, and its client's retries kept the CLI from exiting once the run's etcd was gone.
 */
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { RunController } from '../../src/run/controller.js';
import { runKeys } from '../../src/coordination/keys.js';
import { startEtcd, type EtcdProcess } from '../etcd-process.js';

let etcd: EtcdProcess;

beforeAll(async () => {
  etcd = await startEtcd();
});

afterAll(async () => {
  await etcd?.stop();
});

/** etcd's own count of the watchers it serves (a gauge of its Prometheus metrics). */
async function watchers(): Promise<number> {
  const metrics = await (await fetch(`${etcd.endpoint}/metrics`)).text();
  const line = /^etcd_debugging_mvcc_watcher_total (\S+)$/m.exec(metrics);
  if (!line) throw new Error('etcd reports no etcd_debugging_mvcc_watcher_total');
  return Number(line[1]);
}

it('a wait that the keys already there complete cancels its watch', async () => {
  const client = new Etcd3({ hosts: etcd.endpoint });
  try {
    const keys = runKeys('watch-test');
    for (const id of ['a', 'b']) await client.put(`${keys.readyPrefix}${id}`).value(JSON.stringify({ id }));
    const before = await watchers();
    const controller = await RunController.open(client, 'watch-test', ['a', 'b']);
    const ready = await controller.waitReady({ check: async () => {}, timeoutMs: 10_000 });
    expect([...ready.keys()].sort()).toEqual(['a', 'b']);
    await controller.close();
    // The leaked watch was created a moment after the wait ended: give it that moment to show.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(await watchers()).toBe(before);
  } finally {
    client.close();
  }
});
