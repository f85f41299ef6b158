/**
 * `peerlab cluster up`: a real multi-engine Docker Swarm on one machine. The host's engine is engine 1 (the
 * only manager, so the etcd of a run pinned to `node.role == manager` sits next to the CLI); engines 2..N are
 * dockerds in network namespaces, joined as workers. The state is written before anything is created, and any
 * failure or interrupt runs `cluster down`, so a half-made cluster never stays behind.
 */
import type Docker from 'dockerode';
import { connectDocker, dockerEndpoint } from '../docker/engine.js';
import { PeerlabError } from '../errors.js';
import { ensureEtcdImage } from '../image/etcd.js';
import { ensureNodeImage } from '../image/node.js';
import { buildAgentBundle } from '../node/bundle.js';
import { clusterDown } from './down.js';
import { startEngine } from './engine.js';
import { copyImages } from './images.js';
import { DEFAULT_CLUSTER_NAME, planCluster, SWARM_PORT, type ClusterPlan } from './plan.js';
import { CLUSTER_LABEL, clusterNames, ENGINE_LABEL, readState, writeState, type ClusterState } from './state.js';
import { addNetns, hostNetworks, removeStaleVxlans, tool, udpPortInUse } from './system.js';

const NODES_READY_TIMEOUT_MS = 60_000;

export interface ClusterUpOptions {
  readonly name?: string;
  readonly engines: number;
  readonly dataPathPort?: number;
  /** Copy the node and etcd images to every engine (default true). */
  readonly images?: boolean;
  readonly stateRoot?: string;
  readonly onProgress?: (line: string) => void;
  /** Aborting stops `up` at its next step; it then takes the cluster down and rejects. */
  readonly signal?: AbortSignal;
}

export interface ClusterUpResult {
  readonly name: string;
  readonly swarmId: string;
  readonly linkSubnet: string;
  readonly addressPool: string;
  readonly overlaySubnetBits: number;
  readonly dataPathPort: number;
  readonly engines: ReadonlyArray<{ name: string; socketPath: string; address: string; role: 'manager' | 'worker'; nodeId: string }>;
  readonly images: readonly string[];
  readonly imageCopy: { readonly bytes: number; readonly ms: number };
  /** Wall time of each stage and in all. */
  readonly ms: { readonly network: number; readonly engines: number; readonly swarm: number; readonly images: number; readonly total: number };
}

export async function clusterUp(options: ClusterUpOptions): Promise<ClusterUpResult> {
  const began = Date.now();
  const name = options.name ?? DEFAULT_CLUSTER_NAME;
  const progress = options.onProgress ?? (() => {});
  const host = await connectDocker();
  const state = await prepare(host, name, options);
  const { plan } = state;
  try {
    const ms = { network: 0, engines: 0, swarm: 0, images: 0, total: 0 };
    let stage = Date.now();
    const stale = await removeStaleVxlans();
    if (stale.length > 0) progress(`removed ${stale.length} stale VXLAN interface(s) of an earlier Swarm: ${stale.join(', ')}`);
    progress(`network: ${plan.linkSubnet} on a bridge in ${plan.hubNetns}`);
    await wireNetwork(plan);
    ms.network = Date.now() - stage;

    options.signal?.throwIfAborted();
    stage = Date.now();
    progress(`engines: starting ${plan.engines.length - 1} dockerd(s) in their namespaces`);
    const extra = plan.engines.filter((engine) => engine.netns);
    const clients = await Promise.all(extra.map((engine) => startEngine(engine, name)));
    ms.engines = Date.now() - stage;

    options.signal?.throwIfAborted();
    stage = Date.now();
    progress(`swarm: init on the host's engine at ${plan.engines[0]!.address}, ${clients.length} worker(s) joining`);
    const engines = await makeSwarm(host, clients, state);
    ms.swarm = Date.now() - stage;

    options.signal?.throwIfAborted();
    stage = Date.now();
    let images: string[] = [];
    let imageCopy = { bytes: 0, ms: 0 };
    if (options.images !== false) {
      const onLog = (line: string) => progress(`  ${line}`);
      progress('images: the node and etcd images on the host, then one save streamed into every engine');
      const node = await ensureNodeImage({ docker: host, agentDir: await buildAgentBundle(), onLog });
      const etcd = await ensureEtcdImage({ docker: host, onLog });
      images = [node.tag, etcd.tag];
      options.signal?.throwIfAborted();
      imageCopy = await copyImages(host, clients, images);
    }
    ms.images = Date.now() - stage;

    state.images = images;
    state.upAt = new Date().toISOString();
    await writeState(state);
    ms.total = Date.now() - began;
    return {
      name,
      swarmId: state.swarmId!,
      linkSubnet: plan.linkSubnet,
      addressPool: plan.addressPool,
      overlaySubnetBits: plan.overlaySubnetBits,
      dataPathPort: plan.dataPathPort,
      engines,
      images,
      imageCopy,
      ms,
    };
  } catch (error) {
    progress(`cluster up failed; taking down what was made`);
    const cleanup = await clusterDown({ name, stateRoot: options.stateRoot }).then(
      () => undefined,
      (downError: unknown) => (downError instanceof Error ? downError.message : String(downError)),
    );
    if (cleanup === undefined) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new PeerlabError(`cluster up failed (${reason}), and removing what it made failed too: ${cleanup}`, { hint: 'run peerlab cluster down', cause: error });
  }
}

