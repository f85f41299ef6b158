/**
 * etcd's own primitives in the SDK, on real Docker and the run's own etcd (with its authentication on):
 * compare-and-swap races between containers, a swap on a key nodes may not write refused, and leader election
 * through etcd's recipe when the leader's container is killed: the next candidate leads once the dead
 * leader's lease has run out, within the lease time, and never two at once.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IKeyValue } from 'etcd3';
import { runKeys } from '../../src/coordination/keys.js';
import { REGISTRATION_TTL_SECONDS } from '../../src/coordination/protocol.js';
import { connectDocker, NODE_LABEL, RUN_LABEL } from '../../src/docker/engine.js';
import { electionQueue } from '../../src/host/contention.js';
import { bringUp, runAlgorithm } from '../../src/run/run.js';
import type { Json } from '../../src/sdk/types.js';
import { packageRoot } from '../../src/util/paths.js';
import { leftovers } from './cli-helpers.js';

let resultsRoot: string;

beforeAll(async () => {
  resultsRoot = await mkdtemp(path.join(os.tmpdir(), 'peerlab-sdk-primitives-'));
});

afterAll(async () => {
  await rm(resultsRoot, { recursive: true, force: true });
});

describe('etcd primitives in node containers', () => {
  it('compare-and-swap: one creator among racing nodes, every increment counted once, control/stop refused', async () => {
    let runId = '';
    const summary = await runAlgorithm({
      algorithm: path.join(packageRoot, 'test', 'fixtures', 'cas-probe.ts'),
      params: ['increments=5'],
      topology: 'ring:n=5',
      seed: 1,
      allowDisconnected: false,
      timeoutMs: 120_000,
      resultsRoot,
      onRunId: (id) => (runId = id),
    });
    expect(summary.verdict).toBe(
      `1 creator(s); count 25 of 25; node 0's swap of control/stop: etcd refused to compare-and-swap ${runKeys(runId).stop}: permission denied (a node writes only the keys it reports into; config, topology and control are the CLI's)`,
    );
    expect(summary.passed).toBe(true);
    expect(await leftovers(runId)).toEqual({ containers: 0, networks: 0 });
  });

  it('leader election: docker kill of the leader moves leadership on within the lease time, never two leaders at once', async () => {
    const up = await bringUp({
      algorithm: path.join(packageRoot, 'algorithms', 'leader-election.ts'),
      params: ['durationMs=32000'],
      // No edges: the nodes coordinate through etcd only, so the kill breaks no overlay link.
      topology: 'er:n=6,p=0',
      seed: 1,
      allowDisconnected: true,
      timeoutMs: 120_000,
      resultsRoot,
    });
    const { etcd } = up.deployment;
    const keys = runKeys(up.runId);
    try {
      const results = new Map<string, Json | undefined>();
      const watcher = await etcd.watch().prefix(keys.resultsPrefix).create();
      const allButOne = new Promise<void>((resolve) =>
        watcher.on('put', (kv: IKeyValue) => {
          results.set(kv.key.toString().slice(keys.resultsPrefix.length), JSON.parse(kv.value.toString()) as Json);
          if (results.size === 5) resolve();
        }),
      );
      const startedAt = await up.deployment.controller.start();

      // The leader is the candidate with the lowest create revision; it writes its record once it leads.
      await waitFor(async () => (await etcd.get(keys.store('leader')).string()) !== null, 20_000);
      const queue = await etcd.getAll().prefix(keys.queuePrefix(electionQueue('leader'))).sort('Create', 'Ascend').keys();
      expect(queue).toHaveLength(6);
      const leader = queue[0]!.slice(keys.queuePrefix(electionQueue('leader')).length);
      expect(JSON.parse((await etcd.get(keys.store('leader')).string())!)).toMatchObject({ term: 1, leader });

      const docker = await connectDocker();
      const [container] = await docker.listContainers({ filters: { label: [`${RUN_LABEL}=${up.runId}`, `${NODE_LABEL}=${leader}`] } });
      const killedAtMs = Date.now() - startedAt;
      await docker.getContainer(container!.Id).kill();

      await Promise.race([allButOne, new Promise((_, reject) => setTimeout(() => reject(new Error(`only ${results.size} of 5 results`)), 60_000))]);
      await watcher.cancel();
      results.set(leader, undefined);
      // The algorithm file's own check, as the run would have judged it.
      const verdict = up.check!.oracle({ graph: up.topology.graph, params: up.groups[0]!.params as Record<string, Json>, results });
      console.log(`killed leader ${leader} at ${killedAtMs} ms; ${verdict.summary}`);
      expect(verdict.failures).toEqual([]);
      expect(verdict.passed).toBe(true);
      expect(verdict.metrics).toMatchObject({ terms: 2, failovers: 1 });
      const [first, second] = verdict.actual as Array<{ leader: string; since: number }>;
      expect(first!.leader).toBe(leader);
      expect(second!.leader).not.toBe(leader);
      // The dead leader's lease was renewed at most a third of its TTL before the kill, so it ran out between
      // two thirds of the TTL and the TTL after it (and etcd checks leases every 500 ms).
      expect(second!.since - killedAtMs).toBeGreaterThan((REGISTRATION_TTL_SECONDS * 1000 * 2) / 3 - 1_000);
      expect(second!.since - killedAtMs).toBeLessThan(REGISTRATION_TTL_SECONDS * 1000 + 1_500);
    } finally {
      await up.deployment.controller.close();
      etcd.close();
      await up.deployment.tearDown();
    }
    expect(await leftovers(up.runId)).toEqual({ containers: 0, networks: 0 });
  });
});

async function waitFor(condition: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !(await condition()); ) {
    if (Date.now() > deadline) throw new Error(`not so within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
