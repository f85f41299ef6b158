/**
 * The platform end to end on a real Docker engine and a real etcd: 30+ node containers, the registry, the
 * overlay, FIFO per edge, crash reporting, and that nothing of a run outlives it.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nonLoopbackAddress, startEtcd, type EtcdProcess } from '../etcd-process.js';
import { runKeys } from '../../src/coordination/keys.js';
import { FROM_METADATA, PeerClient } from '../../src/node/links.js';
import { bringUp, runAlgorithm, type RunRequest } from '../../src/run/run.js';
import { packageRoot } from '../../src/util/paths.js';
import { connectDocker, RUN_LABEL } from '../../src/docker/engine.js';
import { ensureNodeImage } from '../../src/image/node.js';
import { buildAgentBundle } from '../../src/node/bundle.js';
import { networkName, removeRunObjects } from '../../src/runtime/docker.js';
import { leftovers } from './cli-helpers.js';

const exec = promisify(execFile);
const fixtures = path.join(packageRoot, 'test', 'fixtures');
let resultsRoot: string;

function request(overrides: Partial<RunRequest>): RunRequest {
  return {
    algorithm: 'flood',
    params: [],
    topology: 'ba:n=30,m=2',
    seed: 7,
    weights: 'unique',
    allowDisconnected: false,
    timeoutMs: 60_000,
    resultsRoot,
    ...overrides,
  };
}

beforeAll(async () => {
  resultsRoot = await mkdtemp(path.join(os.tmpdir(), 'peerlab-results-'));
});

afterAll(async () => {
  await rm(resultsRoot, { recursive: true, force: true });
});

describe('peerlab run on Docker', () => {
  it('floods 30 containers, passes the BFS oracle, writes results and removes everything', async () => {
    let runId = '';
    const summary = await runAlgorithm(request({ onRunId: (id) => (runId = id) }));
    expect(summary.passed).toBe(true);
    expect(summary.nodes).toBe(30);
    expect(summary.edges).toBe(2 * (30 - 2));
    expect(summary.metrics.reached).toBe(30);
    const nodesCsv = await readFile(path.join(summary.resultsDir, 'nodes.csv'), 'utf8');
    expect(nodesCsv.trim().split('\n')).toHaveLength(31);
    const verify = JSON.parse(await readFile(path.join(summary.resultsDir, 'verify.json'), 'utf8'));
    expect(verify.passed).toBe(true);
    expect(await leftovers(runId)).toEqual({ containers: 0, networks: 0 });
  });

  it('reports the node that crashed during start-up with its log tail, and leaves nothing', async () => {
    let runId = '';
    await expect(
      // 60 nodes: node 3 dies while most are still being started, and none of those may be left behind.
      runAlgorithm(request({ algorithm: path.join(fixtures, 'crash-on-node-3.ts'), topology: 'ring:n=60', onRunId: (id) => (runId = id) })),
    ).rejects.toThrow(/node 3 exited[\s\S]*crashing on purpose/);
    expect(await leftovers(runId)).toEqual({ containers: 0, networks: 0 });
  });
});

describe('removing a run', () => {
  // A removal the engine refuses, for real: a file it cannot unlink in the container's folder (root, local engine).
  it('tries every container when one cannot be removed, says how many were left, and removes them on the next try', async (context) => {
    const docker = await connectDocker();
    const image = (await ensureNodeImage({ agentDir: await buildAgentBundle(), docker })).tag;
    const runId = `test-${randomBytes(4).toString('hex')}`;
    const created = await Promise.all([0, 1, 2].map(() => docker.createContainer({ Image: image, Labels: { [RUN_LABEL]: runId } })));
    const pin = path.join('/var/lib/docker/containers', created[0]!.id, 'pinned');
    try {
      await writeFile(pin, '');
      await exec('chattr', ['+i', pin]);
    } catch (error) {
      await removeRunObjects(docker, runId);
      return context.skip(`cannot pin a file in the engine's container folder (${String(error)})`);
    }
    try {
      await expect(removeRunObjects(docker, runId)).rejects.toThrow(/^1 of 3 containers of test-\w+ could not be removed: .*operation not permitted/);
      expect(await leftovers(runId)).toEqual({ containers: 1, networks: 0 });
    } finally {
      await exec('chattr', ['-i', pin]);
    }
    await removeRunObjects(docker, runId);
    expect(await leftovers(runId)).toEqual({ containers: 0, networks: 0 });
  });

  // Standing nodes that kept running through the one-at-a-time endpoint releases saturated a 1,000-node host.
  it('stops every process of the run before it releases the first endpoint', async () => {
    const docker = await connectDocker();
    const image = (await ensureNodeImage({ agentDir: await buildAgentBundle(), docker })).tag;
    const runId = `test-${randomBytes(4).toString('hex')}`;
    const seen = await mkdtemp(path.join(os.tmpdir(), 'peerlab-freeze-'));
    await chmod(seen, 0o777);
    const network = await docker.createNetwork({ Name: networkName(runId), Labels: { [RUN_LABEL]: runId } });
    // Each process writes, every 5 ms, whether its container still has its address on the run network (written
    // aside and renamed, so that a process stopped mid-write leaves its last whole answer).
    const watch = `const fs = require('node:fs'), os = require('node:os');
      setInterval(() => {
        fs.writeFileSync('/seen/.' + os.hostname(), String('eth0' in os.networkInterfaces()));
        fs.renameSync('/seen/.' + os.hostname(), '/seen/' + os.hostname());
      }, 5);`;
    const names = ['a', 'b', 'c', 'd'];
    await Promise.all(
      names.map(async (name) => {
        const container = await docker.createContainer({
          Image: image,
          Hostname: name,
          Entrypoint: ['node', '-e', watch],
          Labels: { [RUN_LABEL]: runId },
          HostConfig: { NetworkMode: network.id, Binds: [`${seen}:/seen`] },
        });
        await container.start();
      }),
    );
    try {
      await expect.poll(async () => (await readdir(seen)).filter((file) => !file.startsWith('.')).length, { timeout: 10_000 }).toBe(names.length);
      await removeRunObjects(docker, runId);
      expect(await leftovers(runId)).toEqual({ containers: 0, networks: 0 });
      // Had any process run on after the first release, it would have written `false` (it lost its address).
      for (const name of names) expect(await readFile(path.join(seen, name), 'utf8'), name).toBe('true');
    } finally {
      await removeRunObjects(docker, runId);
      await rm(seen, { recursive: true, force: true });
    }
  });
});

describe('a standing run with an external etcd', () => {
  let etcd: EtcdProcess;
  let endpoint: string;

  beforeAll(async () => {
    etcd = await startEtcd(nonLoopbackAddress());
    endpoint = etcd.endpoint;
  });

  afterAll(async () => {
    await etcd?.stop();
  });

  it('registers every node under a lease, enforces the overlay, keeps FIFO order, and cleans up keys and containers', async () => {
    const up = await bringUp(request({ algorithm: path.join(fixtures, 'fifo-probe.ts'), topology: 'ba:n=32,m=3', etcdEndpoints: [endpoint] }));
    const { deployment, runId, topology } = up;
    const keys = runKeys(runId);
    const etcd = new Etcd3({ hosts: endpoint });
    try {
      // The registry: one key per node, each held by a lease.
      const registered = await etcd.getAll().prefix(keys.nodesPrefix).exec();
      expect(registered.kvs).toHaveLength(32);
      expect(registered.kvs.every((kv) => kv.lease !== '0')).toBe(true);

      // The overlay: a link from a non-neighbour, or from a neighbour's id at the wrong address, is refused.
      const node0 = JSON.parse((await etcd.get(keys.node('0')).string())!) as { address: string; port: number };
      const neighbourOf0 = topology.graph.neighbors('0')[0]!;
      const stranger = topology.graph.nodes().find((id) => id !== '0' && !topology.graph.hasEdge('0', id))!;
      expect(await linkFrom(stranger, `${node0.address}:${node0.port}`)).toBe(grpc.status.PERMISSION_DENIED);
      expect(await linkFrom(neighbourOf0, `${node0.address}:${node0.port}`)).toBe(grpc.status.PERMISSION_DENIED);

      // FIFO per edge: 200 numbered messages on every directed edge arrive in order.
      await deployment.controller.start(0);
      const collected = await deployment.controller.collectResults({ timeoutMs: 60_000, check: async () => {} });
      expect(collected.results.size).toBe(32);
      for (const [id, result] of collected.results) {
        expect(result, `node ${id}`).toEqual({ outOfOrder: 0, received: 200 * topology.graph.degree(id) });
      }

      // A node that dies disappears from the registry when its lease runs out.
      await deployment.runtime.killNode('5');
      await expect.poll(async () => etcd.get(keys.node('5')).string(), { timeout: 45_000, interval: 500 }).toBeNull();
    } finally {
      await deployment.tearDown();
    }
    expect(await etcd.getAll().prefix(keys.prefix).keys()).toEqual([]);
    etcd.close();
    expect(await leftovers(runId)).toEqual({ containers: 0, networks: 0 });
  });
});

/** Opens a Link to a node claiming to be `from`, sends one envelope, and returns the gRPC status it ends with. */
async function linkFrom(from: string, address: string): Promise<grpc.status> {
  const client = new PeerClient(address, grpc.credentials.createInsecure());
  const metadata = new grpc.Metadata();
  metadata.set(FROM_METADATA, from);
  try {
    return await new Promise<grpc.status>((resolve) => {
      const call = client.link(metadata, (error) => resolve(error ? (error.code as grpc.status) : grpc.status.OK));
      call.write({ payload: '{"intruder":true}' });
      call.end();
    });
  } finally {
    client.close();
  }
}
