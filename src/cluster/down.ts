/**
 * `peerlab cluster down`: every engine emptied and out of the Swarm, the extra dockerds stopped, the namespaces,
 * veths and bridge removed, the state folder deleted, and the host's engine back to its state before `up`.
 * Idempotent, and works after a half-failed `up`: each step skips what is already gone.
 */
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type Docker from 'dockerode';
import { connectDocker } from '../docker/engine.js';
import { PeerlabError } from '../errors.js';
import { emptyEngine, engineClient, stopEngine, SWARM_TASK_LABEL, type EngineObjects } from './engine.js';
import { DEFAULT_CLUSTER_NAME, DEFAULT_STATE_ROOT, planCluster, type ClusterPlan } from './plan.js';
import { CLUSTER_LABEL, readState, type ClusterState } from './state.js';
import { deleteLink, deleteNetns, mountsUnder, netnsNames, removeStaleVxlans, unmountLazily } from './system.js';

const TASKS_GONE_TIMEOUT_MS = 30_000;

export interface ClusterDownOptions {
  readonly name?: string;
  readonly stateRoot?: string;
  readonly onProgress?: (line: string) => void;
}

export interface ClusterDownResult {
  readonly name: string;
  /** False when there was nothing of this cluster to remove. */
  readonly found: boolean;
  readonly engines: number;
  readonly removed: EngineObjects;
  /** Whether the host's engine left the Swarm the cluster had made. */
  readonly hostLeftSwarm: boolean;
}

export async function clusterDown(options: ClusterDownOptions = {}): Promise<ClusterDownResult> {
  const name = options.name ?? DEFAULT_CLUSTER_NAME;
  const stateRoot = options.stateRoot ?? DEFAULT_STATE_ROOT;
  const progress = options.onProgress ?? (() => {});
  const state = await readState(name, stateRoot);
  const plan = state?.plan ?? (await planFromLeftovers(name, stateRoot));
  if (!plan) return { name, found: false, engines: 0, removed: { services: 0, containers: 0, networks: 0, volumes: 0 }, hostLeftSwarm: false };

  // Every step runs even when an earlier one failed, so one stuck object never strands the rest; the first
  // failure is reported at the end, and the state folder stays for another `down` to finish the job.
  const failures: string[] = [];
  const attempt = async <T>(what: string, step: () => Promise<T>, fallback: T): Promise<T> => {
    try {
      return await step();
    } catch (error) {
      failures.push(`${what}: ${error instanceof Error ? error.message : String(error)}`);
      return fallback;
    }
  };
  const none: EngineObjects = { services: 0, containers: 0, networks: 0, volumes: 0 };

  const extra = plan.engines.filter((engine) => engine.netns);
  progress(`engines: emptying and stopping ${extra.length} dockerd(s)`);
  const emptied = await Promise.all(
    extra.map(async (engine) => {
      const docker = engineClient(engine.socketPath!);
      let objects = none;
      if (await docker.ping().then(() => true, () => false)) {
        await docker.swarmLeave({ force: true }).catch(() => undefined);
        objects = await attempt(`emptying ${engine.name}`, () => emptyEngine(docker, { services: false }), none);
      }
      await attempt(`stopping ${engine.name}`, () => stopEngine(engine), undefined);
      return objects;
    }),
  );

  const notRestored: { objects: EngineObjects | undefined; left: boolean } = { objects: undefined, left: false };
  const fromHost = state
    ? await attempt('restoring the host\'s engine', async () => restoreHost(await connectDocker(), state, progress), notRestored)
    : notRestored;

  progress(`network: removing ${plan.hubNetns} and the engines' namespaces`);
  for (const netns of [...extra.map((engine) => engine.netns!), plan.hubNetns]) await attempt(`removing namespace ${netns}`, () => deleteNetns(netns), false);
  await attempt(`removing ${plan.engines[0]!.ownLeg}`, () => deleteLink(plan.engines[0]!.ownLeg), false);

  if (failures.length === 0) {
    for (const point of await mountsUnder(plan.stateDir)) await unmountLazily(point);
    await attempt(`removing ${plan.stateDir}`, () => rm(plan.stateDir, { recursive: true, force: true }), undefined);
  }
  if (failures.length > 0) {
    throw new PeerlabError(`cluster ${name} is not fully down: ${failures[0]!}${failures.length > 1 ? ` (and ${failures.length - 1} more)` : ''}`, { hint: 'fix that, then run peerlab cluster down again' });
  }

  const removed = [...emptied, ...(fromHost.objects ? [fromHost.objects] : [])].reduce((sum, objects) => ({
    services: sum.services + objects.services,
    containers: sum.containers + objects.containers,
    networks: sum.networks + objects.networks,
    volumes: sum.volumes + objects.volumes,
  }));
  return { name, found: true, engines: plan.engines.length, removed, hostLeftSwarm: fromHost.left };
}

