import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type Docker from 'dockerode';
import { z } from 'zod';
import { STARTUP_STEPS, type NodeStartup, type StartupStep } from '../coordination/protocol.js';
import { connectDocker, RUN_LABEL } from '../docker/engine.js';
import { ensureNodeImage } from '../image/node.js';
import { buildAgentBundle } from '../node/bundle.js';
import { ENV } from '../node/identity.js';
import { bringUp } from '../run/run.js';
import { DEFAULT_NODE_MEMORY, networkName, nodeContainerSpec, removeRunObjects } from '../runtime/docker.js';
import { newRunId } from '../run/run-id.js';
import { forEachLimited } from '../util/concurrency.js';
import type { RunId } from '../util/names.js';
import { dockerRunArgs } from './docker-run.js';
import { countCpu, enginePrivateBytes, memAvailable, runContainers, shimPrivateBytes, type CpuSplit } from './host-usage.js';
import { medianItem, percentiles, type Percentiles } from './percentiles.js';
import type { BenchKind } from './report.js';

const run = promisify(execFile);

/** One N of `peerlab bench startup`. All times in ms; the schema is documented in the README. */
export interface StartupSample {
  /** The topology spec, e.g. ba:n=100,m=2, and the seed it was generated with. */
  readonly topology: string;
  readonly seed: number;
  readonly nodes: number;
  readonly edges: number;
  /** Containers created and started at once, by peerlab and by the baseline alike. */
  readonly concurrency: number;
  /** The median of the repetitions' ratios: the issue's target is ≤ 1.25. */
  readonly ratio: number;
  /** The repetition whose ratio is the median (the lower one of an even count), whole. */
  readonly peerlab: PeerlabStartup;
  readonly baseline: BaselineStartup;
  readonly memory: StartupMemory;
  /** With --auth-cost: the median of the repetitions' authentication costs. */
  readonly authCost?: AuthCost;
  /** Every repetition, in the order measured: baseline and peerlab alternate which goes first. */
  readonly repetitions: StartupRepetition[];
}

/**
 * What etcd authentication adds to bring-up (the trust issue's budget is 5 %): the same bring-up with the run's
 * etcd open, measured next to the one with authentication, so both see the same engine and load. Which of the two
 * goes first alternates by repetition: measured always in one order, the first was 10–15 % slower at N = 100 and
 * 200; at N = 200 its engine spent 12.1 s more CPU, against 1.0 s more for etcd and 3.3 s for the nodes, whose
 * work is all that authentication adds (at N = 100: engine +6.2 s, etcd +0.4 s, nodes +6.0 s).
 */
export interface AuthCost {
  readonly first: 'authenticated' | 'open';
  readonly withAuthMs: number;
  readonly withoutAuthMs: number;
  /** (with − without) / without, in percent. */
  readonly percent: number;
  /** The run without authentication, whole. */
  readonly withoutAuth: PeerlabStartup;
}

export interface StartupRepetition {
  readonly first: 'baseline' | 'peerlab';
  readonly ratio: number;
  readonly peerlab: PeerlabStartup;
  readonly baseline: BaselineStartup;
  readonly memory: StartupMemory;
  readonly authCost?: AuthCost;
}

