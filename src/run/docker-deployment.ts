import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { Etcd3 } from 'etcd3';
import { ARP_LIMIT_SYSCTL, arpEntriesNeeded, arpFix, readArpLimit } from '../doctor/arp.js';
import { PeerlabError } from '../errors.js';
import { connectDocker } from '../docker/engine.js';
import { ensureEtcdImage } from '../image/etcd.js';
import { ensureNodeImage } from '../image/node.js';
import { buildAgentBundle } from '../node/bundle.js';
import type { RunConfig } from '../coordination/protocol.js';
import { startEtcdContainer } from '../etcd/server.js';
import { DockerRuntime, MAX_NODES_PER_BRIDGE, networkName, type DockerRuntimeOptions } from '../runtime/docker.js';
import type { Topology } from '../topology/index.js';
import { RunController, type NodeStartup } from './controller.js';
import { coordinateNodes, type CoordinationHeld } from './coordinate-nodes.js';
import { RunWatch } from './run-watch.js';
import type { RunKeys } from '../coordination/keys.js';
import { runStateDir } from './state.js';
import type { RunId } from '../util/names.js';
import type { ContainerNodes } from '../runtime/types.js';
import type { Join } from '../faults/joins.js';
import { hostsFacts } from './host-placement.js';
import type { EmulatedHost } from '../runtime/emulated-hosts.js';

export interface DeploymentOptions {
  readonly runId: RunId;
  readonly graph: Topology;
  readonly config: RunConfig;
  /** The folder of the run's algorithm bundles, mounted read-only at /algorithm in every node. */
  readonly bundleDir: string;
  /** A traced run: the host folder, writable by the nodes, where each writes its <id>.ndjson (see node/trace.ts). */
  readonly traceDir?: string;
  /** Follows the run's keys from before the first node starts until teardown (the dashboard; see run/observer.ts). */
  readonly followEtcd?: (etcd: Etcd3, keys: RunKeys) => Promise<() => Promise<void>>;
  /** Each role's bundle (a file in bundleDir) and nodes; together they hold every node once. */
  readonly groups: ReadonlyArray<{ readonly role: string; readonly nodeBundleFile: string; readonly nodes: readonly string[] }>;
  readonly nodeMemoryLimit: number;
  readonly concurrency: number;
  readonly etcdImage: string | undefined;
  readonly etcdPort: number;
  /** An external etcd cluster instead of a container per run. */
  readonly etcdEndpoints: string[] | undefined;
  /** The run's own etcd with authentication: off only to measure what it costs (RuntimeTuning.etcdAuth). */
  readonly etcdAuth: boolean;
  readonly baseImage: string | undefined;
  /** Where the links are applied: the node agents' outboxes, or tc and iptables in the nodes' namespaces. */
  readonly linksLayer: 'message' | 'packet';
  /** Hosts of their own CPU quota, and the host of each node (`--hosts`). */
  readonly hosts?: DockerRuntimeOptions['hosts'];
  readonly startupTimeoutMs: number;
  readonly onStage?: (stage: Stage, detail?: string) => void;
  readonly onStarted?: (started: number, total: number) => void;
  readonly onReady?: (ready: number, total: number) => void;
  /** Aborted on Ctrl-C: no further container is created. */
  readonly signal?: AbortSignal;
}

/** Where a traced run's trace folder appears inside each node. */
const NODE_TRACE_DIR = '/trace';

export type Stage = 'images' | 'network' | 'etcd' | 'starting' | 'registering' | 'shaping' | 'running' | 'collecting' | 'tearing down';

export interface DeploymentTimings {
  readonly imagesMs: number;
  readonly etcdMs: number;
  readonly containersStartedMs: number;
  readonly allReadyMs: number;
  /** Since began, when the packet layer had shaped every node (= allReadyMs without it). */
  readonly shapedMs: number;
}

/** A run brought up on Docker: network, etcd and nodes, all registered and connected, waiting for `start`. */
export interface Deployment<Nodes extends ContainerNodes = ContainerNodes> {
  readonly runId: string;
  readonly runtime: Nodes;
  readonly controller: RunController;
  readonly etcd: Etcd3;
  /** The run's crash check: throws once a node or etcd died, or etcd stopped answering. */
  readonly watch: RunWatch;
  readonly image: { node: string; nodeId: string; etcd: string | undefined };
  readonly startup: ReadonlyMap<string, NodeStartup>;
  readonly timings: DeploymentTimings;
  /** A node joins the running run (churn's join=): see Coordinated.join. */
  join(joining: Join): Promise<void>;
  /**
   * The hosts a placement policy moves the nodes between (`--policy`): `--hosts` on one engine, a Swarm's engines;
   * none where every node has one place.
   */
  readonly placementHosts?: readonly EmulatedHost[];
  /**
   * What the runtime adds to run.json's facts (e.g. Swarm's placement): asked while the run is up, since where
   * its nodes run now (after moves, by this process or by `peerlab migrate`) is read from the engines.
   */
  facts?(): Promise<Readonly<Record<string, unknown>>>;
  /** Removes every container, network and etcd key of the run, and its local state. Safe to call twice. */
  tearDown(): Promise<void>;
}

