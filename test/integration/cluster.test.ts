/**
 * The local cluster on the real host: `cluster up --engines 3` makes a three-node Swarm of real dockerds, a
 * service spreads over all three engines on an attachable overlay, a task on one engine answers HTTP from a task
 * on another over VXLAN, and `cluster down` leaves nothing on any engine nor on the host. Needs root; it puts the
 * host's engine in Swarm mode for the duration, and refuses to run when that engine is already in a Swarm.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { PassThrough } from 'node:stream';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLUSTER_LABEL, ENGINE_LABEL, clusterDown } from '../../src/cluster/index.js';
import { SWARM_TASK_LABEL } from '../../src/cluster/engine.js';
import { connectDocker } from '../../src/docker/engine.js';
import { bin } from './cli-helpers.js';

const exec = promisify(execFile);
const NAME = 'pltest';
const SERVICE = `${NAME}-echo`;
const NETWORK = `${NAME}-overlay`;

/** The CLI as a user runs it, with --json: its result, or its error line. */
async function peerlab<T>(...args: string[]): Promise<T> {
  const { stdout } = await exec(process.execPath, [bin, ...args, '--json'], { maxBuffer: 16 * 1024 * 1024 });
  return JSON.parse(stdout) as T;
}

interface UpResult {
  engines: Array<{ name: string; socketPath: string; address: string; role: string; nodeId: string }>;
  images: string[];
  imageCopy: { bytes: number; ms: number };
  ms: { total: number };
}

let host: Docker;
let up: UpResult;
let hostSwarmBefore: string;
let gwbridgeBefore: boolean;

beforeAll(async () => {
  host = await connectDocker();
  hostSwarmBefore = ((await host.info()) as { Swarm: { LocalNodeState: string } }).Swarm.LocalNodeState;
  gwbridgeBefore = (await host.listNetworks()).some((network) => network.Name === 'docker_gwbridge');
  up = await peerlab<UpResult>('cluster', 'up', '--engines', '3', '--name', NAME);
});

afterAll(async () => {
  // Whatever a failed test left: down is idempotent.
  for (const name of [NAME, 'pltestc', 'pltestk']) await clusterDown({ name });
});

async function runOn(docker: Docker, containerId: string, cmd: string[]): Promise<string> {
  const execution = await docker.getContainer(containerId).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = await execution.start({ hijack: true, stdin: false });
  const stdout = new PassThrough();
  const chunks: Buffer[] = [];
  stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
  docker.modem.demuxStream(stream, stdout, stdout);
  await new Promise((resolve) => stream.on('end', resolve));
  return Buffer.concat(chunks).toString('utf8').trim();
}

/** Nothing of cluster `name` on the host nor on its engines, and the host's engine as it was before. */
async function expectNothingLeft(name: string, extraSockets: readonly string[]): Promise<void> {
  const info = (await host.info()) as { Swarm: { LocalNodeState: string } };
  expect(info.Swarm.LocalNodeState).toBe(hostSwarmBefore);
  const networks = await host.listNetworks();
  expect(networks.filter((network) => network.Scope === 'swarm' || network.Labels?.[CLUSTER_LABEL] === name)).toEqual([]);
  expect(networks.some((network) => network.Name === 'docker_gwbridge')).toBe(gwbridgeBefore);
  expect(await host.listContainers({ all: true, filters: { label: [SWARM_TASK_LABEL] } })).toEqual([]);
  expect(await host.listContainers({ all: true, filters: { label: [`${CLUSTER_LABEL}=${name}`] } })).toEqual([]);

  for (const socket of extraSockets) {
    expect(existsSync(socket)).toBe(false);
    await expect(new Docker({ socketPath: socket }).ping()).rejects.toThrow();
  }
  const { stdout: namespaces } = await exec('ip', ['netns', 'list']);
  expect(namespaces).not.toContain(`peerlab-${name}-`);
  const { stdout: links } = await exec('ip', ['-br', 'link']);
  expect(links).not.toContain(`pl-${name}`);
  expect(links).not.toMatch(/^vx-/m);
  const { stdout: processes } = await exec('ps', ['-eo', 'args']);
  expect(processes).not.toContain(`/cluster/${name}/`);
  expect(existsSync(`/var/lib/peerlab/cluster/${name}`)).toBe(false);
}

