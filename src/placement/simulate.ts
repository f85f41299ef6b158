import type { Placement, PlacementInput, PlacementPolicy } from '../sdk/placement.js';
import { loadOn } from '../sdk/placement.js';
import { PeerlabError } from '../errors.js';

export interface HostOutcome {
  readonly host: string;
  readonly capacity: number;
  readonly priority: number;
  /** The nodes the placement puts there, in input order. */
  readonly nodes: string[];
  /** Their loads over the host's capacity: seed 000's "hypothetical machine load". */
  readonly load: number;
}

export interface PlacementOutcome {
  readonly policy: string;
  readonly placement: Placement;
  readonly hosts: HostOutcome[];
  /** The nodes whose host changes, in input order. */
  readonly moves: Array<{ node: string; from: string; to: string }>;
}

/**
 * Computes what a policy would do to this input, without moving anything: the target placement, each host's
 * resulting load, and the moves. The policy's answer is checked: every host it names must exist, and a held
 * node must stay.
 */
export function simulatePlacement(policy: PlacementPolicy, input: PlacementInput): PlacementOutcome {
  const placement = policy.place(input);
  const hostByName = new Map(input.hosts.map((host) => [host.name, host]));
  const target = (node: PlacementInput['nodes'][number]): string => placement[node.name] ?? node.host;
  for (const node of input.nodes) {
    const to = target(node);
    if (!hostByName.has(to)) {
      throw new PeerlabError(`policy ${policy.name} put node ${node.name} on "${to}", which is not a host`, { hint: `the hosts are ${[...hostByName.keys()].join(', ')}` });
    }
    if (node.hold && to !== node.host) {
      throw new PeerlabError(`policy ${policy.name} moved node ${node.name}, which is held on ${node.host}`, { hint: 'a policy must leave held nodes where they are' });
    }
  }
  const hosts = input.hosts.map((host) => {
    const there = input.nodes.filter((node) => target(node) === host.name);
    return {
      host: host.name,
      capacity: host.capacity,
      priority: host.priority,
      nodes: there.map((node) => node.name),
      load: there.reduce((sum, node) => sum + loadOn(node, host), 0),
    };
  });
  const moves = input.nodes.filter((node) => target(node) !== node.host).map((node) => ({ node: node.name, from: node.host, to: target(node) }));
  return { policy: policy.name, placement, hosts, moves };
}

/** One round of a policy applied to a running run (live, or in the simulator), on the run's clock: placements.ndjson. */
export interface PlacementRound {
  readonly atMs: number;
  /** What the policy saw: hosts, nodes with their host and load, settings. */
  readonly input: PlacementInput;
  /** What it chose: node → host, for every node. */
  readonly placement: Readonly<Record<string, string>>;
  /** The moves it asked for, in order, each with whether it was made (a move refused or failed says why). */
  readonly moves: ReadonlyArray<{ node: string; from: string; to: string; moved: boolean; why?: string }>;
}