/** Refuses what cannot work, plans, and records the plan and the host's prior state before creating anything. */
async function prepare(host: Docker, name: string, options: ClusterUpOptions): Promise<ClusterState> {
  const hostSocket = await dockerEndpoint(host);
  if (!hostSocket.startsWith('/')) {
    throw new PeerlabError(`the host's engine is reached over ${hostSocket}, not a local socket`, { hint: 'a local cluster extends the engine on this machine: unset DOCKER_HOST' });
  }
  if (await readState(name, options.stateRoot)) {
    throw new PeerlabError(`cluster ${name} is already up (or half up)`, { hint: 'see peerlab cluster status, or remove it with peerlab cluster down' });
  }
  const others = await clusterNames(options.stateRoot);
  if (others.length > 0) {
    throw new PeerlabError(`cluster ${others.join(', ')} is up, and the host's engine can be in one Swarm only`, { hint: `peerlab cluster down --name ${others[0]!} first` });
  }
  const info = (await host.info()) as { Swarm?: { LocalNodeState?: string; NodeID?: string } };
  const swarm = info.Swarm?.LocalNodeState ?? 'inactive';
  if (swarm !== 'inactive') {
    throw new PeerlabError(`the host's engine is already in a Swarm (state ${swarm}, node ${info.Swarm?.NodeID ?? '?'}) that peerlab did not make`, {
      hint: 'use that Swarm directly, or leave it first (docker swarm leave --force)',
    });
  }
  const dockerNetworks = (await host.listNetworks()).flatMap((network) => (network.IPAM?.Config ?? []).map((config) => config.Subnet).filter((subnet): subnet is string => !!subnet && !subnet.includes(':')));
  const plan = planCluster({ name, engines: options.engines, usedNetworks: [...(await hostNetworks()), ...dockerNetworks], stateRoot: options.stateRoot, dataPathPort: options.dataPathPort });
  if (await udpPortInUse(plan.dataPathPort)) {
    throw new PeerlabError(`--data-path-port ${plan.dataPathPort}: UDP port ${plan.dataPathPort} is already in use on this host (another VXLAN?)`, { hint: `pass another one, e.g. --data-path-port ${plan.dataPathPort + 1}` });
  }
  const gwbridge = (await host.listNetworks({ filters: { name: ['docker_gwbridge'] } })).some((network) => network.Name === 'docker_gwbridge');
  const state: ClusterState = { version: 1, plan, hostSocket, hostBefore: { swarm, gwbridge } };
  await writeState(state);
  return state;
}

/** The hub namespace with its bridge, and one veth per engine from the bridge to the engine. */
async function wireNetwork(plan: ClusterPlan): Promise<void> {
  const hub = plan.hubNetns;
  await addNetns(hub);
  await tool('ip', ['-n', hub, 'link', 'add', 'br0', 'type', 'bridge']);
  await tool('ip', ['-n', hub, 'link', 'set', 'br0', 'up']);
  for (const engine of plan.engines) {
    const address = `${engine.address}/${plan.linkPrefixLength}`;
    if (engine.netns) {
      await addNetns(engine.netns);
      await tool('ip', ['-n', hub, 'link', 'add', engine.hubLeg, 'type', 'veth', 'peer', 'name', engine.ownLeg, 'netns', engine.netns]);
      await tool('ip', ['-n', engine.netns, 'addr', 'add', address, 'dev', engine.ownLeg]);
      // No default route on purpose: the link is all an engine reaches, and anything else (a registry, the
      // host's DNS) fails at once with "network unreachable" instead of hanging until a timeout.
      await tool('ip', ['-n', engine.netns, 'link', 'set', engine.ownLeg, 'up']);
    } else {
      await tool('ip', ['link', 'add', engine.ownLeg, 'type', 'veth', 'peer', 'name', engine.hubLeg, 'netns', hub]);
      await tool('ip', ['addr', 'add', address, 'dev', engine.ownLeg]);
      await tool('ip', ['link', 'set', engine.ownLeg, 'up']);
    }
    await tool('ip', ['-n', hub, 'link', 'set', engine.hubLeg, 'master', 'br0', 'up']);
  }
}

