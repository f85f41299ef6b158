/**
 * A host's room: how many more nodes it can take, when it declares `maxNodes` (a placement input file's hosts).
 * The same rules, and the same words, on Docker's emulated hosts and in the simulator: a run may not start more
 * nodes on a host than it holds, a move to a full host is refused, and a host chosen for a node (a move without
 * `--to`, a churn join) is one with room.
 */
import { PeerlabError } from '../errors.js';

export interface Roomy {
  readonly name: string;
  readonly maxNodes?: number;
}

/** How many more nodes `host` can take while it holds `holding`: Infinity without a limit. */
export function roomOn(host: Roomy, holding: number): number {
  return host.maxNodes === undefined ? Infinity : Math.max(0, host.maxNodes - holding);
}

/** How many nodes each host holds, from each node's host. */
export function nodesPerHost(hostOfNode: Iterable<string>): Map<string, number> {
  const count = new Map<string, number>();
  for (const host of hostOfNode) count.set(host, (count.get(host) ?? 0) + 1);
  return count;
}

/** Why host `name` of `hosts` cannot take one more node, given what each holds, or undefined if it can. */
export function whyNoRoom(hosts: readonly Roomy[], name: string, holding: ReadonlyMap<string, number>): PeerlabError | undefined {
  const to = hosts.find((host) => host.name === name);
  return to === undefined || roomOn(to, holding.get(name) ?? 0) > 0 ? undefined : noRoom(to, hosts, holding);
}

/** Whether any of `hosts` limits its nodes: only then is there room to count. */
export function limitsNodes(hosts: readonly Roomy[]): boolean {
  return hosts.some((host) => host.maxNodes !== undefined);
}

/** The refusal of a move to `to`, which holds as many nodes as it can; `hosts` with what each holds, for the hint. */
function noRoom(to: Roomy, hosts: readonly Roomy[], holding: ReadonlyMap<string, number>): PeerlabError {
  const withRoom = hosts.filter((host) => roomOn(host, holding.get(host.name) ?? 0) > 0).map((host) => host.name);
  return new PeerlabError(`--to ${to.name}: host ${to.name} has no room: it holds ${to.maxNodes} node(s), its maxNodes`, {
    hint: withRoom.length > 0 ? `name a host with room (${withRoom.join(', ')}), or move a node off ${to.name} first` : `every host is full: raise a host's maxNodes in the hosts file`,
  });
}

/** The refusal when no host other than `except` has room for a node that needs one (a move, a join). */
export function everyHostFull(except: string | undefined): PeerlabError {
  return new PeerlabError(`no host${except === undefined ? '' : ` other than ${except}`} has room for another node: each holds its maxNodes`, {
    hint: "raise a host's maxNodes in the hosts file, or move a node off a host first",
  });
}

/** The first of `hosts` that a placement (node id → host) puts more nodes on than its maxNodes, and how many; undefined when each has room. */
export function overfilledHost(hosts: readonly Roomy[], hostOf: ReadonlyMap<string, string>): { name: string; nodes: number; maxNodes: number } | undefined {
  const holding = nodesPerHost(hostOf.values());
  for (const { name, maxNodes } of hosts) {
    const nodes = holding.get(name) ?? 0;
    if (maxNodes !== undefined && nodes > maxNodes) return { name, nodes, maxNodes };
  }
  return undefined;
}
