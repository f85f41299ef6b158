import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import type Docker from 'dockerode';
import { z } from 'zod';
import { connectDocker, ROLE_LABEL, RUN_LABEL } from '../docker/engine.js';
import { bringUp } from '../run/run.js';
import { removeRunObjects } from '../runtime/docker.js';
import { newRunId } from '../run/run-id.js';
import type { BenchKind } from './report.js';

const run = promisify(execFile);

/** One N of `peerlab bench startup`. All times in ms; the schema is documented in the README. */
export interface StartupSample {
  /** The topology spec, e.g. ba:n=100,m=2, and the seed it was generated with. */
  readonly topology: string;
  readonly seed: number;
  readonly nodes: number;
  readonly edges: number;
  readonly peerlab: {
    /** From the call until every node is registered and has connected its neighbour channels. */
    readonly allConnectedMs: number;
    readonly containersStartedMs: number;
    readonly imagesMs: number;
    /** Per node, from process start to registered / to all channels connected. */
    readonly registeredMs: Percentiles;
    readonly connectedMs: Percentiles;
    readonly teardownMs: number;
  };
  readonly baseline: {
    /** N sequential `docker run -d` of the same image (idle process), on a network of its own. */
    readonly dockerRunMs: number;
    readonly teardownMs: number;
  };
  /** peerlab's allConnectedMs over the baseline's dockerRunMs: the target is ≤ 1.25. */
  readonly ratio: number;
  readonly memory: {
    /**
     * What one idle node costs the host: its cgroup (the agent, its page cache and its kernel objects), the
     * private memory of its containerd shim, and its share of the growth of dockerd and containerd.
     */
    readonly hostBytesPerNode: number;
    /** The containers' own cgroup memory, per node. */
    readonly cgroupBytesPerNode: number;
    /** The private memory of the containerd shim that runs each node container, per node. */
    readonly shimBytesPerNode: number;
    /** The growth of dockerd's and containerd's private memory with the run up, per node. */
    readonly engineBytesPerNode: number;
    /** The fall of the host's MemAvailable while the nodes idle, per node: a cross-check, noisy on a busy host. */
    readonly memAvailableFallPerNode: number;
  };
}

