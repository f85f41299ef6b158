/**
 * What every container runtime does once its network, crash watch and etcd are up: connect the CLI to etcd,
 * publish the run's config and topology, start the node containers, wait until every node has registered and
 * connected its links, and shape the packet layer. Docker and Swarm differ in how they make the network and
 * etcd and where a node finds its bundle; from there on a run comes up the same way on both.
 */
import type { Etcd3 } from 'etcd3';
import { connectEtcd } from '../coordination/etcd.js';
import { runKeys, type RunKeys } from '../coordination/keys.js';
import { STARTUP_STALL_MS, type RunConfig } from '../coordination/protocol.js';
import { saveRootPassword } from '../etcd/auth.js';
import type { EtcdEndpoints, RunEtcd } from '../etcd/server.js';
import { hasLinks, neighboursWithLinks } from '../links/edges.js';
import { applyPacketRules, packetRules } from '../links/packet.js';
import { identityEnv, NODE_PORT, testExitEnv } from '../node/identity.js';
import type { ContainerNodes, NodeSpec } from '../runtime/types.js';
import { addJoin, type Join } from '../faults/joins.js';
import { neighboursOf, type Topology } from '../topology/index.js';
import { forEachLimited } from '../util/concurrency.js';
import type { RunId } from '../util/names.js';
import { RunController, type NodeStartup } from './controller.js';
import type { DeploymentTimings, Stage } from './docker-deployment.js';
import type { RunWatch } from './run-watch.js';

/** What coordinateNodes made so far, for the caller's teardown to close even when a step after it failed. */
export interface CoordinationHeld {
  etcd?: Etcd3;
  controller?: RunController;
  stopFollowing?: () => Promise<void>;
}

export interface CoordinationOptions {
  readonly runId: RunId;
  readonly graph: Topology;
  readonly config: RunConfig;
  readonly groups: ReadonlyArray<{ readonly role: string; readonly nodeBundleFile: string; readonly nodes: readonly string[] }>;
  readonly linksLayer: 'message' | 'packet';
  readonly nodes: ContainerNodes;
  readonly watch: RunWatch;
  /** The run's own etcd (its root password is kept, nodes log in), or an external one's endpoints (no login). */
  readonly etcd: RunEtcd | EtcdEndpoints;
  /** Where a node of the group with this bundle finds it inside its container. */
  readonly bundleInNode: (nodeBundleFile: string) => string;
  /** Inside each node: the folder its trace goes to, for a traced run. */
  readonly nodeTraceDir?: string;
  readonly followEtcd?: (etcd: Etcd3, keys: RunKeys) => Promise<() => Promise<void>>;
  readonly startupTimeoutMs: number;
  readonly concurrency: number;
  /** When the deployment began: the timings count from it. */
  readonly began: number;
  readonly stage: (stage: Stage, detail?: string) => void;
  readonly onStarted?: (started: number, total: number) => void;
  readonly onReady?: (ready: number, total: number) => void;
  readonly signal?: AbortSignal;
}

export interface Coordinated {
  readonly etcd: Etcd3;
  readonly controller: RunController;
  readonly startup: ReadonlyMap<string, NodeStartup>;
  readonly timings: Omit<DeploymentTimings, 'imagesMs'>;
  /**
   * A node joins the running run (churn's join=): the run's topology in etcd grows by the node and its edges, and
   * its container starts as every other node's did. Resolves once the node is ready (registered, connected to
   * the members it attaches to): it runs init then, at once, since the run has started. Until then the schedule
   * holds back every event on the node and on those members (DockerFaultSchedule), so none of them leaves
   * while the new node still dials it.
   */
  join(joining: Join): Promise<void>;
}

