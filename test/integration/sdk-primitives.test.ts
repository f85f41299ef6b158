/**
 * etcd's own primitives in the SDK, on real Docker and the run's own etcd (with its authentication on):
 * compare-and-swap races between containers, a swap on a key nodes may not write refused, and leader election
 * through etcd's recipe when the leader's container is killed: the next candidate leads once the dead
 * leader's lease has run out, within the lease time, and never two at once. And membership events: the
 * heartbeat detector's neighbours hear of a stopped node at once and of a killed one when its lease runs out.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IKeyValue } from 'etcd3';
import { electionQueue, runKeys } from '../../src/coordination/keys.js';
import { REGISTRATION_TTL_SECONDS } from '../../src/coordination/protocol.js';
import { connectDocker, NODE_LABEL, RUN_LABEL } from '../../src/docker/engine.js';
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

  it('leader election: after docker kill of the leader a new one leads within the lease time, after docker stop at once; never two at once', async () => {
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
      const { results, startedAt, containerOf, collected } = await startCollecting(up, 4);

      /** The leader's record in the store once term `term` has begun. */
      const termBegun = async (term: number): Promise<{ leader: string; since: number }> => {
        let record: { term: number; leader: string; since: number } | undefined;
        await waitFor(async () => {
          const text = await etcd.get(keys.store(`leader-${term}`)).string();
          record = text === null ? undefined : (JSON.parse(text) as typeof record);
          return record !== undefined;
        }, 30_000);
        return record!;
      };

      // The leader is the candidate with the lowest create revision.
      const { leader } = await termBegun(1);
      // The first candidate can lead before the slowest node has even started: wait for all six to queue.
      let queue: string[] = [];
      await waitFor(async () => {
        queue = await etcd.getAll().prefix(keys.queuePrefix(electionQueue('leader'))).sort('Create', 'Ascend').keys();
        return queue.length === 6;
      }, 30_000);
      expect(queue).toHaveLength(6);
      expect(queue[0]!.slice(keys.queuePrefix(electionQueue('leader')).length)).toBe(leader);
      const killedAtMs = Date.now() - startedAt;
      await (await containerOf(leader)).kill();

      const second = await termBegun(2);
      expect(second.leader).not.toBe(leader);
      // A graceful stop (SIGTERM) revokes the node's lease: the next candidate leads at once, not a TTL later.
      const stoppedAtMs = Date.now() - startedAt;
      const stopped = await containerOf(second.leader);
      await stopped.stop({ t: 10 });
      const third = await termBegun(3);
      expect((await stopped.inspect()).State.ExitCode).toBe(0);

      await collected();
      results.set(leader, undefined);
      results.set(second.leader, undefined);
      // The algorithm file's own check, as the run would have judged it.
      const verdict = up.check!.oracle({ graph: up.topology.graph, params: up.groups[0]!.params as Record<string, Json>, results });
      console.log(`killed leader ${leader} at ${killedAtMs} ms, stopped leader ${second.leader} at ${stoppedAtMs} ms; ${verdict.summary}`);
      expect(verdict.failures).toEqual([]);
      expect(verdict.passed).toBe(true);
      expect(verdict.metrics).toMatchObject({ terms: 3, failovers: 2 });
      expect((verdict.actual as Array<{ leader: string }>).map((term) => term.leader)).toEqual([leader, second.leader, third.leader]);
      // The dead leader's lease was renewed at most a third of its TTL before the kill, so it ran out between
      // two thirds of the TTL and the TTL after it (and etcd checks leases every 500 ms).
      expect(second.since - killedAtMs).toBeGreaterThan((REGISTRATION_TTL_SECONDS * 1000 * 2) / 3 - 1_000);
      expect(second.since - killedAtMs).toBeLessThan(REGISTRATION_TTL_SECONDS * 1000 + 1_500);
      expect(third.since - stoppedAtMs).toBeLessThan(2_000);
    } finally {
      await up.deployment.controller.close();
      etcd.close();
      await up.deployment.tearDown();
    }
    expect(await leftovers(up.runId)).toEqual({ containers: 0, networks: 0 });
  });
});

describe('membership events in node containers', () => {
  it('tells the neighbours of a stopped node at once (left), of a killed one when its lease runs out, and the detector passes its check', async () => {
    const up = await bringUp({
      algorithm: path.join(packageRoot, 'algorithms', 'heartbeat-detector.ts'),
      params: ['durationMs=30000'],
      topology: 'ring:n=6',
      seed: 1,
      allowDisconnected: false,
      timeoutMs: 120_000,
      resultsRoot,
    });
    try {
      const { results, startedAt, containerOf, collected } = await startCollecting(up, 4);
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      const [toStop, toKill] = await Promise.all([containerOf('1'), containerOf('4')]);
      const stoppedAtMs = Date.now() - startedAt;
      await toStop.stop({ t: 10 });
      const killedAtMs = Date.now() - startedAt;
      await toKill.kill();

      await collected();
      results.set('1', undefined);
      results.set('4', undefined);
      const downAt = (node: string) => (results.get(node) as { down: Array<[string, number, string]> }).down;
      for (const node of ['0', '2']) {
        const [[id, at, reason]] = downAt(node) as [[string, number, string]];
        expect([id, reason]).toEqual(['1', 'left']);
        expect(at - stoppedAtMs).toBeLessThan(2_000);
      }
      const ttlMs = REGISTRATION_TTL_SECONDS * 1000;
      for (const node of ['3', '5']) {
        const [[id, at, reason]] = downAt(node) as [[string, number, string]];
        expect([id, reason]).toEqual(['4', 'lease-expired']);
        expect(at - killedAtMs).toBeGreaterThan((ttlMs * 2) / 3 - 1_000);
        expect(at - killedAtMs).toBeLessThan(ttlMs + 1_500);
      }
      const verdict = up.check!.oracle({ graph: up.topology.graph, params: up.groups[0]!.params as Record<string, Json>, results });
      console.log(`stopped 1 at ${stoppedAtMs} ms, killed 4 at ${killedAtMs} ms; ${verdict.summary}`);
      expect(verdict.failures).toEqual([]);
      expect(verdict.metrics).toMatchObject({ crashed: 2, detections: 4 });
    } finally {
      await up.deployment.controller.close();
      up.deployment.etcd.close();
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

/**
 * Starts a run that is up and collects the results its nodes write: `collected()` resolves once `count` have
 * arrived (and fails after a minute, naming how many did). `containerOf` finds a node's container, to kill it.
 */
async function startCollecting(up: Awaited<ReturnType<typeof bringUp>>, count: number) {
  const keys = runKeys(up.runId);
  const results = new Map<string, Json | undefined>();
  const watcher = await up.deployment.etcd.watch().prefix(keys.resultsPrefix).create();
  const arrived = new Promise<void>((resolve) =>
    watcher.on('put', (kv: IKeyValue) => {
      results.set(kv.key.toString().slice(keys.resultsPrefix.length), JSON.parse(kv.value.toString()) as Json);
      if (results.size === count) resolve();
    }),
  );
  const startedAt = await up.deployment.controller.start(0);
  const docker = await connectDocker();
  return {
    results,
    startedAt,
    containerOf: async (node: string) => {
      const [container] = await docker.listContainers({ filters: { label: [`${RUN_LABEL}=${up.runId}`, `${NODE_LABEL}=${node}`] } });
      return docker.getContainer(container!.Id);
    },
    collected: async () => {
      await Promise.race([arrived, new Promise((_, reject) => setTimeout(() => reject(new Error(`only ${results.size} of ${count} results`)), 60_000))]);
      await watcher.cancel();
    },
  };
}