/**
 * Swarm init on the host with explicit address pool and data-path port, every other engine joined as a worker
 * on its own link address, each node labelled with its engine, and every node Ready.
 */
async function makeSwarm(host: Docker, workers: readonly Docker[], state: ClusterState): Promise<ClusterUpResult['engines'][number][]> {
  const { plan } = state;
  const manager = plan.engines[0]!;
  await host.swarmInit({
    ListenAddr: `${manager.address}:${SWARM_PORT}`,
    AdvertiseAddr: manager.address,
    DataPathAddr: manager.address,
    DataPathPort: plan.dataPathPort,
    DefaultAddrPool: [plan.addressPool],
    SubnetSize: plan.overlaySubnetBits,
    Spec: { Labels: { [CLUSTER_LABEL]: plan.name } },
  });
  // The routing mesh needs IPVS, which this kernel lacks (see the README): without the ingress network no
  // service can ask for it, and no engine builds an ingress sandbox that cannot work.
  await removeIngress(host);
  const swarm = (await host.swarmInspect()) as { ID: string; JoinTokens: { Worker: string } };
  state.swarmId = swarm.ID;
  await writeState(state);
  await Promise.all(
    workers.map((worker, i) => {
      const address = plan.engines[i + 1]!.address;
      return worker.swarmJoin({
        ListenAddr: `${address}:${SWARM_PORT}`,
        AdvertiseAddr: address,
        DataPathAddr: address,
        RemoteAddrs: [`${manager.address}:${SWARM_PORT}`],
        JoinToken: swarm.JoinTokens.Worker,
      });
    }),
  );
  const clients = [host, ...workers];
  const nodeIds = await Promise.all(clients.map(async (client) => ((await client.info()) as { Swarm: { NodeID: string } }).Swarm.NodeID));
  for (const [i, nodeId] of nodeIds.entries()) {
    const node = host.getNode(nodeId);
    const { Version, Spec } = (await node.inspect()) as { Version: { Index: number }; Spec: { Labels?: Record<string, string> } };
    await node.update({ _query: { version: Version.Index }, _body: { ...Spec, Labels: { ...Spec.Labels, [CLUSTER_LABEL]: plan.name, [ENGINE_LABEL]: String(i + 1) } } });
  }
  await nodesReady(host, nodeIds.length);
  return plan.engines.map((engine, i) => ({
    name: engine.name,
    socketPath: engine.socketPath ?? state.hostSocket,
    address: engine.address,
    role: i === 0 ? ('manager' as const) : ('worker' as const),
    nodeId: nodeIds[i]!,
  }));
}

async function nodesReady(host: Docker, count: number): Promise<void> {
  const deadline = Date.now() + NODES_READY_TIMEOUT_MS;
  for (;;) {
    const nodes = (await host.listNodes()) as Array<{ Status?: { State?: string } }>;
    const ready = nodes.filter((node) => node.Status?.State === 'ready').length;
    if (ready >= count) return;
    if (Date.now() > deadline) {
      throw new PeerlabError(`only ${ready} of ${count} Swarm nodes became Ready within ${NODES_READY_TIMEOUT_MS / 1000} s`, { hint: 'see the engines\' logs (peerlab cluster status), then peerlab cluster down' });
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

const INGRESS_TIMEOUT_MS = 10_000;

/** The manager creates `ingress` a moment after init; wait for it, then remove it. */
async function removeIngress(host: Docker): Promise<void> {
  const deadline = Date.now() + INGRESS_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const ingress = (await host.listNetworks({ filters: { name: ['ingress'] } })).find((network) => network.Name === 'ingress');
    if (ingress && (await host.getNetwork(ingress.Id).remove().then(() => true, () => false))) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new PeerlabError(`the Swarm's ingress network did not appear or could not be removed within ${INGRESS_TIMEOUT_MS / 1000} s`, { hint: 'see the host engine\'s log (journalctl -u docker), then peerlab cluster down' });
}
