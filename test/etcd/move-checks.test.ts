/**
 * What a move says when it is asked for too early, on a real etcd: in the first moments of a bring-up the run's
 * etcd is up but its topology is not published yet, and `peerlab migrate` said "has no node 3" (seen in CI, where
 * migration-robust.test.ts retries a move only while the run is still in bring-up).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connectEtcd } from '../../src/coordination/etcd.js';
import { runKeys } from '../../src/coordination/keys.js';
import { moveNode } from '../../src/migration/move.js';
import type { SuccessorNodes } from '../../src/runtime/types.js';
import { startEtcd, type EtcdProcess } from '../etcd-process.js';

let etcd: EtcdProcess;
beforeAll(async () => {
  etcd = await startEtcd();
});
afterAll(async () => {
  await etcd?.stop();
});

/** The checks come before anything touches the containers: a move that reached them would fail this test. */
const noContainers = new Proxy({} as SuccessorNodes, {
  get: (_target, name) => {
    throw new Error(`the move reached the runtime (${String(name)}) before its checks`);
  },
});

it('a move asked for before the topology is published is told the run is still in bring-up; once it is, an unknown node is named', async () => {
  const client = connectEtcd(etcd.endpoint);
  try {
    const runId = 'checks-run';
    await expect(moveNode(noContainers, client, { runId, nodeId: '3', kind: 'migrate' })).rejects.toThrow(/^run checks-run is still in bring-up/);
    await client.put(runKeys(runId).topology('0')).value('[]');
    await expect(moveNode(noContainers, client, { runId, nodeId: '3', kind: 'migrate' })).rejects.toThrow(/^run checks-run has no node 3$/);
  } finally {
    client.close();
  }
});
