/**
 * Swarm facts for `peerlab doctor`, gathered only when the host's engine is in a Swarm or a local cluster is up:
 * the Swarm's state and nodes, and which of Swarm's ports each engine listens on. An engine in a network
 * namespace is read through its dockerd's /proc/<pid>/net, which shows that process's namespace.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type Docker from 'dockerode';
import { DEFAULT_DATA_PATH_PORT, SWARM_PORT } from '../cluster/plan.js';
import { clusterNames, readState } from '../cluster/state.js';
import { listeningPorts } from '../cluster/system.js';

/** Swarm's gossip port (tcp and udp), next to the manager's 2377/tcp and the data-path (VXLAN) port. */
export const SWARM_GOSSIP_PORT = 7946;

export interface SwarmFacts {
  /** The host engine's LocalNodeState: active, inactive, pending, error or locked. */
  readonly state: string;
  readonly manager: boolean;
  readonly nodes?: { readonly total: number; readonly ready: number };
  readonly cluster?: string;
  readonly dataPathPort: number;
  /** Per engine: the Swarm ports it listens on ("2377/tcp" …); undefined when they cannot be read. */
  readonly engines: ReadonlyArray<{ readonly name: string; readonly manager: boolean; readonly listening: readonly string[] | undefined }>;
}

export async function gatherSwarmFacts(docker: Docker): Promise<SwarmFacts | undefined> {
  const info = (await docker.info()) as { Swarm?: { LocalNodeState?: string; ControlAvailable?: boolean } };
  const state = info.Swarm?.LocalNodeState ?? 'inactive';
  const [name] = await clusterNames();
  const cluster = name ? await readState(name) : undefined;
  if (state === 'inactive' && !cluster) return undefined;
  const manager = info.Swarm?.ControlAvailable === true;
  let nodes: SwarmFacts['nodes'];
  if (manager) {
    const list = (await docker.listNodes()) as Array<{ Status?: { State?: string } }>;
    nodes = { total: list.length, ready: list.filter((node) => node.Status?.State === 'ready').length };
  }
  const dataPathPort = cluster?.plan.dataPathPort ?? DEFAULT_DATA_PATH_PORT;
  const ports = [
    { port: SWARM_PORT, protocol: 'tcp' as const },
    { port: SWARM_GOSSIP_PORT, protocol: 'tcp' as const },
    { port: SWARM_GOSSIP_PORT, protocol: 'udp' as const },
    { port: dataPathPort, protocol: 'udp' as const },
  ];
  const engines: Array<SwarmFacts['engines'][number]> = [{ name: 'engine-1', manager, listening: await listeningPorts(ports) }];
  for (const engine of cluster?.plan.engines.slice(1) ?? []) {
    const pid = Number((await readFile(path.join(engine.dir!, 'dockerd.pid'), 'utf8').catch(() => '')).trim());
    engines.push({ name: engine.name, manager: false, listening: pid > 0 ? await listeningPorts(ports, pid).catch(() => undefined) : undefined });
  }
  return { state, manager, nodes, cluster: cluster?.plan.name, dataPathPort, engines };
}
