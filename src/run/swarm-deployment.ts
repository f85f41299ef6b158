/**
 * A run on the local Swarm (`peerlab cluster up`): the same nodes, etcd, registry and results as on Docker, with
 * the nodes spread over the cluster's engines as Swarm tasks (src/runtime/swarm.ts). Differences from Docker:
 *  - network: an attachable overlay per run on a subnet of its own, sized for the run (/20 at least: a /24 runs
 *    out at 254 addresses, and every engine takes some of them);
 *  - etcd: a service pinned to the manager, published in host mode (src/etcd/server.ts);
 *  - the algorithm bundles: Swarm configs, since the CLI's folder is not on every engine;
 *  - the node image: copied to any engine that lacks it (docker save | docker load), there is no registry.
 */
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import type Docker from 'dockerode';
import { clusterEngines } from '../cluster/index.js';
import { startupTimeoutMs } from '../coordination/protocol.js';
import { BUNDLE_LABEL, RUN_LABEL } from '../docker/engine.js';
import { startEtcdService } from '../etcd/server.js';
import { PeerlabError } from '../errors.js';
import { ensureEtcdImage } from '../image/etcd.js';
import { ensureNodeImage } from '../image/node.js';
import { buildAgentBundle } from '../node/bundle.js';
import { DEFAULT_NODE_MEMORY, DEFAULT_START_CONCURRENCY } from '../runtime/docker.js';
import { overlayName, removeSwarmRunObjects, SwarmRuntime, type SwarmEngine } from '../runtime/swarm.js';
import { runAll, type Deployment } from './docker-deployment.js';
import { containerReplayFlags, containerRuntime, unavailableUnless, type DockerOptions } from './execute-docker.js';
import type { RunRuntime } from './deployment.js';
import type { PreparedRun } from './prepare.js';
import { coordinateNodes, type CoordinationHeld } from './coordinate-nodes.js';
import { RunWatch } from './run-watch.js';
import { runStateDir } from './state.js';
import { placeJoiner, placeNodes } from './swarm-placement.js';
import { freeOverlaySubnet, spreadImage, startStepPerEngine, swarmEngines } from './swarm-cluster.js';
import type { EmulatedHost } from '../runtime/emulated-hosts.js';
import { serviceCreatePlainStart } from './plain-start-swarm.js';

/** Swarm refuses a config over 500 KB. */
export const SWARM_CONFIG_LIMIT = 500 * 1024;