describe('cluster up --engines 3', () => {
  it('makes a Swarm of three Ready nodes, one per engine, labelled with their engine, with the images on each', async () => {
    expect(up.engines.map((engine) => engine.role)).toEqual(['manager', 'worker', 'worker']);
    const nodes = (await host.listNodes()) as Array<{ ID: string; Status: { State: string }; Spec: { Labels: Record<string, string> } }>;
    expect(nodes.filter((node) => node.Status.State === 'ready')).toHaveLength(3);
    expect(nodes.map((node) => node.Spec.Labels[ENGINE_LABEL]).sort()).toEqual(['1', '2', '3']);
    expect(new Set(nodes.map((node) => node.Spec.Labels[CLUSTER_LABEL]))).toEqual(new Set([NAME]));
    for (const engine of up.engines.slice(1)) {
      const docker = new Docker({ socketPath: engine.socketPath });
      for (const image of up.images) expect((await docker.getImage(image).inspect()).RepoTags).toContain(image);
    }
    const status = await peerlab<{ up: boolean; nodes: { total: number; ready: number }; engines: Array<{ role: string; missingImages: string[] }> }>('cluster', 'status', '--name', NAME);
    expect(status.up).toBe(true);
    expect(status.nodes).toEqual({ total: 3, ready: 3 });
    expect(status.engines.every((engine) => engine.missingImages.length === 0)).toBe(true);
  });

  it('runs a dnsrr service over all three engines, and a task reaches a task on another engine over the overlay', async () => {
    await host.createNetwork({ Name: NETWORK, Driver: 'overlay', Attachable: true, Labels: { [CLUSTER_LABEL]: NAME } });
    const script = "require('http').createServer((q, s) => s.end(require('os').hostname())).listen(8080)";
    await host.createService({
      Name: SERVICE,
      Labels: { [CLUSTER_LABEL]: NAME },
      TaskTemplate: {
        ContainerSpec: { Image: up.images[0]!, Command: ['node', '-e', script], Labels: { [CLUSTER_LABEL]: NAME } },
        Networks: [{ Target: NETWORK }],
        Placement: { Preferences: [{ Spread: { SpreadDescriptor: `node.labels.${ENGINE_LABEL}` } }] },
      },
      Mode: { Replicated: { Replicas: 3 } },
      EndpointSpec: { Mode: 'dnsrr' },
    });
    const engines = up.engines.map((engine) => new Docker({ socketPath: engine.socketPath }));
    const tasks: Array<{ id: string; address: string }> = [];
    const deadline = Date.now() + 120_000;
    while (tasks.length < 3 && Date.now() < deadline) {
      tasks.length = 0;
      for (const docker of engines) {
        const [container] = await docker.listContainers({ filters: { label: [`com.docker.swarm.service.name=${SERVICE}`], status: ['running'] } });
        if (!container) continue;
        const address = (await docker.getContainer(container.Id).inspect()).NetworkSettings.Networks[NETWORK]?.IPAddress;
        if (address) tasks.push({ id: container.Id, address });
      }
      if (tasks.length < 3) await new Promise((resolve) => setTimeout(resolve, 500));
    }
    expect(tasks).toHaveLength(3); // one running task on each of the three engines

    const get = (address: string) =>
      `require('http').get('http://${address}:8080', (r) => { let b = ''; r.on('data', (d) => (b += d)); r.on('end', () => console.log(b)); }).on('error', (e) => console.log('error ' + e.message))`;
    // From engine 1's task to engine 2's and engine 3's: the answer is the serving container's hostname.
    for (const target of [1, 2]) {
      // The overlay's first packets can race the peer's VXLAN entry: retry briefly before judging.
      let answer = '';
      for (let attempt = 0; attempt < 20 && answer.length !== 12; attempt++) {
        answer = await runOn(engines[0]!, tasks[0]!.id, ['node', '-e', get(tasks[target]!.address)]);
        if (answer.length !== 12) await new Promise((resolve) => setTimeout(resolve, 500));
      }
      expect(tasks[target]!.id.startsWith(answer) && answer.length === 12).toBe(true);
    }
    // dnsrr: the service name resolves to every task's own address, no virtual IP.
    const resolved = await runOn(engines[1]!, tasks[1]!.id, ['node', '-e', `require('dns').lookup('tasks.${SERVICE}', { all: true }, (e, a) => console.log(JSON.stringify(a.map((x) => x.address).sort())))`]);
    expect(JSON.parse(resolved)).toEqual(tasks.map((task) => task.address).sort());
  });
});

describe('cluster down', () => {
  it('leaves no engine, namespace, veth, Swarm or object behind, and restores the host', async () => {
    const down = await peerlab<{ found: boolean; removed: { services: number } }>('cluster', 'down', '--name', NAME);
    expect(down.found).toBe(true);
    expect(down.removed.services).toBe(1);

    await expectNothingLeft(NAME, up.engines.slice(1).map((engine) => engine.socketPath));

    const again = await peerlab<{ found: boolean }>('cluster', 'down', '--name', NAME);
    expect(again.found).toBe(false);
  });
});

describe('an interrupted cluster up', () => {
  const spawnUp = (name: string) => spawn(process.execPath, [bin, 'cluster', 'up', '--engines', '3', '--name', name], { stdio: ['ignore', 'ignore', 'pipe'] });
  const reached = (child: ReturnType<typeof spawnUp>, line: RegExp) =>
    new Promise<void>((resolve, reject) => {
      let stderr = '';
      child.stderr!.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        if (line.test(stderr)) resolve();
      });
      child.once('exit', () => reject(new Error(`cluster up exited before ${String(line)}: ${stderr}`)));
    });
  const sockets = (name: string) => [2, 3].map((k) => `/var/lib/peerlab/cluster/${name}/engine-${k}/docker.sock`);

  it('Ctrl-C while the Swarm forms: up takes down what it made and exits 130', async () => {
    const name = 'pltestc';
    const child = spawnUp(name);
    await reached(child, /^swarm: /m);
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    await expectNothingLeft(name, sockets(name));
  });

  it('killed outright (SIGKILL) with its engines running: cluster down removes everything', async () => {
    const name = 'pltestk';
    const child = spawnUp(name);
    await reached(child, /^swarm: /m);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    const down = await peerlab<{ found: boolean }>('cluster', 'down', '--name', name);
    expect(down.found).toBe(true);
    await expectNothingLeft(name, sockets(name));
  });
});