export interface PeerlabStartup {
  /** The run brought up (and torn down): nothing labelled with it is left. */
  readonly runId: string;
  /** From the call until every node is registered and has connected its neighbour channels. */
  readonly allConnectedMs: number;
  readonly containersStartedMs: number;
  readonly imagesMs: number;
  /** Wall time, back to back, adding up to allConnectedMs. */
  readonly phases: {
    /** Topology, algorithm bundle, run id: before the deployment. */
    readonly prepareMs: number;
    /** Agent bundle and node and etcd images (found, not built, when unchanged). */
    readonly imagesMs: number;
    /** The run network, the etcd container until it serves, and the run's config and topology put in etcd. */
    readonly networkAndEtcdMs: number;
    /** From the first container create call until the last container has started. */
    readonly containersMs: number;
    /** From the last container started until every node is connected and its ready key seen. */
    readonly tailMs: number;
  };
  /** Per node: the engine's create and start calls, then the agent's steps, each from the step before it. */
  readonly perNode: {
    readonly createMs: Percentiles;
    /** The start call: the network endpoint attached, the process launched. */
    readonly startMs: Percentiles;
    /** From the start call returning until its agent's process had started; negative when it started before. */
    readonly launchMs: Percentiles;
    /**
     * The agent's steps (see NodeStartup): the wall and CPU time of each, from the step before it (`loaded` from
     * the process's start). Wall time beyond CPU time is waiting: for CPU, for etcd, for neighbours.
     */
    readonly steps: Readonly<Record<StartupStep, { readonly ms: Percentiles; readonly cpuMs: Percentiles }>>;
  };
  /** CPU time spent from the call until all connected, by who spent it; absent where cgroups cannot be read. */
  readonly cpuMs: CpuSplit | undefined;
  /** Per node, from its process start: registered / all channels connected. */
  readonly registeredMs: Percentiles;
  readonly connectedMs: Percentiles;
  readonly teardownMs: number;
}

export interface BaselineStartup {
  /** The label of the baseline's network and containers (removed). */
  readonly runId: string;
  /** The run's network created, then N `docker run -d` of the same containers, `concurrency` at a time. */
  readonly dockerRunMs: number;
  readonly networkMs: number;
  /** CPU time spent from the network's creation until the last container started, by who spent it. */
  readonly cpuMs: CpuSplit | undefined;
  /** Per container: one `docker run -d`, from spawn to exit (the container started). */
  readonly perContainerMs: Percentiles;
  readonly teardownMs: number;
}

export interface StartupMemory {
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
}

/**
 * Gated: the ratio to plain `docker run -d`, because it normalises itself: both sides are measured in the same
 * invocation on the same engine, so a slower or busier machine slows both and the ratio stays put where the
 * seconds would not (a change under 0.05 is still taken for noise). And host memory per node, which does not
 * depend on speed; it adds up the nodes' own processes (cgroups, shims, engine growth), but the engine's growth
 * still moves a little between runs, hence a floor of 2 MiB per node below which a change is noise.
 * Schema 2: the baseline became parallel (schema 1 ran `docker run` one after another), so ratios of 1 and 2
 * are not comparable, and a schema-1 file is refused as a baseline.
 */