/** A run's Swarm bring-up. It takes no trace folder: `--trace` is refused before the run starts (tracesMessages). */
export async function deployOnSwarm(prepared: PreparedRun, options: DockerOptions): Promise<Deployment<SwarmRuntime>> {
  const { runId } = prepared;
  const graph = prepared.topology.graph;
  const began = Date.now();
  const stage = options.onStage ?? (() => {});
  const engines = await swarmEngines();
  const manager = engines[0]!.docker;
  const placement = placeNodes(graph, engines.length, options.placement ?? 'spread');
  stage('images', `placement ${options.placement ?? 'spread'} over ${engines.length} engines: ${placement.crossEngineEdges} of ${graph.size} edges cross engines`);
  const nodeImage = await ensureNodeImage({ agentDir: await buildAgentBundle(), base: options.baseImage, onLog: (line: string) => stage('images', line) });
  const etcdImage = await ensureEtcdImage({ image: options.etcdImage, onLog: (line: string) => stage('images', line) });
  const { lacking, copied } = await spreadImage(engines, nodeImage.tag);
  if (lacking > 0) stage('images', `copied ${nodeImage.tag} to ${lacking} engine(s) in ${(copied.ms / 1000).toFixed(1)} s`);
  const imagesMs = Date.now() - began;

  let watch: RunWatch | undefined;
  const held: CoordinationHeld = {};
  let tearingDown: Promise<void> | undefined;
  const tearDown = (): Promise<void> =>
    (tearingDown ??= runAll([
      async () => watch?.stop(),
      async () => held.stopFollowing?.(),
      async () => held.controller?.close(),
      async () => held.etcd?.close(),
      () => removeSwarmRunObjects(engines.map((engine) => engine.docker), runId),
      () => rm(runStateDir(runId), { recursive: true, force: true }),
    ]));
  try {
    stage('network');
    const configsBegan = Date.now();
    const configs = await createBundleConfigs(manager, runId, prepared);
    const configsMs = Date.now() - configsBegan;
    const subnet = await freeOverlaySubnet(manager, graph.order + engines.length + 8);
    const nodes = await SwarmRuntime.create(engines, {
      runId,
      image: nodeImage.tag,
      memoryLimit: options.nodeMemoryLimit ?? DEFAULT_NODE_MEMORY,
      subnet,
      engineOf: placement.engineOf,
      placeJoiner: (live, neighbourEngines) => placeJoiner(options.placement ?? 'spread', live, neighbourEngines),
      configs,
      // The run's start concurrency, shared by the engines: they all start their tasks on this host's cores.
      startStep: startStepPerEngine(options.concurrency ?? DEFAULT_START_CONCURRENCY, engines.length),
    });
    const crashes = await RunWatch.startOn(
      engines.map((engine) => engine.docker),
      nodes,
      options.nodeMemoryLimit ?? DEFAULT_NODE_MEMORY,
      nodes.nodeOfContainer,
    );
    watch = crashes;

    stage('etcd');
    const runEtcd = await startEtcdService(manager, { runId, network: overlayName(runId), image: etcdImage.tag, hostPort: options.etcdPort ?? 0 });
    const { etcd, controller, startup, timings, join } = await coordinateNodes(
      {
        runId,
        graph,
        config: prepared.config,
        groups: prepared.groups,
        linksLayer: prepared.linksLayer,
        nodes,
        watch: crashes,
        etcd: runEtcd,
        bundleInNode: bundlePath,
        ...(options.followEtcd ? { followEtcd: options.followEtcd } : {}),
        startupTimeoutMs: startupTimeoutMs(graph.order),
        concurrency: options.concurrency ?? DEFAULT_START_CONCURRENCY,
        began,
        stage,
        ...(options.onStarted ? { onStarted: options.onStarted } : {}),
        ...(options.onReady ? { onReady: options.onReady } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      },
      held,
    );
    const perEngine = engines.map((engine, index) => ({ engine: engine.name, nodes: [...placement.engineOf.values()].filter((k) => k === index).length }));
    return {
      runId,
      runtime: nodes,
      controller,
      etcd,
      watch: crashes,
      image: { node: nodeImage.tag, nodeId: nodeImage.id, etcd: etcdImage.tag },
      startup,
      timings: { imagesMs, ...timings },
      join,
      placementHosts: await enginesAsHosts(engines),
      // Read at the end of the run: nodeEngine then names the engine every node runs on, joiners and moved nodes too.
      async facts() {
        const nodeEngine = await nodes.currentPlacement();
        return {
          swarm: {
            placement: options.placement ?? 'spread',
            crossEngineEdges: placement.crossEngineEdges,
            edges: graph.size,
            engines: perEngine,
            nodeEngine: Object.fromEntries([...nodeEngine].map(([id, k]) => [id, engines[k]!.name])),
            overlaySubnet: subnet,
            bundleConfigs: { count: configs.length, bytes: configs.reduce((total, config) => total + config.bytes, 0), ms: configsMs },
            imageCopy: { engines: lacking, bytes: copied.bytes, ms: copied.ms },
          },
        };
      },
      tearDown,
    };
  } catch (error) {
    await tearDown().catch((cleanupError: unknown) => {
      process.stderr.write(`warning: cleanup after a failed start-up also failed: ${String(cleanupError)}\n`);
    });
    throw error;
  }
}

/**
 * The engines as the hosts of a placement policy (`--policy` on the Swarm): each with its CPUs as its capacity,
 * so that a node's load is the CPUs it uses, and `node.demand`'s unit (one CPU without `--hosts`) is theirs.
 */
async function enginesAsHosts(engines: readonly SwarmEngine[]): Promise<EmulatedHost[]> {
  return Promise.all(
    engines.map(async (engine) => {
      const cpus = ((await engine.docker.info()) as { NCPU: number }).NCPU;
      return { name: engine.name, capacity: cpus, priority: 1, central: false, cpus };
    }),
  );
}

function bundlePath(nodeBundleFile: string): string {
  return `/algorithm/${path.basename(nodeBundleFile)}`;
}

/** One Swarm config per distinct bundle, mounted where the agent reads it (PEERLAB_ALGORITHM). */
async function createBundleConfigs(manager: Docker, runId: string, prepared: PreparedRun): Promise<Array<{ id: string; name: string; file: string; bytes: number }>> {
  const files = [...new Set(prepared.groups.map((group) => group.nodeBundleFile))];
  const configs: Array<{ id: string; name: string; file: string; bytes: number }> = [];
  for (const [index, file] of files.entries()) {
    const data = await readFile(file);
    if (data.length > SWARM_CONFIG_LIMIT) {
      throw new PeerlabError(`the algorithm bundle ${path.basename(file)} is ${Math.ceil(data.length / 1024)} KB, over Swarm's ${SWARM_CONFIG_LIMIT / 1024} KB config limit`, {
        hint: 'import less into the algorithm (every import is bundled), or run it on --runtime docker',
      });
    }
    // Swarm allows config names of 64 characters: a run id (up to 45) leaves no room for a bundle's file name,
    // which goes in a label instead.
    const name = `peerlab-${runId}-b${index}`;
    const labels = { [RUN_LABEL]: runId, [BUNDLE_LABEL]: path.basename(file) };
    const created = (await manager.createConfig({ Name: name, Labels: labels, Data: data.toString('base64') })) as { ID?: string; id?: string };
    configs.push({ id: created.ID ?? created.id ?? '', name, file: bundlePath(file), bytes: data.length });
  }
  return configs;
}

/** Nodes as Swarm tasks over the local cluster's engines (`peerlab cluster up`). */
export const swarmRuntime: RunRuntime = containerRuntime({
  kind: 'swarm',
  emulatesHosts: false,
  hostsHaveCpus: false,
  hostsHaveDistances: false,
  placesOnEngines: true,
  nodesReachCliAtGateway: false,
  tracesMessages: false,
  unavailable: () => unavailableUnless(clusterEngines),
  replayFlags: (prepared, tuning) => [
    ...containerReplayFlags(prepared, tuning),
    ...(tuning.placement !== undefined && tuning.placement !== 'spread' ? ['--placement', tuning.placement] : []),
  ],
  standUp: deployOnSwarm,
  plainStart: serviceCreatePlainStart,
});