/**
 * The host's engine is shared with everything else on the machine, so only the cluster's objects go: the
 * services of the Swarm peerlab made (and so their tasks), containers labelled with the cluster, the Swarm
 * itself, and docker_gwbridge when the Swarm brought it. A Swarm peerlab did not make is left alone.
 */
async function restoreHost(host: Docker, state: ClusterState, progress: (line: string) => void): Promise<{ objects: EngineObjects; left: boolean }> {
  const info = (await host.info()) as { Swarm?: { LocalNodeState?: string; Cluster?: { ID?: string } } };
  let services = 0;
  let left = false;
  // Ours by the id `up` recorded, or, when `up` was killed between the init and recording it, by the label the
  // init gave the Swarm (and only if the host was in no Swarm before).
  const swarmSpec = (await host.swarmInspect().catch(() => undefined)) as { Spec?: { Labels?: Record<string, string> } } | undefined;
  const ours =
    (state.swarmId !== undefined && info.Swarm?.Cluster?.ID === state.swarmId) ||
    (state.hostBefore.swarm === 'inactive' && info.Swarm?.LocalNodeState === 'active' && swarmSpec?.Spec?.Labels?.[CLUSTER_LABEL] === state.plan.name);
  if (ours) {
    progress('host: removing the Swarm\'s services and leaving the Swarm');
    const serviceIds = new Set<string>();
    for (const service of await host.listServices()) {
      await host.getService(service.ID).remove().catch(() => undefined);
      serviceIds.add(service.ID);
    }
    services = serviceIds.size;
    await removeTasks(host, serviceIds);
    await host.swarmLeave({ force: true });
    left = true;
  } else if (state.swarmId !== undefined && info.Swarm?.LocalNodeState !== 'inactive') {
    progress(`host: in Swarm ${info.Swarm?.Cluster?.ID ?? '?'}, not the cluster's ${state.swarmId}: left alone`);
  }
  const labelled = await host.listContainers({ all: true, filters: { label: [`${CLUSTER_LABEL}=${state.plan.name}`] } });
  await Promise.all(labelled.map((container) => host.getContainer(container.Id).remove({ force: true, v: true }).catch(() => undefined)));
  const networks = await host.listNetworks({ filters: { label: [`${CLUSTER_LABEL}=${state.plan.name}`] } });
  let removedNetworks = 0;
  for (const network of networks) if (await host.getNetwork(network.Id).remove().then(() => true, () => false)) removedNetworks++;
  if (!state.hostBefore.gwbridge && (left || state.swarmId === undefined)) {
    if (await removeGwbridge(host)) removedNetworks++;
  }
  const swarmNow = ((await host.info()) as { Swarm?: { LocalNodeState?: string } }).Swarm?.LocalNodeState;
  if (swarmNow === 'inactive') await removeStaleVxlans();
  return { objects: { services, containers: labelled.length, networks: removedNetworks, volumes: 0 }, left };
}

/**
 * The removed services' task containers on the host: removed at once rather than waiting out each task's stop
 * grace period (a Node.js task as PID 1 ignores SIGTERM, so that is the full 10 s), then awaited, since leaving
 * the Swarm with a task still attached strands its overlay endpoint.
 */
async function removeTasks(host: Docker, serviceIds: ReadonlySet<string>): Promise<void> {
  const deadline = Date.now() + TASKS_GONE_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const tasks = (await host.listContainers({ all: true, filters: { label: [SWARM_TASK_LABEL] } })).filter((task) => serviceIds.has(task.Labels[SWARM_TASK_LABEL] ?? ''));
    if (tasks.length === 0) return;
    await Promise.all(tasks.map((task) => host.getContainer(task.Id).remove({ force: true }).catch(() => undefined)));
    await sleep(100);
  }
}

/** docker_gwbridge outlives the Swarm and stays attached for a moment after the leave. */
async function removeGwbridge(host: Docker): Promise<boolean> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const [network] = await host.listNetworks({ filters: { name: ['docker_gwbridge'] } });
    if (!network || network.Name !== 'docker_gwbridge') return false;
    if (await host.getNetwork(network.Id).remove().then(() => true, () => false)) return true;
    await sleep(250);
  }
  return false;
}

/**
 * Without a state file (lost, or `up` died before writing it), the names are still known: they follow from the
 * cluster's name and the engine folders and namespaces that exist.
 */
async function planFromLeftovers(name: string, stateRoot: string): Promise<ClusterPlan | undefined> {
  const prefix = `peerlab-${name}-`;
  const indices = (await netnsNames()).filter((ns) => ns.startsWith(prefix)).map((ns) => Number(ns.slice(prefix.length)));
  const folders = await readdir(path.join(stateRoot, name)).catch(() => undefined);
  for (const folder of folders ?? []) if (/^engine-\d+$/.test(folder)) indices.push(Number(folder.slice('engine-'.length)));
  const hubExists = (await netnsNames()).includes(`${prefix}hub`);
  if (!hubExists && folders === undefined && indices.length === 0) return undefined;
  const engines = Math.max(1, ...indices.filter(Number.isInteger));
  return planCluster({ name, engines, usedNetworks: [], stateRoot });
}
