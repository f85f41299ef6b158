/**
 * Which of a run's hosts (`--hosts`) each node starts on, and run.json's record of them: the same on Docker, where
 * a host is a CPU quota, and in the simulator, where it is a declared capacity.
 */
import type { Topology } from '../topology/index.js';
import { limitsNodes, overfilledHost, type Roomy } from '../placement/room.js';
import { hostsReplayFlags } from '../runtime/emulated-hosts.js';
import type { RuntimeTuning } from './deployment.js';
import { placeNodes, type PlacementPolicy } from './swarm-placement.js';

export interface HostedNodes<Host extends { readonly name: string }> {
  readonly list: readonly Host[];
  /** Node id → the name of the host it starts on. */
  readonly hostOf: ReadonlyMap<string, string>;
}

/** Each node's host, by the run's placement (`--placement`) over the hosts in the order listed. */
export function hostsWithNodes<Host extends { readonly name: string }>(graph: Topology, list: readonly Host[], policy: PlacementPolicy): HostedNodes<Host> {
  const { engineOf } = placeNodes(graph, list.length, policy);
  return { list, hostOf: new Map([...engineOf].map(([id, index]) => [id, list[index]!.name])) };
}

/**
 * The first host whose maxNodes the run's first placement would pass, and by how much; undefined when each has
 * room. A run refuses it in terms of its flags, an experiment in terms of its file's fields.
 */
export function overfilledAtStart(graph: Topology, list: readonly Roomy[], policy: PlacementPolicy) {
  // Placed here as well as by the runtime only when a host has a limit to check it against.
  return limitsNodes(list) ? overfilledHost(list, hostsWithNodes(graph, list, policy).hostOf) : undefined;
}

/** run.json's record of the hosts: each as declared, with the nodes it started with. */
export function hostsFacts<Host extends { readonly name: string }>({ list, hostOf }: HostedNodes<Host>) {
  return list.map((host) => ({ ...host, nodes: [...hostOf].filter(([, on]) => on === host.name).map(([id]) => id) }));
}

/** The flags that give a run its hosts and its nodes' first places again (run.json's replay). */
export function hostsPlacementReplayFlags({ hosts, placement }: Pick<RuntimeTuning, 'hosts' | 'placement'>): string[] {
  return hosts ? [...hostsReplayFlags(hosts), ...(placement && placement !== 'spread' ? ['--placement', placement] : [])] : [];
}