export const startupBench: BenchKind = {
  schema: 'peerlab.bench.startup/2',
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

export interface StartupBenchOptions {
  readonly nodes: number;
  readonly model: (n: number) => string;
  readonly seed: number;
  readonly concurrency: number;
  readonly repetitions: number;
  /** Also bring the nodes up with the run's etcd open, after the run with authentication: see AuthCost. */
  readonly authCost?: boolean;
  readonly onProgress?: (line: string) => void;
  /** Aborted on Ctrl-C: no further container starts, and the bring-up in progress removes what it started. */
  readonly signal?: AbortSignal;
  /** Each run's id (peerlab's and the baseline's) before anything of it is created, so an interrupt can sweep it. */
  readonly onRunId?: (runId: RunId) => void;
}

/**
 * Brings up N nodes with peerlab and starts the same N containers with plain parallel `docker run -d`, in
 * turns, `repetitions` times; which goes first alternates, so drift in the machine's load favours neither.
 */
export async function benchStartup(options: StartupBenchOptions): Promise<StartupSample> {
  const docker = await connectDocker();
  const say = options.onProgress ?? (() => {});
  const topology = options.model(options.nodes);
  const repetitions: StartupRepetition[] = [];
  let edges = 0;
  for (let index = 0; index < options.repetitions; index++) {
    const first = index % 2 === 0 ? 'baseline' : 'peerlab';
    const measurePeerlab = async (): Promise<Awaited<ReturnType<typeof peerlabStartup>> & { authCost: AuthCost | undefined }> => {
      const authenticated = () => {
        say(`peerlab up ${topology} (repetition ${index + 1})`);
        return peerlabStartup(docker, topology, options, true);
      };
      if (!options.authCost) return { ...(await authenticated()), authCost: undefined };
      const open = async () => {
        say(`peerlab up ${topology} with etcd open, for the cost of authentication (repetition ${index + 1})`);
        return (await peerlabStartup(docker, topology, options, false)).startup;
      };
      const authFirst = index % 2 === 0;
      const measured = authFirst ? await authenticated() : undefined;
      const withoutAuth = await open();
      const withAuth = measured ?? (await authenticated());
      const [withAuthMs, withoutAuthMs] = [withAuth.startup.allConnectedMs, withoutAuth.allConnectedMs];
      const first = authFirst ? 'authenticated' : 'open';
      return { ...withAuth, authCost: { first, withAuthMs, withoutAuthMs, percent: (100 * (withAuthMs - withoutAuthMs)) / withoutAuthMs, withoutAuth } };
    };
    const measureBaseline = async (image: string) => {
      say(`baseline: ${options.nodes} × docker run -d, ${options.concurrency} at a time (repetition ${index + 1})`);
      return dockerRunBaseline(docker, image, options);
    };
    // The baseline needs the node image, which peerlab builds when its inputs changed: ensure it first.
    const image = (await ensureNodeImage({ agentDir: await buildAgentBundle(), docker })).tag;
    let peerlab: Awaited<ReturnType<typeof measurePeerlab>>;
    let baseline: BaselineStartup;
    if (first === 'baseline') {
      baseline = await measureBaseline(image);
      peerlab = await measurePeerlab();
    } else {
      peerlab = await measurePeerlab();
      baseline = await measureBaseline(image);
    }
    edges = peerlab.edges;
    repetitions.push({
      first,
      ratio: peerlab.startup.allConnectedMs / baseline.dockerRunMs,
      peerlab: peerlab.startup,
      baseline,
      memory: peerlab.memory,
      ...(peerlab.authCost ? { authCost: peerlab.authCost } : {}),
    });
  }
  const authCost = medianItem(
    repetitions.flatMap((repetition) => (repetition.authCost ? [repetition.authCost] : [])),
    (cost) => cost.percent,
  );
  const median = medianItem(repetitions, (repetition) => repetition.ratio)!;
  return {
    topology,
    seed: options.seed,
    nodes: options.nodes,
    edges,
    concurrency: options.concurrency,
    ratio: median.ratio,
    peerlab: median.peerlab,
    baseline: median.baseline,
    memory: median.memory,
    ...(authCost ? { authCost } : {}),
    repetitions,
  };
}

async function peerlabStartup(
  docker: Docker,
  topology: string,
  options: StartupBenchOptions,
  etcdAuth: boolean,
): Promise<{ startup: PeerlabStartup; memory: StartupMemory; edges: number }> {
  options.signal?.throwIfAborted();
  await settle();
  const memoryBefore = await memAvailable();
  const engineBefore = await enginePrivateBytes();
  const cpu = await countCpu(docker);
  const began = Date.now();
  const up = await bringUp({
    algorithm: 'flood',
    params: [],
    topology,
    seed: options.seed,
    allowDisconnected: false,
    timeoutMs: 0,
    resultsRoot: '',
    concurrency: options.concurrency,
    etcdAuth,
    signal: options.signal,
    onRunId: options.onRunId,
  });
  const allConnectedMs = Date.now() - began;
  const { deployment } = up;
  let teardownMs: number;
  let memory: StartupMemory;
  let cpuMs: CpuSplit | undefined;
  try {
    cpuMs = await cpu.finish(up.runId);
    await settle();
    const memoryAfter = await memAvailable();
    const nodes = await deployment.runtime.listNodes({ memory: true });
    const perNode = (bytes: number): number => bytes / options.nodes;
    const cgroupBytesPerNode = perNode(nodes.reduce((total, node) => total + (node.memoryBytes ?? 0), 0));
    const shimBytesPerNode = perNode(await shimPrivateBytes((await runContainers(docker, up.runId)).filter(({ role }) => role === 'node')));
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
  const { timings } = deployment;
  const containers = [...deployment.runtime.containerStartup.values()];
  const firstRequestedAt = Math.min(...containers.map((container) => container.requestedAt));
  const lastStartedAt = Math.max(...containers.map((container) => container.startedAt));
  const agents = [...deployment.startup.values()];
  const containersFromStart = firstRequestedAt - began;
  return {
    edges: up.topology.graph.size,
    memory,
    startup: {
      runId: up.runId,
      allConnectedMs,
      cpuMs,
      containersStartedMs: timings.containersStartedMs,
      imagesMs: timings.imagesMs,
      phases: {
        prepareMs: containersFromStart - timings.etcdMs,
        imagesMs: timings.imagesMs,
        networkAndEtcdMs: timings.etcdMs - timings.imagesMs,
        containersMs: lastStartedAt - firstRequestedAt,
        tailMs: allConnectedMs - (lastStartedAt - began),
      },
      perNode: {
        createMs: percentiles(containers.map((container) => container.createdAt - container.requestedAt)),
        startMs: percentiles(containers.map((container) => container.startedAt - container.createdAt)),
        launchMs: percentiles(
          [...deployment.startup].map(([id, node]) => node.processStartedAt - (deployment.runtime.containerStartup.get(id)?.startedAt ?? node.processStartedAt)),
        ),
        steps: Object.fromEntries(
          STARTUP_STEPS.map((step, index) => {
            const previous = STARTUP_STEPS[index - 1];
            const of = (pick: (point: NodeStartup['steps'][StartupStep]) => number) =>
              percentiles(agents.map((node) => pick(node.steps[step]) - (previous ? pick(node.steps[previous]) : 0)));
            return [step, { ms: of((point) => point.ms), cpuMs: of((point) => point.cpuMs) }];
          }),
        ) as PeerlabStartup['perNode']['steps'],
      },
      registeredMs: percentiles(agents.map((node) => node.steps.registered.ms)),
      connectedMs: percentiles(agents.map((node) => node.steps.connected.ms)),
      teardownMs,
    },
  };
}

/**
 * The fastest plain way to start the same containers: `docker run -d` of peerlab's own node container spec
 * (image, network, limits, mounts, labels), `concurrency` at a time, each idling instead of running the agent.
 * The network is created inside the timing, as peerlab's is.
 */
async function dockerRunBaseline(docker: Docker, image: string, options: StartupBenchOptions): Promise<BaselineStartup> {
  options.signal?.throwIfAborted();
  const runId = newRunId('bench-baseline');
  options.onRunId?.(runId);
  const mounted = await mkdtemp(path.join(os.tmpdir(), 'peerlab-bench-baseline-'));
  try {
    const cpu = await countCpu(docker);
    const began = Date.now();
    await run('docker', ['network', 'create', '--label', `${RUN_LABEL}=${runId}`, networkName(runId)]);
    const networkMs = Date.now() - began;
    const runtime = { runId, image, memoryLimit: DEFAULT_NODE_MEMORY, mounts: { [mounted]: '/algorithm' }, concurrency: options.concurrency };
    const perContainer: number[] = [];
    const ids = Array.from({ length: options.nodes }, (_, index) => String(index));
    await forEachLimited(ids, options.concurrency, async (id) => {
      const spec = nodeContainerSpec(runtime, { id, env: { [ENV.run]: runId, [ENV.node]: id } });
      const spawned = Date.now();
      await run('docker', dockerRunArgs({ ...spec, Entrypoint: ['node'], Cmd: ['-e', 'setInterval(() => {}, 1 << 30)'] }));
      perContainer.push(Date.now() - spawned);
    }, options.signal);
    options.signal?.throwIfAborted();
    const dockerRunMs = Date.now() - began;
    const cpuMs = await cpu.finish(runId);
    const teardownBegan = Date.now();
    await removeRunObjects(docker, runId);
    return { runId, dockerRunMs, networkMs, cpuMs, perContainerMs: percentiles(perContainer), teardownMs: Date.now() - teardownBegan };
  } finally {
    await removeRunObjects(docker, runId);
    await rm(mounted, { recursive: true, force: true });
  }
}

/** Lets start-up garbage settle so the memory reading is of idle nodes. */
function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 3000));
}