export interface Percentiles {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

/**
 * Gated: the ratio to plain `docker run -d`, because it normalises itself: both sides are measured in the same
 * invocation on the same engine, so a slower or busier machine slows both and the ratio stays put where the
 * seconds would not (a change under 0.05 is still taken for noise). And host memory per node, which does not
 * depend on speed; it adds up the nodes' own processes (cgroups, shims, engine growth), but the engine's growth
 * still moves a little between runs, hence a floor of 2 MiB per node below which a change is noise.
 */
export const startupBench: BenchKind = {
  schema: 'peerlab.bench.startup/1',
  command: 'peerlab bench startup',
  gateSample: z
    .object({ topology: z.string(), seed: z.number(), nodes: z.number(), ratio: z.number(), memory: z.object({ hostBytesPerNode: z.number() }) })
    .transform((sample) => ({
      label: `N=${sample.nodes}`,
      key: `${sample.topology} seed ${sample.seed}`,
      values: { ratio: sample.ratio, hostBytesPerNode: sample.memory.hostBytesPerNode },
    })),
  metrics: [
    { name: 'ratio', label: 'allConnected ratio', noiseFloor: 0.05, format: (ratio) => ratio.toFixed(2) },
    { name: 'hostBytesPerNode', label: 'host memory per node', noiseFloor: 2 * 2 ** 20, format: (bytes) => `${(bytes / 2 ** 20).toFixed(1)} MiB` },
  ],
};

export async function benchStartup(options: {
  nodes: number;
  model: (n: number) => string;
  seed: number;
  onProgress?: (line: string) => void;
}): Promise<StartupSample> {
  const docker = await connectDocker();
  const say = options.onProgress ?? (() => {});
  const topology = options.model(options.nodes);

  await settle();
  const memoryBefore = await memAvailable();
  const engineBefore = await enginePrivateBytes();
  say(`peerlab up ${topology}`);
  const began = Date.now();
  const up = await bringUp({
    algorithm: 'flood',
    params: [],
    topology,
    seed: options.seed,
    allowDisconnected: false,
    timeoutMs: 0,
    resultsRoot: '',
  });
  const allConnectedMs = Date.now() - began;
  const { deployment } = up;
  let teardownMs: number;
  let memory: StartupSample['memory'];
  try {
    await settle();
    const memoryAfter = await memAvailable();
    const nodes = await deployment.runtime.listNodes({ memory: true });
    const perNode = (bytes: number): number => bytes / options.nodes;
    const cgroupBytesPerNode = perNode(nodes.reduce((total, node) => total + (node.memoryBytes ?? 0), 0));
    const shimBytesPerNode = perNode(await shimPrivateBytes(docker, up.runId));
    const engineBytesPerNode = perNode(Math.max(0, (await enginePrivateBytes()) - engineBefore));
    memory = {
      hostBytesPerNode: cgroupBytesPerNode + shimBytesPerNode + engineBytesPerNode,
      cgroupBytesPerNode,
      shimBytesPerNode,
      engineBytesPerNode,
      memAvailableFallPerNode: perNode(Math.max(0, memoryBefore - memoryAfter)),
    };
  } finally {
    const teardownBegan = Date.now();
    await deployment.tearDown();
    teardownMs = Date.now() - teardownBegan;
  }
  const startup = [...deployment.startup.values()];

  say(`baseline: ${options.nodes} × docker run -d`);
  const baseline = await dockerRunBaseline(docker, deployment.image.node, options.nodes);

  return {
    topology,
    seed: options.seed,
    nodes: options.nodes,
    edges: up.topology.graph.size,
    peerlab: {
      allConnectedMs,
      containersStartedMs: deployment.timings.containersStartedMs,
      imagesMs: deployment.timings.imagesMs,
      registeredMs: percentiles(startup.map((s) => s.registeredMs)),
      connectedMs: percentiles(startup.map((s) => s.connectedMs)),
      teardownMs,
    },
    baseline,
    ratio: allConnectedMs / baseline.dockerRunMs,
    memory,
  };
}

/** What a user would script by hand: one `docker run -d` after another, each container idling. */
async function dockerRunBaseline(docker: Docker, image: string, count: number): Promise<StartupSample['baseline']> {
  const runId = newRunId('bench-baseline');
  const network = `peerlab-${runId}`;
  await run('docker', ['network', 'create', '--label', `${RUN_LABEL}=${runId}`, network]);
  try {
    const began = Date.now();
    for (let i = 0; i < count; i++) {
      await run('docker', [
        'run', '-d', '--network', network, '--label', `${RUN_LABEL}=${runId}`,
        '--entrypoint', 'node', image, '-e', 'setInterval(() => {}, 1 << 30)',
      ]);
    }
    const dockerRunMs = Date.now() - began;
    const teardownBegan = Date.now();
    await removeRunObjects(docker, runId);
    return { dockerRunMs, teardownMs: Date.now() - teardownBegan };
  } finally {
    await removeRunObjects(docker, runId);
  }
}

function percentiles(values: number[]): Percentiles {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return { p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1] ?? 0 };
}

async function memAvailable(): Promise<number> {
  const meminfo = await readFile('/proc/meminfo', 'utf8');
  const kib = Number(/MemAvailable:\s+(\d+)/.exec(meminfo)?.[1]);
  return kib * 1024;
}

/** Private (unshared) memory of a process: what it costs the host beyond the pages it shares with others. */
async function privateBytes(pid: number): Promise<number> {
  const rollup = await readFile(`/proc/${pid}/smaps_rollup`, 'utf8').catch(() => '');
  let kib = 0;
  for (const match of rollup.matchAll(/^Private_(?:Clean|Dirty):\s+(\d+) kB/gm)) kib += Number(match[1]);
  return kib * 1024;
}

async function parentPid(pid: number): Promise<number | undefined> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const ppid = /^PPid:\s+(\d+)/m.exec(status)?.[1];
  return ppid === undefined ? undefined : Number(ppid);
}

/** The shims of a run's node containers: each is the parent of its container's first process. */
async function shimPrivateBytes(docker: Docker, runId: string): Promise<number> {
  const containers = await docker.listContainers({ filters: { label: [`${RUN_LABEL}=${runId}`, `${ROLE_LABEL}=node`] } });
  let total = 0;
  for (const { Id } of containers) {
    const { State } = await docker.getContainer(Id).inspect();
    const shim = State.Pid > 0 ? await parentPid(State.Pid) : undefined;
    if (shim !== undefined) total += await privateBytes(shim);
  }
  return total;
}

async function enginePrivateBytes(): Promise<number> {
  const { stdout } = await run('pgrep', ['-x', 'dockerd|containerd']).catch(() => ({ stdout: '' }));
  const pids = stdout.split('\n').filter(Boolean).map(Number);
  return (await Promise.all(pids.map(privateBytes))).reduce((total, bytes) => total + bytes, 0);
}

/** Lets start-up garbage settle so the memory reading is of idle nodes. */
function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 3000));
}
