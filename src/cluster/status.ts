/** `peerlab cluster status`: each engine's socket, Swarm role and contents, and the Swarm's nodes. */
import type Docker from 'dockerode';
import { localImage } from '../docker/engine.js';
import { PeerlabError } from '../errors.js';
import { engineClient, engineLog, engineObjects, logTail, type EngineObjects } from './engine.js';
import { DEFAULT_CLUSTER_NAME } from './plan.js';
import { clusterNames, readState, type ClusterState } from './state.js';

export interface EngineStatus {
  readonly name: string;
  readonly socketPath: string;
  readonly address: string;
  readonly netns: string | undefined;
  readonly reachable: boolean;
  /** manager, worker, or none (not in a Swarm). */
  readonly role: 'manager' | 'worker' | 'none';
  readonly swarmState: string | undefined;
  readonly nodeId: string | undefined;
  readonly objects: EngineObjects | undefined;
  /** Which of the images `cluster up` copied this engine has, and which it lacks. */
  readonly images: readonly string[];
  readonly missingImages: readonly string[];
  /** The dockerd log (extra engines), and its last lines when the engine does not answer. */
  readonly log: string | undefined;
  readonly error: string | undefined;
}

export interface ClusterStatus {
  readonly name: string;
  readonly up: boolean;
  readonly swarmId: string | undefined;
  readonly linkSubnet: string;
  readonly addressPool: string;
  readonly dataPathPort: number;
  readonly nodes: { readonly total: number; readonly ready: number } | undefined;
  readonly engines: readonly EngineStatus[];
}

/** The one cluster's state (or the named one's); a one-line error when there is none. */
export async function requireState(name?: string, stateRoot?: string): Promise<ClusterState> {
  const names = name ? [name] : await clusterNames(stateRoot);
  const state = names.length === 1 ? await readState(names[0]!, stateRoot) : undefined;
  if (!state) {
    throw new PeerlabError(name ? `no cluster named ${name} is up` : names.length > 1 ? `${names.length} clusters exist: ${names.join(', ')}` : 'no local cluster is up', {
      hint: names.length > 1 ? 'name one with --name' : `start one with peerlab cluster up --engines 3${name && name !== DEFAULT_CLUSTER_NAME ? ` --name ${name}` : ''}`,
    });
  }
  return state;
}

export async function clusterStatus(options: { name?: string; stateRoot?: string } = {}): Promise<ClusterStatus> {
  const state = await requireState(options.name, options.stateRoot);
  const { plan } = state;
  const engines = await Promise.all(
    plan.engines.map(async (engine): Promise<EngineStatus> => {
      const socketPath = engine.socketPath ?? state.hostSocket;
      const docker = engineClient(socketPath);
      const base = { name: engine.name, socketPath, address: engine.address, netns: engine.netns, log: engine.dir ? engineLog(engine) : undefined };
      try {
        const info = (await docker.info()) as { Swarm?: { LocalNodeState?: string; NodeID?: string; ControlAvailable?: boolean } };
        const swarmState = info.Swarm?.LocalNodeState;
        const role = swarmState === 'active' ? (info.Swarm?.ControlAvailable ? 'manager' : 'worker') : 'none';
        return {
          ...base,
          reachable: true,
          role,
          swarmState,
          nodeId: info.Swarm?.NodeID || undefined,
          objects: await engineObjects(docker, engine.netns ? {} : { sharedHost: plan.name }),
          ...(await imagesPresent(docker, state.images ?? [])),
          error: undefined,
        };
      } catch (error) {
        return { ...base, reachable: false, role: 'none', swarmState: undefined, nodeId: undefined, objects: undefined, images: [], missingImages: state.images ?? [], error: engine.dir ? await logTail(engine) : String(error) };
      }
    }),
  );
  let nodes: ClusterStatus['nodes'];
  if (engines[0]?.role === 'manager') {
    const list = (await engineClient(state.hostSocket).listNodes()) as Array<{ Status?: { State?: string } }>;
    nodes = { total: list.length, ready: list.filter((node) => node.Status?.State === 'ready').length };
  }
  return {
    name: plan.name,
    up: state.upAt !== undefined && engines.every((engine) => engine.reachable && engine.role !== 'none'),
    swarmId: state.swarmId,
    linkSubnet: plan.linkSubnet,
    addressPool: plan.addressPool,
    dataPathPort: plan.dataPathPort,
    nodes,
    engines,
  };
}

async function imagesPresent(docker: Docker, wanted: readonly string[]): Promise<{ images: string[]; missingImages: string[] }> {
  const present = await Promise.all(wanted.map((tag) => localImage(docker, tag).then(Boolean)));
  return { images: wanted.filter((_, i) => present[i]), missingImages: wanted.filter((_, i) => !present[i]) };
}
