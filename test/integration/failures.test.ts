/**
 * What goes wrong during a real Docker run is blamed where it belongs, fast: a node killed, a node out of
 * memory, etcd stopped or frozen. And the run's etcd lets in only its own logins, with the rights they need.
 */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runKeys } from '../../src/coordination/keys.js';
import { connectDocker } from '../../src/docker/engine.js';
import { etcdContainerName } from '../../src/etcd/server.js';
import { runStateDir } from '../../src/run/state.js';
import { runStatus } from '../../src/run/status.js';
import { bringUp, runAlgorithm, type RunRequest } from '../../src/run/run.js';
import type { Stage } from '../../src/run/docker-deployment.js';
import { nodeContainerName } from '../../src/runtime/docker.js';
import { packageRoot } from '../../src/util/paths.js';
import { leftovers } from './cli-helpers.js';

const fixtures = path.join(packageRoot, 'test', 'fixtures');
let resultsRoot: string;

function request(overrides: Partial<RunRequest>): RunRequest {
  return {
    algorithm: path.join(fixtures, 'tick-forever.ts'),
    params: [],
    topology: 'ba:n=12,m=2',
    seed: 7,
    weights: 'unique',
    allowDisconnected: false,
    timeoutMs: 120_000,
    resultsRoot,
    ...overrides,
  };
}

/**
 * Runs `request`, does `act` to the run once it is running, and returns the error the run failed with, how
 * long after `act` began the run knew (when it began tearing down), and how long until it had torn down and ended.
 */
async function failDuring(
  overrides: Partial<RunRequest>,
  act: (runId: string) => Promise<void>,
): Promise<{ error: Error; knownAfterMs: number; endedAfterMs: number; runId: string }> {
  let runId = '';
  let actedAt = 0;
  let tornDownAt = 0;
  let acting: Promise<void> = Promise.resolve();
  const onStage = (stage: Stage): void => {
    if (stage === 'running') {
      acting = new Promise((resolve) => setTimeout(resolve, 1_000)).then(() => {
        actedAt = Date.now();
        return act(runId);
      });
    }
    if (stage === 'tearing down') tornDownAt = Date.now();
  };
  const error = await runAlgorithm(request({ ...overrides, onRunId: (id) => (runId = id), onStage })).then(
    () => new Error('the run passed'),
    (failure: Error) => failure,
  );
  const endedAt = Date.now();
  await acting;
  return { error, knownAfterMs: tornDownAt - actedAt, endedAfterMs: endedAt - actedAt, runId };
}

beforeAll(async () => {
  resultsRoot = await mkdtemp(path.join(os.tmpdir(), 'peerlab-results-'));
});

afterAll(async () => {
  await rm(resultsRoot, { recursive: true, force: true });
});