export async function coordinateNodes(options: CoordinationOptions, held: CoordinationHeld): Promise<Coordinated> {
  const { runId, graph, watch, nodes, stage, began } = options;
  const credentials = 'credentials' in options.etcd ? options.etcd.credentials : undefined;
  if (credentials) await saveRootPassword(runId, credentials.root.password);
  const hostEndpoints = options.etcd.host.split(',');
  watch.watchEtcd(hostEndpoints);
  const etcd = connectEtcd(hostEndpoints, credentials?.root);
  held.etcd = etcd;
  const nodeIds = graph.nodes();
  const controller = await RunController.open(etcd, runId, nodeIds);
  held.controller = controller;
  held.stopFollowing = await options.followEtcd?.(etcd, runKeys(runId));
  // At the packet layer the kernel shapes the links, so the agents must not shape them a second time.
  const neighbours = (of: Topology, id: string) => (options.linksLayer === 'packet' ? neighboursOf(of, id) : neighboursWithLinks(of, id));
  await controller.publish(options.config, new Map(nodeIds.map((id) => [id, neighbours(graph, id)])));
  const etcdMs = Date.now() - began;

  stage('starting');
  const groupOf = new Map(options.groups.flatMap((group) => group.nodes.map((id) => [id, group] as const)));
  const nodeSpec = (id: string, group: CoordinationOptions['groups'][number]): NodeSpec => ({
    id,
    env: {
      ...identityEnv({
        runId,
        nodeId: id,
        role: group.role,
        etcdEndpoints: options.etcd.nodes.split(','),
        etcdLogin: credentials?.node,
        algorithmPath: options.bundleInNode(group.nodeBundleFile),
        port: NODE_PORT,
        ...(options.nodeTraceDir ? { traceDir: options.nodeTraceDir } : {}),
      }),
      ...testExitEnv(),
    },
  });
  const nodeSpecs = nodeIds.map((id) => nodeSpec(id, groupOf.get(id)!));
  await controller.holdNodeLeases(async () => new Set((await nodes.nodeHosts()).keys()));
  const readiness = controller.waitReady({
    withoutProgressMs: STARTUP_STALL_MS,
    check: () => watch.check(),
    onProgress: (ready) => options.onReady?.(ready, nodeIds.length),
  });
  readiness.catch(() => {});
  const stopStarting = new AbortController();
  const starting = nodes.startNodes(
    nodeSpecs,
    ({ started, total }) => options.onStarted?.(started, total),
    options.signal ? AbortSignal.any([options.signal, stopStarting.signal]) : stopStarting.signal,
  );
  try {
    await watch.race(starting);
  } catch (error) {
    // A node died while others still start: start no more, and let the starts under way finish first, so the
    // teardown that follows finds every container of the run (one created after it looked would be left behind).
    stopStarting.abort();
    await starting.catch(() => {});
    throw error;
  }
  const containersStartedMs = Date.now() - began;
  stage('registering');
  const startup = await watch.race(readiness);
  const allReadyMs = Date.now() - began;
  // After every node registered (so addresses are known) and before start: no message has gone yet.
  if (options.linksLayer === 'packet' && hasLinks(graph)) {
    stage('shaping', "links at the packet layer (tc, iptables), in each node's namespace on this host");
    const namespaces = await nodes.nodeNamespaces();
    const addressOf = (id: string): string => namespaces.get(id)!.address;
    await forEachLimited(nodeIds, options.concurrency, (id) => applyPacketRules(namespaces.get(id)!.pid, packetRules(graph, id, addressOf)));
  }
  const shapedMs = Date.now() - began;

  // The members as churn grows them: a copy, made at the first join, so the run's own graph stays as it started.
  let members: Topology | undefined;
  // Joins run side by side, but their topology writes land in the order the joins grew the graph: each write of a
  // member's key holds every join to it so far, and a write of an earlier join landing last would drop a later one.
  let publishing: Promise<unknown> = Promise.resolve();
  const join = async (joining: Join): Promise<void> => {
    // A run with groups refuses join= before anything starts (src/faults): its one group is the role.
    const [group, ...others] = options.groups;
    if (!group || others.length > 0) throw new Error(`node ${joining.node} cannot join a run with groups: it would have no role`);
    members ??= graph.copy();
    addJoin(members, joining);
    const touched = [joining.node, ...joining.attach.map(({ id }) => id)];
    const topology = new Map(touched.map((id) => [id, neighbours(members!, id)]));
    const published = publishing.then(() => controller.join(joining.node, topology));
    publishing = published.catch(() => {});
    await published;
    await nodes.startNodes([{ ...nodeSpec(joining.node, group), neighbours: joining.attach.map(({ id }) => id) }], undefined, options.signal);
    await controller.joined(joining.node, { timeoutMs: options.startupTimeoutMs, check: () => watch.check() });
  };
  return { etcd, controller, startup, timings: { etcdMs, containersStartedMs, allReadyMs, shapedMs }, join };
}