/** Fails before anything starts rather than leave the last nodes hanging, unable to reach etcd (see arp.ts). */
export async function checkArpTable(nodes: number, edges: number): Promise<void> {
  const limit = await readArpLimit();
  const needed = arpEntriesNeeded(nodes, edges);
  if (limit !== undefined && needed > limit) {
    throw new PeerlabError(
      `${nodes} nodes and ${edges} edges need about ${needed} ARP entries, but the host's ARP table holds ${limit} (${ARP_LIMIT_SYSCTL})`,
      { hint: arpFix(needed) },
    );
  }
}

export async function deployOnDocker(options: DeploymentOptions): Promise<Deployment<DockerRuntime>> {
  const { runId, graph } = options;
  if (graph.order > MAX_NODES_PER_BRIDGE) {
    throw new PeerlabError(`${graph.order} nodes do not fit on one Docker bridge network (at most ${MAX_NODES_PER_BRIDGE})`, {
      hint: 'use a smaller topology, or the swarm runtime when it lands',
    });
  }
  await checkArpTable(graph.order, graph.size);
  const docker = await connectDocker();
  const began = Date.now();
  const stage = options.onStage ?? (() => {});

  stage('images');
  const agentDir = await buildAgentBundle();
  const nodeImage = await ensureNodeImage({ agentDir, base: options.baseImage, onLog: (line: string) => stage('images', line) });
  const etcdImage = options.etcdEndpoints ? undefined : await ensureEtcdImage({ image: options.etcdImage, onLog: (line: string) => stage('images', line) });
  const imagesMs = Date.now() - began;

  // Torn down in this order: node and etcd containers first (so nothing writes any more), then the run's keys
  // in an external etcd, then the client and local state. Each step runs even if an earlier one failed.
  let runtime: DockerRuntime | undefined;
  let watch: RunWatch | undefined;
  const held: CoordinationHeld = {};
  let tearingDown: Promise<void> | undefined;
  const tearDown = (): Promise<void> =>
    (tearingDown ??= runAll([
      async () => watch?.stop(),
      async () => held.stopFollowing?.(),
      async () => held.controller?.close(),
      async () => runtime?.destroy(),
      async () => {
        // An etcd that is gone cannot be asked, and would be retried for half a minute.
        if (options.etcdEndpoints && !watch?.etcdLost) await held.controller?.deleteRunKeys();
      },
      async () => held.etcd?.close(),
      () => rm(runStateDir(runId), { recursive: true, force: true }),
    ]));
  try {
    stage('network');
    const nodes = await DockerRuntime.create(docker, {
      runId,
      image: nodeImage.tag,
      memoryLimit: options.nodeMemoryLimit,
      mounts: { [options.bundleDir]: '/algorithm' },
      writableMounts: options.traceDir ? { [options.traceDir]: NODE_TRACE_DIR } : {},
      concurrency: options.concurrency,
      ...(options.hosts && { hosts: options.hosts }),
    });
    runtime = nodes;
    const crashes = await RunWatch.start(docker, nodes, options.nodeMemoryLimit);
    watch = crashes;

    stage('etcd');
    // An external etcd is its owner's, authentication included (src/etcd/auth.ts): peerlab connects without a login.
    const runEtcd = options.etcdEndpoints
      ? { host: options.etcdEndpoints.join(','), nodes: options.etcdEndpoints.join(',') }
      : await startEtcdContainer(docker, { runId, network: networkName(runId), image: etcdImage!.tag, hostPort: options.etcdPort, auth: options.etcdAuth });
    const { etcd, controller, startup, timings, join } = await coordinateNodes(
      {
        ...options,
        nodes,
        watch: crashes,
        etcd: runEtcd,
        bundleInNode: (file) => `/algorithm/${path.basename(file)}`,
        ...(options.traceDir ? { nodeTraceDir: NODE_TRACE_DIR } : {}),
        began,
        stage,
      },
      held,
    );
    return {
      runId,
      runtime: nodes,
      controller,
      etcd,
      watch: crashes,
      image: { node: nodeImage.tag, nodeId: nodeImage.id, etcd: etcdImage?.tag },
      startup,
      timings: { imagesMs, ...timings },
      join,
      ...(options.hosts && { facts: async () => ({ hosts: hostsFacts(options.hosts!) }), placementHosts: options.hosts.list }),
      tearDown,
    };
  } catch (error) {
    await tearDown().catch((cleanupError: unknown) => {
      process.stderr.write(`warning: cleanup after a failed start-up also failed: ${String(cleanupError)}\n`);
    });
    throw error;
  }
}

/** Runs every step in order, even after a failure, then rejects with the first failure. */
export async function runAll(steps: ReadonlyArray<() => Promise<unknown>>): Promise<void> {
  let failure: { error: unknown } | undefined;
  for (const step of steps) {
    try {
      await step();
    } catch (error) {
      failure ??= { error };
    }
  }
  if (failure) throw failure.error;
}
