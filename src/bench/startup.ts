import { z } from 'zod';
import { STARTUP_STEPS, type NodeStartup, type StartupStep } from '../coordination/protocol.js';
import { connectDocker } from '../docker/engine.js';
import { PeerlabError } from '../errors.js';
import { ensureNodeImage } from '../image/node.js';
import { buildAgentBundle } from '../node/bundle.js';
import type { RunRuntime } from '../run/deployment.js';
import { bringUp } from '../run/run.js';
import { chooseRuntime, runtimesWith } from '../run/runtimes.js';
import { DEFAULT_NODE_MEMORY } from '../runtime/docker.js';
import type { RuntimeChoice, RuntimeKind } from '../runtime/types.js';
import { newRunId } from '../run/run-id.js';
import type { RunId } from '../util/names.js';
import { countCpu, enginePrivateBytes, measureIdle, memAvailable, runContainers, shimPrivateBytes, type CpuSplit, type IdleCost } from './host-usage.js';
import { medianItem, percentiles, type Percentiles } from './percentiles.js';
import type { BenchKind } from './report.js';

/** One N of `peerlab bench startup`. All times in ms; the schema is documented in the README. */
export interface StartupSample {
  /** Where the nodes ran (docker, or swarm over the local cluster's engines); the baseline ran there too. */
  readonly runtime: RuntimeKind;
  /** The topology spec, e.g. ba:n=100,m=2, and the seed it was generated with. */
  readonly topology: string;
  readonly seed: number;
  readonly nodes: number;
  readonly edges: number;
  /** Containers created and started at once, by peerlab and by the baseline alike (where the runtime starts them one by one). */
  readonly concurrency: number;
  /** The median of the repetitions' ratios: the trust issue's target is ≤ 1.25 on Docker, Swarm's ≤ 1.5. */
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
  /** Nodes per engine, where the run spans several (Swarm's runtimeFacts, e.g. its placement). */
  readonly facts?: Readonly<Record<string, unknown>>;
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
  /**
   * Per node: the engine's create and start calls (Swarm: from the service's creation until its task was made,
   * then until the task ran), then the agent's steps, each from the step before it.
   */
  readonly perNode: {
    readonly createMs: Percentiles;
    /** The start call: the network endpoint attached, the process launched (Swarm: the task scheduled, its container created and started). */
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
  /** With an idle window: what the nodes cost while they wait for the start, after the memory reading. */
  readonly idle?: IdleCost;
  readonly teardownMs: number;
}

export interface BaselineStartup {
  /** The label of the baseline's network and containers (removed). */
  readonly runId: string;
  /** What started them: `N × docker run -d, C at a time` on Docker; one `docker service create` per engine on Swarm. */
  readonly command: string;
  /** The run's network created, then the same containers started plainly, until the last one runs. */
  readonly startedMs: number;
  readonly networkMs: number;
  /** CPU time spent from the network's creation until the last container started, by who spent it. */
  readonly cpuMs: CpuSplit | undefined;
  /** Per container: from its request (a `docker run -d` spawned; its service created) until it ran. */
  readonly perContainerMs: Percentiles;
  /** With an idle window: what the idle containers cost, measured as peerlab's are. */
  readonly idle?: IdleCost;
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
 * Gated: the ratio to the plain start of the same containers (parallel `docker run -d` on Docker, `docker service
 * create` on Swarm), because it normalises itself: both sides are measured in the same invocation on the same
 * engines, so a slower or busier machine slows both and the ratio stays put where the seconds would not (a
 * change under 0.05 is still taken for noise). And host memory per node, which does not depend on speed; it adds
 * up the nodes' own processes (cgroups, shims, engine growth), but the engines' growth still moves a little
 * between runs, hence a floor of 2 MiB per node below which a change is noise. Only samples of one runtime are
 * compared. Schema 3 added the runtime and named the baseline's time `startedMs` (2: `dockerRunMs`); schema 2
 * made the baseline parallel (1 ran `docker run` one after another). A file of an older schema is refused as a
 * baseline.
 */
export const startupBench: BenchKind = {
  schema: 'peerlab.bench.startup/3',
  command: 'peerlab bench startup',
  gateSample: z
    .object({ runtime: z.string(), topology: z.string(), seed: z.number(), nodes: z.number(), ratio: z.number(), memory: z.object({ hostBytesPerNode: z.number() }) })
    .transform((sample) => ({
      label: `N=${sample.nodes}`,
      key: `${sample.topology} seed ${sample.seed} on ${sample.runtime}`,
      values: { ratio: sample.ratio, hostBytesPerNode: sample.memory.hostBytesPerNode },
    })),
  metrics: [
    { name: 'ratio', label: 'allConnected ratio', noiseFloor: 0.05, format: (ratio) => ratio.toFixed(2) },
    { name: 'hostBytesPerNode', label: 'host memory per node', noiseFloor: 2 * 2 ** 20, format: (bytes) => `${(bytes / 2 ** 20).toFixed(1)} MiB` },
  ],
};

export interface StartupBenchOptions {
  /** A container runtime (one with standUp and plainStart); docker when not given. */
  readonly runtime?: RuntimeChoice;
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
  /** How long to measure what the nodes (and the baseline's containers) cost once up and idle, in ms; 0: not at all. */
  readonly idleWindowMs?: number;
}

/** The runtime a start-up bench measures: one that keeps nodes standing and knows a plain start of them. */
export async function startupRuntime(choice: RuntimeChoice | undefined): Promise<RunRuntime & Required<Pick<RunRuntime, 'plainStart'>>> {
  const runtime = await chooseRuntime(choice ?? 'docker');
  const { plainStart } = runtime;
  if (!plainStart || !runtime.standUp) {
    throw new PeerlabError(`bench startup measures container start-up, and --runtime ${runtime.kind} starts no containers`, {
      hint: `take --runtime ${runtimesWith('plainStart').join(' or ')}`,
    });
  }
  return { ...runtime, plainStart };
}

/**
 * Brings up N nodes with peerlab and starts the same N containers plainly (the runtime's own fastest way), in
 * turns, `repetitions` times; which goes first alternates, so drift in the machine's load favours neither.
 */
export async function benchStartup(options: StartupBenchOptions): Promise<StartupSample> {
  const runtime = await startupRuntime(options.runtime);
  const say = options.onProgress ?? (() => {});
  const topology = options.model(options.nodes);
  const repetitions: StartupRepetition[] = [];
  let edges = 0;
  for (let index = 0; index < options.repetitions; index++) {
    const first = index % 2 === 0 ? 'baseline' : 'peerlab';
    const measurePeerlab = async (): Promise<Awaited<ReturnType<typeof peerlabStartup>> & { authCost: AuthCost | undefined }> => {
      const authenticated = () => {
        say(`peerlab up ${topology} on ${runtime.kind} (repetition ${index + 1})`);
        return peerlabStartup(runtime, topology, options, true);
      };
      if (!options.authCost) return { ...(await authenticated()), authCost: undefined };
      const open = async () => {
        say(`peerlab up ${topology} with etcd open, for the cost of authentication (repetition ${index + 1})`);
        // Its idle cost is the authenticated run's: authentication adds nothing once the nodes are up.
        return (await peerlabStartup(runtime, topology, { ...options, idleWindowMs: 0 }, false)).startup;
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
      say(`baseline on ${runtime.kind}: ${options.nodes} containers started plainly (repetition ${index + 1})`);
      return plainBaseline(runtime, image, options);
    };
    // The baseline needs the node image, which peerlab builds when its inputs changed: ensure it first.
    const image = (await ensureNodeImage({ agentDir: await buildAgentBundle(), docker: await connectDocker() })).tag;
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
      ratio: peerlab.startup.allConnectedMs / baseline.startedMs,
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
    runtime: runtime.kind,
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
  runtime: RunRuntime,
  topology: string,
  options: StartupBenchOptions,
  etcdAuth: boolean,
): Promise<{ startup: PeerlabStartup; memory: StartupMemory; edges: number }> {
  options.signal?.throwIfAborted();
  await settle();
  const memoryBefore = await memAvailable();
  const engineBefore = await enginePrivateBytes();
  const cpu = await countCpu();
  const began = Date.now();
  const up = await bringUp({
    algorithm: 'flood',
    params: [],
    topology,
    seed: options.seed,
    allowDisconnected: false,
    timeoutMs: 0,
    resultsRoot: '',
    runtime: runtime.kind,
    concurrency: options.concurrency,
    etcdAuth,
    signal: options.signal,
    onRunId: options.onRunId,
  });
  const allConnectedMs = Date.now() - began;
  const { deployment } = up;
  const engines = deployment.runtime.engineClients;
  let teardownMs: number;
  let memory: StartupMemory;
  let cpuMs: CpuSplit | undefined;
  let idle: IdleCost | undefined;
  let facts: Readonly<Record<string, unknown>> | undefined;
  try {
    facts = await deployment.facts?.();
    cpuMs = await cpu.finish(engines, up.runId);
    await settle();
    const memoryAfter = await memAvailable();
    const nodes = await deployment.runtime.listNodes({ memory: true });
    const perNode = (bytes: number): number => bytes / options.nodes;
    const cgroupBytesPerNode = perNode(nodes.reduce((total, node) => total + (node.memoryBytes ?? 0), 0));
    const containers = await runContainers(engines, up.runId);
    const shimBytesPerNode = perNode(await shimPrivateBytes(containers.filter(({ role }) => role === 'node')));
    const engineBytesPerNode = perNode(Math.max(0, (await enginePrivateBytes()) - engineBefore));
    memory = {
      hostBytesPerNode: cgroupBytesPerNode + shimBytesPerNode + engineBytesPerNode,
      cgroupBytesPerNode,
      shimBytesPerNode,
      engineBytesPerNode,
      memAvailableFallPerNode: perNode(Math.max(0, memoryBefore - memoryAfter)),
    };
    if (options.idleWindowMs) idle = await measureIdle(containers, options.idleWindowMs);
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
      ...(facts ? { facts } : {}),
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
      ...(idle ? { idle } : {}),
      teardownMs,
    },
  };
}

/** The runtime's plain start of the same containers, with the CPU it cost and its removal timed. */
async function plainBaseline(runtime: Required<Pick<RunRuntime, 'plainStart'>>, image: string, options: StartupBenchOptions): Promise<BaselineStartup> {
  options.signal?.throwIfAborted();
  const runId = newRunId('bench-baseline');
  options.onRunId?.(runId);
  const cpu = await countCpu();
  const started = await runtime.plainStart({ runId, image, nodes: options.nodes, concurrency: options.concurrency, memoryLimit: DEFAULT_NODE_MEMORY, signal: options.signal });
  try {
    const cpuMs = await cpu.finish(started.engines, runId);
    let idle: IdleCost | undefined;
    if (options.idleWindowMs) {
      // After the same pause as peerlab's memory reading, so both are measured as long after their last start.
      await settle();
      idle = await measureIdle(await runContainers(started.engines, runId), options.idleWindowMs);
    }
    const teardownBegan = Date.now();
    await started.remove();
    return {
      runId,
      command: started.command,
      startedMs: started.startedMs,
      networkMs: started.networkMs,
      cpuMs,
      perContainerMs: percentiles([...started.perContainerMs]),
      ...(idle ? { idle } : {}),
      teardownMs: Date.now() - teardownBegan,
    };
  } finally {
    await started.remove();
  }
}

/** Lets start-up garbage settle so the memory reading is of idle nodes. */
function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 3000));
}