describe('a node that dies mid-run is named, with how it died', () => {
  it('docker kill of node 5: the run fails within 5 s naming node 5 and "killed", not a neighbour', async () => {
    const docker = await connectDocker();
    const { error, knownAfterMs, runId } = await failDuring({}, async (id) => {
      await docker.getContainer(nodeContainerName(id, '5')).kill();
    });
    expect(error.message).toMatch(/^node 5 was killed \(SIGKILL, exit code 137\) during the run; (its last log lines:|it logged nothing)/);
    expect(knownAfterMs).toBeLessThan(5_000);
    const failure = JSON.parse(await readFile(path.join(resultsRoot, runId, 'error.json'), 'utf8')) as { node: string };
    expect(failure.node).toBe('5');
    expect(await leftovers(runId)).toEqual({ containers: 0, networks: 0 });
  });

  it('a node that runs out of memory is named as OOM-killed, with its limit', async () => {
    let runId = '';
    const error = await runAlgorithm(request({ algorithm: path.join(fixtures, 'oom-on-node-3.ts'), onRunId: (id) => (runId = id) })).then(
      () => new Error('the run passed'),
      (failure: Error) => failure,
    );
    expect(error.message).toMatch(/^node 3 ran out of memory and was killed by the kernel \(OOM-killed, exit code 137\) \(its limit is 64 MiB/);
    expect(await leftovers(runId)).toEqual({ containers: 0, networks: 0 });
  });
});

describe('a lost etcd ends the run within 10 s, in one line', () => {
  it('etcd stopped mid-run', async () => {
    const docker = await connectDocker();
    const { error, knownAfterMs, runId } = await failDuring({}, async (id) => {
      await docker.getContainer(etcdContainerName(id)).stop({ t: 1 });
    });
    expect(error.message).toMatch(/^etcd exited with code \d+ during the run \(container peerlab-.*-etcd\): the run cannot go on$/);
    expect(knownAfterMs).toBeLessThan(10_000);
    expect(await leftovers(runId)).toEqual({ containers: 0, networks: 0 });
  });

  it('etcd frozen mid-run (paused: up, but not answering)', async () => {
    const docker = await connectDocker();
    const { error, knownAfterMs, endedAfterMs, runId } = await failDuring({}, async (id) => {
      await docker.getContainer(etcdContainerName(id)).pause();
    });
    expect(error.message).toMatch(/^etcd at http:\/\/127\.0\.0\.1:\d+ has not answered for \d+ s .*: the run cannot go on$/);
    expect(knownAfterMs).toBeLessThan(10_000);
    // Teardown asks etcd nothing it must wait for: revoking the CLI's lease once took 160 s against a paused etcd.
    expect(endedAfterMs).toBeLessThan(30_000);
    expect(await leftovers(runId)).toEqual({ containers: 0, networks: 0 });
  });
});

describe("a run's etcd lets in only its own logins", () => {
  it('refuses a client without credentials, over gRPC and the JSON gateway; root (the password in the state folder, 0600) may write', async () => {
    const docker = await connectDocker();
    const up = await bringUp(request({ topology: 'ring:n=4' }));
    try {
      const status = await runStatus(docker, up.runId);
      expect(status.etcd.registered).toBe(4);
      const endpoint = status.etcd.endpoint!;
      const stop = runKeys(up.runId).stop;
      // Any local user can reach the published port, with the etcd3 client (what etcdctl speaks) or with curl.
      const anonymous = new Etcd3({ hosts: endpoint, dialTimeout: 2000 });
      try {
        await expect(anonymous.put(stop).value('x')).rejects.toThrow(/user name is empty/);
      } finally {
        anonymous.close();
      }
      const gateway = await fetch(`${endpoint}/v3/kv/put`, {
        method: 'POST',
        body: JSON.stringify({ key: Buffer.from(stop).toString('base64'), value: Buffer.from('x').toString('base64') }),
      });
      expect(gateway.ok).toBe(false);
      expect(await gateway.text()).toMatch(/user name is empty/);

      const passwordFile = path.join(runStateDir(up.runId), 'etcd-root-password');
      expect((await stat(passwordFile)).mode & 0o777).toBe(0o600);
      const password = await readFile(passwordFile, 'utf8');
      const root = new Etcd3({ hosts: endpoint, dialTimeout: 2000, auth: { username: 'root', password } });
      try {
        await root.put(`${runKeys(up.runId).prefix}probe`).value('x');
        expect(await root.get(`${runKeys(up.runId).prefix}probe`).string()).toBe('x');
      } finally {
        root.close();
      }

      const [etcd] = await docker.listContainers({ filters: { name: [etcdContainerName(up.runId)] } });
      const inspected = await docker.getContainer(etcd!.Id).inspect();
      expect(inspected.Config.User).toBe('65534:65534');
      expect(inspected.HostConfig.Memory).toBeGreaterThan(0);
      expect(inspected.HostConfig.PidsLimit).toBeGreaterThan(0);
    } finally {
      await up.deployment.controller.close();
      up.deployment.etcd.close();
      await up.deployment.tearDown();
    }
  });

  it("a node's algorithm that writes control/stop with the node's own login fails the run, saying why", async () => {
    let runId = '';
    const error = await runAlgorithm(request({ algorithm: path.join(fixtures, 'write-control.ts'), topology: 'ring:n=4', onRunId: (id) => (runId = id) })).then(
      () => new Error('the run passed'),
      (failure: Error) => failure,
    );
    // The failure names the fixture's line when the stack reaches it (trust issue §5), then etcd's refusal.
    expect(error.message).toMatch(/^node 0 failed( at test\/fixtures\/write-control\.ts:\d+:\d+)?: /);
    expect(error.message).toContain(
      `etcd refused to write ${runKeys(runId).stop}: permission denied (a node writes only the keys it reports into; config, topology and control are the CLI's)`,
    );
    expect(await leftovers(runId)).toEqual({ containers: 0, networks: 0 });
  });
});
